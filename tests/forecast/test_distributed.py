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


def test_default_reduces_and_only_unreducible_pools_are_refused(cube):
    assert global_pooling(NBGLM(), cube) == []
    reasons = global_pooling(NBGLM(dispersion_pool=None), cube)
    assert [r.split(":")[0] for r in reasons] == ["dispersion_pool=None"]
    with pytest.raises(ValueError, match=r"pools over all series.*dispersion_pool=None"):
        forecast_blocked(NBGLM(dispersion_pool=None), cube, HORIZON)
    assert global_pooling(fixed_model(dispersion_pool=False), cube) == []


def test_not_strict_warns_and_says_why(cube):
    small = cube.isel(time=slice(-200, None))
    with pytest.warns(UserWarning, match="differs from one process"):
        out = forecast_blocked(NBGLM(dispersion_pool=None), small, 7, strict=False,
                               block_series=3)  # fmt: skip
    assert "dispersion_pool=None" in out.attrs["blocked_pooling"]
    assert out["mean"].dims == ("time", "district", "category")


def test_bad_backend_is_named(cube):
    with pytest.raises(ValueError, match="backend must be one of"):
        forecast_blocked(NBGLM(), cube, 7, backend="spark")


# ---------------------------------------------------------------- the default, reduced
def mixed_cube(freq: str = "D", T: int = 300, seed: int = 0) -> xr.DataArray:
    """4 categories x 3 districts whose own choices differ: a steady level (a long span), a
    random-walk level (short), a weekend contrast drifting with the season (day types) and
    under-dispersed counts (binomial: the recalibration narrows the intervals)."""
    rng = np.random.default_rng(seed)
    t = pd.date_range("2023-01-02", periods=T, freq=freq)
    d = np.arange(T)[:, None]
    rest = (t.day_of_week.values >= 5)[:, None] if freq == "D" else np.zeros((T, 1), bool)
    wk = np.exp(0.4 * rest)
    mu_b = 15 * wk * np.exp(np.cumsum(rng.normal(0, 0.06 if freq == "D" else 0.15, (T, 3)),
                                      axis=0))  # fmt: skip
    season = np.sin(2 * np.pi * d / (120 if freq == "D" else 30))
    ys = [rng.poisson(20 * wk * np.ones((T, 3))), rng.negative_binomial(20, 20 / (20 + mu_b)),
          rng.poisson(10 * np.exp(0.8 * season * (rest if freq == "D" else 1)) * np.ones((T, 3))),
          rng.binomial(60, 0.9, (T, 3))]  # fmt: skip
    return xr.DataArray(np.stack(ys, axis=2), dims=("time", "district", "category"),
                        coords={"time": t, "district": ["d0", "d1", "d2"],
                                "category": list("abcd")}, attrs={"freq": freq})  # fmt: skip


def assert_exact_choices(one: xr.Dataset, blocked: xr.Dataset) -> None:
    """Forecasts equal to rounding; whole-number quantiles and fallbacks exactly."""
    assert_same(one, blocked)
    np.testing.assert_array_equal(blocked["quantiles"].values, one["quantiles"].values)


def own_choices(da: xr.DataArray) -> tuple[NBGLM, list[NBGLM]]:
    """The whole cube's fit and each category's own (one block per category)."""
    whole = NBGLM().fit(da)
    return whole, [NBGLM().fit(da.isel(category=[i])) for i in range(da.sizes["category"])]


@pytest.fixture(scope="module")
def mixed() -> tuple[xr.DataArray, NBGLM, list[NBGLM], xr.Dataset]:
    da = mixed_cube()
    whole, parts = own_choices(da)
    return da, whole, parts, whole.predict(HORIZON)


def test_blocks_would_choose_differently(mixed):
    """The reduce matters on this cube: without it (every block its own choices) the
    forecast is not the one process' one; with the level reduced but not the PITs the
    quantiles still differ."""
    _, whole, parts, one = mixed
    chosen = {(m.level_span_, m.path_mode_) for m in parts}
    assert len(chosen) >= 3  # the blocks disagree: some block's own level is not the whole's
    assert whole.recalibrated_ and {m.recalibrated_ for m in parts} == {True, False}
    alone = xr.concat([m.predict(HORIZON) for m in parts], dim="category")
    assert not np.allclose(alone["mean"].values, one["mean"].values, rtol=1e-3)
    level = (whole.level_span_, whole.path_mode_)
    half = xr.concat([m.set_pooled(level=level).predict(HORIZON) for m in parts], "category")
    np.testing.assert_allclose(half["mean"].values, one["mean"].values, rtol=RTOL)
    assert (half["quantiles"].values != one["quantiles"].values).any()


def test_default_blocked_serial_equals_one_process(mixed):
    da, _, _, one = mixed
    for block_series in (3, 6):  # one category per block, two
        assert_exact_choices(one, forecast_blocked(NBGLM(), da, HORIZON,
                                                   block_series=block_series))  # fmt: skip


def test_default_blocked_dask_equals_one_process(mixed):
    da, _, _, one = mixed
    blocked = forecast_blocked(NBGLM(), da, HORIZON, block_series=3, backend="dask",
                               n_workers=2, processes=False)  # fmt: skip
    assert_exact_choices(one, blocked)


def test_default_blocked_weekly_equals_one_process():
    da = mixed_cube("W-MON", 150, seed=1)
    whole, parts = own_choices(da)
    assert len({m.level_span_ for m in parts}) >= 2  # the blocks' own spans differ
    one = whole.predict(8)
    assert_exact_choices(one, forecast_blocked(NBGLM(), da, 8, block_series=3))


def test_default_blocked_with_regressors_and_festival(cube, regressors):
    """Festival pooling (within categories) and the reduced level / recalibration together."""
    one = NBGLM().fit(cube, regressors).predict(HORIZON, regressors)
    blocked = forecast_blocked(NBGLM(), cube, HORIZON, regressors, regressors, block_series=3)
    assert_exact_choices(one, blocked)
