"""Tests for predgov.data.calendar: Chinese holidays and 调休, seasons, frequencies, weather."""

from __future__ import annotations

import datetime as dt

import holidays
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from predgov.data.calendar import (
    calendar,
    days_from_lunar_new_year,
    is_chinese_calendar,
    lunar_new_year,
    spring_festival_shares,
)


@pytest.fixture(scope="module")
def cal_2024_2025() -> xr.Dataset:
    return calendar(("2024-01-01", "2025-12-31", "D"), "qingdao")


def _day(cal: xr.Dataset, var: str, day: str) -> object:
    return cal[var].sel(time=day).item()


@pytest.mark.parametrize(
    ("day", "holiday", "makeup", "working"),
    [
        ("2025-01-26", False, True, True),  # Sunday worked for Spring Festival 2025
        ("2025-02-08", False, True, True),  # Saturday worked for Spring Festival 2025
        ("2025-01-29", True, False, False),  # Spring Festival (春节) day 1
        ("2024-10-01", True, False, False),  # National Day
        ("2024-10-12", False, True, True),  # Saturday worked for National Day 2024
        ("2024-10-07", True, False, False),  # Monday off by decree (调休)
        ("2024-10-05", False, False, False),  # plain Saturday inside Golden Week
        ("2024-10-08", False, False, True),  # ordinary Tuesday
        ("2025-03-01", False, False, False),  # ordinary Saturday
    ],
)
def test_known_chinese_days(cal_2024_2025, day, holiday, makeup, working):
    assert _day(cal_2024_2025, "holiday", day) is holiday
    assert _day(cal_2024_2025, "makeup_workday", day) is makeup
    assert _day(cal_2024_2025, "working_day", day) is working


def test_holiday_names(cal_2024_2025):
    assert _day(cal_2024_2025, "holiday_name", "2025-01-29") == "春节"
    assert _day(cal_2024_2025, "holiday_name", "2024-10-01") == "国庆节"
    assert _day(cal_2024_2025, "holiday_name", "2024-10-08") == ""
    en = calendar(("2024-10-01", "2024-10-01", "D"), language="en_US")
    assert en["holiday_name"].item() == "National Day"


def test_working_day_matches_holidays_package(cal_2024_2025):
    h = holidays.country_holidays("CN", years=[2024, 2025])
    days = pd.DatetimeIndex(cal_2024_2025["time"].values)
    expected = np.array([h.is_working_day(d.date()) for d in days])
    np.testing.assert_array_equal(cal_2024_2025["working_day"].values, expected)
    makeup = cal_2024_2025["makeup_workday"].values
    # State Council notices: 2024 has 8 make-up days (Feb 4, 18; Apr 7, 28; May 11; Sep 14, 29;
    # Oct 12), 2025 has 5 (Jan 26; Feb 8; Apr 27; Sep 28; Oct 11).
    assert makeup.sum() == 13
    assert (cal_2024_2025["weekend"].values[makeup]).all()


@pytest.mark.parametrize(
    ("day", "inside"),
    [
        ("2024-11-14", False),
        ("2024-11-15", True),
        ("2025-01-01", True),
        ("2025-04-05", True),
        ("2025-04-06", False),
        ("2025-07-01", False),
    ],
)
def test_heating_season_wraps_new_year(cal_2024_2025, day, inside):
    assert _day(cal_2024_2025, "heating_season", day) is inside


def test_tourist_season_and_custom_season():
    cal = calendar(("2024-06-30", "2024-09-01", "D"))
    assert not cal["tourist_season"].values[0]
    assert cal["tourist_season"].values[1:-1].all()
    assert not cal["tourist_season"].values[-1]
    custom = calendar(("2024-03-01", "2024-03-03", "D"), heating_season=("03-02", "03-02"))
    assert custom["heating_season"].values.tolist() == [False, True, False]
    none = calendar(("2024-01-01", "2024-01-03", "D"), heating_season=None)
    assert not none["heating_season"].values.any()


def test_weekly_fractions_by_hand():
    # Week of Mon 2025-01-27 .. Sun 2025-02-02: Spring Festival holidays (package listing)
    # Jan 28 (除夕), 29, 30, 31 = 4 days; weekend Sat Feb 1, Sun Feb 2 = 2 days; no make-up day;
    # working days Mon Jan 27 only = 1. Week of 2025-02-03: holidays Feb 3, 4; Sat Feb 8 make-up;
    # working days Feb 5, 6, 7, 8 = 4; weekend Feb 8, 9 = 2.
    cal = calendar(("2025-01-27", "2025-02-03", "W-MON"))
    np.testing.assert_allclose(cal["holiday"].values, [4 / 7, 2 / 7])
    np.testing.assert_allclose(cal["makeup_workday"].values, [0, 1 / 7])
    np.testing.assert_allclose(cal["working_day"].values, [1 / 7, 4 / 7])
    np.testing.assert_allclose(cal["weekend"].values, [2 / 7, 2 / 7])
    np.testing.assert_allclose(cal["heating_season"].values, [1, 1])
    assert "holiday_name" not in cal
    assert cal["holiday"].dtype == np.float64
    assert cal.attrs["freq"] == "W-MON"


def test_weekly_fraction_equals_daily_mean(cal_2024_2025):
    weekly = calendar(("2024-01-01", "2025-12-29", "W-MON"))
    daily = cal_2024_2025.sel(time=slice("2024-01-01", "2026-01-04"))
    # The last week (Mon 2025-12-29) runs into 2026: recompute it from a daily calendar.
    tail = calendar(("2025-12-29", "2026-01-04", "D"))
    both = xr.concat([daily.sel(time=slice(None, "2025-12-28")), tail], dim="time")
    by_hand = (
        both[["holiday", "working_day", "heating_season"]]
        .astype(float)
        .resample(time="W-MON", label="left", closed="left")
        .mean()
    )
    for var in ("holiday", "working_day", "heating_season"):
        np.testing.assert_allclose(weekly[var].values, by_hand[var].values)


def test_monthly_fractions():
    cal = calendar(("2024-10-01", "2024-11-01", "MS"))
    # October 2024: holidays Oct 1-4 and 7 = 5 of 31 days; Nov 15..30 heating = 16 of 30 days.
    np.testing.assert_allclose(cal["holiday"].values, [5 / 31, 0])
    np.testing.assert_allclose(cal["heating_season"].values, [0, 16 / 30])


def test_freq_inference_from_inputs():
    days = pd.date_range("2024-01-01", periods=10, freq="D")
    assert calendar(days).attrs["freq"] == "D"
    mondays = pd.DatetimeIndex(pd.date_range("2024-01-01", periods=5, freq="W-MON").values)
    assert calendar(mondays).attrs["freq"] == "W-MON"
    months = pd.DatetimeIndex(pd.date_range("2024-01-01", periods=3, freq="MS").values)
    assert calendar(months).attrs["freq"] == "MS"
    da = xr.DataArray(
        np.zeros(1),
        coords={"time": [np.datetime64("2024-10-01", "ns")]},
        dims="time",
        attrs={"freq": "D"},
    )
    assert calendar(da)["holiday"].item()
    ds = xr.Dataset(coords={"time": mondays})
    ds["time"].attrs["freq"] = "W-MON"
    out = calendar(ds)
    np.testing.assert_array_equal(out["time"].values, mondays.values)
    assert out["time"].dtype == np.dtype("datetime64[ns]")


def test_us_calendar_has_no_makeup_days():
    cal = calendar(("2024-01-01", "2024-12-31", "D"), country="US")
    assert not cal["makeup_workday"].values.any()
    assert _day(cal, "holiday", "2024-07-04")
    assert _day(cal, "holiday_name", "2024-07-04") == "Independence Day"
    assert cal.attrs["country"] == "US"


def test_no_country_means_no_holiday_effects():
    cal = calendar(("2024-10-01", "2024-10-10", "D"), country=None)
    assert not cal["holiday"].values.any()
    assert not cal["makeup_workday"].values.any()
    np.testing.assert_array_equal(cal["working_day"].values, ~cal["weekend"].values)
    bare = calendar(("2024-10-01", "2024-10-10", "D"), city=None)
    assert not bare["holiday"].values.any() and not bare["heating_season"].values.any()


def test_attrs_are_cf_style(cal_2024_2025):
    attrs = cal_2024_2025.attrs
    assert attrs["city"] == "qingdao" and attrs["country"] == "CN" and attrs["freq"] == "D"
    assert attrs["holidays_version"] == holidays.__version__
    for var in cal_2024_2025.data_vars:
        assert cal_2024_2025[var].attrs["long_name"]


def test_weather_aligned_not_filled():
    days = pd.date_range("2024-01-01", "2024-01-14", freq="D")
    temps = pd.DataFrame({"temperature": np.arange(14.0), "station": "x"}, index=days)
    temps = temps.drop(days[7:])  # second week missing entirely
    cal = calendar(("2024-01-01", "2024-01-14", "D"), weather=temps)
    assert np.isnan(cal["temperature"].values[7:]).all()
    np.testing.assert_allclose(cal["temperature"].values[:7], np.arange(7.0))
    assert "station" not in cal
    weekly = calendar(("2024-01-01", "2024-01-08", "W-MON"), weather=temps)
    np.testing.assert_allclose(weekly["temperature"].values[0], 3.0)
    assert np.isnan(weekly["temperature"].values[1])
    assert weekly["temperature"].attrs["missing_periods"] == 1
    assert "1 of 2 periods" in weekly.attrs["weather_missing"]
    da = xr.DataArray(
        np.ones(3), coords={"time": days[:3]}, dims="time", name="rain", attrs={"units": "mm"}
    )
    cal = calendar(("2024-01-01", "2024-01-03", "D"), weather=da)
    assert cal["rain"].attrs["units"] == "mm" and cal.attrs["weather_missing"] == "none"


@pytest.mark.parametrize(
    ("time", "kwargs", "match"),
    [
        (("2024-01-01", "2024-02-01", "H"), {}, "freq must be one of"),
        (("2024-01-01", "2024-02-01"), {}, "start, end, freq"),
        (pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-05"]), {}, "cannot tell"),
        (pd.DatetimeIndex(["2024-01-01"]), {}, "cannot tell"),
        (("1900-01-01", "1900-01-05", "D"), {}, "does not cover CN for years \\[1900\\]"),
        (("2024-01-01", "2024-01-05", "D"), {"heating_season": ("11/15", "04-05")}, "MM-DD"),
        (("2024-01-01", "2024-01-05", "D"), {"country": "XX"}, "no country 'XX'"),
        (pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC"), {}, "naive local"),
        (xr.Dataset(coords={"x": [1]}), {}, "'time' coordinate"),
        ("2024-01-01", {}, None),
    ],
)
def test_bad_inputs(time, kwargs, match):
    if match is None:
        with pytest.raises(TypeError, match="DatetimeIndex"):
            calendar(time, **kwargs)
    else:
        with pytest.raises(ValueError, match=match):
            calendar(time, **kwargs)


def test_irregular_declared_axis_rejected():
    ds = xr.Dataset(coords={"time": pd.DatetimeIndex(["2024-01-02", "2024-01-09"])})
    ds.attrs["freq"] = "W-MON"
    with pytest.raises(ValueError, match="not a regular 'W-MON'"):
        calendar(ds)


def test_unknown_city():
    with pytest.raises(FileNotFoundError, match="no city configuration 'atlantis'"):
        calendar(("2024-01-01", "2024-01-02", "D"), city="atlantis")


def test_makeup_day_across_year_boundary():
    # 2001-12-29 (Saturday) was worked for New Year 2002 (decree listed under 2002).
    cal = calendar(("2001-12-29", "2001-12-29", "D"))
    assert cal["makeup_workday"].item() and cal["working_day"].item()
    assert dt.date(2001, 12, 29).weekday() == 5


def test_undecreed_year_uses_statutory_holidays_and_says_so():
    """A year without decreed make-up workdays (here 2099) gets the rule-based statutory
    holidays, no make-up days, a warning and an attribute; ``undecreed="raise"`` refuses it."""
    with pytest.warns(UserWarning, match=r"no make-up working days .* CN in \[2099\]"):
        cal = calendar(("2099-01-01", "2099-12-31", "D"), city="qingdao")
    assert cal.attrs["undecreed_years"] == "2099"
    assert not cal["makeup_workday"].values.any()
    hol = cal["holiday"].to_series()
    assert hol["2099-01-01"] and hol["2099-10-01"] and hol["2099-05-01"]
    assert 7 <= int(hol.sum()) <= 30
    # working days follow: statutory holidays off, weekends off
    wd = cal["working_day"].to_series()
    assert not wd["2099-10-01"]
    ordinary = pd.Timestamp("2099-10-14")  # no holiday near: working iff a weekday
    assert bool(wd[ordinary]) == (ordinary.day_of_week < 5)
    with pytest.raises(ValueError, match=r"does not cover CN for years \[2099\].*undecreed='warn'"):
        calendar(("2099-01-01", "2099-01-05", "D"), city="qingdao", undecreed="raise")
    with pytest.raises(ValueError, match="undecreed must be"):
        calendar(("2025-01-01", "2025-01-05", "D"), city="qingdao", undecreed="ignore")


def test_decreed_years_carry_no_undecreed_attribute(recwarn):
    cal = calendar(("2025-01-20", "2025-02-10", "D"), city="qingdao")
    assert "undecreed_years" not in cal.attrs
    assert cal["makeup_workday"].sel(time="2025-01-26").item()
    assert not [w for w in recwarn if "make-up" in str(w.message)]
    # a country without decrees (US) never gets the attribute, whatever the year
    us = calendar(("2099-01-01", "2099-01-05", "D"), city=None, country="US")
    assert "undecreed_years" not in us.attrs and us["holiday"].values[0]


# ------------------------------------------------------------------ Spring Festival windows
def test_lunar_new_year_known_dates():
    # 春节 day 1 (State Council notices): 2022-02-01, 2023-01-22, 2024-02-10, 2025-01-29.
    got = [str(lunar_new_year(y).date()) for y in (2022, 2023, 2024, 2025)]
    assert got == ["2022-02-01", "2023-01-22", "2024-02-10", "2025-01-29"]
    days = pd.to_datetime(["2023-12-31", "2024-01-01", "2024-02-09", "2024-07-01"])
    # 2024-07-01 is 142 days after 春节 2024 and 212 before 春节 2025: the nearest wins.
    assert days_from_lunar_new_year(days).tolist() == [-41, -40, -1, 142]


def test_spring_festival_shares_daily_known_answer():
    days = pd.date_range("2024-01-01", "2024-03-31", freq="D")
    x = spring_festival_shares(days, "D", ((-10, -1), (0, 6)))
    assert set(np.unique(x)) == {0.0, 1.0}
    inside = days[x[:, 0] == 1]
    assert (str(inside[0].date()), str(inside[-1].date()), len(inside)) == (
        "2024-01-31", "2024-02-09", 10)  # fmt: skip
    assert days[x[:, 1] == 1].equals(pd.date_range("2024-02-10", "2024-02-16"))


@settings(max_examples=25, deadline=None)
@given(start=st.dates(min_value=dt.date(2021, 1, 1), max_value=dt.date(2026, 6, 1)),
       freq=st.sampled_from(["W-MON", "MS"]), n=st.integers(1, 30))  # fmt: skip
def test_spring_festival_shares_are_daily_means(start, freq, n):
    """A week's or month's share of a window is the mean of the daily indicators over its
    days; the shares of the disjoint windows add up to at most 1."""
    from predgov.data.cube import period_start

    first = pd.Timestamp(period_start(np.array([np.datetime64(start, "ns")]), freq)[0])
    periods = pd.date_range(first, periods=n, freq=freq)
    shares = spring_festival_shares(periods, freq)
    end = periods[-1] + pd.tseries.frequencies.to_offset(freq) - pd.Timedelta(days=1)
    days = pd.date_range(periods[0], end, freq="D")
    daily = pd.DataFrame(spring_festival_shares(days, "D"), index=days)
    label = period_start(days.values, freq)
    expect = daily.groupby(label).mean().to_numpy()
    np.testing.assert_allclose(shares, expect)
    assert (shares.sum(axis=1) <= 1 + 1e-12).all()


def test_is_chinese_calendar():
    t = pd.date_range("2024-01-01", periods=60, freq="D")
    assert is_chinese_calendar(calendar(t, "qingdao"))
    assert is_chinese_calendar(calendar(pd.date_range("2024-01-01", periods=8, freq="W-MON"),
                                        "qingdao"))  # fmt: skip
    assert not is_chinese_calendar(calendar(t, None, country="US"))
    plain = xr.Dataset({"holiday_name": ("time", ["", "春节", ""])},
                       coords={"time": t[:3]})  # no attrs: recognised by the holiday's name
    assert is_chinese_calendar(plain)
    assert not is_chinese_calendar(None)
    assert not is_chinese_calendar(xr.Dataset({"holiday": ("time", [0, 1, 0])}))
