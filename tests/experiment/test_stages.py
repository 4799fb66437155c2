"""Stage helpers: parameter overrides, series choice and the extended time axis."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from predgov.experiment.stages.forecast import busiest_series, future_axis
from predgov.experiment.stages.sim import sim_params


def test_sim_params_overrides_and_errors():
    params = sim_params({"heating": {"start_amp": 3.0}})
    assert params.heating.start_amp == 3.0
    assert params.noise == sim_params({}).noise
    with pytest.raises(ValueError, match="unknown process 'weather'"):
        sim_params({"weather": {}})
    with pytest.raises(ValueError, match=r"sim\.params\.heating: unknown parameters \['nope'\]"):
        sim_params({"heating": {"nope": 1}})


def test_busiest_series_and_future_axis():
    counts = np.zeros((4, 2, 2), dtype=np.int64)
    counts[:, 1, 0] = 5
    counts[:, 0, 1] = 3
    cube = xr.Dataset(
        {"counts": (("time", "district", "category"), counts)},
        coords={"time": pd.date_range("2024-01-01", periods=4, freq="MS"),
                "district": ["a", "b"], "category": ["x", "y"]},
    )
    cube["time"].attrs["freq"] = "MS"
    assert busiest_series(cube, n=2) == [("b", "x"), ("a", "y")]
    axis = future_axis(cube, 3)
    assert len(axis) == 7 and str(axis[-1].date()) == "2024-07-01"


def test_warn_stage_calibrates_the_threshold_on_history(tmp_path):
    """With warn.calibrate_fa the stage writes threshold.json, uses that threshold, and the
    calibration stretch then has at most the budgeted alarms per series-year."""
    import json

    from predgov.data.demo import demo_city
    from predgov.experiment.config import ConfigError, VizConfig, WarnConfig
    from predgov.experiment.stages.warn import run_warn_stage

    cube = demo_city(0, start="2023-01-01", end="2024-06-30", districts=["市南", "平度"],
                     categories=["heating", "parking", "noise_social"])  # fmt: skip
    cfg = WarnConfig(method="ears_c2", calibrate_fa=2.0, recent_days=30)
    out = run_warn_stage(cfg, cube, None, VizConfig(), tmp_path)
    info = json.loads(out["threshold"].read_text(encoding="utf-8"))
    assert info["calibration_end"] == "2024-05-31" and info["fa_per_year"] == 2.0
    alarms = xr.open_dataset(out["alarms"])
    assert alarms.attrs["calibrated_threshold"] == pytest.approx(info["threshold"])
    np.testing.assert_allclose(np.unique(alarms["threshold"].values[np.isfinite(
        alarms["threshold"].values)]), info["threshold"])  # fmt: skip
    window = alarms["alarm"].sel(time=slice(None, "2024-05-31"))
    years = 6 * window.sizes["time"] / 365.25
    assert 0 < int(window.sum()) <= 2.0 * years
    alarms.close()
    late = WarnConfig(method="ears_c2", calibrate_fa=1.0, calibrate_end="2020-01-01")
    with pytest.raises(ConfigError, match=r"warn\.calibrate_end"):
        run_warn_stage(late, cube, None, VizConfig(), tmp_path / "late")


def test_blocked_stages_give_the_one_process_results(tmp_path):
    """warn.block_series / forecast.block_series run the stages over blocks of whole
    categories: the same alarms and forecasts as one process (a small demo cube, 2 blocks)."""
    from predgov.data.demo import demo_city
    from predgov.experiment.config import ForecastConfig, VizConfig, WarnConfig
    from predgov.experiment.stages.forecast import run_forecast_stage
    from predgov.experiment.stages.warn import run_warn_stage

    cube = demo_city(0, start="2023-06-01", end="2024-06-30", districts=["市南", "平度"],
                     categories=["heating", "parking", "noise_social"])  # fmt: skip
    viz = VizConfig(formats=["png"])
    one = run_warn_stage(WarnConfig(method="ears_c2"), cube, None, viz, tmp_path / "w1")
    two = run_warn_stage(WarnConfig(method="ears_c2", block_series=2), cube, None, viz,
                         tmp_path / "w2")  # fmt: skip
    with xr.open_dataset(one["alarms"]) as a, xr.open_dataset(two["alarms"]) as b:
        assert int(a["alarm"].sum()) > 0
        np.testing.assert_array_equal(a["alarm"].values, b["alarm"].values)
        np.testing.assert_allclose(a["score"].values, b["score"].values, rtol=1e-9)
    # the default forecaster: its level choice and recalibration are reduced across blocks
    f1 = run_forecast_stage(ForecastConfig(backtest_origins=0), cube, None, viz, tmp_path / "f1")
    f2 = run_forecast_stage(ForecastConfig(backtest_origins=0, block_series=2), cube, None, viz,
                            tmp_path / "f2")  # fmt: skip
    with xr.open_dataset(f1["forecast"]) as a, xr.open_dataset(f2["forecast"]) as b:
        np.testing.assert_allclose(a["mean"].values, b["mean"].values, rtol=1e-9)
        np.testing.assert_array_equal(a["quantiles"].values, b["quantiles"].values)
    # one dispersion group over all series cannot be cut into blocks: a config error
    from predgov.experiment.config import ConfigError

    with pytest.raises(ConfigError, match=r"forecast\.block_series.*dispersion_pool"):
        run_forecast_stage(ForecastConfig(params={"dispersion_pool": None}, backtest_origins=0,
                                          block_series=2), cube, None, viz, tmp_path / "f3")


@pytest.mark.parametrize(("section", "key", "value", "match"), [
    ("forecast", "backend", "spark", r"forecast\.backend"),
    ("warn", "scheduler", "tcp://h:8786", r"warn\.scheduler.*backend=dask"),
    ("forecast", "n_workers", 0, r"forecast\.n_workers"),
    ("warn", "block_series", 0, r"warn\.block_series"),
])  # fmt: skip
def test_scale_out_keys_are_validated(section, key, value, match):
    from predgov.experiment.config import ConfigError, ForecastConfig, WarnConfig

    cls = {"forecast": ForecastConfig, "warn": WarnConfig}[section]
    with pytest.raises(ConfigError, match=match):
        cls(**{key: value})
    with pytest.raises(ConfigError, match=r"warn\.calibrate_fa"):
        WarnConfig(calibrate_fa=1.0, block_series=100)
