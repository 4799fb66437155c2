"""Base machinery: input checks, stacking, the forecast Dataset contract, NB quantiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from predgov.forecast import (
    DEFAULT_QUANTILES,
    NBGLM,
    TSB,
    Climatology,
    NotFittedError,
    SeasonalNaive,
    nb_quantiles,
)
from predgov.forecast.base import (
    as_counts,
    future_times,
    season_length,
    series_status,
    stack_series,
    unstack_series,
)

MODELS = [SeasonalNaive, Climatology, TSB, NBGLM]


def cube(values: np.ndarray, freq: str = "D", start: str = "2022-01-03") -> xr.DataArray:
    t = pd.date_range(start, periods=values.shape[0], freq=freq)
    dims = ("time", "district", "category")[: values.ndim]
    coords = {"time": t}
    if values.ndim > 1:
        coords["district"] = [f"d{i}" for i in range(values.shape[1])]
    if values.ndim > 2:
        coords["category"] = [f"c{i}" for i in range(values.shape[2])]
    da = xr.DataArray(values, coords=coords, dims=dims, name="counts")
    da["time"].attrs["freq"] = freq
    return da


def test_default_quantiles_are_m5_plus_80():
    assert DEFAULT_QUANTILES == (
        0.005, 0.025, 0.1, 0.165, 0.25, 0.5, 0.75, 0.835, 0.9, 0.975, 0.995,
    )  # fmt: skip


def test_season_length_and_future_times():
    assert season_length("D") == 7 and season_length("MS") == 12
    f = future_times("2024-12-31", "D", 3)
    assert f[0] == pd.Timestamp("2025-01-01") and len(f) == 3


def test_stack_unstack_roundtrip():
    rng = np.random.default_rng(0)
    da = cube(rng.poisson(3, (10, 3, 4)).astype(float))
    values, layout = stack_series(da)
    dims, back = unstack_series(values, layout, ("time",))
    assert dims == ("time", "district", "category")
    np.testing.assert_array_equal(back, da.values)
    assert layout.labels()[5] == "d1/c1"


@pytest.mark.parametrize(
    "bad, msg",
    [
        (xr.DataArray(np.zeros((3, 2)), dims=("day", "x")), "time"),
        (cube(-np.ones((10, 2))), "negative"),
    ],
)
def test_bad_inputs(bad, msg):
    with pytest.raises(ValueError, match=msg):
        as_counts(bad)


def test_irregular_time_axis_rejected():
    da = cube(np.ones((5, 2)))
    da = da.assign_coords(time=pd.to_datetime(["2022-01-01", "2022-01-02", "2022-01-04",
                                               "2022-01-05", "2022-01-06"]))  # fmt: skip
    da["time"].attrs["freq"] = "D"
    with pytest.raises(ValueError, match="regular"):
        SeasonalNaive().fit(da)


def test_dataset_input_and_freq_from_attrs():
    ds = cube(np.ones((30, 2))).to_dataset()
    del ds["time"].attrs["freq"]
    ds.attrs["freq"] = "D"
    fc = SeasonalNaive().fit(ds).predict(3)
    assert fc.attrs["freq"] == "D" and fc["time"].attrs["freq"] == "D"


@pytest.mark.parametrize("cls", MODELS)
def test_predict_before_fit(cls):
    with pytest.raises(NotFittedError, match="fit"):
        cls().predict(5)


@pytest.mark.parametrize("cls", MODELS)
def test_output_contract(cls):
    rng = np.random.default_rng(1)
    da = cube(rng.poisson(4, (400, 2, 3)).astype("int64"))
    fc = cls().fit(da).predict(10)
    assert fc["mean"].dims == ("time", "district", "category")
    assert fc["quantiles"].dims == ("time", "district", "category", "quantile")
    assert fc["fallback"].dims == ("district", "category")
    assert fc["mean"].dtype == np.float64 and fc["quantiles"].dtype == np.float64
    assert list(fc["quantile"].values) == list(DEFAULT_QUANTILES)
    last = pd.Timestamp(da["time"].values[-1])
    assert pd.Timestamp(fc["time"].values[0]) == last + pd.Timedelta(days=1)
    assert fc.attrs["model"] == cls.name and fc.attrs["units"] == "requests"
    assert fc.attrs["fit_origin"] == last.isoformat()
    assert "quantiles" in fc.attrs["params"]
    q = fc["quantiles"].values
    assert np.isfinite(q).all() and (q >= 0).all() and (np.diff(q, axis=-1) >= 0).all()
    np.testing.assert_array_equal(fc["district"].values, da["district"].values)


@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize("freq, n", [("W-MON", 160), ("MS", 40)])
def test_weekly_and_monthly(cls, freq, n):
    rng = np.random.default_rng(2)
    da = cube(rng.poisson(20, (n, 3)).astype(float), freq=freq, start="2020-01-06"
              if freq == "W-MON" else "2020-01-01")  # fmt: skip
    fc = cls().fit(da).predict(6)
    assert fc.sizes["time"] == 6 and fc["time"].attrs["freq"] == freq
    assert np.isfinite(fc["mean"]).all()
    assert float(fc["mean"].mean()) == pytest.approx(20, rel=0.35)


@pytest.mark.parametrize("cls", MODELS)
def test_custom_quantile_levels(cls):
    da = cube(np.random.default_rng(3).poisson(5, (100, 2)).astype(float))
    fc = cls(quantiles=(0.1, 0.5, 0.9)).fit(da).predict(4)
    assert fc.sizes["quantile"] == 3


def test_grid_level_cube_keeps_district_coordinate():
    rng = np.random.default_rng(4)
    t = pd.date_range("2023-01-01", periods=60, freq="D")
    da = xr.DataArray(
        rng.poisson(2, (60, 4)),
        coords={"time": t, "grid": ["g0", "g1", "g2", "g3"],
                "district": ("grid", ["a", "a", "b", "b"])},
        dims=("time", "grid"),
    )  # fmt: skip
    fc = NBGLM().fit(da).predict(5)
    assert fc["district"].dims == ("grid",)
    assert fc["district"].values.tolist() == ["a", "a", "b", "b"]


def test_series_status_reasons():
    v = np.array([[np.nan, 0, 1], [np.nan, 0, 2]])
    assert series_status(v, 1).tolist() == ["no observations", "all zero", ""]


def test_nb_quantiles_match_scipy():
    rng = np.random.default_rng(5)
    mu = np.concatenate([rng.gamma(0.5, 10, 300), rng.gamma(2, 300, 20), [0.0, 1e-6]])
    r = np.exp(rng.normal(1, 1.5, mu.size))
    r[:30] = np.inf
    levels = np.array(DEFAULT_QUANTILES)
    got = nb_quantiles(mu, r, levels)
    rf = np.where(np.isinf(r), 1.0, r)[:, None]
    ref = np.where(
        np.isinf(r)[:, None],
        stats.poisson.ppf(levels, mu[:, None]),
        stats.nbinom.ppf(levels, rf, rf / (rf + mu[:, None])),
    )
    np.testing.assert_array_equal(got, np.nan_to_num(ref))


def test_nb_mid_quantiles_bracket_integer_ones():
    mu = np.array([0.5, 3.0, 30.0])
    k = nb_quantiles(mu, 4.0, DEFAULT_QUANTILES)
    mid = nb_quantiles(mu, 4.0, DEFAULT_QUANTILES, method="mid")
    assert ((mid >= k - 0.5 - 1e-12) | (mid == 0)).all() and (mid <= k + 0.5 + 1e-12).all()
    assert (np.diff(mid, axis=1) >= 0).all()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.lists(
        st.one_of(st.integers(0, 60).map(float), st.just(float("nan"))),
        min_size=3 * 20,
        max_size=3 * 20,
    ),
    model=st.sampled_from(MODELS),
)
def test_never_negative_or_nan(data, model):
    """Property: any non-negative input with gaps gives finite, non-negative, sorted output."""
    values = np.array(data).reshape(20, 3)
    fc = model().fit(cube(values)).predict(9)
    q = fc["quantiles"].values
    assert np.isfinite(fc["mean"].values).all() and (fc["mean"].values >= 0).all()
    assert np.isfinite(q).all() and (q >= 0).all() and (np.diff(q, axis=-1) >= 0).all()
    assert fc["fallback"].dtype.kind == "U"


@pytest.mark.parametrize("cls", MODELS)
def test_same_input_same_output(cls):
    da = cube(np.random.default_rng(6).poisson(5, (200, 3)).astype(float))
    a = cls().fit(da).predict(14)
    b = cls().fit(da).predict(14)
    xr.testing.assert_identical(a, b)


def test_get_set_params():
    m = NBGLM(level_window=14)
    assert m.get_params()["level_window"] == 14
    m.set_params(level_window=7)
    assert m.level_window == 7
    with pytest.raises(ValueError, match="unknown parameter"):
        m.set_params(nope=1)
    assert "NBGLM(" in repr(m)


def test_bad_horizon():
    m = SeasonalNaive().fit(cube(np.ones((20, 2))))
    for h in (0, -1, 2.5):
        with pytest.raises(ValueError, match="horizon"):
            m.predict(h)
