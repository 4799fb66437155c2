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


def structured_design(n: int = 1100, seed: int = 0, ones: bool = True) -> np.ndarray:
    """A forecaster-like design: intercept, trend, weekly (3) and yearly (10) Fourier runs,
    disjoint festival windows, sparse and dense indicators, a continuous regressor, a column
    that is zero, and a unit-modulus pair that is no harmonic run."""
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=float)
    cols = [np.ones(n)] if ones else []
    cols.append(t / 365.25)
    for period, K in ((7.0, 3), (365.25, 10)):
        for k in range(1, K + 1):
            cols += [np.cos(2 * np.pi * k * t / period), np.sin(2 * np.pi * k * t / period)]
    for start in (30, 60, 395, 425):  # windows of 20 days
        cols.append(((t >= start) & (t < start + 20)).astype(float))
    cols.append((rng.random(n) < 0.03).astype(float))  # holidays
    cols.append(((t % 365) < 150).astype(float))  # a season, 41 % of the days
    cols.append(((t % 365) < 250).astype(float))  # dense indicator
    cols.append(rng.normal(size=n))  # weather
    cols.append(np.zeros(n))
    phase = 2 * np.pi * t / 30.0 + rng.uniform(0, 1, n)  # unit modulus, not harmonics
    cols += [np.cos(phase), np.sin(phase), np.cos(2.1 * phase), np.sin(2.1 * phase)]
    return np.column_stack(cols)


@pytest.mark.parametrize("ones", [True, False])
def test_structured_information_equals_the_plain_product(ones):
    """X'WX from the design's structure (Fourier identities, indicator supports, the column of
    ones) equals the plain column-pair product: to rounding in float64, to float32 accuracy in
    single precision; and it does less work."""
    X = structured_design(ones=ones)
    rng = np.random.default_rng(1)
    W = rng.uniform(0.0, 50.0, (X.shape[0], 7))
    W[rng.random(W.shape) < 0.1] = 0.0
    plain, fast = Design(X), Design(X, structured=True)
    plan = fast.plan()
    assert plan is not None and plan.cost < 0.5 * X.shape[0] * plain.iu[0].size
    ref = plain.information(W)
    scale = np.abs(ref).max()
    np.testing.assert_allclose(fast.information(W), ref, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(fast.information(W, single=True), ref, rtol=0, atol=1e-5 * scale)
    # brute force for one series
    np.testing.assert_allclose(ref[3], X.T @ (W[:, 3, None] * X), rtol=1e-12, atol=1e-9)
    # the pseudo-Fourier columns (last four) are no run: products summed directly
    from predgov.stats.glm import _fourier_runs

    runs = _fourier_runs(X)
    assert [len(r) for r in runs] == [3, 10]


def test_structured_design_fits_like_the_plain_one():
    X = structured_design(n=800)[:, :30]  # intercept .. first windows
    rng = np.random.default_rng(2)
    beta = np.r_[2.0, 0.1, rng.normal(0, 0.2, X.shape[1] - 2)]
    Y = rng.poisson(np.exp(X @ beta)[:, None] * rng.uniform(0.5, 2.0, 4)).astype(float)
    lam = np.r_[0.0, np.ones(X.shape[1] - 1)]
    kw = dict(alpha="moments", penalty=lam, tol=1e-10, max_iter=100, single_precision=True)
    a = irls(Design(X), Y, **kw)
    b = irls(Design(X, structured=True), Y, **kw)
    assert a.converged.all() and b.converged.all()
    np.testing.assert_allclose(b.coef, a.coef, rtol=0, atol=1e-8)
    np.testing.assert_allclose(b.alpha, a.alpha, rtol=1e-8)


def test_separated_indicator_is_held_at_the_linear_predictor_bound():
    """Counts all zero on an indicator's periods (heating complaints in summer) drive its
    coefficient to minus infinity: the clipped linear predictor (working-residual pull-back)
    keeps the fit finite, the zero periods' means at exp(lower bound), the rest as without the
    indicator; with and without the structured design, NB dispersion by moments."""
    rng = np.random.default_rng(4)
    n = 1000
    t = np.arange(n)
    summer = ((t % 100) < 30).astype(float)
    X = np.column_stack([np.ones(n), summer, np.cos(2 * np.pi * t / 7), np.sin(2 * np.pi * t / 7),
                         np.cos(4 * np.pi * t / 7), np.sin(4 * np.pi * t / 7)])  # fmt: skip
    mu = np.exp(1.5 + 0.3 * X[:, 2])
    Y = rng.negative_binomial(5.0, 5.0 / (5.0 + mu[:, None]), (n, 3)).astype(float)
    Y[summer > 0] = 0.0
    assert Design(X, structured=True).plan() is not None
    for design in (Design(X), Design(X, structured=True)):
        fit = irls(design, Y, alpha="moments", max_iter=60, tol=1e-8, eta_bounds=(-8.0, 8.0))
        assert np.isfinite(fit.coef).all() and np.isfinite(fit.alpha).all()
        assert (fit.coef[:, 1] < -5).all()
        np.testing.assert_allclose(fit.mean[summer > 0], np.exp(-8.0), rtol=1e-6)
        rest = summer == 0
        ref = irls(X[rest][:, [0, 2, 3, 4, 5]], Y[rest], alpha="moments", max_iter=60, tol=1e-10)
        np.testing.assert_allclose(fit.coef[:, [0, 2, 3, 4, 5]], ref.coef, atol=1e-4)
