"""Forecast scores for count series: MASE, RMSSE, scaled pinball, interval coverage (and its
randomised-PIT form for counts), bias.

Every function takes and returns xarray objects and works over any series dims (``district``,
``category``, ``grid`` ...): the dims named in ``dim`` are averaged away, all others are kept.
Not-observed values (NaN actuals) are left out of every average, never read as zero.

Scaling (M5 convention, Makridakis et al. 2022)
-----------------------------------------------
MASE, RMSSE, the scaled pinball loss and the scaled bias divide by an in-sample naive error
computed on the *training* part of each series only:

* the scale starts at the **first non-zero value** of the training data (leading zeros are a
  series that had not started yet, as for new M5 products);
* it is the mean of ``|y[t] - y[t - season]| ** power`` over the remaining periods, skipping any
  difference that touches a NaN; ``season=1`` (default) is the **one-step naive** scale used by
  M5 for RMSSE and the pinball loss; pass e.g. ``season=7`` for daily data to scale by the
  seasonal naive (the M4 MASE convention). Scores are comparable only at the same ``season``;
* ``power=1`` gives the MASE/pinball scale, ``power=2`` the RMSSE scale (mean squared naive
  difference; the RMSSE takes the root of the ratio).

A series whose scale is 0 or undefined gets a **NaN score** and a reason from
:func:`scale_reason` (``"all zero"``, ``"too short"``, ``"constant"``): averages skip it; it is
never scored 0.

Point forecasts
---------------
A forecast Dataset carries two point forecasts: ``mean`` and the median, the ``0.5`` entry of
``quantiles``. Each score has its own Bayes act (Gneiting 2011, "Making and evaluating point
forecasts", JASA 106): squared error (RMSSE) is minimised in expectation by the predictive
mean, absolute error (MASE) by the predictive median. For counts of a few a period, or skewed
ones, the two differ (a series with 94 % zero days has median 0 and mean 0.06), so MASE of the
mean penalises a model for issuing the right mean. :func:`point_forecast` picks either;
:func:`evaluate` scores MASE on ``point`` (default ``"mean"``, as :mod:`predgov.forecast.
backtest`) and RMSSE always on the mean.

Relative scores divide a model's score by the seasonal-naive score on the same series and
origins (:func:`relative`); below 1 is better than the baseline.

Examples
--------
>>> import numpy as np, xarray as xr
>>> train = xr.DataArray([0.0, 2, 4, 3, 5], dims="time")
>>> float(naive_scale(train))              # |4-2|, |3-4|, |5-3| from the first non-zero
1.6666666666666667
>>> actual = xr.DataArray([6.0, 4], dims="time")
>>> point = xr.DataArray([5.0, 5], dims="time")
>>> float(mase(actual, point, naive_scale(train)))   # mean |e| = 1
0.6
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from predgov.stats.nb import nb_cdf_pmf

#: Quantile levels of the M5 uncertainty competition (scaled pinball loss).
M5_QUANTILES = (0.005, 0.025, 0.165, 0.25, 0.5, 0.75, 0.835, 0.975, 0.995)

#: Central interval levels whose coverage is reported.
INTERVAL_LEVELS = (0.5, 0.8, 0.95)

#: Point forecasts a forecast Dataset carries (see "Point forecasts" in the module notes).
POINTS = ("mean", "median")

#: Reasons a scale is undefined (see :func:`scale_reason`); "" means the scale is usable.
SCALE_REASONS = {
    "all zero": "training part has no non-zero value: no naive scale",
    "too short": "fewer than season+1 observed periods after the first non-zero value",
    "constant": "naive errors are all 0 after the first non-zero value (scale 0)",
}

_TOL = 1e-9

Dims = str | Sequence[Hashable] | None


def _as_dims(dim: Dims) -> list[Hashable] | None:
    if dim is None:
        return None
    return [dim] if isinstance(dim, str) else list(dim)


def _naive_errors(values: np.ndarray, season: int, power: float) -> tuple[np.ndarray, ...]:
    """Core over the last axis: (scale, has_nonzero, n_valid_differences)."""
    x = np.asarray(values, dtype=float)
    n = x.shape[-1]
    nonzero = np.nan_to_num(x, nan=0.0) > 0
    has = nonzero.any(axis=-1)
    first = np.where(has, nonzero.argmax(axis=-1), n)
    if n <= season:
        shape = x.shape[:-1]
        return np.full(shape, np.nan), has, np.zeros(shape, dtype=int)
    diffs = np.abs(x[..., season:] - x[..., :-season]) ** power
    t = np.arange(season, n)
    valid = (t >= first[..., None] + season) & np.isfinite(diffs)
    n_valid = valid.sum(axis=-1)
    total = np.where(valid, diffs, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(n_valid > 0, total / np.maximum(n_valid, 1), np.nan)
    scale = np.where(scale > 0, scale, np.nan)
    return scale, has, n_valid


def _check_season(season: int) -> int:
    if isinstance(season, bool) or not isinstance(season, int | np.integer) or season < 1:
        raise ValueError(f"season must be a positive integer, got {season!r}")
    return int(season)


def naive_scale(
    train: xr.DataArray, *, season: int = 1, power: float = 1, dim: str = "time"
) -> xr.DataArray:
    """In-sample naive error of each series, counted from its first non-zero value.

    Parameters
    ----------
    train
        Training counts (NaN = not observed) with dim ``dim``.
    season
        Lag of the naive forecast: 1 (one-step naive, M5) or a seasonal period (e.g. 7).
    power
        1 for the MASE / pinball scale (mean absolute difference), 2 for the RMSSE scale (mean
        squared difference).
    dim
        The time dim.

    Returns
    -------
    xr.DataArray
        Scale over the remaining dims; NaN where it is 0 or undefined (see :func:`scale_reason`).

    Examples
    --------
    >>> y = xr.DataArray([[0, 0, 3, 5, 4], [0, 0, 0, 0, 0], [2, 2, 2, 2, 2]],
    ...                  dims=("series", "time"))
    >>> naive_scale(y).values.tolist()
    [1.5, nan, nan]
    >>> naive_scale(y, power=2).values.tolist()
    [2.5, nan, nan]
    """
    season = _check_season(season)
    out = xr.apply_ufunc(
        lambda v: _naive_errors(v, season, power)[0],
        train,
        input_core_dims=[[dim]],
        dask="forbidden",
    )
    out.attrs = {"long_name": f"in-sample naive error (lag {season}, power {power})",
                 "season": season, "power": power}
    return out


def scale_reason(train: xr.DataArray, *, season: int = 1, dim: str = "time") -> xr.DataArray:
    """Why a series' naive scale is undefined: ``""`` (usable) or a key of ``SCALE_REASONS``.

    Examples
    --------
    >>> y = xr.DataArray([[0, 0, 3, 5, 4], [0, 0, 0, 0, 0], [0, 0, 0, 0, 2], [2, 2, 2, 2, 2]],
    ...                  dims=("series", "time"))
    >>> scale_reason(y).values.tolist()
    ['', 'all zero', 'too short', 'constant']
    """
    season = _check_season(season)

    def _reason(values: np.ndarray) -> np.ndarray:
        scale, has, n_valid = _naive_errors(values, season, 1)
        out = np.full(scale.shape, "", dtype=object)
        out[np.isnan(scale)] = "constant"
        out[n_valid == 0] = "too short"
        out[~has] = "all zero"
        return out.astype(str)

    return xr.apply_ufunc(_reason, train, input_core_dims=[[dim]], dask="forbidden")


def _reduce_mean(values: xr.DataArray, dim: Dims) -> xr.DataArray:
    return values.mean(_as_dims(dim), skipna=True)


def mase(
    actual: xr.DataArray, forecast: xr.DataArray, scale: xr.DataArray, dim: Dims = "time"
) -> xr.DataArray:
    """Mean absolute scaled error: mean over ``dim`` of ``|actual - forecast| / scale``.

    ``scale`` is :func:`naive_scale` with ``power=1`` (it may vary along a dim that is
    averaged, e.g. per backtest origin). NaN scale gives a NaN score.

    Examples
    --------
    >>> a = xr.DataArray([3.0, 5, np.nan], dims="time")
    >>> f = xr.DataArray([4.0, 4, 4], dims="time")
    >>> float(mase(a, f, xr.DataArray(2.0)))   # (1 + 1) / 2 observed, / 2
    0.5
    """
    return _reduce_mean(abs(actual - forecast) / scale, dim)


def rmsse(
    actual: xr.DataArray, forecast: xr.DataArray, scale_sq: xr.DataArray, dim: Dims = "time"
) -> xr.DataArray:
    """Root mean squared scaled error: ``sqrt(mean((actual - forecast)**2 / scale_sq))``.

    ``scale_sq`` is :func:`naive_scale` with ``power=2`` (mean squared naive difference).

    Examples
    --------
    >>> a = xr.DataArray([3.0, 7], dims="time")
    >>> f = xr.DataArray([4.0, 4], dims="time")
    >>> float(rmsse(a, f, xr.DataArray(5.0)))   # sqrt((1 + 9) / 2 / 5)
    1.0
    """
    return np.sqrt(_reduce_mean((actual - forecast) ** 2 / scale_sq, dim))


def select_quantiles(quantiles: xr.DataArray, levels: Sequence[float]) -> xr.DataArray:
    """The ``quantile`` entries at ``levels`` (matched to 1e-9); ValueError if one is missing.

    Examples
    --------
    >>> q = xr.DataArray([1.0, 2, 3], dims="quantile", coords={"quantile": [0.1, 0.5, 0.9]})
    >>> select_quantiles(q, [0.9, 0.1]).values.tolist()
    [3.0, 1.0]
    """
    have = np.asarray(quantiles["quantile"].values, dtype=float)
    idx = []
    for level in levels:
        hit = np.flatnonzero(np.abs(have - float(level)) < _TOL)
        if hit.size == 0:
            raise ValueError(
                f"forecast has no quantile {level}; has {have.tolist()}"
            )
        idx.append(int(hit[0]))
    return quantiles.isel(quantile=idx)


def point_forecast(forecast: xr.Dataset, point: str = "mean") -> xr.DataArray:
    """The ``"mean"`` or ``"median"`` point forecast of a forecast (or backtest errors) Dataset.

    The median is the ``0.5`` entry of ``quantiles`` (the Bayes act under absolute error, so
    the point MASE should score); the mean is ``mean`` (the Bayes act under squared error).

    Examples
    --------
    >>> fc = xr.Dataset({"mean": ("time", [0.3]),
    ...                  "quantiles": (("time", "quantile"), [[0.0, 0.0, 1.0]])},
    ...                 coords={"quantile": [0.1, 0.5, 0.9]})
    >>> point_forecast(fc, "median").values.tolist(), point_forecast(fc).values.tolist()
    ([0.0], [0.3])
    """
    if point not in POINTS:
        raise ValueError(f"point must be one of {POINTS}, got {point!r}")
    if point == "mean":
        return forecast["mean"]
    med = select_quantiles(forecast["quantiles"], [0.5]).isel(quantile=0, drop=True)
    return med.rename("median")


def pinball_loss(actual: xr.DataArray, quantiles: xr.DataArray) -> xr.DataArray:
    """Pinball (quantile) loss per cell and quantile level (unscaled, not averaged).

    ``loss = (y - q) * tau`` if ``y >= q`` else ``(q - y) * (1 - tau)``.

    Examples
    --------
    >>> q = xr.DataArray([[2.0, 6.0]], dims=("time", "quantile"),
    ...                  coords={"quantile": [0.1, 0.9]})
    >>> pinball_loss(xr.DataArray([4.0], dims="time"), q).round(6).values.tolist()
    [[0.2, 0.2]]
    """
    tau = quantiles["quantile"]
    diff = actual - quantiles
    return xr.where(diff >= 0, diff * tau, -diff * (1 - tau)).where(diff.notnull())


def scaled_pinball(
    actual: xr.DataArray,
    quantiles: xr.DataArray,
    scale: xr.DataArray,
    dim: Dims = "time",
    levels: Sequence[float] = M5_QUANTILES,
) -> xr.DataArray:
    """Scaled pinball loss (M5 SPL), averaged over ``dim`` and the quantile ``levels``.

    Each level's mean pinball loss is divided by ``scale`` (:func:`naive_scale`, ``power=1``);
    the levels are weighted equally, as in the M5 WSPL for one series.

    Examples
    --------
    >>> q = xr.DataArray([[2.0, 6.0]], dims=("time", "quantile"),
    ...                  coords={"quantile": [0.1, 0.9]})
    >>> a = xr.DataArray([4.0], dims="time")
    >>> round(float(scaled_pinball(a, q, xr.DataArray(0.5), levels=(0.1, 0.9))), 6)
    0.4
    """
    loss = pinball_loss(actual, select_quantiles(quantiles, levels)) / scale
    dims = _as_dims(dim) or [d for d in loss.dims if d != "quantile"]
    return loss.mean([*dims, "quantile"], skipna=True).where(scale.notnull())


def interval_bounds(quantiles: xr.DataArray, level: float) -> tuple[xr.DataArray, xr.DataArray]:
    """Lower and upper quantile of the central interval with nominal coverage ``level``."""
    if not 0 < level < 1:
        raise ValueError(f"interval level must be in (0, 1), got {level}")
    lo, hi = select_quantiles(quantiles, [(1 - level) / 2, (1 + level) / 2])["quantile"].values
    return quantiles.sel(quantile=lo, drop=True), quantiles.sel(quantile=hi, drop=True)


def interval_hit(actual: xr.DataArray, quantiles: xr.DataArray, level: float) -> xr.DataArray:
    """1.0 where the actual lies in the central ``level`` interval (bounds included), else 0.0.

    NaN where the actual is not observed.

    Examples
    --------
    >>> q = xr.DataArray([[2.0, 6.0]] * 3, dims=("time", "quantile"),
    ...                  coords={"quantile": [0.1, 0.9]})
    >>> interval_hit(xr.DataArray([6.0, 7, np.nan], dims="time"), q, 0.8).values.tolist()
    [1.0, 0.0, nan]
    """
    lo, hi = interval_bounds(quantiles, level)
    inside = ((actual >= lo) & (actual <= hi)).astype(float)
    return inside.where(actual.notnull())


def coverage(
    actual: xr.DataArray, quantiles: xr.DataArray, level: float = 0.8, dim: Dims = "time"
) -> xr.DataArray:
    """Share of observed actuals inside the central ``level`` interval.

    The interval runs from quantile ``(1 - level) / 2`` to ``(1 + level) / 2``; coverage needs
    no scale, so it is defined for every series with an observed actual.

    Examples
    --------
    >>> q = xr.DataArray([[2.0, 6.0]] * 4, dims=("time", "quantile"),
    ...                  coords={"quantile": [0.25, 0.75]})
    >>> float(coverage(xr.DataArray([1.0, 2, 4, 9], dims="time"), q, level=0.5))
    0.5
    """
    return _reduce_mean(interval_hit(actual, quantiles, level), dim)


def pit_coverage(actual: Any, mean: Any, size: Any, level: float = 0.8,
                 band: tuple[float, float] | None = None) -> np.ndarray:  # fmt: skip
    """Expected share of the randomised PIT inside the central ``level`` band, per cell.

    A count's central interval is a set of whole numbers and cannot hold exactly ``level`` (on
    a series with 94 % zero days every interval containing 0 holds at least 0.94), so
    :func:`coverage` of a calibrated count forecaster exceeds ``level`` by how discrete the
    counts are. The randomised PIT of a count ``y`` under the predictive cdf ``F`` is uniform on
    ``[F(y - 1), F(y)]`` (Czado, Gneiting & Held 2009, "Predictive model assessment for count
    data", *Biometrics* 65:1254); its chance of falling in ``[(1 - level) / 2, (1 + level) /
    2]`` averages to exactly ``level`` over the cells of a calibrated forecaster, whatever the
    discreteness. ``mean`` and ``size`` give the negative binomial predictive distribution
    (``size`` infinite: Poisson); NaN actuals give NaN. ``band``: the PIT band ``(lo, hi)`` the
    issued interval stands for when its quantiles were asked at other levels than the nominal
    ones (a recalibrated model's ``calibrated_levels_``); default the central ``level`` band.

    Examples
    --------
    >>> from scipy import stats
    >>> rng = np.random.default_rng(0)
    >>> mu, r = np.full(20000, 0.4), np.full(20000, 2.0)
    >>> y = stats.nbinom.rvs(r, r / (r + mu), random_state=rng)
    >>> round(float(pit_coverage(y, mu, r, 0.8).mean()), 2)   # interval [0, 1] holds 0.95
    0.8
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    y, mu, r = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (actual, mean, size)))
    seen = np.isfinite(y) & np.isfinite(mu)
    yy, mm, rr = np.where(seen, np.round(y), 0.0), np.where(seen, mu, 1.0), np.where(seen, r, 1.0)
    hi, pmf = nb_cdf_pmf(yy, mm, rr)
    lo = np.clip(hi - pmf, 0.0, 1.0)
    a, b = ((1 - level) / 2, (1 + level) / 2) if band is None else (float(band[0]),
                                                                      float(band[1]))
    share = np.clip(np.minimum(hi, b) - np.maximum(lo, a), 0.0, None) / np.maximum(hi - lo, 1e-300)
    return np.where(seen, share, np.nan)


def bias(
    actual: xr.DataArray,
    forecast: xr.DataArray,
    dim: Dims = "time",
    scale: xr.DataArray | None = None,
) -> xr.DataArray:
    """Mean error ``forecast - actual`` (positive = over-forecast), scaled if ``scale`` given.

    Examples
    --------
    >>> a = xr.DataArray([3.0, 5], dims="time")
    >>> f = xr.DataArray([4.0, 8], dims="time")
    >>> float(bias(a, f)), float(bias(a, f, scale=xr.DataArray(2.0)))
    (2.0, 1.0)
    """
    err = forecast - actual
    if scale is not None:
        err = err / scale
    return _reduce_mean(err, dim)


def relative(score: xr.DataArray, baseline: xr.DataArray) -> xr.DataArray:
    """Ratio of a model's score to the baseline's (below 1 = better); NaN if the baseline is 0.

    For coverage pass the absolute coverage errors ``|coverage - level|``, for bias the absolute
    bias: the ratio is then "how far from ideal, relative to the baseline".

    Examples
    --------
    >>> relative(xr.DataArray([0.8, 1.0, 2.0]), xr.DataArray([1.0, 0.0, 1.0])).values.tolist()
    [0.8, nan, 2.0]
    """
    return score / baseline.where(baseline != 0)


def evaluate(
    actual: xr.DataArray,
    forecast: xr.Dataset,
    train: xr.DataArray,
    *,
    season: int = 1,
    dim: str = "time",
    levels: Sequence[float] = M5_QUANTILES,
    intervals: Sequence[float] = INTERVAL_LEVELS,
    point: str = "mean",
) -> xr.Dataset:
    """All scores of one forecast against its actuals, per series.

    Parameters
    ----------
    actual
        Observed counts over the forecast period (dim ``dim``).
    forecast
        Forecast Dataset with ``mean`` and ``quantiles`` over the same period.
    train
        The counts the model was fitted on (for the scales).
    season
        Lag of the naive scale (see module docstring).
    dim, levels, intervals
        Time dim; pinball quantile levels; central interval levels for coverage.
    point
        The point forecast MASE scores (:func:`point_forecast`): ``"mean"`` (default) or
        ``"median"`` (the Bayes act under absolute error). RMSSE and bias use the mean.

    Returns
    -------
    xr.Dataset
        ``mase``, ``rmsse``, ``spl``, ``bias`` (scaled), ``cov50``/``cov80``/``cov95`` and
        ``scale_reason`` over the series dims.

    Examples
    --------
    >>> t = xr.DataArray([1.0, 3, 2, 4], dims="time")
    >>> fc = xr.Dataset({"mean": ("time", [3.0, 3]),
    ...                  "quantiles": (("time", "quantile"), [[2.0, 4.0], [2.0, 4.0]])},
    ...                 coords={"quantile": [0.25, 0.75]})
    >>> s = evaluate(xr.DataArray([3.0, 5], dims="time"), fc, t, levels=(0.25, 0.75),
    ...              intervals=(0.5,))
    >>> round(float(s["mase"]), 4), float(s["cov50"])
    (0.6, 0.5)
    """
    scale = naive_scale(train, season=season, power=1, dim=dim)
    scale_sq = naive_scale(train, season=season, power=2, dim=dim)
    mean, quantiles = forecast["mean"], forecast["quantiles"]
    out = xr.Dataset(
        {
            "mase": mase(actual, point_forecast(forecast, point), scale, dim),
            "rmsse": rmsse(actual, mean, scale_sq, dim),
            "spl": scaled_pinball(actual, quantiles, scale, dim, levels),
            "bias": bias(actual, mean, dim, scale),
        }
    )
    for level in intervals:
        out[f"cov{round(level * 100)}"] = coverage(actual, quantiles, level, dim)
    out["scale_reason"] = scale_reason(train, season=season, dim=dim)
    out.attrs.update(season=season, scale_from="first non-zero value of the training part")
    return out
