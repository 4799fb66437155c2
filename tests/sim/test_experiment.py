"""Experiments: shared baseline, common random numbers, backends, store, collector, compare."""

from __future__ import annotations

import collections

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from predgov.data.cube import write_cube
from predgov.sim import CityModel, NullIntervention, PipeFlushing, simulate
from predgov.sim.experiment import (
    DEFAULT_OUTPUTS,
    collect,
    compare,
    crn_ratio,
    paired,
    reduce_run,
    run_experiment,
    totals,
)
from predgov.sim.experiment.compare import resample_weights

# Flushing just before the heating season starts (11-15), a few weeks of the season after.
SCEN = {"scale": 0.003, "start": "2025-10-30", "end": "2025-12-05"}
SEEDS = [0, 1, 2]
BUDGETS = [2.0, 6.0]


def _heated_estates() -> list[int]:
    est = CityModel(scale=SCEN["scale"], start="2025-10-30", end="2025-10-30").estate_table()
    return est.index[est["central_heating"]].tolist()


HEATED = _heated_estates()


def flush(budget: float, seed: int) -> list[PipeFlushing]:
    """The first ``budget`` heated estates, all flushed on the first two days."""
    return [PipeFlushing(HEATED[: int(budget)], start="2025-10-30", end="2025-10-31",
                         capacity_per_day=100_000, unit_cost=200.0)]


def null(budget: float, seed: int) -> list[NullIntervention]:
    return [NullIntervention()]


ARMS = {"flush": flush, "null": null}


@pytest.fixture
def count_runs(monkeypatch):
    """Count model runs by (seed, number of interventions) (serial backend only)."""
    runs: collections.Counter = collections.Counter()
    original = CityModel.run

    def counted(self, *args, **kwargs):
        runs[self.seed, len(self.interventions)] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CityModel, "run", counted)
    return runs


@pytest.fixture(scope="module")
def serial() -> xr.Dataset:
    return run_experiment(SCEN, ARMS, BUDGETS, SEEDS)


def test_baseline_runs_once_per_seed_and_arms_share_its_seed(count_runs):
    ds = run_experiment(SCEN, ARMS, BUDGETS, SEEDS)
    assert dict(count_runs) == {**{(s, 0): 1 for s in SEEDS},
                                **{(s, 1): len(ARMS) * len(BUDGETS) for s in SEEDS}}
    assert ds["calls"].dims == ("policy", "budget", "seed", "time", "district", "category")
    assert ds["policy"].values.tolist() == ["reactive", "flush", "null"]
    assert ds["budget"].values.tolist() == BUDGETS and ds["seed"].values.tolist() == SEEDS
    assert sorted(ds.data_vars) == sorted(DEFAULT_OUTPUTS)
    base = ds.sel(policy="reactive")
    xr.testing.assert_identical(base.isel(budget=0, drop=True), base.isel(budget=1, drop=True))


def _assert_same_run(got: xr.Dataset, expected: xr.Dataset) -> None:
    """Equal values; per-intervention variables span every arm's interventions in an
    experiment (zero where a run has no such intervention)."""
    got, expected = xr.align(got.reset_coords(drop=True), expected.reset_coords(drop=True),
                             join="outer", fill_value=0)
    xr.testing.assert_equal(got, expected)


def test_an_arm_run_is_simulate_with_the_same_seed(serial):
    one = simulate(seed=1, interventions=flush(6.0, 1), **SCEN)
    expected = reduce_run(one, DEFAULT_OUTPUTS, ())
    _assert_same_run(serial.sel(policy="flush", budget=6.0, seed=1, drop=True), expected)
    base = reduce_run(simulate(seed=1, **SCEN), DEFAULT_OUTPUTS, ())
    _assert_same_run(serial.sel(policy="reactive", budget=2.0, seed=1, drop=True), base)


def test_flushing_averts_heating_calls_and_null_arm_averts_exactly_nothing(serial):
    eff = compare(serial)
    zero = eff.sel(policy="null")
    for name in ("calls_averted", "problems_averted", "repeat_calls_averted", "cost",
                 "satisfaction_change"):
        assert (zero[name] == 0).all(), name
    xr.testing.assert_identical(serial.sel(policy="null", drop=True),
                                serial.sel(policy="reactive", drop=True))
    flushed = eff.sel(policy="flush", budget=6.0)
    assert float(flushed["calls_averted_mean"]) > 0
    households = CityModel(scale=SCEN["scale"], start="2025-10-30", end="2025-10-30"
                           ).estate_table()["households"].loc[HEATED[:6]].sum()
    assert (flushed["cost"] == 200.0 * households).all()


def test_backends_give_identical_results(serial):
    from distributed import Client, LocalCluster

    xr.testing.assert_identical(
        run_experiment(SCEN, ARMS, BUDGETS, SEEDS, backend="joblib", n_jobs=2), serial)
    # Two in-process workers (threads): starts in about a second; worker processes would
    # each import predgov first. The runs are the same pure function either way.
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        xr.testing.assert_identical(
            run_experiment(SCEN, ARMS, BUDGETS, SEEDS, backend="dask", scheduler=client),
            serial)
        xr.testing.assert_identical(
            run_experiment(SCEN, ARMS, BUDGETS, SEEDS, backend="dask",
                           scheduler=cluster.scheduler_address), serial)


def test_store_resumes_after_a_crash_without_recomputing(tmp_path, monkeypatch, count_runs,
                                                         serial):
    total = len(SEEDS) * (1 + len(ARMS) * len(BUDGETS))
    original = CityModel.run  # the counting one

    def crash_after_7(self, *args, **kwargs):
        if sum(count_runs.values()) == 7:
            raise KeyboardInterrupt("simulated kill")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CityModel, "run", crash_after_7)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(SCEN, ARMS, BUDGETS, SEEDS, store=tmp_path)
    assert len(list((tmp_path / "runs").glob("*.nc"))) == 7
    (tmp_path / "runs" / ".flush__budget=6.0__seed=2.nc.999.tmp").write_bytes(b"half a file")
    monkeypatch.setattr(CityModel, "run", original)
    count_runs.clear()
    resumed = run_experiment(SCEN, ARMS, BUDGETS, SEEDS, store=tmp_path)
    assert sum(count_runs.values()) == total - 7
    xr.testing.assert_identical(resumed, serial)
    count_runs.clear()
    xr.testing.assert_identical(run_experiment(SCEN, ARMS, BUDGETS, SEEDS, store=tmp_path),
                                serial)
    assert sum(count_runs.values()) == 0
    xr.testing.assert_identical(collect(tmp_path), serial)


def test_store_grows_with_more_seeds_and_refuses_another_experiment(tmp_path, count_runs):
    small = run_experiment(SCEN, {"null": null}, [1.0], [0], store=tmp_path)
    count_runs.clear()
    both = run_experiment(SCEN, {"null": null}, [1.0], [0, 1], store=tmp_path)
    assert sum(count_runs.values()) == 2  # seed 1: its baseline and the null arm
    xr.testing.assert_identical(both.sel(seed=[0]), small)
    with pytest.raises(ValueError, match="another experiment"):
        run_experiment({**SCEN, "scale": 0.002}, {"null": null}, [1.0], [0], store=tmp_path)
    with pytest.raises(ValueError, match="other interventions"):
        run_experiment(SCEN, {"null": flush}, [1.0], [0], store=tmp_path)


def test_collect_a_partial_store(tmp_path, monkeypatch):
    run_experiment(SCEN, {"null": null}, [1.0], [0, 1], store=tmp_path)
    (tmp_path / "runs" / "null__budget=1.0__seed=1.nc").unlink()
    with pytest.raises(ValueError, match="1 of 4 runs are missing"):
        collect(tmp_path)
    with pytest.warns(UserWarning, match=r"left out seeds \[1\]"):
        part = collect(tmp_path, drop_incomplete=True)
    assert part["seed"].values.tolist() == [0]


def _hydra_job(root, num, ds, policy, budget, *, complete=True, label_in_file=False):
    job = root / str(num)
    (job / "sim").mkdir(parents=True)
    (job / ".hydra").mkdir()
    budget_line = "" if budget is None else f"  budget: {budget}\n"
    (job / ".hydra" / "config.yaml").write_text(
        f"seed: {ds.attrs['seed']}\npolicy:\n  name: {policy}\n{budget_line}", encoding="utf-8")
    if label_in_file:
        ds = ds.assign_attrs(policy=policy, budget=np.nan if budget is None else budget)
    write_cube(ds, job / "sim" / "sim.nc")
    if complete:
        (job / "COMPLETE").touch()


def test_collect_merges_a_hydra_multirun(tmp_path, serial):
    # The pipeline's sim stage writes the whole run (simulate's Dataset) to <job>/sim/sim.nc.
    num = 0
    for seed in SEEDS:
        _hydra_job(tmp_path, num, simulate(seed=seed, **SCEN), "reactive", None)
        num += 1
        for budget in BUDGETS:
            run = simulate(seed=seed, interventions=flush(budget, seed), **SCEN)
            _hydra_job(tmp_path, num, run, "flush", budget, label_in_file=seed == 1)
            num += 1
    _hydra_job(tmp_path, num, simulate(seed=9, **SCEN), "flush", 2.0, complete=False)
    with pytest.warns(UserWarning, match=f"jobs \\['{num}'\\] have not finished"):
        got = collect(tmp_path, outputs=["calls", "satisfied"])
    want = serial[["calls", "satisfied"]].sel(policy=["reactive", "flush"])
    xr.testing.assert_equal(got.reset_coords(drop=True), want.reset_coords(drop=True))
    xr.testing.assert_identical(got["temperature"], want["temperature"])


# ------------------------------------------------------------------------ compare by hand
def _toy() -> xr.Dataset:
    """2 policies x 1 budget x 4 seeds x 3 days x 2 categories, known numbers."""
    rng = np.random.default_rng(5)
    base = rng.integers(20, 60, size=(4, 3, 2))
    arm = base - rng.integers(0, 15, size=(4, 3, 2))
    dims = ("policy", "budget", "seed", "time", "category")
    calls = np.stack([base, arm])[:, None]
    rated = np.full_like(calls, 10)
    satisfied = np.stack([np.full_like(base, 7), np.full_like(base, 8)])[:, None]
    cost = np.zeros((2, 1, 4, 3))
    cost[1, 0, :, 0] = [100.0, 120.0, 90.0, 110.0]
    return xr.Dataset(
        {"calls": (dims, calls), "rated": (dims, rated), "satisfied": (dims, satisfied),
         "intervention_cost": (dims[:4], cost)},
        coords={"policy": ["reactive", "arm"], "budget": [5.0], "seed": [0, 1, 2, 3],
                "time": pd.date_range("2025-11-01", periods=3), "category": ["heat", "noise"]})


def test_paired_differences_match_a_hand_computation():
    ds = _toy()
    eff = compare(ds, window=("2025-11-02", "2025-11-03"), n_boot=500)
    c = ds["calls"].values[:, 0, :, 1:, :].sum(axis=(2, 3))  # (policy, seed), days 2-3
    averted = c[0] - c[1]
    got = eff["calls_averted"].sel(policy="arm", budget=5.0)
    assert got.values.tolist() == averted.tolist()
    assert float(eff["calls_averted_median"].sel(policy="arm", budget=5.0)) == np.median(averted)
    assert float(eff["calls_averted_lo"].squeeze()) == pytest.approx(np.quantile(averted, 0.1))
    assert float(eff["calls_averted_hi"].squeeze()) == pytest.approx(np.quantile(averted, 0.9))
    assert float(eff["calls_averted_mean"].squeeze()) == pytest.approx(averted.mean())
    # the cost of day 1 bought the window's effects: counted from the first day on ...
    cost = np.array([100.0, 120.0, 90.0, 110.0])
    assert eff["cost"].squeeze().values.tolist() == cost.tolist()
    # ... up to the window's end: day 3's spending is not
    late = ds.copy(deep=True)
    late["intervention_cost"][1, 0, :, 2] = 1000.0
    early = compare(late, window=("2025-11-01", "2025-11-02"), n_boot=10)
    assert early["cost"].squeeze().values.tolist() == cost.tolist()
    whole = compare(ds, n_boot=500)
    assert whole["cost"].squeeze().values.tolist() == cost.tolist()
    all_averted = ds["calls"].values[0, 0].sum(axis=(1, 2)) - ds["calls"].values[1, 0].sum(
        axis=(1, 2))
    assert float(whole["cost_per_averted_call"].squeeze()) == pytest.approx(
        cost.mean() / all_averted.mean())
    assert np.allclose(whole["satisfaction_change"], 0.8 - 0.7)
    unpaired = (c[1].var(ddof=1) + c[0].var(ddof=1)) / (c[0] - c[1]).var(ddof=1)
    assert float(eff["crn_ratio"].squeeze()) == pytest.approx(unpaired)
    assert eff["calls_averted"].dims == ("policy", "budget", "seed")
    assert eff["policy"].values.tolist() == ["arm"]


def test_summaries_of_totals_come_from_per_seed_totals():
    ds = _toy()
    eff = compare(ds, n_boot=200)
    cells = compare(ds, by=("category",), n_boot=200)
    # per seed, the cells add up to the total ...
    xr.testing.assert_equal(cells["calls_averted"].sum("category"), eff["calls_averted"])
    # ... but their medians do not: the total's median is the median of per-seed totals
    summed_medians = float(cells["calls_averted_median"].sum("category").squeeze())
    total_median = float(eff["calls_averted_median"].squeeze())
    assert total_median == np.median(eff["calls_averted"].values)
    assert summed_medians != total_median
    # the mean is additive
    assert float(cells["calls_averted_mean"].sum("category").squeeze()) == pytest.approx(
        float(eff["calls_averted_mean"].squeeze()))


def test_bootstrap_is_a_seeded_percentile_bootstrap_of_the_mean():
    ds = _toy()
    a = compare(ds, n_boot=300, boot_seed=7)
    xr.testing.assert_identical(a, compare(ds, n_boot=300, boot_seed=7))
    b = compare(ds, n_boot=300, boot_seed=8)
    assert float(a["calls_averted_ci_lo"].squeeze()) != float(b["calls_averted_ci_lo"].squeeze())
    x = a["calls_averted"].squeeze().values.astype(float)
    means = resample_weights(4, 300, 7) @ x
    lo, hi = np.quantile(means, [0.025, 0.975])
    assert float(a["calls_averted_ci_lo"].squeeze()) == pytest.approx(lo)
    assert float(a["calls_averted_ci_hi"].squeeze()) == pytest.approx(hi)
    assert lo <= x.mean() <= hi
    # the weights are resampling counts: each row draws 4 seeds with replacement
    counts = resample_weights(4, 300, 7) * 4
    assert np.allclose(counts, np.round(counts)) and (counts.sum(axis=1) == 4).all()


def test_crn_ratio_of_real_paired_runs_is_large(serial):
    tot = totals(serial)["calls"].sel(budget=6.0)
    ratio = crn_ratio(tot.sel(policy="flush"), tot.sel(policy="reactive"))
    assert float(ratio) > 10
    eff = paired(serial)
    assert eff["calls_averted"].dims == ("policy", "budget", "seed")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"scenario": {**SCEN, "seed": 3}}, ValueError, "must not set"),
        ({"arms": {"reactive": null}}, ValueError, "baseline's name"),
        ({"arms": {"bad/name": null}}, ValueError, "letters, digits"),
        ({"arms": {"one": lambda b, s: NullIntervention()}}, TypeError, "list of Intervention"),
        ({"seeds": [0, 0]}, ValueError, "repeat"),
        ({"backend": "spark"}, ValueError, "choose from"),
        ({"outputs": ["calls", "nonsense"]}, ValueError, "nonsense"),
        ({"sum_over": ["estate"]}, ValueError, "no dims"),
    ],
)
def test_bad_arguments_fail_with_one_clear_error(kwargs, error, match):
    args = {"scenario": {**SCEN, "end": "2025-10-31"}, "arms": {"null": null},
            "budgets": [1.0], "seeds": [0]}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        run_experiment(args.pop("scenario"), args.pop("arms"), args.pop("budgets"),
                       args.pop("seeds"), **args)


def test_policy_sweep_benchmark_ends_with_its_result_line(capsys, load_benchmark):
    bench = load_benchmark("policy_sweep")
    out = bench.main(["--scale", "0.002", "--seeds", "2", "--budgets", "0.3",
                      "--end", "2025-11-30", "--backend", "serial",
                      "--arms", "random,history,oracle,risk"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    keys = [kv.split("=")[0] for kv in last.split()[1:]]
    assert last.startswith("RESULT ") and keys == ["sweep_seconds", "crn_ratio",
                                                   "random_averted", "history_averted",
                                                   "oracle_averted", "risk_averted",
                                                   "forecast_averted"]
    # the real policies (HouseholdRisk included) give numbers; an arm left out gives nan
    assert out["oracle_averted"] >= 0 and np.isfinite(out["risk_averted"])
    assert np.isnan(out["forecast_averted"])


# ------------------------------------------------------------------------ several seasons
SEASONS = {"a": ("2025-11-15", "2025-12-10"), "b": ("2026-11-15", "2026-12-10")}
SEASON_SCEN = {"scale": 0.002, "start": "2025-09-20", "end": "2026-12-10",
               "processes": ["heating"]}  # fmt: skip


def _heated_estates_small() -> list[int]:
    est = CityModel(scale=0.002, start="2025-09-20", end="2025-09-20").estate_table()
    return est.index[est["central_heating"]].tolist()


def flush_early(budget: float, seed: int) -> list[PipeFlushing]:
    """The first three heated estates, flushed on 1-2 October (cost 200 a household)."""
    return [PipeFlushing(_heated_estates_small()[:3], start="2025-10-01", end="2025-10-02",
                         capacity_per_day=100_000, unit_cost=200.0)]


@pytest.fixture(scope="module")
def two_seasons(tmp_path_factory) -> tuple[xr.Dataset, str]:
    store = str(tmp_path_factory.mktemp("seasons"))
    ds = run_experiment(SEASON_SCEN, {"flush": flush_early}, [1e9], [0, 1], seasons=SEASONS,
                        store=store)  # fmt: skip
    return ds, store


def test_seasons_label_every_day_by_its_cycle(two_seasons):
    ds, store = two_seasons
    days = pd.DatetimeIndex(ds["time"].values)
    # by hand: burn-in before the first flushing day, cycle a = 1 Oct..10 Dec 2025 (the
    # preparation and the season), off season, cycle b = 1 Oct..10 Dec 2026 (the repeat)
    want = np.where(days < "2025-10-01", "burn_in", np.where(
        days <= "2025-12-10", "a", np.where(days < "2026-10-01", "off_season", "b")))
    assert ds["season"].values.tolist() == want.tolist()
    assert ds["season"].dims == ("time",)
    # the store gives the same Dataset back, season labels included
    xr.testing.assert_identical(collect(store), ds)


def test_interventions_repeat_every_season_with_their_budget(two_seasons):
    ds, _ = two_seasons
    cost = ds["intervention_cost_total"].sel(policy="flush").squeeze("budget")
    spent = cost.where(cost > 0, drop=True)["time"].dt.strftime("%Y-%m-%d").values.tolist()
    assert spent == ["2025-10-01", "2026-10-01"]  # capacity covers the estates on day 1
    est = CityModel(scale=0.002, start="2025-09-20", end="2025-09-20").estate_table()
    households = int(est.loc[_heated_estates_small()[:3], "households"].sum())
    per_day = cost.sel(time=["2025-10-01", "2026-10-01"]).values
    assert (per_day == households * 200.0).all()  # every flushing flushes the same households


@pytest.mark.filterwarnings("ignore:satisfaction_change is NaN")
def test_season_totals_add_up_to_the_whole_horizon(two_seasons):
    ds, _ = two_seasons
    by = totals(ds, by=["season"])
    whole = totals(ds)
    assert by["season"].values.tolist() == ["burn_in", "a", "off_season", "b"]
    for var in ds.data_vars:
        xr.testing.assert_allclose(by[var].sum("season"), whole[var])
    eff = compare(ds, n_boot=50)
    assert eff["season"].values.tolist() == ["a", "b"]
    assert eff["calls_averted"].dims == ("policy", "budget", "seed", "season")
    # per season, by hand: baseline minus arm over the cycle's days, and the cycle's cost
    calls = ds["calls"].sum(["district", "category"])
    for name in ("a", "b"):
        days = ds["season"] == name
        diff = (calls.sel(policy="reactive") - calls.sel(policy="flush")).where(days).sum("time")
        assert eff["calls_averted"].sel(season=name, policy="flush").values.tolist() == (
            diff.values.tolist())
        spent = ds["intervention_cost_total"].sel(policy="flush").where(days).sum("time")
        np.testing.assert_allclose(eff["cost"].sel(season=name, policy="flush"), spent)
    # the seasons plus the days outside them give the whole horizon's paired effect
    rest = paired(ds, by=["season"]).sel(season=["burn_in", "off_season"])
    allseason = compare(ds, n_boot=50, per_season=False)
    for var in ("calls_averted", "cost"):
        xr.testing.assert_allclose(eff[var].sum("season") + rest[var].sum("season"),
                                   allseason[var])
    assert (rest["calls_averted"].sel(season="burn_in") == 0).all()  # nothing acted yet
    assert float(eff["calls_averted_mean"].sel(season="b").squeeze()) > 0


def _mediation_members(policy, seed: int = 0) -> tuple[list[set], CityModel]:
    """Merchants a 1.0-efficacy mediation network enrols in 2025 and again in 2026 (8 of
    them, decided by ``policy`` on the hotline history), consumer disputes only."""
    from predgov.sim.experiment.seasons import repeat_for_seasons, season_table, with_cycles
    from predgov.sim.interventions import MediationNetwork

    table = with_cycles(season_table({"2025": ("2025-07-01", "2025-09-30"),
                                      "2026": ("2026-07-01", "2026-09-30")}), None)
    iv = MediationNetwork(targeting=policy, start="2025-07-01", end="2025-09-30",
                          p_mediate=1.0, efficacy=1.0, unit_cost=1.0, budget=8.0)
    m = CityModel(seed=seed, scale=0.005, start="2024-07-01", end="2026-09-30",
                  processes=["consumer"], interventions=repeat_for_seasons([iv], table))
    m.run()
    return [set(np.flatnonzero(iv.p_member_ > 0).tolist()) for iv in m.interventions], m


def test_prevention_paradox_history_drops_the_merchants_it_helped():
    """Mediation works only while a merchant is a member. The history policy enrols the
    merchants with the most calls last tourist season; their disputes are all settled on
    the spot, so they vanish from the next season's history and the policy drops them for
    less risky merchants, while the oracle (true quality) keeps the same members."""
    from predgov.target.policies import HistoryHotspot, Oracle

    hist, m = _mediation_members(HistoryHotspot(category="consumer_dispute",
                                                season=("07-01", "09-30")))
    orac, mo = _mediation_members(Oracle(category="consumer_dispute"))
    assert len(hist[0]) == len(hist[1]) == len(orac[0]) == 8
    months = pd.DatetimeIndex(m.months)
    s1 = (months >= "2025-07-01") & (months <= "2025-09-01")
    s2 = (months >= "2026-07-01") & (months <= "2026-09-01")
    # the mechanism: members made no call in the season that is the next decision's history
    assert m.merchant_calls[s1][:, sorted(hist[0])].sum() == 0
    assert m.merchant_calls[s1].sum() > 0
    assert hist[0].isdisjoint(hist[1])  # the averted calls vanished: it moved elsewhere
    # ... and the merchants it dropped complain again in season 2 (they still are bad)
    assert m.merchant_calls[s2][:, sorted(hist[0])].sum() > 0
    assert orac[0] == orac[1]  # true risk did not change: the oracle keeps treating them
    assert mo.merchant_calls[s1 | s2][:, sorted(orac[0])].sum() == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seasons": [("2025-11-15", "2026-04-05")]}, "outside the scenario's days"),
        ({"seasons": [("2025-11-01", "2025-11-20"), ("2025-11-10", "2025-11-30")]},
         "overlap"),
        ({"seasons": [("2025-11-01", "2025-11-20")], "sum_over": ["time"]}, "'time' cannot"),
        ({"seasons": {"burn_in": ("2025-11-01", "2025-11-20")}}, "reserved"),
        ({"seasons": [("2025-11-01", "2025-11-10"), ("2025-11-20", "2025-11-30")],
          "arms": {"x": lambda b, s: [PipeFlushing([0], start="2025-10-30")]}},
         "start or an end but not both"),
        ({"seasons": [("2025-11-01", "2025-11-10"), ("2025-11-12", "2025-11-30")],
          "arms": {"x": lambda b, s: [PipeFlushing([0], start="2025-10-30",
                                                   end="2025-10-31")]}},
         "preparation starts"),
    ],
)
def test_bad_seasons_fail_with_one_clear_error(kwargs, match):
    args = {"scenario": {**SCEN, "end": "2025-11-30"}, "arms": {"null": null},
            "budgets": [1.0], "seeds": [0]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        run_experiment(args.pop("scenario"), args.pop("arms"), args.pop("budgets"),
                       args.pop("seeds"), **args)
