"""read_records: known answers, spellings, times, IO round trips, errors, a property test."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from predgov.data.records import IngestError, IngestResult, read_records
from predgov.data.report import REJECTION_REASONS
from predgov.data.synthetic_export import EXPORT_COLUMNS, synthetic_export

# --------------------------------------------------------------------------- known answers

# (id, time, district, level 1, level 2, closed) -> expected fate (non-strict, strict)
_ROWS = [
    ("A1", "2024-11-20 08:30:00", "市南区", "公用事业", "供暖", "2024-11-20 10:00:00", "ok", "ok"),
    ("A2", "", "市南区", "", "供暖", "", "missing_time", "missing_time"),
    ("A3", "not a time", "市北区", "", "供热", "", "unparseable_time", "unparseable_time"),
    ("A4", "1985-01-01 00:00:00", "市北", "", "供热", "", "time_out_of_range", "time_out_of_range"),
    ("A5", "2024-11-21 09:00:00", "", "", "供热", "", "missing_district", "missing_district"),
    ("A6", "2024-11-21 09:00:00", "崂山区", "", "", "", "missing_category", "missing_category"),
    ("A7", "2024-11-22 09:00:00", "火星区", "", "供暖", "", "ok", "unknown_district"),
    ("A8", "2024-11-22 10:00:00", "黄岛区", "", "外星人投诉", "", "ok", "unknown_category"),
    ("A1", "2024-11-23 09:00:00", "市南区", "", "供暖", "", "duplicate_id", "duplicate_id"),
    ("A9", "2024-11-23 11:00:00", "即墨市", "", "噪声扰民", "2024-11-23 10:00:00", "ok", "ok"),
    ("A10", "2024/11/24 12:00", " 胶州市 ", "公用事业", "", "", "ok", "ok"),
    ("A2", "2024-11-25 08:00:00", "平度市", "", "物业", "", "ok", "ok"),
    ("A11", "2099-01-01 00:00:00", "莱西市", "", "物业", "", "time_out_of_range",
     "time_out_of_range"),
    ("A12", "2024-11-26 08:00:00", "火星区", "", "", "", "missing_category", "missing_category"),
]


def _known_frame() -> pd.DataFrame:
    return pd.DataFrame(
        [r[:6] for r in _ROWS],
        columns=["工单编号", "受理时间", "区（市）", "诉求分类 一级", "诉求分类 二级", "办结时间"],
    ).assign(来电人="张三", 联系电话="13800138000", 诉求内容="家里暖气不热")


def _expected(col: int) -> dict[str, int]:
    out = dict.fromkeys(REJECTION_REASONS, 0)
    for r in _ROWS:
        if r[col] != "ok":
            out[r[col]] += 1
    return out


# min_label_rows=1: these frames are tiny, so every unknown name would be generalised by the
# k-anonymity backstop (tested on its own in test_scrub.py); here the names are the point.


def test_known_answer_report_numbers() -> None:
    result = read_records(_known_frame(), preset="qd12345", min_label_rows=1)
    assert isinstance(result, IngestResult)
    records, report = result
    assert report.rows_read == 14
    assert report.rejected_by_reason == _expected(6)
    assert list(report.rejected_by_reason) == list(REJECTION_REASONS)
    assert report.rows_accepted == 6 == len(records)
    assert report.rows_rejected == 8
    assert report.unmapped_districts == {"火星区": 1}
    assert report.unmapped_categories == {"外星人投诉": 1}
    assert report.warnings["closed_before_received"] == 1
    assert report.dropped_columns == ["来电人", "联系电话", "诉求内容"]
    assert report.source == "DataFrame" and report.sha256 is None
    assert report.time_min == "2024-11-20T08:30:00+08:00"
    assert report.time_max == "2024-11-25T08:00:00+08:00"


def test_known_answer_records() -> None:
    records, _ = read_records(_known_frame(), preset="qd12345", min_label_rows=1)
    assert records["record_id"].tolist() == ["A1", "A7", "A8", "A9", "A10", "A2"]
    assert records["district"].tolist() == ["市南", "火星区", "西海岸新区", "即墨", "胶州", "平度"]
    assert records["category"].tolist() == [
        "heating", "heating", "外星人投诉", "noise_social", "utilities", "property_mgmt"
    ]
    assert records["parent"].tolist() == [
        "utilities", "utilities", pd.NA, "environment", "utilities", "housing"
    ]
    assert records["closed_at"].isna().tolist() == [False, True, True, True, True, True]
    assert records.index.tolist() == list(range(6))
    for col in ("record_id", "district", "category", "parent"):
        assert isinstance(records[col].dtype, pd.StringDtype), col
    assert not {"来电人", "联系电话", "诉求内容"} & set(records.columns)


def test_strict_rejects_unknown_names() -> None:
    records, report = read_records(_known_frame(), preset="qd12345", strict=True,
                                   min_label_rows=1)
    assert report.rejected_by_reason == _expected(7)
    assert report.rows_accepted == 4 == len(records)
    # the report still names what was unknown
    assert report.unmapped_districts == {"火星区": 1}
    assert report.unmapped_categories == {"外星人投诉": 1}


def test_period_filter_date_only_end_includes_the_day() -> None:
    records, report = read_records(
        _known_frame(), preset="qd12345", period=("2024-11-21", "2024-11-23")
    )
    # accepted: A7, A8 (22nd), the second A1 (23rd 09:00) and A9 (23rd 11:00)
    assert records["record_id"].tolist() == ["A7", "A8", "A1", "A9"]
    # out of range: A4 and A11 as before, plus A1 (20th), A10 (24th), A2 (25th), A12 (26th)
    assert report.rejected_by_reason["time_out_of_range"] == 6
    # the second A1 is no duplicate: the first failed an earlier check
    assert report.rejected_by_reason["duplicate_id"] == 0
    _, report = read_records(_known_frame(), preset="qd12345", period=(None, "2024-11-22 09:30"))
    assert report.rows_accepted == 2  # A1 (20th) and A7 (22nd 09:00); end is exclusive


def test_mixed_column_spellings_and_only_level_one() -> None:
    raw = pd.DataFrame({
        " 来电时间 ": ["2024-12-01 08:00:00", "2024-12-01 09:00:00"],
        "所属区市": ["市南区", "城阳区"],
        "诉求分类一级": ["公用事业", "交通出行"],
        "承办单位": ["供热公司", "公交集团"],
        "满意度": ["基本满意", "不满意"],
    })
    records, report = read_records(raw, preset="qd12345", min_label_rows=1)
    assert report.column_map["received_at"] == " 来电时间 "
    assert report.column_map["district"] == "所属区市"
    assert records["category"].tolist() == ["utilities", "transport"]
    assert records["department"].tolist() == ["供热公司", "公交集团"]
    assert records["satisfied"].tolist() == [True, False]
    assert str(records["satisfied"].dtype) == "boolean"
    assert "record_id" not in records


def test_satisfaction_values_and_scores() -> None:
    base = {
        "受理时间": ["2024-12-01 08:00:00"] * 5,
        "区(市)": ["市南"] * 5,
        "二级分类": ["供暖"] * 5,
    }
    text = pd.DataFrame({**base, "满意度": ["满意", "基本满意", "不满意", "未评价", "说不清"]})
    records, report = read_records(text, preset="qd12345")
    assert records["satisfied"].tolist() == [True, True, False, pd.NA, pd.NA]
    assert report.warnings["unrecognised_satisfaction"] == 1
    score = pd.DataFrame({**base, "满意度": ["5", "4", "1", "", "3"]})
    records, _ = read_records(score, preset="qd12345")
    assert str(records["satisfied"].dtype) == "Float64"
    assert records["satisfied"].tolist() == [5.0, 4.0, 1.0, pd.NA, 3.0]


# --------------------------------------------------------------------------- time zones


def test_naive_local_times_are_localised_to_shanghai() -> None:
    records, report = read_records(_known_frame(), preset="qd12345")
    assert str(records["received_at"].dt.tz) == "Asia/Shanghai"
    assert records["received_at"].iloc[0] == pd.Timestamp("2024-11-20 08:30", tz="Asia/Shanghai")
    assert records["received_at"].iloc[0].hour == 8  # wall time kept, not shifted
    assert report.timezone == "Asia/Shanghai"


def _nyc_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "Unique Key": ["3", "1", "2", "4"],
        "Created Date": [
            "01/01/2023 12:00:00 AM", "07/04/2023 01:30:00 PM", "07/04/2023 01:30:00 PM",
            "03/05/2023 10:00:00 AM",
        ],
        "Closed Date": ["01/01/2023 02:00:00 AM", "", "07/04/2023 03:00:00 PM", ""],
        "Agency": ["NYPD", "NYPD", "HPD", "NYPD"],
        "Complaint Type": ["Noise - Residential", "Noise - Residential", "HEAT/HOT WATER",
                           "Noise - Street/Sidewalk"],
        "Descriptor": ["Loud Music/Party", "Banging/Pounding", "APARTMENT ONLY", "Loud Talking"],
        "Incident Zip": ["11201", "11215", "10001", "11201"],
        "Incident Address": ["1 MAIN STREET", "20 PARK PLACE", "5 W 34 ST", "1 MAIN STREET"],
        "Street Name": ["MAIN STREET", "PARK PLACE", "W 34 ST", "MAIN STREET"],
        "Borough": ["BROOKLYN", "BROOKLYN", "MANHATTAN", "Unspecified"],
        "Latitude": ["40.70", "40.67", "40.75", "40.70"],
        "Longitude": ["-73.99", "-73.97", "-73.99", "-73.99"],
        "Open Data Channel Type": ["PHONE", "ONLINE", "MOBILE", "PHONE"],
        "Community Board": ["02 BROOKLYN", "06 BROOKLYN", "05 MANHATTAN", "Unspecified"],
    })


def test_nyc311_am_pm_times_and_columns() -> None:
    records, report = read_records(_nyc_frame(), preset="nyc311", min_label_rows=1)
    assert str(records["received_at"].dt.tz) == "America/New_York"
    assert records["received_at"].tolist() == [
        pd.Timestamp("2023-01-01 00:00", tz="America/New_York"),
        pd.Timestamp("2023-07-04 13:30", tz="America/New_York"),
        pd.Timestamp("2023-07-04 13:30", tz="America/New_York"),
    ]
    assert records["received_at"].iloc[1].utcoffset() == pd.Timedelta(hours=-4)  # EDT
    assert records["record_id"].tolist() == ["3", "1", "2"]  # ties broken by record_id
    assert records["district"].tolist() == ["BROOKLYN", "BROOKLYN", "MANHATTAN"]
    assert records["category"].tolist() == ["Noise - Residential"] * 2 + ["HEAT/HOT WATER"]
    assert records["parent"].tolist() == ["noise", "noise", "housing"]
    assert records["subcategory"].iloc[0] == "Loud Music/Party"
    assert records["department"].tolist() == ["NYPD", "NYPD", "HPD"]
    assert records["channel"].tolist() == ["PHONE", "ONLINE", "MOBILE"]
    assert records["grid"].iloc[0] == "02 BROOKLYN"
    assert records["closed_at"].iloc[0] == pd.Timestamp("2023-01-01 02:00", tz="America/New_York")
    assert report.rejected_by_reason["missing_district"] == 1  # "Unspecified" borough
    assert set(report.dropped_columns) == {
        "Incident Zip", "Incident Address", "Street Name", "Latitude", "Longitude"
    }
    assert report.districts is None and report.unmapped_districts == {}
    for col in ("Latitude", "Incident Address", "Incident Zip"):
        assert col not in records


def test_explicit_offsets_are_converted_and_mapping_needs_a_timezone() -> None:
    raw = pd.DataFrame({
        "t": ["2024-01-01T00:00:00Z", "2024-01-01T08:00:00+08:00"],
        "d": ["x", "y"],
        "c": ["供暖", "供暖"],
    })
    records, _ = read_records(
        raw, mapping={"received_at": "t", "district": "d", "category": "c"},
        timezone="Asia/Shanghai",
    )
    assert records["received_at"].tolist() == [
        pd.Timestamp("2024-01-01 08:00", tz="Asia/Shanghai"),
        pd.Timestamp("2024-01-01 08:00", tz="Asia/Shanghai"),
    ]
    naive = raw.assign(t=["2024-01-01 00:00:00", "2024-01-02 00:00:00"])
    with pytest.raises(IngestError, match="timezone"):
        read_records(naive, mapping={"received_at": "t", "district": "d", "category": "c"})


def test_dst_ambiguous_hour_is_kept_and_counted() -> None:
    raw = pd.DataFrame({
        "Created Date": ["11/05/2023 01:30:00 AM", "11/05/2023 03:00:00 AM",
                         "03/12/2023 02:30:00 AM"],
        "Borough": ["BROOKLYN"] * 3,
        "Complaint Type": ["Noise - Residential"] * 3,
    })
    records, report = read_records(raw, preset="nyc311")
    assert report.rows_accepted == 3
    assert report.warnings["ambiguous_local_time"] == 1
    assert report.warnings["nonexistent_local_time"] == 1
    first = records["received_at"].iloc[1]
    assert first.utcoffset() == pd.Timedelta(hours=-4)  # first (summer-time) reading
    assert records["received_at"].iloc[0].hour == 3  # 02:30 does not exist: shifted forward


def test_input_dataframe_is_not_modified() -> None:
    raw = _known_frame()
    before = raw.copy()
    read_records(raw, preset="qd12345", pseudonymise=True, key="k")
    pd.testing.assert_frame_equal(raw, before)


def test_datetime_columns_in_a_dataframe() -> None:
    raw = pd.DataFrame({
        "受理时间": pd.to_datetime(["2024-11-20 08:30", "2024-11-21 09:00"]),
        "区(市)": ["市南", "市北"],
        "诉求分类二级": ["供暖", "供暖"],
        "工单编号": [101.0, 99.0],  # ids as floats (NaN-capable) from a spreadsheet
    })
    records, _ = read_records(raw, preset="qd12345")
    assert records["record_id"].tolist() == ["101", "99"]
    assert records["received_at"].iloc[0] == pd.Timestamp("2024-11-20 08:30", tz="Asia/Shanghai")


# --------------------------------------------------------------------------- IO round trips


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_all(df: pd.DataFrame, folder: Path) -> list[Path]:
    paths = []
    for name, kwargs in [
        ("utf8.csv", {"encoding": "utf-8"}),
        ("bom.csv", {"encoding": "utf-8-sig"}),
        ("gbk.csv", {"encoding": "gb18030"}),
        ("tab.tsv", {"encoding": "utf-8", "sep": "\t"}),
        ("semi.csv", {"encoding": "gb18030", "sep": ";"}),
    ]:
        path = folder / name
        df.to_csv(path, index=False, **kwargs)
        paths.append(path)
    xlsx = folder / "export.xlsx"
    df.to_excel(xlsx, index=False, engine="openpyxl")
    parquet = folder / "export.parquet"
    df.to_parquet(parquet, index=False)
    # compressed delimited text: gzip (any text encoding inside) and a zip holding one CSV
    for name, kwargs in [
        ("gz.csv.gz", {"encoding": "gb18030"}),
        ("tab.tsv.gz", {"encoding": "utf-8", "sep": "\t"}),
        ("plain.txt.gz", {"encoding": "utf-8", "sep": "|"}),
        ("one.csv.zip", {"encoding": "utf-8",
                         "compression": {"method": "zip", "archive_name": "export.csv"}}),
    ]:
        path = folder / name
        df.to_csv(path, index=False, **kwargs)
        paths.append(path)
    return [*paths, xlsx, parquet]


def test_io_round_trips_give_identical_records(tmp_path: Path) -> None:
    df = synthetic_export(n=200, seed=3)
    reference, ref_report = read_records(df, preset="qd12345")
    for path in _write_all(df, tmp_path):
        digest = _sha(path)
        records, report = read_records(path, preset="qd12345")
        pd.testing.assert_frame_equal(records, reference, obj=path.name)
        assert report.source == path.name
        assert report.sha256 == digest
        assert _sha(path) == digest, f"{path.name} was modified"
        same = {k: v for k, v in report.to_dict().items() if k not in ("source", "sha256")}
        ref = {k: v for k, v in ref_report.to_dict().items() if k not in ("source", "sha256")}
        assert same == ref, path.name


def test_excel_with_title_rows_and_numeric_cells(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["青岛市12345热线工单导出"])
    ws.append(["导出时间：2025-01-01"])
    ws.append(["工单编号", "受理时间", "区(市)", "诉求分类 二级", "联系电话"])
    ws.append([1001, pd.Timestamp("2024-12-01 08:00").to_pydatetime(), "市南区", "供暖",
               13800138000])
    ws.append([1002, "2024-12-02 09:15:00", "市北区", "停水", 13900139000])
    path = tmp_path / "titled.xlsx"
    wb.save(path)
    records, report = read_records(path, preset="qd12345")
    assert report.rows_read == 2
    assert records["record_id"].tolist() == ["1001", "1002"]
    assert records["category"].tolist() == ["heating", "water_supply"]
    assert records["received_at"].iloc[0] == pd.Timestamp("2024-12-01 08:00", tz="Asia/Shanghai")
    assert report.dropped_columns == ["联系电话"]


# --------------------------------------------------------------------------- errors


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"nothere\.csv.*not found"):
        read_records(tmp_path / "nothere.csv", preset="qd12345")


def test_empty_file_and_header_only(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(IngestError, match=r"empty\.csv.*empty"):
        read_records(empty, preset="qd12345")
    header = tmp_path / "header.csv"
    header.write_text("工单编号,受理时间,区(市),诉求分类 二级\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"header\.csv.*no data rows"):
        read_records(header, preset="qd12345")


def test_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "records.json"
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(IngestError, match=r"records\.json.*unsupported file type '\.json'"):
        read_records(path, preset="qd12345")


def test_wrong_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "hash.csv"
    synthetic_export(n=20).to_csv(path, sep="#", index=False)
    with pytest.raises(IngestError) as err:
        read_records(path, preset="qd12345")
    msg = str(err.value)
    assert "hash.csv" in msg and "received_at" in msg and "delimiter" in msg


def test_missing_required_column_names_field_spellings_and_found(tmp_path: Path) -> None:
    path = tmp_path / "nodistrict.csv"
    synthetic_export(n=20).drop(columns=["区(市)"]).to_csv(path, index=False)
    with pytest.raises(IngestError) as err:
        read_records(path, preset="qd12345")
    msg = str(err.value)
    assert "nodistrict.csv" in msg
    assert "'district'" in msg and "区县" in msg  # field and spellings looked for
    assert "受理时间" in msg  # columns found
    assert err.value.__cause__ is None or isinstance(err.value, ValueError)


def test_undecodable_and_corrupt_files(tmp_path: Path) -> None:
    bad = tmp_path / "latin.csv"
    bad.write_bytes("受理时间,区\n".encode() + b"\xff\xfe\xff\x80\x81,\xff\n")
    with pytest.raises(IngestError, match=r"latin\.csv.*decode"):
        read_records(bad, preset="qd12345")
    corrupt = tmp_path / "corrupt.xlsx"
    corrupt.write_bytes(b"this is not a zip archive")
    with pytest.raises(IngestError, match=r"corrupt\.xlsx.*Excel") as err:
        read_records(corrupt, preset="qd12345")
    assert err.value.__cause__ is not None  # the library error is chained, not shown on top
    legacy = tmp_path / "old.xls"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(IngestError, match=r"old\.xls.*xlsx"):
        read_records(legacy, preset="qd12345")


def test_ingest_error_is_a_value_error() -> None:
    assert issubclass(IngestError, ValueError)


# --------------------------------------------------------------------------- property test

_TIMES = ["2024-11-20 08:00:00", "2024-12-01 23:59:59", "", "坏", "1980-01-01 00:00:00",
          "2024/11/21 10:00"]
_DISTRICTS = ["市南区", "黄岛区", "", "火星区", " 即墨市 "]
_CATEGORIES = ["供暖", "", "外星", "噪声扰民"]
_IDS = ["X1", "X2", "X3", ""]


def _oracle(rows: list[tuple[str, str, str, str]], strict: bool) -> list[str]:
    """Expected fate of each row, by the documented rules."""
    fates = []
    seen: set[str] = set()
    for rid, t, d, c in rows:
        if t == "":
            fate = "missing_time"
        elif t == "坏":
            fate = "unparseable_time"
        elif t.startswith("1980"):
            fate = "time_out_of_range"
        elif d.strip() == "":
            fate = "missing_district"
        elif c == "":
            fate = "missing_category"
        elif strict and d == "火星区":
            fate = "unknown_district"
        elif strict and c == "外星":
            fate = "unknown_category"
        elif rid and rid in seen:
            fate = "duplicate_id"
        else:
            fate = "ok"
        if fate == "ok" and rid:
            seen.add(rid)
        fates.append(fate)
    return fates


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(_IDS), st.sampled_from(_TIMES), st.sampled_from(_DISTRICTS),
                  st.sampled_from(_CATEGORIES)),
        min_size=1, max_size=25,
    ),
    strict=st.booleans(),
)
def test_row_accounting_property(rows: list[tuple[str, str, str, str]], strict: bool) -> None:
    raw = pd.DataFrame(rows, columns=["工单编号", "受理时间", "区(市)", "二级分类"])
    raw["备注"] = "x"  # never a fully blank row
    records, report = read_records(raw, preset="qd12345", strict=strict)
    assert report.rows_read == len(rows)
    assert report.rows_read == report.rows_accepted + sum(report.rejected_by_reason.values())
    assert report.rows_accepted == len(records)
    fates = _oracle(rows, strict)
    expected = {r: fates.count(r) for r in REJECTION_REASONS}
    assert report.rejected_by_reason == expected
    assert records["received_at"].is_monotonic_increasing


# --------------------------------------------------------------------------- synthetic export


def test_synthetic_export_is_deterministic_and_realistic() -> None:
    a = synthetic_export(n=300, seed=7)
    pd.testing.assert_frame_equal(a, synthetic_export(n=300, seed=7))
    assert not a.equals(synthetic_export(n=300, seed=8))
    assert tuple(a.columns) == EXPORT_COLUMNS
    phones = a["联系电话"].str.replace(r"[\s-]", "", regex=True)
    assert phones.str.fullmatch(r"1[3-9]\d{9}").all()
    assert a["身份证号"].str.fullmatch(r"\d{17}[\dX]").all()
    assert a["地址"].str.contains("号").all() and a["地址"].str.endswith("室").all()
    assert a["工单编号"].duplicated().sum() >= 1
    assert (a["区(市)"] == "").sum() >= 1
    assert set(a["区(市)"]) & {"市南区", "黄岛区", "即墨市"}
    assert "其他" in set(a["诉求分类 二级"])
    parsed = pd.to_datetime(a["受理时间"], errors="coerce", format="mixed")
    assert parsed.isna().sum() >= 1
    assert parsed.min() >= pd.Timestamp("2024-11-01") - pd.Timedelta(seconds=1)


def test_synthetic_export_ingests_with_every_reason_it_plants() -> None:
    records, report = read_records(synthetic_export(n=2000, seed=0), preset="qd12345")
    r = report.rejected_by_reason
    assert r["unparseable_time"] == 20 and r["missing_district"] > 0 and r["duplicate_id"] > 0
    assert report.unmapped_categories.keys() >= {"其他"}
    assert report.unmapped_districts.keys() == {"高新区"}
    assert report.warnings["closed_before_received"] > 0
    assert records["received_at"].dt.tz is not None
    assert (records["received_at"] >= pd.Timestamp("2024-11-01", tz="Asia/Shanghai")).all()


# --------------------------------------------------------------------------- real data


def test_brooklyn_noise_real_file(brooklyn_noise_path: Path) -> None:
    digest = _sha(brooklyn_noise_path)
    records, report = read_records(brooklyn_noise_path, preset="nyc311_brooklyn_noise")
    assert report.rows_read == 86040
    assert report.rows_accepted == len(records) == 86040 - report.rows_rejected
    assert report.sha256 == digest == _sha(brooklyn_noise_path)
    assert report.source == brooklyn_noise_path.name
    assert str(records["received_at"].dt.tz) == "America/New_York"
    assert (records["received_at"].dt.year == 2023).all()
    assert report.time_min.startswith("2023-01-01") and report.time_max.startswith("2023-12-31")
    assert set(records["district"]) == {"BROOKLYN"}
    assert set(records["category"]) == {"Noise - Residential"}
    assert records["record_id"].is_unique
    assert records["temperature_c"].dtype == np.float64
    assert records["temperature_c"].between(-30, 45).all() or records["temperature_c"].isna().any()
    daily = records.groupby(records["received_at"].dt.date).size()
    assert len(daily) == 365 and daily.min() >= 116 and daily.max() <= 612
    assert report.warnings["ambiguous_local_time"] > 0  # 01:00 on 5 Nov 2023 occurs twice
