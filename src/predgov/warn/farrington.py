"""Farrington-flexible with the Noufaily et al. (2013) improvements, vectorised over series.

At each evaluation period ``t0`` (refitted every ``stride`` periods) a quasi-Poisson log-linear
model is fitted to the history of every series at once:

* **Reference data**: all periods from ``b`` years (fewer if the history is shorter, at least
  ``min_years``) plus ``w`` periods before ``t0`` up to ``t0 - past_not_included - 1`` (the most
  recent periods are left out, a guard band; default ``w``).
* **Seasonality**: a ``no_periods``-level factor (Noufaily: 10). Level 0 is the "comparable
  periods" window of ``2w+1`` periods around ``t0`` in each past year; the rest of each year is
  cut into ``no_periods - 1`` equal blocks by phase relative to ``t0``. Daily data also get a
  day-of-week factor (``weekday=True``, a predgov extension: the hotline weekly cycle is strong).
* **Trend**: a linear time term, fitted only when at least three years of reference data
  exist (Farrington et al. 1996, ``surveillance``'s ``atLeastThreeYears``) and kept for a
  series only where it is significant (two-sided ``p < p_trend``), as in Noufaily et al.
  A fit that does not converge gives no expected count (no alarm) for that period.
* **Dispersion**: ``phi = max(1, Pearson X^2 / (n - p))`` (quasi-Poisson).
* **Down-weighting of past outbreaks**: Anscombe residuals ``s_i > 2.58`` get weight
  ``s_i^-2`` (weights renormalised to sum to ``n``) and the model is refitted.
* **Threshold**: the ``1 - alpha`` quantile of the negative binomial with mean ``mu0`` and
  variance ``phi * mu0`` ("nbPlugin", as recommended by Noufaily et al.). ``alpha`` = 0.05
  one-sided is ``surveillance::farringtonFlexible``'s default; in control it gives about
  ``alpha x periods_per_year`` alarm periods per series-year (2.6 a year weekly). Instead, a
  nominal false-alarm rate ``fa`` per series-year sets ``alpha = fa / periods_per_year``
  (the default of :func:`predgov.warn.detect` for weekly and monthly data, ``fa = 1``).
* **Tiny counts**: no alarm when fewer than 5 cases fell in the last 4 periods
  (``limit54 = (5, 4)``); there the threshold is ``+inf``.

Score: ``-log10 P(Y >= y)`` under that negative binomial, so that ``score > -log10(alpha)`` is
the same as ``y`` above the quantile, and a threshold sweep needs no refit.

IRLS is vectorised across series (:func:`predgov.stats.glm.irls`): one design matrix per fit
origin, per-series weights and column masks, and one batched ``numpy.linalg.solve`` per
iteration.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from predgov.stats.glm import Design, irls, single_thread
from predgov.stats.nb import nb_alpha
from predgov.warn._common import (
    day_of_week,
    lagged_sum,
    nb_ppf,
    periods_per_year,
    resolve_range,
    size_from_phi,
    surprise,
    weekly_cycle,
)

#: Default half-width ``w`` of the comparable-periods window, per frequency.
DEFAULT_W = {"D": 7, "W-MON": 3, "MS": 1}
#: Default refit stride (periods), per frequency; never more than ``w + 1``.
DEFAULT_STRIDE = {"D": 7, "W-MON": 1, "MS": 1}


def _irls(
    X: np.ndarray | Design,
    Y: np.ndarray,
    weight: np.ndarray,
    colmask: np.ndarray,
    beta: np.ndarray,
    max_iter: int = 100,
    tol: float = 1e-6,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Poisson log-link IRLS for many series sharing a design (:func:`predgov.stats.glm.irls`).

    ``X (n, p)``; ``Y (n, S)`` with zeros where unobserved; ``weight (n, S)`` prior weights
    (0 = unobserved); ``colmask (S, p)`` which columns each series uses; ``beta (S, p)`` start.
    Returns ``beta``, fitted ``mu (n, S)``, the inverse information ``(S, p, p)`` and whether
    each series converged (its fitted means moved less than ``tol``, relative to ``mu + 0.1``,
    in its last iteration). A ridge of 1e-9 keeps the systems definite.
    """
    fit = irls(X, Y, weights=weight, mask=colmask, start=beta, penalty=1e-9, max_iter=max_iter,
               tol=tol, criterion="mean", covariance=True)  # fmt: skip
    return fit.coef, fit.mean, fit.cov, fit.converged


def _dispersion(Y, mu, weight, observed, n_params) -> np.ndarray:
    """Quasi-Poisson dispersion ``max(1, sum w (y-mu)^2/mu / (n - p))`` per series."""
    n = observed.sum(0)
    pearson = np.sum(weight * (Y - mu) ** 2 / mu, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = pearson / np.maximum(n - n_params, 1.0)
    return np.maximum(np.where(np.isfinite(phi), phi, 1.0), 1.0)


def _anscombe_weights(X, Y, mu, cov, phi, observed, threshold) -> np.ndarray:
    """Noufaily down-weighting: weight ``s^-2`` where the Anscombe residual ``s > threshold``,
    renormalised so that the weights of observed periods sum to their number."""
    lev = np.sum((X @ cov) * X[None], axis=-1).T * mu  # hat values (W = mu)
    lev = np.clip(lev, 0.0, 0.99)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = 1.5 * (Y ** (2.0 / 3.0) * mu ** (-1.0 / 6.0) - np.sqrt(mu))
        s = s / np.sqrt(phi[None, :] * (1.0 - lev))
    big = observed & (s > threshold)  # s > threshold > 0 there, so 1 / s**2 is finite
    w = np.where(big, 1.0 / np.where(big, s, 1.0) ** 2, 1.0) * observed
    total = w.sum(0)
    scale = np.where(total > 0, observed.sum(0) / np.where(total > 0, total, 1.0), 1.0)
    return w * scale


def _design(
    t0: int, rows: np.ndarray, P: float, w: int, no_periods: int, dow: np.ndarray | None
) -> tuple[np.ndarray, list[str]]:
    """Design matrix of the reference rows for fit origin ``t0``."""
    d = np.mod(t0 - rows, P)
    dist = np.minimum(d, P - d)
    half = w + 0.5
    cols = [np.ones(len(rows)), (rows - t0) / P]
    names = ["intercept", "trend"]
    if no_periods > 1:
        gap = max(P - 2 * half, 1e-9)
        u = np.clip((d - half) / gap, 0.0, 1.0 - 1e-12)
        level = np.where(dist <= half, 0, 1 + np.floor(u * (no_periods - 1)).astype(int))
        for j in range(1, no_periods):
            col = (level == j).astype(np.float64)
            if col.any():
                cols.append(col)
                names.append(f"level{j}")
    if dow is not None:
        wd = dow[rows]
        for j in range(1, 7):
            col = (wd == j).astype(np.float64)
            if col.any():
                cols.append(col)
                names.append(f"dow{j}")
    return np.column_stack(cols), names


def _fit_path(
    x: np.ndarray,
    P: float,
    w: int,
    guard: int,
    stride: int,
    no_periods: int,
    dow: np.ndarray | None,
    origins: range,
    i1: int,
    *,
    b: int,
    min_years: int,
    trend: bool,
    p_trend: float,
    reweight: bool,
    weights_threshold: float,
    max_iter: int,
    predictive: bool = False,
    variance: str = "quasipoisson",
) -> tuple[np.ndarray, np.ndarray]:
    """Fit at every origin and predict the next ``stride`` periods: ``mu0`` and ``phi``
    (``predictive``: ``phi + mu0 * phi * x0' V x0``, the dispersion of the predictive
    distribution, with the variance of the estimated log-mean added). ``variance="nb2"``:
    ``phi = 1 + mu0 * alpha`` (variance ``mu0 + alpha mu0^2``, ``alpha`` the moment NB
    dispersion of the fit, :func:`predgov.stats.nb.nb_alpha`); ``predictive`` adds
    ``Var(log mu0)`` to ``alpha``."""
    T, S = x.shape
    mu0 = np.full((T, S), np.nan)
    phi_out = np.full((T, S), np.nan)
    beta_store: np.ndarray | None = None  # last fit's coefficients, all series (warm start)
    names_prev: list[str] | None = None
    observed_all = ~np.isnan(x)
    for t0 in origins:
        years = min(b, math.floor((t0 - w - guard) / P))
        if years < min_years:
            continue
        lo = max(0, math.ceil(t0 - years * P - w))
        hi = t0 - guard  # exclusive
        rows = np.arange(lo, hi)
        if no_periods <= 1:  # original Farrington: only the comparable-periods windows
            d = np.mod(t0 - rows, P)
            rows = rows[np.minimum(d, P - d) <= w + 0.5]
        X, names = _design(t0, rows, P, w, no_periods, dow)
        XD = Design(X)  # column-pair products shared by the fits at this origin
        p = X.shape[1]
        obs = observed_all[rows]
        Y = np.where(obs, x[rows], 0.0)
        ok = (obs.sum(0) > p + 1) & (Y.sum(0) > 0)
        if not ok.any():
            continue
        Yk, obsk = Y[:, ok], obs[:, ok].astype(np.float64)
        Sk = Yk.shape[1]
        colmask = np.ones((Sk, p), dtype=bool)
        # Farrington et al. (1996): a trend needs at least three years of data (with fewer it
        # is confounded with the seasonal levels and extrapolates wildly).
        use_trend = trend and years >= 3
        if not use_trend:
            colmask[:, 1] = False
        beta = np.zeros((Sk, p))
        beta[:, 0] = np.log(Yk.sum(0) / obsk.sum(0) + 1e-3)
        if beta_store is not None and names_prev == names:
            warm = np.isfinite(beta_store[ok]).all(axis=1)
            beta[warm] = beta_store[ok][warm]
        beta, mu, cov, conv = _irls(XD, Yk, obsk, colmask, beta, max_iter)
        weight = obsk
        if reweight:
            phi = _dispersion(Yk, mu, obsk, obsk, colmask.sum(1))
            weight = _anscombe_weights(X, Yk, mu, cov, phi, obsk > 0, weights_threshold)
            beta, mu, cov, conv = _irls(XD, Yk, weight, colmask, beta, max_iter)
        # predict t0 .. t0 + stride - 1 (comparable window: level 0)
        ts = np.arange(t0, min(t0 + stride, i1))
        x0 = np.zeros((len(ts), p))
        x0[:, 0] = 1.0
        x0[:, 1] = (ts - t0) / P
        if dow is not None:
            for j, name in enumerate(names):
                if name.startswith("dow"):
                    x0[:, j] = (dow[ts] == int(name[3:])).astype(np.float64)
        if use_trend:
            phi = _dispersion(Yk, mu, weight, obsk, colmask.sum(1))
            with np.errstate(invalid="ignore", divide="ignore"):
                zt = beta[:, 1] / np.sqrt(phi * cov[:, 1, 1])
            pval = 2.0 * stats.norm.sf(np.abs(zt))
            drop = ~(pval < p_trend)
            if drop.any():
                mask2 = colmask[drop].copy()
                mask2[:, 1] = False
                b2, mu2, cov2, c2 = _irls(XD, Yk[:, drop], weight[:, drop], mask2, beta[drop],
                                          max_iter)  # fmt: skip
                beta[drop], mu[:, drop], cov[drop], conv[drop] = b2, mu2, cov2, c2
                colmask[drop] = mask2
        phi = _dispersion(Yk, mu, weight, obsk, colmask.sum(1))
        if beta_store is None or names_prev != names:
            beta_store = np.full((S, p), np.nan)
        beta_store[ok], names_prev = beta, names
        pred = np.exp(np.clip(x0 @ (beta * colmask).T, -30.0, 30.0))
        if variance == "nb2":  # Var y = mu0 + alpha mu0^2: phi = 1 + alpha mu0
            # unweighted: the Anscombe down-weighting removes exactly the large residuals
            # a small NB size produces in control, and would bias alpha low
            a_hat = nb_alpha(Yk, mu, weights=obsk, n_params=colmask.sum(1))
            extra = np.broadcast_to(a_hat, pred.shape)
        else:
            phi_pred = np.broadcast_to(phi, pred.shape)
        if predictive:  # Var(log mu0) = phi x0' V x0 (quasi-Poisson; masked columns: V = 0)
            var_eta = np.maximum(np.einsum("tp,spq,tq->ts", x0, cov, x0) * phi[None, :], 0.0)
            if variance == "nb2":
                extra = extra + var_eta
            else:
                phi_pred = phi_pred + pred * var_eta
        if variance == "nb2":
            phi_pred = 1.0 + pred * extra
        # A fit that did not converge gives no baseline (as surveillance::farringtonFlexible).
        pred[:, ~conv] = np.nan
        cols = np.flatnonzero(ok)
        mu0[np.ix_(ts, cols)] = pred
        phi_out[np.ix_(ts, cols)] = phi_pred

    return mu0, phi_out


def _score_threshold(
    freq: str, alpha: float | None, threshold: float | None, fa: float | None
) -> float:
    """Score threshold ``-log10(alpha)`` from ``threshold``, ``alpha`` or ``fa`` (first given).

    Examples
    --------
    >>> round(_score_threshold("W-MON", None, None, 1.0), 4)  # alpha = 1 / 52.18
    1.7175
    >>> _score_threshold("W-MON", 0.01, None, 1.0), _score_threshold("MS", None, 3.0, 1.0)
    (2.0, 3.0)
    """
    if threshold is not None:
        return float(threshold)
    if alpha is None:
        alpha = 0.05 if fa is None else float(fa) / periods_per_year(freq)
        if fa is not None and not 0.0 < alpha < 1.0:
            raise ValueError(
                f"fa={fa!r} false alarms per series-year is not between 0 and "
                f"{periods_per_year(freq):g} (one per {freq} period)"
            )
    if not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"alpha={alpha!r} must be between 0 and 1")
    return -math.log10(float(alpha))


def min_history(
    freq: str,
    *,
    b: int = 5,
    w: int | None = None,
    no_periods: int = 10,
    past_not_included: int | None = None,
    weekday: bool | None = None,
    min_years: int = 1,
    stride: int | None = None,
    **_: object,
) -> int:
    """Periods of history a fully observed series needs before the first period
    :func:`farrington` can score: ``min_years`` whole years plus the window half-width ``w`` and
    the guard band, and more reference periods than the model has parameters (the first fit
    origin on the ``stride`` grid where both hold).

    Other keywords (the rest of :func:`farrington`'s parameters) are ignored, so the detector's
    parameters can be passed as they are.

    Examples
    --------
    >>> min_history("D"), min_history("W-MON"), min_history("MS")
    (385, 59, 26)
    """
    P = periods_per_year(freq)
    w = int(DEFAULT_W[freq] if w is None else w)
    guard = w if past_not_included is None else int(past_not_included)
    stride = max(1, min(int(DEFAULT_STRIDE[freq] if stride is None else stride), w + 1))
    use_dow = (weekly_cycle(freq) > 0) if weekday is None else bool(weekday)
    n = math.ceil((int(min_years) + 2) * P + w + guard) + 7 * stride
    dow = np.arange(n) % 7 if use_dow else None
    for t0 in range(0, n, stride):  # the reference rows and design of _fit_path
        years = min(b, math.floor((t0 - w - guard) / P))
        if years < min_years:
            continue
        rows = np.arange(max(0, math.ceil(t0 - years * P - w)), t0 - guard)
        if no_periods <= 1:
            d = np.mod(t0 - rows, P)
            rows = rows[np.minimum(d, P - d) <= w + 0.5]
        if len(rows) > _design(t0, rows, P, w, no_periods, dow)[0].shape[1] + 1:
            return t0
    return n


def farrington(
    values: np.ndarray,
    time: np.ndarray,
    freq: str,
    *,
    b: int = 5,
    w: int | None = None,
    no_periods: int = 10,
    past_not_included: int | None = None,
    alpha: float | None = None,
    threshold: float | None = None,
    fa: float | None = None,
    trend: bool = True,
    p_trend: float = 0.05,
    reweight: bool = True,
    weights_threshold: float = 2.58,
    limit54: tuple[int, int] | None = (5, 4),
    weekday: bool | None = None,
    min_years: int = 1,
    stride: int | None = None,
    predictive: bool = False,
    variance: str = "quasipoisson",
    start: object = None,
    end: object = None,
    max_iter: int = 100,
) -> dict[str, np.ndarray]:
    """Farrington-flexible (Noufaily) scores of every series.

    Parameters
    ----------
    values, time, freq
        ``values[time, series]`` (NaN = not observed), the time stamps, the frequency.
    b
        Years of history (fewer are used while the history is shorter, down to ``min_years``).
    w
        Half-width of the comparable-periods window (default :data:`DEFAULT_W`: 7 days,
        3 weeks, 1 month).
    no_periods
        Levels of the seasonal factor (10 as Noufaily et al.; 1 = fit only the windows'
        periods, as the original Farrington method).
    past_not_included
        Most recent periods left out of the fit (default ``w``).
    alpha, threshold, fa
        One-sided level (threshold ``-log10(alpha)`` on the score), the score threshold itself,
        or a nominal rate of false alarm periods per series-year, ``alpha = fa /
        periods_per_year(freq)`` (``fa = 1``: 1/52 weekly, 1/12 monthly). The first given of
        ``threshold``, ``alpha``, ``fa`` wins; none: ``alpha = 0.05``.
    trend, p_trend
        Fit a linear trend, kept per series where its two-sided p-value is below ``p_trend``.
    reweight, weights_threshold
        Down-weight periods with Anscombe residuals above ``weights_threshold`` and refit.
    limit54
        ``(cases, periods)``: no alarm when fewer cases fell in the last periods; None: off.
    weekday
        Day-of-week factor (default: True for daily data).
    min_years
        Fewest whole years of history needed for a score.
    predictive
        Take the threshold (and score) from the predictive distribution rather than the plug-in
        one: the dispersion becomes ``phi + mu0 * Var(log mu0)`` with ``Var(log mu0) = phi x0'
        V x0`` (``V`` the inverse information of the fit), the delta-method variance of a
        negative binomial whose log-mean is itself uncertain. Noufaily et al.'s "nbPlugin"
        (False, the default here) ignores it, so with one or two years of reference data its
        alarms exceed ``alpha`` (on the weekly family member, 1.4x; 1.2x with it).
    variance
        Variance of the threshold's negative binomial: ``"quasipoisson"`` (Farrington's
        ``phi * mu0``) or ``"nb2"`` (``mu0 + alpha mu0^2``, ``alpha`` the moment NB dispersion
        of the fit's residuals, :func:`predgov.stats.nb.nb_alpha`, with its ``n - p``
        correction, unweighted): a constant NB size rather than a constant variance-to-mean
        ratio, so a series whose level varies over the year gets wider thresholds at its
        peaks. The fitting (down-weighting, trend test) keeps the quasi-Poisson ``phi``. Not
        the default: on the synthetic family (``benchmarks/calibration.py``, seeds 0-4, with
        ``fa=1, predictive=True``) it moved the false alarms per series-year from 1.23 to 1.17
        weekly (worst seed 1.56 to 1.46) but from 1.08 to 1.12 monthly, and lost detections
        (weekly POD at 5 SD 0.54 to 0.50, sustained 3-SD shift 0.61 to 0.57; monthly shift
        0.82 to 0.78). With the Anscombe weights in the moments (they remove the large
        residuals a small size produces in control) it gave 1.37 / 1.17, with the ML
        dispersion (:func:`predgov.stats.nb.alpha_ml`) 1.47 / 1.39.
    stride
        Refit every ``stride`` periods (default :data:`DEFAULT_STRIDE`, at most ``w + 1``); the
        model fitted at ``t0`` predicts ``t0 .. t0 + stride - 1`` from data before ``t0``.
    start, end
        Only score periods in this range (time stamps or None); others are NaN.
    max_iter
        Most IRLS iterations per fit (a series stops once it has converged). A seasonal series
        with no counts at all in some comparable periods (heating in summer) separates: its
        coefficients drift towards minus infinity, and the fitted means settle only after about
        50 iterations; with fewer, the fit counts as not converged and gives no baseline.

    Returns
    -------
    dict
        ``score``, ``threshold`` (``+inf`` where ``limit54`` suppresses alarms), ``expected``
        (``mu0``), ``upper`` (the ``1 - alpha`` quantile) and ``phi`` (dispersion).

    Examples
    --------
    A constant history of 10 a month: ``mu0 = 10``, ``phi = 1`` and the threshold is the 95 %
    Poisson quantile, 15.

    >>> t = np.arange("2019-01", "2024-01", dtype="datetime64[M]").astype("datetime64[D]")
    >>> y = np.full((len(t), 1), 10.0)
    >>> out = farrington(y, t, "MS", b=3, start=t[-1])
    >>> round(float(out["expected"][-1, 0]), 6), float(out["upper"][-1, 0])
    (10.0, 15.0)
    """
    x = np.asarray(values, dtype=np.float64)
    squeeze = x.ndim == 1
    if squeeze:
        x = x[:, None]
    T, S = x.shape
    P = periods_per_year(freq)
    w = int(DEFAULT_W[freq] if w is None else w)
    guard = w if past_not_included is None else int(past_not_included)
    stride = int(DEFAULT_STRIDE[freq] if stride is None else stride)
    stride = max(1, min(stride, w + 1))
    use_dow = (weekly_cycle(freq) > 0) if weekday is None else bool(weekday)
    dow = day_of_week(time) if use_dow else None
    i0, i1 = resolve_range(time, start, end)
    h = _score_threshold(freq, alpha, threshold, fa)
    if variance not in ("quasipoisson", "nb2"):
        raise ValueError(f"variance must be 'quasipoisson' or 'nb2', got {variance!r}")

    with single_thread():
        mu0, phi_out = _fit_path(
            x, P, w, guard, stride, no_periods, dow, range(i0, i1, stride), i1,
            b=b, min_years=min_years, trend=trend, p_trend=p_trend, reweight=reweight,
            weights_threshold=weights_threshold, max_iter=max_iter, predictive=predictive,
            variance=variance,
        )  # fmt: skip

    size = size_from_phi(mu0, phi_out)
    score = np.where(np.isnan(x), np.nan, surprise(x, mu0, size))
    thr = np.full((T, S), h)
    if limit54 is not None:
        cases, periods = limit54
        recent, _ = lagged_sum(x, int(periods), lag=0)
        thr = np.where(recent < cases, np.inf, thr)
    out = {
        "score": score,
        "threshold": thr,
        "expected": mu0,
        "upper": nb_ppf(1.0 - 10.0**-h, mu0, size),
        "phi": phi_out,
    }
    if squeeze:
        out = {k: v[:, 0] for k, v in out.items()}
    return out
