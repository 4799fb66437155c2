"""The time contract: frequencies, inference, period arithmetic, stacking, regressors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from predgov.data import freq as F


@pytest.mark.parametrize("freq", F.FREQS)
def test_inference_round_trips_every_frequency(freq):
    index = pd.date_range("2023-01-02", periods=5, freq=freq)
    assert F.infer_freq(index) == freq
    F.check_regular(index, freq)
    nxt = F.future_times(index[-1], freq, 2)
    assert F.infer_freq(index.append(nxt)) == freq


@pytest.mark.parametrize(
    "labels",
    [
        ["2024-01-01"],  # one label: no step
        ["2024-01-01", "2024-01-03"],  # two days apart
        ["2024-01-02", "2024-01-09"],  # weeks not starting Monday
        ["2020-01-01", "2021-02-01", "2022-03-01"],  # 13 months apart
        ["2024-01-01 12:00", "2024-01-02 12:00"],  # not midnights
    ],
)
def test_irregular_labels_have_no_frequency(labels):
    assert F.infer_freq(pd.DatetimeIndex(labels)) is None
    with pytest.raises(ValueError, match="cannot tell the frequency"):
        F.resolve_freq(pd.DatetimeIndex(labels))


def test_freq_of_prefers_declared_attrs():
    t = pd.date_range("2024-01-01", periods=3, freq="D")
    da = xr.DataArray(np.zeros(3), coords={"time": t}, dims="time")
    ds = xr.Dataset({"counts": da}, attrs={"freq": "D"})
    assert F.freq_of(da) == "D" and F.freq_of(ds["counts"], ds) == "D"
    da["time"].attrs["freq"] = "W"
    with pytest.raises(ValueError, match="freq must be one of"):
        F.freq_of(da)


def test_period_arithmetic():
    assert F.period_last_day("2024-02-01", "MS") == pd.Timestamp("2024-02-29")
    assert len(F.days_of(pd.date_range("2024-01-01", periods=2, freq="MS"), "MS")) == 60
    assert [F.periods_per_year(f) for f in F.FREQS] == [365.25, 365.25 / 7, 12.0]
    assert [F.weekly_cycle(f) for f in F.FREQS] == [7, 0, 0]


def test_one_stacker_for_forecasters_and_detectors():
    da = xr.DataArray(np.arange(24.0).reshape(3, 2, 4), dims=("time", "district", "category"),
                      coords={"district": ["a", "b"], "category": list("wxyz")})  # fmt: skip
    values, layout = F.stack_series(da)
    s = F.stack(da)
    np.testing.assert_array_equal(values, s.values)
    assert s.series_labels() == layout.labels() and layout.labels()[5] == "b/x"
    assert layout.positions("category").tolist() == [0, 1, 2, 3] * 2
    assert (s.unstack(s.values) == da).all()
    assert s.unstack_series(np.arange(8)).sel(district="b", category="x").item() == 5


def test_time_frame_coerces_every_regressor_form():
    t = pd.date_range("2024-01-01", periods=3, freq="D")
    want = [1.0, 2.0, np.nan]
    ds = xr.Dataset({"temp": ("time", [1.0, 2.0])}, coords={"time": t[:2]})
    df = pd.DataFrame({"date": t[:2], "temp": [1.0, 2.0]})
    for obj in (ds, ds["temp"], df):
        np.testing.assert_array_equal(F.time_frame(obj, t)["temp"].to_numpy(), want)
    assert F.time_frame({"temp": [1.0, 2.0, 3.0]}, t)["temp"].tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="needs a name"):
        F.time_frame(xr.DataArray([1.0], dims="time"))
    with pytest.raises(TypeError, match="weather must be"):
        F.time_frame([1, 2], what="weather")
