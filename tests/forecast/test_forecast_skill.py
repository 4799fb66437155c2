"""Smoke tests of benchmarks/forecast_skill.py's pieces (the benchmark itself is not run)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("forecast_skill")


def test_peer_ratios_take_the_best_peer(bench):
    t = pd.DataFrame({"mase": [0.9, 0.8, 1.2, 0.76, 1.0]},
                     index=["auto_ets", "auto_arima", "prophet", "default", "seasonal_naive"])
    demo = pd.DataFrame({"mase": [0.5, 0.6]}, index=["default", "prophet"])
    out = bench.peer_ratios({"real": t, "demo": demo}, ["real"])
    assert out == {"real": pytest.approx(0.76 / 0.8)}


def test_point_mase_scores_the_median_or_the_mean(bench):
    from types import SimpleNamespace

    # one series, one origin, two leads; scale 2: |median - y| = (1, 0), |mean - y| = (0.5, 1.5)
    e = xr.Dataset(
        {
            "actual": (("origin", "lead", "s"), [[[1.0], [3.0]]]),
            "mean": (("origin", "lead", "s"), [[[1.5], [1.5]]]),
            "quantiles": (("origin", "lead", "s", "quantile"),
                          [[[[0.0, 2.0, 4.0]], [[0.0, 3.0, 5.0]]]]),
            "scale": (("origin", "s"), [[2.0]]),
        },
        coords={"quantile": [0.1, 0.5, 0.9], "lead": [1, 2]},
    )
    res = SimpleNamespace(errors=e)  # point_mase reads only the errors
    assert bench.point_mase(res, "median") == pytest.approx((1 + 0) / 2 / 2)
    assert bench.point_mase(res, "mean") == pytest.approx((0.5 + 1.5) / 2 / 2)


@pytest.mark.slow
def test_statsforecast_peer_matches_statsforecast(bench):
    sfm = pytest.importorskip("statsforecast.models")
    rng = np.random.default_rng(0)
    t = pd.date_range("2023-01-02", periods=120, freq="D")
    y = rng.poisson(np.tile([9, 9, 9, 9, 9, 4, 4], 18)[:120, None], (120, 2)).astype(float)
    y[:, 1] = 0.0  # all zero: falls back
    da = xr.DataArray(y, coords={"time": t, "s": ["a", "b"]}, dims=("time", "s"))
    da["time"].attrs["freq"] = "D"
    fc = bench.StatsForecastModel("AutoETS").fit(da).predict(14)
    direct = sfm.AutoETS(season_length=7).forecast(y=y[:, 0], h=14, level=[80])
    np.testing.assert_allclose(fc["mean"].sel(s="a").values, np.maximum(direct["mean"], 0))
    np.testing.assert_allclose(fc["quantiles"].sel(s="a", quantile=0.9).values,
                               np.maximum(direct["hi-80"], 0))  # fmt: skip
    assert fc["fallback"].sel(s="b").item() == "fit failed"
    assert (fc["quantiles"].diff("quantile") >= 0).all()
