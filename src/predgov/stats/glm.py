"""One batched IRLS solver: Poisson and NB2 log-linear GLMs of many series sharing a design.

``y[:, s] ~ Poisson(mu)`` or ``NB(mu, size = 1 / alpha[s])`` with ``log mu = offset + X @
beta[s]``, for every column ``s`` of ``Y`` at once. The penalised Fisher scoring step

``(X' W X + L) d = X' W (y - mu) / mu - L (beta - b0)``,  ``W = w mu / (1 + alpha mu)``

(the working-response IRLS step written as an update ``d``; where the linear predictor is
clipped to keep ``exp`` finite, the residual is taken at the clipped value)

(``w`` prior weights, 0 for unobserved cells; ``L`` a diagonal ridge penalty around the prior
mean ``b0``) is batched: ``X' W X`` of all series is one matrix product of the products of
design column pairs (:class:`Design`, cached) with the weights (``Design(X, structured=True)``:
fewer, shorter products where indicator columns, Fourier runs or a column of ones allow, about
a third of the work for the forecaster's design), and the systems are solved by one
``numpy.linalg.solve``. A series stops being updated once it has converged (its
coefficients, or its fitted means, moved less than ``tol``), so the cost follows the slowest
series only where it has to.

Options cover what the forecaster and the detectors need: offsets (per period or per cell),
per-series column masks (a column left out of a series' model), the dispersion known per series
or estimated by moments between steps (:func:`predgov.stats.nb.nb_alpha`, after a Poisson
warm-up), the information matrix accumulated in float32 (the score stays float64, so the fixed
point is exact), and the inverse information (covariance) at the solution.
"""

from __future__ import annotations

import functools
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np

from predgov.stats.nb import _nb_alpha_sums, nb_alpha

try:  # small matrices: BLAS threads only add overhead (5x slower on a busy 2-core machine)
    from threadpoolctl import ThreadpoolController
except ImportError:  # pragma: no cover - optional
    ThreadpoolController = None


@functools.lru_cache(maxsize=1)
def _blas_controller() -> Any:
    """The process's BLAS libraries (found once, at the first :func:`single_thread`: about 9
    ms; limiting them afterwards takes microseconds)."""
    return ThreadpoolController()


def single_thread() -> AbstractContextManager:
    """Context in which BLAS uses one thread (many small solves: threads only add overhead).

    Examples
    --------
    >>> with single_thread():
    ...     float(np.linalg.solve(np.eye(2), np.ones(2)).sum())
    2.0
    """
    if ThreadpoolController is None:  # pragma: no cover - optional
        return nullcontext()
    return _blas_controller().limit(limits=1)


#: A column non-zero in at most this share of the periods (an indicator: holidays, festival
#: windows, a season) has its column-pair products summed over its own periods only.
SPARSE_SHARE = 0.5
#: Largest error (relative to 1) of the identities a structured ``X' W X`` rests on.
_IDENTITY_TOL = 1e-10


def _fourier_runs(X: np.ndarray) -> list[list[tuple[int, int]]]:
    """Runs of Fourier columns: consecutive ``(cos, sin)`` column pairs of harmonics ``1, 2,
    ..., K`` of one cycle (``cos k t + i sin k t = (cos t + i sin t)**k`` at every period, to
    :data:`_IDENTITY_TOL`), ``K >= 2``; each run the list of its ``(cos, sin)`` columns."""
    n, p = X.shape
    unit = np.zeros(p, dtype=bool)
    if n:
        unit[:-1] = np.all(np.abs(X[:, :-1] ** 2 + X[:, 1:] ** 2 - 1.0) < _IDENTITY_TOL, axis=0)
    runs, j = [], 0
    while j < p - 3:
        if not unit[j]:
            j += 1
            continue
        z1 = X[:, j] + 1j * X[:, j + 1]
        run, zk = [(j, j + 1)], z1
        while True:
            c = j + 2 * len(run)
            if c + 1 >= p or not unit[c]:
                break
            zk = zk * z1
            if np.abs(X[:, c] + 1j * X[:, c + 1] - zk).max() > _IDENTITY_TOL:
                break
            run.append((c, c + 1))
        if len(run) >= 2:
            runs.append(run)
            j += 2 * len(run)
        else:
            j += 1
    return runs


class _InformationPlan:
    """``X' diag(w) X`` of a design as a few small products: the column-pair products
    (upper triangle) are sparse combinations (``M``) of basis rows summed against the weights,
    dense rows over all periods (``dense``) and, per sparse column, rows over its non-zero
    periods only (``blocks``: periods and rows).

    * pairs with a sparse column (non-zero on at most :data:`SPARSE_SHARE` of the periods) are
      summed over the periods of the sparser column of the pair;
    * pairs of one Fourier run (:func:`_fourier_runs`, harmonics ``1..K``) by ``Re x Re y =
      Re(x y + x conj(y)) / 2``: ``cos u cos v = (cos(u - v) + cos(u + v)) / 2`` and its
      like, whose basis is the run's harmonics ``0..2K`` (those up to ``K`` its own columns,
      a column of ones harmonic 0, those above ``K`` formed once from the columns);
    * a column of ones times a column is that column; zero products are left out.

    The identities hold to the run check's :data:`_IDENTITY_TOL`; the products are the plain
    ones' to rounding.
    """

    def __init__(self, X: np.ndarray, iu: tuple[np.ndarray, np.ndarray]) -> None:
        from scipy import sparse

        n = X.shape[0]
        nnz = np.count_nonzero(X, axis=0)
        ones = np.all(X == 1.0, axis=0)
        sparse_col = (nnz <= SPARSE_SHARE * n).tolist()
        nnz_l, ones_l = nnz.tolist(), ones.tolist()
        runs = _fourier_runs(X)
        where: dict[int, tuple[int, int, int]] = {}  # column -> (run, harmonic, cos 0 / sin 1)
        for r, run in enumerate(runs):
            for k, (c, s_) in enumerate(run, start=1):
                where[c], where[s_] = (r, k, 0), (r, k, 1)
        # Dense basis rows by key: ("col", j), ("ones",), ("h", run, k, part), ("x", a, b).
        keys: dict[tuple, int] = {}

        def key(k: tuple) -> int:
            return keys.setdefault(k, len(keys))

        def col(j: int) -> int:
            return key(("ones",) if ones_l[j] else ("col", j))

        def harmonic(r: int, k: int, part: int) -> int:  # basis of cos/sin(k t) of run r
            if k == 0:
                return key(("ones",))
            return col(runs[r][k - 1][part]) if k <= len(runs[r]) else key(("h", r, k, part))

        trip: list[tuple[int, int, float]] = []  # (pair, dense basis row, weight)
        blocks: dict[int, list[tuple[int, int]]] = {}  # sparse column -> (pair, partner)
        for q, (a, b) in enumerate(zip(iu[0].tolist(), iu[1].tolist(), strict=True)):
            if nnz_l[a] == 0 or nnz_l[b] == 0:
                continue  # a zero product
            j, other = (a, b) if (nnz_l[a], a) < (nnz_l[b], b) else (b, a)
            if sparse_col[j]:
                blocks.setdefault(j, []).append((q, other))
            elif ones_l[a] or ones_l[b]:
                trip.append((q, col(b if ones_l[a] else a), 1.0))
            elif a in where and b in where and where[a][0] == where[b][0]:
                r, u, pu = where[a]
                _, v, pv = where[b]
                if pu == pv:  # cos cos (sin sin): (cos(u - v) +- cos(u + v)) / 2
                    trip.append((q, harmonic(r, abs(u - v), 0), 0.5))
                    trip.append((q, harmonic(r, u + v, 0), 0.5 if pu == 0 else -0.5))
                else:  # sin u cos v = (sin(u + v) + sin(u - v)) / 2
                    if pu == 0:
                        u, v = v, u
                    trip.append((q, harmonic(r, u + v, 1), 0.5))
                    if u != v:
                        trip.append((q, harmonic(r, abs(u - v), 1), 0.5 if u > v else -0.5))
            else:
                trip.append((q, key(("x", a, b)), 1.0))
        dense = np.empty((len(keys), n))
        for k, i in keys.items():
            if k[0] == "col":
                dense[i] = X[:, k[1]]
            elif k[0] == "ones":
                dense[i] = 1.0
            elif k[0] == "x":
                np.multiply(X[:, k[1]], X[:, k[2]], out=dense[i])
            else:  # harmonic K + m of a run: cos(K + m) = cK cm - sK sm, sin = sK cm + cK sm
                run = runs[k[1]]
                (cK, sK), (cm, sm) = run[-1], run[k[2] - len(run) - 1]
                if k[3] == 0:
                    dense[i] = X[:, cK] * X[:, cm] - X[:, sK] * X[:, sm]
                else:
                    dense[i] = X[:, sK] * X[:, cm] + X[:, cK] * X[:, sm]
        self.dense = dense
        self.blocks: list[tuple[np.ndarray, np.ndarray]] = []
        offset = len(keys)
        for j, pairs in blocks.items():
            t_j = np.flatnonzero(X[:, j])
            partners = [o for _, o in pairs]
            R = (X[np.ix_(t_j, partners)] * X[t_j, j][:, None]).T  # (pairs, periods)
            keep = np.flatnonzero(np.any(R != 0, axis=1))
            self.blocks.append((t_j, np.ascontiguousarray(R[keep])))
            trip += [(pairs[i][0], offset + m, 1.0) for m, i in enumerate(keep.tolist())]
            offset += keep.size
        q_i, b_i, w_i = zip(*trip, strict=True) if trip else ((), (), ())
        self.M = sparse.csr_matrix((w_i, (q_i, b_i)), shape=(len(iu[0]), offset))
        self.cost = dense.size + sum(R.size for _, R in self.blocks)  # multiply-adds per series
        self._cast: dict[Any, tuple[np.ndarray, list[np.ndarray]]] = {}

    def half(self, W: np.ndarray, dtype: Any) -> np.ndarray:
        """The upper-triangle products ``(pairs, S)`` summed against the weights ``W (n, S)``."""
        key = np.dtype(dtype).str
        if key not in self._cast:
            self._cast[key] = (self.dense.astype(dtype),
                               [R.astype(dtype) for _, R in self.blocks])  # fmt: skip
        dense, blocks = self._cast[key]
        Wd = W.astype(dtype, copy=False)
        parts = [dense @ Wd]
        parts += [R @ Wd[t] for (t, _), R in zip(self.blocks, blocks, strict=True)]
        G = np.concatenate(parts).astype(np.float64)
        return self.M @ G


class Design:
    """A design matrix ``X (n, p)`` shared by many series, with its column-pair products cached.

    ``X' diag(W[:, s]) X`` of many series (:meth:`information`) is one matrix product of the
    upper-triangle column-pair products with the weights; where the design has structure
    (indicator columns non-zero on few periods, Fourier terms of one cycle, a column of ones:
    :class:`_InformationPlan`) ``structured=True`` forms them from fewer, shorter rows (the
    same sums to rounding; used where it saves at least 30 % of the work).

    Examples
    --------
    >>> d = Design(np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]]))
    >>> d.information(np.ones((3, 1)))[0].tolist()
    [[3.0, 3.0], [3.0, 5.0]]
    """

    def __init__(self, X: Any, structured: bool = False) -> None:
        self.X = np.ascontiguousarray(np.asarray(X, dtype=np.float64))
        if self.X.ndim != 2:
            raise ValueError(f"a design must be 2-D (periods, columns), got shape {self.X.shape}")
        self.iu = np.triu_indices(self.X.shape[1])
        self._pairs: dict[Any, np.ndarray] = {}
        self.structured = bool(structured)
        self._plan: _InformationPlan | bool | None = False  # False: not built yet

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

    def plan(self) -> _InformationPlan | None:
        """The structured form of :meth:`information` (None where it would not save work)."""
        if self._plan is False:
            n = self.X.shape[0]
            plan = None
            if self.structured and n * len(self.iu[0]) >= 20_000:  # small: the plain product
                plan = _InformationPlan(self.X, self.iu)
                if plan.cost > 0.7 * n * len(self.iu[0]):
                    plan = None
            self._plan = plan
        return self._plan  # type: ignore[return-value]

    def information(self, W: np.ndarray, single: bool = False) -> np.ndarray:
        """``X' diag(W[:, s]) X`` for every column ``s`` of ``W (n, S)``: ``(S, p, p)``;
        ``single``: summed in float32."""
        p = self.n_columns
        plan = self.plan()
        if plan is not None:
            half = plan.half(W, np.float32 if single else np.float64).T
        elif single:
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


def _alpha(y: np.ndarray, mu: np.ndarray, w: np.ndarray, n: np.ndarray,
           n_params: np.ndarray) -> np.ndarray:  # fmt: skip
    """:func:`~predgov.stats.nb.nb_alpha` of the solver's clean arrays (``y`` 0 and ``w`` 0
    where unobserved, ``n`` the cells with ``w > 0``); series with non-finite means take the
    general path (which leaves those cells out)."""
    out, ok = _nb_alpha_sums(y, mu, w, n, n_params)
    bad = ~ok
    if bad.any():
        out[bad] = nb_alpha(y[:, bad], mu[:, bad], weights=w[:, bad], n_params=n_params[bad])
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
    n_obs = (w > 0).sum(axis=0)  # cells per series entering the dispersion
    diag = np.arange(p)
    active = np.arange(S)
    converged = np.zeros(S, dtype=bool)
    mu_prev = np.full((n, S), np.nan) if criterion == "mean" else None
    it = 0

    zero_off = not off.any()

    def linear(b: np.ndarray, cols: np.ndarray) -> np.ndarray:
        if zero_off:  # adding 0 changes nothing
            return D @ b.T
        return D @ b.T + (off if off.shape[1] == 1 else off[:, cols])

    def means(b: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return np.exp(np.clip(linear(b, cols), lo, hi))

    for it in range(int(max_iter)):
        if active.size == 0:
            break
        b = beta[active]
        eta_raw = linear(b, active)
        clipped = not (eta_raw.min(initial=lo) >= lo and eta_raw.max(initial=hi) <= hi)
        eta = np.clip(eta_raw, lo, hi) if clipped else eta_raw
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
        every = active.size == S
        wa, ya = (w, y) if every else (w[:, active], y[:, active])
        if estimate and it >= warmup:
            a[active] = _alpha(ya, mu, wa, n_obs if every else n_obs[active],
                               n_params[active])  # fmt: skip
        aa = a[active]
        denom = 1.0 + aa[None, :] * mu
        W = wa * mu
        W /= denom
        A = design.information(W, single_precision)
        # The working residual; where the linear predictor was clipped, W (eta - eta_raw) pulls
        # the coefficients back to the clipped values (as the working-response form of IRLS
        # does), so a diverging start (a separated column) cannot stall far out.
        resid = ya - mu
        resid *= wa
        resid /= denom
        if clipped:
            resid += W * (eta - eta_raw)
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
        a = _alpha(y, mu, w, n_obs, n_params)
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
