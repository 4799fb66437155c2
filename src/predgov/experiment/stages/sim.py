"""Simulation stage: one reactive season of the agent-based city (cube schema + outcomes)."""

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
    """Write ``sim.nc`` (counts + outcomes), a season summary table and an overview figure."""
    from predgov.sim import run_scenario
    from predgov.viz.sim_figures import sim_overview

    del policy  # reactive handling is the model's built-in behaviour (no interventions)
    out_dir.mkdir(parents=True, exist_ok=True)
    kwargs = dict(scale=cfg.scale, start=cfg.start, end=cfg.end, world_seed=cfg.world_seed,
                  params=sim_params(cfg.params))
    if cfg.processes is not None:
        kwargs["processes"] = list(cfg.processes)
    if len(cfg.seeds) == 1:
        ds = run_scenario(kwargs, seed=cfg.seeds[0])
    else:
        ds = run_scenario(kwargs, seeds=list(cfg.seeds), n_jobs=cfg.n_jobs)
    out: dict[str, Path] = {"sim": out_dir / "sim.nc"}
    write_cube(ds, out["sim"])
    out["sim_summary"] = out_dir / "season_by_category.csv"
    outcome_table(ds, viz.min_count).to_csv(out["sim_summary"], encoding="utf-8")
    fig = sim_overview(ds, lang=viz.lang, date=cfg.end)
    out.update(save_and_close(fig, out_dir / "figures" / "sim_overview", viz))
    return out
