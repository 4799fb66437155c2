"""The batched IRLS solver against statsmodels GLM on random designs (the test oracle)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize

from predgov.stats import Design, irls

sm = pytest.importorskip("statsmodels.api")


def problem(seed: int, n: int = 150, p: int = 4, S: int = 3, nb: float | None = None):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.normal(size=(n, p - 1))])
    beta = np.column_stack([rng.uniform(0.5, 3.0, S), rng.normal(0, 0.3, (S, p - 1))])
    offset = rng.normal(0, 0.2, n)
    mu = np.exp(X @ beta.T + offset[:, None])
    if nb is None:
        y = rng.poisson(mu)
    else:
        y = rng.negative_binomial(1 / nb, 1 / (1 + nb * mu))
    return X, y.astype(float), offset, rng


def sm_fit(y, X, family, offset=None, var_weights=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sm.GLM(y, X, family=family, offset=offset, var_weights=var_weights)
        return model, model.fit(tol=1e-13, maxiter=200)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_poisson_with_offset_and_weights_matches_statsmodels(seed):
    X, Y, off, rng = problem(seed)
    W = rng.uniform(0.2, 2.0, Y.shape)
    W[rng.random(Y.shape) < 0.1] = 0.0
    fit = irls(X, Y, weights=W, offset=off, tol=1e-12, max_iter=100, covariance=True)
    assert fit.converged.all()
    for s in range(Y.shape[1]):
        _, ref = sm_fit(Y[:, s], X, sm.families.Poisson(), off, W[:, s])
        np.testing.assert_allclose(fit.coef[s], ref.params, atol=1e-6)
        np.testing.assert_allclose(fit.cov[s], ref.cov_params(), rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(fit.mean[:, s], ref.fittedvalues, rtol=1e-6)


@pytest.mark.parametrize("seed", [3, 4])
def test_nb_known_dispersion_and_missing_counts_match_statsmodels(seed):
    X, Y, off, rng = problem(seed, nb=0.3)
    Y[rng.random(Y.shape) < 0.15] = np.nan
    alpha = np.array([0.3, 0.1, 1.2])
    fit = irls(X, Y, alpha=alpha, offset=off, tol=1e-12, max_iter=100)
    for s in range(Y.shape[1]):
        ok = ~np.isnan(Y[:, s])
        _, ref = sm_fit(Y[ok, s], X[ok], sm.families.NegativeBinomial(alpha=alpha[s]), off[ok])
        np.testing.assert_allclose(fit.coef[s], ref.params, atol=1e-6)


def test_estimated_dispersion_is_a_fixed_point():
    X, Y, off, _ = problem(5, n=400, nb=0.5)
    fit = irls(X, Y, alpha="moments", offset=off, tol=1e-12, max_iter=200)
    n, p = X.shape
    for s in range(Y.shape[1]):
        _, ref = sm_fit(Y[:, s], X, sm.families.NegativeBinomial(alpha=fit.alpha[s]), off)
        np.testing.assert_allclose(fit.coef[s], ref.params, atol=1e-6)
        # the moment equation written out, at statsmodels' means (an independent fit)
        mu = np.asarray(ref.fittedvalues)
        alpha = np.sum((Y[:, s] - mu) ** 2 - mu) / np.sum(mu**2) * n / (n - p)
        np.testing.assert_allclose(fit.alpha[s], alpha, rtol=1e-6)


@pytest.mark.parametrize("alpha", [None, 0.4])
def test_ridge_penalty_maximises_the_penalised_likelihood(alpha):
    """Oracle: statsmodels' log-likelihood, score and Hessian plus the ridge term, maximised by
    scipy's trust-region Newton to 1e-10."""
    X, Y, off, _ = problem(6, n=80, p=5)
    lam = np.array([0.0, 3.0, 3.0, 10.0, 10.0])
    prior = np.array([0.0, 0.1, 0.0, -0.2, 0.0])
    fit = irls(X, Y, alpha=alpha, offset=off, penalty=lam, prior_mean=prior, tol=1e-12,
               max_iter=100)  # fmt: skip
    family = sm.families.Poisson() if alpha is None else sm.families.NegativeBinomial(alpha=alpha)
    for s in range(Y.shape[1]):
        model = sm.GLM(Y[:, s], X, family=family, offset=off)

        def f(b, model=model):
            return -model.loglike(b) + 0.5 * np.sum(lam * (b - prior) ** 2)

        def g(b, model=model):
            return -model.score(b) + lam * (b - prior)

        def h(b, model=model):
            return -model.hessian(b, observed=True) + np.diag(lam)

        ref = optimize.minimize(f, fit.coef[s] * 0.9, jac=g, hess=h, method="trust-exact",
                                options={"gtol": 1e-10})  # fmt: skip
        np.testing.assert_allclose(fit.coef[s], ref.x, atol=1e-6)


def test_column_mask_equals_dropping_the_column():
    X, Y, _, _ = problem(8, p=5)
    mask = np.ones((3, 5), dtype=bool)
    mask[1, 2] = mask[2, 4] = False
    fit = irls(X, Y, mask=mask, tol=1e-12, max_iter=100, criterion="mean", covariance=True)
    for s in range(3):
        cols = np.flatnonzero(mask[s])
        _, ref = sm_fit(Y[:, s], X[:, cols], sm.families.Poisson())
        np.testing.assert_allclose(fit.coef[s, cols], ref.params, atol=1e-6)
        assert (fit.coef[s, ~mask[s]] == 0).all() and (fit.cov[s][~mask[s]] == 0).all()


def test_single_precision_information_has_the_same_fixed_point():
    X, Y, off, _ = problem(9, n=300)
    d = Design(X)
    a = irls(d, Y, offset=off, tol=1e-11, max_iter=100)
    b = irls(d, Y, offset=off, tol=1e-11, max_iter=100, single_precision=True)
    np.testing.assert_allclose(a.coef, b.coef, atol=1e-8)


def test_solver_checks_its_inputs():
    with pytest.raises(ValueError, match="periods"):
        irls(np.ones((5, 1)), np.ones((4, 1)))
    with pytest.raises(ValueError, match="criterion"):
        irls(np.ones((5, 1)), np.ones((5, 1)), criterion="deviance")
    with pytest.raises(ValueError, match="moments"):
        irls(np.ones((5, 1)), np.ones((5, 1)), alpha="ml")


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(12, 120), p=st.integers(1, 5),
       nb=st.one_of(st.none(), st.floats(0.05, 2.0)))  # fmt: skip
def test_property_penalised_score_vanishes_at_the_solution(seed, n, p, nb):
    """Any random design and counts: at convergence the penalised score is (numerically) 0 and
    the fitted means are finite and positive."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.normal(size=(n, p - 1))])
    Y = rng.poisson(rng.uniform(0.5, 30.0), (n, 2)).astype(float)
    lam = np.r_[0.0, np.full(p - 1, 1.0)]
    fit = irls(X, Y, alpha=nb, penalty=lam, tol=1e-10, max_iter=200)
    assert np.isfinite(fit.mean).all() and (fit.mean > 0).all()
    a = 0.0 if nb is None else nb
    score = X.T @ ((Y - fit.mean) / (1 + a * fit.mean)) - (lam * fit.coef).T
    assert np.abs(score).max() < 1e-5 * max(1.0, Y.sum())
