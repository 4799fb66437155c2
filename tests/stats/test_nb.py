"""The negative-binomial toolkit against scipy.stats (and statsmodels for the ML dispersion)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from predgov.stats import (
    MAX_DISPERSION,
    MIN_SIZE,
    POISSON_SIZE,
    alpha_ml,
    is_poisson,
    moment_alpha,
    nb_alpha,
    nb_cdf,
    nb_llr,
    nb_log_upper,
    nb_logpmf,
    nb_pmf,
    nb_ppf,
    nb_quantiles,
    nb_size_moments,
    size_from_alpha,
    size_from_phi,
    surprise,
)

MU = st.floats(0.01, 3000.0)
SIZE = st.one_of(st.floats(0.1, 1e4), st.just(np.inf))


def scipy_dist(mu: float, size: float):
    if np.isinf(size) or size >= POISSON_SIZE:
        return stats.poisson(mu)
    return stats.nbinom(size, size / (size + mu))


def test_the_one_cap():
    assert MAX_DISPERSION == 10.0 and MIN_SIZE == pytest.approx(0.1)
    assert is_poisson(np.array([POISSON_SIZE, np.inf, np.nan, -1.0, 5.0])).tolist() == [
        True, True, True, True, False,
    ]  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(mu=MU, size=SIZE, k=st.integers(0, 5000))
def test_pmf_cdf_upper_tail_match_scipy(mu, size, k):
    d = scipy_dist(mu, size)
    assert nb_pmf(float(k), mu, size) == pytest.approx(d.pmf(k), rel=1e-6, abs=1e-300)
    assert nb_cdf(float(k), mu, size) == pytest.approx(d.cdf(k), rel=1e-6, abs=1e-300)
    assert nb_logpmf(float(k), mu, size) == pytest.approx(d.logpmf(k), rel=1e-9, abs=1e-7)
    # log P(Y >= k) = logsf(k - 1)
    want = 0.0 if k == 0 else d.logsf(k - 1)
    assert nb_log_upper(float(k), mu, size) == pytest.approx(want, rel=1e-7, abs=1e-12)
    assert surprise(float(k), mu, size) == pytest.approx(-want / np.log(10), rel=1e-7, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(mu=MU, size=SIZE, q=st.floats(0.001, 0.999))
def test_ppf_and_quantiles_match_scipy(mu, size, q):
    ref = scipy_dist(mu, size).ppf(q)
    assert nb_ppf(q, mu, size) == ref
    assert nb_quantiles(np.array([mu]), size, (q,))[0, 0] == ref


@settings(max_examples=40, deadline=None)
@given(mu=MU, size=SIZE, levels=st.lists(st.floats(0.001, 0.999), min_size=1, max_size=6,
                                           unique=True))  # fmt: skip
def test_mid_quantiles_are_sorted_and_within_half_a_count(mu, size, levels):
    levels = np.sort(levels)
    k = nb_quantiles(np.array([mu]), size, levels)[0]
    mid = nb_quantiles(np.array([mu]), size, levels, method="mid")[0]
    assert (np.diff(mid) >= 0).all()
    assert ((mid >= k - 0.5 - 1e-9) | (mid == 0)).all() and (mid <= k + 0.5 + 1e-9).all()


def test_nan_and_missing_handling():
    assert np.isnan(nb_ppf(0.9, np.array([np.nan]), 3.0)).all()
    assert np.isnan(nb_log_upper(np.array([np.nan, 2.0]), np.array([1.0, np.nan]), 1.0)).all()
    assert nb_log_upper(0.0, 3.0, 2.0) == 0.0
    assert nb_quantiles(np.array([np.nan]), 2.0, (0.5,)).tolist() == [[0.0]]


def test_llr_is_the_log_likelihood_ratio():
    y = np.arange(0.0, 30.0)
    for size in (2.0, 1e9):
        a, c = nb_llr(np.array(5.0), np.array(9.0), np.array(size))
        want = nb_logpmf(y, 9.0, size) - nb_logpmf(y, 5.0, size)
        np.testing.assert_allclose(a * y + c, want, rtol=1e-7, atol=1e-6)


def test_sizes_from_alpha_and_phi():
    assert size_from_alpha(np.array([0.25, 0.0, 1e-9])).tolist() == [4.0, POISSON_SIZE,
                                                                     POISSON_SIZE]  # fmt: skip
    # variance phi * mu  <=>  mu + mu^2 / size
    mu, phi = 6.0, 2.5
    r = size_from_phi(mu, phi)
    assert mu + mu**2 / r == pytest.approx(phi * mu)


def test_moment_estimators_recover_a_known_dispersion():
    rng = np.random.default_rng(3)
    mu = rng.uniform(2, 40, (20000, 1))
    y = rng.negative_binomial(4.0, 4.0 / (4.0 + mu)).astype(float)
    assert nb_alpha(y, mu)[0] == pytest.approx(0.25, rel=0.05)
    m, r = nb_size_moments(rng.negative_binomial(2.0, 2.0 / 12.0, (20000, 1)).astype(float))
    assert m[0] == pytest.approx(10.0, rel=0.03) and r[0] == pytest.approx(2.0, rel=0.08)
    # Poisson data: no excess, infinite size; extreme data: capped at the one cap.
    assert nb_size_moments(np.full((5, 1), 3.0))[1][0] == np.inf
    spiky = np.r_[np.zeros(19), 500.0][:, None]  # sample alpha about 20
    assert nb_size_moments(spiky)[1][0] == pytest.approx(MIN_SIZE)
    assert moment_alpha(1e9, 1.0, 1.0) == MAX_DISPERSION


def test_nb_alpha_weights_and_degrees_of_freedom():
    y = np.array([[0.0], [10.0], [2.0], [7.0]])
    mu = np.full((4, 1), 4.0)
    w = np.array([[1.0], [1.0], [1.0], [0.0]])  # the last cell left out
    a = nb_alpha(y, mu, weights=w, n_params=1)
    assert a[0] == pytest.approx((12 + 32 + 0) / 48 * 3 / 2)


def test_alpha_ml_matches_statsmodels_negative_binomial():
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(7)
    y = rng.negative_binomial(1.5, 1.5 / (1.5 + 6.0), 3000).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.NegativeBinomial(y, np.ones((y.size, 1))).fit(disp=0, tol=1e-12, maxiter=200)
    mu = np.exp(res.params[0])  # the intercept-only NB2 MLE of the mean is the sample mean
    assert mu == pytest.approx(y.mean(), rel=1e-6)
    assert alpha_ml(y, np.full(y.size, y.mean()))[0] == pytest.approx(res.params[1], rel=1e-4)
    # Under-dispersed counts: the likelihood is largest at the Poisson limit.
    assert alpha_ml(np.tile([3.0, 4.0, 5.0], 50), 4.0)[0] == 0.0


def _exact_cdf_pmf(k: int, mu: float, size: float) -> tuple[float, float]:
    """P(Y <= k), P(Y = k) summed term by term in 60-digit decimals (a reference that, unlike
    scipy's pmf for sizes of 1e6 and more, keeps full precision)."""
    from decimal import Decimal, localcontext

    with localcontext() as ctx:
        ctx.prec = 60
        m = Decimal(float(mu))
        if np.isinf(size) or size >= POISSON_SIZE:
            term = (-m).exp()
            ratio = [m / j for j in range(1, k + 1)]
        else:
            r = Decimal(float(size))
            term = (r * (r / (r + m)).ln()).exp()
            ratio = [(r + j - 1) / j * (m / (r + m)) for j in range(1, k + 1)]
        total = term
        for f in ratio:
            term *= f
            total += term
        return float(total), float(term)


def test_summed_cdf_and_pmf_match_scipy_on_random_parameters():
    """nb_cdf / nb_cdf_pmf (the pmf recursion for small whole counts, special functions
    elsewhere) against scipy.stats on random cells, with the edges: means near 0 and 0,
    Poisson sizes (inf, >= POISSON_SIZE, 0), the smallest size, counts at, beyond and far
    beyond SUM_MAX_COUNT, and means whose P(Y = 0) underflows."""
    from predgov.stats.nb import SUM_MAX_COUNT, nb_cdf_pmf

    rng = np.random.default_rng(11)
    n = 4000
    mu = np.exp(rng.uniform(np.log(1e-6), np.log(2000.0), n))
    size = np.exp(rng.uniform(np.log(MIN_SIZE), np.log(1e4), n))
    size[rng.random(n) < 0.15] = np.inf
    k = np.floor(rng.uniform(0, 1, n) ** 2 * 3 * SUM_MAX_COUNT)
    edges = [(0.0, 1e-12, 2.0), (3.0, 0.0, 5.0), (0.0, 0.0, np.inf), (40.0, 35.0, POISSON_SIZE),
             (2.0, 3.0, 0.0), (float(SUM_MAX_COUNT), 120.0, 3.0), (SUM_MAX_COUNT + 1.0, 120.0, 3.0),
             (5000.0, 4800.0, np.inf), (100.0, 900.0, np.inf), (100.0, 2e4, 50.0),
             (0.0, 1e-3, MIN_SIZE), (10.0, 1e3, MIN_SIZE)]  # fmt: skip
    k = np.r_[k, [e[0] for e in edges]]
    mu = np.r_[mu, [e[1] for e in edges]]
    size = np.r_[size, [e[2] for e in edges]]
    pois = is_poisson(size)
    rr = np.where(pois, 1.0, size)
    want_cdf = np.where(pois, stats.poisson.cdf(k, mu), stats.nbinom.cdf(k, rr, rr / (rr + mu)))
    want_pmf = np.where(pois, stats.poisson.pmf(k, mu), stats.nbinom.pmf(k, rr, rr / (rr + mu)))
    cdf, pmf = nb_cdf_pmf(k, mu, size)
    # scipy's own pmf loses up to ~4e-6 (relative) in the far tails of tiny means: a 60-digit
    # reference holds the summed path to 1e-12 on a sample of the cells
    np.testing.assert_allclose(cdf, want_cdf, rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(pmf, want_pmf, rtol=1e-5, atol=1e-300)
    for i in rng.choice(k.size, 60, replace=False):
        ref_cdf, ref_pmf = _exact_cdf_pmf(int(k[i]), mu[i], size[i])
        assert cdf[i] == pytest.approx(ref_cdf, rel=1e-12, abs=1e-300)
        if k[i] <= SUM_MAX_COUNT:  # beyond: nb_pmf's gammaln, ~1e-11 on sizes of thousands
            assert pmf[i] == pytest.approx(ref_pmf, rel=1e-12, abs=1e-300)
    np.testing.assert_array_equal(nb_cdf(k, mu, size), cdf)
    # broadcasting and shape, as nb_cdf before
    c2 = nb_cdf(np.arange(6.0)[:, None], np.array([[0.5, 4.0, 30.0]]), 2.0)
    assert c2.shape == (6, 3)
    np.testing.assert_allclose(c2, stats.nbinom.cdf(np.arange(6)[:, None], 2.0,
                                                    2.0 / (2.0 + np.array([[0.5, 4.0, 30.0]]))),
                               rtol=1e-12)  # fmt: skip


@pytest.mark.parametrize("k, mu, size", [
    (37, 7.5e-5, 8.5e6), (9, 2e-6, 9.4e6), (5, 40.3, 9.3e6), (8, 303.0, 7.2e6), (0, 2.4, 9.3e6),
    (20, 14.0, 1e5), (126, 110.0, 8846.3), (4, 6.9, 8846.3), (60, 500.0, np.inf),
    (128, 100.0, MIN_SIZE), (0, 1e-9, 3.0), (3, 600.0, np.inf),
])  # fmt: skip
def test_summed_cdf_and_pmf_to_full_precision(k, mu, size):
    """Huge sizes (near the Poisson limit, where scipy's pmf loses digits) and busy cells:
    within a few roundings of a 60-digit reference."""
    from predgov.stats.nb import nb_cdf_pmf

    want_cdf, want_pmf = _exact_cdf_pmf(k, mu, size)
    cdf, pmf = nb_cdf_pmf(float(k), mu, size)
    assert cdf == pytest.approx(want_cdf, rel=1e-12, abs=1e-300)
    assert pmf == pytest.approx(want_pmf, rel=1e-12, abs=1e-300)


def test_summed_cdf_keeps_the_special_functions_outside_whole_counts():
    """Non-integer, negative and NaN inputs go through betainc / gammaincc as before."""
    from scipy import special

    k = np.array([2.5, -1.0, 3.0, 3.0, np.nan])
    mu = np.array([4.0, 4.0, np.nan, 4.0, 4.0])
    r = np.array([2.0, 2.0, 2.0, np.nan, 2.0])
    got = nb_cdf(k, mu, r)
    want = special.betainc(2.0, k + 1.0, 2.0 / (2.0 + mu))
    want[3] = special.gammaincc(4.0, 4.0)  # NaN size: the Poisson limit (is_poisson)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[~np.isnan(want)], want[~np.isnan(want)], rtol=1e-14)


def test_nb_alpha_clean_sums_equal_the_general_path():
    """The solver's clean-input path gives nb_alpha's numbers bit for bit, and flags
    non-finite means for the general path."""
    from predgov.stats.nb import _nb_alpha_sums

    rng = np.random.default_rng(5)
    mu = rng.uniform(0.1, 50.0, (300, 4))
    y = rng.poisson(mu).astype(float)
    w = (rng.random(y.shape) > 0.2).astype(float)
    y0 = np.where(w > 0, y, 0.0)
    got, ok = _nb_alpha_sums(y0, mu, w, (w > 0).sum(axis=0), 3)
    assert ok.all()
    np.testing.assert_array_equal(got, nb_alpha(np.where(w > 0, y, np.nan), mu, n_params=3))
    mu[0, 1] = np.inf
    assert _nb_alpha_sums(y0, mu, w, (w > 0).sum(axis=0), 3)[1].tolist() == [True, False, True,
                                                                            True]  # fmt: skip
