"""Blocked detection (predgov.warn.distributed) equals detection of the whole cube."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from predgov.warn.detect import NoScoreWarning, detect
from predgov.warn.distributed import detect_blocked, plan_blocks

# The batched linear algebra rounds differently for different numbers of series: equal to a
# few ulps (measured max abs difference 2.5e-14), alarms and upper counts exactly.
RTOL = 1e-9


def small_cube(T: int = 420, seed: int = 0) -> xr.DataArray:
    """3 districts x 4 categories of daily NB counts, an outbreak, a quiet series."""
    rng = np.random.default_rng(seed)
    t = pd.date_range("2023-01-01", periods=T, freq="D")
    level = np.exp(rng.normal(1.5, 0.8, (1, 3, 4)))
    week = 1 + 0.3 * np.sin(2 * np.pi * np.arange(T) / 7)
    mu = level * week[:, None, None]
    y = rng.negative_binomial(5, 5 / (5 + mu)).astype(float)
    y[-6:-1, 0, 1] += 40  # an outbreak near the end
    y[:, 2, 3] = 0.0  # a quiet series
    y[100:130, 1, 2] = np.nan  # unobserved weeks
    return xr.DataArray(
        y, dims=("time", "district", "category"),
        coords={"time": t, "district": ["d0", "d1", "d2"], "category": ["a", "b", "c", "d"],
                "parent": ("category", ["x", "x", "y", "y"])},
        attrs={"freq": "D", "units": "requests"},
    )  # fmt: skip


def assert_same(one: xr.Dataset, blocked: xr.Dataset) -> None:
    assert one.attrs == blocked.attrs
    assert list(one.data_vars) == list(blocked.data_vars)
    for var in one.data_vars:
        a, b = one[var], blocked[var]
        assert a.dims == b.dims and a.dtype == b.dtype
        xr.testing.assert_identical(a.coords.to_dataset(), b.coords.to_dataset())
        if a.dtype == bool:
            np.testing.assert_array_equal(a.values, b.values)
        else:
            np.testing.assert_allclose(b.values, a.values, rtol=RTOL, atol=0, equal_nan=True)
    np.testing.assert_array_equal(one["upper"].values, blocked["upper"].values)


@pytest.fixture(scope="module")
def cube() -> xr.DataArray:
    return small_cube()


@pytest.fixture(scope="module")
def whole(cube) -> xr.Dataset:
    return detect(cube, "default", city="qingdao")


def test_plan_keeps_categories_whole():
    da = xr.DataArray(np.zeros((3, 5, 4)), dims=("time", "grid", "category"))
    dim, blocks = plan_blocks(da, "category", block_series=12)
    assert dim == "category"
    assert [b.tolist() for b in blocks] == [[0, 1], [2, 3]]
    # a category larger than a block is a block of its own
    dim, blocks = plan_blocks(da, "category", block_series=3)
    assert [b.tolist() for b in blocks] == [[0], [1], [2], [3]]
    # no pooling dim: cut along the largest series dim
    assert plan_blocks(da, None, 8)[0] == "grid"
    assert plan_blocks(da.isel(grid=0, category=0), "category", 8) == (None, [np.arange(1)])


def test_default_blocked_serial_equals_one_process(cube, whole):
    assert whole["alarm"].any()  # the test covers alarms
    assert whole.attrs["n_quiet_series"] == 1
    blocked = detect_blocked(cube, "default", block_series=6, city="qingdao")
    assert_same(whole, blocked)


def test_default_blocked_dask_equals_one_process(cube, whole):
    blocked = detect_blocked(cube, "default", block_series=3, city="qingdao", backend="dask",
                             n_workers=2, processes=False)  # fmt: skip
    assert_same(whole, blocked)


def test_splitting_a_category_changes_the_pooled_baseline(cube, whole):
    """The test can fail: blocks that split a category (here: by district) pool other totals."""
    parts = [detect(cube.isel(district=[i]), "default", city="qingdao") for i in range(3)]
    split = xr.concat(parts, dim="district")
    diff = np.nanmax(np.abs(split["expected"].values - whole["expected"].values))
    assert diff > 1e-3


def test_cuts_without_pool(cube):
    one = detect(cube, "ears_c2", pool=None)
    blocked = detect_blocked(cube, "ears_c2", pool=None, block_series=4)
    xr.testing.assert_identical(one, blocked)


def test_reduce_returns_block_results(cube):
    last = detect_blocked(cube, "ears_c2", block_series=6, reduce=lambda ds: ds["alarm"][-1])
    assert [r.sizes["category"] for r in last] == [2, 2]
    whole = detect(cube, "ears_c2")["alarm"][-1]
    xr.testing.assert_identical(xr.concat(last, dim="category"), whole)


def test_no_score_warning_once_for_the_cube():
    da = small_cube(T=60)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = detect_blocked(da, "farrington", block_series=3)
    hits = [w for w in caught if issubclass(w.category, NoScoreWarning)]
    assert len(hits) == 1 and "farrington scored no period" in out.attrs["warning"]


def test_rejects_cache(cube):
    with pytest.raises(ValueError, match="no cache"):
        detect_blocked(cube, cache=object())
