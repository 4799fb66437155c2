"""EARS C1/C2/C3: hand-computed values, thresholds, NaN handling, no look-ahead."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from predgov.warn.ears import ears

# A short series worked by hand (rows 0..9).
Y = np.array([10, 12, 8, 11, 9, 10, 13, 20, 25, 14], dtype=float)


def test_c1_hand_computed():
    # C1 at row 7: baseline rows 0..6 = 10 12 8 11 9 10 13; mean 73/7 = 10.428571;
    # squared deviations sum to 17.714286, SD = sqrt(17.714286 / 6) = 1.718249;
    # C1 = (20 - 10.428571) / 1.718249 = 5.570454.
    out = ears(Y[:, None], method="C1", min_sigma=0.0)
    assert out["score"][7, 0] == pytest.approx(5.570454, abs=1e-6)
    assert out["expected"][7, 0] == pytest.approx(73 / 7)
    # C1 at row 8: baseline rows 1..7 = 12 8 11 9 10 13 20; mean 83/7 = 11.857143;
    # deviations^2 sum = 0.020408+14.877551+0.734694+8.163265+3.448980+1.306122+66.306122
    # = 94.857143; SD = sqrt(94.857143/6) = 3.976119; C1 = (25 - 11.857143)/3.976119 = 3.305448
    assert out["score"][8, 0] == pytest.approx(3.305448, abs=1e-6)


def test_c2_and_c3_hand_computed():
    out2 = ears(Y[:, None], method="C2", min_sigma=0.0, min_baseline=5)
    # C2 at row 7: baseline rows 0..4 (guard 2) = 10 12 8 11 9: mean 10, SD sqrt(10/4) = 1.581139
    # -> (20 - 10) / 1.581139 = 6.324555
    # C2 at row 8: rows 0..5 = 10 12 8 11 9 10: mean 10, SD sqrt(10/5) = 1.414214 -> 10.606602
    # C2 at row 9: rows 0..6: mean 10.428571, SD 1.718249 -> (14 - 10.428571)/1.718249 = 2.078527
    c2 = out2["score"][:, 0]
    assert c2[7] == pytest.approx(6.324555, abs=1e-6)
    assert c2[8] == pytest.approx(10.606602, abs=1e-6)
    assert c2[9] == pytest.approx(2.078527, abs=1e-6)
    assert np.isnan(c2[:5]).all()  # fewer than 5 baseline points
    out3 = ears(Y[:, None], method="C3", min_sigma=0.0, min_baseline=5)
    # C3 at row 9 = (6.324555 - 1) + (10.606602 - 1) + (2.078527 - 1) = 16.009684
    assert out3["score"][9, 0] == pytest.approx(16.009684, abs=1e-5)


def test_default_thresholds_follow_surveillance():
    y = np.tile(Y, 3)[:, None]
    assert ears(y, method="C1")["threshold"][0, 0] == pytest.approx(3.090232, abs=1e-6)
    assert ears(y, method="C2")["threshold"][0, 0] == pytest.approx(3.090232, abs=1e-6)
    assert ears(y, method="C3")["threshold"][0, 0] == pytest.approx(1.959964, abs=1e-6)
    assert ears(y, method="C3", threshold=2)["threshold"][0, 0] == 2.0
    with pytest.raises(ValueError, match="C1, C2 or C3"):
        ears(y, method="C4")


def test_min_sigma_on_flat_sparse_baseline():
    y = np.zeros((10, 1))
    y[-1] = 1
    assert ears(y, method="C1", min_sigma=0.5)["score"][-1, 0] == pytest.approx(2.0)
    assert math.isinf(ears(y, method="C1", min_sigma=0.0)["score"][-1, 0])
    y[-1] = 0
    assert ears(y, method="C1", min_sigma=0.0)["score"][-1, 0] == 0.0  # 0/0 is no signal


def test_nan_not_used_as_baseline_and_not_scored():
    y = Y.copy()[:, None]
    y[3] = np.nan
    out = ears(y, method="C1", min_sigma=0.0)
    assert np.isnan(out["score"][3, 0])
    base = np.array([10, 12, 8, 9, 10, 13])  # rows 0..6 without row 3
    expected = (20 - base.mean()) / base.std(ddof=1)
    assert out["score"][7, 0] == pytest.approx(expected)


@pytest.mark.parametrize("method", ["C1", "C2", "C3"])
def test_no_look_ahead(method):
    rng = np.random.default_rng(0)
    y = rng.poisson(8, (60, 4)).astype(float)
    poisoned = y.copy()
    poisoned[40:] = 1e6
    a = ears(y, method=method)["score"][:40]
    b = ears(poisoned, method=method)["score"][:40]
    np.testing.assert_array_equal(a, b)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(0, 50), min_size=12, max_size=30),
    st.floats(0.1, 100.0),
    st.sampled_from(["C1", "C2", "C3"]),
)
def test_scale_invariance_without_min_sigma(values, c, method):
    y = np.asarray(values, float)[:, None]
    a = ears(y, method=method, min_sigma=0.0)["score"]
    b = ears(c * y, method=method, min_sigma=0.0)["score"]
    np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
