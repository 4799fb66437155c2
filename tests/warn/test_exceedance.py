"""Forecast exceedance and the internal one-step forecast."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from predgov.warn import detect
from predgov.warn.exceedance import exceedance, one_step_forecast

T = pd.date_range("2023-01-02", periods=140, freq="D")  # starts on a Monday


def test_forecast_recovers_weekday_profile():
    profile = np.array([12.0, 10, 10, 10, 10, 6, 6])
    y = np.tile(profile, 20)[:, None]
    mean, size = one_step_forecast(y, T.values, "D", weekday_prior=0.0)
    np.testing.assert_allclose(mean[-14:, 0], y[-14:, 0], rtol=1e-9)
    # the default prior (7 pseudo-days per weekday) shrinks the profile towards 1
    shrunk, _ = one_step_forecast(y, T.values, "D")
    assert (np.abs(shrunk[-14:, 0] - y[-14:, 0]) < 0.25 * y[-14:, 0]).all()
    assert (size[-14:, 0] > 1e6).all()  # no errors: Poisson limit


def test_alarm_iff_above_upper_quantile():
    rng = np.random.default_rng(0)
    y = rng.negative_binomial(8, 8 / 20, (140, 4)).astype(float)
    y[100, 2] = 80
    out = exceedance(y, T.values, "D", alpha=0.01)
    alarm = out["score"] > out["threshold"]
    ok = np.isfinite(out["score"])
    np.testing.assert_array_equal(alarm[ok], (y > out["upper"])[ok])
    assert alarm[100, 2]
    assert out["threshold"][0, 0] == pytest.approx(2.0)


def test_external_forecast_arguments():
    y = np.full((140, 1), 5.0)
    y[-1] = 12
    mu = np.full_like(y, 5.0)
    out = exceedance(y, T.values, "D", expected=mu, size=np.full_like(y, 1e9))
    # Poisson(5): P(Y >= 12) = 0.005453 -> score 2.2634
    assert out["score"][-1, 0] == pytest.approx(-math.log10(0.0054531), rel=1e-4)
    up = exceedance(y, T.values, "D", upper=np.full_like(y, 11.0))
    assert (up["score"] > up["threshold"])[:, 0].tolist() == [False] * 139 + [True]
    # through detect, with DataArrays aligned to the counts
    da = xr.DataArray(y, coords={"time": T, "series": ["a"]}, dims=("time", "series"))
    da.attrs["freq"] = "D"
    res = detect(da, "exceedance", alpha=0.01, expected=xr.full_like(da, 5.0, dtype=float))
    assert bool(res["alarm"].isel(time=-1).item())
    assert float(res["expected"].isel(time=-1).item()) == 5.0


def test_no_look_ahead():
    rng = np.random.default_rng(2)
    y = rng.poisson(7.0, (140, 3)).astype(float)
    poisoned = y.copy()
    poisoned[90:] = 0
    a = exceedance(y, T.values, "D")
    b = exceedance(poisoned, T.values, "D")
    for key in ("score", "expected", "upper"):
        np.testing.assert_array_equal(a[key][:90], b[key][:90])
