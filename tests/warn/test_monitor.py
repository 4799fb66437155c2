"""The monitor's one-day scores equal detect() rerun on the counts extended by that day."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from predgov.warn.detect import detect
from predgov.warn.monitor import Monitor, next_period

RTOL = 1e-9  # batched linear algebra rounds by a few ulps between block sizes


def cube(T: int, seed: int = 1) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    t = pd.date_range("2023-01-01", periods=T, freq="D")
    level = np.exp(rng.normal(1.8, 0.7, (1, 3, 3)))
    week = 1 + 0.25 * np.cos(2 * np.pi * np.arange(T) / 7)
    mu = level * week[:, None, None]
    y = rng.negative_binomial(4, 4 / (4 + mu)).astype(float)
    y[-4:, 0, 1] += 45  # an outbreak that goes on through the new day
    y[:, 2, 2] = 0.0  # quiet
    y[-1, 1, 0] = np.nan  # the new day not observed for one series
    y[:-1, 2, 1] = np.nan  # a series observed for the first time on the new day
    return xr.DataArray(
        y, dims=("time", "district", "category"),
        coords={"time": t, "district": ["d0", "d1", "d2"], "category": ["a", "b", "c"]},
        attrs={"freq": "D"},
    )  # fmt: skip


def assert_day_equal(day: xr.Dataset, full: xr.Dataset) -> None:
    ref = full.isel(time=[-1])
    for var in ("score", "threshold", "alarm", "expected", "upper"):
        a, b = ref[var].transpose(*day[var].dims), day[var]
        assert a.dims == b.dims
        np.testing.assert_array_equal(a["time"].values, b["time"].values)
        if a.dtype == bool:
            np.testing.assert_array_equal(b.values, a.values, err_msg=var)
        else:
            np.testing.assert_allclose(b.values, a.values, rtol=RTOL, equal_nan=True, err_msg=var)
    assert day.attrs["n_quiet_series"] == full.attrs["n_quiet_series"]


# 421 rows: the new day (row 420) is no refit origin; 420 rows: it is one (56 + 7k)
@pytest.mark.parametrize("T", [421, 420])
def test_day_equals_detect_on_extended_cube(T):
    da = cube(T)
    full = detect(da, "default", city="qingdao")
    mon = Monitor(city="qingdao", block_series=3).fit(da.isel(time=slice(0, -1)))
    assert mon.next_time_ == da["time"].values[-1]
    day = mon.score(da.isel(time=[-1]))
    assert_day_equal(day, full)
    assert day["alarm"].sel(district="d0", category="b").item()  # the new day alarms
    assert np.isnan(day["score"].sel(district="d1", category="a").item())  # not observed
    assert np.isnan(day["score"].sel(district="d2", category="b").item())  # one observation: quiet


def test_day_after_an_alarm_restarts_the_cusum():
    da = cube(421)
    da[-1, 0, 1] = 0.0  # the outbreak ended: the CUSUM was reset after yesterday's alarm
    full = detect(da, "default")
    assert bool(full["alarm"].isel(time=-2).sel(district="d0", category="b"))
    day = Monitor(block_series=9).fit(da.isel(time=slice(0, -1))).score(da.isel(time=-1))
    assert_day_equal(day, full)
    assert day["score"].sel(district="d0", category="b").item() == 0.0


def test_dask_blocks_equal_serial():
    da = cube(300)
    past, new = da.isel(time=slice(0, -1)), da.isel(time=-1)
    serial = Monitor(block_series=3).fit(past)
    dask = Monitor(block_series=3, backend="dask", n_workers=2, processes=False).fit(past)
    xr.testing.assert_allclose(serial.state_, dask.state_, rtol=RTOL)
    assert_day_equal(dask.score(new), detect(da, "default"))


def test_scoring_is_fast_and_checked():
    da = cube(200)
    mon = Monitor().fit(da.isel(time=slice(0, -1)))
    t0 = time.perf_counter()
    mon.score(da.isel(time=-1))
    assert time.perf_counter() - t0 < 0.5
    with pytest.raises(ValueError, match="fitted to score"):
        mon.score(da.isel(time=[-2]))
    with pytest.raises(ValueError, match="dims"):
        mon.score(da.isel(time=-1, district=0))
    with pytest.raises(ValueError, match=">= 0"):
        mon.score(-da.isel(time=-1) - 1)
    with pytest.raises(RuntimeError, match="not fitted"):
        Monitor().score(da.isel(time=-1))
    with pytest.raises(ValueError, match="NB CUSUM"):
        Monitor("ears_c2").fit(da)


def test_regressors_must_cover_the_new_day():
    da = cube(120)
    reg = xr.Dataset({"temperature": ("time", np.zeros(120))}, coords={"time": da["time"]})
    with pytest.raises(ValueError, match="cover the day"):
        Monitor(regressors=reg).fit(da)


def test_next_period_weekly_monthly():
    t = pd.date_range("2024-01-01", periods=3, freq="W-MON").values
    assert str(next_period(t, "W-MON"))[:10] == "2024-01-22"
    t = pd.date_range("2024-01-01", periods=2, freq="MS").values
    assert str(next_period(t, "MS"))[:10] == "2024-03-01"
