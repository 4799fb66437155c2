"""Smoke test of benchmarks/forecast_speed.py's functions (the benchmark itself is not run)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("forecast_speed")


def test_grid_cube_splits_counts(bench):
    counts, cal = bench.demo_inputs(0, districts=["市南", "平度"],
                                    categories=["parking", "heating"])  # fmt: skip
    grid = bench.grid_cube(8, counts=counts, cells_per_district=2)
    assert grid.dims == ("time", "grid", "category") and grid.sizes["grid"] == 4
    assert grid["district"].dims == ("grid",)
    # multinomial split keeps each district x category total
    back = grid.groupby("district").sum("grid").transpose("time", "district", "category")
    np.testing.assert_array_equal(back.sel(district=counts["district"]).values, counts.values)
    assert "time" in cal.dims


def test_grid_cube_sizes_share_one_kind_of_cell(bench):
    counts, _ = bench.demo_inputs(0)
    small, large = bench.grid_cube(250, counts=counts), bench.grid_cube(5_000, counts=counts)
    # The first cells are the same; beyond one city (2,500 series) a second city supplies more.
    np.testing.assert_array_equal(small.values, large.values[:, :25])
    per_series = [float(g.mean()) for g in (small, large)]
    assert 0.5 < per_series[0] / per_series[1] < 2


def test_time_forecast_and_peak(bench):
    from predgov.forecast import make_forecaster

    counts, cal = bench.demo_inputs(0, districts=["市南"], categories=["parking"])
    secs, fc = bench.time_forecast(make_forecaster("default"), counts, cal, horizon=10)
    assert secs > 0 and fc.sizes["time"] == 10
    assert bench.peak_rss_gb() > 0
