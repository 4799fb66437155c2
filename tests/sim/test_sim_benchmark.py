"""Smoke test of benchmarks/sim_speed.py (its functions, and ``main --quick`` end to end)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("sim_speed")


def test_town_throughput_of_both_models(bench):
    from predgov.sim import CityModel, ReferenceCityModel

    kw = {"scale": 0.0004, "start": "2025-11-15", "end": "2025-11-18"}
    fast = bench.town_throughput(CityModel, repeat=2, **kw)
    ref = bench.town_throughput(ReferenceCityModel, **kw)
    assert fast["households"] == ref["households"] > 0
    assert fast["days"] == ref["days"] == 4
    assert fast["hh_days_per_s"] > 0 and ref["hh_days_per_s"] > 0


def test_city_run_reports_memory_and_heating(bench):
    r = bench.city_run(0.0005, "2025-11-15", "2025-11-20")
    assert r["peak_gb"] > 0 and r["seconds"] > 0 and r["heating_calls"] >= 0
    assert 0 < r["satisfaction"] <= 1


def test_main_quick_ends_with_one_result_line(bench, capsys):
    out = bench.main(["--quick"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("RESULT speedup=")
    assert sum(line.startswith("RESULT") for line in lines) == 1
    keys = [kv.split("=")[0] for kv in lines[-1].split()[1:]]
    assert keys == ["speedup", "qingdao_seconds", "peak_gb", "heating_calls"]
    assert out["speedup"] > 0


# ------------------------------------------------------------------ benchmarks/policy_sweep.py
@pytest.fixture(scope="module")
def sweep(load_benchmark):
    return load_benchmark("policy_sweep")


def _tiny_heating(sweep, end: str = "2025-04-20"):
    """heating_prep at a tiny scale, shortened: a burn-in season, flushing (and the five
    policies' decisions) from 8 April, just after it."""
    import math

    scale = 0.001
    heated = sweep.heated_households(scale, 0)
    arms = sweep.make_arms("2025-04-08", "2025-04-30", math.ceil(heated / 10), list(sweep.ARMS))
    scenario = {"scale": scale, "start": "2024-11-15", "end": end}
    return scenario, arms, [0.3 * heated * sweep.UNIT_COST]


def test_forked_sweep_equals_the_runner_for_every_policy(sweep):
    """The shared past simulated once per seed, each policy deciding once: the same Dataset,
    byte for byte, as run_experiment running every arm from day 0 (so every decision and every
    run is unchanged)."""
    from predgov.sim.experiment import run_experiment

    scenario, arms, budgets = _tiny_heating(sweep)
    kw = {"outputs": sweep.OUTPUTS, "sum_over": ("district",)}
    fast = sweep.forked_experiment(scenario, arms, budgets, [3], **kw)
    slow = run_experiment(scenario, arms, budgets, [3], **kw)
    assert fast.identical(slow)
    spent = fast["intervention_cost_total"].sum("time").sel(policy=list(arms))
    assert (spent > 0).all()  # every arm flushed something after the fork


def test_forked_sweep_decides_each_policy_once_per_seed(sweep, monkeypatch):
    from predgov.target import policies

    scenario, arms, budgets = _tiny_heating(sweep, end="2025-04-09")
    calls = []
    real = policies.HistoryHotspot.decide

    def counted(self, obs, unit, model=None):
        calls.append(obs.t)
        return real(self, obs, unit, model)

    monkeypatch.setattr(policies.HistoryHotspot, "decide", counted)
    two = [budgets[0], 2 * budgets[0]]
    sweep.forked_experiment(scenario, {"history": arms["history"]}, two, [0], **{
        "outputs": ("calls",)})
    assert len(calls) == 1  # two budgets, one decision (the runner decides once per run)


def test_attach_refuses_an_intervention_that_could_have_acted(sweep):
    from predgov.sim import CityModel, NullIntervention

    m = CityModel(scale=0.001, start="2025-11-15", end="2025-11-20")
    m.step()
    m.step()
    assert sweep.fork_day(m, [[NullIntervention(start="2025-11-18")],
                              [NullIntervention(start="2025-11-17")]]) == 2
    with pytest.raises(ValueError, match="could have acted before day 2"):
        sweep.attach(m, [NullIntervention(start="2025-11-16")])
    sweep.attach(m, [NullIntervention(start="2025-11-17")])
    with pytest.raises(ValueError, match="already has interventions"):
        sweep.attach(m, [NullIntervention(start="2025-11-17")])


def test_targeting_sanity_check(sweep):
    assert sweep.sanity({"random": 1, "history": 2, "oracle": 2, "risk": 1})[0]
    ok, text = sweep.sanity({"random": 3, "history": 2, "oracle": 4, "risk": 1})
    assert not ok and "random < history: False" in text and "risk >= random: False" in text


def test_oracle_ranks_as_through_a_full_observation():
    """Oracle reads the registers only (no observe()); its ranking is the one the full
    observation gives (regression for the cheaper path)."""
    import numpy as np

    from predgov.sim import CityModel
    from predgov.target.observation import observe
    from predgov.target.policies import Oracle, from_households

    m = CityModel(scale=0.002, start="2025-09-01", end="2025-09-10")
    for _ in range(5):
        m.step()
    o = Oracle("heating")
    for unit in ("estate", "grid", "district", "household"):
        old = from_households(observe(m, 5), unit, o.oracle_scores(m, 5), True, m)
        assert np.array_equal(o.select(m, 5, unit), old)


# ------------------------------------------------------------------ benchmarks/seed_comparisons.py
@pytest.fixture(scope="module")
def seeds_bench(load_benchmark):
    return load_benchmark("seed_comparisons")


def test_seed_comparisons_helpers(seeds_bench):
    import numpy as np

    # -42.31 % lies between shares 0.2 (-30 %) and 0.4 (-50 %): 0.2 + 12.31 / 20 * 0.2
    assert seeds_bench.share_for(-42.31, [0.2, 0.4], [-30.0, -50.0]) == pytest.approx(0.3231)
    assert seeds_bench.share_for(-42.31, [0.5, 1.0], [-20.0, -40.0]) == float("inf")
    s = seeds_bench.summary(np.array([15.0, 30.0]), np.array([49.0, 51.0]))
    assert s["pct"] == pytest.approx(-55.0)  # (45 - 100) / 100, a ratio of totals


@pytest.mark.slow
def test_seed_comparisons_quick_ends_with_its_result_line(seeds_bench, capsys):
    out = seeds_bench.main(["--quick"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    keys = [kv.split("=")[0] for kv in last.split()[1:]]
    assert keys == ["heating_share_for_seed", "noise_paired_pct", "noise_naive_pct"]
    assert out["noise_paired_pct"] <= 0  # the task force never adds noise calls


def test_noise_comparison_smoke(seeds_bench):
    """One seed of (b) at a tiny scale: the first half-year is the same run in both arms
    (nothing acts before July), and the paired effect is what the task force removed."""
    r = seeds_bench.noise(0.01, [0])
    t = r["table"]
    assert (t["taskforce_h1"] == t["reactive_h1"]).all()
    assert (t["taskforce_h2"] <= t["reactive_h2"]).all() and (t["sources_treated"] > 0).all()
    expect = 100 * (t["taskforce_h2"].sum() - t["reactive_h2"].sum()) / t["reactive_h2"].sum()
    assert r["paired"]["pct"] == pytest.approx(expect)


def test_heating_comparison_smoke(seeds_bench):
    """One seed, one share of (a): flushing every heated household (oracle order) gives a
    paired fall; the share needed for -42.31 % is 1.0 or less exactly when that fall reaches it."""
    r = seeds_bench.heating(0.001, [0], [1.0], ["oracle"], 1)
    paired = r["table"].loc[("oracle", "100%"), "paired_pct"]
    assert paired < 0
    assert (r["need"]["oracle"] <= 1.0) == (paired <= seeds_bench.SEED_HEATING_PCT)
