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
