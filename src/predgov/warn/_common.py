"""Shared maths of the detectors: series stacking, look-back windows, negative-binomial helpers.

Every detector works on a 2-D float array ``values[time, series]`` (NaN = not observed) and
returns arrays of the same shape. :func:`stack` turns a cube's ``counts`` into that array and
back, so the detectors are vectorised over all series of a cube at once.

"No look-ahead" is built into the window helpers: :func:`lagged_sum` and
:func:`lagged_windows` only ever look at rows ``t - lag - n + 1 .. t - lag`` with ``lag >= 0``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import xarray as xr

from predgov.data.cube import counts_of
from predgov.data.freq import (
    Stacked,
    check_freq,
    freq_of,
    period_days,
    periods_per_year,
    stack,
    weekly_cycle,
)
from predgov.stats.nb import (
    POISSON_SIZE,
    moment_alpha,
    nb_log_upper,
    nb_ppf,
    size_from_alpha,
    size_from_phi,
    surprise,
)

# Frequencies and stacking (predgov.data.freq) and the NB toolkit (predgov.stats) under the
# names the detectors use.
__all__ = [
    "POISSON_SIZE",
    "Stacked",
    "as_counts",
    "check_freq",
    "day_of_week",
    "freq_of",
    "lagged_sum",
    "lagged_windows",
    "nb_log_upper",
    "nb_ppf",
    "period_days",
    "periods_per_year",
    "quiet_series",
    "resolve_range",
    "rolling_size",
    "size_from_phi",
    "stack",
    "surprise",
    "weekly_cycle",
]


def as_counts(counts: xr.Dataset | xr.DataArray) -> xr.DataArray:
    """The ``counts`` DataArray of a cube (:func:`predgov.data.cube.counts_of`), with a
    Dataset's ``freq`` carried into its attrs."""
    da = counts_of(counts)
    if isinstance(counts, xr.Dataset) and "freq" not in da.attrs and "freq" in counts.attrs:
        da = da.copy()
        da.attrs["freq"] = counts.attrs["freq"]
    return da


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


def rolling_size(
    sq: np.ndarray, first: np.ndarray, second: np.ndarray, window: int, min_n: int = 5
) -> np.ndarray:
    """NB size by moments over the ``window`` periods before each period (no look-ahead).

    ``sq``, ``first`` and ``second`` are per-period squared errors, means and squared means
    (NaN = not usable), as for :func:`predgov.stats.nb.moment_alpha`; periods with fewer than
    ``min_n`` usable periods in the window (or no mean) get the Poisson size
    :data:`POISSON_SIZE`.

    Examples
    --------
    >>> y = np.array([2.0, 6.0, 0.0, 8.0, 4.0, 4.0, 4.0])[:, None]
    >>> mu = np.full(y.shape, 4.0)
    >>> rolling_size((y - mu) ** 2, mu, mu**2, window=5, min_n=5)[-2:, 0].round(3).tolist()
    [4.0, 5.0]
    """
    a, k = lagged_sum(sq, window, 1)
    b, _ = lagged_sum(first, window, 1)
    c, _ = lagged_sum(second, window, 1)
    alpha = np.where((k >= min_n) & (c > 0), moment_alpha(a, b, c), 0.0)
    return size_from_alpha(alpha)


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
