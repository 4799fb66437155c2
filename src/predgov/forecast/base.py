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
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special

from predgov.data.cube import counts_of

#: Quantile levels of every forecast unless ``quantiles=`` says otherwise: the M5 levels plus
#: 0.1 and 0.9 (the 80 % interval).
DEFAULT_QUANTILES: tuple[float, ...] = (
    0.005, 0.025, 0.1, 0.165, 0.25, 0.5, 0.75, 0.835, 0.9, 0.975, 0.995,
)  # fmt: skip

#: Frequencies of a cube's time axis (DESIGN.md, "The cube").
FREQS = ("D", "W-MON", "MS")

#: Seasonal periods in periods of the axis: daily data have a week and a year, weekly and monthly
#: data a year.
SEASONAL_PERIODS: dict[str, tuple[float, ...]] = {
    "D": (7.0, 365.25),
    "W-MON": (52.18,),
    "MS": (12.0,),
}

#: Periods per year of each frequency.
PERIODS_PER_YEAR = {"D": 365.25, "W-MON": 365.25 / 7, "MS": 12.0}

#: Reasons recorded in ``fallback``.
NO_OBSERVATIONS = "no observations"
ALL_ZERO = "all zero"
TOO_SHORT = "shorter than one season"
FIT_FAILED = "fit failed"


class NotFittedError(RuntimeError):
    """``predict`` (or a fitted attribute) was used before ``fit``."""


# --------------------------------------------------------------------------- frequency helpers


def check_freq(freq: str) -> str:
    """Return ``freq`` if it is a cube frequency, else raise a ValueError naming the choices.

    Examples
    --------
    >>> check_freq("W-MON")
    'W-MON'
    """
    if freq not in FREQS:
        raise ValueError(f"freq must be one of {FREQS}, got {freq!r}")
    return freq


def seasonal_periods(freq: str) -> tuple[float, ...]:
    """Seasonal periods (in periods of ``freq``), shortest first.

    Examples
    --------
    >>> seasonal_periods("D")
    (7.0, 365.25)
    >>> seasonal_periods("MS")
    (12.0,)
    """
    return SEASONAL_PERIODS[check_freq(freq)]


def season_length(freq: str) -> int:
    """Length of the shortest season as a whole number of periods (D: 7, W-MON: 52, MS: 12).

    Examples
    --------
    >>> [season_length(f) for f in FREQS]
    [7, 52, 12]
    """
    return round(seasonal_periods(freq)[0]) if freq != "W-MON" else 52


def year_lag(freq: str) -> int:
    """Lag, in periods, of "the same period a year earlier" (daily: 364 days, same weekday).

    Examples
    --------
    >>> [year_lag(f) for f in FREQS]
    [364, 52, 12]
    """
    return {"D": 364, "W-MON": 52, "MS": 12}[check_freq(freq)]


def infer_freq(index: pd.DatetimeIndex) -> str | None:
    """The cube frequency of a regular index (``"D"``, ``"W-MON"``, ``"MS"``) or None.

    Examples
    --------
    >>> infer_freq(pd.date_range("2024-01-01", periods=3, freq="W-MON"))
    'W-MON'
    """
    if len(index) < 2:
        return None
    for freq in FREQS:
        expected = pd.date_range(index[0], periods=len(index), freq=freq)
        if len(expected) == len(index) and (expected.values == index.values).all():
            return freq
    return None


def future_times(last: Any, freq: str, horizon: int) -> pd.DatetimeIndex:
    """The ``horizon`` period labels after ``last``.

    Examples
    --------
    >>> future_times("2024-01-29", "MS", 2).strftime("%Y-%m-%d").tolist()
    ['2024-02-01', '2024-03-01']
    >>> future_times("2024-12-30", "W-MON", 1).strftime("%Y-%m-%d").tolist()
    ['2025-01-06']
    """
    check_freq(freq)
    start = pd.Timestamp(last)
    idx = pd.date_range(start, periods=horizon + 1, freq=freq)
    if idx[0] == start:
        idx = idx[1:]
    else:  # ``last`` is not on the grid (a month mid-way): the next labels after it
        idx = idx[:horizon]
    return pd.DatetimeIndex(idx.values.astype("datetime64[ns]"), name="time")


# --------------------------------------------------------------------------- count distributions


def nb_quantiles(
    mean: np.ndarray,
    size: np.ndarray | float,
    levels: Any = DEFAULT_QUANTILES,
    method: str = "integer",
) -> np.ndarray:
    """Quantiles of the negative binomial with ``mean`` and ``size`` (Poisson when size = inf).

    Variance is ``mean + mean**2 / size``. With ``method="integer"`` returns the smallest integer
    ``k`` with ``P(Y <= k) >= level`` (as ``scipy.stats.nbinom.ppf``); with ``method="mid"`` the
    quantile of the mid-distribution (the mass of ``k`` spread evenly over ``[k - 0.5, k + 0.5]``,
    clipped at 0): ``k - 0.5 + (level - P(Y < k)) / P(Y = k)``. Mid quantiles are continuous, so
    central intervals of small counts cover about their nominal rate instead of far more.
    Shape ``mean.shape + (len(levels),)``, float64. It walks the probability mass function up
    from a Cornish-Fisher start, many times faster than ``scipy.stats.nbinom.ppf`` on the
    moderate counts of hotline series; wide distributions use a bracketed search.

    Examples
    --------
    >>> nb_quantiles(np.array([0.0, 4.0]), np.inf, (0.1, 0.5, 0.9)).tolist()
    [[0.0, 0.0, 0.0], [2.0, 4.0, 7.0]]
    >>> from scipy import stats
    >>> q = nb_quantiles(np.array([3.0, 40.0]), 2.5, (0.025, 0.5, 0.975))
    >>> bool((q == stats.nbinom.ppf([0.025, 0.5, 0.975], 2.5, 2.5 / (2.5 + np.array([[3.0],
    ...     [40.0]])))).all())
    True
    >>> nb_quantiles(np.array([4.0]), np.inf, (0.5,), method="mid").round(3).tolist()
    [[3.841]]
    """
    if method not in ("integer", "mid"):
        raise ValueError(f"method must be 'integer' or 'mid', got {method!r}")
    levels = np.asarray(levels, dtype="float64")
    mean = np.asarray(mean, dtype="float64")
    shape = mean.shape
    mu = np.maximum(np.nan_to_num(mean.ravel(), nan=0.0), 0.0)
    r = np.broadcast_to(np.asarray(size, dtype="float64"), shape).ravel().copy()
    r = np.where(np.isfinite(r) & (r > 0), r, np.inf)
    r[r > 1e10] = np.inf
    order = np.argsort(levels, kind="stable")
    lv = levels[order]
    out = np.zeros((mu.size, lv.size))
    pos = mu > 0
    if pos.any():
        sd = np.sqrt(mu + np.where(np.isinf(r), 0.0, mu * mu / np.where(np.isinf(r), 1.0, r)))
        narrow = pos & (sd <= 40)
        wide = pos & ~narrow
        if narrow.any():
            k, below, mass = _nb_walk(mu[narrow], r[narrow], sd[narrow], lv)
            if method == "mid":  # reuse P(Y < k) and P(Y = k) from the walk
                with np.errstate(all="ignore"):
                    x = k - 0.5 + np.clip((lv[None, :] - below) / mass, 0.0, 1.0)
                k = np.maximum.accumulate(np.maximum(np.where(np.isfinite(x), x, k), 0.0), axis=1)
            out[narrow] = k
        if wide.any():
            k = _nb_search(mu[wide], r[wide], sd[wide], lv)
            if method == "mid":
                k = _mid_quantiles(k, mu[wide], r[wide], lv)
            out[wide] = k
    res = np.empty_like(out)
    res[:, order] = out
    return res.reshape((*shape, levels.size))


def _mid_quantiles(k: np.ndarray, mu: np.ndarray, r: np.ndarray, lv: np.ndarray) -> np.ndarray:
    """Mid-distribution quantiles from the integer ones ``k`` (rows: elements, cols: levels)."""
    out = k.copy()
    pos = mu > 0
    if not pos.any():
        return out
    kk = k[pos]
    m = np.broadcast_to(mu[pos, None], kk.shape).ravel()
    rr = np.broadcast_to(r[pos, None], kk.shape).ravel()
    kf = kk.ravel()
    below = np.where(kf > 0, _cdf(np.maximum(kf - 1.0, 0.0), m, rr), 0.0)
    mass = _pmf(kf, m, rr)
    lvl = np.broadcast_to(lv[None, :], kk.shape).ravel()
    with np.errstate(all="ignore"):
        x = kf - 0.5 + np.clip((lvl - below) / mass, 0.0, 1.0)
    x = np.where(np.isfinite(x), x, kf)
    out[pos] = np.maximum(x, 0.0).reshape(kk.shape)
    return np.maximum.accumulate(out, axis=1)


def _cdf(k: np.ndarray, mu: np.ndarray, r: np.ndarray) -> np.ndarray:
    pois = np.isinf(r)
    out = np.empty(k.shape)
    if pois.any():
        out[pois] = special.gammaincc(k[pois] + 1.0, mu[pois])
    nb = ~pois
    if nb.any():
        rr, m = r[nb], mu[nb]
        out[nb] = special.betainc(rr, k[nb] + 1.0, rr / (rr + m))
    return out


def _pmf(k: np.ndarray, mu: np.ndarray, r: np.ndarray) -> np.ndarray:
    pois = np.isinf(r)
    rr = np.where(pois, 1.0, r)
    lnb = (
        special.gammaln(k + rr) - special.gammaln(rr) - special.gammaln(k + 1.0)
        + rr * np.log(rr / (rr + mu)) + special.xlogy(k, mu / (rr + mu))
    )  # fmt: skip
    lpo = special.xlogy(k, mu) - mu - special.gammaln(k + 1.0)
    return np.exp(np.where(pois, lpo, lnb))


def _cornish_fisher(mu: np.ndarray, r: np.ndarray, sd: np.ndarray, level: float) -> np.ndarray:
    z = special.ndtri(level)
    skew = (1.0 + 2.0 * mu / np.where(np.isinf(r), np.inf, r)) / sd
    return mu + sd * (z + (z * z - 1.0) * skew / 6.0)


def _nb_walk(
    mu: np.ndarray, r: np.ndarray, sd: np.ndarray, lv: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quantiles by walking the pmf from below the lowest level (narrow distributions).

    Returns the integer quantiles and, at each, ``P(Y < k)`` and ``P(Y = k)``.
    """
    k = np.maximum(np.floor(_cornish_fisher(mu, r, sd, lv[0])) - 2.0, 0.0)
    cdf = _cdf(k, mu, r)
    pmf = _pmf(k, mu, r)
    pois = np.isinf(r)
    rr = np.where(pois, 0.0, r)
    q1 = np.where(pois, 1.0, mu / np.where(pois, 1.0, r + mu))  # 1 - p
    # Move down while P(Y <= k - 1) >= lowest level (only the elements still moving are
    # touched, so the cost is the total number of steps, not steps x elements).
    i = np.flatnonzero((k > 0) & (cdf - pmf >= lv[0]))
    while i.size:
        cdf[i] -= pmf[i]
        ratio = np.where(pois[i], k[i] / mu[i], k[i] / ((k[i] - 1.0 + rr[i]) * q1[i]))
        pmf[i] *= ratio
        k[i] -= 1.0
        i = i[(k[i] > 0) & (cdf[i] - pmf[i] >= lv[0])]
    out = np.zeros((mu.size, lv.size))
    below = np.zeros((mu.size, lv.size))
    mass = np.zeros((mu.size, lv.size))
    stuck = np.zeros(mu.size, dtype=bool)
    for j, level in enumerate(lv):
        i = np.flatnonzero((cdf < level) & ~stuck)
        while i.size:
            kn = k[i] + 1.0
            ratio = np.where(pois[i], mu[i] / kn, (kn - 1.0 + rr[i]) * q1[i] / kn)
            pmf[i] *= ratio
            cdf[i] += pmf[i]
            k[i] = kn
            below_level = cdf[i] < level
            # A pmf that underflowed to 0 would never reach the level: finish those by search.
            dead = below_level & (pmf[i] == 0.0)
            stuck[i[dead]] = True
            i = i[below_level & ~dead]
        out[:, j] = k
        below[:, j] = cdf - pmf
        mass[:, j] = pmf
    if stuck.any():
        ks = _nb_search(mu[stuck], r[stuck], sd[stuck], lv)
        out[stuck] = ks
        flat_k = ks.ravel()
        m = np.repeat(mu[stuck], lv.size)
        rr_s = np.repeat(r[stuck], lv.size)
        below[stuck] = np.where(
            flat_k > 0, _cdf(np.maximum(flat_k - 1.0, 0.0), m, rr_s), 0.0
        ).reshape(ks.shape)
        mass[stuck] = _pmf(flat_k, m, rr_s).reshape(ks.shape)
    return out, below, mass


def _nb_search(mu: np.ndarray, r: np.ndarray, sd: np.ndarray, lv: np.ndarray) -> np.ndarray:
    """Quantiles by a Cornish-Fisher start and unit steps checked on the cdf (wide ones)."""
    out = np.empty((mu.size, lv.size))
    for j, level in enumerate(lv):
        k = np.maximum(np.floor(_cornish_fisher(mu, r, sd, level)), 0.0)
        # Bracket: step down in sd/8 strides while the cdf is already above the level, up while
        # below, then bisect on integers.
        lo = k.copy()
        hi = k.copy()
        step = np.maximum(np.ceil(sd / 8.0), 1.0)
        c = _cdf(k, mu, r)
        above = c >= level
        for _ in range(200):
            i = np.flatnonzero(above & (lo > 0))
            if i.size == 0:
                break
            lo[i] = np.maximum(lo[i] - step[i], 0.0)
            still = _cdf(lo[i], mu[i], r[i]) >= level
            hi[i] = np.where(still, lo[i], hi[i])
            above[i] = still
        lo = np.where(c >= level, np.where(_cdf(lo, mu, r) >= level, lo - 1.0, lo), k)
        below = c < level
        for _ in range(200):
            i = np.flatnonzero(below)
            if i.size == 0:
                break
            hi[i] = hi[i] + step[i]
            below[i] = _cdf(hi[i], mu[i], r[i]) < level
            lo[i] = np.where(below[i], hi[i], lo[i])
        # Now cdf(lo) < level <= cdf(hi) (lo may be -1): bisect.
        while True:
            i = np.flatnonzero(hi - lo > 1)
            if i.size == 0:
                break
            mid = np.floor((lo[i] + hi[i]) / 2.0)
            ok = _cdf(mid, mu[i], r[i]) >= level
            hi[i] = np.where(ok, mid, hi[i])
            lo[i] = np.where(ok, lo[i], mid)
        out[:, j] = hi
    return np.maximum.accumulate(out, axis=1)


def nb_size_moments(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and negative-binomial size by moments along ``axis`` (NaN skipped).

    ``size`` is ``mean**2 / (var - mean)``; inf (Poisson) when the variance does not exceed the
    mean.

    Examples
    --------
    >>> m, r = nb_size_moments(np.array([[1.0, 5.0], [1.0, 0.0], [1.0, 10.0]]))
    >>> m.tolist(), r.round(2).tolist()
    ([1.0, 5.0], [inf, 1.25])
    """
    with np.errstate(all="ignore"):
        n = np.sum(~np.isnan(values), axis=axis)
        mean = np.where(n > 0, np.nansum(values, axis=axis) / np.maximum(n, 1), 0.0)
        dev = np.nan_to_num(values - np.expand_dims(mean, axis), nan=0.0)
        var = np.where(n > 1, np.sum(dev**2, axis=axis) / np.maximum(n - 1, 1), 0.0)
        excess = var - mean
        size = np.where(excess > 1e-9, mean**2 / np.where(excess > 1e-9, excess, 1.0), np.inf)
    size = np.where(size < 0.05, 0.05, size)
    return mean, size


# --------------------------------------------------------------------------- stacking series


@dataclass(frozen=True)
class SeriesLayout:
    """How the non-time dims of a counts array map to one ``series`` axis.

    ``dims``/``shape`` are the series dims in input order; ``coords`` every input coordinate
    without ``time``; ``labels`` a readable label per series ("市南/heating").
    """

    dims: tuple[str, ...]
    shape: tuple[int, ...]
    coords: dict[str, xr.Variable]

    @property
    def n_series(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    def labels(self) -> list[str]:
        """One "a/b" label per series, in stacking order."""
        if not self.dims:
            return ["series"]
        axes = [
            [str(v) for v in self.coords[d].values] if d in self.coords else
            [str(i) for i in range(n)]
            for d, n in zip(self.dims, self.shape, strict=True)
        ]  # fmt: skip
        grids = np.meshgrid(*[np.arange(n) for n in self.shape], indexing="ij")
        flat = [g.ravel() for g in grids]
        return ["/".join(axes[a][f[i]] for a, f in enumerate(flat)) for i in range(self.n_series)]

    def values_of(self, coord: str) -> np.ndarray | None:
        """The value of a series coordinate (e.g. ``category``) for every series, or None."""
        if coord not in self.coords:
            return None
        var = self.coords[coord]
        if not set(var.dims) <= set(self.dims):
            return None
        full = var.set_dims(dict(zip(self.dims, self.shape, strict=True)))
        return np.asarray(full.transpose(*self.dims).values).reshape(-1)


def stack_series(counts: xr.DataArray) -> tuple[np.ndarray, SeriesLayout]:
    """Counts ``(time, ...)`` as a float64 array ``(time, series)`` (NaN kept) plus its layout.

    Examples
    --------
    >>> da = xr.DataArray(np.arange(12).reshape(3, 2, 2), dims=("time", "district", "category"))
    >>> values, layout = stack_series(da)
    >>> values.shape, layout.dims
    ((3, 4), ('district', 'category'))
    """
    other = tuple(d for d in counts.dims if d != "time")
    da = counts.transpose("time", *other)
    shape = tuple(int(da.sizes[d]) for d in other)
    values = np.asarray(da.values, dtype="float64").reshape(da.sizes["time"], -1)
    coords = {
        str(k): v.variable for k, v in da.coords.items() if "time" not in v.dims and k != "time"
    }
    return values, SeriesLayout(other, shape, coords)


def unstack_series(
    array: np.ndarray, layout: SeriesLayout, lead_dims: tuple[str, ...] = (),
    trail_dims: tuple[str, ...] = (),
) -> tuple[tuple[str, ...], np.ndarray]:  # fmt: skip
    """Reshape ``array`` with a series axis after ``lead_dims`` back to the series dims.

    Returns the dims tuple and the reshaped array, ready for ``xr.DataArray``.

    Examples
    --------
    >>> da = xr.DataArray(np.zeros((3, 2, 5)), dims=("time", "district", "category"))
    >>> _, layout = stack_series(da)
    >>> dims, arr = unstack_series(np.zeros((4, 10)), layout, ("time",))
    >>> dims, arr.shape
    (('time', 'district', 'category'), (4, 2, 5))
    """
    lead = array.shape[: len(lead_dims)]
    trail = array.shape[len(lead_dims) + 1 :]
    out = array.reshape((*lead, *layout.shape, *trail))
    return (*lead_dims, *layout.dims, *trail_dims), out


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
    attrs_freq = counts.attrs.get("freq") if isinstance(counts, xr.Dataset) else None
    if "time" not in da.dims:
        raise ValueError(f"counts need a 'time' dimension, got dims {da.dims}")
    if "quantile" in da.dims:
        raise ValueError("counts must not have a 'quantile' dimension")
    if da.sizes["time"] < 1:
        raise ValueError("counts have an empty time axis")
    if not np.issubdtype(da.dtype, np.number) and da.dtype != bool:
        raise TypeError(f"counts must be numeric, got dtype {da.dtype}")
    index = pd.DatetimeIndex(da["time"].values)
    freq = da["time"].attrs.get("freq") or da.attrs.get("freq") or attrs_freq
    if freq is None:
        freq = infer_freq(index)
        if freq is None:
            raise ValueError(
                "cannot tell the frequency of the time axis: set counts.time.attrs['freq'] to "
                f"one of {FREQS}"
            )
    check_freq(freq)
    expected = pd.date_range(index[0], periods=len(index), freq=freq)
    if len(index) > 1 and not (expected.values == index.values).all():
        raise ValueError(f"the time axis is not a regular {freq!r} axis")
    if len(index) == 1 and expected[0] != index[0]:
        raise ValueError(f"the time label {index[0]} is not a {freq!r} period start")
    values = np.asarray(da.values, dtype="float64")
    if np.isinf(values).any():
        raise ValueError("counts contain infinite values")
    if (values < 0).any():
        raise ValueError("counts contain negative values")
    return da, freq


def default_regressor_names(regressors: xr.Dataset, freq: str) -> list[str]:
    """Numeric/boolean variables over ``time`` only, minus ones a model's seasonality covers.

    ``weekend`` is always left out (the weekly seasonality of daily data and the constant share
    of weekend days in weeks make it redundant); so is ``working_day`` for daily data (it is
    weekend, holiday and make-up day combined). Weekly and monthly data keep ``working_day``
    (the share of working days differs between months).

    Examples
    --------
    >>> t = pd.date_range("2024-01-01", periods=3, freq="D")
    >>> ds = xr.Dataset({"holiday": ("time", [True, False, False]),
    ...                  "weekend": ("time", [False] * 3), "name": ("time", ["a", "", ""])},
    ...                 coords={"time": t})
    >>> default_regressor_names(ds, "D")
    ['holiday']
    """
    skip = {"weekend"} | ({"working_day"} if freq == "D" else set())
    names = []
    for name, var in regressors.data_vars.items():
        if var.dims != ("time",) or name in skip:
            continue
        if var.dtype == bool or np.issubdtype(var.dtype, np.number):
            names.append(str(name))
    return names


def regressor_matrix(
    regressors: xr.Dataset | None, times: pd.DatetimeIndex, names: list[str], what: str
) -> np.ndarray:
    """Values of ``names`` at ``times`` as a float64 array ``(time, len(names))`` (NaN kept).

    Raises a ValueError naming the missing periods or variables.
    """
    if regressors is None:
        raise ValueError(
            f"this forecaster was fitted with regressors {names}: pass regressors covering the "
            f"{what} (e.g. predgov.data.calendar.calendar over it)"
        )
    if not isinstance(regressors, xr.Dataset):
        raise TypeError(f"regressors must be an xarray Dataset, got {type(regressors).__name__}")
    if "time" not in regressors.dims:
        raise ValueError("regressors need a 'time' dimension")
    missing = [n for n in names if n not in regressors]
    if missing:
        raise ValueError(f"regressors lack variables {missing} (have {list(regressors)})")
    have = pd.DatetimeIndex(regressors["time"].values)
    absent = times.difference(have)
    if len(absent):
        raise ValueError(
            f"regressors do not cover the {what}: {len(absent)} periods missing, first "
            f"{absent[0].date()} (regressors span {have.min().date()}..{have.max().date()})"
        )
    if not names:
        return np.zeros((len(times), 0))
    sub = regressors[names].sel(time=times)
    cols = []
    for n in names:
        var = sub[n]
        if var.dims != ("time",):
            raise ValueError(f"regressor {n!r} must be over ('time',) only, has dims {var.dims}")
        cols.append(np.asarray(var.values, dtype="float64"))
    return np.column_stack(cols)


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
        self._check_fitted()
        if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 1:
            raise ValueError(f"horizon must be a positive integer, got {horizon!r}")
        horizon = int(horizon)
        future = future_times(self.fit_origin_, self.freq_, horizon)
        X = None
        if self.regressor_names_:
            X = regressor_matrix(regressors, future, self.regressor_names_, "forecast periods")
        mean, quant = self._predict(horizon, X)
        return self._output(mean, quant, future)

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
