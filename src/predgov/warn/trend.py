"""Trend detector for slow "tendency" rises: a rolling log-linear slope test on counts.

Over the window of the last ``window`` periods ending at ``t`` (inclusive, no later data), the
score is the standardised Poisson score statistic for a log-linear slope, with an NB variance:

``z_t = sum_j (x_j - xbar) y_j / sqrt( (m + m^2 / r) * sum_j (x_j - xbar)^2 )``

where ``m`` is the window mean and ``r`` the NB size of the series, estimated without being
fooled by the trend itself: from differences a week apart (daily) or one period apart,
``E (y_t - y_{t-L})^2 / 2 ~ mu + mu^2 / r``, over the previous 112 periods. For daily data
``x_j`` is the *week* index inside the window (the window is a whole number of weeks), so
every weekday has the same ``x`` distribution and the weekly cycle cannot masquerade as a
trend. Under a constant mean ``z`` is about standard normal; alarm when
``z > qnorm(1 - alpha)`` (one-sided: rises only).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from predgov.warn._common import lagged_windows, rolling_size, weekly_cycle
from predgov.warn.baseline import one_step_forecast

#: Default window per frequency (periods): 4 weeks of days, 13 weeks, 12 months.
TREND_WINDOW = {"D": 28, "W-MON": 13, "MS": 12}


def trend(
    values: np.ndarray,
    time: np.ndarray,
    freq: str,
    *,
    window: int | None = None,
    alpha: float = 0.001,
    threshold: float | None = None,
    min_mean: float = 0.2,
) -> dict[str, np.ndarray]:
    """Rolling slope test for rising counts.

    Parameters
    ----------
    values, time, freq
        ``values[time, series]`` (NaN = not observed), the time stamps, the frequency.
    window
        Window length in periods (default :data:`TREND_WINDOW`; rounded up to whole weeks for
        daily data).
    alpha, threshold
        One-sided level (threshold ``qnorm(1 - alpha)``) or the threshold on ``z`` itself.
    min_mean
        Windows with a mean below this have no score (too sparse to speak of a trend).

    Returns
    -------
    dict
        ``score`` (z), ``threshold``, ``expected`` (the level before the window) and ``upper``
        (NaN: the trend test has no per-period count bound).

    Examples
    --------
    >>> t = np.arange("2024-01-01", "2024-04-01", dtype="datetime64[D]")
    >>> y = np.rint(np.linspace(10, 60, len(t)))[:, None]
    >>> out = trend(y, t, "D")
    >>> bool(out["score"][-1, 0] > out["threshold"][-1, 0])
    True
    """
    x = np.asarray(values, dtype=np.float64)
    cycle = weekly_cycle(freq)
    n = int(window or TREND_WINDOW[freq])
    if cycle:
        n = int(np.ceil(n / cycle) * cycle)
        pos = np.arange(n) // cycle
    else:
        pos = np.arange(n)
    pos = pos.astype(np.float64)
    win = lagged_windows(x, n, lag=0)  # rows t-n+1 .. t
    obs = (~np.isnan(win)).astype(np.float64)
    y0 = np.where(np.isnan(win), 0.0, win)
    k = obs.sum(-1)
    sy = y0.sum(-1)
    sxy = y0 @ pos
    sx = obs @ pos
    sxx = obs @ (pos**2)
    size = _size_from_differences(x, cycle or 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        xbar = sx / k
        m = sy / k
        u = sxy - xbar * sy
        ssx = sxx - xbar**2 * k
        r = np.where(np.isfinite(size), size, 1e8)
        z = u / np.sqrt((m + m**2 / r) * ssx)
    ok = (k >= max(3, n // 2)) & (m >= min_mean) & (ssx > 0) & ~np.isnan(x)
    score = np.where(ok, z, np.nan)
    h = float(stats.norm.ppf(1.0 - alpha)) if threshold is None else float(threshold)
    before, _ = one_step_forecast(x, time, freq, level_window=n, guard=n - 1)
    return {
        "score": score,
        "threshold": np.full(x.shape, h),
        "expected": before,
        "upper": np.full(x.shape, np.nan),
    }


def _size_from_differences(x: np.ndarray, lag: int, n: int = 112) -> np.ndarray:
    """NB size by moments on lagged differences (robust to slow trends and the weekly cycle):
    ``sum (y_t - y_{t-lag})^2 / 2 = sum mu + sum mu^2 / r`` with ``mu`` the pair means."""
    prev = np.full(x.shape, np.nan)
    prev[lag:] = x[:-lag]
    half_sq = (x - prev) ** 2 / 2.0
    mid = (x + prev) / 2.0
    ok = np.isfinite(half_sq)
    return rolling_size(half_sq, np.where(ok, mid, np.nan), np.where(ok, mid**2, np.nan), n)
