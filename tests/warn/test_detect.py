"""detect(): every method on real cube shapes, NaN / quiet series, frequencies, invariants."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from predgov.data.cube import resample_counts
from predgov.data.demo import demo_city
from predgov.warn import DETECTORS, detect

METHODS = [*DETECTORS, "default"]


@pytest.fixture(scope="module")
def city() -> xr.Dataset:
    categories = ["parking", "heating", "village_affairs"]
    return demo_city(
        seed=0, start="2022-01-01", end="2023-06-30", districts=["市南", "平度"],
        categories=categories,
    )  # fmt: skip


@pytest.mark.parametrize("method", METHODS)
def test_every_method_on_the_demo_city(city, method):
    out = detect(city, method, start="2023-03-01")
    counts = city["counts"]
    for var in ("score", "threshold", "alarm", "expected", "upper"):
        assert out[var].dims == counts.dims
        assert out[var].shape == counts.shape
    assert out["alarm"].dtype == bool
    assert (out["district"] == counts["district"]).all()
    assert "parent" in out.coords
    assert out.attrs["freq"] == "D"
    assert out.attrs["detector"] in DETECTORS
    json.loads(out.attrs["params"])
    before = out["score"].sel(time=slice(None, "2023-02-28"))
    assert before.isnull().all()
    assert not out["alarm"].sel(time=slice(None, "2023-02-28")).any()
    scored = out["score"].sel(time=slice("2023-03-01", None))
    if method != "trend":
        assert scored.notnull().any()


def test_dataarray_input_nan_and_quiet_series(city):
    counts = city["counts"].astype(float)
    counts[100:110, 0, 0] = np.nan
    counts[:, 1, 2] = 0.0  # an all-zero series
    out = detect(counts.assign_attrs(freq="D"), "ears_c2")
    assert out["score"][100:110, 0, 0].isnull().all()
    assert not out["alarm"][100:110, 0, 0].any()
    assert not out["alarm"][:, 1, 2].any()
    assert out.attrs["n_quiet_series"] >= 1
    assert "平度/village_affairs" in out.attrs["quiet_series"]


def test_nan_counts_are_not_zero_baseline():
    t = pd.date_range("2023-01-01", periods=40, freq="D")
    y = np.full((40, 1), 10.0)
    y[-4:-1] = np.nan  # a gap, not zeros
    da = xr.DataArray(y, coords={"time": t, "s": ["a"]}, dims=("time", "s"), attrs={"freq": "D"})
    out = detect(da, "ears_c1")
    assert out["score"].isel(time=-1).item() == 0.0  # baseline: the four 10s before the gap


def _weekly_and_monthly(city, freq, methods):
    cube = resample_counts(city[["counts"]].assign_attrs(freq="D"), freq)
    for method in methods:
        if freq == "MS" and method in ("farrington", "default"):
            # 18 months: too short for Farrington (26 months), which now says so
            with pytest.warns(UserWarning, match="farrington scored no period"):
                out = detect(cube, method)
        else:
            out = detect(cube, method)
        assert out.attrs["freq"] == freq
        assert out["alarm"].shape == cube["counts"].shape


@pytest.mark.parametrize("freq", ["W-MON", "MS"])
def test_weekly_and_monthly_cubes(city, freq):
    """Every detector, nb_cusum included: its weekly and monthly run-length threshold tables
    are stored (predgov.warn.arl.STORED_TABLES), so the first use computes nothing (< 1 s)."""
    _weekly_and_monthly(city, freq, METHODS)


def test_short_and_empty_series_do_not_crash():
    t = pd.date_range("2024-01-01", periods=3, freq="D")
    da = xr.DataArray(np.zeros((3, 2)), coords={"time": t}, dims=("time", "s"))
    for method in METHODS:
        out = detect(da, method)
        assert not out["alarm"].any()
        assert out.attrs["n_quiet_series"] == 2


def test_unknown_method():
    t = pd.date_range("2024-01-01", periods=10, freq="D")
    da = xr.DataArray(np.ones(10), coords={"time": t}, dims="time")
    with pytest.raises(ValueError, match="unknown method"):
        detect(da, "magic")


@settings(max_examples=20, deadline=None)
@given(
    st.lists(st.integers(0, 40), min_size=30, max_size=80),
    st.sampled_from(["ears_c1", "ears_c3", "nb_cusum", "exceedance", "trend"]),
)
def test_alarm_iff_score_above_threshold(values, method):
    t = pd.date_range("2024-01-01", periods=len(values), freq="D")
    da = xr.DataArray(np.asarray(values, float), coords={"time": t}, dims="time")
    out = detect(da, method)
    expected = (out["score"] > out["threshold"]).fillna(False)
    assert (out["alarm"] == expected).all()
