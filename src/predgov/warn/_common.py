"""Shared maths of the detectors: series stacking, look-back windows, negative-binomial helpers.

Every detector works on a 2-D float array ``values[time, series]`` (NaN = not observed) and
returns arrays of the same shape. :func:`stack` turns a cube's ``counts`` into that array and
back, so the detectors are vectorised over all series of a cube at once.

"No look-ahead" is built into the window helpers: :func:`lagged_sum` and
:func:`lagged_windows` only ever look at rows ``t - lag - n + 1 .. t - lag`` with ``lag >= 0``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from predgov.data.cube import counts_of

#: Periods per year, period length in days and weekly-cycle length per cube frequency.
_FREQ_TABLE = {
    "D": (365.25, 1.0, 7),
    "W-MON": (365.25 / 7.0, 7.0, 0),
    "MS": (12.0, 365.25 / 12.0, 0),
}

#: Largest NB size treated as finite; above it the Poisson limit is used.
POISSON_SIZE = 1e8


def check_freq(freq: str) -> str:
    """Return ``freq`` if the detectors know it ("D", "W-MON", "MS"), else raise ValueError."""
    if freq not in _FREQ_TABLE:
        raise ValueError(f"freq must be one of {tuple(_FREQ_TABLE)}, got {freq!r}")
    return freq


def periods_per_year(freq: str) -> float:
    """Number of periods in a year (365.25 days, 52.18 weeks or 12 months).

    Examples
    --------
    >>> periods_per_year("MS")
    12.0
    """
    return _FREQ_TABLE[check_freq(freq)][0]


def period_days(freq: str) -> float:
    """Length of one period in days (1, 7 or 30.44).

    Examples
    --------
    >>> period_days("W-MON")
    7.0
    """
    return _FREQ_TABLE[check_freq(freq)][1]


def weekly_cycle(freq: str) -> int:
    """Length of the within-week cycle in periods: 7 for daily data, 0 (none) otherwise."""
    return _FREQ_TABLE[check_freq(freq)][2]


def infer_freq(da: xr.DataArray | xr.Dataset) -> str:
    """The cube frequency: ``attrs["freq"]`` of the object or of its ``time`` coordinate, else
    inferred from the time stamps.

    Examples
    --------
    >>> t = pd.date_range("2024-01-01", periods=5, freq="D")
    >>> infer_freq(xr.DataArray(np.zeros(5), coords={"time": t}, dims="time"))
    'D'
    """
    for attrs in (da.attrs, da["time"].attrs if "time" in da.coords else {}):
        freq = attrs.get("freq")
        if freq:
            return check_freq(str(freq))
    index = pd.DatetimeIndex(da["time"].values)
    guess = None
    if len(index) >= 3:
        step = index[1:] - index[:-1]
        if (step == pd.Timedelta(days=1)).all():
            guess = "D"
        elif (step == pd.Timedelta(days=7)).all() and (index.dayofweek == 0).all():
            guess = "W-MON"
        elif (index.day == 1).all() and (
            (index.month.values[1:] - index.month.values[:-1]) % 12 == 1
        ).all():
            guess = "MS"
    if guess is None:
        raise ValueError(
            "cannot tell the cube frequency: set counts.attrs['freq'] to 'D', 'W-MON' or 'MS'"
        )
    return check_freq(guess)


def as_counts(counts: xr.Dataset | xr.DataArray) -> xr.DataArray:
    """The ``counts`` DataArray of a cube (:func:`predgov.data.cube.counts_of`), with a
    Dataset's ``freq`` carried into its attrs."""
    da = counts_of(counts)
    if isinstance(counts, xr.Dataset) and "freq" not in da.attrs and "freq" in counts.attrs:
        da = da.copy()
        da.attrs["freq"] = counts.attrs["freq"]
    return da


@dataclass(frozen=True)
class Stacked:
    """A DataArray flattened to ``values[time, series]`` and the recipe to rebuild it."""

    values: np.ndarray
    template: xr.DataArray
    series_dims: tuple[str, ...]

    @property
    def series_shape(self) -> tuple[int, ...]:
        return tuple(self.template.sizes[d] for d in self.series_dims)

    def unstack(self, array: np.ndarray, name: str | None = None, attrs: dict | None = None):
        """Rebuild a DataArray with the template's dims and coords from ``array[time, series]``."""
        shape = (array.shape[0], *self.series_shape)
        out = xr.DataArray(
            np.asarray(array).reshape(shape),
            dims=("time", *self.series_dims),
            coords=self.template.coords,
            name=name,
            attrs=attrs or {},
        )
        return out.transpose(*self.template.dims)

    def unstack_series(self, vector: np.ndarray, name: str | None = None) -> xr.DataArray:
        """A DataArray over the series dims (no time) from one value per series."""
        coords = {k: v for k, v in self.template.coords.items() if "time" not in v.dims}
        return xr.DataArray(
            np.asarray(vector).reshape(self.series_shape),
            dims=self.series_dims,
            coords=coords,
            name=name,
        )

    def series_labels(self) -> list[str]:
        """One label per series, e.g. ``"市南/parking"`` (dim values joined by '/')."""
        if not self.series_dims:
            return [str(self.template.name or "series")]
        grids = [np.asarray(self.template[d].values).astype(str) for d in self.series_dims]
        mesh = np.meshgrid(*grids, indexing="ij")
        return ["/".join(parts) for parts in zip(*(m.ravel() for m in mesh), strict=True)]


def stack(da: xr.DataArray) -> Stacked:
    """Flatten every non-time dim into one series axis (C order), as float64 with NaN kept.

    Examples
    --------
    >>> da = xr.DataArray(np.arange(12).reshape(3, 2, 2), dims=("time", "district", "category"))
    >>> s = stack(da)
    >>> s.values.shape
    (3, 4)
    >>> bool((s.unstack(s.values) == da).all())
    True
    """
    if "time" not in da.dims:
        raise ValueError(f"counts need a 'time' dim, got dims {da.dims}")
    others = tuple(d for d in da.dims if d != "time")
    ordered = da.transpose("time", *others)
    values = np.asarray(ordered.values, dtype=np.float64).reshape(da.sizes["time"], -1)
    return Stacked(values=values, template=da, series_dims=others)


def lagged_sum(x: np.ndarray, n: int, lag: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Sum and number of observed (non-NaN) values in rows ``t-lag-n+1 .. t-lag`` of ``x``.

    Windows that reach before the first row are truncated (fewer observed values). Only past
    rows are used when ``lag >= 1``; ``lag = 0`` includes row ``t`` itself.

    Examples
    --------
    >>> s, k = lagged_sum(np.array([1.0, 2.0, np.nan, 4.0]), n=2, lag=1)
    >>> s.tolist(), k.tolist()
    ([0.0, 1.0, 3.0, 2.0], [0.0, 1.0, 2.0, 1.0])
    """
    if lag < 0 or n < 1:
        raise ValueError("need lag >= 0 and n >= 1")
    x = np.asarray(x, dtype=np.float64)
    observed = ~np.isnan(x)
    zero = np.zeros((1, *x.shape[1:]))
    cs = np.concatenate([zero, np.cumsum(np.where(observed, x, 0.0), axis=0)])
    cn = np.concatenate([zero, np.cumsum(observed, axis=0, dtype=np.float64)])
    t = np.arange(x.shape[0])
    hi = np.clip(t - lag + 1, 0, x.shape[0])
    lo = np.clip(t - lag - n + 1, 0, x.shape[0])
    return cs[hi] - cs[lo], cn[hi] - cn[lo]


def lagged_windows(x: np.ndarray, n: int, lag: int = 1) -> np.ndarray:
    """Array ``w[t, ..., j]`` = ``x[t - lag - n + 1 + j]`` (NaN before the first row).

    Examples
    --------
    >>> lagged_windows(np.arange(4.0), n=2, lag=1).tolist()
    [[nan, nan], [nan, 0.0], [0.0, 1.0], [1.0, 2.0]]
    """
    if lag < 0 or n < 1:
        raise ValueError("need lag >= 0 and n >= 1")
    x = np.asarray(x, dtype=np.float64)
    pad = np.full((n + lag - 1, *x.shape[1:]), np.nan)
    padded = np.concatenate([pad, x], axis=0)
    view = np.lib.stride_tricks.sliding_window_view(padded, n, axis=0)
    return view[: x.shape[0]]


def nb_size(mu: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """NB size ``r`` with variance ``phi * mu`` (quasi-Poisson plug-in): ``mu / (phi - 1)``;
    :data:`POISSON_SIZE` where ``phi <= 1``."""
    mu = np.asarray(mu, dtype=np.float64)
    excess = np.asarray(phi, dtype=np.float64) - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        size = np.where(excess > 1e-9, mu / np.where(excess > 1e-9, excess, 1.0), POISSON_SIZE)
    return np.clip(size, 1e-6, POISSON_SIZE)


def nb_logsf(y: np.ndarray, mu: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Natural log of the upper tail ``P(Y >= y)`` of a negative binomial with mean ``mu`` and
    size ``size`` (variance ``mu + mu**2 / size``); Poisson where size >= :data:`POISSON_SIZE`.

    Examples
    --------
    >>> round(float(np.exp(nb_logsf(np.array(3.0), np.array(1.0), np.array(1e9)))), 6)
    0.080301
    """
    y, mu, size = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (y, mu, size)))
    out = np.full(y.shape, np.nan)
    ok = np.isfinite(y) & np.isfinite(mu) & np.isfinite(size)
    k = np.ceil(y[ok]) - 1.0  # P(Y >= y) = sf(ceil(y) - 1)
    m = np.maximum(mu[ok], 1e-12)
    r = size[ok]
    pois = r >= POISSON_SIZE
    res = np.empty(k.shape)
    res[pois] = stats.poisson.logsf(k[pois], m[pois])
    rn = r[~pois]
    res[~pois] = stats.nbinom.logsf(k[~pois], rn, rn / (rn + m[~pois]))
    out[ok] = np.where(k < 0, 0.0, res)
    return out


def nb_quantile(q: float, mu: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Quantile ``q`` of a negative binomial (mean ``mu``, size ``size``); Poisson for huge size.

    Examples
    --------
    >>> float(nb_quantile(0.95, np.array(10.0), np.array(1e9)))
    15.0
    """
    mu, size = np.broadcast_arrays(np.asarray(mu, dtype=np.float64), np.asarray(size, float))
    out = np.full(mu.shape, np.nan)
    ok = np.isfinite(mu) & np.isfinite(size)
    m = np.maximum(mu[ok], 1e-12)
    r = size[ok]
    pois = r >= POISSON_SIZE
    res = np.empty(m.shape)
    res[pois] = stats.poisson.ppf(q, m[pois])
    rn = r[~pois]
    res[~pois] = stats.nbinom.ppf(q, rn, rn / (rn + m[~pois]))
    out[ok] = res
    return out


def surprise(y: np.ndarray, mu: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Upper-tail surprise ``-log10 P(Y >= y)`` (0 for ``y <= 0``, NaN where anything is NaN).

    Alarm at level ``alpha`` is ``surprise > -log10(alpha)``.
    """
    return -nb_logsf(y, mu, size) / math.log(10.0)


def day_of_week(time: np.ndarray) -> np.ndarray:
    """ISO weekday index 0 (Monday) .. 6 (Sunday) of datetime64 stamps."""
    days = np.asarray(time, dtype="datetime64[D]").astype(np.int64)
    return (days + 3) % 7


def resolve_range(time: np.ndarray, start: object = None, end: object = None) -> tuple[int, int]:
    """Row range ``[i0, i1)`` of ``time`` covering ``start..end`` (inclusive; None = open)."""
    index = pd.DatetimeIndex(time)
    i0 = 0 if start is None else int(index.searchsorted(pd.Timestamp(start), side="left"))
    i1 = len(index) if end is None else int(index.searchsorted(pd.Timestamp(end), side="right"))
    return i0, max(i0, i1)


def quiet_series(values: np.ndarray, min_observed: int = 2) -> np.ndarray:
    """Series (columns) that cannot be monitored: all zero / all NaN, or fewer than
    ``min_observed`` observed periods."""
    observed = ~np.isnan(values)
    total = np.nansum(values, axis=0)
    return (observed.sum(axis=0) < min_observed) | (total <= 0)


DetectorFunc = Callable[..., dict[str, np.ndarray]]
