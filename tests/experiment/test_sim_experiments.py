"""Policy experiments from the config: strict sim/policy keys, the experiment stage, the named
experiments at a tiny scale, and collecting a multirun of experiment stages."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hydra import compose, initialize_config_dir

from predgov.experiment.app import register_resolvers
from predgov.experiment.config import ConfigError, register_configs, validate
from predgov.experiment.stages.sim import run_sim_stage
from predgov.paths import conf_dir, experiments_dir
from predgov.sim.experiment import collect

register_configs()
register_resolvers()

EXPERIMENTS = sorted(p.stem for p in (experiments_dir() / "experiment").glob("*.yaml"))
SIM_EXPERIMENTS = ["budget_frontier", "grid_visits", "heating_prep", "live_dispatch",
                   "merchant_network", "noise_taskforce"]  # fmt: skip
FAST = ["viz.formats=[png]", "viz.dpi=60", "sim.n_jobs=1", "sim.seeds=[0,1]"]
#: Tiny versions of each experiment (scale, dates, budgets), a few seconds each.
TINY = {
    "heating_prep": ["sim.scale=0.003", "sim.end=2025-12-15", "sim.budgets=[100000.0]"],
    "budget_frontier": ["sim.scale=0.002", "sim.end=2025-11-30",
                        "sim.budgets=[50000.0,100000.0]", "policy.compare=[random,oracle]"],
    "noise_taskforce": ["sim.scale=0.01", "sim.burn_in=2025-06-01", "sim.end=2025-07-31"],
    "grid_visits": ["sim.scale=0.003", "sim.end=2025-08-31"],
    "merchant_network": ["sim.scale=0.005", "sim.start=2025-07-01", "sim.end=2025-08-15"],
    "live_dispatch": ["sim.scale=0.003", "sim.burn_in=2025-10-01", "sim.end=2025-12-15"],
}


def _compose(overrides: list[str]):
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


def _cfg(overrides: list[str]):
    return validate(_compose(overrides))


# ------------------------------------------------------------------------------ strict config
HEAT = ["+experiment=heating_prep"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        # The example: a misspelt budget key used to be accepted and ignored.
        (["+sim.budget=1000"], "unknown config key 'sim.budget' (did you mean 'sim.budgets'?)"),
        ([*HEAT, "sim.interventions.flushing.kind=PipeFlush"],
         "invalid config value at 'sim.interventions.flushing.kind': unknown intervention "
         "'PipeFlush' (did you mean 'PipeFlushing'?)"),
        ([*HEAT, "+sim.interventions.flushing.params.capasity=3"],
         "unknown config key 'sim.interventions.flushing.params.capasity' (PipeFlushing does "
         "not take it) (did you mean 'sim.interventions.flushing.params.capacity'?)"),
        ([*HEAT, "+sim.interventions.flushing.params.budget=3"],
         "invalid config value at 'sim.interventions.flushing.params.budget': cannot be set"),
        ([*HEAT, "+sim.interventions.flushing.params.compliance=2"],
         "invalid config value at 'sim.interventions.flushing.params': compliance"),
        ([*HEAT, "+sim.interventions.flushing.colour=red"],
         "unknown config key 'sim.interventions.flushing.colour'"),
        ([*HEAT, "policy.name=histroy_hotspot"],
         "invalid config value at 'policy.name': unknown policy 'histroy_hotspot' (did you "
         "mean 'history_hotspot'?)"),
        ([*HEAT, "policy=random", "+policy.params.sead=1"],
         "unknown config key 'policy.params.sead' (policy random does not take it) (did you "
         "mean 'policy.params.seed'?)"),
        ([*HEAT, "policy.compare=[random,orakel]"],
         "invalid config value at 'policy.compare.1': unknown policy 'orakel'"),
        ([*HEAT, "+policy.budget=3"], "unknown config key 'policy.budget'"),
        (["policy=random"], "invalid config value at 'policy': policy=random needs "
                            "sim.interventions"),
        ([*HEAT, "policy=reactive", "policy.compare=[]"],
         "invalid config value at 'policy': policy=reactive targets nothing"),
        ([*HEAT, "sim.seeds=[0]"], "invalid config value at 'sim.seeds': an experiment needs"),
        ([*HEAT, "sim.budgets=[]"], "invalid config value at 'sim.budgets': give one or more"),
        (["sim.budgets=[10.0]"], "invalid config value at 'sim.budgets': budgets need"),
        ([*HEAT, "sim.budgets=[1.0,1.0]"], "invalid config value at 'sim.budgets': budgets "
                                           "repeat"),
        ([*HEAT, "sim.backend=spark"], "invalid config value at 'sim.backend'"),
        ([*HEAT, "sim.scheduler=tcp://h:8786"], "invalid config value at 'sim.scheduler'"),
        ([*HEAT, "sim.burn_in=2026-01-01"], "invalid config value at 'sim.burn_in'"),
        ([*HEAT, "+sim.effects_on.street=[x]"], "unknown config key 'sim.effects_on.street'"),
    ],
)
def test_sim_and_policy_keys_are_strict(overrides, message):
    with pytest.raises(ConfigError) as info:
        _cfg(overrides)
    text = str(info.value)
    assert text.startswith(message), text
    assert "\n" not in text


@pytest.mark.parametrize("policy", sorted(p.stem for p in (conf_dir() / "policy").glob("*.yaml")))
def test_every_policy_runs_heating_prep_config(policy):
    """Each conf/policy file validates on heating_prep; its params reach the config."""
    overrides = [*HEAT, f"policy={policy}", "policy.compare=[]"]
    if policy == "reactive":
        overrides[-1] = "policy.compare=[random]"
    cfg = _cfg(overrides)
    assert cfg.policy.name == policy
    assert cfg.policy.arms() == ([policy] if policy != "reactive" else ["random"])
    if policy == "history_hotspot":
        assert cfg.policy.params["category"] == "heating"


def test_heating_prep_config_reaches_the_arms():
    from predgov.experiment.stages.sim import experiment_arms
    from predgov.target.policies import HistoryHotspot, Oracle, Random

    cfg = _cfg(HEAT)
    assert cfg.sim.budgets == [500000.0, 1000000.0, 2000000.0]
    arms = experiment_arms(cfg.sim, cfg.policy)
    assert list(arms) == ["history_hotspot", "random", "oracle"]
    kinds = {name: type(make(1000.0, 0)[0].targeting) for name, make in arms.items()}
    assert kinds == {"history_hotspot": HistoryHotspot, "random": Random, "oracle": Oracle}
    [iv] = arms["oracle"](1000.0, 3)
    assert (iv.budget, iv.unit_cost, iv.unit, iv.label) == (1000.0, 200.0, "estate", "flushing")
    assert iv.start == pd.Timestamp("2025-09-01")


# ------------------------------------------------------------------------------ stage
def _run(name: str, tmp_path, extra: list[str] = ()):
    cfg = _cfg([f"+experiment={name}", *FAST, *TINY[name], *extra])
    out = run_sim_stage(cfg.sim, cfg.policy, cfg.viz, tmp_path / "sim")
    eff = pd.read_csv(out["effects"], comment="#")
    return cfg, out, eff


@pytest.mark.parametrize("name", SIM_EXPERIMENTS)
def test_every_experiment_runs_at_a_tiny_scale(name, tmp_path):
    cfg, out, eff = _run(name, tmp_path)
    arms = cfg.policy.arms()
    assert eff[["policy", "budget"]].values.tolist() == [[p, b] for p in arms
                                                         for b in cfg.sim.budgets]
    assert (eff["seeds"] == 2).all()
    # paired effects are numbers; a run never spends beyond its budget
    assert eff["calls_averted_median"].notna().all()
    assert (eff["cost_mean"] <= eff["budget"] + 1e-6).all()
    assert (eff["calls_averted_p10"] <= eff["calls_averted_p90"]).all()
    assert out["effects_png"].exists()
    first = out["effects"].read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# simulated totals") and "suppression does not apply" in first
    ds = xr.open_dataset(out["experiment"])
    assert ds["calls"].dims[:3] == ("policy", "budget", "seed")
    assert ds["policy"].values.tolist() == ["reactive", *arms]
    assert ds.attrs["policy"] == ",".join(arms)
    ds.close()
    if name == "heating_prep":
        by = eff.set_index("policy")["calls_averted_mean"]
        assert by["oracle"] > by["random"] > 0  # the upper bound beats chance
        assert "naive_drop" in eff  # a burn-in: the naive before/after is shown too
    if name == "noise_taskforce":
        row = eff.iloc[0]
        assert row["cost_mean"] > 0  # sources near 青铁公园里 were treated
        assert row["naive_calls_before"] >= 0 and not math.isnan(row["naive_drop"])


def test_reactive_season_is_unchanged_and_labelled(tmp_path):
    cfg = _cfg(["sim.scale=0.002", "sim.start=2025-07-01", "sim.end=2025-07-10",
                "viz.formats=[png]", "viz.dpi=60"])  # fmt: skip
    out = run_sim_stage(cfg.sim, cfg.policy, cfg.viz, tmp_path / "sim")
    assert set(out) >= {"sim", "sim_summary", "sim_overview_png"} and "effects" not in out
    with xr.open_dataset(out["sim"]) as ds:
        assert ds.attrs["policy"] == "reactive" and math.isnan(ds.attrs["budget"])


def test_collect_merges_experiment_stages_of_a_multirun(tmp_path):
    """Two jobs (one policy each) of a multirun merge into one experiment; the baseline they
    both ran counts once, and the effects equal those of one run with both policies."""
    from predgov.sim.experiment import compare

    extra = ["sim.scale=0.002", "sim.start=2025-09-01", "sim.end=2025-11-30",
             "sim.burn_in=null", "sim.budgets=[20000.0]", "policy.compare=[]"]  # fmt: skip
    for job, policy in enumerate(["random", "oracle"]):
        cfg = _cfg([*HEAT, *FAST, *extra, f"policy={policy}"])
        run_sim_stage(cfg.sim, cfg.policy, cfg.viz, tmp_path / str(job) / "sim")
        (tmp_path / str(job) / "COMPLETE").touch()
    ds = collect(tmp_path)
    assert ds["policy"].values.tolist() == ["reactive", "oracle", "random"]
    both = _cfg([*HEAT, *FAST, *extra, "policy=random", "policy.compare=[oracle]"])
    run_sim_stage(both.sim, both.policy, both.viz, tmp_path / "both" / "sim")
    with xr.open_dataset(tmp_path / "both" / "sim" / "experiment.nc") as one:
        one = one.load()
    a = compare(ds)["calls_averted"].sel(policy=["random", "oracle"])
    b = compare(one)["calls_averted"].sel(policy=["random", "oracle"])
    np.testing.assert_array_equal(a.values, b.values)


@pytest.mark.slow
def test_hydra_multirun_over_policies_and_collect(tmp_path):
    """``predgov -m ... policy=random,oracle`` (basic launcher) then ``collect``."""
    cmd = [sys.executable, "-m", "predgov.experiment.app", "-m", *HEAT, "policy.compare=[]",
           "policy=random,oracle", "sim.scale=0.002", "sim.end=2025-11-30", "sim.seeds=[0,1]",
           "sim.budgets=[50000.0]", "sim.n_jobs=1", "viz.formats=[png]",
           f"hydra.sweep.dir={tmp_path}"]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, env={"MPLBACKEND": "Agg",
                                                              "PATH": "/usr/bin:/bin"})
    ds = collect(tmp_path)
    assert ds["policy"].values.tolist() == ["reactive", "oracle", "random"]
    assert ds.sizes["seed"] == 2


# ------------------------------------------------------------------------------ seasons
#: A tiny two-season experiment: flushing 1-10 Oct, season s1 (its cycle 1 Oct - 30 Nov), then
#: the flushing repeated 61 days later (1-10 Dec) before season s2 (15 Dec - 15 Jan).
TWO_SEASONS = [*HEAT, *FAST, "sim.scale=0.003", "sim.burn_in=null", "sim.start=2025-09-01",
               "sim.end=2026-01-15", "sim.budgets=[100000.0]", "policy=random",
               "policy.compare=[oracle]", "sim.interventions.flushing.params.start=2025-10-01",
               "sim.interventions.flushing.params.end=2025-10-10",
               "sim.seasons={s1:[2025-10-15,2025-11-30],s2:[2025-12-15,2026-01-15]}"]  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["+sim.season=[[2025-08-01,2025-09-01]]"],
         "unknown config key 'sim.season' (did you mean 'sim.seasons'?)"),
        (["sim.seasons=[[2025-08-01,2025-09-01]]"],
         "invalid config value at 'sim.seasons': seasons are for experiments"),
        ([*HEAT, "sim.seasons=3"], "invalid config value at 'sim.seasons': give [[first, last]"),
        ([*HEAT, "sim.seasons=[]"], "invalid config value at 'sim.seasons': give [[first, last]"),
        ([*HEAT, "sim.seasons=[[2025-11-15]]"],
         "invalid config value at 'sim.seasons.0': need [first, last] dates"),
        ([*HEAT, "sim.seasons=[[2025-11-15,2026-04-05],[2026-11-15,2027-13-01]]"],
         "invalid config value at 'sim.seasons.1': dates must look like 2025-11-15"),
        ([*HEAT, "sim.seasons={s1:[2025-11-15,2025-11-01]}"],
         "invalid config value at 'sim.seasons': season 's1': last day 2025-11-01 is before"),
        ([*HEAT, "sim.end=2027-04-05", "sim.seasons=[[2025-11-15,2026-04-05],"
                                       "[2026-01-01,2026-03-01]]"],
         "invalid config value at 'sim.seasons': seasons overlap or are out of order"),
        ([*HEAT, "sim.seasons=[[2025-11-15,2026-04-05],[2026-11-15,2027-04-05]]"],
         "invalid config value at 'sim.seasons': seasons run 2025-11-15..2027-04-05, outside "
         "the simulated days 2024-11-15..2026-04-05"),
        ([*HEAT, "sim.seasons=[[2024-01-01,2024-04-05]]"],
         "invalid config value at 'sim.seasons': seasons run 2024-01-01..2024-04-05, outside"),
        ([*HEAT, "sim.end=2026-06-30", "sim.seasons=[[2025-11-15,2026-04-05],"
                                       "[2026-04-10,2026-06-30]]"],
         "invalid config value at 'sim.seasons': season season_2: its preparation starts "
         "2026-01-25, before season_1 ends (2026-04-05)"),
        ([*HEAT, "sim.seasons={burn_in:[2025-11-15,2026-04-05]}"],
         "invalid config value at 'sim.seasons': season name 'burn_in' is reserved"),
    ],
)
def test_sim_seasons_are_checked(overrides, message):
    with pytest.raises(ConfigError) as info:
        _cfg(overrides)
    text = str(info.value)
    assert text.startswith(message), text
    assert "\n" not in text


def test_sim_seasons_default_and_forms():
    assert _cfg([]).sim.seasons is None
    listed = _cfg([*HEAT, "sim.end=2027-04-05",
                   "sim.seasons=[[2025-11-15,2026-04-05],[2026-11-15,2027-04-05]]"]).sim
    assert listed.seasons == [["2025-11-15", "2026-04-05"], ["2026-11-15", "2027-04-05"]]
    named = _cfg(TWO_SEASONS).sim
    assert named.seasons == {"s1": ["2025-10-15", "2025-11-30"],
                             "s2": ["2025-12-15", "2026-01-15"]}  # fmt: skip


def test_two_seasons_through_the_stage(tmp_path):
    """Per-season rows in effects.csv equal the paired differences of each season cycle's
    totals in experiment.nc, computed here from the labelled days."""
    cfg = _cfg(TWO_SEASONS)
    out = run_sim_stage(cfg.sim, cfg.policy, cfg.viz, tmp_path / "sim")
    eff = pd.read_csv(out["effects"], comment="#")
    assert eff[["policy", "budget", "season"]].values.tolist() == [
        [p, 100000.0, s] for p in ["random", "oracle"] for s in ["s1", "s2"]]
    assert "naive_drop" not in eff
    assert (eff["cost_mean"] <= eff["budget"] + 1e-6).all()  # a budget per season
    assert (eff["cost_mean"] > 0).all()  # the flushing was repeated before s2
    first = out["effects"].read_text(encoding="utf-8").splitlines()[0]
    assert "s1 2025-10-01..2025-11-30, s2 2025-12-01..2026-01-15" in first
    with xr.open_dataset(out["experiment"]) as ds:
        ds = ds.load()
    labels = ds["season"].values.astype(str)
    assert labels[ds.indexes["time"] == pd.Timestamp("2025-09-30")].tolist() == ["burn_in"]
    assert labels[ds.indexes["time"] == pd.Timestamp("2025-12-01")].tolist() == ["s2"]
    calls = ds["calls"].sum([d for d in ds["calls"].dims if d not in
                             ("policy", "budget", "seed", "time")])  # fmt: skip
    for row in eff.itertuples():
        cyc = calls.isel(time=np.flatnonzero(labels == row.season)).sum("time")
        diff = (cyc.sel(policy="reactive") - cyc.sel(policy=row.policy)).sel(budget=row.budget)
        assert row.calls_averted_mean == pytest.approx(round(float(diff.mean()), 1))
        assert row.calls_averted_median == pytest.approx(round(float(diff.median()), 1))
    assert out["effects_png"].exists() and out["effects_s2_png"].exists()


def test_default_experiment_outputs_have_no_seasons(tmp_path):
    """Without sim.seasons the stage writes what it wrote before seasons existed: the same
    columns, header and files, and no season labels in experiment.nc."""
    cfg, out, eff = _run("heating_prep", tmp_path)
    assert cfg.sim.seasons is None
    assert list(eff.columns) == [
        "policy", "budget", "calls_averted_median", "calls_averted_p10", "calls_averted_p90",
        "calls_averted_mean", "calls_averted_ci_lo", "calls_averted_ci_hi",
        "problems_averted_median", "repeat_calls_averted_median", "satisfaction_change_median",
        "cost_mean", "cost_per_averted_call", "cost_per_averted_call_ci_lo",
        "cost_per_averted_call_ci_hi", "crn_ratio", "seeds", "naive_calls_before",
        "naive_calls_after", "naive_drop"]  # fmt: skip
    first = out["effects"].read_text(encoding="utf-8").splitlines()[0]
    assert first.endswith("; effects over 2025-11-15..2025-12-15, paired per seed against the "
                          "reactive baseline (read with pandas.read_csv(..., comment='#'))")
    assert sorted(out) == ["effects", "effects_png", "experiment"]
    with xr.open_dataset(out["experiment"]) as ds:
        assert "season" not in ds.coords and "seasons" not in ds.attrs
        assert ds.attrs["window"] == "2025-11-15..2025-12-15"
