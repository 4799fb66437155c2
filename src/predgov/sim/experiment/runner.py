"""``run_experiment``: policy × budget × seed with the baseline run once per seed (CRN).

Every run is ``predgov.sim.simulate(model_class, seed=seed, interventions=..., **scenario)``;
an arm at a budget runs with the same seed as the baseline, so both share every draw of the
processes (common random numbers) and their difference is the arm's effect, not noise. A job is
a pure function of (scenario, seed, interventions, outputs), so the serial, joblib and
dask.distributed backends give the same bytes, and a store lets a killed sweep resume.

With ``seasons`` one run spans a burn-in and several evaluation seasons: the arms'
interventions are repeated before each later season (``seasons.repeat_for_seasons``), each
decision taken on the history recorded so far, and every day is labelled with its season cycle
(``season`` coordinate along ``time``) so ``compare`` reports the effect per season.
"""

from __future__ import annotations

import inspect
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import xarray as xr

from predgov.parallel import dask_map
from predgov.sim.experiment import seasons as ssn
from predgov.sim.experiment.store import (
    FORMAT,
    Job,
    assemble,
    check_name,
    experiment_attrs,
    finished,
    read_run,
    update_manifest,
    write_run,
)
from predgov.sim.interventions import Intervention
from predgov.sim.model import CityModel
from predgov.sim.scenario import simulate

#: Variables kept by default: what ``compare`` needs (``calls``, ``problems``,
#: ``repeat_calls``, ``rated``, ``satisfied``, ``intervention_cost_total``) and ``absorbed``.
#: The per-intervention ``intervention_cost(time, intervention)`` differs in length between
#: arms, so the total over interventions is kept by default.
DEFAULT_OUTPUTS = ("calls", "problems", "repeat_calls", "rated", "satisfied", "absorbed",
                   "intervention_cost_total")  # fmt: skip
BACKENDS = ("serial", "joblib", "dask")
#: An arm: ``make_interventions(budget, seed) -> list[Intervention]`` (fresh objects each call).
Arm = Callable[[float, int], Sequence[Intervention]]


def run_experiment(
    scenario: Mapping[str, Any],
    arms: Mapping[str, Arm],
    budgets: Sequence[float],
    seeds: Sequence[int],
    *,
    baseline: str = "reactive",
    backend: str = "serial",
    n_jobs: int = 1,
    scheduler: Any = None,
    store: str | os.PathLike | None = None,
    outputs: Sequence[str] = DEFAULT_OUTPUTS,
    sum_over: Sequence[str] = (),
    model_class: type[Any] = CityModel,
    seasons: Mapping[str, Sequence[Any]] | Sequence[Sequence[Any]] | None = None,
    repeat: bool = True,
) -> xr.Dataset:
    """Run every arm at every budget for every seed, plus one baseline run per seed.

    Parameters
    ----------
    scenario
        Keyword arguments of ``CityModel`` shared by every run (``scale``, ``start``, ``end``,
        ``world_seed``, ``districts``, ``params``, ``processes``); not ``seed`` nor
        ``interventions``.
    arms
        Policy name -> ``make_interventions(budget, seed)`` returning a list of
        ``Intervention`` objects. It is called once per (budget, seed) in this process, before
        any run; the objects are copied into each run.
    budgets
        Budgets passed to every arm (their unit is the arms' business: households, yuan...).
    seeds
        Run seeds; the baseline and every arm × budget run with each (common random numbers).
    baseline
        Name of the policy without interventions (the reactive city, 接诉即办).
    backend
        ``"serial"``, ``"joblib"`` (``n_jobs`` processes) or ``"dask"`` (``dask.distributed``).
        All give identical results.
    n_jobs
        Processes for joblib, or workers of the dask ``LocalCluster`` (-1: all cores).
    scheduler
        Dask only: None starts a ``LocalCluster`` of ``n_jobs`` single-threaded worker
        processes; a scheduler address (``"tcp://host:8786"``) or a ``distributed.Client``
        uses that cluster (with a store, every worker must see the store directory).
    store
        Directory: each finished run is written there (``store.write_run``) with a manifest;
        a restarted sweep skips finished runs; ``collect(store)`` gives the same Dataset.
    outputs
        Variables of each run to keep (``simulate``'s Dataset), to bound memory.
    sum_over
        Dims to sum each kept variable over (e.g. ``("district",)``), to bound memory.
    model_class
        ``CityModel`` or another class ``simulate`` accepts.
    seasons
        Evaluation seasons, in order: a mapping name -> ``(first, last)`` day or a list of
        ``(first, last)`` (named ``season_1``, ...); the scenario must run from before the
        first (a burn-in gives the history) to the last one's end. Each day gets a ``season``
        label (``predgov.sim.experiment.seasons``: the cycle of preparation and season,
        ``burn_in``, ``off_season``) and ``compare`` reports effects per season.
    repeat
        With several seasons, repeat each arm's interventions before every later season
        (dates shifted by the distance between the seasons' first days, the same budget each
        season, decided again on the history so far). False: the arms give every season's
        interventions themselves.

    Returns
    -------
    xr.Dataset
        The ``outputs`` with dims (policy, budget, seed, time, ...): ``policy`` lists the
        baseline first, then the arms; the baseline's one run per seed is repeated along
        ``budget``. Attributes: ``baseline``, ``scenario`` (JSON); with ``seasons`` also the
        ``season`` coordinate along ``time`` and the ``seasons`` attribute (JSON).

    Examples
    --------
    >>> from predgov.sim import PipeFlushing
    >>> def flush(budget, seed):
    ...     return [PipeFlushing(range(int(budget)), start="2025-11-01", end="2025-11-01",
    ...                          capacity_per_day=1000)]
    >>> ds = run_experiment({"scale": 0.001, "start": "2025-11-01", "end": "2025-11-20"},
    ...                     {"flush": flush}, budgets=[1, 3], seeds=[0, 1])
    >>> ds["calls"].dims[:4], ds["policy"].values.tolist()
    (('policy', 'budget', 'seed', 'time'), ['reactive', 'flush'])
    """
    scenario = _check_scenario(scenario)
    check_name(baseline, "baseline")
    if not arms:
        raise ValueError("give at least one arm: {name: make_interventions(budget, seed)}")
    for name, make in arms.items():
        check_name(name)
        if name == baseline:
            raise ValueError(f"arm {name!r} has the baseline's name; rename one of them")
        if not callable(make):
            raise TypeError(f"arm {name!r}: need make_interventions(budget, seed), "
                            f"got {type(make).__name__}")  # fmt: skip
    budgets = _unique([float(b) for b in budgets], "budgets")
    if any(not math.isfinite(b) for b in budgets):
        raise ValueError(f"budgets must be finite numbers, got {budgets}")
    seeds = _unique([int(s) for s in seeds], "seeds")
    if any(s < 0 for s in seeds):
        raise ValueError(f"seeds must be >= 0, got {seeds}")
    if backend not in BACKENDS:
        raise ValueError(f"backend {backend!r}: choose from {list(BACKENDS)}")
    if n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive count or -1 (all cores), got {n_jobs}")
    outputs = tuple(outputs)
    if not outputs:
        raise ValueError("outputs: name at least one variable to keep")
    sum_over = tuple(sum_over)
    table = None
    if seasons is not None:
        table = ssn.season_table(seasons)
        if "time" in sum_over:
            raise ValueError("sum_over: 'time' cannot be summed when seasons label the days")
        _check_horizon(scenario, model_class, table)

    described = json.dumps(scenario, sort_keys=True, default=repr, ensure_ascii=False)
    base_key = joblib.hash((FORMAT, scenario, f"{model_class.__module__}.{model_class.__name__}",
                            outputs, sum_over))  # fmt: skip
    jobs = [_job(base_key, baseline, None, s, ()) for s in seeds]
    for name, make in arms.items():
        for b in budgets:
            for s in seeds:
                jobs.append(_job(base_key, name, b, s, _interventions(name, make, b, s)))
    if table is not None:
        run_start = _horizon(scenario, model_class)[0]
        firsts = [ssn.earliest_start(j.interventions, run_start) for j in jobs[len(seeds):]]
        table = ssn.with_cycles(table, min(firsts) if firsts else None)
        if repeat and len(table) > 1:
            jobs = jobs[:len(seeds)] + [
                _job(base_key, j.policy, j.budget, j.seed,
                     ssn.repeat_for_seasons(j.interventions, table))
                for j in jobs[len(seeds):]]  # fmt: skip

    root = None if store is None else Path(store)
    if root is not None:
        spec = {"baseline": baseline, "scenario": described, "scenario_key": base_key,
                "outputs": list(outputs), "sum_over": list(sum_over), "arms": list(arms),
                "budgets": budgets, "seeds": seeds,
                "seasons": None if table is None else ssn.dumps(table)}  # fmt: skip
        update_manifest(root, spec, jobs)
        todo = [j for j in jobs if not finished(root, j)]
    else:
        todo = jobs
    task = _Task(scenario, model_class, outputs, sum_over, root)
    results = _map(task, todo, backend, n_jobs, scheduler)
    if root is None:
        done = {(j.policy, j.budget, j.seed): ds for j, ds in zip(todo, results, strict=True)}
    else:
        done = {(j.policy, j.budget, j.seed): read_run(root, j) for j in jobs}

    def get(p: str, b: float, s: int) -> xr.Dataset:
        return done[p, None if p == baseline else b, s]

    ds = assemble(get, [baseline, *arms], budgets, seeds, experiment_attrs(baseline, described))
    return ds if table is None else ssn.label_seasons(ds, table)


def _horizon(scenario: Mapping[str, Any], model_class: type[Any]
             ) -> tuple[pd.Timestamp, pd.Timestamp]:  # fmt: skip
    """First and last day of the runs (the scenario's, else the model's defaults)."""
    params = inspect.signature(model_class.__init__).parameters
    days = []
    for key in ("start", "end"):
        value = scenario.get(key, params[key].default if key in params else None)
        if value is None or value is inspect.Parameter.empty:
            raise ValueError(f"seasons need the scenario's {key!r} day")
        days.append(pd.Timestamp(value).normalize())
    return days[0], days[1]


def _check_horizon(scenario: Mapping[str, Any], model_class: type[Any],
                   table: list[ssn.Season]) -> None:  # fmt: skip
    start, end = _horizon(scenario, model_class)
    if table[0].first < start or table[-1].last > end:
        raise ValueError(f"seasons run {table[0].first.date()}..{table[-1].last.date()}, "
                         f"outside the scenario's days {start.date()}..{end.date()}")


def _check_scenario(scenario: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(scenario, Mapping):
        raise TypeError(f"scenario must be a mapping of CityModel arguments, "
                        f"not {type(scenario).__name__}")  # fmt: skip
    bad = [k for k in ("seed", "interventions") if k in scenario]
    if bad:
        raise ValueError(f"scenario must not set {bad}: seeds and arms give them")
    return dict(scenario)


def _unique(values: list, what: str) -> list:
    if not values:
        raise ValueError(f"{what}: give at least one")
    if len(set(values)) < len(values):
        raise ValueError(f"{what} repeat a value: {values}")
    return values


def _interventions(name: str, make: Arm, budget: float, seed: int) -> tuple[Intervention, ...]:
    ivs = make(budget, seed)
    if isinstance(ivs, Intervention) or not isinstance(ivs, Sequence):
        raise TypeError(f"arm {name!r} must return a list of Intervention objects, "
                        f"got {type(ivs).__name__}")  # fmt: skip
    bad = [type(iv).__name__ for iv in ivs if not isinstance(iv, Intervention)]
    if bad:
        raise TypeError(f"arm {name!r} returned non-interventions {bad}")
    return tuple(ivs)


def _job(base_key: str, policy: str, budget: float | None, seed: int,
         interventions: tuple[Intervention, ...]) -> Job:  # fmt: skip
    key = joblib.hash((base_key, seed, interventions))
    return Job(policy, budget, seed, interventions, key)


class _Task:
    """One run: ``simulate``, keep ``outputs``, sum ``sum_over``, write to the store."""

    def __init__(self, scenario: dict[str, Any], model_class: type[Any],
                 outputs: tuple[str, ...], sum_over: tuple[str, ...],
                 store: Path | None) -> None:  # fmt: skip
        self.scenario = scenario
        self.model_class = model_class
        self.outputs = outputs
        self.sum_over = sum_over
        self.store = store

    def __call__(self, job: Job) -> xr.Dataset | None:
        ds = simulate(self.model_class, seed=job.seed, interventions=list(job.interventions),
                      **self.scenario)  # fmt: skip
        ds = reduce_run(ds, self.outputs, self.sum_over)
        if self.store is None:
            return ds
        write_run(self.store, job, ds)
        return None


def reduce_run(ds: xr.Dataset, outputs: Sequence[str], sum_over: Sequence[str]) -> xr.Dataset:
    """Keep ``outputs`` of one run and sum them over ``sum_over`` (variables without such a
    dim are kept as they are); run attributes other than the seeds and scale are dropped.

    Examples
    --------
    >>> from predgov.sim import simulate
    >>> ds = simulate(scale=0.001, start="2025-11-15", end="2025-11-16")
    >>> reduce_run(ds, ["calls"], ["district"])["calls"].dims
    ('time', 'category')
    """
    bad = [v for v in outputs if v not in ds.data_vars]
    if bad:
        raise ValueError(f"outputs: the runs have no variables {bad}; "
                         f"choose from {sorted(map(str, ds.data_vars))}")  # fmt: skip
    out = ds[list(outputs)]
    dims = set(out.dims)
    unknown = [d for d in sum_over if d not in dims]
    if unknown:
        raise ValueError(f"sum_over: the outputs have no dims {unknown}; they have "
                         f"{sorted(map(str, dims))}")  # fmt: skip
    if sum_over:
        out = out.map(lambda v: v.sum([d for d in sum_over if d in v.dims], keep_attrs=True)
                      if any(d in v.dims for d in sum_over) else v)  # fmt: skip
    out.attrs = {k: ds.attrs[k] for k in ("seed", "world_seed", "scale") if k in ds.attrs}
    return out


def _map(task: _Task, jobs: list[Job], backend: str, n_jobs: int, scheduler: Any) -> list:
    if not jobs:
        return []
    if backend == "serial" or (backend == "joblib" and (n_jobs == 1 or len(jobs) == 1)):
        return [task(j) for j in jobs]
    if backend == "joblib":
        from joblib import Parallel, delayed

        return list(Parallel(n_jobs=n_jobs)(delayed(task)(j) for j in jobs))
    return _dask_map(task, jobs, n_jobs, scheduler)


def _dask_map(task: _Task, jobs: list[Job], n_jobs: int, scheduler: Any) -> list:
    keys = [f"predgov-run-{j.policy}-{j.budget}-{j.seed}-{j.key}" for j in jobs]
    return dask_map(task, jobs, scheduler=scheduler, n_workers=n_jobs, keys=keys)
