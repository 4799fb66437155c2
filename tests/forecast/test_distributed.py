"""Blocked forecasts (predgov.forecast.distributed) equal the forecast of the whole cube."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from predgov.data.calendar import SPRING_FESTIVAL_WINDOWS, calendar, spring_festival_shares
from predgov.forecast.distributed import forecast_blocked, global_pooling
from predgov.forecast.nbglm import NBGLM

RTOL = 1e-9  # batched linear algebra rounds by a few ulps between block sizes
HORIZON = 14


def fixed_model(**kw) -> NBGLM:
    """The default forecaster with the settings that pool over all series fixed."""
    return NBGLM(level_window=28, level_by="shared", calibrate=False, **kw)


@pytest.fixture(scope="module")
def cube() -> xr.DataArray:
    """3 districts x 3 categories, 2.2 years daily (yearly terms and festival windows on)."""
    T = 800
    rng = np.random.default_rng(4)
    t = pd.date_range("2022-01-03", periods=T, freq="D")
    d = np.arange(T)[:, None, None]
    level = np.exp(rng.normal(2.0, 0.6, (1, 3, 3)))
    shares = spring_festival_shares(t, "D", SPRING_FESTIVAL_WINDOWS)  # (T, windows)
    festival = shares @ np.linspace(-0.2, -0.9, shares.shape[1])  # a dip around 春节
    mu = level * np.exp(0.3 * np.cos(2 * np.pi * d / 365.25) + 0.2 * np.cos(2 * np.pi * d / 7)
                        + festival[:, None, None])  # fmt: skip
    y = rng.negative_binomial(6, 6 / (6 + mu))
    return xr.DataArray(
        y, dims=("time", "district", "category"),
        coords={"time": t, "district": ["d0", "d1", "d2"], "category": ["a", "b", "c"]},
        attrs={"freq": "D"},
    )  # fmt: skip


@pytest.fixture(scope="module")
def regressors(cube) -> xr.Dataset:
    return calendar((cube["time"].values[0], cube["time"].values[-1] + np.timedelta64(
        HORIZON, "D"), "D"), "qingdao")  # fmt: skip


@pytest.fixture(scope="module")
def whole(cube, regressors) -> xr.Dataset:
    model = fixed_model().fit(cube, regressors)
    assert model.use_festival_ and model.festival_pooled_.any()  # festival pooling is exercised
    return model.predict(HORIZON, regressors)


def assert_same(one: xr.Dataset, blocked: xr.Dataset) -> None:
    assert one.attrs == blocked.attrs
    for var in one.data_vars:
        assert one[var].dims == blocked[var].dims
        if one[var].dtype.kind in "fi":
            np.testing.assert_allclose(blocked[var].values, one[var].values, rtol=RTOL)
        else:
            np.testing.assert_array_equal(blocked[var].values, one[var].values)
    xr.testing.assert_identical(one.coords.to_dataset(), blocked.coords.to_dataset())


def test_blocked_serial_equals_one_process(cube, regressors, whole):
    blocked = forecast_blocked(fixed_model(), cube, HORIZON, regressors, regressors,
                               block_series=3)  # fmt: skip
    assert_same(whole, blocked)


def test_blocked_dask_equals_one_process(cube, regressors, whole):
    blocked = forecast_blocked(fixed_model(), cube, HORIZON, regressors, regressors,
                               block_series=6, backend="dask", n_workers=2,
                               processes=False)  # fmt: skip
    assert_same(whole, blocked)


def test_splitting_a_category_changes_the_pooled_effects(cube, regressors, whole):
    """The test can fail: blocks by district split every category's festival / dispersion
    pool."""
    parts = [fixed_model().fit(cube.isel(district=[i]), regressors).predict(HORIZON, regressors)
             for i in range(3)]  # fmt: skip
    split = xr.concat(parts, dim="district")
    assert not np.allclose(split["quantiles"].values, whole["quantiles"].values, rtol=1e-6)


def test_default_pools_globally_and_is_refused(cube):
    reasons = global_pooling(NBGLM(), cube)
    assert [r.split(":")[0] for r in reasons] == [
        "level_window='auto'", "level_by='auto'", "calibrate=True"]  # fmt: skip
    with pytest.raises(ValueError, match=r"pools over all series.*level_window='auto'"):
        forecast_blocked(NBGLM(), cube, HORIZON)
    assert global_pooling(fixed_model(dispersion_pool=None), cube)[0].startswith(
        "dispersion_pool=None")  # fmt: skip
    assert global_pooling(fixed_model(dispersion_pool=False), cube) == []


def test_not_strict_warns_and_says_why(cube):
    small = cube.isel(time=slice(-200, None))
    with pytest.warns(UserWarning, match="differs from one process"):
        out = forecast_blocked(NBGLM(), small, 7, strict=False, block_series=3)
    assert "calibrate=True" in out.attrs["blocked_pooling"]
    assert out["mean"].dims == ("time", "district", "category")
