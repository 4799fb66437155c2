"""Baselines on constructed series with known forecasts, and their fallbacks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from predgov.forecast import TSB, Climatology, SeasonalNaive


def series(values, freq="D", start="2021-01-04") -> xr.DataArray:
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    t = pd.date_range(start, periods=values.shape[0], freq=freq)
    da = xr.DataArray(values, coords={"time": t, "s": np.arange(values.shape[1])},
                      dims=("time", "s"))  # fmt: skip
    da["time"].attrs["freq"] = freq
    return da


def test_seasonal_naive_reproduces_weekly_pattern_exactly():
    week = np.array([9.0, 7, 7, 6, 5, 2, 1])
    fc = SeasonalNaive().fit(series(np.tile(week, 10))).predict(17)
    expected = np.tile(week, 3)[:17]
    np.testing.assert_array_equal(fc["mean"].values[:, 0], expected)
    # No past errors: every quantile is the point forecast.
    q = fc["quantiles"].values[:, 0, :]
    np.testing.assert_array_equal(q, np.repeat(expected[:, None], q.shape[1], axis=1))
    assert fc["fallback"].values.tolist() == [""]


def test_seasonal_naive_skips_missing_phase_values():
    week = np.tile(np.arange(1.0, 8.0), 4)
    week[-3] = np.nan  # last observation of phase 4 missing: use the week before
    fc = SeasonalNaive().fit(series(week)).predict(7)
    np.testing.assert_array_equal(fc["mean"].values[:, 0], np.arange(1.0, 8.0))


def test_seasonal_naive_error_quantiles():
    # Weeks alternate +1/-1 around a pattern: one-season errors are exactly -2 or +2.
    base = np.tile([10.0, 10, 10, 10, 10, 4, 4], 30)
    sign = np.repeat(np.where(np.arange(30) % 2 == 0, 1.0, -1.0), 7)
    fc = SeasonalNaive(quantiles=(0.1, 0.9)).fit(series(base + sign)).predict(7)
    q = fc["quantiles"].values[:, 0, :]
    point = fc["mean"].values[:, 0]
    np.testing.assert_array_equal(point, base[:7] - 1)  # last week was a -1 week
    np.testing.assert_allclose(q[:, 0], point - 2)
    np.testing.assert_allclose(q[:, 1], point + 2)


def test_seasonal_naive_monthly_period():
    year = np.arange(1.0, 13.0)
    fc = SeasonalNaive().fit(series(np.tile(year, 3), "MS", "2020-01-01")).predict(12)
    np.testing.assert_array_equal(fc["mean"].values[:, 0], year)


def test_climatology_of_a_repeated_year_monthly():
    year = np.array([5.0, 4, 6, 8, 10, 14, 20, 22, 12, 8, 6, 5])
    fc = Climatology().fit(series(np.tile(year, 4), "MS", "2019-01-01")).predict(12)
    np.testing.assert_allclose(fc["mean"].values[:, 0], year)
    # Identical years: no spread, so Poisson quantiles around the mean.
    q = fc["quantiles"].sel(quantile=0.5).values[:, 0]
    assert (np.abs(q - year) <= 1.0).all()


def test_climatology_daily_uses_same_weekday_a_year_back():
    # Values depend only on the week number and weekday => the 364-day lag repeats them.
    days = pd.date_range("2021-01-04", periods=364 * 3, freq="D")
    values = (days.day_of_week.to_numpy() + 1) * 10.0 + (np.arange(days.size) // 7 % 52)
    fc = Climatology(window=0).fit(series(values)).predict(14)
    np.testing.assert_allclose(fc["mean"].values[:, 0], values[:14])


def test_climatology_short_history_falls_back():
    fc = Climatology().fit(series(np.full(100, 3.0))).predict(5)
    assert fc["fallback"].values.tolist() == ["shorter than one season"]
    np.testing.assert_allclose(fc["mean"].values, 3.0)


def test_tsb_known_value_and_hurdle_quantiles():
    y = np.array([0, 2, 0, 0, 2, 0, 2, 0], dtype=float)
    fc = TSB(alpha=0.1, beta=0.1, quantiles=(0.1, 0.5, 0.9)).fit(series(y, "W-MON")).predict(3)
    p = 3 / 8
    for v in y:
        p += 0.1 * ((v > 0) - p)
    np.testing.assert_allclose(fc["mean"].values[:, 0], 2 * p)
    q = fc["quantiles"].values[0, 0]
    assert q[0] == 0 and q[1] == 0 and q[2] == 2  # P(0) ~ 0.62; sizes always 2


@pytest.mark.parametrize("cls", [SeasonalNaive, Climatology, TSB])
def test_fallbacks_recorded(cls):
    values = np.full((60, 4), 5.0)
    values[:, 0] = 0.0  # all zero
    values[:, 1] = np.nan  # never observed
    values[:-3, 2] = np.nan  # three observations only
    fc = cls().fit(series(values)).predict(10)
    reasons = fc["fallback"].values.tolist()
    assert reasons[0] == "all zero" and reasons[1] == "no observations"
    assert reasons[2] == "shorter than one season" or cls is TSB
    assert np.isfinite(fc["quantiles"].values).all()
    assert (fc["mean"].values[:, 0] == 0).all() and (fc["mean"].values[:, 1] == 0).all()
