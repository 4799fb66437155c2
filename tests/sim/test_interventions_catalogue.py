"""The intervention catalogue (issue 10, section 2): each intervention lowers its target
category in its place (paired with the baseline: same seed, common random numbers) and leaves
the rest alone."""

import numpy as np
import pytest

from predgov.sim import CityModel, HandlingParams, SimParams
from predgov.sim.interventions import (
    AlertDispatch,
    CapacityBoost,
    MediationNetwork,
    MerchantElimination,
    PipeFlushing,
    ProactiveVisits,
    SourceControl,
)
from predgov.sim.interventions.sources import sources_reaching


def paired(cfg, iv):
    base = CityModel(**cfg)
    base.run()
    run = CityModel(**cfg, interventions=[iv])
    run.run()
    return base, run


def cat(m, *names):
    return [m.categories.index(n) for n in names]


def test_pipe_flushing_lowers_heating_calls_of_the_old_estates():
    cfg = {"scale": 0.01, "start": "2025-09-01", "end": "2025-12-31", "processes": ["heating"]}
    probe = CityModel(**{**cfg, "end": cfg["start"]})
    estates = probe.places["鲁瑞苑"].estates
    base, run = paired(cfg, PipeFlushing(estates, start="2025-09-01", end="2025-10-31",
                                         capacity=20, unit_cost=200.0))
    h = cat(base, "heating")[0]
    assert run.estate_calls[:, estates, h].sum() < 0.7 * base.estate_calls[:, estates, h].sum()
    others = np.setdiff1d(np.arange(len(base.households.estates)), estates)
    assert run.estate_calls[:, others, h].sum() == base.estate_calls[:, others, h].sum()


def test_source_control_lowers_noise_around_qingtie_park():
    cfg = {"scale": 0.1, "start": "2025-01-01", "end": "2025-12-31", "processes": ["noise"]}
    base, run = paired(cfg, SourceControl(start="2025-01-15"))
    place = base.places["青铁公园里"]
    noise = cat(base, "noise_traffic", "noise_construction", "noise_social")
    e = place.estates
    before = base.estate_calls[:, e][..., noise].sum()
    after = run.estate_calls[:, e][..., noise].sum()
    assert before >= 25 and after < 0.75 * before, (before, after)
    reaching = sources_reaching(base, e)
    assert set(place.sources.tolist()) <= set(reaching.tolist())
    assert int(run.intervention_treated.sum()) == len(reaching)
    changed = np.flatnonzero(run.multipliers["noise.night"].values < 1)
    changed = np.union1d(changed, np.flatnonzero(run.multipliers["noise.intensity"].values < 1))
    assert set(changed.tolist()) <= set(reaching.tolist())


def test_proactive_visits_find_latent_problems_and_calm_neighbours_in_the_town():
    cfg = {"scale": 0.05, "start": "2025-06-01", "end": "2025-09-30",
           "processes": ["neighbour", "background"]}
    iv = ProactiveVisits(cadres=5, start="2025-06-01")
    base, run = paired(cfg, iv)
    town = base.places["田庄镇"]
    assert run.intervention_treated.sum() == len(town.households)  # everyone, once
    # ~5 cadres x 8 visits a working day
    assert run.intervention_treated[:, 0].max() == 40
    assert (run.intervention_treated[~run.working_day, 0] == 0).all()
    found = int(run.absorbed_by.sum())
    assert found > 0 and run.record["absorbed"].sum() == found
    d = base.households.district_names.index("平度")
    nb = cat(base, "neighbour_dispute")[0]
    assert run.record["problems"][:, d, nb].sum() < base.record["problems"][:, d, nb].sum()
    other = [i for i in range(len(base.households.district_names)) if i != d]
    np.testing.assert_array_equal(run.record["problems"][:, other], base.record["problems"][:,
                                                                                             other])
    # defused pairs are back to normal after defuse_days (90): none still lowered on the last
    # day only if every visit is older than that
    mult = run.multipliers["neighbour.pair"].values
    assert (mult[town.pairs] < 1).any() and (np.delete(mult, town.pairs) == 1).all()


def test_mediation_network_absorbs_member_disputes_by_intercept():
    cfg = {"scale": 0.01, "start": "2025-07-01", "end": "2025-08-31", "processes": ["consumer"]}
    probe = CityModel(**{**cfg, "end": cfg["start"]})
    mer = probe.process_by_name["consumer"].merchants
    d = probe.households.district_names.index("市南")
    members = np.arange(mer.start[d], mer.stop[d])
    base, run = paired(cfg, MediationNetwork(members, cost_per_mediation=50.0))
    c = cat(base, "consumer_dispute")[0]
    absorbed = run.record["absorbed"]
    assert absorbed.sum() == absorbed[:, d, c].sum() == run.absorbed_by.sum() > 0
    assert run.record["calls"][:, d, c].sum() < 0.8 * base.record["calls"][:, d, c].sum()
    np.testing.assert_array_equal(run.record["problems"], base.record["problems"])  # intercept
    assert run.intervention_cost.sum() == pytest.approx(50.0 * run.absorbed_by.sum())


def test_merchant_calls_attribute_every_consumer_call():
    cfg = {"scale": 0.01, "start": "2025-07-01", "end": "2025-08-31", "processes": ["consumer"]}
    m = CityModel(**cfg)
    m.run()
    c = cat(m, "consumer_dispute")[0]
    assert m.merchant_calls.shape == (2, len(m.process_by_name["consumer"].merchants))
    assert m.merchant_calls.sum() == m.record["calls"][:, :, c].sum() > 0
    july = m.dates.month == 7
    assert m.merchant_calls[0].sum() == m.record["calls"][july, :, c].sum()


def test_merchant_elimination_removes_the_most_complained_about():
    cfg = {"scale": 0.02, "start": "2025-05-01", "end": "2025-09-30", "processes": ["consumer"]}
    probe = CityModel(**{**cfg, "end": cfg["start"]})
    mer = probe.process_by_name["consumer"].merchants
    d = probe.households.district_names.index("市南")
    pool = np.arange(mer.start[d], mer.stop[d])
    rounds = {}

    class Spy(MerchantElimination):
        def apply(self, model, units, t):
            rounds[t] = units.copy()
            super().apply(model, units, t)

    base, run = paired(cfg, Spy(pool, per_round=8, start="2025-07-01", min_calls=1))
    t0 = int(run.dates.get_loc("2025-07-01"))
    assert sorted(rounds) == [t0, t0 + 30, t0 + 60, t0 + 90]
    assert run.intervention_treated[t0, 0] == 8
    seen = base.merchant_calls[:2, pool].sum(axis=0)  # May and June: what the rule saw
    np.testing.assert_array_equal(rounds[t0], pool[np.lexsort((pool, -seen))][:8])
    assert seen[rounds[t0] - pool[0]].min() >= 1
    # later rounds skip merchants already treated
    assert len(np.unique(np.concatenate(list(rounds.values())))) == sum(map(len, rounds.values()))
    c = cat(base, "consumer_dispute")[0]
    after = slice(t0, None)
    assert run.record["problems"][after, d, c].sum() < base.record["problems"][after, d, c].sum()
    np.testing.assert_array_equal(run.record["problems"][:t0], base.record["problems"][:t0])


def test_capacity_boost_shortens_heating_queues():
    # a short-staffed heating office (0.8 x the mean load), so queues build in the season
    cfg = {"scale": 0.01, "start": "2025-11-10", "end": "2025-12-31", "processes": ["heating"],
           "params": SimParams(handling=HandlingParams(capacity_factor=0.8))}
    base = CityModel(**cfg)
    k = int(base.department_index[base.categories.index("heating")])
    capacity = base.department_capacity.copy()
    cap = int(capacity[k])
    base.run()
    run = CityModel(**cfg, interventions=[CapacityBoost(
        "heating", capacity=cap, start="2025-11-25", unit_cost=300.0, budget=300.0 * cap * 30)])
    run.run()
    h = cat(base, "heating")[0]
    for k_out in ("calls", "repeat_calls"):
        assert run.record[k_out][:, :, h].sum() < 0.9 * base.record[k_out][:, :, h].sum()
    assert run.record["satisfied"].sum() > base.record["satisfied"].sum()
    t0 = int(run.dates.get_loc("2025-11-25"))
    assert np.flatnonzero(run.intervention_treated[:, 0]).tolist() == list(range(t0, t0 + 30))
    assert run.intervention_cost.sum() == pytest.approx(300.0 * cap * 30)  # the budget
    np.testing.assert_array_equal(run.department_capacity, capacity)  # staff went home


def test_alert_dispatch_sends_inspectors_where_warnings_fire():
    cfg = {"scale": 0.01, "start": "2025-10-01", "end": "2025-12-31", "processes": ["heating"]}
    iv = AlertDispatch(categories=["heating"], capacity=3, unit_cost=1000.0)
    base, run = paired(cfg, iv)
    h = cat(base, "heating")[0]
    alarms = run.interventions[0].alarms_
    assert [t for t, _ in alarms] == list(range(28, len(run.dates), 7))
    sent = int(run.intervention_treated.sum())
    assert sent > 0 and run.intervention_cost.sum() == 1000.0 * sent
    assert run.absorbed_by.sum() == run.record["absorbed"][:, :, h].sum() > 0
    assert run.record["calls"][:, :, h].sum() < base.record["calls"][:, :, h].sum()
    # the detector saw only calls before each decision day: the first decision equals the
    # baseline's (nothing had changed yet)
    t0, cells0 = alarms[0]
    again = AlertDispatch(categories=["heating"]).alarmed_cells
    assert np.array_equal(again(base, t0), cells0)
