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
