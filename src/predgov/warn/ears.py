"""EARS C1, C2 and C3 (CDC Early Aberration Reporting System), as ``surveillance::earsC``.

With ``mu_t`` and ``s_t`` the mean and standard deviation (n - 1 denominator) of a 7-period
baseline and ``sigma_t = max(s_t, min_sigma)``:

* **C1**: baseline ``t-7 .. t-1``; score ``(y_t - mu_t) / sigma_t``.
* **C2**: baseline ``t-9 .. t-3`` (a 2-period guard band); same score.
* **C3**: ``sum_{i=0..2} max(0, C2_{t-i} - 1)`` (C2 of the current and two previous periods).

Thresholds follow ``surveillance`` (``alpha`` 0.001 for C1 and C2: ``qnorm(0.999) = 3.09``;
``alpha`` 0.025 for C3: ``qnorm(0.975) = 1.96``). The classic CDC values 3 / 3 / 2 are
``threshold=3`` / ``3`` / ``2``. ``min_sigma`` (default 0.5; ``surveillance`` defaults to 0)
stops sparse series with a constant baseline from alarming on a single extra count.

Unobserved periods (NaN) are left out of the baseline (the mean and SD use the observed ones;
at least ``min_baseline`` are needed) and have no score. For C3, a previous period without a
C2 value contributes 0.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from predgov.warn._common import lagged_windows

#: Default one-sided level per method (surveillance / CDC).
DEFAULT_ALPHA = {"C1": 0.001, "C2": 0.001, "C3": 0.025}
_LAG = {"C1": 1, "C2": 3, "C3": 3}


def ears_baseline(
    values: np.ndarray, method: str = "C1", baseline: int = 7, min_baseline: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and SD (``ddof=1``) of each period's EARS baseline (NaN when too few observed).

    Examples
    --------
    >>> mu, sd = ears_baseline(np.arange(10.0), "C2")
    >>> float(mu[-1]), round(float(sd[-1]), 4)
    (3.0, 2.1602)
    """
    method = _check_method(method)
    windows = lagged_windows(values, baseline, _LAG[method])
    n = np.sum(~np.isnan(windows), axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.nansum(windows, axis=-1) / n
        dev = np.where(np.isnan(windows), 0.0, windows - mu[..., None])
        sd = np.sqrt(np.sum(dev**2, axis=-1) / (n - 1))
    bad = n < max(2, min_baseline)
    return np.where(bad, np.nan, mu), np.where(bad, np.nan, sd)


def ears(
    values: np.ndarray,
    time: np.ndarray | None = None,
    freq: str = "D",
    *,
    method: str = "C1",
    alpha: float | None = None,
    threshold: float | None = None,
    baseline: int = 7,
    min_sigma: float = 0.5,
    min_baseline: int = 3,
) -> dict[str, np.ndarray]:
    """EARS C1 / C2 / C3 scores of every series.

    Parameters
    ----------
    values
        ``values[time, series]`` (NaN = not observed).
    time, freq
        Unused (EARS is frequency-free); accepted for a uniform detector signature.
    method
        "C1", "C2" or "C3".
    alpha
        One-sided level; the threshold is ``qnorm(1 - alpha)``. Default per method
        (:data:`DEFAULT_ALPHA`).
    threshold
        Threshold on the score, overriding ``alpha`` (classic CDC: 3, 3, 2).
    baseline
        Baseline length in periods (7).
    min_sigma
        Floor of the baseline SD.
    min_baseline
        Fewest observed baseline periods needed for a score.

    Returns
    -------
    dict
        ``score``, ``threshold``, ``expected`` (baseline mean) and ``upper`` (the count above
        which the period alarms).

    Examples
    --------
    >>> y = np.array([10, 12, 8, 11, 9, 10, 13, 20.0])[:, None]
    >>> round(float(ears(y, method="C1")["score"][-1, 0]), 4)
    5.5705
    """
    method = _check_method(method)
    x = np.asarray(values, dtype=np.float64)
    squeeze = x.ndim == 1
    if squeeze:
        x = x[:, None]
    if threshold is None:
        a = DEFAULT_ALPHA[method] if alpha is None else float(alpha)
        threshold = float(stats.norm.ppf(1.0 - a))
    h = float(threshold)
    mu, sd = ears_baseline(x, method, baseline, min_baseline)
    sigma = np.maximum(sd, min_sigma)
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = x - mu
        z = np.where(diff == 0, 0.0, diff / sigma)  # 0/0 on a flat baseline is no signal
    if method == "C3":
        excess = np.where(np.isnan(z), 0.0, np.maximum(0.0, z - 1.0))
        prev = np.zeros_like(excess)
        prev[1:] += excess[:-1]
        prev[2:] += excess[:-2]
        score = np.where(np.isnan(z), np.nan, excess + prev)
        upper = mu + sigma * (1.0 + np.maximum(h - prev, 0.0))
    else:
        score = z
        upper = mu + h * sigma
    out = {
        "score": score,
        "threshold": np.full(x.shape, h),
        "expected": mu,
        "upper": np.floor(upper),
    }
    if squeeze:
        out = {k: v[:, 0] for k, v in out.items()}
    return out


def _check_method(method: str) -> str:
    m = str(method).upper()
    if m not in _LAG:
        raise ValueError(f"EARS method must be C1, C2 or C3, got {method!r}")
    return m
