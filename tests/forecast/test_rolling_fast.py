"""The faster rolling-origin pieces give the numbers of their straightforward versions, bit
for bit (the default forecaster's outputs must not move when they are sped up)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter

from predgov.forecast.festival import pooled_festival
from predgov.forecast.recalibration import PIT_GRID
from predgov.forecast.rolling import (
    _ew_sums_many,
    _level_at,
    _level_paths,
    _nb_cdf_pair,
    _oos_errors,
    _pit_share,
)
from predgov.stats.glm import Design, irls


def _data(T: int = 300, S: int = 9, seed: int = 0):
    rng = np.random.default_rng(seed)
    mu = rng.gamma(2.0, 3.0, (T, S))
    y = rng.negative_binomial(5, 5 / (5 + mu)).astype(float)
    y[rng.random((T, S)) < 0.05] = np.nan
    m = ~np.isnan(y)
    y0, mu0 = np.where(m, y, 0.0), np.where(m, mu, 0.0)
    var0 = np.where(m, mu + 0.2 * mu * mu, 0.0)
    cls = ((np.arange(T) % 7) >= 5).astype(int)
    return y, m, mu, y0, mu0, var0, cls


def test_ew_sums_many_equal_lfilter():
    _, _, _, y0, mu0, var0, _ = _data()
    spans = (14, 28, 56, 112)
    lams = [(s - 1.0) / (s + 1.0) for s in spans]
    for lam, (num, den, vs) in zip(lams, _ew_sums_many(y0, mu0, var0, lams), strict=True):
        assert np.array_equal(num, lfilter([1.0], [1.0, -lam], y0, axis=0))
        assert np.array_equal(den, lfilter([1.0], [1.0, -lam], mu0, axis=0))
        assert np.array_equal(vs, lfilter([1.0], [1.0, -lam * lam], var0, axis=0))


def test_level_at_shared_path_is_the_gather():
    _, _, _, y0, mu0, var0, cls = _data()
    shared = _level_paths(y0, mu0, var0, 28, 0.01)  # broadcast (2, T, S)
    full = np.array(shared)  # the same numbers, not a broadcast
    for h, stride in ((1, 1), (7, 2)):
        assert np.array_equal(_level_at(shared, cls, 20, 250, h, stride),
                              _level_at(full, cls, 20, 250, h, stride))  # fmt: skip


def _pit_share_reference(y, m, mu, paths, cls, leads, alpha0, slope, grid, stride, split):
    """The PIT counts cell by cell and level by level (the version before vectorising)."""
    S = y.shape[1]
    below, count = np.zeros((2, grid.size, S)), np.zeros((2, S))
    for _i, h, start, pred, valid in _oos_errors(y, m, mu, paths, cls, leads, stride):
        yy = np.where(valid, y[start::stride], 0.0)
        c = cls[start::stride]
        hi, lo = _nb_cdf_pair(yy, pred, np.clip(alpha0[c] + slope[c] * h, 0.0, 10.0))
        width = np.maximum(hi - lo, 1e-12)
        late = (np.arange(start, y.shape[0], stride) >= split)[:, None]
        for part, sel in ((0, valid & ~late), (1, valid & late)):
            for j, u in enumerate(grid):
                below[part, j] += np.where(sel, np.clip((u - lo) / width, 0.0, 1.0),
                                           0.0).sum(axis=0)  # fmt: skip
            count[part] += sel.sum(axis=0)
    return below, count


@pytest.mark.parametrize(("stride", "split"), [(2, 200), (1, 299), (2, 0)])
def test_pit_share_equals_reference(stride, split):
    y, m, mu, y0, mu0, var0, cls = _data(seed=1)
    paths = _level_paths(y0, mu0, var0, 28, 0.01, cls)
    S = y.shape[1]
    alpha0 = np.vstack([np.full(S, 0.1), np.full(S, 0.3)])
    slope = np.full((2, S), 0.002)
    leads = np.array([1, 7, 14, 28])
    got = _pit_share(y, m, mu, paths, cls, leads, alpha0, slope, PIT_GRID, stride, split)
    want = _pit_share_reference(y, m, mu, paths, cls, leads, alpha0, slope, PIT_GRID, stride,
                                split)  # fmt: skip
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    assert got[1].sum() > 0 and 0 < got[0].max() <= got[1].max()


def test_pooled_festival_refits_are_per_series():
    """The left-out-festival refits run as one block: each group's refit is the one it gets
    alone (the IRLS is per series), so the decisions are those of separate fits."""
    rng = np.random.default_rng(2)
    T, G = 3 * 365, 3
    t = np.arange(T)
    fest = np.zeros((T, 2))
    for yr in range(3):  # two windows a year, 20 days each
        fest[yr * 365 + 30 : yr * 365 + 50, 0] = 1.0
        fest[yr * 365 + 50 : yr * 365 + 70, 1] = 1.0
    X = np.column_stack([np.ones(T), np.sin(2 * np.pi * t / 365), np.cos(2 * np.pi * t / 365),
                         fest])  # fmt: skip
    groups = np.array(["intercept", "yearly", "yearly", "festival", "festival"])
    effect = np.array([[0.0, 0.0], [0.8, -0.5], [0.0, 0.0]])  # group 1 has a festival
    Y = rng.poisson(np.exp(2.0 + 0.3 * X[:, 1:2] + fest @ effect.T)).astype(float)
    lam = np.array([0.0, 10.0, 10.0, 1.0, 1.0])
    calls = []

    def fit_block(Yb, design, off, lam_b, init=None):
        calls.append(Yb.shape[1])
        f = irls(design, Yb, alpha="moments", offset=off, penalty=lam_b, start=init,
                 max_iter=50, tol=1e-8)  # fmt: skip
        return f.coef, f.alpha, f.converged

    design = Design(X)
    mean, pooled, none, decisions = pooled_festival(
        Y, np.arange(G), design, np.zeros(T), lam, groups, ["a", "b", "c"], "D", 2.0,
        fit_block)  # fmt: skip
    assert calls == [G, 2 * 3 * G]  # the full fit, then 3 festivals x 2 variants at once
    assert decisions["b"] is True
    # each refit alone gives the same coefficients as in the block
    Yk = Y.copy()
    Yk[30:70] = np.nan
    L = np.broadcast_to(lam, (G, lam.size)).copy()
    full = fit_block(Y, design, np.zeros(T), L)[0]
    alone = fit_block(Yk[:, [1]], design, np.zeros(T), L[[1]], init=full[[1]])[0]
    block = fit_block(np.concatenate([Yk, Yk], axis=1), design, np.zeros(T),
                      np.concatenate([L, L]), init=np.concatenate([full, full]))[0]  # fmt: skip
    np.testing.assert_allclose(block[1], alone[0], rtol=1e-9)
    assert pooled[1] and not none[1] and np.all(mean[1, 3:] != 0)
