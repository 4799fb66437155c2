"""Batched penalised NB fits of the expected-count model (:mod:`predgov.warn.expected`).

:func:`fit_block` fits one design to many series at once with :func:`predgov.stats.glm.irls`
(warm starts between refits, the Noufaily down-weighting of past outbreaks by their
:func:`anscombe` residuals, the NB dispersion by :func:`predgov.stats.nb.nb_alpha`).
"""

from __future__ import annotations

import numpy as np

from predgov.stats.glm import Design, irls
from predgov.stats.nb import nb_alpha

__all__ = ["anscombe", "fit_block"]


# ------------------------------------------------------------------------------ fitting
def _nb_irls(
    X: Design,
    Y: np.ndarray,
    weight: np.ndarray,
    beta: np.ndarray,
    penalty: np.ndarray,
    inv_size: np.ndarray,
    max_iter: int,
    offset: np.ndarray | None = None,
    tol: float = 1e-5,
) -> tuple[np.ndarray, np.ndarray]:
    """Penalised NB IRLS (log link, known size ``1 / inv_size`` per series) for many series
    sharing a design (:func:`predgov.stats.glm.irls`); returns coefficients and means."""
    fit = irls(X, Y, alpha=inv_size, weights=weight, offset=offset, penalty=penalty, start=beta,
               max_iter=max_iter, tol=tol, eta_bounds=(-30.0, 20.0))  # fmt: skip
    return fit.coef, fit.mean


def anscombe(y: np.ndarray, mu: np.ndarray, inv_size: np.ndarray) -> np.ndarray:
    """Anscombe residual of a Poisson count scaled by the NB extra variance
    ``sqrt(1 + mu / size)`` (the Noufaily down-weighting statistic)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        s = 1.5 * (np.maximum(y, 0) ** (2.0 / 3.0) * mu ** (-1.0 / 6.0) - np.sqrt(mu))
        return s / np.sqrt(1.0 + mu * inv_size)


def fit_block(
    Xk: Design,
    y: np.ndarray,
    penalty: np.ndarray,
    offset: np.ndarray | None,
    states: dict,
    key: str,
    *,
    keep: np.ndarray,
    n_min: int,
    reweight: float | None,
    max_iter: int,
    exclude: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Fit the columns ``keep`` to every column of ``y`` (NaN = unobserved) with warm starts
    from ``states[key]``; returns coefficients of the fitted series, which series and 1/size."""
    obs = ~np.isnan(y)
    if offset is not None:
        obs &= np.isfinite(offset)
    Y = np.where(obs, y, 0.0)
    w = obs.astype(np.float64)
    ok = (obs.sum(0) >= n_min // 2) & (Y.sum(0) > 0)
    if not ok.any():
        return None
    S, p_all = y.shape[1], keep.size
    pk = Xk.n_columns
    beta = np.zeros((S, pk))
    off = np.zeros(Y.shape) if offset is None else np.where(obs, offset, 0.0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        base = np.sum(w * np.exp(np.clip(off, -30, 20)), axis=0)
        beta[:, 0] = np.log((Y.sum(0) + 1e-3) / np.maximum(base, 1e-9))
    prev = states.get(key)
    if prev is not None and prev.shape == (S, p_all):
        warm = prev[:, keep]
        good = np.isfinite(warm).all(1)
        beta[good] = warm[good]
    Yk, wk, bk, ok_off = Y[:, ok], w[:, ok], beta[ok], off[:, ok]
    inv = np.zeros(Yk.shape[1])
    bk, mu = _nb_irls(Xk, Yk, wk, bk, penalty, inv, max_iter, ok_off)
    inv = nb_alpha(Yk, mu, weights=wk, n_params=pk)
    if reweight is not None:
        s = anscombe(Yk, mu, inv)
        down = 0.0 if exclude else 1.0 / np.square(s)
        wk = np.where((s > reweight) & (wk > 0), down, wk)
    bk, mu = _nb_irls(Xk, Yk, wk, bk, penalty, inv, max_iter, ok_off)
    inv = nb_alpha(Yk, mu, weights=wk, n_params=pk)
    full = np.full((S, p_all), np.nan) if prev is None or prev.shape != (S, p_all) else prev
    full[np.ix_(ok, keep)] = bk
    full[np.ix_(ok, ~keep)] = 0.0
    states[key] = full
    return bk, ok, inv
