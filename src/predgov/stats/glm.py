"""One batched IRLS solver: Poisson and NB2 log-linear GLMs of many series sharing a design.

``y[:, s] ~ Poisson(mu)`` or ``NB(mu, size = 1 / alpha[s])`` with ``log mu = offset + X @
beta[s]``, for every column ``s`` of ``Y`` at once. The penalised Fisher scoring step

``(X' W X + L) d = X' W (y - mu) / mu - L (beta - b0)``,  ``W = w mu / (1 + alpha mu)``

(the working-response IRLS step written as an update ``d``; where the linear predictor is
clipped to keep ``exp`` finite, the residual is taken at the clipped value)

(``w`` prior weights, 0 for unobserved cells; ``L`` a diagonal ridge penalty around the prior
mean ``b0``) is batched: ``X' W X`` of all series is one matrix product of the products of
design column pairs (:class:`Design`, cached) with the weights, and the systems are solved by
one ``numpy.linalg.solve``. A series stops being updated once it has converged (its
coefficients, or its fitted means, moved less than ``tol``), so the cost follows the slowest
series only where it has to.

Options cover what the forecaster and the detectors need: offsets (per period or per cell),
per-series column masks (a column left out of a series' model), the dispersion known per series
or estimated by moments between steps (:func:`predgov.stats.nb.nb_alpha`, after a Poisson
warm-up), the information matrix accumulated in float32 (the score stays float64, so the fixed
point is exact), and the inverse information (covariance) at the solution.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np

from predgov.stats.nb import nb_alpha

try:  # small matrices: BLAS threads only add overhead (5x slower on a busy 2-core machine)
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover - optional
    threadpool_limits = None


def single_thread() -> AbstractContextManager:
    """Context in which BLAS uses one thread (many small solves: threads only add overhead).

    Examples
    --------
    >>> with single_thread():
    ...     float(np.linalg.solve(np.eye(2), np.ones(2)).sum())
    2.0
    """
    return threadpool_limits(1) if threadpool_limits is not None else nullcontext()


class Design:
    """A design matrix ``X (n, p)`` shared by many series, with its column-pair products cached.

    Examples
    --------
    >>> d = Design(np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]]))
    >>> d.information(np.ones((3, 1)))[0].tolist()
    [[3.0, 3.0], [3.0, 5.0]]
    """

    def __init__(self, X: Any) -> None:
        self.X = np.ascontiguousarray(np.asarray(X, dtype=np.float64))
        if self.X.ndim != 2:
            raise ValueError(f"a design must be 2-D (periods, columns), got shape {self.X.shape}")
        self.iu = np.triu_indices(self.X.shape[1])
        self._pairs: dict[Any, np.ndarray] = {}

    @property
    def n_columns(self) -> int:
        return int(self.X.shape[1])

    def pairs(self, dtype: Any = np.float64) -> np.ndarray:
        """``(p (p + 1) / 2, n)``: products of the upper-triangle column pairs."""
        key = np.dtype(dtype).str
        if key not in self._pairs:
            X = self.X
            self._pairs[key] = np.ascontiguousarray((X[:, self.iu[0]] * X[:, self.iu[1]]).T,
                                                    dtype=dtype)  # fmt: skip
        return self._pairs[key]

    def information(self, W: np.ndarray, single: bool = False) -> np.ndarray:
        """``X' diag(W[:, s]) X`` for every column ``s`` of ``W (n, S)``: ``(S, p, p)``."""
        p = self.n_columns
        if single:
            half = (self.pairs(np.float32) @ W.astype(np.float32)).T.astype(np.float64)
        else:
            half = (self.pairs() @ W).T
        A = np.empty((W.shape[1], p, p))
        A[:, self.iu[0], self.iu[1]] = half
        A[:, self.iu[1], self.iu[0]] = half
        return A


@dataclass(frozen=True)
class GLMFit:
    """Result of :func:`irls` for ``S`` series and ``p`` columns.

    ``coef (S, p)``; ``mean (n, S)`` fitted means (offset included); ``alpha (S,)`` the NB
    dispersion used (0: Poisson); ``converged (S,)``; ``n_iter`` the iterations run; ``cov``
    ``(S, p, p)`` the inverse penalised information at the solution (masked columns 0), when
    asked for.
    """

    coef: np.ndarray
    mean: np.ndarray
    alpha: np.ndarray
    converged: np.ndarray
    n_iter: int
    cov: np.ndarray | None = None


def _scaled_ridge(A: np.ndarray) -> np.ndarray:
    """A ridge of 1e-10 times each system's largest diagonal entry.

    A fixed small ridge vanishes below float64 resolution when the information entries are
    ~1e8 (busy series); a series whose counts are all zero in some indicator's periods
    (heating complaints in summer: the fit drives that coefficient to minus infinity) then
    gives an exactly singular system. This scaled ridge is added only where the batch is
    singular (and to the covariance, where it is far below rounding otherwise).
    """
    diag = np.diagonal(A, axis1=-2, axis2=-1)
    scale = np.maximum(np.max(np.abs(diag), axis=-1), 1.0)
    return (1e-10 * scale)[..., None, None] * np.eye(A.shape[-1])


def solve_batched(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``A[s] x[s] = b[s]`` for a stack of systems; a singular batch gets the scaled ridge of
    :func:`_scaled_ridge`, and systems still singular get NaN.

    Examples
    --------
    >>> A = np.stack([np.eye(2) * 2.0, np.diag([4.0, 1.0])])
    >>> solve_batched(A, np.ones((2, 2))).tolist()
    [[0.5, 0.5], [0.25, 1.0]]
    """
    try:
        return np.linalg.solve(A, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        pass
    A = A + _scaled_ridge(A)
    try:
        return np.linalg.solve(A, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.full(b.shape, np.nan)
        for i in range(A.shape[0]):
            try:
                out[i] = np.linalg.solve(A[i], b[i])
            except np.linalg.LinAlgError:
                continue
        return out


def _per_series(value: Any, S: int, p: int, default: float) -> np.ndarray:
    if value is None:
        return np.full((S, p), default)
    return np.broadcast_to(np.asarray(value, dtype=np.float64), (S, p))


def irls(
    X: np.ndarray | Design,
    Y: np.ndarray,
    *,
    alpha: Any = None,
    weights: np.ndarray | None = None,
    offset: np.ndarray | None = None,
    penalty: Any = None,
    prior_mean: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    start: np.ndarray | None = None,
    max_iter: int = 30,
    tol: float = 1e-6,
    criterion: str = "coef",
    min_iter: int = 0,
    warmup: int = 2,
    n_params: Any = None,
    eta_bounds: tuple[float, float] = (-30.0, 30.0),
    single_precision: bool = False,
    covariance: bool = False,
) -> GLMFit:
    """Fit a Poisson or NB2 log-linear GLM to every column of ``Y`` (penalised IRLS).

    Parameters
    ----------
    X
        Design ``(n, p)`` shared by all series (or a :class:`Design` reused between calls).
    Y
        Counts ``(n, S)``; NaN = not observed (weight 0).
    alpha
        NB dispersion: None or 0 for Poisson; an array ``(S,)`` (or a scalar) known; or
        ``"moments"``: estimated by :func:`~predgov.stats.nb.nb_alpha` at the current means
        from iteration ``warmup`` on (Poisson steps before), and once more at the solution.
    weights
        Prior weights ``(n, S)`` (0 = left out); default 1 where observed.
    offset
        ``(n,)`` or ``(n, S)`` added to the linear predictor.
    penalty, prior_mean
        Ridge precisions ``(p,)`` or ``(S, p)`` (0: unpenalised) around ``prior_mean`` (default
        0).
    mask
        ``(S, p)`` bool: the columns each series uses (others are held at 0).
    start
        Starting coefficients ``(S, p)``; default 0 with the intercept (column 0) at the log
        mean count.
    max_iter, tol, criterion, min_iter
        A series has converged when the largest change of its coefficients
        (``criterion="coef"``) or of its fitted means relative to ``mean + 0.1`` (``"mean"``)
        in a step is below ``tol``, after at least ``min_iter`` iterations.
    n_params
        Parameters per series for the dispersion's degrees of freedom (default: the columns
        used).
    eta_bounds
        Bounds of the linear predictor (keeps ``exp`` finite).
    single_precision
        Accumulate ``X'WX`` in float32 (faster for large blocks; the score stays float64).
    covariance
        Also return the inverse penalised information at the solution.

    Returns
    -------
    GLMFit

    Examples
    --------
    A Poisson regression on a trend, as ``statsmodels.GLM(y, X, family=Poisson())`` gives:

    >>> X = np.column_stack([np.ones(6), np.arange(6.0)])
    >>> y = np.array([[1.0], [2.0], [2.0], [4.0], [5.0], [8.0]])
    >>> fit = irls(X, y, tol=1e-10)
    >>> fit.coef.round(4).tolist(), bool(fit.converged[0])
    ([[0.1083, 0.3911]], True)
    """
    design = X if isinstance(X, Design) else Design(X)
    D = design.X
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim != 2 or Y.shape[0] != D.shape[0]:
        raise ValueError(f"Y must be (periods, series) with {D.shape[0]} periods, got {Y.shape}")
    if criterion not in ("coef", "mean"):
        raise ValueError(f"criterion must be 'coef' or 'mean', got {criterion!r}")
    n, p = D.shape
    S = Y.shape[1]
    observed = ~np.isnan(Y)
    y = np.where(observed, Y, 0.0)
    w = observed.astype(np.float64)
    if weights is not None:
        w = np.where(observed, np.broadcast_to(weights, Y.shape), 0.0)
    off = np.zeros((n, 1)) if offset is None else np.asarray(offset, dtype=np.float64)
    off = off[:, None] if off.ndim == 1 else off
    lam = _per_series(penalty, S, p, 0.0)
    b0 = _per_series(prior_mean, S, p, 0.0)
    cm = None if mask is None else np.broadcast_to(mask, (S, p)).astype(np.float64)
    estimate = isinstance(alpha, str)
    if estimate and alpha != "moments":
        raise ValueError(f"alpha must be None, an array or 'moments', got {alpha!r}")
    a = np.zeros(S) if estimate or alpha is None else np.broadcast_to(
        np.asarray(alpha, dtype=np.float64), (S,)).copy()  # fmt: skip
    if n_params is None:
        n_params = p if cm is None else cm.sum(axis=1)
    n_params = np.broadcast_to(np.asarray(n_params, dtype=np.float64), (S,))
    if start is None:
        beta = np.zeros((S, p))
        total = np.maximum(w.sum(axis=0), 1e-12)
        beta[:, 0] = np.log((w * y).sum(axis=0) / total + 0.1)
    else:
        beta = np.array(start, dtype=np.float64, copy=True)
    if cm is not None:
        beta = beta * cm
    lo, hi = eta_bounds
    diag = np.arange(p)
    active = np.arange(S)
    converged = np.zeros(S, dtype=bool)
    mu_prev = np.full((n, S), np.nan) if criterion == "mean" else None
    it = 0

    def linear(b: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return D @ b.T + (off if off.shape[1] == 1 else off[:, cols])

    def means(b: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return np.exp(np.clip(linear(b, cols), lo, hi))

    for it in range(int(max_iter)):
        if active.size == 0:
            break
        b = beta[active]
        eta_raw = linear(b, active)
        eta = np.clip(eta_raw, lo, hi)
        mu = np.exp(eta)
        if mu_prev is not None:
            if it > 0:
                change = np.max(np.abs(mu - mu_prev[:, active]) / (mu + 0.1), axis=0)
                done = (change < tol) & (it >= min_iter)
                converged[active[done]] = True
                active, b, mu = active[~done], b[~done], mu[:, ~done]
                eta, eta_raw = eta[:, ~done], eta_raw[:, ~done]
                if active.size == 0:
                    break
            mu_prev[:, active] = mu
        wa, ya = w[:, active], y[:, active]
        if estimate and it >= warmup:
            a[active] = nb_alpha(ya, mu, weights=wa, n_params=n_params[active])
        aa = a[active]
        W = wa * mu / (1.0 + aa[None, :] * mu)
        A = design.information(W, single_precision)
        # The working residual; where the linear predictor was clipped, W (eta - eta_raw) pulls
        # the coefficients back to the clipped values (as the working-response form of IRLS
        # does), so a diverging start (a separated column) cannot stall far out.
        resid = wa * (ya - mu) / (1.0 + aa[None, :] * mu) + W * (eta - eta_raw)
        score = (D.T @ resid).T
        score -= lam[active] * (b - b0[active])
        if cm is not None:
            c = cm[active]
            A = A * (c[:, :, None] * c[:, None, :])
            A[:, diag, diag] += 1.0 - c
            score *= c
        A[:, diag, diag] += lam[active]
        new = b + solve_batched(A, score)
        beta[active] = new
        if mu_prev is None:
            change = np.abs(new - b).max(axis=1)
            done = np.isfinite(change) & (change < tol) & (it >= min_iter)
            converged[active[done]] = True
            active = active[~done]
    else:
        it = int(max_iter)
    cols = np.arange(S)
    mu = means(beta, cols)
    if mu_prev is not None and active.size:  # series updated in the last iteration
        change = np.max(np.abs(mu[:, active] - mu_prev[:, active]) / (mu[:, active] + 0.1),
                        axis=0)  # fmt: skip
        converged[active[change < tol]] = True
    if estimate:
        a = nb_alpha(y, mu, weights=w, n_params=n_params)
    cov = None
    if covariance:
        A = design.information(w * mu / (1.0 + a[None, :] * mu))
        if cm is not None:
            outer = cm[:, :, None] * cm[:, None, :]
            A = A * outer
            A[:, diag, diag] += 1.0 - cm
        A[:, diag, diag] += lam
        cov = np.linalg.inv(A + _scaled_ridge(A))
        if cm is not None:
            cov = cov * outer
    return GLMFit(coef=beta, mean=mu, alpha=a, converged=converged, n_iter=it, cov=cov)
