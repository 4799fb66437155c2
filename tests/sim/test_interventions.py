import numpy as np
import pytest
import xarray as xr

from predgov.sim import CityModel, NullIntervention, PipeFlushing, run_scenario
from predgov.sim.scenario import to_dataset

CFG = {"scale": 0.005, "start": "2025-09-01", "end": "2025-12-31"}


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
    xr.testing.assert_equal(baseline, run)  # every variable and coordinate (attrs differ)


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
    assert float(run["intervention_cost"].sum()) == pytest.approx(200.0 * n_treated)
    assert float(baseline["intervention_cost"].sum()) == 0
    # capacity per day is respected
    assert float(run["intervention_cost"].max()) <= 200.0 * 50


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
