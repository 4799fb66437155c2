"""Time parsing at ingest (issue 11): offsets, bounds, zone names, day/month order, Chinese forms.

Each case is checked through :func:`read_records` (what a user sees) and, where the rule is
finer, through :func:`parse_times` directly.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predgov.data.presets import get_preset
from predgov.data.records import IngestError, read_records
from predgov.data.timeparse import parse_times

SH = "Asia/Shanghai"
QD = get_preset("qd12345").time_formats
NYC = get_preset("nyc311").time_formats


def _qd(times: list, **kwargs):
    """A minimal 12345 export with the given 受理时间 cells, read with the qd12345 preset."""
    n = len(times)
    raw = pd.DataFrame({
        "工单编号": [f"A{i}" for i in range(n)],
        "受理时间": pd.Series(times, dtype=object) if isinstance(times, list) else times,
        "区(市)": ["市南区"] * n,
        "诉求分类二级": ["供暖"] * n,
    })
    return read_records(raw, preset="qd12345", **kwargs)


def _by_id(records: pd.DataFrame) -> list[pd.Timestamp]:
    """received_at in source row order (records are sorted by time)."""
    order = records["record_id"].str[1:].astype(int).argsort()
    return records["received_at"].iloc[order.to_numpy()].tolist()


def _sh(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=SH)


# --------------------------------------------------------------------------- 1. mixed offsets


def test_column_mixing_offsets_and_naive_times_parses_both() -> None:
    records, report = _qd([
        "2024-11-20 08:30:00+08:00", "2024-11-20 09:00:00", "2024-11-20T01:00:00Z",
        "2024-11-20 10:00+08", "2024-11-20 11:00:00 +0800", "2024-11-20 12:00:00.5",
    ])
    assert report.rows_accepted == 6
    assert _by_id(records) == [
        _sh("2024-11-20 08:30"), _sh("2024-11-20 09:00"), _sh("2024-11-20 09:00"),
        _sh("2024-11-20 10:00"), _sh("2024-11-20 11:00"), _sh("2024-11-20 12:00:00.5"),
    ]


# --------------------------------------------------------------------------- 2. out of bounds


def test_microsecond_datetimes_beyond_2262_are_counted_not_raised() -> None:
    naive = pd.Series(np.array(["2024-11-20T08:30", "2300-01-01", "1600-06-01"], "datetime64[us]"))
    for column in (naive, naive.dt.tz_localize("UTC")):
        records, report = _qd(column)
        assert report.rows_accepted == 1
        assert report.rejected_by_reason["time_out_of_range"] == 2
    records, _ = _qd(naive)
    assert records["received_at"].iloc[0] == _sh("2024-11-20 08:30")


def test_python_datetimes_and_timestamps_beyond_2262_are_counted() -> None:
    records, report = _qd([
        dt.datetime(2300, 1, 1), dt.datetime(2024, 11, 20, 8, 30),
        pd.Timestamp("2024-11-20 00:30", tz="UTC"), dt.date(2024, 11, 21),
    ])
    assert report.rejected_by_reason["time_out_of_range"] == 1
    assert sorted(records["received_at"]) == [
        _sh("2024-11-20 08:30"), _sh("2024-11-20 08:30"), _sh("2024-11-21 00:00")]


def test_parquet_with_far_future_microsecond_times(tmp_path: Path) -> None:
    raw = pd.DataFrame({
        "工单编号": ["A0", "A1"],
        "受理时间": np.array(["2024-11-20T08:30", "2500-01-01"], dtype="datetime64[us]"),
        "区(市)": ["市南区"] * 2,
        "诉求分类二级": ["供暖"] * 2,
    })
    path = tmp_path / "far.parquet"
    raw.to_parquet(path, index=False)
    records, report = read_records(path, preset="qd12345")
    assert report.rejected_by_reason["time_out_of_range"] == 1
    assert records["received_at"].tolist() == [_sh("2024-11-20 08:30")]


# --------------------------------------------------------------------------- 3. UTC+8 / GMT+8


def test_utc_and_gmt_offsets_use_the_everyday_sign() -> None:
    records, report = _qd([
        "2024-11-20 08:30 UTC+8", "2024-11-20 08:30 GMT+8", "2024-11-20 08:30:00 UTC+08:00",
        "2024-11-20 08:30 GMT+0800", "2024-11-19 19:30 UTC-5", "2024-11-20 00:30 UTC",
    ])
    assert report.rows_accepted == 6
    assert _by_id(records) == [_sh("2024-11-20 08:30")] * 6


# --------------------------------------------------------------------------- 4. CST


def test_zone_abbreviations_are_resolved_by_the_source_zone() -> None:
    records, report = _qd(["2024-11-20 08:30 CST", "2024-11-20 08:30:00 (CST)",
                           "2024-11-20 08:30 EST"])
    assert _by_id(records) == [_sh("2024-11-20 08:30")] * 2
    assert report.rejected_by_reason["unparseable_time"] == 1  # EST is not Shanghai's: no guess
    chicago = parse_times(
        pd.Series(["2024-11-20 08:30 CST", "2024-07-20 08:30 CDT", "2024-11-20 08:30 BST"]),
        timezone="America/Chicago",
    )
    assert chicago.values.iloc[0] == pd.Timestamp("2024-11-20 14:30", tz="UTC")
    assert chicago.values.iloc[1] == pd.Timestamp("2024-07-20 13:30", tz="UTC")
    assert chicago.unparseable.tolist() == [False, False, True]
    assert chicago.flags["unknown_zone_name"].tolist() == [False, False, True]


# --------------------------------------------------------------------------- 5. day / month


def test_day_first_proof_decides_the_whole_column() -> None:
    records, report = _qd(["01/11/2024 08:00", "13/11/2024 08:00", "02/11/2024 09:00"])
    assert _by_id(records) == [
        _sh("2024-11-01 08:00"), _sh("2024-11-13 08:00"), _sh("2024-11-02 09:00")]
    assert report.warnings["ambiguous_day_month"] == 0  # proven, not guessed


def test_month_first_proof_decides_the_whole_column() -> None:
    p = parse_times(pd.Series(["01/11/2024 08:00", "11/13/2024 08:00"]), timezone=SH)
    assert p.dayfirst is False
    assert p.values.tolist() == [_sh("2024-01-11 08:00"), _sh("2024-11-13 08:00")]


def test_ambiguous_column_uses_the_zone_default_and_warns() -> None:
    records, report = _qd(["01/11/2024 08:00", "02/11/2024 08:00", "05/05/2024 08:00"])
    assert _by_id(records)[:2] == [_sh("2024-11-01 08:00"), _sh("2024-11-02 08:00")]
    assert report.warnings["ambiguous_day_month"] == 2  # 05/05 reads the same either way
    us = parse_times(pd.Series(["01/11/2024 08:00"]), timezone="America/New_York")
    assert us.dayfirst is False
    assert us.values.iloc[0] == pd.Timestamp("2024-01-11 08:00", tz="America/New_York")
    assert us.flags["ambiguous_day_month"].tolist() == [True]


def test_contradicting_column_rejects_the_minority_order() -> None:
    records, report = _qd(["13/11/2024 08:00", "14/11/2024 08:00", "11/15/2024 08:00",
                           "03/11/2024 08:00"])
    assert report.rejected_by_reason["unparseable_time"] == 1
    assert sorted(records["received_at"]) == [
        _sh("2024-11-03 08:00"), _sh("2024-11-13 08:00"), _sh("2024-11-14 08:00")]
    assert report.warnings["ambiguous_day_month"] == 0


def test_tied_contradiction_is_an_error_naming_the_column() -> None:
    named = r"^DataFrame: received_at \(column '受理时间'\): the day/month order"
    with pytest.raises(IngestError, match=named):
        _qd(["13/11/2024 08:00", "11/15/2024 08:00"])


def test_forced_order_wins_over_the_cells() -> None:
    cells = pd.Series(["01/11/2024 08:00", "13/11/2024 08:00"])
    p = parse_times(cells, timezone=SH, dayfirst=False)
    assert p.values.iloc[0] == _sh("2024-01-11 08:00")
    assert p.unparseable.tolist() == [False, True]
    nyc = parse_times(pd.Series(["01/11/2024 08:00:00 AM", "13/11/2024 08:00:00 AM"]),
                      timezone="America/New_York", formats=NYC)
    assert nyc.dayfirst is False  # the nyc311 formats are month-first
    assert nyc.unparseable.tolist() == [False, True]
    assert not nyc.flags["ambiguous_day_month"].any()


# --------------------------------------------------------------------------- 6. two-digit years


def test_two_digit_years_are_year_first_in_chinese_exports() -> None:
    records, report = _qd(["24-11-01 18:38", "24-11-02 09:00"])
    assert _by_id(records) == [_sh("2024-11-01 18:38"), _sh("2024-11-02 09:00")]
    assert report.warnings["ambiguous_two_digit_year"] == 2


def test_two_digit_year_order_proven_by_the_cells() -> None:
    p = parse_times(pd.Series(["24-11-01 18:38", "01-11-99 18:38"]), timezone="Europe/Berlin")
    assert p.yearfirst is False and p.dayfirst is True
    assert p.values.dt.strftime("%Y-%m-%d").tolist() == ["2001-11-24", "1999-11-01"]
    assert not p.flags["ambiguous_two_digit_year"].any()
    q = parse_times(pd.Series(["99-11-01", "24-11-01"]), timezone="Europe/Berlin")
    assert q.yearfirst is True
    assert q.values.dt.strftime("%Y-%m-%d").tolist() == ["1999-11-01", "2024-11-01"]


# --------------------------------------------------------------------------- 7. Chinese forms


def test_chinese_markers_and_full_width_digits() -> None:
    cells = [
        "2025年1月3日 8时", "2025年1月3日 8时30分", "2025年1月3日 8点30分",
        "2025年01月03日 08:30:00", "２０２５－０１－０３ ０８：００", "2025年1月3日 下午3点半",
        "2025/1/3 上午8:05", "北京时间2025年1月3日 9时",
    ]
    records, report = _qd(cells)
    assert report.rows_accepted == len(cells)
    assert _by_id(records) == [_sh(t) for t in (
        "2025-01-03 08:00", "2025-01-03 08:30", "2025-01-03 08:30", "2025-01-03 08:30",
        "2025-01-03 08:00", "2025-01-03 15:30", "2025-01-03 08:05", "2025-01-03 09:00")]


# --------------------------------------------------------------------------- 8. kept behaviour


def test_kept_forms_serials_formats_and_rejections() -> None:
    records, report = _qd([
        "45616.5", "20241120083000", "2024/11/20 08:30", "2024年11月20日 08:30",
        "2024-11-20 08:30:00.250", "Nov 20, 2024 8:30 AM", "today", "2024", "#VALUE!",
        "2024-13-45 25:00:00", "",
    ])
    assert report.rejected_by_reason["missing_time"] == 1
    assert report.rejected_by_reason["unparseable_time"] == 4  # "today" is not a time either
    assert _by_id(records) == [_sh(t) for t in (
        "2024-11-20 12:00", "2024-11-20 08:30", "2024-11-20 08:30", "2024-11-20 08:30",
        "2024-11-20 08:30:00.250", "2024-11-20 08:30")]


def test_closed_at_uses_the_same_parser() -> None:
    raw = pd.DataFrame({
        "工单编号": ["A0", "A1"],
        "受理时间": ["2025-01-03 08:00:00", "2025-01-03 09:00:00"],
        "办结时间": ["2025年1月3日 10时", "2025-01-03 03:00 UTC+8"],
        "区(市)": ["市南区"] * 2,
        "诉求分类二级": ["供暖"] * 2,
    })
    records, report = read_records(raw, preset="qd12345")
    assert records["closed_at"].iloc[0] == _sh("2025-01-03 10:00")
    assert pd.isna(records["closed_at"].iloc[1])  # before received_at: dropped and counted
    assert report.warnings["closed_before_received"] == 1
    assert report.warnings["unparseable_closed_at"] == 0


def test_dst_flags_and_unique_cells_map_back_to_every_row() -> None:
    cells = pd.Series(["11/05/2023 01:30:00 AM", "03/12/2023 02:30:00 AM"] * 3 + [None])
    p = parse_times(cells, timezone="America/New_York", formats=NYC)
    assert p.flag_counts()["ambiguous_local_time"] == 3
    assert p.flag_counts()["nonexistent_local_time"] == 3
    assert p.flag_counts(np.arange(7) < 2)["ambiguous_local_time"] == 1
    assert p.missing.tolist() == [False] * 6 + [True]
    assert p.values.iloc[1] == pd.Timestamp("2023-03-12 03:00", tz="America/New_York")


def test_naive_times_need_a_timezone_and_unknown_zones_are_errors() -> None:
    with pytest.raises(IngestError, match="timezone"):
        parse_times(pd.Series(["2024-11-20 08:30"]), timezone=None)
    utc = parse_times(pd.Series(["2024-11-20 08:30+08:00"]), timezone=None)
    assert utc.values.iloc[0] == pd.Timestamp("2024-11-20 00:30", tz="UTC")
    with pytest.raises(IngestError, match="Asia/Shangai"):
        parse_times(pd.Series(["2024-11-20 08:30"]), timezone="Asia/Shangai")
