"""The monitor's one-day scores equal detect() rerun on the counts extended by that day."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from predgov.warn.detect import detect
from predgov.warn.monitor import Monitor, next_period

RTOL = 1e-9  # batched linear algebra rounds by a few ulps between block sizes


def cube(T: int, seed: int = 1) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    t = pd.date_range("2023-01-01", periods=T, freq="D")
    level = np.exp(rng.normal(1.8, 0.7, (1, 3, 3)))
    week = 1 + 0.25 * np.cos(2 * np.pi * np.arange(T) / 7)
    mu = level * week[:, None, None]
    y = rng.negative_binomial(4, 4 / (4 + mu)).astype(float)
    y[-4:, 0, 1] += 45  # an outbreak that goes on through the new day
    y[:, 2, 2] = 0.0  # quiet
    y[-1, 1, 0] = np.nan  # the new day not observed for one series
    y[:-1, 2, 1] = np.nan  # a series observed for the first time on the new day
    return xr.DataArray(
        y, dims=("time", "district", "category"),
        coords={"time": t, "district": ["d0", "d1", "d2"], "category": ["a", "b", "c"]},
        attrs={"freq": "D"},
    )  # fmt: skip


def assert_day_equal(day: xr.Dataset, full: xr.Dataset, quiet: bool = True) -> None:
    ref = full.isel(time=[-1])
    for var in ("score", "threshold", "alarm", "expected", "upper"):
        a, b = ref[var].transpose(*day[var].dims), day[var]
        assert a.dims == b.dims
        np.testing.assert_array_equal(a["time"].values, b["time"].values)
        if a.dtype == bool:
            np.testing.assert_array_equal(b.values, a.values, err_msg=var)
        else:
            np.testing.assert_allclose(b.values, a.values, rtol=RTOL, equal_nan=True, err_msg=var)
    if quiet:  # (a count over the whole cube given)
        assert day.attrs["n_quiet_series"] == full.attrs["n_quiet_series"]


# 421 rows: the new day (row 420) is no refit origin; 420 rows: it is one (56 + 7k)
@pytest.mark.parametrize("T", [421, 420])
def test_day_equals_detect_on_extended_cube(T):
    da = cube(T)
    full = detect(da, "default", city="qingdao")
    mon = Monitor(city="qingdao", block_series=3).fit(da.isel(time=slice(0, -1)))
    assert mon.next_time_ == da["time"].values[-1]
    day = mon.score(da.isel(time=[-1]))
    assert_day_equal(day, full)
    assert day["alarm"].sel(district="d0", category="b").item()  # the new day alarms
    assert np.isnan(day["score"].sel(district="d1", category="a").item())  # not observed
    assert np.isnan(day["score"].sel(district="d2", category="b").item())  # one observation: quiet


def test_day_after_an_alarm_restarts_the_cusum():
    da = cube(421)
    da[-1, 0, 1] = 0.0  # the outbreak ended: the CUSUM was reset after yesterday's alarm
    full = detect(da, "default")
    assert bool(full["alarm"].isel(time=-2).sel(district="d0", category="b"))
    day = Monitor(block_series=9).fit(da.isel(time=slice(0, -1))).score(da.isel(time=-1))
    assert_day_equal(day, full)
    assert day["score"].sel(district="d0", category="b").item() == 0.0


def test_dask_blocks_equal_serial():
    da = cube(300)
    past, new = da.isel(time=slice(0, -1)), da.isel(time=-1)
    serial = Monitor(block_series=3).fit(past)
    dask = Monitor(block_series=3, backend="dask", n_workers=2, processes=False).fit(past)
    xr.testing.assert_allclose(serial.state_, dask.state_, rtol=RTOL)
    assert_day_equal(dask.score(new), detect(da, "default"))


def test_scoring_is_fast_and_checked():
    da = cube(200)
    mon = Monitor().fit(da.isel(time=slice(0, -1)))
    t0 = time.perf_counter()
    mon.score(da.isel(time=-1))
    assert time.perf_counter() - t0 < 0.5
    with pytest.raises(ValueError, match="fitted to score"):
        mon.score(da.isel(time=[-2]))
    with pytest.raises(ValueError, match="dims"):
        mon.score(da.isel(time=-1, district=0))
    with pytest.raises(ValueError, match=">= 0"):
        mon.score(-da.isel(time=-1) - 1)
    with pytest.raises(RuntimeError, match="not fitted"):
        Monitor().score(da.isel(time=-1))
    with pytest.raises(ValueError, match="NB CUSUM"):
        Monitor("ears_c2").fit(da)


def test_regressors_must_cover_the_new_day():
    da = cube(120)
    reg = xr.Dataset({"temperature": ("time", np.zeros(120))}, coords={"time": da["time"]})
    with pytest.raises(ValueError, match="cover the day"):
        Monitor(regressors=reg).fit(da)


def test_next_period_weekly_monthly():
    t = pd.date_range("2024-01-01", periods=3, freq="W-MON").values
    assert str(next_period(t, "W-MON"))[:10] == "2024-01-22"
    t = pd.date_range("2024-01-01", periods=2, freq="MS").values
    assert str(next_period(t, "MS"))[:10] == "2024-03-01"


def advancing_cube(T: int = 440, seed: int = 5) -> xr.DataArray:
    """Series with an outbreak, a level shift (flagged, then released as a new level),
    unobserved days and a series first seen late, all in the last ~40 days."""
    rng = np.random.default_rng(seed)
    t = pd.date_range("2023-01-01", periods=T, freq="D")
    level = np.exp(rng.normal(1.8, 0.5, (1, 3, 3)))
    week = 1 + 0.25 * np.cos(2 * np.pi * np.arange(T) / 7)
    mu = level * week[:, None, None]
    mu[400:, 1, 1] *= 3.0  # a new level: flagged, released after FEEDBACK_MAX days
    y = rng.negative_binomial(4, 4 / (4 + mu)).astype(float)
    y[425:429, 0, 1] += 45  # an outbreak
    y[430:433, 1, 0] = np.nan  # unobserved days
    y[:433, 2, 1] = np.nan  # first observed late
    y[:, 2, 2] = 0.0  # quiet
    return xr.DataArray(
        y, dims=("time", "district", "category"),
        coords={"time": t, "district": ["d0", "d1", "d2"], "category": ["a", "b", "c"]},
        attrs={"freq": "D"},
    )  # fmt: skip


def run_days(da: xr.DataArray, n0: int, block_series: int = 9, per_prefix: bool = True, **kw
             ) -> tuple[list[xr.Dataset], list[xr.Dataset]]:  # fmt: skip
    """Days n0.. scored by one monitor advanced day by day, and by detect on each prefix
    (``per_prefix=False``: detect once on the whole cube, whose rows are the same without
    look-ahead when the calendar of past days does not change)."""
    mon = Monitor(block_series=block_series, **kw).fit(da.isel(time=slice(0, n0)))
    days, refs = [], []
    full = None if per_prefix else detect(da, "default", **kw)
    for k in range(n0, da.sizes["time"]):
        days.append(mon.score(da.isel(time=[k]), advance=True))
        if full is None:
            refs.append(detect(da.isel(time=slice(0, k + 1)), "default", **kw))
        else:
            refs.append(full.isel(time=slice(0, k + 1)))
    return days, refs


def check_advancing_days(per_prefix: bool) -> None:
    da = advancing_cube()
    days, refs = run_days(da, 427, block_series=3, per_prefix=per_prefix)
    for day, ref in zip(days, refs, strict=True):
        assert_day_equal(day, ref, quiet=per_prefix)
    alarms = np.concatenate([d["alarm"].values for d in days])
    assert alarms.any()  # the outbreak alarms within the advanced days
    # refit origins (56 + 7k) among the advanced days
    assert any((k - 56) % 7 == 0 for k in range(427, 440))
    # the released block: flagged at fit time, no longer flagged at the end
    from predgov.warn.expected import expected_counts

    x = da.sel(district="d1", category="b").values[:, None]
    t = da["time"].values
    before = expected_counts(x[:427], t[:427], "D")["flagged"][:, 0]
    after = expected_counts(x, t, "D")["flagged"][:, 0]
    assert before[400:427].any() and not after[400:427].any()


def test_advance_equals_detect_day_after_day():
    """13 days advanced incrementally (two weekly refits, an outbreak's alarms, a flagged new
    level released as a block, unobserved days, a series observed for the first time) equal
    detect's rows of those days."""
    check_advancing_days(per_prefix=False)


@pytest.mark.slow
def test_advance_equals_detect_rerun_on_each_prefix():
    """... and detect rerun on the cube up to each day (13 reruns)."""
    check_advancing_days(per_prefix=True)


def test_advance_state_equals_refit():
    """After advancing, the whole state equals a fresh fit on the longer counts."""
    da = advancing_cube()
    mon = Monitor(city="qingdao").fit(da.isel(time=slice(0, 433)))
    for k in range(433, 436):
        mon.advance(da.isel(time=k))
    ref = Monitor(city="qingdao").fit(da.isel(time=slice(0, 436)))
    assert mon.next_time_ == ref.next_time_
    xr.testing.assert_allclose(mon.state_, ref.state_, rtol=RTOL)
    with pytest.raises(ValueError, match="fitted to score"):
        mon.advance(da.isel(time=[435]))


def test_advance_across_a_holiday_block_that_changes_the_past_design(monkeypatch):
    """Around 春节 2025 the day after 除夕 changes the holiday-block column of 除夕 itself
    (the block is named by its most common holiday): the model is rebuilt that day, and the
    days still equal detect on each prefix."""
    from predgov.warn import expected

    builds = []
    original = expected.CalendarModel._build

    def counted(self, *args, **kwargs):
        if args[2] is not None:  # the monitor's (detect's runs predict no next period)
            builds.append(len(args[0]))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(expected.CalendarModel, "_build", counted)
    rng = np.random.default_rng(7)
    t = pd.date_range("2024-03-01", periods=336, freq="D")
    y = rng.poisson(8.0, (336, 1, 2)).astype(float)
    da = xr.DataArray(y, dims=("time", "district", "category"),
                      coords={"time": t, "district": ["d0"], "category": ["a", "b"]},
                      attrs={"freq": "D"})  # fmt: skip
    days, refs = run_days(da, 331, city="qingdao")
    for day, ref in zip(days, refs, strict=True):
        assert_day_equal(day, ref)
    # the fit, then rebuilds when the days around 除夕 (2025-01-28, row 333) rename a block
    assert builds == [331, 333, 334, 335]


def test_advance_needs_the_calendar_baseline():
    da = cube(150)
    mon = Monitor("nb_cusum", baseline="level").fit(da.isel(time=slice(0, -1)))
    day = mon.score(da.isel(time=-1))  # scoring still works
    assert_day_equal(day, detect(da, "nb_cusum", baseline="level"))
    with pytest.raises(ValueError, match="calendar baseline"):
        mon.advance(da.isel(time=-1))
    with pytest.raises(RuntimeError, match="not fitted"):
        Monitor().advance(da.isel(time=-1))


def test_advance_with_exogenous_regressors():
    da = cube(180).isel(time=slice(0, 175))
    rng = np.random.default_rng(0)
    reg = xr.Dataset({"temperature": ("time", rng.normal(15, 8, 180))},
                     coords={"time": pd.date_range("2023-01-01", periods=180, freq="D")})
    days, refs = run_days(da, 165, regressors=reg, per_prefix=False)
    for day, ref in zip(days, refs, strict=True):
        assert_day_equal(day, ref, quiet=False)
    short = reg.isel(time=slice(0, 175))
    mon = Monitor(regressors=short).fit(da.isel(time=slice(0, 174)))
    with pytest.raises(ValueError, match="cover the day"):
        mon.advance(da.isel(time=174))
