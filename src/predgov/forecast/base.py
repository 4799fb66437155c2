"""Common machinery of every forecaster: input checks, series stacking, the output Dataset.

A *forecaster* follows the scikit-learn habit (DESIGN.md, "Forecasts"): ``__init__`` only stores
parameters, ``fit(counts, regressors=None)`` learns and returns ``self`` (fitted attributes end in
``_``), ``predict(horizon, regressors=None)`` returns the forecast Dataset:

* ``mean(time, <series dims>)`` float64 ≥ 0 (the point forecast);
* ``quantiles(time, <series dims>, quantile)`` float64 ≥ 0, non-decreasing in ``quantile``;
* ``fallback(<series dims>)`` str: ``""`` or why the series fell back to a simple baseline
  (``"no observations"``, ``"all zero"``, ``"shorter than one season"``, ``"fit failed"``, ...);
* attrs ``model``, ``fit_origin`` (last training period, ISO), ``freq``, ``units="requests"``,
  ``params`` (JSON of the constructor parameters), ``horizon``.

``time`` of the forecast is the ``horizon`` periods after the last training period, with
``time.attrs["freq"]`` set. Every non-time dimension and coordinate of the input counts is kept,
so a grid-level cube (dim ``grid`` with a ``district`` coordinate) forecasts like any other.

NaN in the counts means "not observed" and is never read as zero. Every series gets a finite,
non-negative forecast; series a model cannot handle get a baseline and a recorded reason.
"""

from __future__ import annotations

import inspect
import json
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from predgov.data.cube import counts_of
from predgov.data.freq import (
    FREQS,
    PERIODS_PER_YEAR,
    SEASONAL_PERIODS,
    SeriesLayout,
    check_freq,
    check_regular,
    default_regressor_names,
    freq_of,
    future_times,
    infer_freq,
    regressor_matrix,
    season_length,
    seasonal_periods,
    stack_series,
    unstack_series,
    year_lag,
)
from predgov.stats.nb import DEFAULT_QUANTILES, nb_quantiles, nb_size_moments

# The time contract (frequencies, stacking, regressors) lives in predgov.data.freq and the NB
# toolkit in predgov.stats; both are re-exported here under the names forecasters import.
__all__ = [
    "DEFAULT_QUANTILES",
    "FREQS",
    "PERIODS_PER_YEAR",
    "SEASONAL_PERIODS",
    "Forecaster",
    "NotFittedError",
    "SeriesLayout",
    "as_counts",
    "check_freq",
    "default_regressor_names",
    "future_times",
    "infer_freq",
    "nb_quantiles",
    "nb_size_moments",
    "regressor_matrix",
    "season_length",
    "seasonal_periods",
    "series_status",
    "simple_fallback",
    "stack_series",
    "unstack_series",
    "year_lag",
]

#: Reasons recorded in ``fallback``.
NO_OBSERVATIONS = "no observations"
ALL_ZERO = "all zero"
TOO_SHORT = "shorter than one season"
FIT_FAILED = "fit failed"


class NotFittedError(RuntimeError):
    """``predict`` (or a fitted attribute) was used before ``fit``."""


# --------------------------------------------------------------------------- inputs


def as_counts(counts: xr.DataArray | xr.Dataset) -> tuple[xr.DataArray, str]:
    """Validate a counts DataArray (or a Dataset with ``counts``, see
    :func:`predgov.data.cube.counts_of`) and return it with its freq.

    Raises ValueError for a missing ``time`` dim, an irregular or unknown frequency, negative
    or infinite values.

    Examples
    --------
    >>> t = pd.date_range("2024-01-01", periods=4, freq="D")
    >>> da, freq = as_counts(xr.DataArray([1, 2, 0, 3], coords={"time": t}, dims="time"))
    >>> freq
    'D'
    """
    da = counts_of(counts)
    if "time" not in da.dims:
        raise ValueError(f"counts need a 'time' dimension, got dims {da.dims}")
    if "quantile" in da.dims:
        raise ValueError("counts must not have a 'quantile' dimension")
    if da.sizes["time"] < 1:
        raise ValueError("counts have an empty time axis")
    if not np.issubdtype(da.dtype, np.number) and da.dtype != bool:
        raise TypeError(f"counts must be numeric, got dtype {da.dtype}")
    freq = freq_of(da, counts if isinstance(counts, xr.Dataset) else None)
    check_regular(pd.DatetimeIndex(da["time"].values), freq)
    values = np.asarray(da.transpose("time", ...).values, dtype="float64")
    values = values.reshape(values.shape[0], -1)
    for kind, bad in (("infinite", np.isinf(values)), ("negative", values < 0)):
        if bad.any():
            rows = np.flatnonzero(bad.any(axis=1))
            first = pd.Timestamp(da["time"].values[rows[0]]).date()
            raise ValueError(
                f"counts contain {kind} values: {int(bad.sum())} cells in "
                f"{int(bad.any(axis=0).sum())} of {values.shape[1]} series and {rows.size} of "
                f"{values.shape[0]} periods (first {first}); counts must be finite and >= 0 "
                "(NaN = not observed)"
            )
    return da, freq


def series_status(values: np.ndarray, min_length: int) -> np.ndarray:
    """Per-series reason a model should not be fitted ("" when fine), from ``(time, series)``.

    ``"no observations"`` (all NaN), ``"all zero"``, ``"shorter than one season"`` (fewer than
    ``min_length`` observed periods).

    Examples
    --------
    >>> v = np.array([[np.nan, 0, 1, 2], [np.nan, 0, np.nan, 3], [np.nan, 0, 1, 4]])
    >>> series_status(v, 3).tolist()
    ['no observations', 'all zero', 'shorter than one season', '']
    """
    observed = ~np.isnan(values)
    n_obs = observed.sum(axis=0)
    total = np.nansum(values, axis=0)
    out = np.full(values.shape[1], "", dtype=object)
    out[n_obs < min_length] = TOO_SHORT
    out[(n_obs > 0) & (total == 0)] = ALL_ZERO
    out[n_obs == 0] = NO_OBSERVATIONS
    return out


def simple_fallback(
    values: np.ndarray, horizon: int, levels: Any, window: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Flat forecast at the mean of the last ``window`` observed values, NB quantiles by moments.

    Returns ``mean (series, horizon)`` and ``quantiles (series, horizon, quantile)``; series
    with no observations forecast 0.

    Examples
    --------
    >>> m, q = simple_fallback(np.array([[0.0], [2.0], [np.nan], [4.0]]), 2, (0.5,))
    >>> m.tolist(), q[..., 0].tolist()
    ([[2.0, 2.0]], [[1.0, 1.0]])
    """
    if window is not None:
        values = _last_observed(values, window)
    mean, size = nb_size_moments(values, axis=0)
    mean = np.nan_to_num(mean, nan=0.0)
    q = nb_quantiles(mean, size, levels)
    n_s = values.shape[1]
    return np.repeat(mean[:, None], horizon, axis=1), np.repeat(
        q[:, None, :], horizon, axis=1
    ).reshape(n_s, horizon, -1)


def _last_observed(values: np.ndarray, window: int) -> np.ndarray:
    """For each series keep only its last ``window`` observed values (others NaN)."""
    observed = ~np.isnan(values)
    rank_from_end = np.cumsum(observed[::-1], axis=0)[::-1]
    return np.where(observed & (rank_from_end <= window), values, np.nan)


# --------------------------------------------------------------------------- the base class


class Forecaster:
    """Base class of every predgov forecaster.

    Subclasses implement ``_fit(values, X)`` and ``_predict(horizon, X_future)`` on stacked
    arrays: ``values`` is ``(time, series)`` float64 with NaN for unobserved periods and ``X``
    the regressors ``(time, n_regressors)`` (or None). ``_predict`` returns ``mean (series,
    horizon)`` and ``quantiles (series, horizon, quantile)``; reasons for fallbacks go into
    ``self.fallback_`` (one string per series). The base class validates inputs, refuses to
    predict before ``fit``, and builds the forecast Dataset (clipping at 0, sorting quantiles,
    and replacing any non-finite series by a simple baseline with reason ``"fit failed"``).
    """

    #: Short model name written to the forecast's ``model`` attribute.
    name: ClassVar[str] = "forecaster"
    #: Whether the model uses regressors at all (baselines ignore them).
    uses_regressors: ClassVar[bool] = False

    quantiles: tuple[float, ...]
    regressor_names: list[str] | None

    # ---- scikit-learn style parameter handling
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        ]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters as a dict."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Forecaster:
        """Set constructor parameters (unknown names raise ValueError); returns self."""
        valid = set(self._param_names())
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"unknown parameter {key!r} for {type(self).__name__}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # ---- fitting and predicting
    def _levels(self) -> np.ndarray:
        levels = np.asarray(self.quantiles, dtype="float64")
        if levels.ndim != 1 or levels.size == 0:
            raise ValueError("quantiles must be a non-empty sequence of levels")
        if ((levels <= 0) | (levels >= 1)).any():
            raise ValueError(f"quantile levels must be in (0, 1), got {self.quantiles}")
        if (np.diff(levels) <= 0).any():
            raise ValueError(f"quantile levels must be increasing, got {self.quantiles}")
        return levels

    def fit(
        self, counts: xr.DataArray | xr.Dataset, regressors: xr.Dataset | None = None
    ) -> Forecaster:
        """Learn from ``counts(time, ...)`` (DataArray or Dataset with ``counts``).

        ``regressors`` is an ``xr.Dataset`` over ``time`` covering the training periods (e.g.
        from :func:`predgov.data.calendar.calendar`); None means no calendar effects.
        """
        da, freq = as_counts(counts)
        self.levels_ = self._levels()
        values, layout = stack_series(da)
        time = pd.DatetimeIndex(da["time"].values)
        self.freq_ = freq
        self.layout_ = layout
        self.train_time_ = time
        self.fit_origin_ = time[-1]
        self.n_series_ = layout.n_series
        self.fallback_ = np.full(layout.n_series, "", dtype=object)
        X = None
        self.regressor_names_: list[str] = []
        if regressors is not None and self.uses_regressors:
            names = self.regressor_names
            if names is None:
                if not isinstance(regressors, xr.Dataset):
                    raise TypeError(
                        f"regressors must be an xarray Dataset, got {type(regressors).__name__}"
                    )
                names = default_regressor_names(regressors, freq)
            self.regressor_names_ = list(names)
            X = regressor_matrix(regressors, time, self.regressor_names_, "training periods")
        self._fit(values, X)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "fit_origin_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit(counts) before predict"
            )

    def predict(self, horizon: int, regressors: xr.Dataset | None = None) -> xr.Dataset:
        """Forecast the ``horizon`` periods after the last training period.

        Returns the forecast Dataset described in the module docstring. ``regressors`` must
        cover the forecast periods when the model was fitted with regressors.
        """
        horizon, future, X = self._future(horizon, regressors)
        mean, quant = self._predict(horizon, X)
        return self._output(mean, quant, future)

    def _future(self, horizon: int, regressors: xr.Dataset | None
                ) -> tuple[int, pd.DatetimeIndex, np.ndarray | None]:  # fmt: skip
        """The checked ``horizon``, the forecast periods and their regressor matrix (None
        without regressors): what every prediction method of a fitted forecaster starts from."""
        self._check_fitted()
        if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 1:
            raise ValueError(f"horizon must be a positive integer, got {horizon!r}")
        horizon = int(horizon)
        future = future_times(self.fit_origin_, self.freq_, horizon)
        X = None
        if self.regressor_names_:
            X = regressor_matrix(regressors, future, self.regressor_names_, "forecast periods")
        return horizon, future, X

    # ---- to implement
    def _fit(self, values: np.ndarray, X: np.ndarray | None) -> None:  # pragma: no cover
        raise NotImplementedError

    def _predict(
        self, horizon: int, X: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    # ---- output
    def _output(self, mean: np.ndarray, quant: np.ndarray, future: pd.DatetimeIndex) -> xr.Dataset:
        n_s, horizon, n_q = self.n_series_, len(future), len(self.levels_)
        mean = np.asarray(mean, dtype="float64").reshape(n_s, horizon)
        quant = np.asarray(quant, dtype="float64").reshape(n_s, horizon, n_q)
        bad = ~(np.isfinite(mean).all(axis=1) & np.isfinite(quant).all(axis=(1, 2)))
        if bad.any():
            values = getattr(self, "_train_values", None)
            if values is not None:
                fm, fq = simple_fallback(values[:, bad], horizon, self.levels_)
            else:
                fm, fq = np.zeros((bad.sum(), horizon)), np.zeros((bad.sum(), horizon, n_q))
            mean[bad], quant[bad] = fm, fq
            for i in np.flatnonzero(bad):
                if not self.fallback_[i]:
                    self.fallback_[i] = FIT_FAILED
        mean = np.maximum(mean, 0.0)
        quant = np.maximum.accumulate(np.maximum(quant, 0.0), axis=2)
        layout = self.layout_
        dims_m, arr_m = unstack_series(mean.T, layout, ("time",))
        q_t = np.transpose(quant, (1, 0, 2))
        dims_q, arr_q = unstack_series(q_t, layout, ("time",), ("quantile",))
        dims_f, arr_f = unstack_series(self.fallback_.astype(str), layout)
        coords: dict[str, Any] = {
            "time": (
                "time", future.values, {"long_name": "start of the period", "freq": self.freq_}
            ),
            "quantile": ("quantile", self.levels_.copy(), {"long_name": "quantile level"}),
        }
        for name, var in layout.coords.items():
            coords[name] = var
        params = json.dumps(self.get_params(), default=_json_default, sort_keys=True,
                            ensure_ascii=False)  # fmt: skip
        attrs = {
            "model": self.name,
            "fit_origin": pd.Timestamp(self.fit_origin_).isoformat(),
            "freq": self.freq_,
            "units": "requests",
            "horizon": horizon,
            "params": params,
            "n_fallback": int((self.fallback_ != "").sum()),
        }
        return xr.Dataset(
            {
                "mean": (dims_m, arr_m, {"long_name": "forecast mean", "units": "requests"}),
                "quantiles": (dims_q, arr_q, {"long_name": "predictive quantiles",
                                              "units": "requests"}),
                "fallback": (dims_f, arr_f, {"long_name": "why the series fell back to a "
                                             "baseline ('' when it did not)"}),
            },
            coords=coords,
            attrs=attrs,
        )  # fmt: skip


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return repr(obj)
