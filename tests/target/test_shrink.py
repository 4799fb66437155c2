"""Tests of the empirical-Bayes gamma–Poisson shrinkage: known answers and its limits."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from predgov.target.shrink import shrink_rates


def test_equal_exposure_known_answer():
    y = np.array([20.0, 4.0, 60.0, 0.0])
    s = shrink_rates(y, np.ones(4))
    # By hand: mean 21, sample variance 2252/3, gamma shape a = 21² / (2252/3 - 21).
    a = 21.0**2 / (2252.0 / 3.0 - 21.0)
    w = 21.0 / (21.0 + a)
    assert np.isclose(s.prior_rate, 21.0) and np.isclose(s.prior_size, a)
    np.testing.assert_allclose(s.weight, w)
    np.testing.assert_allclose(s.rate, w * y + (1 - w) * 21.0)
    # Equal exposures: the total is kept and the order is kept.
    assert np.isclose(s.rate.sum(), y.sum())
    assert (np.argsort(s.rate) == np.argsort(y)).all()


def test_unequal_exposure_matches_equal_in_the_limit_and_the_moment_formula():
    y = np.array([12.0, 30.0, 7.0, 55.0, 21.0])
    equal = shrink_rates(y, np.full(5, 3.0))
    near = shrink_rates(y, np.full(5, 3.0) + np.array([0, 0, 0, 0, 1e-9]))
    # method of moments by hand: size = mean**2 / (var - mean), sample variance
    mean, var = y.mean(), y.var(ddof=1)
    assert np.isclose(equal.prior_size, mean**2 / (var - mean))
    assert np.isclose(near.prior_size, equal.prior_size, rtol=1e-6)
    np.testing.assert_allclose(near.rate, equal.rate, rtol=1e-6)


def test_marshall_known_answer():
    y = np.array([6.0, 30.0, 15.0, 45.0])
    e = np.array([0.1, 1.0, 1.0, 1.0])
    s = shrink_rates(y, e)
    m = y.sum() / e.sum()
    s2 = np.sum(e * (y / e - m) ** 2) / e.sum() * 4 / 3
    a = m * m / (s2 - m / e.mean())
    w = e / (e + a / m)
    assert np.isclose(s.prior_rate, m) and np.isclose(s.prior_size, a)
    np.testing.assert_allclose(s.rate, w * y / e + (1 - w) * m)
    # The small unit had the highest rate (60) and ends below the last (45 on exposure 1).
    assert s.rate[0] < s.rate[3]


def test_poisson_only_variation_shrinks_everyone_to_the_mean():
    s = shrink_rates(np.array([9.0, 10.0, 11.0]), np.ones(3))
    assert np.isinf(s.prior_size)
    np.testing.assert_allclose(s.rate, 10.0)
    assert (s.weight == 0).all()


def test_unobserved_unit_gets_the_mean_and_all_zero_stays_zero():
    s = shrink_rates(np.array([0.0, 10.0, 30.0]), np.array([0.0, 2.0, 2.0]))
    assert s.weight[0] == 0 and np.isclose(s.rate[0], s.prior_rate) and s.prior_rate == 10.0
    zero = shrink_rates(np.zeros(3), np.ones(3))
    assert (zero.rate == 0).all()
    nothing = shrink_rates(np.zeros(2), np.zeros(2))
    assert (nothing.rate == 0).all() and (nothing.weight == 0).all()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 500), min_size=2, max_size=12),
    st.lists(st.floats(0.2, 50.0), min_size=12, max_size=12),
)
def test_shrinkage_pulls_every_rate_towards_the_mean(counts, sizes):
    y = np.array(counts, dtype=float)
    e = np.array(sizes[: len(y)])
    s = shrink_rates(y, e)
    raw = y / e
    lo, hi = np.minimum(raw, s.prior_rate), np.maximum(raw, s.prior_rate)
    tol = 1e-9 * (1 + hi)
    assert ((s.rate >= lo - tol) & (s.rate <= hi + tol)).all()
    assert ((s.weight >= 0) & (s.weight <= 1)).all()
    # The most extreme units move the most towards the mean: never further out than raw.
    top, bottom = np.argmax(raw), np.argmin(raw)
    assert s.rate[top] <= raw[top] + tol[top] and s.rate[bottom] >= raw[bottom] - tol[bottom]
