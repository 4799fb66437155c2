"""Rolling-origin forecasts inside the training data: the pieces :class:`~predgov.forecast.
nbglm.NBGLM` chooses its local level, predictive dispersion and recalibration with.

The GLM mean of every training period times the local level known at an earlier origin is a
forecast the model could have made then; scoring these forecasts against what followed is
how the model learns how wrong forecasts are *out of sample*, at each lead, without refitting.

* :func:`_level_paths`: exponentially weighted level ratios known at the end of every period
  (shared, or per day type: working days and rest days);
* :func:`_oos_errors`: those forecasts lead by lead; :func:`_oos_loss` their scaled absolute
  error (for choosing the level's span), :func:`_oos_dispersion` their NB dispersion by lead
  (``alpha0 + slope * h``), :func:`_oos_level_exponent` how it changes with the forecast's
  level, :func:`_pit_share` their probability integral transforms (for the quantile
  recalibration).

Arrays are ``(time, series)`` blocks; nothing here knows about cubes or calendars.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from predgov.stats.nb import MAX_DISPERSION, moment_alpha, nb_cdf_pmf, size_from_alpha

#: Origins of the rolling-origin forecasts: at most this many (the most recent periods).
_OOS_ORIGINS = 365
#: Fewer scored cells at the longest lead than this: the in-sample dispersion is used instead.
_MIN_OOS_CELLS = 20


def _ew_sums(
    y0: np.ndarray, mu0: np.ndarray, var0: np.ndarray, lam: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exponentially weighted sums (weights ``lam**age``) of counts, means and variances (the
    variances' weights squared)."""
    return _ew_sums_many(y0, mu0, var0, [lam])[0]


def _ew_sums_many(
    y0: np.ndarray, mu0: np.ndarray, var0: np.ndarray, lams: list[float]
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """:func:`_ew_sums` for several ``lams`` in one pass over the periods.

    The recursion ``out[t] = x[t] + lam * out[t - 1]`` along the periods (the operations of
    ``scipy.signal.lfilter([1], [1, -lam], x)``, so the same numbers), run for every ``lam``
    and the three arrays at once: one vector step per period instead of a filter call per span
    and array.

    Examples
    --------
    >>> x = np.arange(6.0).reshape(3, 2)
    >>> (num, den, vs), = _ew_sums_many(x, 2 * x, x, [0.5])
    >>> num[:, 0].tolist(), vs[:, 0].tolist()
    ([0.0, 2.0, 5.0], [0.0, 2.0, 4.5])
    >>> from scipy.signal import lfilter
    >>> bool(np.array_equal(num, lfilter([1.0], [1.0, -0.5], x, axis=0)))
    True
    """
    T, n = y0.shape
    k = len(lams)
    x = np.concatenate([y0, mu0, var0], axis=1)[:, None, :]  # (T, 1, 3n)
    coef = np.empty((k, 3 * n))
    for j, lam in enumerate(lams):
        coef[j, : 2 * n] = lam
        coef[j, 2 * n :] = lam * lam
    out = np.empty((T, k, 3 * n))
    if T:
        out[0] = x[0]
    for t in range(1, T):
        np.multiply(coef, out[t - 1], out=out[t])
        out[t] += x[t]
    return [(out[:, j, :n], out[:, j, n : 2 * n], out[:, j, 2 * n :]) for j in range(k)]


def _finite(x: np.ndarray) -> np.ndarray:
    """``np.nan_to_num(x)``, skipping its copies when ``x`` (a fresh array) is all finite."""
    return x if np.isfinite(x).all() else np.nan_to_num(x)


def _log_ratio(
    sums: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Log ratio of the weighted sums of counts and means, and its (delta-method) variance."""
    num, den, vs = sums
    with np.errstate(all="ignore"):
        log_ratio = np.log((num + 0.5) / (den + 0.5))
        v = vs / (den + 0.5) ** 2
    return _finite(log_ratio), v


def _span_lam(span: int) -> float:
    """Decay ``lam = (span - 1) / (span + 1)`` of an exponentially weighted ``span``."""
    return (span - 1.0) / (span + 1.0)


def _fill_sums(y0: np.ndarray, mu0: np.ndarray, var0: np.ndarray, spans: Any,
               memo: dict) -> None:  # fmt: skip
    """Put the weighted sums of all days for every span of ``spans`` not in ``memo`` yet into
    it (one pass: :func:`_ew_sums_many`), as :func:`_level_paths` keeps them."""
    todo = sorted({int(s) for s in spans if int(s) > 0 and (int(s), "all") not in memo})
    if todo:
        sums = _ew_sums_many(y0, mu0, var0, [_span_lam(s) for s in todo])
        memo.update({(s, "all"): v for s, v in zip(todo, sums, strict=True)})


def _level_paths(
    y0: np.ndarray, mu0: np.ndarray, var0: np.ndarray, span: int, prior: float,
    cls: np.ndarray | None = None, memo: dict | None = None,
    adaptive: bool | np.ndarray = False,
) -> np.ndarray:  # fmt: skip
    """Levels (multipliers of the GLM mean) known at the end of every period, for working days
    (0) and rest days (1): shape ``(2,) + y0.shape``.

    The shared level is the ratio of exponentially weighted sums of counts and fitted means
    (weights ``lam**age``, ``lam = (span - 1) / (span + 1)``: the mean age of an unweighted
    ``span``-period window), shrunk on the log scale towards 1 by its sampling variance
    against the prior variance; with ``cls=None`` both day types get it. Otherwise each day
    type's level is the shared one times the type's own deviation: the log ratio of its sums
    (over its own days only, same span) minus the shared log ratio, shrunk towards 0 by its
    sampling variance against the same prior. ``y0``, ``mu0``, ``var0`` are zero where a
    count is missing; ``memo`` (a dict) keeps the sums between calls on the same data. Where
    ``adaptive`` (True, or a boolean per series) the shared level's prior variance is the
    series' own, at least ``prior`` (:func:`_adaptive_prior`).
    """
    memo = {} if memo is None else memo
    lam = _span_lam(span)
    if (span, "all") not in memo:
        memo[span, "all"] = _ew_sums(y0, mu0, var0, lam)
    log_all, v_all = _log_ratio(memo[span, "all"])
    p_all = prior
    if np.any(adaptive):
        seen = np.cumsum(mu0 > 0, axis=0) >= span  # from the span's first observed periods
        p_all = np.where(adaptive, _adaptive_prior(log_all, v_all, prior, seen), prior)
    shared = np.exp(_finite(p_all / (p_all + v_all) * log_all))
    if cls is None:
        return np.broadcast_to(shared, (2, *shared.shape))
    if (span, "rest") not in memo:
        rest = (cls == 1)[:, None]
        memo[span, "rest"] = _ew_sums(y0 * rest, mu0 * rest, var0 * rest, lam)
    by_type = (
        tuple(a - b for a, b in zip(memo[span, "all"], memo[span, "rest"], strict=True)),
        memo[span, "rest"],
    )  # the sums are linear: working days' = all days' - rest days'
    out = np.empty((2, *shared.shape))
    for c, sums in enumerate(by_type):
        log_c, v_c = _log_ratio(sums)
        out[c] = shared * np.exp(_finite(prior / (prior + v_c) * (log_c - log_all)))
    return out


def _adaptive_prior(log_ratio: np.ndarray, v: np.ndarray, prior: float,
                    use: np.ndarray) -> np.ndarray:  # fmt: skip
    """Empirical-Bayes prior variance of the log level, per series: the mean over the periods
    ``use`` (``(time, series)``, boolean) of ``log_ratio**2 - v`` (the raw log level's square
    less its sampling variance: how far the level actually wanders from the GLM mean), at
    least ``prior`` (also where no period is used).

    A series too short for yearly terms leaves the whole seasonal movement to the level, which
    a fixed prior sd (0.1) holds back; a long series' GLM follows its season and keeps the
    floor.

    Examples
    --------
    >>> lr = np.array([[0.0, 0.9], [0.0, 0.5], [0.0, -0.5], [0.0, 0.5], [0.0, -0.5]])
    >>> use = np.array([[False] * 2] + [[True] * 2] * 4)
    >>> _adaptive_prior(lr, np.full((5, 2), 0.05), 0.01, use).round(3).tolist()
    [0.01, 0.2]
    """
    n = use.sum(axis=0)
    total = np.where(use, log_ratio**2 - v, 0.0).sum(axis=0)
    with np.errstate(all="ignore"):
        excess = np.where(n > 0, total / n, prior)
    return np.maximum(np.nan_to_num(excess, nan=prior), prior)


def _level_at(paths: np.ndarray, cls: np.ndarray, lo: int, hi: int, h: int,
              stride: int = 1) -> np.ndarray:  # fmt: skip
    """Levels known at origins ``lo:hi:stride`` for the periods ``h`` later, ``(n, series)``."""
    if paths.strides[0] == 0:  # one level for both day types (a broadcast shared path)
        return paths[0, lo:hi:stride]
    t = np.arange(lo, hi, stride)
    return paths[cls[t + h], t]


def _naive_mae(y: np.ndarray) -> np.ndarray:
    """Mean absolute one-step change per column (NaN skipped), at least 0.5: an error scale."""
    d = np.abs(np.diff(y, axis=0))
    ok = ~np.isnan(d)
    with np.errstate(all="ignore"):
        scale = np.where(ok, d, 0.0).sum(axis=0) / ok.sum(axis=0)
    return np.maximum(np.nan_to_num(scale, nan=1.0), 0.5)


def _oos_errors(
    y: np.ndarray, m: np.ndarray, mu: np.ndarray, paths: np.ndarray, cls: np.ndarray,
    leads: np.ndarray, stride: int = 1,
) -> Any:  # fmt: skip
    """Rolling-origin forecasts of ``mu * level`` inside the training periods, lead by lead.

    Origins are the periods after the first ``2 * max(leads)`` observed ones (at most the last
    ``_OOS_ORIGINS`` periods; every ``stride``-th). Yields ``(i, h, start, pred, valid)``: the
    forecasts of the periods ``start::stride`` made ``h`` periods earlier, and which of them
    are scored.
    """
    T = y.shape[0]
    origin_ok = np.cumsum(m, axis=0) >= 2 * int(leads.max())
    first = max(0, T - 1 - _OOS_ORIGINS)
    for i, h in enumerate(leads):
        if first + h >= T:
            break
        pred = mu[first + h :: stride] * _level_at(paths, cls, first, T - h, h, stride)
        valid = m[first + h :: stride] & origin_ok[first : T - h : stride]
        yield i, int(h), first + h, pred, valid


def _oos_loss(
    y: np.ndarray, m: np.ndarray, mu: np.ndarray, paths: np.ndarray, cls: np.ndarray,
    leads: np.ndarray, scale: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Mean scaled absolute error of the rolling-origin forecasts (all leads), per series, and
    the number of scored cells at the longest lead."""
    abs_sum = np.zeros(y.shape[1])
    total = np.zeros(y.shape[1])
    n_last = np.zeros(y.shape[1])
    for i, _h, start, pred, valid in _oos_errors(y, m, mu, paths, cls, leads):
        abs_sum += np.where(valid, np.abs(y[start:] - pred), 0.0).sum(axis=0)
        n = valid.sum(axis=0)
        total += n
        if i == leads.size - 1:
            n_last = n
    with np.errstate(all="ignore"):
        loss = np.where(total > 0, abs_sum / scale / total, np.nan)
    return loss, n_last


def _oos_dispersion(
    y: np.ndarray, m: np.ndarray, mu: np.ndarray, paths: np.ndarray, cls: np.ndarray,
    leads: np.ndarray, n_params: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Dispersion of the rolling-origin forecasts by lead: ``alpha0 + slope * h`` per day type.

    The moment dispersion at each lead, ``(sum(e**2) k - sum(y)) / sum(m**2)`` with the
    correction ``k = (n + n_params) / (n - n_params)`` (the forecasts use coefficients fitted
    on the same periods: their squared errors understate a new period's by about ``n - p`` to
    ``n + p``, as residual variance and leverage do in a linear model; it matters for monthly
    series, 12 parameters on 60-70 months), for the target periods of each day type (``cls`` 0
    and 1), and a line through them weighted by the cells (slope >= 0). A day type with fewer
    than ``_MIN_OOS_CELLS`` cells at the longest lead gets the line of all periods. Returns
    ``alpha0``, ``slope`` and the cells behind them at the first lead, each ``(2, series)``.
    """
    S = y.shape[1]
    n_obs = m.sum(axis=0)
    k = (n_obs + n_params) / np.maximum(n_obs - n_params, 1.0)
    hs = leads.astype(float)
    # Sums by target day type; all periods = their total.
    sums = np.zeros((4, 2, leads.size, S))  # (n, e**2, y, m**2) x day type x lead x series
    for i, _h, start, pred, valid in _oos_errors(y, m, mu, paths, cls, leads):
        yv = np.where(valid, y[start:], 0.0)
        sq = np.where(valid, (yv - pred) ** 2, 0.0)
        p2 = np.where(valid, pred * pred, 0.0)
        rest = (cls[start:] == 1)[:, None]
        for c, sel in ((0, ~rest), (1, rest)):
            sums[0, c, i] = (valid & sel).sum(axis=0)
            sums[1, c, i] = np.where(sel, sq, 0.0).sum(axis=0)
            sums[2, c, i] = np.where(sel, yv, 0.0).sum(axis=0)
            sums[3, c, i] = np.where(sel, p2, 0.0).sum(axis=0)
    n_h, sq_h, y_h, p2_h = (np.concatenate([x.sum(axis=0, keepdims=True), x]) for x in sums)
    a_h = moment_alpha(sq_h * k, y_h, p2_h, lower=None, upper=None)  # (all/work/rest, lead, S)
    w = np.where(np.isfinite(a_h), n_h, 0.0)
    a_h = np.nan_to_num(a_h, nan=0.0, posinf=0.0, neginf=0.0)
    wsum = np.maximum(w.sum(axis=1), 1e-12)
    hbar = (w * hs[None, :, None]).sum(axis=1) / wsum
    abar = (w * a_h).sum(axis=1) / wsum
    dev = hs[None, :, None] - hbar[:, None, :]
    cov = (w * dev * (a_h - abar[:, None, :])).sum(axis=1)
    var = (w * dev**2).sum(axis=1)
    slope = np.clip(np.where(var > 0, cov / np.maximum(var, 1e-12), 0.0), 0.0, None)
    alpha0 = abar - slope * hbar
    enough = n_h[1:, -1] >= _MIN_OOS_CELLS
    return (np.where(enough, alpha0[1:], alpha0[0]), np.where(enough, slope[1:], slope[0]),
            np.where(enough, n_h[1:, 0], n_h[0, 0]))  # fmt: skip


def _oos_level_exponent(
    y: np.ndarray, m: np.ndarray, mu: np.ndarray, paths: np.ndarray, cls: np.ndarray,
    leads: np.ndarray, alpha: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """How the dispersion of the rolling-origin forecasts changes with their level.

    Model: ``var = pred + a * pred**2 * (pred / ref)**g`` (``g = 0``: NB2, constant ``a``;
    ``g = -1``: NB1-like, variance proportional to the mean; ``g > 0``: busier periods
    relatively more variable). The forecasts of all leads are split at the series' reference
    level ``ref`` (the mean of ``mu`` over its observed periods) into a lower and an upper part;
    the moment dispersion of each, at its root-mean-square level, gives ``g = log(a_hi / a_lo)
    / log(level_hi / level_lo)``. Returns ``g`` (NaN where a part has no positive estimate or
    the parts' levels barely differ), its approximate sampling variance (delta method with
    :func:`predgov.forecast.dispersion.alpha_variance` at ``alpha``, the series' dispersion)
    and ``ref``, each ``(series,)``.
    """
    from predgov.forecast.dispersion import alpha_variance

    S = y.shape[1]
    with np.errstate(all="ignore"):
        ref = np.where(m, mu, 0.0).sum(axis=0) / np.maximum(m.sum(axis=0), 1)
    sums = np.zeros((4, 2, S))  # (n, e**2, y, pred**2) x (lower, upper)
    for _i, _h, start, pred, valid in _oos_errors(y, m, mu, paths, cls, leads):
        yv = np.where(valid, y[start:], 0.0)
        upper = pred > ref[None, :]
        for part, sel in ((0, valid & ~upper), (1, valid & upper)):
            sums[0, part] += sel.sum(axis=0)
            sums[1, part] += np.where(sel, (yv - pred) ** 2, 0.0).sum(axis=0)
            sums[2, part] += np.where(sel, yv, 0.0).sum(axis=0)
            sums[3, part] += np.where(sel, pred * pred, 0.0).sum(axis=0)
    n, sq, yy, p2 = sums
    a = moment_alpha(sq, yy, p2, lower=None, upper=None)
    with np.errstate(all="ignore"):
        level = np.sqrt(p2 / n)
        span = np.log(level[1] / level[0])
        g = np.log(a[1] / a[0]) / span
        v = alpha_variance(alpha, level, n)
        var = (v[0] + v[1]) / np.maximum(alpha, 1e-3) ** 2 / span**2
    ok = (a > 0).all(axis=0) & (n >= _MIN_OOS_CELLS).all(axis=0) & (span > 0.05)
    ok &= np.isfinite(g) & np.isfinite(var)
    return np.where(ok, g, np.nan), np.where(ok, var, np.inf), ref


def _pit_share(
    y: np.ndarray, m: np.ndarray, mu: np.ndarray, paths: np.ndarray, cls: np.ndarray,
    leads: np.ndarray, alpha0: np.ndarray, alpha_slope: np.ndarray, grid: np.ndarray,
    stride: int = 1, split: int | None = None, exponent: np.ndarray | None = None,
    ref: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Share of rolling-origin forecasts whose (mid-distribution) PIT is below each grid level.

    Every ``stride``-th origin; the dispersion of a forecast is ``alpha0 + alpha_slope * h``
    of its target period's day type (``(2, S)`` each). Target periods before ``split`` (row 0)
    and from it on (row 1) are counted apart (default: all in row 0). Returns ``(2,
    len(grid), S)`` counts of PITs below the levels (fractional: the mid-distribution) and
    ``(2, S)`` cells per series. With ``exponent`` and ``ref`` (``(S,)``) the dispersion
    is multiplied by :func:`_level_factor` of the forecast.
    """
    S = y.shape[1]
    split = y.shape[0] if split is None else int(split)
    below = np.zeros((2, grid.size, S))
    count = np.zeros((2, S))
    for _i, h, start, pred, valid in _oos_errors(y, m, mu, paths, cls, leads, stride):
        yy = np.where(valid, y[start::stride], 0.0)
        c = cls[start::stride]
        a = alpha0[c] + alpha_slope[c] * h
        if exponent is not None and ref is not None:
            a = a * _level_factor(pred, exponent, ref)
        hi, lo = _nb_cdf_pair(yy, pred, np.clip(a, 0.0, MAX_DISPERSION))
        width = np.maximum(hi - lo, 1e-12)
        # Target periods from ``split`` on are the rows from ``n0`` on; every grid level at
        # once, (grid, rows, series), zero where not scored.
        n0 = int(np.searchsorted(np.arange(start, y.shape[0], stride), split))
        z = np.subtract(grid[:, None, None], lo[None])
        z /= width
        np.clip(z, 0.0, 1.0, out=z)
        z *= valid
        below[0] += z[:, :n0].sum(axis=1)
        below[1] += z[:, n0:].sum(axis=1)
        count[0] += valid[:n0].sum(axis=0)
        count[1] += valid[n0:].sum(axis=0)
    return below, count


#: Bounds of the level factor of the dispersion (:func:`_level_factor`).
_LEVEL_FACTOR_BOUNDS = (0.25, 4.0)


def _level_factor(pred: np.ndarray, exponent: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """``(pred / ref) ** exponent`` (series on the last axis), within ``_LEVEL_FACTOR_BOUNDS``.

    Examples
    --------
    >>> _level_factor(np.array([[2.0, 2.0]]), np.array([1.0, 0.0]), np.array([1.0, 1.0]))
    array([[2., 1.]])
    """
    with np.errstate(all="ignore"):
        f = np.exp(exponent * np.log(np.maximum(pred, 1e-9) / np.maximum(ref, 1e-9)))
    return np.clip(np.nan_to_num(f, nan=1.0), *_LEVEL_FACTOR_BOUNDS)


def _nb_cdf_pair(
    y: np.ndarray, mean: np.ndarray, alpha: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``P(Y <= y)`` and ``P(Y <= y - 1)`` for NB(mean, 1/alpha) (Poisson where alpha ~ 0).

    ``y``, ``mean`` and ``alpha`` are ``(time, series)`` (``alpha`` may be per series).
    """
    r = np.broadcast_to(size_from_alpha(alpha, np.inf), mean.shape)
    hi, pmf = nb_cdf_pmf(y, mean, r)
    lo = np.clip(hi - pmf, 0.0, 1.0)
    return hi, np.where(y > 0, lo, 0.0)
