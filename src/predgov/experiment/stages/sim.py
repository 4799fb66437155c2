"""Simulation stage: one reactive season of the agent-based city, or a policy experiment.

Without ``sim.interventions`` (and ``policy=reactive``) the stage runs the reactive city
(接诉即办) and writes ``sim.nc`` (cube schema + outcomes, attributes ``policy="reactive"``,
``budget`` NaN), ``season_by_category.csv`` and ``figures/sim_overview.*``.

With interventions it runs ``predgov.sim.experiment.run_experiment``: the reactive baseline
once per seed, and every policy of ``policy`` (``name`` and ``compare``) × ``sim.budgets`` ×
``sim.seeds`` with the same seeds (common random numbers), from ``sim.burn_in`` (the hotline
history the policies decide on) to ``sim.end``; the paired effects are taken over
``sim.start``..``sim.end``. It writes ``experiment.nc`` (dims policy, budget, seed, time,
district, category; ``predgov.sim.experiment.collect`` merges these files over a Hydra
multirun), ``effects.csv`` (one row per policy × budget, plain numbers) and
``figures/effects.*``. With ``sim.seasons`` the run spans a burn-in and several evaluation
seasons (``run_experiment(..., seasons=...)``: the interventions repeat before each later
season, decided again on the history so far); ``experiment.nc`` labels each day with its
``season`` cycle, ``effects.csv`` has a ``season`` column (one row per policy × budget ×
season; each season's effects over its cycle, the preparation and the season, with that
cycle's cost; no naive before/after columns), ``figures/effects.*`` shows the first season and
``figures/effects_<season>.*`` each later one (the season is named on the source line).
Without ``sim.seasons`` nothing changes. Simulated totals count no person, so small-cell
suppression does not apply to them (said in the CSV's first line and the Dataset's attributes).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from predgov.data.cube import write_cube
from predgov.experiment.config import PolicyConfig, SimConfig, VizConfig
from predgov.experiment.stages.data import save_and_close


def sim_params(overrides: dict[str, Any]):
    """``SimParams`` with per-process overrides, e.g. ``{"heating": {"start_amp": 2.5}}``.

    Examples
    --------
    >>> sim_params({"heating": {"start_amp": 2.5}}).heating.start_amp
    2.5
    """
    from predgov.sim.model import SimParams

    params = SimParams()
    for process, values in overrides.items():
        if not hasattr(params, process):
            names = [f.name for f in dataclasses.fields(params)]
            raise ValueError(f"sim.params: unknown process {process!r}; choose from {names}")
        section = getattr(params, process)
        known = {f.name for f in dataclasses.fields(section)}
        bad = sorted(set(values) - known)
        if bad:
            msg = f"sim.params.{process}: unknown parameters {bad}; have {sorted(known)}"
            raise ValueError(msg)
        params = dataclasses.replace(params, **{process: dataclasses.replace(section, **values)})
    return params


#: Count columns of the season table (means over seeds when there are several).
OUTCOME_COUNTS = ("problems", "calls", "repeat_calls", "resolved", "rated", "satisfied")


def outcome_table(ds: xr.Dataset, min_count: int) -> pd.DataFrame:
    """Season totals per category, machine-readable: problems, calls, repeats, resolved, rated,
    satisfied (means over seeds, to 0.1) and the satisfaction rate.

    Plain numbers; counts of 1..``min_count``-1 and a complementary cell per column
    (:func:`predgov.viz.suppress.publishable_counts`, column totals being known) are empty,
    the rate is empty wherever ``satisfied`` or ``rated`` is (rate × rated would give the
    count back), and the ``suppressed`` column names what a row withholds.

    Examples
    --------
    >>> import numpy as np
    >>> dims = ("time", "district", "category")
    >>> ds = xr.Dataset({v: (dims, np.full((2, 1, 2), 10)) for v in OUTCOME_COUNTS},
    ...                 coords={"category": ["gas", "noise"]})
    >>> ds["satisfied"][:, 0, 1] = 1
    >>> table = outcome_table(ds, 5)
    >>> table["suppressed"].tolist()  # gas: the complementary cell of the column
    ['satisfied;satisfaction_rate', 'satisfied;satisfaction_rate']
    >>> table.loc["gas", "calls"], table[["satisfied", "satisfaction_rate"]].isna().all().all()
    (np.int64(20), np.True_)
    """
    from predgov.viz.suppress import publishable_counts

    cols = list(OUTCOME_COUNTS)
    dims = ["time", "district"] + (["seed"] if "seed" in ds.dims else [])
    totals = ds[cols].sum(dims)
    if "seed" in ds.dims:
        totals = totals / ds.sizes["seed"]
    frame = totals.to_dataframe()[cols].round(1)
    rated = frame["rated"].where(frame["rated"] > 0)
    frame["satisfaction_rate"] = (frame["satisfied"] / rated).round(3)
    return publishable_counts(
        frame,
        cols,
        derived={"satisfaction_rate": ["satisfied", "rated"]},
        min_count=min_count,
        lines="columns",
    )


def run_sim_stage(
    cfg: SimConfig, policy: PolicyConfig, viz: VizConfig, out_dir: Path
) -> dict[str, Path]:
    """The reactive season (no interventions) or the policy experiment (see the module
    docstring); return the files written by role."""
    if cfg.interventions:
        return run_experiment_stage(cfg, policy, viz, out_dir)
    return run_reactive_season(cfg, viz, out_dir)


def scenario_kwargs(cfg: SimConfig, start: str) -> dict[str, Any]:
    """``CityModel`` keywords of the config's runs from ``start`` to ``sim.end``.

    Examples
    --------
    >>> sorted(scenario_kwargs(SimConfig(), "2025-07-01"))
    ['end', 'params', 'scale', 'start', 'world_seed']
    """
    kwargs: dict[str, Any] = dict(scale=cfg.scale, start=start, end=cfg.end,
                                  world_seed=cfg.world_seed, params=sim_params(cfg.params))
    if cfg.processes is not None:
        kwargs["processes"] = list(cfg.processes)
    return kwargs


def run_reactive_season(cfg: SimConfig, viz: VizConfig, out_dir: Path) -> dict[str, Path]:
    """Write ``sim.nc`` (counts + outcomes), a season summary table and an overview figure."""
    import math

    from predgov.sim import run_scenario
    from predgov.viz.sim_figures import sim_overview

    out_dir.mkdir(parents=True, exist_ok=True)
    kwargs = scenario_kwargs(cfg, cfg.start)
    if len(cfg.seeds) == 1:
        ds = run_scenario(kwargs, seed=cfg.seeds[0])
    else:
        ds = run_scenario(kwargs, seeds=list(cfg.seeds), n_jobs=cfg.n_jobs)
    # labels of the run for predgov.sim.experiment.collect over a Hydra multirun
    ds.attrs.update(policy="reactive", budget=math.nan)
    out: dict[str, Path] = {"sim": out_dir / "sim.nc"}
    write_cube(ds, out["sim"])
    out["sim_summary"] = out_dir / "season_by_category.csv"
    outcome_table(ds, viz.min_count).to_csv(out["sim_summary"], encoding="utf-8")
    fig = sim_overview(ds, lang=viz.lang, date=cfg.end)
    out.update(save_and_close(fig, out_dir / "figures" / "sim_overview", viz))
    return out


#: First line of ``effects.csv`` (and an attribute of ``experiment.nc``).
SIMULATED_NOTE = ("simulated totals (predgov agent-based city, not real records): no person is "
                  "counted, so small-cell suppression does not apply")
#: Columns of ``effects.csv`` from ``compare``'s variables (None: computed here).
EFFECT_COLUMNS = {
    "calls_averted_median": "calls_averted_median",
    "calls_averted_p10": "calls_averted_lo",
    "calls_averted_p90": "calls_averted_hi",
    "calls_averted_mean": "calls_averted_mean",
    "calls_averted_ci_lo": "calls_averted_ci_lo",
    "calls_averted_ci_hi": "calls_averted_ci_hi",
    "problems_averted_median": "problems_averted_median",
    "repeat_calls_averted_median": "repeat_calls_averted_median",
    "satisfaction_change_median": "satisfaction_change_median",
    "cost_mean": "cost_mean",
    "cost_per_averted_call": "cost_per_averted_call",
    "cost_per_averted_call_ci_lo": "cost_per_averted_call_ci_lo",
    "cost_per_averted_call_ci_hi": "cost_per_averted_call_ci_hi",
    "crn_ratio": "crn_ratio",
}


def experiment_arms(cfg: SimConfig, policy: PolicyConfig) -> dict[str, Any]:
    """Arms of ``run_experiment`` by policy name: the config's interventions targeted by it.

    Examples
    --------
    >>> from predgov.experiment.config import InterventionConfig
    >>> sim = SimConfig(interventions={"flush": InterventionConfig("PipeFlushing")},
    ...                 budgets=[1000.0], seeds=[0, 1])
    >>> sorted(experiment_arms(sim, PolicyConfig("random", compare=["oracle"])))
    ['oracle', 'random']
    """
    from predgov.sim.experiment.arms import make_arm

    specs = {label: (spec.kind, dict(spec.params)) for label, spec in cfg.interventions.items()}
    return {name: make_arm(name, dict(policy.params), specs, strict=name == policy.name)
            for name in policy.arms()}  # fmt: skip


def effects_table(eff: xr.Dataset) -> pd.DataFrame:
    """One row per policy × budget (× season, when ``eff`` has that dim): calls averted
    (median, 10-90 % band, mean with its bootstrap CI), problems and repeat calls averted,
    satisfaction change, mean cost, cost per averted call (with CI) and the CRN ratio; plain
    numbers (NaN where undefined).

    Examples
    --------
    >>> import numpy as np
    >>> from predgov.sim.experiment import compare
    >>> ds = xr.Dataset({"calls": (("policy", "budget", "seed", "time"),
    ...                            [[[[5, 5], [6, 6], [7, 7]]], [[[4, 5], [2, 6], [7, 5]]]])},
    ...                 coords={"policy": ["reactive", "flush"], "budget": [1.0]})
    >>> effects_table(compare(ds, n_boot=50))[["calls_averted_median", "seeds"]].to_dict("records")
    [{'calls_averted_median': 2.0, 'seeds': 3}]
    """
    rows = eff[[v for v in EFFECT_COLUMNS.values() if v in eff]]
    frame = rows.to_dataframe().reset_index()
    frame = frame.rename(columns={v: k for k, v in EFFECT_COLUMNS.items()})
    keys = ["policy", "budget"] + (["season"] if "season" in eff.dims else [])
    cols = keys + [c for c in EFFECT_COLUMNS if c in frame]
    frame = frame[cols].copy()
    digits = {c: 4 if c.startswith("satisfaction") else 1 for c in cols[len(keys):]}
    frame = frame.round(digits)
    frame["seeds"] = int(eff.sizes["seed"])
    return frame


def effects_selection(ds: xr.Dataset, effects_on: dict[str, list[str]]) -> dict[str, list]:
    """``sim.effects_on`` checked against the runs' labels (a ValueError naming a missing one).

    Examples
    --------
    >>> ds = xr.Dataset(coords={"category": ["heating", "gas"]})
    >>> effects_selection(ds, {"category": ["gas"]})
    {'category': ['gas']}
    """
    from predgov.experiment.config import did_you_mean

    for dim, labels in effects_on.items():
        have = [str(x) for x in ds[dim].values]
        for label in labels:
            if str(label) not in have:
                raise ValueError(f"sim.effects_on.{dim}: the simulation has no {dim} "
                                 f"{label!r}{did_you_mean(label, have)}")  # fmt: skip
    return {dim: list(labels) for dim, labels in effects_on.items()}


def naive_before_after(ds: xr.Dataset, cfg: SimConfig, select: dict[str, list]) -> pd.DataFrame:
    """The naive before/after reading of each arm (mean over seeds): its calls in the burn-in
    (``burn_in`` to the day before ``start``) and in the evaluation window, and the drop
    between them. Shown only as a warning: it mixes the intervention with seasonality and
    chance, which the paired effect does not (SEED_BRIEF case 4: 49 -> 15).
    """
    from predgov.sim.experiment import totals

    before_end = (pd.Timestamp(cfg.start) - pd.Timedelta(days=1)).date().isoformat()
    cols = {}
    for name, win in (("naive_calls_before", (cfg.burn_in, before_end)),
                      ("naive_calls_after", (cfg.start, cfg.end))):  # fmt: skip
        tot = totals(ds[["calls"]], window=win, select=select or None)["calls"]
        cols[name] = tot.drop_sel(policy=ds.attrs.get("baseline", "reactive")).mean("seed")
    frame = xr.Dataset(cols).to_dataframe().reset_index()[["policy", "budget", *cols]]
    frame["naive_drop"] = frame["naive_calls_before"] - frame["naive_calls_after"]
    return frame.round(1)


def run_experiment_stage(
    cfg: SimConfig, policy: PolicyConfig, viz: VizConfig, out_dir: Path
) -> dict[str, Path]:
    """Run the experiment and write ``experiment.nc``, ``effects.csv``, ``figures/effects.*``."""
    import json
    import logging

    from predgov.sim.experiment import compare, run_experiment
    from predgov.viz.policy_figures import effects_figure

    out_dir.mkdir(parents=True, exist_ok=True)
    arms = experiment_arms(cfg, policy)
    scenario = scenario_kwargs(cfg, cfg.burn_in or cfg.start)
    if not cfg.params:
        del scenario["params"]
    logging.getLogger("predgov.progress").info(
        "      experiment: reactive + %s x budgets %s x seeds %s (%s)", "/".join(arms),
        [f"{b:g}" for b in cfg.budgets], list(cfg.seeds), cfg.backend)
    ds = run_experiment(scenario, arms, list(cfg.budgets), list(cfg.seeds),
                        backend=cfg.backend, n_jobs=cfg.n_jobs, scheduler=cfg.scheduler,
                        store=cfg.store, seasons=cfg.seasons)  # fmt: skip
    # with seasons, each season's effects are over its own cycle (compare per season)
    window = None if cfg.seasons is not None else (cfg.start, cfg.end)
    described = {label: {"kind": s.kind, **s.params} for label, s in cfg.interventions.items()}
    ds.attrs.update(
        policy=",".join(arms), budget=",".join(f"{b:g}" for b in cfg.budgets),
        window=(f"{cfg.start}..{cfg.end}" if window else "per season cycle (attribute "
                "seasons: name, cycle start, first and last day)"),
        burn_in=cfg.burn_in or "none", scale=cfg.scale,
        interventions=json.dumps(described, sort_keys=True, ensure_ascii=False, default=str),
        budget_units="total spending per run, in the unit of the interventions' unit_cost",
        suppression=SIMULATED_NOTE,
    )  # fmt: skip
    out: dict[str, Path] = {"experiment": out_dir / "experiment.nc"}
    write_cube(ds, out["experiment"])
    select = effects_selection(ds, cfg.effects_on)
    eff = compare(ds, window=window, select=select)
    table = effects_table(eff)
    if cfg.burn_in is not None and window is not None:
        table = table.merge(naive_before_after(ds, cfg, select), on=["policy", "budget"])
    where = "; counted in " + ", ".join(f"{k}={v}" for k, v in select.items()) if select else ""
    out["effects"] = out_dir / "effects.csv"
    with open(out["effects"], "w", encoding="utf-8", newline="") as fh:
        over = (f"effects over {cfg.start}..{cfg.end}" if window else "effects per season "
                "over its cycle (preparation and season: " + ", ".join(
                    f"{s.name} {s.cycle_start.date()}..{s.last.date()}"
                    for s in seasons_of(ds)) + ")")  # fmt: skip
        fh.write(f"# {SIMULATED_NOTE}; {over}{where}, paired per "
                 "seed against the reactive baseline (read with pandas.read_csv(..., "
                 "comment='#'))\n")
        table.to_csv(fh, index=False)
    if "season" not in eff.dims:
        fig = effects_figure(eff, lang=viz.lang, date=cfg.end, scale=cfg.scale)
        out.update(save_and_close(fig, out_dir / "figures" / "effects", viz))
        return out
    names = [str(n) for n in eff["season"].values]
    for i, name in enumerate(names):
        fig = effects_figure(eff.sel(season=name, drop=True), lang=viz.lang, date=cfg.end,
                             scale=cfg.scale, source="predgov simulation (synthetic city); "
                             f"season {name} ({i + 1} of {len(names)})")  # fmt: skip
        stem = "effects" if i == 0 else "effects_" + name.replace(".", "_")
        out.update(save_and_close(fig, out_dir / "figures" / stem, viz))
    return out


def seasons_of(ds: xr.Dataset) -> list:
    """The season table of an experiment run with seasons (``ds.attrs["seasons"]``)."""
    from predgov.sim.experiment.seasons import loads

    return loads(str(ds.attrs["seasons"]))
