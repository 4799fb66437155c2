"""Forecast exceedance: alarm when a count is above an upper quantile of its one-step forecast.

The forecast is a small internal one: a recent level x a weekday profile (daily data), with a
negative-binomial dispersion estimated from the forecast's own past errors
(:func:`one_step_forecast`). It is written so that a real forecaster can replace it: pass
``expected`` (one-step-ahead means made without look-ahead) and optionally ``size`` (NB size) or
``upper`` (the quantile itself) to :func:`exceedance` / ``detect(..., method="exceedance")``.

Score: the upper-tail surprise ``-log10 P(Y >= y)`` under NB(expected, size); alarm when it
exceeds ``-log10(alpha)``, i.e. when ``y`` is above the ``1 - alpha`` quantile. When only an
``upper`` quantile is given, the score is the count itself and the threshold is ``upper``.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np

from predgov.warn._common import (
    POISSON_SIZE,
    day_of_week,
    lagged_sum,
    nb_quantile,
    periods_per_year,
    surprise,
    weekly_cycle,
)

#: Default look-back of the level, per frequency (periods).
LEVEL_WINDOW = {"D": 28, "W-MON": 8, "MS": 4}
#: Days back to "the same day last year" (52 weeks: keeps the weekday).
YEAR_LAG = 364
#: Default look-back of the weekday profile (days; daily data only).
WEEKDAY_WINDOW = 84
#: Default look-back of the dispersion estimate, per frequency (periods).
DISPERSION_WINDOW = {"D": 84, "W-MON": 26, "MS": 12}


def one_step_forecast(
    values: np.ndarray,
    time: np.ndarray,
    freq: str,
    *,
    level_window: int | None = None,
    weekday_window: int = WEEKDAY_WINDOW,
    dispersion_window: int | None = None,
    guard: int = 0,
    weekday_prior: float = 7.0,
    yearly: bool = False,
    yearly_halfwidth: int = 2,
    yearly_prior: float = 3.0,
    min_observed: int = 5,
) -> tuple[np.ndarray, np.ndarray]:
    """One-step-ahead negative-binomial forecast of every series, without look-ahead.

    The mean at ``t`` is ``level x weekday factor`` where the level is the weekday-adjusted mean
    of rows ``t-guard-level_window .. t-guard-1`` and the weekday factors (daily data only) are
    the shrunken weekday means of the last ``weekday_window`` days over their overall mean. The
    NB size comes from the method of moments on the forecast's errors over the last
    ``dispersion_window`` periods, so it includes the error of estimating the level.

    Parameters
    ----------
    values
        ``values[time, series]`` float counts, NaN = not observed.
    time
        The ``datetime64`` time stamps of the rows (for the weekday).
    freq
        "D", "W-MON" or "MS".
    level_window, weekday_window, dispersion_window
        Look-backs in periods (defaults :data:`LEVEL_WINDOW`, 84 days, :data:`DISPERSION_WINDOW`).
    guard
        Most recent periods left out of the level and weekday profile (a guard band).
    weekday_prior
        Pseudo-days pulling each weekday factor towards 1.
    min_observed
        Fewer observed periods in the level window: NaN forecast.

    Returns
    -------
    mean, size
        Arrays like ``values``; NaN where there is not enough history.

    Examples
    --------
    >>> t = np.arange("2024-01-01", "2024-03-01", dtype="datetime64[D]")
    >>> y = np.full((len(t), 1), 4.0)
    >>> mean, size = one_step_forecast(y, t, "D")
    >>> float(mean[-1, 0]), bool(size[-1, 0] >= 1e8)
    (4.0, True)
    """
    x = np.asarray(values, dtype=np.float64)
    n_level = int(level_window or LEVEL_WINDOW[freq])
    n_disp = int(dispersion_window or DISPERSION_WINDOW[freq])
    lag = int(guard) + 1
    cycle = weekly_cycle(freq)
    if cycle:
        dow = day_of_week(time)
        masked = [np.where((dow == d)[:, None], x, np.nan) for d in range(cycle)]

        def weekday_sums(n: int, at: int) -> tuple[np.ndarray, np.ndarray]:
            pairs = [lagged_sum(xd, n, at) for xd in masked]
            return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])

        sw, cw = weekday_sums(weekday_window, lag)  # (7, T, S)
        with np.errstate(invalid="ignore", divide="ignore"):
            overall = sw.sum(0) / cw.sum(0)
            prior = weekday_prior * overall
            factor = (sw + prior) / (cw * overall + prior)
            factor = factor / factor.mean(axis=0, keepdims=True)
            factor = np.where(np.isfinite(factor), factor, 1.0)
            sl, cl = weekday_sums(n_level, lag)
            level = sl.sum(0) / (cl * factor).sum(0)
            if yearly:
                # last year (52 weeks back): level at the same date / level of the window
                ya, na = weekday_sums(2 * yearly_halfwidth + 1, YEAR_LAG - yearly_halfwidth)
                yb, nb = weekday_sums(n_level, YEAR_LAG + lag)
                a = (ya / factor).sum(0)
                na_adj = na.sum(0)
                b = yb.sum(0) / (nb * factor).sum(0)
                ratio = (a + yearly_prior * b) / ((na_adj + yearly_prior) * b)
                ratio = np.where(np.isfinite(ratio) & (na_adj > 0), ratio, 1.0)
                level = level * ratio
        n_obs = cl.sum(0)
        today = factor[dow, np.arange(x.shape[0])]  # factor of each row's own weekday
        mean = level * today
    else:
        s, n_obs = lagged_sum(x, n_level, lag)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = s / n_obs
    mean = np.where(n_obs >= min_observed, mean, np.nan)

    # Dispersion by moments on past one-step errors: sum (y-mu)^2 = sum mu + sum mu^2 / size.
    err2 = (x - mean) ** 2
    usable = np.isfinite(err2)
    a, _ = lagged_sum(np.where(usable, err2, np.nan), n_disp, 1)
    b, k = lagged_sum(np.where(usable, mean, np.nan), n_disp, 1)
    c, _ = lagged_sum(np.where(usable, mean**2, np.nan), n_disp, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        inv_size = np.clip((a - b) / c, 0.0, 10.0)
    inv_size = np.where((k >= min_observed) & (c > 0), inv_size, 0.0)
    with np.errstate(divide="ignore"):
        size = np.where(inv_size > 1.0 / POISSON_SIZE, 1.0 / inv_size, POISSON_SIZE)
    size = np.where(np.isnan(mean), np.nan, size)
    return mean, size


def exceedance(
    values: np.ndarray,
    time: np.ndarray,
    freq: str,
    *,
    alpha: float = 0.001,
    threshold: float | None = None,
    expected: np.ndarray | None = None,
    size: np.ndarray | None = None,
    upper: np.ndarray | None = None,
    level_window: int | None = None,
    guard: int = 0,
    baseline: str = "level",
    city: str | None = None,
    regressors: Any = None,
    groups: np.ndarray | None = None,
    model: dict[str, Any] | None = None,
    start: object = None,
    end: object = None,
) -> dict[str, np.ndarray]:
    """Score every cell by how far above its one-step forecast it is.

    Parameters
    ----------
    values, time, freq
        ``values[time, series]`` (NaN = not observed), the time stamps, the frequency.
    alpha
        One-sided level: alarm when ``P(Y >= y) < alpha`` under the forecast distribution.
    threshold
        Threshold on the score, overriding ``-log10(alpha)``.
    expected, size, upper
        A forecaster's one-step means (same shape as ``values``), NB sizes and/or upper
        quantiles. With ``upper`` the alarm is ``y > upper``. With ``expected`` and no ``size``,
        the size is estimated from the errors of ``expected``. Default: the internal
        :func:`one_step_forecast`.
    level_window, guard
        Passed to :func:`one_step_forecast`.
    baseline, city, regressors, groups, model, start, end
        The expected-count model when ``expected`` is not given, as for
        :func:`~predgov.warn.cusum.nb_cusum`: ``"level"`` (:func:`one_step_forecast`) or
        ``"calendar"`` (:func:`~predgov.warn.expected.expected_counts`).

    Returns
    -------
    dict
        ``score``, ``threshold``, ``expected``, ``upper`` arrays like ``values``.

    Examples
    --------
    >>> t = np.arange("2024-01-01", "2024-03-01", dtype="datetime64[D]")
    >>> y = np.full((len(t), 1), 4.0); y[-1] = 15
    >>> out = exceedance(y, t, "D")
    >>> bool(out["score"][-1, 0] > out["threshold"][-1, 0]), float(out["upper"][-1, 0])
    (True, 11.0)
    """
    x = np.asarray(values, dtype=np.float64)
    if upper is not None:
        up = np.broadcast_to(np.asarray(upper, dtype=np.float64), x.shape)
        mu = (
            np.broadcast_to(np.asarray(expected, dtype=np.float64), x.shape)
            if expected is not None
            else np.full(x.shape, np.nan)
        )
        return {"score": x.copy(), "threshold": np.array(up), "expected": np.array(mu),
                "upper": np.array(up)}  # fmt: skip
    if expected is None:
        mu, r = baseline_forecast(
            x, time, freq, baseline, level_window=level_window, guard=guard, city=city,
            regressors=regressors, groups=groups, model=model, start=start, end=end,
        )  # fmt: skip
    else:
        mu = np.broadcast_to(np.asarray(expected, dtype=np.float64), x.shape)
        r = size
        if r is None:
            r = _size_from_errors(x, mu, freq)
    r = np.broadcast_to(np.asarray(r, dtype=np.float64), x.shape)
    h = -math.log10(alpha) if threshold is None else float(threshold)
    return {
        "score": surprise(x, mu, r),
        "threshold": np.full(x.shape, h),
        "expected": np.array(mu),
        "upper": nb_quantile(1.0 - 10.0**-h, mu, r),
    }


def _size_from_errors(x: np.ndarray, mu: np.ndarray, freq: str) -> np.ndarray:
    """NB size by moments on the past errors of given one-step means (no look-ahead)."""
    n = DISPERSION_WINDOW[freq]
    usable = np.isfinite(x) & np.isfinite(mu)
    a, k = lagged_sum(np.where(usable, (x - mu) ** 2, np.nan), n, 1)
    b, _ = lagged_sum(np.where(usable, mu, np.nan), n, 1)
    c, _ = lagged_sum(np.where(usable, mu**2, np.nan), n, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        inv = np.where((k >= 5) & (c > 0), np.clip((a - b) / c, 0.0, 10.0), 0.0)
        return np.where(inv > 1.0 / POISSON_SIZE, 1.0 / inv, POISSON_SIZE)


#: Small cache of calendar-baseline fits (a benchmark scores the same cube with two detectors).
_CACHE: dict[str, tuple[np.ndarray, np.ndarray]] = {}
_CACHE_SIZE = 4


def baseline_forecast(
    x: np.ndarray,
    time: np.ndarray,
    freq: str,
    baseline: str = "level",
    *,
    level_window: int | None = None,
    guard: int = 0,
    city: str | None = None,
    regressors: Any = None,
    groups: np.ndarray | None = None,
    model: dict[str, Any] | None = None,
    start: object = None,
    end: object = None,
) -> tuple[np.ndarray, np.ndarray]:
    """In-control means and NB sizes from the chosen baseline ("level" or "calendar").

    ``"calendar"`` falls back to ``"level"`` in the periods where a series has less than a
    year of history (from its first observed period): the yearly and calendar terms cannot be
    estimated yet, and on the short real Brooklyn series the level baseline gives fewer false
    alarms (``benchmarks/warn_quality.py``).
    """
    if baseline == "level":
        return one_step_forecast(x, time, freq, level_window=level_window, guard=guard)
    if baseline != "calendar":
        raise ValueError(f"baseline must be 'level' or 'calendar', got {baseline!r}")
    mu, size = _calendar_forecast(
        x, time, freq, guard=guard, city=city, regressors=regressors, groups=groups,
        model=model, start=start, end=end,
    )  # fmt: skip
    young = _young(x, freq)
    if young.any():
        mu_l, size_l = one_step_forecast(x, time, freq, level_window=level_window, guard=guard)
        mu = np.where(young, mu_l, mu)
        size = np.where(young, size_l, size)
    return mu, size


def _young(x: np.ndarray, freq: str) -> np.ndarray:
    """``[time, series]``: True where the series has less than a year of history."""
    year = round(periods_per_year(freq))
    observed = ~np.isnan(x)
    first = np.where(observed.any(0), observed.argmax(0), x.shape[0])
    return np.arange(x.shape[0])[:, None] - first[None, :] < year


def _calendar_forecast(
    x: np.ndarray,
    time: np.ndarray,
    freq: str,
    *,
    guard: int,
    city: str | None,
    regressors: Any,
    groups: np.ndarray | None,
    model: dict[str, Any] | None,
    start: object,
    end: object,
) -> tuple[np.ndarray, np.ndarray]:
    """Means and NB sizes of the calendar-aware model (cached by inputs)."""
    from predgov.warn.expected import expected_counts

    opts = dict(model or {})
    if guard:
        opts.setdefault("guard", guard)
    h = hashlib.sha1()
    for part in (x, np.asarray(time, dtype="datetime64[ns]"), groups):
        if part is not None:
            h.update(np.ascontiguousarray(part).tobytes())
    h.update(repr((freq, city, sorted(opts.items()), str(start), str(end))).encode())
    key = None
    if regressors is None or hasattr(regressors, "to_dataframe"):
        if regressors is not None:
            h.update(regressors.to_dataframe().to_csv().encode())
        key = h.hexdigest()
    if key is not None and key in _CACHE:
        mu, size = _CACHE[key]
        return mu.copy(), size.copy()
    out = expected_counts(
        x, time, freq, city=city, regressors=regressors, groups=groups, start=start, end=end,
        **opts,
    )  # fmt: skip
    if key is not None:
        while len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = (out["expected"], out["size"])
    return out["expected"].copy(), out["size"].copy()
