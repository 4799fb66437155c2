"""Default study period: a few far-away rows cannot stretch the cube (issue 11, case 4)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predgov import paths
from predgov.data.cube import to_cube
from predgov.data.records import IngestError, read_records
from predgov.data.studyperiod import dense_span


def _export(days: pd.DatetimeIndex, per_day: int = 3, stray: list[str] = ()) -> pd.DataFrame:
    times = [f"{d.date()} {8 + k:02d}:00" for d in days for k in range(per_day)] + list(stray)
    n = len(times)
    return pd.DataFrame({
        "工单编号": [f"Q{i}" for i in range(n)],
        "受理时间": times,
        "区(市)": ["市南区"] * n,
        "诉求分类二级": ["供暖"] * n,
    })


DAYS = pd.date_range("2022-01-01", "2024-12-31", freq="D")


def test_stray_1999_row_is_rejected_and_does_not_stretch_the_cube() -> None:
    raw = _export(DAYS, stray=["1999-01-01 10:00"])
    records, report = read_records(raw, preset="qd12345")
    assert report.rejected_by_reason["outside_study_period"] == 1
    assert report.rows_accepted == 3 * len(DAYS)
    assert report.study_period == {"mode": "auto", "start": "2022-01-01", "end": "2024-12-31"}
    assert report.time_min.startswith("2022-01-01")
    cube = to_cube(records, districts="qingdao")
    assert cube.sizes["time"] == len(DAYS)  # 1,096 days, not 9,497


def test_strays_at_both_ends_and_all_switches_it_off() -> None:
    raw = _export(DAYS, stray=["1999-01-01 10:00", "2025-09-30 10:00", "1998-05-05 10:00"])
    _, report = read_records(raw, preset="qd12345")
    assert report.rejected_by_reason["outside_study_period"] == 3
    _, report = read_records(raw, preset="qd12345", study_period="all")
    assert report.rejected_by_reason["outside_study_period"] == 0
    assert report.time_min.startswith("1998-05-05") and report.study_period["mode"] == "all"
    with pytest.raises(IngestError, match="study_period"):
        read_records(raw, preset="qd12345", study_period="dense")


def test_explicit_period_overrides_the_rule() -> None:
    raw = _export(DAYS, stray=["1999-01-01 10:00"])
    _, report = read_records(raw, preset="qd12345", period=("1998-01-01", "2023-12-31"))
    assert report.rejected_by_reason["outside_study_period"] == 0
    assert report.rejected_by_reason["time_out_of_range"] == 3 * 366  # 2024 is cut by the bound
    assert report.time_min.startswith("1999-01-01")
    assert report.study_period["mode"] == "explicit"


def test_seasonal_gaps_do_not_cut_years_off() -> None:
    """A heating hotline: months-long summer gaps every year and a few spring rows before the
    first winter are the data, not strays."""
    winters = DAYS[DAYS.month.isin([1, 2, 3, 11, 12])]
    raw = _export(winters, per_day=1, stray=["2021-05-20 09:00", "2021-05-21 09:00"])
    _, report = read_records(raw, preset="qd12345")
    assert report.rejected_by_reason["outside_study_period"] == 0


def test_small_files_and_dense_clusters_are_kept() -> None:
    few = _export(pd.date_range("2024-01-01", periods=10), stray=["2020-01-01 08:00"])
    _, report = read_records(few, preset="qd12345")  # 31 rows: one row is too large a share
    assert report.rejected_by_reason["outside_study_period"] == 0
    assert dense_span(pd.Series(pd.NaT, index=range(3), dtype="datetime64[ns]")) is None
    first, last = dense_span(pd.Series(pd.to_datetime(["2024-05-01"] * 4)))
    assert first == last == pd.Timestamp("2024-05-01")


def test_dense_span_is_deterministic_and_order_free() -> None:
    rng = np.random.default_rng(0)
    days = pd.Series(DAYS[rng.integers(0, len(DAYS), 5000)])
    days = pd.concat([days, pd.Series(pd.to_datetime(["1990-02-01", "2031-01-01"]))])
    a = dense_span(days)
    b = dense_span(days.sample(frac=1.0, random_state=1))
    assert a == b and a[0] >= DAYS[0] and a[1] <= DAYS[-1]


# --------------------------------------------------------------------------- real data


def _real(relative: str, tmp_path: Path) -> Path:
    try:
        path = paths.shared_data_file(relative)
    except FileNotFoundError:
        pytest.skip(f"shared file {relative!r} not found")
    if path.suffix == ".gz":
        plain = tmp_path / path.name.removesuffix(".gz")
        with gzip.open(path, "rb") as src, plain.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        return plain
    return path


def test_real_files_lose_only_far_away_rows(tmp_path: Path) -> None:
    """Brooklyn 2023 and Boston heat (sparse, seasonal) lose nothing; Chicago loses the 28
    placeholder rows of 2000 and 3 rows of Jan–Feb 2010, 86 days before the next record."""
    brooklyn = _real("nyc311_brooklyn_noise_2023/"
                     "nyc311_noise_brooklyn_2023_with_weather_canonical.csv", tmp_path)
    _, report = read_records(brooklyn, preset="nyc311_brooklyn_noise")
    assert report.rejected_by_reason["outside_study_period"] == 0
    boston = _real("boston_heat_311/requests.csv.gz", tmp_path)
    _, report = read_records(
        boston, mapping={"record_id": "case_id", "received_at": "open_dt",
                         "district": "city_council_district", "category": "type"},
        timezone="America/New_York")
    assert report.rows_read == 7644 and report.rejected_by_reason["outside_study_period"] == 0
    chicago = _real("chicago_sanitation_311/requests.csv.gz", tmp_path)
    records, report = read_records(
        chicago, mapping={"record_id": "request_id", "received_at": "created_date",
                          "district": "ward", "category": "category"},
        timezone="America/Chicago")
    assert report.rejected_by_reason["outside_study_period"] == 31
    assert report.study_period["start"] == "2010-05-20"
    assert report.study_period["end"] == "2015-01-01"
    assert (records["received_at"].dt.year >= 2010).all()
