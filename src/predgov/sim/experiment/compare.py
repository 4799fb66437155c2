"""Paired effects of an experiment: per-seed differences of window totals, then summaries.

For each seed, an arm's run and the baseline's run share every draw of the processes (common
random numbers), so ``baseline - arm`` of a seed's total is that seed's effect. Totals are
taken first (sum over the window's days and every cell), then differenced per seed, then
summarised over seeds: the median and the 10-90 % band of the per-seed differences, and the
mean with a percentile-bootstrap confidence interval. A sum of per-cell medians is not the
median of the sum, so totals are never built from per-cell summaries.

Bootstrap: ``n_boot`` resamples of the seeds with replacement (``numpy.random.default_rng(
boot_seed)``; the same resamples for every policy, budget and effect, so the intervals of a
ratio and of its parts agree); the interval is the ``(1 - ci) / 2`` and ``(1 + ci) / 2``
quantiles of the resampled means (percentile bootstrap). With few seeds (say < 10) it is too
narrow; it says how precisely the mean of *these* paired runs is known, not model uncertainty.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from predgov.sim.experiment.seasons import season_names

#: Effects that count what did not happen: ``baseline - arm`` of the variable's total.
AVERTED = {"calls_averted": "calls", "problems_averted": "problems",
           "repeat_calls_averted": "repeat_calls"}  # fmt: skip
_KEEP = ("policy", "budget", "seed")


def totals(
    ds: xr.Dataset,
    *,
    window: tuple[Any, Any] | slice | None = None,
    by: Sequence[str] = (),
    select: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Per-run totals: each variable summed over the window's days and every dim except
    (policy, budget, seed) and ``by``.

    Parameters
    ----------
    ds
        An experiment Dataset (``run_experiment``, ``collect``).
    window
        ``(first, last)`` day, inclusive (anything ``sel`` takes on ``time``), or None for
        every day: e.g. the season after a burn-in.
    by
        Dims to keep (e.g. ``("category",)``); ``"season"`` sums each season cycle of an
        experiment run with ``seasons`` (the ``season`` labels along ``time``, in the order of
        the days, ``burn_in`` and ``off_season`` included: they add up to the whole).
    select
        Labels to keep before summing, e.g. ``{"category": ["heating"]}`` (variables without
        that dim, such as ``intervention_cost``, are kept whole).

    Examples
    --------
    >>> import pandas as pd
    >>> ds = xr.Dataset({"calls": (("seed", "time", "category"), np.ones((2, 3, 2)))},
    ...                 coords={"time": pd.date_range("2025-01-01", periods=3)})
    >>> totals(ds, window=("2025-01-02", "2025-01-03"))["calls"].values.tolist()
    [4.0, 4.0]
    """
    if select:
        missing = [d for d in select if d not in ds.dims]
        if missing:
            raise ValueError(f"select: no dims {missing} in the experiment (dims "
                             f"{sorted(map(str, ds.dims))})")  # fmt: skip
        ds = ds.sel(dict(select))
    if window is not None:
        if "time" not in ds.dims:
            raise ValueError("window needs a 'time' dim; the experiment has none (sum_over?)")
        sl = window if isinstance(window, slice) else slice(*window)
        n_days = ds.sizes["time"]
        ds = ds.sel(time=sl)
        if ds.sizes["time"] == 0:
            raise ValueError(f"window {window} holds none of the experiment's {n_days} days")
    seasonal = "season" in by and "season" not in ds.dims
    if seasonal and ("season" not in ds.coords or ds["season"].dims != ("time",)):
        raise ValueError("by: 'season' needs the experiment's season labels along time "
                         "(run_experiment(..., seasons=...))")  # fmt: skip
    bad = [d for d in by if d not in ds.dims and not (d == "season" and seasonal)]
    if bad:
        raise ValueError(f"by: no dims {bad} in the experiment (dims {sorted(map(str, ds.dims))})")
    keep = (*_KEEP, *by)

    def total(part: xr.Dataset) -> xr.Dataset:
        out = part.map(lambda v: v.sum([d for d in v.dims if d not in keep], keep_attrs=True))
        return out.drop_vars([c for c in out.coords if c not in out.dims])

    if not seasonal:
        return total(ds)
    labels = ds["season"].values.astype(str)
    names = list(dict.fromkeys(labels.tolist()))  # in the order of the days
    parts = [total(ds.isel(time=np.flatnonzero(labels == n))) for n in names]
    out = xr.concat(parts, dim=pd.Index(names, name="season"), combine_attrs="override")
    return out.transpose(*[d for d in keep if d in out.dims], ...)


def paired(
    ds: xr.Dataset,
    baseline: str = "reactive",
    *,
    window: tuple[Any, Any] | slice | None = None,
    by: Sequence[str] = (),
    select: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Per-seed paired effects of every arm (policy other than ``baseline``), from totals.

    ``calls_averted``, ``problems_averted``, ``repeat_calls_averted`` = baseline total -
    arm total over the window; ``cost`` = arm - baseline ``intervention_cost`` from the first
    day to the window's end (preparation before the window counts; with ``"season"`` in
    ``by``, what was spent in each season cycle inside the window); ``satisfaction_change`` =
    the arm's satisfied / rated over the window minus the baseline's. Each effect whose
    variables the experiment kept; dims (policy, budget, seed, *by).

    Examples
    --------
    >>> ds = xr.Dataset({"calls": (("policy", "budget", "seed", "time"),
    ...                            [[[[5, 5], [6, 6]]], [[[4, 5], [2, 6]]]])},
    ...                 coords={"policy": ["reactive", "flush"], "budget": [1.0]})
    >>> paired(ds)["calls_averted"].values.tolist()
    [[[1, 4]]]
    """
    _check(ds, baseline)
    tot = totals(ds, window=window, by=by, select=select)
    base = tot.sel(policy=baseline, drop=True)
    arm = tot.drop_sel(policy=baseline)
    out = xr.Dataset()
    for name, var in AVERTED.items():
        if var in tot:
            out[name] = (base[var] - arm[var]).assign_attrs(
                long_name=f"{var} averted: baseline minus arm, per seed", units=_units(ds, var))
    cost_var = next((v for v in ("intervention_cost_total", "intervention_cost") if v in ds),
                    None)
    if cost_var is not None:
        # what was spent for the window's effects: from the first day to the window's end
        # (pre-season work happens before the season it is judged on)
        spent = ds[[cost_var]]
        if window is not None:
            last = window.stop if isinstance(window, slice) else window[1]
            spent = spent.sel(time=slice(None, last))
            if "season" in by:  # per season: what was spent in its cycle (preparation)
                spent = spent.sel(time=slice(window.start if isinstance(window, slice)
                                             else window[0], None))  # fmt: skip
        spent = totals(spent, by=[d for d in by if d in spent.dims or d == "season"],
                       select=None)[cost_var]
        cost = spent.drop_sel(policy=baseline) - spent.sel(policy=baseline, drop=True)
        out["cost"] = cost.assign_attrs(
            long_name="intervention cost of the arm (minus the baseline's) from the first "
                      "day to the end of the window",
            units=_units(ds, cost_var))  # fmt: skip
    if "satisfied" in tot and "rated" in tot:
        with np.errstate(invalid="ignore", divide="ignore"):
            change = (arm["satisfied"] / arm["rated"]) - (base["satisfied"] / base["rated"])
        if bool(change.isnull().any()):
            warnings.warn(f"satisfaction_change is NaN for {int(change.isnull().sum())} runs: "
                          "no ticket rated in the window", UserWarning, stacklevel=2)  # fmt: skip
        out["satisfaction_change"] = change.assign_attrs(
            long_name="satisfied / rated tickets in the window: arm minus baseline", units="1")
    return out.transpose(*_KEEP, *by)


def _check(ds: xr.Dataset, baseline: str) -> None:
    missing = [d for d in _KEEP if d not in ds.dims]
    if missing:
        raise ValueError(f"an experiment Dataset needs dims {list(_KEEP)}; missing {missing}")
    if "calls" not in ds:
        raise ValueError("the experiment did not keep 'calls' (outputs=...)")
    policies = ds["policy"].values.tolist()
    if baseline not in policies:
        raise ValueError(f"baseline {baseline!r} is not a policy of the experiment {policies}")
    if len(policies) < 2:
        raise ValueError("the experiment has no arm besides the baseline")
    if ds.sizes["seed"] < 2:
        raise ValueError(f"need >= 2 seeds for bands and intervals, got {ds.sizes['seed']}")


def _units(ds: xr.Dataset, var: str) -> str:
    return str(ds[var].attrs.get("units", ""))


def resample_weights(n: int, n_boot: int, boot_seed: int) -> np.ndarray:
    """Bootstrap resamples of ``n`` seeds as weights (n_boot, n): how often each seed is
    drawn, over n, so ``values @ weights.T`` are the resampled means.

    Examples
    --------
    >>> w = resample_weights(5, 3, 0)
    >>> w.shape, bool(np.allclose(w.sum(axis=1), 1.0))
    ((3, 5), True)
    """
    rng = np.random.default_rng(boot_seed)
    draws = rng.integers(0, n, size=(n_boot, n))
    counts = np.zeros((n_boot, n))
    np.add.at(counts, (np.arange(n_boot)[:, None], draws), 1.0)
    return counts / n


def _boot(x: xr.DataArray, weights: np.ndarray) -> xr.DataArray:
    """Resampled means over ``seed`` (dim ``boot`` last)."""
    other = [d for d in x.dims if d != "seed"]
    arr = x.transpose(*other, "seed").values.astype(np.float64) @ weights.T
    return xr.DataArray(arr, dims=[*other, "boot"], coords={d: x[d] for d in other})


def crn_ratio(arm: xr.DataArray, base: xr.DataArray) -> xr.DataArray:
    """Seeds an unpaired design needs per seed of the paired one for the same standard error
    of the mean effect: ``(var(arm) + var(base)) / var(arm - base)`` over ``seed``.

    Independent runs of arm and baseline give the variance of a difference of means
    ``(var(arm) + var(base)) / n``; paired runs ``var(arm - base) / n``. Inf where the paired
    difference does not vary (a null arm); NaN where nothing varies.

    Examples
    --------
    >>> base = xr.DataArray([10.0, 20.0, 30.0], dims="seed")
    >>> float(crn_ratio(base - [1, 2, 3], base))
    181.0
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (arm.var("seed", ddof=1) + base.var("seed", ddof=1)) / (arm - base).var(
            "seed", ddof=1)
    return out.assign_attrs(long_name="seeds an unpaired design needs per paired seed "
                            "(same standard error of the effect)", units="1")  # fmt: skip


def compare(
    ds: xr.Dataset,
    baseline: str = "reactive",
    *,
    window: tuple[Any, Any] | slice | None = None,
    by: Sequence[str] = (),
    select: Mapping[str, Any] | None = None,
    band: tuple[float, float] = (0.1, 0.9),
    ci: float = 0.95,
    n_boot: int = 2000,
    boot_seed: int = 0,
    per_season: bool | None = None,
) -> xr.Dataset:
    """Paired effects of every arm against ``baseline``, per seed and summarised.

    Parameters
    ----------
    ds
        An experiment Dataset (``run_experiment``, ``collect``) with dims (policy, budget,
        seed, ...) and at least ``calls``.
    baseline
        The policy without interventions.
    window, by, select
        Days, kept dims and selected labels of the totals (see ``totals``).
    band
        Quantiles of the per-seed differences (default the 10-90 % band).
    ci
        Level of the bootstrap interval of the mean.
    n_boot, boot_seed
        Bootstrap resamples and the seed of their generator (same seed, same interval).
    per_season
        Effects per evaluation season (a ``season`` dim: the cycles of ``run_experiment(...,
        seasons=...)``, each with the cost of its own preparation); None: when the
        experiment has seasons.

    Returns
    -------
    xr.Dataset
        Arms only on ``policy``. Per effect ``E`` (``calls_averted``, ``problems_averted``,
        ``repeat_calls_averted``, ``cost``, ``satisfaction_change``; those the experiment kept
        the variables of): ``E`` per seed (policy, budget, seed, *by), and over seeds
        ``E_median``, ``E_lo``, ``E_hi`` (band), ``E_mean``, ``E_ci_lo``, ``E_ci_hi``.
        ``cost_per_averted_call`` = mean cost / mean calls averted (a ratio of means; NaN
        where the mean averted is <= 0) with ``_ci_lo``/``_ci_hi`` (NaN where a resample
        averts <= 0). ``crn_ratio``: for calls, the seeds an unpaired design would need per
        paired seed for the same standard error.

    Examples
    --------
    >>> ds = xr.Dataset({"calls": (("policy", "budget", "seed", "time"),
    ...                            [[[[5, 5], [6, 6], [7, 7]]], [[[4, 5], [2, 6], [7, 5]]]])},
    ...                 coords={"policy": ["reactive", "flush"], "budget": [1.0]})
    >>> eff = compare(ds)
    >>> eff["calls_averted"].values.tolist(), eff["calls_averted_median"].values.tolist()
    ([[[1, 4, 2]]], [[2.0]])
    """
    if not 0 < band[0] < band[1] < 1:
        raise ValueError(f"band must be two quantiles 0 < lo < hi < 1, got {band}")
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if per_season is None:
        per_season = "season" in ds.coords and "season" not in ds.dims
    names = season_names(ds) if per_season else []
    if per_season:
        if not names:
            raise ValueError("per_season: the experiment has no seasons "
                             "(run_experiment(..., seasons=...))")  # fmt: skip
        by = (*[d for d in by if d != "season"], "season")
    eff = paired(ds, baseline, window=window, by=by, select=select)
    if per_season:
        names = [n for n in names if n in eff["season"].values]
        if not names:
            raise ValueError(f"window {window} holds no day of the seasons")
        eff = eff.sel(season=names)
    weights = resample_weights(eff.sizes["seed"], n_boot, boot_seed)
    q = [(1 - ci) / 2, (1 + ci) / 2]
    out = eff.copy()
    boots = {}
    for name in list(eff.data_vars):
        x = eff[name].astype(np.float64)
        with warnings.catch_warnings():  # all-NaN cells (nothing rated) stay NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            qs = x.quantile(list(band), dim="seed")
        out[f"{name}_median"] = x.median("seed").assign_attrs(x.attrs, cell_methods="seed: median")
        out[f"{name}_lo"] = qs.isel(quantile=0, drop=True).assign_attrs(x.attrs, cell_methods=(
            f"seed: quantile {band[0]}"))  # fmt: skip
        out[f"{name}_hi"] = qs.isel(quantile=1, drop=True).assign_attrs(x.attrs, cell_methods=(
            f"seed: quantile {band[1]}"))  # fmt: skip
        out[f"{name}_mean"] = x.mean("seed").assign_attrs(x.attrs, cell_methods="seed: mean")
        boots[name] = _boot(x, weights)
        lo, hi = np.quantile(boots[name].values, q, axis=-1)
        dims = boots[name].dims[:-1]
        out[f"{name}_ci_lo"] = (dims, lo, dict(x.attrs, cell_methods=f"seed: mean ({ci:.0%} "
                                               "percentile-bootstrap lower bound)"))
        out[f"{name}_ci_hi"] = (dims, hi, dict(x.attrs, cell_methods=f"seed: mean ({ci:.0%} "
                                               "percentile-bootstrap upper bound)"))
    if "cost" in eff and "calls_averted" in eff:
        averted = out["calls_averted_mean"]
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = (out["cost_mean"] / averted).where(averted > 0)
            rb = (boots["cost"] / boots["calls_averted"]).where(boots["calls_averted"] > 0)
        bounds = rb.quantile(q, dim="boot", skipna=False)
        attrs = {"long_name": "cost per call averted: mean cost / mean calls averted",
                 "units": f"{eff['cost'].attrs.get('units', '')} per call".strip()}
        out["cost_per_averted_call"] = ratio.assign_attrs(attrs)
        out["cost_per_averted_call_ci_lo"] = bounds.isel(quantile=0, drop=True).assign_attrs(attrs)
        out["cost_per_averted_call_ci_hi"] = bounds.isel(quantile=1, drop=True).assign_attrs(attrs)
    tot = totals(ds, window=window, by=by, select=select)["calls"]
    if per_season:
        tot = tot.sel(season=names)
    out["crn_ratio"] = crn_ratio(tot.drop_sel(policy=baseline), tot.sel(policy=baseline,
                                                                       drop=True))  # fmt: skip
    out.attrs = {
        "title": "paired effects against the baseline (common random numbers)",
        "baseline": baseline,
        "window": "all days" if window is None else str(window),
        "band": f"{band[0]:.0%}-{band[1]:.0%} of the per-seed differences",
        "ci": f"{ci:.0%} percentile bootstrap of the mean over seeds ({n_boot} resamples, "
              f"numpy default_rng({boot_seed}))",
        "seeds": int(eff.sizes["seed"]),
    }  # fmt: skip
    if per_season:
        out.attrs["seasons"] = ds.attrs.get("seasons", json.dumps(names))
    return out
