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

import math
from typing import Any

import numpy as np

from predgov.warn._common import nb_ppf, surprise
from predgov.warn.baseline import (
    Baseline,
    BaselineCache,
    baseline_forecast,
    fit_baseline,
    one_step_forecast,
)

# The baselines live in predgov.warn.baseline; the level forecast is still importable from here.
__all__ = ["Baseline", "BaselineCache", "baseline_forecast", "exceedance", "one_step_forecast"]


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
    baseline: str | Baseline = "level",
    city: str | None = None,
    regressors: Any = None,
    groups: np.ndarray | None = None,
    model: dict[str, Any] | None = None,
    start: object = None,
    end: object = None,
    cache: BaselineCache | None = None,
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
    baseline, city, regressors, groups, model, start, end, cache
        The expected-count model when ``expected`` is not given, as for
        :func:`~predgov.warn.cusum.nb_cusum`: ``"level"`` (:func:`one_step_forecast`),
        ``"calendar"`` (:func:`~predgov.warn.expected.expected_counts`) or a fitted
        :class:`~predgov.warn.baseline.Baseline`; ``cache`` a caller's
        :class:`~predgov.warn.baseline.BaselineCache`.

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
    fitted = fit_baseline(x, time, freq, baseline, expected=expected, size=size,
                          level_window=level_window, guard=guard, city=city, regressors=regressors,
                          groups=groups, model=model, start=start, end=end, cache=cache)
    mu, r = fitted.expected, fitted.size
    h = -math.log10(alpha) if threshold is None else float(threshold)
    return {
        "score": surprise(x, mu, r),
        "threshold": np.full(x.shape, h),
        "expected": np.array(mu),
        "upper": nb_ppf(1.0 - 10.0**-h, mu, r),
    }
