"""Empirical-Bayes shrinkage of per-series NB dispersions towards their group.

A series' predictive dispersion is estimated by moments from its own forecast errors
(:func:`predgov.stats.nb.moment_alpha`); with a few months of history, or counts so small that
the Poisson part of the variance dominates, that estimate is noisy (and can be negative).
Series of one group (a category, or all series of a fit) tend to share their overdispersion,
so each series' estimate is shrunk towards its group's by the normal-normal rule: weight
``tau2 / (tau2 + v)`` on its own estimate, with ``v`` the estimate's sampling variance and
``tau2`` the spread of the true values within the group (method of moments: the squared
deviations of the estimates from the centre minus their sampling variances, averaged with
precision weights; at least ``(MIN_REL_SPREAD * centre)**2``).

The sampling variance of a moment estimate from ``n`` errors of a count with mean ``m`` is
about ``2 (alpha + 1 / m)**2 / n`` (the variance of a squared normal deviation, ``2 var**2``,
divided by ``m**4``), evaluated at the group's centre ``alpha``, not at the series' own
estimate (which would give estimates that happen to be large the most weight). It is large
where the Poisson part ``1 / m`` swamps ``alpha`` (there the dispersion barely changes the
predictive distribution) and small for long, busy series, which keep their own. The shrinkage
is on the dispersion itself, not its log: a Poisson-like series' estimate scatters around 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from predgov.stats.nb import MAX_DISPERSION

__all__ = ["MIN_REL_SPREAD", "alpha_variance", "shrink_dispersion", "shrink_normal"]

#: Smallest spread (sd) of a group's true dispersions, relative to the group's centre.
MIN_REL_SPREAD = 0.25


def alpha_variance(alpha: Any, mean: Any, n: Any) -> np.ndarray:
    """Approximate sampling variance of a moment dispersion estimate from ``n`` errors of a
    count with mean ``mean`` and dispersion ``alpha``: ``2 (alpha + 1 / mean)**2 / n``.

    Examples
    --------
    >>> alpha_variance(0.1, np.array([100.0, 1.0]), 400).round(5).tolist()
    [6e-05, 0.00605]
    """
    a = np.maximum(np.asarray(alpha, dtype="float64"), 0.0)
    m = np.maximum(np.asarray(mean, dtype="float64"), 1e-6)
    n = np.maximum(np.asarray(n, dtype="float64"), 1.0)
    return 2.0 * (a + 1.0 / m) ** 2 / n


def shrink_dispersion(
    alpha: Any, mean: Any, n: Any, groups: Any = None, use: Any = None
) -> np.ndarray:
    """Dispersions shrunk towards their group's centre (empirical Bayes).

    Parameters
    ----------
    alpha
        Moment estimates, ``(..., series)`` (any leading dims are shrunk separately); may be
        negative (variance below Poisson) or NaN (no estimate: the centre is used).
    mean
        Mean count per period of each series (``(series,)`` or like ``alpha``).
    n
        Forecast errors behind each estimate (like ``alpha``).
    groups
        Group label of each series (``(series,)``); None: one group. Series of groups with
        fewer than two usable members form one group together.
    use
        Series whose estimates enter the group's centre and spread (default all); every series
        is shrunk.

    Returns
    -------
    np.ndarray
        Like ``alpha``, in ``[0, MAX_DISPERSION]``.

    Examples
    --------
    >>> a = np.array([0.05, 0.2, 0.1, 0.8])
    >>> out = shrink_dispersion(a, mean=np.full(4, 20.0), n=np.array([2000, 2000, 2000, 10]))
    >>> bool(abs(out[0] - 0.05) < 0.01 and out[3] < 0.5)  # few errors: pulled in
    True
    """
    alpha = np.asarray(alpha, dtype="float64")
    shape = alpha.shape
    S = shape[-1]
    a2 = alpha.reshape(-1, S)
    mean = np.broadcast_to(np.asarray(mean, dtype="float64"), shape).reshape(-1, S)
    n = np.broadcast_to(np.asarray(n, dtype="float64"), shape).reshape(-1, S)
    use = np.ones(S, dtype=bool) if use is None else np.asarray(use, dtype=bool)
    groups = np.zeros(S, dtype=np.intp) if groups is None else np.unique(
        np.asarray(groups).astype(str), return_inverse=True)[1] + 1  # fmt: skip
    # Groups with fewer than two usable members join one group (0) of all such series.
    size = np.bincount(groups[use], minlength=groups.max() + 1)
    groups = np.where(size[groups] < 2, 0, groups)
    out = np.clip(np.nan_to_num(a2, nan=0.0), 0.0, MAX_DISPERSION)
    for g in np.unique(groups):
        member = groups == g
        for row in range(a2.shape[0]):
            pool = member & use & np.isfinite(a2[row])
            if pool.sum() < 2:
                continue
            est = a2[row, pool]
            centre = max(float(np.median(est)), 0.0)
            for _ in range(2):  # weights at the centre, then the centre by those weights
                v = alpha_variance(centre, mean[row, pool], n[row, pool])
                centre = max(float((est / v).sum() / (1.0 / v).sum()), 0.0)
            v = alpha_variance(centre, mean[row, pool], n[row, pool])
            w = 1.0 / v  # precise estimates tell the spread of the true values best
            spread = float((w * ((est - centre) ** 2 - v)).sum() / w.sum())
            tau2 = max(spread, (MIN_REL_SPREAD * centre) ** 2, 1e-12)
            v_all = alpha_variance(centre, mean[row, member], n[row, member])
            k = tau2 / (tau2 + v_all)
            own = np.nan_to_num(a2[row, member], nan=centre)
            out[row, member] = k * own + (1.0 - k) * centre
    return np.clip(out, 0.0, MAX_DISPERSION).reshape(shape)


def shrink_normal(est: Any, var: Any, groups: Any = None, prior_var: float = 0.25) -> np.ndarray:
    """Estimates shrunk towards their group's precision-weighted centre (normal-normal
    empirical Bayes): weight ``tau2 / (tau2 + var)`` on a series' own estimate, ``tau2`` the
    spread of the true values in the group by moments (``>= 0``: a spread no larger than the
    sampling noise shrinks every series to the centre).

    NaN estimates (or infinite ``var``) get the centre. A group without two finite estimates
    has no spread to estimate: its series are shrunk towards 0 (for a level exponent, "no
    change with the level") with prior variance ``prior_var``.

    Examples
    --------
    >>> est = np.array([0.5, -0.4, 0.1, np.nan])
    >>> shrink_normal(est, np.full(4, 1.0)).round(3).tolist()  # noise only: all at the centre
    [0.067, 0.067, 0.067, 0.067]
    >>> shrink_normal(np.array([1.0, -1.0, 1.0]), np.full(3, 0.001)).round(2).tolist()
    [1.0, -1.0, 1.0]
    >>> shrink_normal(np.array([1.0]), np.array([0.25])).tolist()  # alone: half-way to 0
    [0.5]
    """
    est = np.asarray(est, dtype="float64")
    var = np.asarray(var, dtype="float64")
    S = est.size
    groups = np.zeros(S, dtype=np.intp) if groups is None else np.unique(
        np.asarray(groups).astype(str), return_inverse=True)[1]  # fmt: skip
    out = np.zeros(S)
    for g in np.unique(groups):
        member = groups == g
        pool = member & np.isfinite(est) & np.isfinite(var) & (var > 0)
        if pool.sum() < 2:
            centre, tau2 = 0.0, float(prior_var)
        else:
            w = 1.0 / var[pool]
            centre = float((w * est[pool]).sum() / w.sum())
            tau2 = max(float((w * ((est[pool] - centre) ** 2 - var[pool])).sum() / w.sum()), 0.0)
        v = np.where(np.isfinite(var[member]), var[member], np.inf)
        k = np.where(np.isfinite(est[member]), tau2 / (tau2 + v), 0.0)
        out[member] = k * np.nan_to_num(est[member]) + (1.0 - k) * centre
    return out
