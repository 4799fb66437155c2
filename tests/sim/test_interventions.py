"""Intervention delivery (issue 10, section 2): common random numbers, budget, capacity as a
number / schedule / callable, triggers, compliance, delay, repeat visits, daily eligibility,
targeting (object, array, callable) and the per-intervention records."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from predgov.sim import CityModel, NullIntervention, PipeFlushing, run_scenario
from predgov.sim.interventions import (
    AlertDispatch,
    CapacityBoost,
    Intervention,
    MediationNetwork,
    MerchantElimination,
    ProactiveVisits,
    SourceControl,
)
from predgov.sim.scenario import to_dataset

CFG = {"scale": 0.005, "start": "2025-09-01", "end": "2025-12-31"}
TINY = {"scale": 0.002, "start": "2025-09-01", "end": "2025-09-12"}
IV_VARS = ["intervention_treated", "intervention_cost", "intervention_absorbed"]


def core(ds):
    """The run's outputs without the per-intervention records (whose dim differs)."""
    return ds.drop_vars([*IV_VARS, "intervention"])


@pytest.fixture(scope="module")
def baseline():
    return run_scenario(CFG)


def _oldest_heated_estates(n):
    m = CityModel(**{**CFG, "end": CFG["start"]})
    t = m.estate_table()
    t = t[t["central_heating"]].sort_values("system_age", ascending=False)
    return list(t.index[:n]), t


def test_null_intervention_changes_nothing(baseline):
    run = run_scenario(CFG, interventions=[NullIntervention()])
    xr.testing.assert_equal(core(baseline), core(run))  # every variable and coordinate
    assert run["intervention"].values.tolist() == ["null"]
    assert int(run["intervention_treated"].sum()) == 0
    assert baseline.sizes["intervention"] == 0


def test_pipe_flushing_changes_heating_only_and_reduces_it_in_targets(baseline):
    estates, table = _oldest_heated_estates(6)
    flush = PipeFlushing(estates, start="2025-09-01", end="2025-10-31", capacity_per_day=50,
                         unit_cost=200.0)
    run = run_scenario(CFG, interventions=[flush])
    others = [c for c in baseline["category"].values if c != "heating"]
    for v in ("counts", "problems", "calls", "repeat_calls", "resolved", "rated", "satisfied"):
        xr.testing.assert_identical(baseline[v].sel(category=others), run[v].sel(category=others))
    heat_b = baseline["estate_calls"].sel(category="heating")
    heat_r = run["estate_calls"].sel(category="heating")
    assert int(heat_r.sel(estate=estates).sum()) < 0.5 * int(heat_b.sel(estate=estates).sum())
    n_treated = int(table.loc[estates, "households"].sum())
    assert int(run["intervention_treated"].sum()) == n_treated
    assert float(run["intervention_cost"].sum()) == pytest.approx(200.0 * n_treated)
    xr.testing.assert_allclose(run["intervention_cost"].sum("intervention"),
                               run["intervention_cost_total"])
    assert float(baseline["intervention_cost_total"].sum()) == 0
    assert int(run["intervention_treated"].max()) <= 50  # capacity per day is respected


def test_intervention_objects_are_reusable_across_runs():
    flush = PipeFlushing([0], start="2025-09-01", end="2025-09-02", capacity_per_day=10)
    a = CityModel(**{**CFG, "end": "2025-09-03"}, interventions=[flush])
    a.run()
    b = CityModel(**{**CFG, "end": "2025-09-03"}, interventions=[flush])
    b.run()
    xr.testing.assert_equal(to_dataset(a), to_dataset(b))
    assert flush.queue_ is None  # the model worked on a copy


def test_flushing_resets_clogging():
    m = CityModel(**{**CFG, "end": "2025-09-02"},
                  interventions=[PipeFlushing([0, 1], start="2025-09-01", end="2025-09-02",
                                              capacity_per_day=100_000, efficacy=0.9)])
    before = m.households.clog.copy()
    m.run()
    est = m.households.estates
    for e in (0, 1):
        sl = slice(est.start[e], est.stop[e])
        if est.central_heating[e]:
            np.testing.assert_allclose(m.households.clog[sl], before[sl] * np.float32(0.1),
                                       rtol=1e-6)


def test_bad_intervention_arguments():
    with pytest.raises(ValueError, match="before start"):
        PipeFlushing([0], start="2025-10-01", end="2025-09-01", capacity_per_day=1)
    with pytest.raises(ValueError, match="efficacy"):
        PipeFlushing([0], start="2025-09-01", end="2025-10-01", capacity_per_day=1, efficacy=2)
    with pytest.raises(ValueError, match="efficacy range"):
        SourceControl(efficacy=(0.9, 0.2))
    with pytest.raises(ValueError, match="compliance"):
        ProactiveVisits(cadres=1, compliance=1.5)
    with pytest.raises(ValueError, match="capacity must be >= 0"):
        PipeFlushing([0], capacity=-1)
    with pytest.raises(ValueError, match="budget"):
        PipeFlushing([0], budget=-5)
    with pytest.raises(ValueError, match="repeat"):
        PipeFlushing([0], repeat=0)
    with pytest.raises(ValueError, match="estate index 10000; the city has"):
        CityModel(**TINY, interventions=[PipeFlushing([10_000])]).run()
    with pytest.raises(ValueError, match="unknown department"):
        CityModel(**TINY, interventions=[CapacityBoost("nobody", capacity=1)])


# ---------------------------------------------------------------- common random numbers
ZERO_CFG = {"scale": 0.004, "start": "2025-07-01", "end": "2025-12-05"}


@pytest.fixture(scope="module")
def zero_baseline():
    return run_scenario(ZERO_CFG)


def _all_merchants(model, t):
    return np.arange(len(model.process_by_name["consumer"].merchants))


@pytest.mark.parametrize("make", [
    lambda: PipeFlushing(range(30), capacity=100, efficacy=0.0),
    lambda: SourceControl(targeting=lambda m, t: np.arange(len(m.process_by_name[
        "noise"].sources)), efficacy=0.0),
    lambda: ProactiveVisits(targeting=lambda m, t: np.arange(len(m.households)), capacity=200,
                            efficacy=0.0, working_days=False),
    lambda: MediationNetwork(targeting=_all_merchants, efficacy=0.0),
    lambda: MerchantElimination(pool=np.arange(50), per_round=10, min_calls=0, efficacy=0.0,
                                start="2025-08-01"),
    lambda: CapacityBoost("heating", capacity=0, unit_cost=10.0),
    lambda: AlertDispatch(targeting=lambda m, t: np.arange(10 * len(m.categories)),
                          capacity=1000, every=7, efficacy=0.0, min_history=7),
], ids=["flush", "source", "visits", "mediation", "elimination", "capacity", "dispatch"])
def test_zero_efficacy_equals_the_baseline_bit_for_bit(zero_baseline, make):
    run = run_scenario(ZERO_CFG, interventions=[make()])
    xr.testing.assert_equal(core(zero_baseline), core(run))
    assert int(run["intervention_absorbed"].sum()) == 0


def test_no_case_lost_under_every_intervention():
    cfg = {"scale": 0.004, "start": "2025-10-20", "end": "2025-12-10"}
    ivs = [PipeFlushing(range(30), capacity=80),
           SourceControl(targeting=lambda m, t: np.arange(len(m.process_by_name[
               "noise"].sources))),
           ProactiveVisits(targeting=lambda m, t: np.arange(0, len(m.households), 3),
                           capacity=300),
           MediationNetwork(targeting=_all_merchants),
           MerchantElimination(pool=np.arange(60), per_round=5, min_calls=0),
           CapacityBoost("heating", capacity=5),
           AlertDispatch(targeting=lambda m, t: np.arange(10 * len(m.categories)), capacity=50,
                         every=3, min_history=3)]
    ds = run_scenario(cfg, interventions=ivs)
    lhs = ds["problems"].sum("time") + ds["initial_latent"]
    rhs = (ds["absorbed"] + ds["reported"] + ds["unreported"]).sum("time") + ds["latent_end"]
    xr.testing.assert_equal(lhs, rhs)
    absorbed = ds["intervention_absorbed"].sum("time")
    assert int(absorbed.sum()) == int(ds["absorbed"].sum())
    assert set(absorbed.where(absorbed > 0, drop=True)["intervention"].values) >= {
        "proactive_visits", "mediation_network", "alert_dispatch"}
    assert (ds["intervention_treated"].sum("time") > 0).all()


# ---------------------------------------------------------------- budget and capacity
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(capacity=st.integers(0, 60), budget=st.floats(0, 5_000), unit_cost=st.floats(0, 300),
       repeat=st.integers(1, 3))  # fmt: skip
def test_budget_is_never_exceeded(capacity, budget, unit_cost, repeat):
    iv = PipeFlushing(households=range(200), capacity=capacity, budget=budget,
                      unit_cost=unit_cost, repeat=repeat)
    m = CityModel(**TINY, processes=["heating"], interventions=[iv])
    m.run()
    spent = np.cumsum(m.intervention_cost[:, 0])
    assert spent[-1] <= budget * (1 + 1e-9) + 1e-9
    assert (m.intervention_treated[:, 0] <= capacity).all()
    np.testing.assert_allclose(m.intervention_cost[:, 0], m.intervention_treated[:, 0] * unit_cost)
    heated = int(m.households.estates.central_heating[m.households.estate[:200]].sum())
    # it stops only when it must: capacity, budget or no unit left
    if unit_cost > 0 and capacity > 0:
        left = budget - spent[-1]
        assert left < unit_cost or m.intervention_treated.sum() == heated * repeat or \
            m.intervention_treated[:, 0].max() == capacity


def test_capacity_schedule_and_callable():
    sched = {"2025-09-01": 5, "2025-09-04": 0, "2025-09-06": 2}
    a = CityModel(**TINY, interventions=[PipeFlushing(households=range(500), capacity=sched,
                                                      eligible=lambda m, t, u: np.ones(len(u),
                                                                                       bool))])
    a.run()
    heated = a.households.estates.central_heating[a.households.estate[:500]].sum()
    assert heated >= 40
    assert a.intervention_treated[:, 0].tolist() == [5, 5, 5, 0, 0] + [2] * 7
    b = CityModel(**TINY, interventions=[PipeFlushing(households=range(500),
                                                      capacity=lambda m, t: 3 * (t % 2))])
    b.run()
    assert b.intervention_treated[:, 0].tolist() == [0, 3] * 6
    with pytest.raises(ValueError, match="capacity callable gave -1"):
        CityModel(**TINY, interventions=[PipeFlushing([0], capacity=lambda m, t: -1)]).run()


def test_trigger_starts_on_the_trigger_day():
    cfg = {"scale": 0.003, "start": "2025-11-01", "end": "2025-12-10"}
    base = CityModel(**cfg)
    base.run()
    heat = base.categories.index("heating")
    seen = np.concatenate([[0], np.cumsum(base.record["calls"][:, :, heat].sum(axis=1))])
    day = int(np.argmax(seen >= 5))  # first day on which >= 5 heating calls were recorded
    assert 0 < day < len(base.dates) - 5

    def trigger(model, t):  # uses only calls recorded before day t
        return model.record["calls"][:t, :, heat].sum() >= 5

    iv = CapacityBoost("heating", capacity=4, trigger=trigger, duration=5)
    m = CityModel(**cfg, interventions=[iv])
    m.run()
    active = np.flatnonzero(m.intervention_treated[:, 0])
    assert active.tolist() == list(range(day, day + 5))


def test_compliance_is_keyed_per_household_and_delay_defers_the_effect():
    hh = np.arange(3000)
    kw = {"households": hh, "capacity": 10_000, "compliance": 0.5, "efficacy": 1.0}
    m = CityModel(**TINY, interventions=[PipeFlushing(**kw, delay=3)])
    before = m.households.clog.copy()
    heated = m.households.estates.central_heating[m.households.estate[hh]]
    for _ in range(3):
        m.step()
    np.testing.assert_array_equal(m.households.clog[hh], before[hh])  # not yet
    m.step()  # day index 3: the effect arrives
    flushed = (m.households.clog[hh] == 0) & (before[hh] > 0)
    share = flushed.sum() / (heated & (before[hh] > 0)).sum()
    assert 0.45 < share < 0.55
    assert int(m.intervention_treated.sum()) == int(heated.sum())  # visits paid, complying or not
    # the same households comply whatever the day and the capacity (a unit's own draw)
    m2 = CityModel(**TINY, interventions=[PipeFlushing(**{**kw, "capacity": 700})])
    m2.run()
    np.testing.assert_array_equal((m2.households.clog[hh] == 0) & (before[hh] > 0), flushed)


def test_eligibility_is_rechecked_every_day():
    def eligible(model, t, units):  # odd households drop out from day index 2 on
        return (units % 2 == 0) | (t < 2)

    visited = {}

    class Spy(PipeFlushing):
        def apply(self, model, units, t):
            visited[t] = units.copy()

    m = CityModel(**TINY, interventions=[Spy(households=range(0, 400), capacity=6,
                                             eligible=eligible, unit_cost=1.0)])
    m.run()
    assert any((visited[t] % 2 == 1).any() for t in (0, 1))
    assert all((visited[t] % 2 == 0).all() for t in visited if t >= 2)
    assert m.intervention_treated[:, 0].tolist() == [len(visited.get(t, [])) for t in range(12)]
    assert m.intervention_cost[:, 0].sum() == sum(len(v) for v in visited.values())


def test_repeat_visits_respect_the_gap():
    visits: list[tuple[int, np.ndarray]] = []

    class Spy(PipeFlushing):
        def apply(self, model, units, t):
            visits.append((t, units.copy()))

    hh = [h for h in range(60)]
    m = CityModel(**TINY, interventions=[Spy(households=hh, capacity=100, repeat=3,
                                             revisit_after=4)])
    m.run()
    days = [t for t, _ in visits]
    assert days == [0, 4, 8]
    assert all(np.array_equal(u, visits[0][1]) for _, u in visits)


def test_targeting_contract_object_array_callable():
    asked = []

    class Rule:
        def select(self, model, t, unit):
            asked.append((t, unit))
            return np.array([2, 0])

    for targeting in (Rule(), np.array([2, 0]), lambda model, t: [2, 0]):
        iv = SourceControl(targeting=targeting, capacity=1, start="2025-09-03",
                           retarget_every=4)
        m = CityModel(**TINY, interventions=[iv])
        m.run()
        assert m.intervention_treated[:, 0].tolist() == [0, 0, 1, 1] + [0] * 8
    assert asked == [(2, "source"), (6, "source"), (10, "source")]


def test_two_interventions_of_a_kind_get_their_own_labels_and_streams():
    a = PipeFlushing(households=range(100), capacity=5, compliance=0.5)
    b = PipeFlushing(households=range(100, 200), capacity=5, compliance=0.5)
    ds = run_scenario(TINY, interventions=[a, b])
    assert ds["intervention"].values.tolist() == ["pipe_flushing", "pipe_flushing#2"]
    assert repr(a).startswith("PipeFlushing(label='pipe_flushing'")


def test_unit_keyed_draws_are_independent_of_the_day():
    m = CityModel(**TINY)
    iv = Intervention(label="x")
    u = iv.unit_uniform(m, np.arange(5), 14)
    assert ((u >= 0) & (u < 1)).all() and len(set(u.tolist())) == 5
    assert not np.array_equal(u, Intervention(label="y").unit_uniform(m, np.arange(5), 14))
    pd.testing.assert_index_equal(pd.Index(u), pd.Index(iv.unit_uniform(m, np.arange(5), 14)))


@pytest.mark.parametrize("cls", ["CapacityBoost", "AlertDispatch"])
def test_interventions_with_their_own_step_refuse_unit_options(cls):
    """Compliance, delay, repeats ... are read only by unit-by-unit delivery: an intervention
    that does not deliver unit by unit refuses them instead of ignoring them."""
    from predgov.sim import interventions

    args = ("heating",) if cls == "CapacityBoost" else ()
    with pytest.raises(ValueError, match="does not use compliance"):
        getattr(interventions, cls)(*args, compliance=0.5)
    getattr(interventions, cls)(*args, budget=100.0)  # delivery options it does use
