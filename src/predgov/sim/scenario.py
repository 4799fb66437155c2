"""Run scenarios: one or many seeds of ``CityModel`` -> an xarray Dataset in the cube schema.

``run_scenario`` returns ``counts(time, district, category)`` (int64 requests: every call,
first or repeat, as a hotline export counts tickets) with the cube's coordinates, and outcomes
over the same dims: ``problems`` (new latent problems, reported or not), ``calls``,
``repeat_calls``, ``reported`` (problems called in for the first time), ``resolved``
(tickets closed with the problem fixed), ``rated`` (finished tickets, each rated), ``satisfied``;
``absorbed`` (new or latent problems an intervention dealt with before anyone called: never
calls), ``unreported`` (problems that ended without ever being called in);
``satisfaction_rate(district, category)`` = satisfied / rated over the run;
``intervention_treated``, ``intervention_cost`` and ``intervention_absorbed`` (time,
intervention) (units visited, cost, problems absorbed by each intervention; the
``intervention`` coordinate holds the labels) and ``intervention_cost_total(time)``;
``merchant_calls(month, merchant)`` (calls about consumer disputes attributed to each merchant,
for 末位淘汰 and for evaluation); ``estate_calls(week, estate, category)`` (calls by each estate's
households per week, weeks starting on Monday, for targeting by history and for evaluation);
``initial_latent(district, category)`` (the latent stock the run started with) and
``latent_end(district, category)`` (cases still latent after the last day). Accounting:
``problems.sum("time") + initial_latent == absorbed + reported + unreported + latent_end``
summed over time, per cell.
``attrs["satisfaction_rate"]`` is the city-wide rate. With ``seeds`` a list, every variable
gets a leading ``seed`` dim; ``summarise`` reduces it to the
median and the 10-90 % band.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from predgov.data.taxonomy import load_districts, load_taxonomy
from predgov.sim.model import CityModel

_DIMS = ("time", "district", "category")
_LONG = {
    "counts": "hotline requests received (first and repeat calls)",
    "problems": "new problems (latent: reported or not)",
    "calls": "calls, including repeat calls",
    "repeat_calls": "repeat calls (chasing an open ticket or calling again after a failed visit)",
    "reported": "problems called in for the first time",
    "resolved": "tickets closed with the problem fixed",
    "rated": "finished tickets rated in the return visit",
    "satisfied": "finished tickets rated satisfied",
    "absorbed": "problems dealt with by an intervention before anyone called",
    "unreported": "problems that ended without ever being called in",
}
#: Outputs per (time, district, category), in the Dataset's order.
OUTPUT_VARS = ("problems", "calls", "repeat_calls", "reported", "resolved", "rated", "satisfied",
               "absorbed", "unreported")


def _kwargs(cfg: Any) -> dict[str, Any]:
    if cfg is None:
        return {}
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
        cfg = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}
    if not isinstance(cfg, Mapping):
        try:  # an OmegaConf DictConfig
            from omegaconf import OmegaConf

            cfg = OmegaConf.to_container(cfg, resolve=True)
        except Exception as err:  # pragma: no cover - a message for the caller
            msg = f"cfg must be a mapping or dataclass, not {type(cfg).__name__}"
            raise TypeError(msg) from err
    return dict(cfg)  # type: ignore[arg-type]


def simulate(model_class: type[Any] = CityModel, **kwargs: Any) -> xr.Dataset:
    """One run of ``model_class(**kwargs)`` as a Dataset (see the module docstring).

    ``model_class`` is ``CityModel`` or ``predgov.sim.reference.ReferenceCityModel`` (anything
    with their ``run`` method and output attributes).

    Examples
    --------
    >>> ds = simulate(scale=0.001, start="2025-11-15", end="2025-11-17")
    >>> ds["counts"].dims, ds["counts"].dtype.name
    (('time', 'district', 'category'), 'int64')
    """
    model = model_class(**kwargs)
    model.run()
    return to_dataset(model)


def to_dataset(model: Any) -> xr.Dataset:
    """The outputs of a finished (or partly run) model as a Dataset."""
    hh = model.households
    dnames = hh.district_names
    codes = model.categories
    taxonomy = load_taxonomy("qingdao")
    table = load_districts("qingdao")
    rec = model.record
    data: dict[str, Any] = {"counts": (_DIMS, rec["calls"].copy(), {
        "long_name": _LONG["counts"], "units": "requests"})}  # fmt: skip
    for name in OUTPUT_VARS:
        units = "problems" if name in ("problems", "reported", "absorbed",
                                       "unreported") else "requests"  # fmt: skip
        data[name] = (_DIMS, rec[name], {"long_name": _LONG[name], "units": units})
    rated = rec["rated"].sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(rated > 0, rec["satisfied"].sum(axis=0) / rated, np.nan)
    data["satisfaction_rate"] = (("district", "category"), rate, {
        "long_name": "satisfied / rated tickets over the run", "units": "1"})  # fmt: skip
    est = hh.estates
    data["estate_calls"] = (("week", "estate", "category"), model.estate_calls.copy(), {
        "long_name": "calls by households of the estate in the week", "units": "requests"})
    for name, values, long in (
        ("initial_latent", model.initial_latent, "latent problems at the start of the run"),
        ("latent_end", model.latent_open(), "latent problems after the last simulated day"),
    ):
        data[name] = (("district", "category"), values, {"long_name": long, "units": "problems"})
    data.update(_intervention_vars(model))
    world_hh = (hh.district_stop - hh.district_start).astype(np.int64)
    coords = {
        "time": ("time", model.dates.values.astype("datetime64[ns]"),
                 {"long_name": "start of the day (local time)", "freq": "D"}),
        "week": ("week", model.weeks.values.astype("datetime64[ns]"), {
            "long_name": "first day (Monday) of the week; the first and last week may be "
                         "partly outside the run"}),
        "district": ("district", np.array(dnames, dtype=str)),
        "category": ("category", np.array(codes, dtype=str)),
        **{k: (dim, np.array(v)) for k, (dim, v) in table.coords(dnames).items()},
        "sim_households": ("district", world_hh, {"long_name": "simulated households"}),
        "estate": ("estate", np.arange(len(est), dtype=np.int64)),
        "month": ("month", _months(model).values.astype("datetime64[ns]"),
                  {"long_name": "first day of the calendar month"}),
        "merchant": ("merchant", np.arange(data["merchant_calls"][1].shape[1], dtype=np.int64)),
        "intervention": ("intervention", np.array(
            [iv.label for iv in model.interventions], dtype=str)),
        "estate_district": ("estate", np.array(dnames, dtype=str)[est.district]),
        "estate_households": ("estate", est.size.astype(np.int64)),
        "estate_system_age": ("estate", est.system_age.astype(np.float64),
                              {"units": "years", "long_name": "age of the heating system"}),
        "temperature": ("time", model.temperature, {"units": "degC"}),
        **{k: (dim, np.array(v, dtype=str)) for k, (dim, v) in taxonomy.coords(codes).items()},
    }  # fmt: skip
    total_rated = int(rec["rated"].sum())
    attrs = {
        "title": "predgov simulated city: agent-based Qingdao-like hotline requests",
        "source": f"predgov.sim.{type(model).__name__}",
        "note": "Simulated data, not real Qingdao 12345 records.",
        "Conventions": "CF-1.8",
        "city": "qingdao",
        "freq": "D",
        "seed": model.seed,
        "world_seed": model.world_seed,
        "scale": model.scale,
        "households": len(hh),
        "interventions": "; ".join(repr(iv) for iv in model.interventions) or "none",
        "satisfaction_rate": float(rec["satisfied"].sum() / total_rated) if total_rated else
        float("nan"),
    }  # fmt: skip
    return xr.Dataset(data, coords=coords, attrs=attrs)


def _months(model: Any) -> pd.DatetimeIndex:
    months = getattr(model, "months", None)
    return months if months is not None else pd.DatetimeIndex(
        model.dates.to_period("M").to_timestamp().unique())


def _intervention_vars(model: Any) -> dict[str, Any]:
    """What interventions did per (time, intervention), the day's total cost, and calls per
    (month, merchant) (zeros for a model that records none)."""
    n_t, n_iv = len(model.dates), len(model.interventions)
    empty = np.zeros((n_t, n_iv))
    treated = getattr(model, "intervention_treated", empty.astype(np.int64))
    cost = getattr(model, "intervention_cost", empty)
    absorbed = getattr(model, "absorbed_by", empty.astype(np.int64))
    dims = ("time", "intervention")
    merchant_calls = getattr(model, "merchant_calls", None)
    if merchant_calls is None:
        merchant_calls = np.zeros((len(_months(model)), 0), np.int32)
    return {
        "intervention_treated": (dims, treated.copy(), {
            "long_name": "units an intervention visited on the day (complying or not)",
            "units": "units"}),
        "intervention_cost": (dims, cost.copy(), {
            "long_name": "cost of each intervention on the day", "units": "yuan"}),
        "intervention_absorbed": (dims, absorbed.copy(), {
            "long_name": "problems an intervention dealt with before anyone called",
            "units": "problems"}),
        "intervention_cost_total": ("time", np.asarray(model.cost, np.float64).copy(), {
            "long_name": "cost of all interventions on the day", "units": "yuan"}),
        "merchant_calls": (("month", "merchant"), merchant_calls.copy(), {
            "long_name": "calls about consumer disputes with the merchant in the month",
            "units": "requests"}),
    }  # fmt: skip


def run_scenario(
    cfg: Any = None,
    *,
    seeds: int | Sequence[int] | None = None,
    n_jobs: int = 1,
    model_class: type[Any] = CityModel,
    **kwargs: Any,
) -> xr.Dataset:
    """Simulate a scenario for one seed or many.

    Parameters
    ----------
    cfg
        Keyword arguments of ``CityModel`` as a mapping, a dataclass or an OmegaConf config
        (``scale``, ``start``, ``end``, ``world_seed``, ``districts``, ``params``,
        ``interventions``, ``processes``, ``seed``); ``kwargs`` override it.
    seeds
        None: one run with ``cfg``'s seed (no ``seed`` dim). An int or a sequence: one run per
        seed, stacked on a leading ``seed`` dim.
    n_jobs
        Parallel processes over seeds (joblib); results equal the serial ones.
    model_class
        ``CityModel`` (default) or ``predgov.sim.reference.ReferenceCityModel``.

    Returns
    -------
    xr.Dataset

    Examples
    --------
    >>> ds = run_scenario({"scale": 0.001, "start": "2025-11-15", "end": "2025-11-16"},
    ...                   seeds=[0, 1])
    >>> ds.sizes["seed"], ds["counts"].dims[0]
    (2, 'seed')
    """
    kw = {**_kwargs(cfg), **kwargs}
    if seeds is None:
        return simulate(model_class, **kw)
    seed_list = [int(seeds)] if isinstance(seeds, (int, np.integer)) else [int(s) for s in seeds]
    kw.pop("seed", None)
    if n_jobs == 1 or len(seed_list) == 1:
        runs = [simulate(model_class, seed=s, **kw) for s in seed_list]
    else:
        from joblib import Parallel, delayed

        runs = Parallel(n_jobs=n_jobs)(
            delayed(simulate)(model_class, seed=s, **kw) for s in seed_list)
    temps = np.stack([r["temperature"].values for r in runs])
    sat = np.array([r.attrs["satisfaction_rate"] for r in runs])
    runs = [r.drop_vars("temperature") for r in runs]
    out = xr.concat(runs, dim=pd.Index(seed_list, name="seed"), combine_attrs="drop_conflicts")
    out = out.assign_coords(temperature=(("seed", "time"), temps, {"units": "degC"}))
    out["city_satisfaction_rate"] = ("seed", sat, {"long_name": "city-wide satisfied / rated"})
    for name in ("counts", *OUTPUT_VARS):
        out[name] = out[name].astype(np.int64)
    return out


def summarise(ds: xr.Dataset, quantiles: Sequence[float] = (0.1, 0.9)) -> xr.Dataset:
    """Median and 10-90 % band over the ``seed`` dim.

    Returns every numeric variable as ``<name>`` (median) with ``<name>_lo`` and ``<name>_hi``
    (empty variables, such as the per-intervention ones of a run without interventions, are
    left out).

    Examples
    --------
    >>> ds = run_scenario({"scale": 0.001, "start": "2025-11-15", "end": "2025-11-16"},
    ...                   seeds=[0, 1, 2])
    >>> s = summarise(ds)
    >>> "seed" in s.dims, "counts_hi" in s
    (False, True)
    """
    if "seed" not in ds.dims:
        raise ValueError(f"summarise needs a 'seed' dimension, got dims {tuple(ds.dims)}")
    lo, hi = quantiles
    num = ds[[v for v in ds.data_vars if "seed" in ds[v].dims and ds[v].size and
              np.issubdtype(ds[v].dtype, np.number)]].astype(np.float64)  # fmt: skip
    num = num.drop_vars([c for c in num.coords if "seed" in num[c].dims])
    with warnings.catch_warnings():  # all-NaN cells (nothing rated) stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        out = num.median("seed")
        qs = {v: num[v].quantile([lo, hi], dim="seed") for v in num.data_vars}
    for v in num.data_vars:
        q = qs[v]
        out[f"{v}_lo"] = q.sel(quantile=lo, drop=True)
        out[f"{v}_hi"] = q.sel(quantile=hi, drop=True)
        out[v].attrs = dict(ds[v].attrs, cell_methods="seed: median")
    out.attrs = dict(ds.attrs, summary=f"median and {lo:.0%}-{hi:.0%} band over seeds")
    return out
