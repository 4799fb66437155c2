"""NB CUSUM: recursion with reset, LLR against scipy, detection, no look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from predgov.warn.cusum import cusum_path, nb_cusum, nb_llr

T = pd.date_range("2023-01-01", periods=200, freq="D").values


def test_cusum_path_by_hand():
    # S = max(0, S + llr); alarm when S > 2, then reset to 0; NaN skips a period.
    llr = np.array([0.5, 1.0, 1.0, -0.5, 2.0, np.nan, 0.1, -5.0])[:, None]
    score, alarm = cusum_path(llr, 2.0)
    expected = [0.5, 1.5, 2.5, 0.0, 2.0, np.nan, 2.1, 0.0]  # reset after row 2 and row 6
    np.testing.assert_allclose(score[:, 0], expected)
    assert alarm[:, 0].tolist() == [False, False, True, False, False, False, True, False]


@pytest.mark.parametrize("size", [0.7, 5.0, 50.0])
def test_llr_matches_scipy_logpmf(size):
    y = np.arange(0, 30, dtype=float)
    mu0, mu1 = 6.0, 11.0
    a, c = nb_llr(np.full_like(y, mu0), np.full_like(y, mu1), np.full_like(y, size))
    ref = stats.nbinom.logpmf(y, size, size / (size + mu1)) - stats.nbinom.logpmf(
        y, size, size / (size + mu0)
    )
    np.testing.assert_allclose(a * y + c, ref, rtol=1e-9, atol=1e-9)
    pa, pc = nb_llr(np.full_like(y, mu0), np.full_like(y, mu1), np.full_like(y, 1e12))
    pois = stats.poisson.logpmf(y, mu1) - stats.poisson.logpmf(y, mu0)
    np.testing.assert_allclose(pa * y + pc, pois, rtol=1e-9, atol=1e-9)


def test_detects_a_shift_and_upper_is_the_alarm_boundary():
    rng = np.random.default_rng(0)
    y = rng.poisson(10.0, (200, 3)).astype(float)
    y[150:155, 1] += 12
    out = nb_cusum(y, T, "D")
    alarm = out["score"] > out["threshold"]
    assert alarm[150:155, 1].any()
    assert alarm[:150].sum() <= 2
    ok = np.isfinite(out["upper"]) & np.isfinite(out["score"])
    np.testing.assert_array_equal(alarm[ok], (y > out["upper"])[ok])


def test_no_look_ahead_and_nan():
    rng = np.random.default_rng(1)
    y = rng.negative_binomial(10, 10 / 18, (200, 2)).astype(float)
    y[60, 0] = np.nan
    poisoned = y.copy()
    poisoned[120:] = 1e4
    a, b = nb_cusum(y, T, "D"), nb_cusum(poisoned, T, "D")
    for key in ("score", "expected", "upper"):
        np.testing.assert_array_equal(a[key][:120], b[key][:120])
    assert np.isnan(a["score"][60, 0])


def test_calendar_baseline_falls_back_to_level_in_the_first_year_when_asked():
    """``young="level"`` (the behaviour before issue 14; the default is now the calendar model
    throughout, see test_calibration.py::test_no_threshold_jump_after_an_alarm)."""
    from predgov.warn.exceedance import baseline_forecast, one_step_forecast

    t = np.arange("2023-01-01", "2024-06-30", dtype="datetime64[D]")
    rng = np.random.default_rng(2)
    y = rng.poisson(6.0, (len(t), 2)).astype(float)
    y[:200, 1] = np.nan  # series 1 starts later
    mu, size = baseline_forecast(y, t, "D", "calendar", young="level")
    mu_l, size_l = one_step_forecast(y, t, "D")
    np.testing.assert_array_equal(mu[:365, 0], mu_l[:365, 0])
    np.testing.assert_array_equal(mu[:565, 1], mu_l[:565, 1])
    assert not np.allclose(mu[400:, 0], mu_l[400:, 0])  # calendar model after a year
    np.testing.assert_array_equal(size[:365, 0], size_l[:365, 0])


def test_calendar_baseline_is_the_calendar_model_in_the_first_year_by_default():
    from predgov.warn.exceedance import baseline_forecast
    from predgov.warn.expected import expected_counts

    t = np.arange("2023-01-01", "2023-06-30", dtype="datetime64[D]")
    y = np.random.default_rng(3).poisson(6.0, (len(t), 2)).astype(float)
    mu, size = baseline_forecast(y, t, "D", "calendar")
    ref = expected_counts(y, t, "D")
    np.testing.assert_array_equal(mu, ref["expected"])
    np.testing.assert_array_equal(size, ref["size"])
    assert np.isnan(mu[:56]).all() and np.isfinite(mu[60:]).all()
