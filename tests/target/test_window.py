"""Tests of season windows: recurring seasons, date ranges, the half-period rule, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from predgov.target.window import period_edges, season_window


def _months(mask: np.ndarray, time: pd.DatetimeIndex) -> list[str]:
    return [f"{t:%Y-%m}" for t in time[mask]]


MONTHLY = pd.date_range("2012-01-01", "2014-12-01", freq="MS")


def test_recurring_season_last_and_first_complete_occurrence():
    last = season_window(MONTHLY, "MS", ("11-15", "04-05"))
    assert last.label() == "2013-11-15..2014-04-05"
    # November holds 16 of 30 days of the season (in), April 5 of 30 (out).
    assert _months(last.mask, MONTHLY) == ["2013-11", "2013-12", "2014-01", "2014-02", "2014-03"]
    first = season_window(MONTHLY, "MS", ("11-15", "04-05"), pick="first")
    # 2011-11..2012-04 is not complete in data that start in January 2012.
    assert first.label() == "2012-11-15..2013-04-05"


def test_season_not_wrapping_and_the_incomplete_last_one_is_skipped():
    time = pd.date_range("2013-01-01", "2014-07-31", freq="D")
    win = season_window(time, "D", ("05-01", "09-30"))
    assert win.label() == "2013-05-01..2013-09-30"  # summer 2014 ends after the data
    assert int(win.mask.sum()) == 153
    assert time[win.mask][0] == pd.Timestamp("2013-05-01")


def test_date_range_and_half_period_rule_for_weeks():
    time = pd.date_range("2024-01-01", periods=10, freq="W-MON")
    # 2024-01-10 (Wed) .. 2024-01-24 (Wed): the week of 01-08 has 5 days inside, 01-22 3 days.
    win = season_window(time, "W-MON", ("2024-01-10", "2024-01-24"))
    assert [f"{t:%m-%d}" for t in time[win.mask]] == ["01-08", "01-15"]


def test_none_is_the_whole_axis():
    win = season_window(MONTHLY, "MS", None)
    assert win.mask.all() and win.label() == "2012-01-01..2014-12-31"


def test_february_29_in_a_common_year():
    time = pd.date_range("2021-01-01", "2023-12-31", freq="D")
    win = season_window(time, "D", ("02-01", "02-29"))
    assert win.label() == "2023-02-01..2023-02-28"


def test_period_edges():
    edges = period_edges(pd.date_range("2024-01-29", periods=2, freq="W-MON"), "W-MON")
    assert [str(x)[:10] for x in edges] == ["2024-01-29", "2024-02-05", "2024-02-12"]


@pytest.mark.parametrize(
    ("season", "match"),
    [
        ("11-15", "must be None"),
        (("11-15",), "must be None"),
        (("11-15", "2014-01-01"), "both ends"),
        (("13-01", "14-01"), "must be None"),
        (("2014-05-01", "2014-04-01"), "before start"),
        (("2020-01-01", "2020-03-01"), "holds no period"),
        (("2014-01-01T00:00+08:00", "2014-02-01"), "without a timezone"),
    ],
)
def test_bad_windows_name_the_argument(season, match):
    with pytest.raises(ValueError, match=rf"^season\b.*{match}"):
        season_window(MONTHLY, "MS", season)


def test_no_complete_occurrence():
    short = pd.date_range("2014-01-01", "2014-03-01", freq="MS")
    with pytest.raises(ValueError, match=r"^target=.*no complete occurrence"):
        season_window(short, "MS", ("11-15", "04-05"), name="target")
