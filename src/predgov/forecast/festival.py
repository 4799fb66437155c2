"""Spring Festival effects pooled over groups of series (:class:`~predgov.forecast.nbglm.NBGLM`).

Windows around 春节 (:data:`predgov.data.calendar.SPRING_FESTIVAL_WINDOWS`) move between 21
January and 20 February, so yearly Fourier terms cannot follow them; two or three festivals per
series are too few to estimate a series' own effects. :func:`pooled_festival` estimates them
on each group's total (a category: large counts, precise), keeps them only where they forecast
a left-out festival of the total better than no windows, and returns them as the prior mean
towards which each series' effects are shrunk.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from predgov.data.freq import PERIODS_PER_YEAR
from predgov.forecast.design import ETA_MAX, ETA_MIN
from predgov.stats.glm import Design

__all__ = ["pooled_festival"]

#: ``fit_block(Y, design, off, lam, init=None) -> (coef, alpha, ok)``.
FitBlock = Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]]


def pooled_festival(
    values: np.ndarray, fit: np.ndarray, design: Design, off: np.ndarray, lam: np.ndarray,
    groups: np.ndarray, labels: Any, freq: str, min_years: float, fit_block: FitBlock,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, bool]]:  # fmt: skip
    """Festival effects of each ``festival_pool`` group, fitted on the group's total and
    kept only where they forecast a held-out festival better than no windows.

    A group's total sums its modelled series (``fit``: not the fallbacks) and counts a
    period only where all of them are observed; a total observed over less than
    ``min_years_yearly`` gets no yearly terms and so no festival effects. Leave-one-
    festival-out check: each festival's periods (those in any window) are left out in turn,
    the total is refitted with and without the windows, and the left-out periods are
    predicted; a group keeps its windows when their summed absolute error is smaller. (A
    window can take other things for the festival: heating's cold spells fall in the same
    weeks.) Fewer than two festivals: no check possible, no windows.

    ``labels`` are the series' group labels (None: no pooling, nothing returned but zeros);
    ``fit_block(Y, design, off, lam, init=None)`` fits a block of series (the penalised NB
    IRLS of the model) and returns ``(coef, alpha, ok)``.

    Returns the prior mean ``(series, P)`` (the group's festival coefficients, 0 elsewhere),
    the series whose group kept its windows, the series whose group has none, and the
    decision per group.
    """
    D = design.X
    S, P = values.shape[1], D.shape[1]
    mean = np.zeros((S, P))
    none = np.zeros(S, dtype=bool)
    if labels is None:
        return mean, none.copy(), none, {}
    keys, member = np.unique(np.asarray(labels).astype(str), return_inverse=True)
    modelled = np.zeros(S, dtype=bool)
    modelled[fit] = True
    totals = np.full((values.shape[0], len(keys)), np.nan)
    for g in range(len(keys)):
        block = values[:, (member == g) & modelled]
        if block.shape[1]:
            totals[:, g] = np.where(np.isnan(block).any(axis=1), np.nan, block.sum(axis=1))
    observed = ~np.isnan(totals)
    span = observed.sum(axis=0) / PERIODS_PER_YEAR[freq]
    fcols = groups == "festival"
    lam_g = np.broadcast_to(lam, (len(keys), P)).copy()
    short = span < min_years - 1e-9
    lam_g[np.ix_(short, (groups == "trend") | (groups == "yearly"))] = 1e10
    usable = np.flatnonzero((np.nansum(totals, axis=0) > 0) & ~short)
    near = D[:, fcols].sum(axis=1) > 0
    edges = np.flatnonzero(np.diff(np.r_[0, near.astype(int), 0]))
    episodes = list(zip(edges[::2], edges[1::2], strict=True))  # [start, stop) of each
    keep = np.zeros(len(keys), dtype=bool)
    coef = np.zeros((len(keys), int(fcols.sum())))
    if usable.size and len(episodes) >= 2:
        Y, L = totals[:, usable], lam_g[usable]
        L0 = L.copy()
        L0[:, fcols] = 1e10
        beta, _, ok = fit_block(Y, design, off, L)
        start0 = np.where(fcols[None, :], 0.0, beta)
        err = np.zeros((2, usable.size))  # with, without windows
        # Every left-out festival's refits, with and without the windows, as one block of
        # series (the fits are per series: the same as one call per festival and variant).
        n_g = usable.size
        Ys, lams, inits = [], [], []
        for a, b in episodes:
            Yk = Y.copy()
            Yk[a:b] = np.nan
            for lam_k, init in ((L, beta), (L0, start0)):
                Ys.append(Yk)
                lams.append(lam_k)
                inits.append(init)
        beta_all, _, ok_all = fit_block(np.concatenate(Ys, axis=1), design, off,
                                        np.concatenate(lams), init=np.concatenate(inits))
        for k, (a, b) in enumerate(episodes):
            for j in range(2):
                cols = slice((2 * k + j) * n_g, (2 * k + j + 1) * n_g)
                beta_k, ok_k = beta_all[cols], ok_all[cols]
                pred = np.exp(np.clip(D[a:b] @ beta_k.T + off[a:b, None], ETA_MIN,
                                      ETA_MAX))  # fmt: skip
                e = np.nansum(np.abs(Y[a:b] - pred), axis=0)
                err[j] += np.where(ok_k & np.isfinite(e), e, np.inf)
        good = ok & np.isfinite(beta).all(axis=1) & (err[0] < err[1])
        keep[usable[good]] = True
        coef[usable[good]] = beta[good][:, fcols]
    decisions = {str(k): bool(v) for k, v in zip(keys, keep, strict=True)}
    mean[:, fcols] = coef[member]
    pooled = keep[member] & modelled
    return mean, pooled, ~keep[member], decisions
