"""Experiment store: one netCDF file per finished run, a manifest, and the collector.

A store is a directory::

    manifest.json            the experiment: baseline, scenario, outputs, policies, budgets,
                             seeds and every job (file name -> policy, budget, seed, key)
    runs/<policy>__budget=<b>__seed=<s>.nc
                             one finished run (``write_cube``: netCDF-4, compressed), written
                             to a temporary name and renamed, so a file present is complete

A job's ``key`` is a hash of everything its output depends on (scenario, seed, the
interventions' state, outputs, model class); the file carries it in ``attrs["job_key"]``. A
restarted sweep skips the jobs whose file is present with the same key. The shared baseline run
of a seed has no budget (``budget=shared`` in the file name, NaN in ``attrs["budget"]``).

``collect`` merges a store, or the job directories of a Hydra multirun (``<job>/sim/sim.nc``
or ``<job>/sim/experiment.nc`` of the pipeline's sim stage, finished jobs only:
``<job>/COMPLETE``), into the Dataset that
``run_experiment`` returns: dims (policy, budget, seed, time, ...).
"""

from __future__ import annotations

import json
import math
import os
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from predgov.data.cube import read_cube, write_cube

#: Format tag of the manifest and of each run file.
FORMAT = "predgov-experiment-store/1"
MANIFEST = "manifest.json"
RUNS = "runs"
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
#: Attributes of a run file that label it (removed when runs are merged).
RUN_ATTRS = ("store_format", "policy", "budget", "seed", "job_key")
#: Coordinates drawn from the run seed (the weather): always along ``seed``, even for one seed.
SEED_COORDS = ("temperature",)


@dataclass(frozen=True)
class Job:
    """One run of an experiment: ``policy`` at ``budget`` (None: the shared baseline) and
    ``seed``, with the interventions it runs and the key of its output.

    Examples
    --------
    >>> Job("reactive", None, 3).filename
    'reactive__budget=shared__seed=3.nc'
    >>> Job("random", 0.2, 3).filename
    'random__budget=0.2__seed=3.nc'
    """

    policy: str
    budget: float | None
    seed: int
    interventions: tuple = field(default=(), compare=False, repr=False)
    key: str = ""

    @property
    def filename(self) -> str:
        budget = "shared" if self.budget is None else repr(float(self.budget))
        return f"{self.policy}__budget={budget}__seed={self.seed}.nc"

    def manifest_entry(self) -> dict[str, Any]:
        return {"policy": self.policy, "budget": self.budget, "seed": self.seed, "key": self.key}


def check_name(name: str, what: str = "policy") -> str:
    """A policy name usable in file names: letters, digits, ``_ . -``.

    Examples
    --------
    >>> check_name("history_hotspot")
    'history_hotspot'
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"{what} name {name!r}: use letters, digits, '_', '.' or '-' only")
    return name


def write_run(store: Path, job: Job, ds: xr.Dataset) -> Path:
    """Write one finished run atomically (temporary file + rename) and return its path."""
    path = Path(store) / RUNS / job.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    ds = ds.copy()
    ds.attrs = {**ds.attrs, "store_format": FORMAT, "policy": job.policy,
                "budget": math.nan if job.budget is None else float(job.budget),
                "seed": int(job.seed), "job_key": job.key}  # fmt: skip
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write_cube(ds, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def finished(store: Path, job: Job) -> bool:
    """Whether ``store`` holds ``job`` finished (its file, with the same key).

    A file of the same name with another key is a run of a different experiment: an error,
    never silently reused or overwritten.
    """
    path = Path(store) / RUNS / job.filename
    if not path.exists():
        return False
    with xr.open_dataset(path, engine="netcdf4") as ds:
        key = ds.attrs.get("job_key")
    if key != job.key:
        raise ValueError(
            f"store {store}: {RUNS}/{job.filename} was written by a different experiment "
            f"(job key {key!r}, expected {job.key!r}); use a new store directory or delete it")
    return True


def read_run(store: Path, job: Job) -> xr.Dataset:
    """A finished run of ``store`` (fully loaded, file closed), without its store labels."""
    ds = read_cube(Path(store) / RUNS / job.filename)
    ds.attrs = {k: v for k, v in ds.attrs.items() if k not in RUN_ATTRS}
    return _plain_strings(ds)


def _plain_strings(ds: xr.Dataset) -> xr.Dataset:
    """netCDF gives strings back as object arrays: make them fixed-width ``str`` again."""
    fix = {k: v.astype(str) for k, v in ds.variables.items() if v.dtype == object}
    return ds.assign_coords({k: v for k, v in fix.items() if k in ds.coords}).assign(
        {k: v for k, v in fix.items() if k in ds.data_vars})


def update_manifest(store: Path, spec: Mapping[str, Any], jobs: Sequence[Job]) -> dict:
    """Create or extend ``store/manifest.json`` with ``spec`` (baseline, scenario, outputs...)
    and ``jobs``; policies, budgets and seeds keep their first-seen order.

    A store written for another scenario, baseline or outputs is refused (one clear error).
    """
    store = Path(store)
    store.mkdir(parents=True, exist_ok=True)
    path = store / MANIFEST
    entries = {j.filename: j.manifest_entry() for j in jobs}
    lists = {"policies": [spec["baseline"], *spec["arms"]], "budgets": list(spec["budgets"]),
             "seeds": list(spec["seeds"])}  # fmt: skip
    fixed = {k: v for k, v in spec.items() if k not in ("arms", "budgets", "seeds")}
    if path.exists():
        old = json.loads(path.read_text(encoding="utf-8"))
        if old.get("format") != FORMAT:
            raise ValueError(f"{path}: not a predgov experiment store (format "
                             f"{old.get('format')!r}, expected {FORMAT!r})")  # fmt: skip
        for k, v in fixed.items():
            if old.get(k) != v:
                raise ValueError(f"store {store} holds another experiment ({k} differs: "
                                 f"{old.get(k)!r} != {v!r}); use a new store directory")
        for name, entry in entries.items():
            prev = old["jobs"].get(name)
            if prev is not None and prev["key"] != entry["key"]:
                raise ValueError(
                    f"store {store}: job {name} was run with other interventions "
                    f"(key {prev['key']} != {entry['key']}); use a new store directory")
        for k, v in lists.items():
            lists[k] = old[k] + [x for x in v if x not in old[k]]
        entries = {**old["jobs"], **entries}
    manifest = {"format": FORMAT, **fixed, **lists, "jobs": entries}
    tmp = path.with_name(f".{MANIFEST}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
    return manifest


# --------------------------------------------------------------------------------- assembly
def assemble(
    get: Callable[[str, float, int], xr.Dataset | None],
    policies: Sequence[str],
    budgets: Sequence[float],
    seeds: Sequence[int],
    attrs: Mapping[str, Any],
    *,
    drop_incomplete: bool = False,
) -> xr.Dataset:
    """Stack runs into dims (policy, budget, seed, ...); ``get(policy, budget, seed)`` gives a
    run or None when it is missing (an error naming the missing runs, or with
    ``drop_incomplete`` the seeds with a missing run are left out, with a warning)."""
    runs = {(p, b, s): get(p, b, s) for p in policies for b in budgets for s in seeds}
    missing = [k for k, v in runs.items() if v is None]
    if missing:
        if not drop_incomplete:
            shown = ", ".join(f"{p}/budget={b}/seed={s}" for p, b, s in missing[:3])
            raise ValueError(f"{len(missing)} of {len(runs)} runs are missing ({shown}"
                             f"{', ...' if len(missing) > 3 else ''}); finish the sweep or "
                             "pass drop_incomplete=True")  # fmt: skip
        bad = {s for _, _, s in missing}
        seeds = [s for s in seeds if s not in bad]
        if not seeds:
            raise ValueError(f"no seed has all {len(policies) * len(budgets)} runs")
        warnings.warn(f"left out seeds {sorted(bad)}: {len(missing)} runs missing",
                      UserWarning, stacklevel=3)  # fmt: skip
    nested = [[[_bare(runs[p, b, s]) for s in seeds] for b in budgets] for p in policies]
    ds = xr.combine_nested(nested, concat_dim=["policy", "budget", "seed"], data_vars="all",
                           coords="different", compat="equals", join="outer", fill_value=0,
                           combine_attrs="override")  # fmt: skip
    ds = ds.assign_coords(
        policy=("policy", np.array(policies, dtype=str)),
        budget=("budget", np.array(budgets, dtype=np.float64)),
        seed=("seed", np.array(seeds, dtype=np.int64)),
    )
    for name in SEED_COORDS:
        if name in ds.coords and "seed" not in ds[name].dims:
            ds = ds.assign_coords({name: ds[name].expand_dims(seed=ds["seed"].values)})
    ds = ds.transpose("policy", "budget", "seed", ...)
    ds.attrs = dict(attrs)
    return ds


def _bare(ds: xr.Dataset) -> xr.Dataset:
    ds = ds.copy()
    ds.attrs = {}
    return ds


# ---------------------------------------------------------------------------------- collect
def collect(
    store: str | os.PathLike,
    *,
    baseline: str = "reactive",
    outputs: Sequence[str] | None = None,
    drop_incomplete: bool = False,
) -> xr.Dataset:
    """Merge a store directory, or a Hydra multirun directory, into one experiment Dataset.

    Parameters
    ----------
    store
        A directory written by ``run_experiment(..., store=...)`` (with ``manifest.json``), or
        a Hydra multirun directory whose jobs hold ``<job>/sim/sim.nc`` or
        ``<job>/sim/experiment.nc`` (every run of that file: policy × budget × seed; the
        baseline runs of different jobs must be identical and count once). A multirun job counts
        once it has finished (``<job>/COMPLETE``); its labels come from the file's attributes
        ``policy``, ``budget`` and ``seed`` when present, else from ``<job>/.hydra/config.yaml``
        (``policy.name``, ``policy.budget``; the seed from ``sim.nc``: its ``seed`` dim or
        attribute). A run without a budget is shared by every budget (a baseline).
    baseline
        Name of the policy without interventions, listed first (multirun only; a store names
        its own baseline).
    outputs
        Variables to keep (default all).
    drop_incomplete
        Leave out seeds with missing runs (with a warning) instead of raising.

    Returns
    -------
    xr.Dataset
        Dims (policy, budget, seed, time, ...), as ``run_experiment`` returns.

    Examples
    --------
    >>> import tempfile
    >>> from predgov.sim import NullIntervention
    >>> from predgov.sim.experiment import run_experiment
    >>> d = tempfile.mkdtemp()
    >>> ds = run_experiment({"scale": 0.001, "start": "2025-11-15", "end": "2025-11-16"},
    ...                     {"null": lambda b, s: [NullIntervention()]}, [1.0], [0], store=d)
    >>> xr.testing.assert_identical(collect(d), ds)
    """
    root = Path(store)
    if not root.is_dir():
        raise ValueError(f"store {root} is not a directory")
    if (root / MANIFEST).exists():
        return _collect_store(root, outputs, drop_incomplete)
    return _collect_multirun(root, baseline, outputs, drop_incomplete)


def _select(ds: xr.Dataset, outputs: Sequence[str] | None, where: str) -> xr.Dataset:
    if outputs is None:
        return ds
    bad = [v for v in outputs if v not in ds.data_vars]
    if bad:
        raise ValueError(f"{where}: no variables {bad}; it has {sorted(map(str, ds.data_vars))}")
    return ds[list(outputs)]


def _collect_store(root: Path, outputs: Sequence[str] | None, drop: bool) -> xr.Dataset:
    manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{root / MANIFEST}: not a predgov experiment store")
    jobs = {}
    for entry in manifest["jobs"].values():
        job = Job(entry["policy"], entry["budget"], int(entry["seed"]), key=entry["key"])
        jobs[job.policy, job.budget, job.seed] = job
    baseline = manifest["baseline"]

    def get(p: str, b: float, s: int) -> xr.Dataset | None:
        job = jobs.get((p, None if p == baseline else b, s))
        if job is None or not finished(root, job):
            return None
        return _select(read_run(root, job), outputs, f"{root / RUNS / job.filename}")

    ds = assemble(get, manifest["policies"], manifest["budgets"], manifest["seeds"],
                  experiment_attrs(baseline, manifest["scenario"]), drop_incomplete=drop)
    if manifest.get("seasons"):
        from predgov.sim.experiment.seasons import label_seasons, loads

        ds = label_seasons(ds, loads(manifest["seasons"]))
    return ds


def experiment_attrs(baseline: str, scenario: str) -> dict[str, Any]:
    """Attributes of an experiment Dataset."""
    return {
        "title": "predgov policy experiment: paired runs per seed (common random numbers)",
        "note": "Simulated data, not real Qingdao 12345 records.",
        "baseline": baseline,
        "scenario": scenario,
        "budget_note": f"the {baseline!r} runs have no interventions: one run per seed, "
                       "repeated along budget",
    }  # fmt: skip


def _job_labels(job_dir: Path, ds: xr.Dataset) -> tuple[str, float | None]:
    policy, budget = ds.attrs.get("policy"), ds.attrs.get("budget")
    if policy is None:
        cfg_path = job_dir / ".hydra" / "config.yaml"
        if not cfg_path.exists():
            raise ValueError(f"{job_dir}: sim.nc has no 'policy' attribute and there is no "
                             ".hydra/config.yaml to read it from")  # fmt: skip
        from omegaconf import OmegaConf

        cfg = OmegaConf.to_container(OmegaConf.load(cfg_path), resolve=False)
        pol = cfg.get("policy") or {}
        policy = pol.get("name")
        budget = pol.get("budget")
        if policy is None:
            raise ValueError(f"{cfg_path}: no policy.name")
    if budget is None or (isinstance(budget, float) and math.isnan(budget)):
        return str(policy), None
    return str(policy), float(budget)


def _collect_multirun(root: Path, baseline: str, outputs: Sequence[str] | None,
                      drop: bool) -> xr.Dataset:  # fmt: skip
    files = sorted([*root.glob("*/sim/sim.nc"), *root.glob("*/sim/experiment.nc")],
                   key=lambda p: (_natural(p.parent.parent.name), p.name))  # fmt: skip
    if not files:
        raise ValueError(f"{root}: neither an experiment store ({MANIFEST}) nor a Hydra "
                         "multirun directory (<job>/sim/sim.nc or experiment.nc)")  # fmt: skip
    runs: dict[tuple[str, float | None, int], xr.Dataset] = {}
    unfinished = []
    for path in files:
        job_dir = path.parent.parent
        if not (job_dir / "COMPLETE").exists():
            unfinished.append(job_dir.name)
            continue
        if path.name == "experiment.nc":
            _add_experiment(runs, path, baseline, outputs)
            continue
        ds = _plain_strings(read_cube(path))
        policy, budget = _job_labels(job_dir, ds)
        seed_attr = ds.attrs.get("seed")
        ds.attrs = {}
        ds = _select(ds, outputs, str(path))
        parts = ([(int(s), ds.sel(seed=s, drop=True)) for s in ds["seed"].values]
                 if "seed" in ds.dims else [(_seed_of(path, seed_attr), ds)])  # fmt: skip
        for seed, run in parts:
            key = (policy, budget, seed)
            if key in runs:
                raise ValueError(f"{path}: a second run of policy={policy} budget={budget} "
                                 f"seed={seed}")  # fmt: skip
            runs[key] = run
    if unfinished:
        unfinished = list(dict.fromkeys(unfinished))
        warnings.warn(f"{root}: jobs {unfinished} have not finished (no COMPLETE); left out",
                      UserWarning, stacklevel=3)  # fmt: skip
    if not runs:
        raise ValueError(f"{root}: no finished job")
    policies = sorted({p for p, _, _ in runs}, key=lambda p: (p != baseline, p))
    budgets = sorted({b for _, b, _ in runs if b is not None})
    seeds = sorted({s for _, _, s in runs})
    unbudgeted = sorted({p for p, b, _ in runs if b is None and p != baseline})
    if budgets and unbudgeted:
        raise ValueError(f"{root}: policies {unbudgeted} have no budget while others do "
                         f"(only the baseline {baseline!r} may be shared across budgets)")
    if not budgets:
        budgets = [math.nan]

    def get(p: str, b: float, s: int) -> xr.Dataset | None:
        run = runs.get((p, None if math.isnan(b) else b, s))
        return run if run is not None else runs.get((p, None, s))

    return assemble(get, policies, budgets, seeds, experiment_attrs(baseline, ""),
                    drop_incomplete=drop)  # fmt: skip


def _add_experiment(runs: dict, path: Path, baseline: str,
                    outputs: Sequence[str] | None) -> None:  # fmt: skip
    """Add the runs of one job's ``experiment.nc`` (the pipeline's experiment stage: dims
    policy, budget, seed, ...) to ``runs``; the baseline, which every job of a sweep over
    policies runs too, must be the same run in every job."""
    ds = _select(_plain_strings(read_cube(path)), outputs, str(path))
    ds.attrs = {}
    for p in ds["policy"].values.astype(str):
        for b in ds["budget"].values.astype(float):
            for s in ds["seed"].values.astype(int):
                run = ds.sel(policy=p, budget=b, seed=s, drop=True)
                key = (str(p), None if p == baseline else float(b), int(s))
                if key in runs:
                    if p == baseline and runs[key].identical(run):
                        continue
                    what = ("its baseline differs from another job's (not the same scenario)"
                            if p == baseline else "a second run of the same policy")
                    raise ValueError(f"{path}: policy={p} budget={b:g} seed={s}: {what}")
                runs[key] = run


def _seed_of(path: Path, seed: Any) -> int:
    if seed is None:
        raise ValueError(f"{path}: no 'seed' dim or attribute")
    return int(seed)


def _natural(name: str) -> tuple[int, str]:
    """Hydra job directories 0, 1, ..., 10 in numeric order."""
    return (int(name), "") if name.isdigit() else (1 << 30, name)

