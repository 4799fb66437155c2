"""The negative binomial: distribution functions, quantiles and dispersion by moments.

Parameterisation (NB2, as everywhere in predgov): mean ``mu`` and size ``r`` (``scipy``'s
``n``, with ``p = r / (r + mu)``), variance ``mu + mu**2 / r`` = ``mu + alpha * mu**2`` with the
dispersion ``alpha = 1 / r``. A size of :data:`POISSON_SIZE` or more (or ``inf``) is the
Poisson limit.

* Distribution functions (:func:`nb_pmf`, :func:`nb_cdf`, :func:`nb_log_upper`, :func:`nb_ppf`)
  use ``scipy``'s engine: ``scipy.stats.nbinom`` / ``poisson`` where a call per array is cheap,
  and the same special functions (``betainc``, ``gammaincc``, ``gammaln``) where a hot loop
  calls them element-wise; the cdf of small whole counts (:func:`nb_cdf`, :func:`nb_cdf_pmf`:
  the PITs of rolling-origin forecasts, hundreds of thousands of cells per fit) sums the pmf
  by its recursion instead, several times faster than ``betainc`` and as accurate.
  :func:`nb_quantiles` (many levels at once, integer or mid-distribution quantiles) walks the
  pmf and equals ``scipy.stats.nbinom.ppf``.
* Dispersion: :func:`moment_alpha` (from sums), :func:`nb_alpha` (around given means, e.g. a
  GLM's fitted values, with a degrees-of-freedom correction), :func:`nb_size_moments` (from
  the sample mean and variance), :func:`alpha_ml` (maximum likelihood). Every estimate is
  capped at :data:`MAX_DISPERSION` (the one cap: size at least :data:`MIN_SIZE`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import optimize, special, stats

#: Largest NB size treated as finite; at or above it (or ``inf``) the Poisson limit is used.
POISSON_SIZE = 1e8
#: The one cap on the dispersion ``alpha = 1 / size`` of every estimate in predgov.
MAX_DISPERSION = 10.0
#: The smallest size an estimate can give (``1 / MAX_DISPERSION``).
MIN_SIZE = 1.0 / MAX_DISPERSION

#: Quantile levels of every forecast unless ``quantiles=`` says otherwise: the M5 levels plus
#: 0.1 and 0.9 (the 80 % interval).
DEFAULT_QUANTILES: tuple[float, ...] = (
    0.005, 0.025, 0.1, 0.165, 0.25, 0.5, 0.75, 0.835, 0.9, 0.975, 0.995,
)  # fmt: skip


# --------------------------------------------------------------------------- sizes


def is_poisson(size: Any) -> np.ndarray:
    """True where ``size`` means the Poisson limit (``>= POISSON_SIZE``, inf, NaN or <= 0).

    Examples
    --------
    >>> is_poisson(np.array([2.0, np.inf, 1e9, 0.0])).tolist()
    [False, True, True, True]
    """
    r = np.asarray(size, dtype=np.float64)
    return ~((r > 0) & (r < POISSON_SIZE))


def size_from_alpha(alpha: Any, poisson: float = POISSON_SIZE) -> np.ndarray:
    """NB size ``1 / alpha``; ``poisson`` (:data:`POISSON_SIZE`, or ``np.inf``) where ``alpha``
    is at most ``1 / POISSON_SIZE`` or not finite.

    Examples
    --------
    >>> size_from_alpha(np.array([0.5, 0.0, np.nan]), np.inf).tolist()
    [2.0, inf, inf]
    """
    a = np.asarray(alpha, dtype=np.float64)
    big = np.isfinite(a) & (a > 1.0 / POISSON_SIZE)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(big, 1.0 / np.where(big, a, 1.0), poisson)


def size_from_phi(mu: Any, phi: Any) -> np.ndarray:
    """NB size with variance ``phi * mu`` (the quasi-Poisson plug-in): ``mu / (phi - 1)``;
    :data:`POISSON_SIZE` where ``phi <= 1``; clipped to ``[1e-6, POISSON_SIZE]``.

    Examples
    --------
    >>> size_from_phi(np.array([4.0, 4.0]), np.array([3.0, 1.0])).tolist()
    [2.0, 100000000.0]
    """
    mu = np.asarray(mu, dtype=np.float64)
    excess = np.asarray(phi, dtype=np.float64) - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        size = np.where(excess > 1e-9, mu / np.where(excess > 1e-9, excess, 1.0), POISSON_SIZE)
    return np.clip(size, 1e-6, POISSON_SIZE)


# --------------------------------------------------------------------------- distribution


def _pq(mu: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pois = is_poisson(r)
    rr = np.where(pois, 1.0, r)
    return pois, rr, rr / (rr + mu)


def nb_logpmf(k: Any, mu: Any, size: Any) -> np.ndarray:
    """``log P(Y = k)`` (``k`` integer-valued float arrays; broadcasting).

    Examples
    --------
    >>> round(float(np.exp(nb_logpmf(2.0, 3.0, np.inf))), 6)  # Poisson(3) at 2
    0.224042
    """
    k, mu, r = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (k, mu, size)))
    pois, rr, p = _pq(mu, r)
    lgk = special.gammaln(k + 1.0)
    lnb = (
        special.gammaln(k + rr) - special.gammaln(rr) - lgk
        + rr * np.log(p) + special.xlogy(k, mu / (rr + mu))
    )  # fmt: skip
    if not pois.any():  # the usual case: no Poisson cells
        return lnb
    lpo = special.xlogy(k, mu) - mu - lgk
    return np.where(pois, lpo, lnb)


def nb_pmf(k: Any, mu: Any, size: Any) -> np.ndarray:
    """``P(Y = k)`` (see :func:`nb_logpmf`).

    Examples
    --------
    >>> r, mu = 2.5, 4.0
    >>> bool(np.isclose(nb_pmf(3.0, mu, r), stats.nbinom.pmf(3, r, r / (r + mu))))
    True
    """
    return np.exp(nb_logpmf(k, mu, size))


def nb_cdf(k: Any, mu: Any, size: Any) -> np.ndarray:
    """``P(Y <= k)`` for integer-valued ``k >= 0`` (the special functions of
    ``scipy.stats.nbinom.cdf`` / ``poisson.cdf``, without their argument checks; small counts
    by the summed pmf, see :func:`nb_cdf_pmf`).

    Examples
    --------
    >>> r, mu = 2.5, 4.0
    >>> bool(np.isclose(nb_cdf(3.0, mu, r), stats.nbinom.cdf(3, r, r / (r + mu))))
    True
    """
    return _cdf_pmf(k, mu, size, want_pmf=False)[0]


def nb_cdf_pmf(k: Any, mu: Any, size: Any) -> tuple[np.ndarray, np.ndarray]:
    """``P(Y <= k)`` and ``P(Y = k)`` at once (as :func:`nb_cdf` and :func:`nb_pmf`).

    Small whole counts (``k <= SUM_MAX_COUNT``, where ``P(Y = 0)`` is a normal float) sum the
    pmf from 0 by its recursion ``P(j) = P(j - 1) (j - 1 + r) q / j`` (``q = mu / (r + mu)``;
    Poisson ``mu / j``), all cells at once in order of their count, many times faster than
    ``betainc``; the sum of positive terms keeps a relative error of about ``k`` roundings.
    Other cells use the special functions (``betainc`` / ``gammaincc``, ``gammaln``).

    Examples
    --------
    >>> cdf, pmf = nb_cdf_pmf(np.array([0.0, 3.0]), 4.0, 2.5)
    >>> d = stats.nbinom(2.5, 2.5 / 6.5)
    >>> bool(np.allclose(cdf, d.cdf([0, 3])) and np.allclose(pmf, d.pmf([0, 3])))
    True
    """
    return _cdf_pmf(k, mu, size, want_pmf=True)


#: Whole counts up to this get their cdf by the summed pmf recursion (:func:`nb_cdf_pmf`).
SUM_MAX_COUNT = 128
#: The recursion starts at ``log P(Y = 0)``; below this the special functions are used.
_MIN_LOG_P0 = -600.0


def _cdf_pmf(
    k: Any, mu: Any, size: Any, want_pmf: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`nb_cdf_pmf` (``P(Y = k)`` only with ``want_pmf``; else None)."""
    k, mu, r = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (k, mu, size)))
    shape = k.shape
    kf, mf, rf = k.ravel(), mu.ravel(), r.ravel()
    pois = is_poisson(rf)
    rr = np.where(pois, 1.0, rf)
    with np.errstate(all="ignore"):
        q = np.where(pois, 0.0, mf / (rr + mf))  # 1 - p of the NB
        log_p0 = np.where(pois, -mf, -rr * np.log1p(mf / rr))
        fast = ((kf >= 0) & (kf <= SUM_MAX_COUNT) & (kf == np.floor(kf)) & (mf >= 0)
                & (log_p0 >= _MIN_LOG_P0))  # fmt: skip
    cdf = np.empty(kf.shape)
    pmf = np.empty(kf.shape) if want_pmf else None
    slow = ~fast
    if slow.any():
        ks, ms, rs, ps = kf[slow], mf[slow], rr[slow], pois[slow]
        out = np.empty(ks.shape)
        out[ps] = special.gammaincc(ks[ps] + 1.0, ms[ps])
        nb = ~ps
        out[nb] = special.betainc(rs[nb], ks[nb] + 1.0, rs[nb] / (rs[nb] + ms[nb]))
        cdf[slow] = out
        if pmf is not None:
            pmf[slow] = nb_pmf(ks, ms, np.where(ps, np.inf, rs))
    if fast.any():
        idx = np.flatnonzero(fast)
        kk = kf[idx].astype(np.int16)  # <= SUM_MAX_COUNT: a radix sort
        order = np.argsort(kk, kind="stable")
        idx, kk = idx[order], kk[order]
        starts = np.searchsorted(kk, np.arange(1, int(kk[-1]) + 1))  # first cell with k >= j
        # P(j) / P(j - 1) = ((j - 1) g + a) q / j: NB g = 1, a = r; Poisson g = 0, a = 1,
        # q = mu. (j - 1) + r is exact at j = 1, where r - 1 + j would lose small sizes.
        ps = pois[idx]
        g = None if not ps.any() else np.where(ps, 0.0, 1.0)
        a = np.where(ps, 1.0, rr[idx])
        qs = np.where(ps, mf[idx], q[idx])
        term = np.exp(log_p0[idx])
        total = term.copy()
        buf = np.empty(idx.size)
        for j, s in enumerate(starts, start=1):
            t = buf[s:]
            if g is None:
                np.add(a[s:], j - 1.0, out=t)
            else:
                np.multiply(g[s:], j - 1.0, out=t)
                t += a[s:]
            t *= qs[s:]
            t *= 1.0 / j
            term[s:] *= t
            total[s:] += term[s:]
        cdf[idx] = np.minimum(total, 1.0)
        if pmf is not None:
            pmf[idx] = term
    # ``[()]``: a numpy scalar for scalar input, as the special functions give
    return cdf.reshape(shape)[()], None if pmf is None else pmf.reshape(shape)[()]


def nb_log_upper(y: Any, mu: Any, size: Any) -> np.ndarray:
    """``log P(Y >= y)`` (0 for ``y <= 0``; NaN where any input is NaN), by
    ``scipy.stats.nbinom.logsf`` / ``poisson.logsf``; Poisson where :func:`is_poisson`.

    Examples
    --------
    >>> round(float(np.exp(nb_log_upper(np.array(3.0), np.array(1.0), np.array(1e9)))), 6)
    0.080301
    """
    y, mu, size = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (y, mu, size)))
    out = np.full(y.shape, np.nan)
    ok = np.isfinite(y) & np.isfinite(mu) & ~np.isnan(size)
    k = np.ceil(y[ok]) - 1.0  # P(Y >= y) = sf(ceil(y) - 1)
    m = np.maximum(mu[ok], 1e-12)
    r = size[ok]
    pois = is_poisson(r)
    res = np.empty(k.shape)
    res[pois] = stats.poisson.logsf(k[pois], m[pois])
    rn = r[~pois]
    res[~pois] = stats.nbinom.logsf(k[~pois], rn, rn / (rn + m[~pois]))
    out[ok] = np.where(k < 0, 0.0, res)
    return out


def surprise(y: Any, mu: Any, size: Any) -> np.ndarray:
    """Upper-tail surprise ``-log10 P(Y >= y)`` (0 for ``y <= 0``, NaN where anything is NaN);
    an alarm at level ``alpha`` is ``surprise > -log10(alpha)``.

    Examples
    --------
    >>> round(float(surprise(16.0, 10.0, np.inf)), 6)  # P(Y >= 16 | Poisson(10)) = 0.04874
    1.312111
    """
    return -nb_log_upper(y, mu, size) / math.log(10.0)


def nb_ppf(q: float, mu: Any, size: Any) -> np.ndarray:
    """Quantile ``q`` (smallest ``k`` with ``P(Y <= k) >= q``) by ``scipy.stats.nbinom.ppf`` /
    ``poisson.ppf``; NaN where ``mu`` or ``size`` is NaN (one level, any shape; for many levels
    at once see :func:`nb_quantiles`).

    Examples
    --------
    >>> float(nb_ppf(0.95, np.array(10.0), np.array(1e9)))
    15.0
    """
    mu, size = np.broadcast_arrays(np.asarray(mu, dtype=np.float64), np.asarray(size, float))
    out = np.full(mu.shape, np.nan)
    ok = np.isfinite(mu) & ~np.isnan(size)
    m = np.maximum(mu[ok], 1e-12)
    r = size[ok]
    pois = is_poisson(r)
    res = np.empty(m.shape)
    res[pois] = stats.poisson.ppf(q, m[pois])
    rn = r[~pois]
    res[~pois] = stats.nbinom.ppf(q, rn, rn / (rn + m[~pois]))
    out[ok] = res
    return out


def nb_llr(
    mu0: Any, mu1: Any, size: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Slope ``a`` and intercept ``c`` of the log-likelihood ratio ``log NB(y | mu1, r) - log
    NB(y | mu0, r) = a * y + c`` (shared size), with the Poisson limit for huge sizes.

    Examples
    --------
    >>> a, c = nb_llr(np.array(1.0), np.array(2.0), np.array(1e9))
    >>> bool(np.isclose(a * 3 + c, 3 * np.log(2) - 1))
    True
    """
    mu0 = np.maximum(np.asarray(mu0, dtype=np.float64), 1e-9)
    mu1 = np.maximum(np.asarray(mu1, dtype=np.float64), mu0)
    r = np.asarray(size, dtype=np.float64)
    r = np.where(np.isfinite(r), np.minimum(r, POISSON_SIZE), POISSON_SIZE)
    poisson = r >= POISSON_SIZE
    shrink = np.where(poisson, 0.0, np.log1p((mu1 - mu0) / (mu0 + r)))
    a = np.log(mu1 / mu0) - shrink
    c = np.where(poisson, -(mu1 - mu0), -r * shrink)
    return a, c


# --------------------------------------------------------------------------- quantiles


def nb_quantiles(
    mean: Any,
    size: Any,
    levels: Any = DEFAULT_QUANTILES,
    method: str = "integer",
) -> np.ndarray:
    """Quantiles of the negative binomial with ``mean`` and ``size`` (Poisson when size = inf).

    Variance is ``mean + mean**2 / size``. With ``method="integer"`` returns the smallest integer
    ``k`` with ``P(Y <= k) >= level`` (as ``scipy.stats.nbinom.ppf``); with ``method="mid"`` the
    quantile of the mid-distribution (the mass of ``k`` spread evenly over ``[k - 0.5, k + 0.5]``,
    clipped at 0): ``k - 0.5 + (level - P(Y < k)) / P(Y = k)``. Mid quantiles are continuous, so
    central intervals of small counts cover about their nominal rate instead of far more.
    Shape ``mean.shape + (len(levels),)``, float64; a NaN or negative mean is read as 0. It
    walks the probability mass function up from a Cornish-Fisher start, many times faster than
    ``scipy.stats.nbinom.ppf`` on the moderate counts of hotline series; wide distributions use
    a bracketed search.

    Examples
    --------
    >>> nb_quantiles(np.array([0.0, 4.0]), np.inf, (0.1, 0.5, 0.9)).tolist()
    [[0.0, 0.0, 0.0], [2.0, 4.0, 7.0]]
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
    r = np.broadcast_to(np.asarray(size, dtype="float64"), shape).ravel()
    r = np.where(is_poisson(r), np.inf, r)
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
    below = np.where(kf > 0, nb_cdf(np.maximum(kf - 1.0, 0.0), m, rr), 0.0)
    mass = nb_pmf(kf, m, rr)
    lvl = np.broadcast_to(lv[None, :], kk.shape).ravel()
    with np.errstate(all="ignore"):
        x = kf - 0.5 + np.clip((lvl - below) / mass, 0.0, 1.0)
    x = np.where(np.isfinite(x), x, kf)
    out[pos] = np.maximum(x, 0.0).reshape(kk.shape)
    return np.maximum.accumulate(out, axis=1)


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
    cdf, pmf = nb_cdf_pmf(k, mu, r)
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
            flat_k > 0, nb_cdf(np.maximum(flat_k - 1.0, 0.0), m, rr_s), 0.0
        ).reshape(ks.shape)
        mass[stuck] = nb_pmf(flat_k, m, rr_s).reshape(ks.shape)
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
        c = nb_cdf(k, mu, r)
        above = c >= level
        for _ in range(200):
            i = np.flatnonzero(above & (lo > 0))
            if i.size == 0:
                break
            lo[i] = np.maximum(lo[i] - step[i], 0.0)
            still = nb_cdf(lo[i], mu[i], r[i]) >= level
            hi[i] = np.where(still, lo[i], hi[i])
            above[i] = still
        lo = np.where(c >= level, np.where(nb_cdf(lo, mu, r) >= level, lo - 1.0, lo), k)
        below = c < level
        for _ in range(200):
            i = np.flatnonzero(below)
            if i.size == 0:
                break
            hi[i] = hi[i] + step[i]
            below[i] = nb_cdf(hi[i], mu[i], r[i]) < level
            lo[i] = np.where(below[i], hi[i], lo[i])
        # Now cdf(lo) < level <= cdf(hi) (lo may be -1): bisect.
        while True:
            i = np.flatnonzero(hi - lo > 1)
            if i.size == 0:
                break
            mid = np.floor((lo[i] + hi[i]) / 2.0)
            ok = nb_cdf(mid, mu[i], r[i]) >= level
            hi[i] = np.where(ok, mid, hi[i])
            lo[i] = np.where(ok, lo[i], mid)
        out[:, j] = hi
    return np.maximum.accumulate(out, axis=1)


# --------------------------------------------------------------------------- dispersion


def moment_alpha(
    sq: Any,
    first: Any,
    second: Any,
    dof: Any = 1.0,
    *,
    lower: float | None = 0.0,
    upper: float | None = MAX_DISPERSION,
) -> np.ndarray:
    """NB dispersion by moments from sums: ``alpha = dof * (sq - first) / second``.

    ``sq`` sums squared deviations ``(y - mu)**2``, ``first`` the means (``E (y - mu)**2 = mu +
    alpha mu**2``), ``second`` the squared means; ``dof`` corrects for fitted parameters
    (``n / (n - p)``). Clipped to ``[lower, upper]`` (default ``[0, MAX_DISPERSION]``), where
    it is undefined (``second`` 0, anything NaN) the result is ``lower`` (Poisson); with
    ``lower=None`` it is NaN there and nothing is clipped below.

    Examples
    --------
    >>> moment_alpha(np.array([30.0, 3.0, 1.0]), np.array([10.0, 5.0, 0.0]),
    ...              np.array([40.0, 25.0, 0.0])).tolist()
    [0.5, 0.0, 0.0]
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        a = np.asarray(dof, dtype=np.float64) * (np.asarray(sq, dtype=np.float64) - first)
        a = a / np.asarray(second, dtype=np.float64)
    a = np.where(np.asarray(second) > 0, a, np.nan)
    if lower is not None:
        a = np.where(np.isnan(a), lower, np.maximum(a, lower))
    if upper is not None:
        a = np.minimum(a, upper)
    return a


def nb_alpha(
    y: Any,
    mu: Any,
    *,
    weights: Any = None,
    n_params: Any = 0,
    axis: int = 0,
) -> np.ndarray:
    """NB dispersion of counts ``y`` around known means ``mu`` by moments, along ``axis``:
    ``sum w ((y - mu)**2 - mu) / sum w mu**2 * n / (n - n_params)`` (``n`` the cells with
    positive weight; NaN counts weigh 0), in ``[0, MAX_DISPERSION]``.

    Examples
    --------
    >>> y = np.array([[0.0, 4.0], [10.0, 4.0], [2.0, np.nan]])
    >>> nb_alpha(y, np.full((3, 2), 4.0)).round(4).tolist()
    [0.9167, 0.0]
    """
    y = np.asarray(y, dtype=np.float64)
    mu = np.broadcast_to(np.asarray(mu, dtype=np.float64), y.shape)
    w = np.ones(y.shape) if weights is None else np.broadcast_to(weights, y.shape)
    w = np.where(np.isnan(y) | ~np.isfinite(mu), 0.0, w)
    y0 = np.where(w > 0, y, 0.0)
    m0 = np.where(w > 0, mu, 0.0)
    return _nb_alpha_sums(y0, m0, w, (w > 0).sum(axis=axis), n_params, axis)[0]


def _nb_alpha_sums(
    y0: np.ndarray, mu: np.ndarray, w: np.ndarray, n: np.ndarray, n_params: Any, axis: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`nb_alpha` of clean inputs, and where its sums are finite: finite ``y0`` and
    ``mu``, ``w >= 0`` (``y0`` and ``mu`` may be anything finite where ``w`` is 0: those cells
    add exactly 0), ``n`` the cells with ``w > 0``. A hot loop (the GLM solver) that keeps its
    inputs clean calls it directly and redoes the non-finite ones by :func:`nb_alpha`."""
    with np.errstate(invalid="ignore", over="ignore"):
        sq = np.sum(w * ((y0 - mu) ** 2 - mu), axis=axis)
        second = np.sum(w * mu**2, axis=axis)
    ok = np.isfinite(sq) & np.isfinite(second)
    return moment_alpha(sq, 0.0, second, n / np.maximum(n - np.asarray(n_params), 1.0)), ok


def nb_size_moments(values: Any, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and negative-binomial size by moments along ``axis`` (NaN skipped).

    ``size = mean**2 / (var - mean)`` (sample variance, ``n - 1``), at least :data:`MIN_SIZE`;
    inf (Poisson) when the variance does not exceed the mean.

    Examples
    --------
    >>> m, r = nb_size_moments(np.array([[1.0, 5.0], [1.0, 0.0], [1.0, 10.0]]))
    >>> m.tolist(), r.round(2).tolist()
    ([1.0, 5.0], [inf, 1.25])
    """
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(all="ignore"):
        n = np.sum(~np.isnan(values), axis=axis)
        mean = np.where(n > 0, np.nansum(values, axis=axis) / np.maximum(n, 1), 0.0)
        dev = np.nan_to_num(values - np.expand_dims(mean, axis), nan=0.0)
        var = np.where(n > 1, np.sum(dev**2, axis=axis) / np.maximum(n - 1, 1), 0.0)
    return mean, size_from_alpha(moment_alpha(var, mean, mean**2), np.inf)


def alpha_ml(
    y: Any, mu: Any, *, weights: Any = None, upper: float = MAX_DISPERSION
) -> np.ndarray:
    """Maximum-likelihood NB dispersion of each column of ``y`` around known means ``mu``.

    Maximises ``sum w log NB(y | mu, 1 / alpha)`` over ``alpha`` in ``[0, upper]`` per column
    (bounded scalar search on ``log alpha``; 0 when the likelihood is largest at the Poisson
    limit). ``y`` and ``mu`` are ``(n, columns)``; NaN counts weigh 0.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.negative_binomial(2.0, 2.0 / 12.0, (4000, 1)).astype(float)
    >>> round(float(alpha_ml(y, np.full(y.shape, 10.0))[0]), 2)
    0.49
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    mu = np.asarray(mu, dtype=np.float64)
    mu = np.broadcast_to(mu[:, None] if mu.ndim == 1 else mu, y.shape)
    w = np.ones(y.shape) if weights is None else np.broadcast_to(weights, y.shape)
    w = np.where(np.isnan(y) | ~np.isfinite(mu), 0.0, w)
    out = np.zeros(y.shape[1])
    for j in range(y.shape[1]):
        use = w[:, j] > 0
        yj, mj, wj = y[use, j], np.maximum(mu[use, j], 1e-12), w[use, j]
        if yj.size == 0:
            continue

        def loss(log_a: float, yj=yj, mj=mj, wj=wj) -> float:
            return -float(np.sum(wj * nb_logpmf(yj, mj, 1.0 / math.exp(log_a))))

        res = optimize.minimize_scalar(loss, bounds=(math.log(1e-8), math.log(upper)),
                                       method="bounded", options={"xatol": 1e-8})  # fmt: skip
        a = math.exp(res.x)
        pois = -float(np.sum(wj * nb_logpmf(yj, mj, np.inf)))
        out[j] = 0.0 if pois <= res.fun or a < 1e-7 else a
    return out
