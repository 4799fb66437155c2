"""Presets and mappings: spellings, registry, overrides, Hydra-style configs."""

from __future__ import annotations

import pandas as pd
import pytest
from omegaconf import OmegaConf

from predgov.data.presets import (
    FIELDS,
    PRESETS,
    REQUIRED_FIELDS,
    Preset,
    get_preset,
    normalise_column,
    register_preset,
)
from predgov.data.records import IngestError, read_records


@pytest.mark.parametrize(
    ("a", "b"),
    [("区（市）", "区(市)"), ("区 (市)", "区市"), ("诉求分类 一级", "诉求分类一级"),
     ("街道/网格", "街道网格"), ("Created Date", "created_date"), ("\u3000受理时间 ", "受理时间")],
)
def test_normalise_column_equates_common_spellings(a: str, b: str) -> None:
    assert normalise_column(a) == normalise_column(b)


def test_normalise_column_keeps_different_names_apart() -> None:
    assert normalise_column("诉求分类一级") != normalise_column("诉求分类二级")


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_builtin_presets_cover_required_fields(name: str) -> None:
    p = get_preset(name)
    for fld in REQUIRED_FIELDS:
        assert fld in p.columns or fld in p.constants or (
            fld == "category" and "category_l1" in p.columns
        ), (name, fld)
    assert p.timezone is not None
    assert set(p.columns) <= set(FIELDS)


def test_preset_details() -> None:
    qd = get_preset("qd12345")
    assert (qd.timezone, qd.taxonomy, qd.districts) == ("Asia/Shanghai", "qingdao", "qingdao")
    for spelling in ("受理时间", "来电时间", "创建时间"):
        assert spelling in qd.columns["received_at"]
    for spelling in ("区(市)", "区市", "所属区市", "区县"):
        assert spelling in qd.columns["district"]
    assert "身份证号" in qd.personal["id_number"] and "诉求内容" in qd.personal["text"]
    nyc = get_preset("nyc311")
    assert nyc.columns["category"][0] == "Complaint Type"
    assert nyc.timezone == "America/New_York" and nyc.districts is None
    bk = get_preset("nyc311_brooklyn_noise")
    assert dict(bk.constants) == {"district": "BROOKLYN", "category": "Noise - Residential"}
    assert "temperature_c" in bk.extras


def test_unknown_preset_and_bad_preset_definitions() -> None:
    with pytest.raises(ValueError, match="known presets"):
        get_preset("nope")
    with pytest.raises(ValueError, match="unknown fields"):
        Preset("bad", {"when": ("t",)})
    with pytest.raises(ValueError, match="personal kinds"):
        Preset("bad", {"received_at": ("t",)}, personal={"shoe_size": ("s",)})
    with pytest.raises(TypeError):
        get_preset("qd12345").columns["district"] = ("x",)  # type: ignore[index]


def test_register_preset_and_use_it() -> None:
    p = Preset(
        "test_city",
        {"received_at": ("when",), "district": ("ward",), "category": ("topic",)},
        timezone="Europe/London",
    )
    try:
        register_preset(p)
        with pytest.raises(ValueError, match="exists"):
            register_preset(p)
        raw = pd.DataFrame({"when": ["2024-03-31 00:30:00"], "ward": ["W1"], "topic": ["Bins"]})
        records, report = read_records(raw, preset="test_city", min_label_rows=1)
        assert report.preset == "test_city"
        expected = pd.Timestamp("2024-03-31 00:30", tz="Europe/London")
        assert records["received_at"].iloc[0] == expected
        assert records["category"].iloc[0] == "Bins"  # no taxonomy: kept as spelled
        assert report.taxonomy is None and report.unmapped_categories == {}
    finally:
        PRESETS.pop("test_city", None)


_RAW = pd.DataFrame({
    "ID": ["1", "2"],
    "Opened": ["2024-01-05 10:00:00", "2024-01-06 11:00:00"],
    "Area": ["市南区", "崂山区"],
    "片区": ["市北区", "城阳区"],
    "Issue": ["暖气", "停水"],
    "Temp": ["3.5", "-1"],
    "Tel": ["13800138000", "13900139000"],
})


def test_mapping_alone() -> None:
    mapping = {
        "record_id": "ID", "received_at": "Opened", "district": "Area", "category": "Issue",
        "extras": {"temp_c": "Temp"}, "personal": {"phone": "Tel"},
    }
    records, report = read_records(_RAW, mapping=mapping, timezone="Asia/Shanghai",
                                   taxonomy="qingdao", districts="qingdao")
    assert report.preset is None
    assert records["district"].tolist() == ["市南", "崂山"]
    assert records["category"].tolist() == ["heating", "water_supply"]
    assert records["temp_c"].tolist() == [3.5, -1.0]
    assert report.dropped_columns == ["Tel"]
    assert report.unused_columns == ["片区"]


def test_mapping_overrides_preset_and_accepts_omegaconf() -> None:
    raw = _RAW.rename(columns={"Opened": "受理时间", "Issue": "诉求分类二级", "Area": "区(市)"})
    cfg = OmegaConf.create({"district": "片区", "constants": {"channel": "热线"}})
    records, report = read_records(raw, preset="qd12345", mapping=cfg)
    assert report.column_map["district"] == "片区"
    assert report.column_map["channel"] == "=热线"
    assert records["district"].tolist() == ["市北", "城阳"]
    assert records["channel"].tolist() == ["热线", "热线"]
    assert "区(市)" in report.unused_columns


def test_mapping_constant_replaces_a_column() -> None:
    raw = _RAW.rename(columns={"Opened": "Created Date", "Issue": "Complaint Type"})
    records, _ = read_records(raw, preset="nyc311", mapping={"constants": {"district": "QUEENS"}})
    assert records["district"].tolist() == ["QUEENS", "QUEENS"]


def test_mapping_errors() -> None:
    with pytest.raises(IngestError, match="unknown keys"):
        read_records(_RAW, mapping={"when": "Opened"})
    with pytest.raises(IngestError, match="'district'"):
        read_records(_RAW, mapping={"received_at": "Opened", "category": "Issue"},
                     timezone="UTC")


# --------------------------------------------------------------------------- US request-level sets


def test_us_request_presets() -> None:
    chi = get_preset("chicago311_sanitation")
    assert (chi.timezone, chi.taxonomy, chi.districts) == (
        "America/Chicago", "chicago311_sanitation", "chicago_wards")
    assert chi.columns["district"][0] == "ward" and "Service Request Number" in chi.columns[
        "record_id"]
    assert {"latitude", "longitude", "zip_code"} <= set(chi.personal["location"])
    assert dict(chi.duplicates)["is_duplicate"] == ("true",)
    bos = get_preset("boston311_heat")
    assert (bos.timezone, bos.taxonomy, bos.districts) == (
        "America/New_York", "boston311_heat", "boston_council")
    assert bos.columns["district"] == ("city_council_district",)
    assert "closure_reason" in bos.personal["text"] and not bos.duplicates


def _chicago(rows: list[tuple[str, ...]], columns: tuple[str, ...] = (
        "request_id", "created_date", "ward", "category", "status", "is_duplicate",
        "latitude")) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns))


_CHI_ROWS = [
    ("12-1", "2012-06-01", "7", "Standing water", "Completed", "False", "41.75"),
    ("12-2", "2012-06-01", "7", "Standing water", "Completed - Dup", "True", "41.75"),
    ("12-3", "2012-06-02", "7", "Standing water", "Open - Dup", "True", "41.75"),
    ("12-4", "2012-06-02", "0", "Garbage in yard", "Open", "False", "41.80"),
    ("12-5", "2012-06-03", "", "Garbage in yard", "Completed", "False", ""),
    ("12-6", "2012-06-03", "42", "Graffiti Commercial Vehicle", "Completed", "False", "41.9"),
    ("12-7", "2012-06-04", "77", "Garbage in yard", "Completed", "False", "41.9"),
]


def test_chicago_duplicate_reports_and_ward_zero_are_counted_rejections() -> None:
    records, report = read_records(_chicago(_CHI_ROWS), preset="chicago311_sanitation")
    by = {k: v for k, v in report.rejected_by_reason.items() if v}
    assert by == {"duplicate_report": 2, "missing_district": 2}
    assert report.rows_read == 7 == report.rows_accepted + report.rows_rejected
    assert records["record_id"].tolist() == ["12-1", "12-6", "12-7"]
    assert report.column_map["duplicate_report"] == "is_duplicate"
    assert "is_duplicate" not in report.unused_columns and "latitude" in report.dropped_columns
    assert str(records["received_at"].dt.tz) == "America/Chicago"
    assert records["received_at"].iloc[0] == pd.Timestamp("2012-06-01", tz="America/Chicago")


def test_duplicate_markers_fall_back_to_status_and_can_be_switched_off() -> None:
    no_flag = _chicago(_CHI_ROWS).drop(columns="is_duplicate").rename(columns={"status": "Status"})
    _, report = read_records(no_flag, preset="chicago311_sanitation")
    assert report.rejected_by_reason["duplicate_report"] == 2
    assert report.column_map["duplicate_report"] == "Status"
    records, report = read_records(_chicago(_CHI_ROWS), preset="chicago311_sanitation",
                                   mapping=OmegaConf.create({"duplicates": {}}))
    assert report.rejected_by_reason["duplicate_report"] == 0 and len(records) == 5
    assert "is_duplicate" in report.unused_columns
    with pytest.raises(IngestError, match="mapping duplicates"):
        read_records(_chicago(_CHI_ROWS), preset="chicago311_sanitation",
                     mapping={"duplicates": ["True"]})


def test_declared_wards_and_categories_survive_the_rare_label_backstop() -> None:
    # One row each: without the district table and taxonomy, ward 42 and the rare real
    # category would become 其他/other (unmapped) (min_label_rows=5); ward 77 does not exist
    # and is still generalised.
    records, report = read_records(_chicago(_CHI_ROWS), preset="chicago311_sanitation")
    assert records["district"].tolist() == ["7", "42", "其他/other (unmapped)"]
    assert records["category"].tolist() == [
        "Standing water", "Graffiti Commercial Vehicle", "Garbage in yard"]
    assert set(records["parent"]) == {"sanitation"}
    assert report.generalised == {"district": 1}
    assert report.unmapped_categories == {}


def test_boston_heat_rows() -> None:
    raw = pd.DataFrame({
        "case_id": ["101000297223", "101000297224", "101000297225"],
        "open_dt": ["2011-07-06 11:13:45", "2013-03-10 02:30:00", "2014-01-02 08:00:00"],
        "closed_dt": ["", "2013-03-11 09:00:00", ""],
        "type": ["Heat - Excessive  Insufficient", "Heat/Fuel Assistance",
                 "Heat - Excessive Insufficient"],
        "city_council_district": ["8", "4", "0"],
        "closure_reason": ["", "Case Closed Duplicate of Existing Case", ""],
        "latitude": ["42.3594", "42.30", "42.31"],
    })
    records, report = read_records(raw, preset="boston311_heat")
    assert report.rejected_by_reason["missing_district"] == 1  # council district 0
    assert report.rejected_by_reason["duplicate_report"] == 0  # free text is never read
    assert records["category"].tolist() == [
        "Heat - Excessive Insufficient", "Heat/Fuel Assistance"]
    assert records["district"].tolist() == ["8", "4"]
    assert set(report.dropped_columns) == {"closure_reason", "latitude"}
    assert report.warnings["nonexistent_local_time"] == 1  # 02:30 on 10 Mar 2013 (DST)
