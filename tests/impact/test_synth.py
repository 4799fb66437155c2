"""Synthetic control: weights on the simplex, optimality, exact recovery, placebo intervals."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import optimize

from predgov.impact import estimate
from predgov.impact.synth import simplex_weights

finite = st.floats(min_value=0.0, max_value=100.0, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(2, 30), J=st.integers(1, 8))
def test_weights_on_the_simplex(data, n, J):
    donors = data.draw(arrays(np.float64, (n, J), elements=finite))
    target = data.draw(arrays(np.float64, (n,), elements=finite))
    w = simplex_weights(donors, target)
    assert w.shape == (J,)
    assert (w >= 0).all()
    assert abs(w.sum() - 1.0) < 1e-9


@settings(max_examples=30, deadline=None)
@given(data=st.data(), J=st.integers(2, 6))
def test_weights_are_optimal_against_slsqp(data, J):
    """No point of the simplex fits better (SLSQP as the oracle, small tolerance)."""
    n = 20
    donors = data.draw(arrays(np.float64, (n, J), elements=st.floats(0.5, 2.0)))
    target = data.draw(arrays(np.float64, (n,), elements=st.floats(0.5, 2.0)))
    w = simplex_weights(donors, target)

    def loss(v: np.ndarray) -> float:
        return float(np.sum((donors @ v - target) ** 2))

    ref = optimize.minimize(loss, np.full(J, 1.0 / J), method="SLSQP", bounds=[(0, 1)] * J,
                            constraints=[{"type": "eq", "fun": lambda v: v.sum() - 1.0}],
                            options={"ftol": 1e-12, "maxiter": 500})  # fmt: skip
    assert loss(w) <= ref.fun + 1e-6 * max(1.0, ref.fun)


def test_exact_convex_combination_recovered():
    rng = np.random.default_rng(0)
    donors = rng.uniform(1, 5, (40, 4))
    w_true = np.array([0.2, 0.0, 0.5, 0.3])
    np.testing.assert_allclose(simplex_weights(donors, donors @ w_true), w_true, atol=1e-6)


def test_bad_shapes():
    with pytest.raises(ValueError, match="donors must be"):
        simplex_weights(np.ones((3, 2)), np.ones(4))
    with pytest.raises(ValueError, match="at least one donor"):
        simplex_weights(np.ones((3, 0)), np.ones(3))


def test_weights_output_and_counterfactual_of_a_mixture(make_planted):
    """A treated estate whose shape is a mixture of two donors' gets (mostly) those donors."""
    p = make_planted(21, effect=1.0, T=120, U=8, K=1, start=100, alpha=0.0, shock_sd=0.3)
    y = p.counts.values.astype(float)
    rng = np.random.default_rng(1)
    mix = 0.5 * y[:, 3] / y[:100, 3].mean() + 0.5 * y[:, 6] / y[:100, 6].mean()
    y[:, 0] = rng.poisson(40.0 * mix)
    da = p.counts.copy(data=y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = estimate(da, p.treated, p.start, method="synth", n_draws=200)
    w = out["weights"].sel(estate=p.treated[0])
    assert set(w.donor.values) == {f"e{i:02d}" for i in range(1, 8)}
    np.testing.assert_allclose(float(w.sum()), 1.0)
    assert float(w.sel(donor=["e03", "e06"]).sum()) > 0.7
    assert float(out.total_effect_lo) <= 0.0 <= float(out.total_effect_hi)


def test_synth_needs_donors(make_planted):
    p = make_planted(22, T=60, U=2, K=1, start=40)
    with pytest.raises(ValueError, match="at least 2 untreated units"):
        estimate(p.counts, p.treated, p.start, method="synth", n_draws=50)


def test_synth_interval_reflects_placebo_spread(make_planted):
    """Overdispersed counts (every donor a poor placebo) widen the interval."""
    calm = make_planted(23, effect=1.0, T=120, U=10, K=1, start=100, alpha=0.01)
    wild = make_planted(23, effect=1.0, T=120, U=10, K=1, start=100, alpha=0.5)
    widths = []
    for p in (calm, wild):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = estimate(p.counts, p.treated, p.start, method="synth", n_draws=200,
                           calibrate=False)  # fmt: skip
        widths.append(float(out.total_effect_hi - out.total_effect_lo))
    assert widths[1] > 1.5 * widths[0]
