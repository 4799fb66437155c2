"""Rolling-origin backtests: refit at each origin, forecast ahead, score against what happened.

``backtest(forecaster, counts, horizon, ...)`` fits a *fresh, unfitted copy* of the forecaster
at each origin on the counts up to and including the origin (never later: no look-ahead),
forecasts ``horizon`` periods, and lines the forecasts up against the actual counts:

* ``result.errors`` — an ``xr.Dataset`` over ``(origin, lead, *series dims)``: ``actual``,
  ``mean``, ``quantiles`` (with ``quantile``), the training scales ``scale`` / ``scale_sq`` and
  ``scale_reason`` per ``(origin, series)``, the model's ``fallback`` reasons, and a ``time``
  coordinate giving the target period of each ``(origin, lead)``;
* ``result.scores`` — a ``pandas.DataFrame`` indexed by ``(by, key)``: ``("all", "all")``,
  ``("lead", 1..h)``, ``("origin", date)`` and one block per series dim (``("district", "市南")``,
  ``("category", "heating")``), with columns ``mase``, ``rmsse``, ``spl`` (scaled pinball at the
  M5 quantiles), ``bias`` (scaled, positive = over-forecast), ``cov50``/``cov80``/``cov95``,
  ``n_series`` and ``n_excluded``;
* ``result.relative_to(baseline_result)`` — the same table as ratios to the baseline (usually
  :class:`~predgov.forecast.SeasonalNaive`) on the same origins, leads and series.

How scores are averaged (see :mod:`predgov.forecast.metrics` for the scales): each series is
first averaged over the ``(origin, lead)`` cells of the group (RMSSE takes its root here, per
series), then series are averaged with equal weight. A series whose training scale is 0 or
undefined at an origin has no scaled score there (``scale_reason``) and is left out of the
scaled averages; it still counts for coverage. ``n_excluded`` counts the series of a group that
have no scaled score at all.

Regressors (a Dataset over ``time``, e.g. :func:`predgov.data.calendar.calendar`) are treated as
known in advance, like a calendar: the fit sees them over the training periods, the prediction
over the forecast periods only.
"""

from __future__ import annotations

import copy
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from predgov.data.cube import counts_of
from predgov.forecast.metrics import (
    INTERVAL_LEVELS,
    M5_QUANTILES,
    interval_hit,
    naive_scale,
    pinball_loss,
    scale_reason,
    select_quantiles,
)

_TIME_DIMS = ("origin", "lead")
_SCALED = ("mase", "rmsse", "spl", "bias")
_COVERAGE = tuple(f"cov{round(level * 100)}" for level in INTERVAL_LEVELS)


def clone(forecaster: Any) -> Any:
    """An unfitted copy of ``forecaster`` with the same parameters.

    Uses ``type(f)(**f.get_params())`` when the estimator offers ``get_params`` (the
    scikit-learn habit: fitted state is not copied), else ``copy.deepcopy``.

    Examples
    --------
    >>> class F:
    ...     def __init__(self, k=1):
    ...         self.k = k
    ...     def get_params(self):
    ...         return {"k": self.k}
    >>> f = F(k=3); f.level_ = 9.0
    >>> g = clone(f)
    >>> g.k, hasattr(g, "level_")
    (3, False)
    """
    get_params = getattr(forecaster, "get_params", None)
    if callable(get_params):
        try:
            return type(forecaster)(**get_params(deep=False))
        except TypeError:
            return type(forecaster)(**get_params())
    return copy.deepcopy(forecaster)


def rolling_origins(
    time: pd.DatetimeIndex | xr.DataArray | Sequence[Any],
    horizon: int,
    n_origins: int | None = None,
    step: int | None = None,
    *,
    min_train: int = 2,
) -> pd.DatetimeIndex:
    """Origins (last training period) of a rolling-origin backtest, oldest first.

    The last origin leaves exactly ``horizon`` periods after it; earlier ones are ``step``
    periods apart (default ``horizon``: non-overlapping windows). ``n_origins`` defaults to as
    many as fit with at least ``min_train`` training periods, at most 5.

    Examples
    --------
    >>> t = pd.date_range("2024-01-01", periods=30, freq="D")
    >>> rolling_origins(t, horizon=7, n_origins=3).strftime("%m-%d").tolist()
    ['01-09', '01-16', '01-23']
    >>> rolling_origins(t, horizon=7, n_origins=2, step=1).strftime("%m-%d").tolist()
    ['01-22', '01-23']
    """
    index = pd.DatetimeIndex(np.asarray(time))
    horizon = _positive_int(horizon, "horizon")
    step = horizon if step is None else _positive_int(step, "step")
    last = len(index) - 1 - horizon
    possible = (last - (min_train - 1)) // step + 1 if last >= min_train - 1 else 0
    if possible < 1:
        raise ValueError(
            f"{len(index)} periods leave no origin with {min_train} training periods and a "
            f"{horizon}-period horizon"
        )
    if n_origins is None:
        n_origins = min(possible, 5)
    n_origins = _positive_int(n_origins, "n_origins")
    if n_origins > possible:
        raise ValueError(
            f"only {possible} origins fit ({len(index)} periods, horizon {horizon}, step {step}, "
            f"min_train {min_train}); asked for {n_origins}"
        )
    positions = last - step * np.arange(n_origins)[::-1]
    return pd.DatetimeIndex(index[positions], name="origin")


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _origin_positions(index: pd.DatetimeIndex, origins: Iterable[Any], horizon: int) -> np.ndarray:
    wanted = pd.DatetimeIndex([pd.Timestamp(o) for o in origins])
    pos = index.get_indexer(wanted)
    if (pos < 0).any():
        bad = [str(o.date()) for o, p in zip(wanted, pos, strict=True) if p < 0]
        raise ValueError(f"origins {bad} are not periods of the counts' time axis")
    late = pos + horizon > len(index) - 1
    if late.any():
        raise ValueError(
            f"origins {[str(o.date()) for o in wanted[late]]} leave fewer than {horizon} "
            "periods of actuals after them"
        )
    if len(set(pos.tolist())) != len(pos):
        raise ValueError("origins repeat")
    return np.sort(pos)


def _slice_regressors(
    regressors: xr.Dataset | None, times: pd.DatetimeIndex, what: str
) -> xr.Dataset | None:
    if regressors is None:
        return None
    have = pd.DatetimeIndex(regressors["time"].values)
    missing = times.difference(have)
    if len(missing):
        raise ValueError(
            f"regressors do not cover the {what} periods {missing[0].date()}..{missing[-1].date()}"
        )
    return regressors.sel(time=times)


def _training_slice(counts: xr.DataArray, position: int) -> xr.DataArray:
    """The counts the model may see at the origin at ``position``: periods ``0..position``."""
    return counts.isel(time=slice(0, position + 1))


def _to_leads(
    forecast: xr.Dataset, future: pd.DatetimeIndex, series_dims: tuple[Hashable, ...]
) -> xr.Dataset:
    got = pd.DatetimeIndex(forecast["time"].values)
    if not got.equals(future):
        raise ValueError(
            f"forecast periods {got[:3].tolist()}... do not match the expected "
            f"{future[:3].tolist()}... (model {forecast.attrs.get('model')!r})"
        )
    missing = {"mean", "quantiles"} - set(forecast.data_vars)
    if missing:
        raise ValueError(f"forecast lacks variables {sorted(missing)}")
    keep = ["mean", "quantiles"] + (["fallback"] if "fallback" in forecast else [])
    out = forecast[keep].reset_coords(drop=True)
    out = out.assign_coords(lead=("time", np.arange(1, len(future) + 1)))
    out = out.swap_dims(time="lead").drop_vars("time")
    if "fallback" not in out:
        out["fallback"] = xr.DataArray("", coords={}).broadcast_like(out["mean"].isel(lead=0))
    elif "lead" in out["fallback"].dims:
        out["fallback"] = out["fallback"].isel(lead=0, drop=True)
    out["mean"] = out["mean"].transpose("lead", *series_dims).astype(float)
    out["quantiles"] = out["quantiles"].transpose("lead", *series_dims, "quantile").astype(float)
    out["fallback"] = out["fallback"].astype(str).transpose(*series_dims)
    return out


def backtest(
    forecaster: Any,
    counts: xr.Dataset | xr.DataArray,
    horizon: int,
    n_origins: int | None = None,
    origins: Sequence[Any] | None = None,
    step: int | None = None,
    regressors: xr.Dataset | None = None,
    *,
    season: int = 1,
    min_train: int = 2,
    progress: bool | None = False,
) -> BacktestResult:
    """Rolling-origin backtest of ``forecaster`` on ``counts``.

    Parameters
    ----------
    forecaster
        An estimator with ``fit(counts, regressors=None)`` and ``predict(horizon,
        regressors=None)``; it is not modified: each origin fits a fresh clone (:func:`clone`).
    counts
        Cube Dataset (its ``counts``) or DataArray over ``time`` and series dims.
    horizon
        Periods ahead to forecast from each origin (leads ``1..horizon``).
    n_origins, step
        Number of origins and their spacing in periods (see :func:`rolling_origins`); the last
        origin leaves exactly ``horizon`` periods of actuals.
    origins
        Explicit origins (last training period, as dates); overrides ``n_origins``/``step``.
    regressors
        Known-in-advance regressors over ``time`` covering the data and the forecast periods.
    season
        Lag of the naive scale for the scaled scores (1 = one-step naive, the M5 convention).
    min_train
        Fewest training periods an automatically placed origin may have.
    progress
        Show a progress bar over origins (None: only on a terminal).

    Returns
    -------
    BacktestResult

    Examples
    --------
    >>> class LastValue:   # a toy model: tomorrow = today, with +-1 quantiles
    ...     def fit(self, counts, regressors=None):
    ...         self.last_, self.t_ = counts.isel(time=-1), counts["time"].values[-1]
    ...         return self
    ...     def predict(self, horizon, regressors=None):
    ...         t = pd.date_range(self.t_, periods=horizon + 1, freq="D")[1:]
    ...         q = [0.005, 0.025, 0.1, 0.165, 0.25, 0.5, 0.75, 0.835, 0.9, 0.975, 0.995]
    ...         mean = self.last_.expand_dims(time=t).astype(float)
    ...         spread = xr.DataArray(np.linspace(-1, 1, 11), dims="quantile",
    ...                               coords={"quantile": q})
    ...         return xr.Dataset({"mean": mean, "quantiles": (mean + spread).clip(0)})
    >>> y = xr.DataArray(np.arange(20.0), dims="time",
    ...                  coords={"time": pd.date_range("2024-01-01", periods=20)}).expand_dims(
    ...                  category=["a"]).transpose("time", "category")
    >>> res = backtest(LastValue(), y, horizon=2, n_origins=3)
    >>> res.errors["actual"].dims
    ('origin', 'lead', 'category')
    >>> float(res.scores.loc[("lead", 2), "mase"])    # error 2 at lead 2, naive scale 1
    2.0
    """
    da = counts_of(counts)
    if "time" not in da.dims:
        raise ValueError(f"counts has no 'time' dim: {da.dims}")
    horizon = _positive_int(horizon, "horizon")
    index = pd.DatetimeIndex(da["time"].values)
    freq = da["time"].attrs.get("freq") or da.attrs.get("freq") or "unknown"
    if origins is not None:
        positions = _origin_positions(index, origins, horizon)
    else:
        chosen = rolling_origins(index, horizon, n_origins, step, min_train=min_train)
        positions = index.get_indexer(chosen)
    series_dims = tuple(d for d in da.dims if d != "time")

    from tqdm import tqdm

    model_name = None
    per_origin = []
    bar = tqdm(positions, desc="backtest", unit="origin", disable=(not progress) if progress
               is not None else None, leave=False)
    for pos in bar:
        train = _training_slice(da, int(pos))
        future = index[pos + 1 : pos + 1 + horizon]
        model = clone(forecaster)
        model.fit(train, regressors=_slice_regressors(regressors, index[: pos + 1], "training"))
        fc = model.predict(horizon, regressors=_slice_regressors(regressors, future, "forecast"))
        model_name = fc.attrs.get("model", model_name)
        per_origin.append(_to_leads(fc, future, series_dims))

    origin_index = pd.DatetimeIndex(index[positions], name="origin")
    errors = xr.concat(per_origin, dim=origin_index, coords="minimal", compat="override",
                       join="exact")

    target = xr.DataArray(
        positions[:, None] + np.arange(1, horizon + 1)[None, :], dims=_TIME_DIMS
    )
    actual = da.isel(time=target).astype(float)
    actual = actual.drop_vars("time").transpose(*_TIME_DIMS, *series_dims)
    errors["actual"] = actual.reset_coords(drop=True)

    scales, scales_sq, reasons = [], [], []
    for pos in positions:
        train = _training_slice(da, int(pos))
        scales.append(naive_scale(train, season=season, power=1))
        scales_sq.append(naive_scale(train, season=season, power=2))
        reasons.append(scale_reason(train, season=season))
    for name, parts in (("scale", scales), ("scale_sq", scales_sq), ("scale_reason", reasons)):
        errors[name] = xr.concat(parts, dim=origin_index).reset_coords(drop=True)

    series_coords = {
        name: coord.variable
        for name, coord in da.coords.items()
        if name != "time" and "time" not in coord.dims
    }
    errors = errors.assign_coords(series_coords)
    errors = errors.assign_coords(
        time=(_TIME_DIMS, index.values[target.values]),
    )
    errors["quantiles"] = errors["quantiles"].transpose(*_TIME_DIMS, *series_dims, "quantile")
    errors["mean"] = errors["mean"].transpose(*_TIME_DIMS, *series_dims)
    errors["actual"].attrs.update(long_name="observed count", units=da.attrs.get("units", ""))
    errors["mean"].attrs.update(long_name="forecast mean")
    errors["scale"].attrs.update(
        long_name=f"in-sample naive MAE (lag {season}) from the first non-zero value"
    )
    errors["scale_sq"].attrs.update(
        long_name=f"in-sample naive MSE (lag {season}) from the first non-zero value"
    )
    params = errors.attrs.get("params")
    errors.attrs = {} if params is None else {"params": params}
    errors.attrs.update(
        model=str(model_name or type(forecaster).__name__),
        freq=str(freq),
        horizon=horizon,
        season=season,
        series_dims=list(map(str, series_dims)),
    )
    return BacktestResult(errors)


# ------------------------------------------------------------------------------------ scoring


def _series_dims(errors: xr.Dataset) -> list[Hashable]:
    return [d for d in errors["actual"].dims if d not in _TIME_DIMS]


def _cells(errors: xr.Dataset, mask: xr.DataArray | None = None) -> xr.Dataset:
    """Per-(origin, lead, series) scaled errors and interval hits; NaN where not scored."""
    actual, mean = errors["actual"], errors["mean"]
    observed = actual.notnull()
    if mask is not None:
        observed = observed & mask
    scaled = observed & errors["scale"].notnull()
    err = mean - actual
    pinball = pinball_loss(actual, select_quantiles(errors["quantiles"], M5_QUANTILES))
    cells = xr.Dataset(
        {
            "mase": (abs(err) / errors["scale"]).where(scaled),
            "sq": (err**2 / errors["scale_sq"]).where(scaled),
            "spl": (pinball.mean("quantile") / errors["scale"]).where(scaled),
            "bias": (err / errors["scale"]).where(scaled),
        }
    )
    for level, name in zip(INTERVAL_LEVELS, _COVERAGE, strict=True):
        cells[name] = interval_hit(actual, errors["quantiles"], level).where(observed)
    return cells


def _aggregate(cells: xr.Dataset, keep: Sequence[Hashable], series_dims: Sequence[Hashable]
               ) -> xr.Dataset:
    """Two-stage mean: per series over the (origin, lead) cells, then over series."""
    time_dims = [d for d in _TIME_DIMS if d not in keep]
    other_series = [d for d in series_dims if d not in keep]
    per_series = cells.drop_vars("sq").mean(time_dims, skipna=True)
    per_series["rmsse"] = np.sqrt(cells["sq"].mean(time_dims, skipna=True))
    scored = per_series["mase"].notnull()
    out = per_series.mean(other_series, skipna=True)
    out["n_series"] = scored.sum(other_series)
    out["n_excluded"] = (~scored).sum(other_series)
    return out


def _groupings(series_dims: Sequence[Hashable]) -> list[tuple[str, tuple[Hashable, ...]]]:
    return [("all", ()), ("lead", ("lead",)), ("origin", ("origin",))] + [
        (str(d), (d,)) for d in series_dims
    ]


def _table(per_group: dict[str, xr.Dataset], columns: Sequence[str]) -> pd.DataFrame:
    frames = []
    for by, ds in per_group.items():
        ds = ds.reset_coords(drop=True)
        if ds.sizes:
            df = ds.to_dataframe()[list(columns)]
            keys = [k.isoformat()[:10] if isinstance(k, pd.Timestamp) else k for k in df.index]
        else:
            df = pd.DataFrame({c: [ds[c].item()] for c in columns})
            keys = ["all"]
        df.index = pd.MultiIndex.from_arrays(
            [[by] * len(df), pd.Index(keys, dtype=object)], names=["by", "key"]
        )
        frames.append(df)
    return pd.concat(frames)


def score_table(errors: xr.Dataset) -> pd.DataFrame:
    """The score table of a backtest ``errors`` Dataset (see the module docstring)."""
    series_dims = _series_dims(errors)
    cells = _cells(errors)
    groups = {by: _aggregate(cells, keep, series_dims) for by, keep in _groupings(series_dims)}
    columns = ["mase", "rmsse", "spl", "bias", *_COVERAGE, "n_series", "n_excluded"]
    table = _table(groups, columns)
    for col in ("n_series", "n_excluded"):
        table[col] = table[col].astype("int64")
    table.attrs.update(model=errors.attrs.get("model"), season=errors.attrs.get("season"))
    return table


def _joint_cells(
    model: xr.Dataset, baseline: xr.Dataset
) -> tuple[xr.Dataset, xr.Dataset, list[Hashable]]:
    """Cells of two backtests on their shared origins/leads/series, scaled where both score."""
    model, baseline = xr.align(model, baseline, join="inner", exclude=["quantile"])
    if model["actual"].size == 0:
        raise ValueError("the two backtests share no origin, lead and series")
    same = (model["actual"] == baseline["actual"]) | (
        model["actual"].isnull() & baseline["actual"].isnull()
    )
    if not bool(same.all()):
        raise ValueError("the two backtests were run on different actuals")
    cm, cb = _cells(model), _cells(baseline)
    for name in ("mase", "sq", "spl", "bias"):
        both = cm[name].notnull() & cb[name].notnull()
        cm[name], cb[name] = cm[name].where(both), cb[name].where(both)
    return cm, cb, _series_dims(model)


def _ratios(gm: xr.Dataset, gb: xr.Dataset) -> xr.Dataset:
    def ratio(a: xr.DataArray, b: xr.DataArray) -> xr.DataArray:
        return a / b.where(b != 0)

    out = xr.Dataset(
        {
            "mase": ratio(gm["mase"], gb["mase"]),
            "rmsse": ratio(gm["rmsse"], gb["rmsse"]),
            "spl": ratio(gm["spl"], gb["spl"]),
            "abs_bias": ratio(abs(gm["bias"]), abs(gb["bias"])),
        }
    )
    for level, name in zip(INTERVAL_LEVELS, _COVERAGE, strict=True):
        out[f"{name}_err"] = ratio(abs(gm[name] - level), abs(gb[name] - level))
    return out


@dataclass
class BacktestResult:
    """Outcome of :func:`backtest`: ``errors`` (xr.Dataset) and ``scores`` (DataFrame)."""

    errors: xr.Dataset
    scores: pd.DataFrame = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.scores = score_table(self.errors)

    def __repr__(self) -> str:
        e = self.errors
        n_series = int(np.prod([e.sizes[d] for d in _series_dims(e)]))
        return (
            f"BacktestResult(model={e.attrs.get('model')!r}, origins={e.sizes['origin']}, "
            f"horizon={e.sizes['lead']}, series={n_series}, "
            f"mase={self.scores.loc[('all', 'all'), 'mase']:.3f})"
        )

    @property
    def model(self) -> str:
        """Name of the model (the forecast's ``attrs["model"]``)."""
        return str(self.errors.attrs.get("model"))

    def relative_to(self, baseline: BacktestResult) -> pd.DataFrame:
        """Skill relative to another backtest (usually SeasonalNaive): score ratios.

        Same layout as :attr:`scores`. ``mase``, ``rmsse``, ``spl``: model score / baseline
        score; ``abs_bias``: ``|bias|`` ratio; ``cov50_err`` ...: ratio of the absolute coverage
        errors ``|coverage - nominal|``. All on the origins, leads and series both results
        share, using only cells both can score. Below 1 = better than the baseline.
        """
        cm, cb, series_dims = _joint_cells(self.errors, baseline.errors)
        groups = {}
        for by, keep in _groupings(series_dims):
            gm = _aggregate(cm, keep, series_dims)
            groups[by] = _ratios(gm, _aggregate(cb, keep, series_dims))
            groups[by]["n_series"] = gm["n_series"]
        columns = ["mase", "rmsse", "spl", "abs_bias",
                   *(f"{c}_err" for c in _COVERAGE), "n_series"]
        table = _table(groups, columns)
        table["n_series"] = table["n_series"].astype("int64")
        table.attrs.update(model=self.model, baseline=baseline.model)
        return table

    def series_scores(self, relative_to: BacktestResult | None = None) -> xr.Dataset:
        """Scores per series (over all origins and leads), as an ``xr.Dataset``.

        Variables ``mase``, ``rmsse``, ``spl``, ``bias``, ``cov50``/``cov80``/``cov95``,
        ``total`` (sum of the actuals scored, for small-cell rules) and ``scale_reason`` (the
        latest origin's reason, ``""`` when the series was scored). With ``relative_to``, also
        the ratios of :meth:`relative_to` as ``mase_rel``, ``rmsse_rel``, ``spl_rel``,
        ``abs_bias_rel`` and ``cov80_err_rel`` etc.
        """
        series_dims = _series_dims(self.errors)
        ds = _aggregate(_cells(self.errors), series_dims, series_dims)
        ds = ds.drop_vars(["n_series", "n_excluded"])
        ds["total"] = self.errors["actual"].sum(_TIME_DIMS, min_count=1)
        reason = self.errors["scale_reason"].isel(origin=-1, drop=True)
        ds["scale_reason"] = xr.where(ds["mase"].notnull(), "", reason).astype(str)
        if relative_to is not None:
            cm, cb, dims = _joint_cells(self.errors, relative_to.errors)
            rel = _ratios(_aggregate(cm, dims, dims), _aggregate(cb, dims, dims))
            for name, var in rel.data_vars.items():
                ds[f"{name}_rel"] = var
        coords = {n: c for n, c in self.errors.coords.items()
                  if not set(c.dims) & {*_TIME_DIMS, "quantile"}}
        ds.attrs.update(model=self.model, season=self.errors.attrs.get("season"))
        return ds.assign_coords(coords)

    def residuals(self) -> xr.DataArray:
        """Forecast errors ``actual - mean`` over ``(origin, lead, *series)``: for reconciliation.

        Pass one per hierarchy level to :func:`predgov.forecast.reconcile.reconcile` as
        ``residuals``.
        """
        res = self.errors["actual"] - self.errors["mean"]
        res.name = "residual"
        return res
