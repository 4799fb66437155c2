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
