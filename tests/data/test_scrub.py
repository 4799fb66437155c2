"""Personal text in label columns is scrubbed at ingest; rare unknown labels are generalised;
unknown names are normalised and reported (issue 11, cases 5-7)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import pytest

from predgov.data.privacy import (
    OTHER_LABEL,
    drop_names,
    looks_like_name,
    map_label,
    scrub_id,
    scrub_patterns,
)
from predgov.data.records import read_records
from predgov.data.taxonomy import load_districts, load_taxonomy

PLANTED = ["13912345678", "13800001111", "13700001111", "370202198001011234",
           "zhang.sanfeng@example.com", "张三丰", "李四光", "王小明", "(212) 555-0123",
           "Mary Smith"]


@pytest.mark.parametrize(("text", "clean"), [
    ("市南区 13912345678", "市南区"),
    ("供暖 张三丰 138-0000-1111", "供暖 张三丰"),
    ("+86 139 1234 5678 市北", "市北"),
    ("Agency (212) 555-0123", "Agency"),
    ("0532-88886666 崂山", "崂山"),
    ("证件 370202198001011234 号", "证件 号"),
    ("邮箱 zhang.sanfeng@example.com", "邮箱"),
    ("１３９１２３４５６７８ 市南", "市南"),  # full-width digits
])
def test_scrub_patterns_removes_phones_ids_and_emails(text: str, clean: str) -> None:
    assert scrub_patterns(text) == (clean, True)


@pytest.mark.parametrize("text", ["370202001001 社区", "02 BROOKLYN", "Ward 3", "0305",
                                  "12345热线", "Noise - Residential", "370211"])
def test_scrub_patterns_keeps_codes(text: str) -> None:
    assert scrub_patterns(text) == (text, False)


def test_names() -> None:
    for name in ("张三丰", "李四光", "王小明", "欧阳娜娜", "刘先生", "黄女士", "Mary Smith",
                 "Mr. Jones", "JOHN SMITH"):
        assert looks_like_name(name), name
    for term in ("李村", "王哥庄街道", "供暖", "黄岛", "Back Bay", "Jamaica Plain",
                 "Kevin White Park", "STATEN ISLAND", "Noise - Residential", "交警支队"):
        assert not looks_like_name(term), term
    assert drop_names("香港中路街道 李四光") == ("香港中路街道", True)


def test_map_label_maps_after_scrubbing_and_by_token() -> None:
    district = load_districts("qingdao").lookup
    category = load_taxonomy("qingdao").lookup
    assert map_label("市南区 13912345678", district) == ("市南", None, True)
    assert map_label("（市南区）", district) == ("市南", None, False)
    assert map_label("市南区张三丰", district)[0] == "市南"
    assert map_label("供暖 张三丰 13800001111", category) == ("heating", None, True)
    assert map_label("高新区 王小明 13700001111", district) == (None, "高新区", True)
    assert map_label("张三丰", None) == (None, OTHER_LABEL, True)
    assert map_label("13912345678", district) == (None, None, True)
    assert map_label("市南区 市北区", district) == (None, "市南区 市北区", False)  # ambiguous


def test_scrub_id_keeps_long_ticket_numbers() -> None:
    assert scrub_id("370200202411200001") == ("370200202411200001", False)
    assert scrub_id("QD2024-001 13300001111") == ("QD2024-001", True)
    assert scrub_id("a@b.com") == (None, True)


def _planted(n: int = 60) -> pd.DataFrame:
    base = pd.DataFrame({
        "工单编号": [f"Q{i}" for i in range(n)],
        "受理时间": [f"2024-11-{1 + i % 28:02d} {8 + i % 10:02d}:00" for i in range(n)],
        "来源渠道": ["电话"] * n,
        "区(市)": ["市南区"] * n,
        "街道/网格": ["八大关街道"] * n,
        "诉求分类 一级": ["公用事业"] * n,
        "诉求分类 二级": ["供暖"] * n,
        "承办单位": ["供热管理中心"] * n,
    })
    plants = {
        "工单编号": "{v} 13300001111",
        "来源渠道": "{v} zhang.sanfeng@example.com",
        "区(市)": "{v} 13912345678",
        "街道/网格": "{v} 李四光 13700001111",
        "诉求分类 一级": "{v} 王小明",
        "诉求分类 二级": "{v} 张三丰 13800001111",
        "承办单位": "{v} 王小明 370202198001011234",
    }
    rows = base.index[::3]
    for col, template in plants.items():
        base.loc[rows, col] = [template.format(v=v) for v in base.loc[rows, col]]
    base.loc[5, "承办单位"] = "Mary Smith (212) 555-0123"  # a cell that is only personal
    base.loc[7, "街道/网格"] = "张三丰"
    return base


def _blob(records: pd.DataFrame) -> str:
    return "\n".join(
        "\n".join(map(str, pd.unique(records[c].astype(object).to_numpy()))) for c in records
    )


def test_planted_personal_text_is_scrubbed_mapped_and_counted(tmp_path: Path) -> None:
    raw = _planted()
    records, report = read_records(raw, preset="qd12345")
    assert report.rows_accepted == 60
    assert set(records["district"]) == {"市南"}
    assert set(records["category"]) == {"heating"}
    assert set(records["parent"]) == {"utilities"}
    assert set(records["grid"]) == {"八大关街道", OTHER_LABEL}
    assert set(records["channel"]) == {"电话"}
    assert set(records["department"]) == {"供热管理中心", OTHER_LABEL}
    assert records["record_id"].str.fullmatch(r"Q\d+").all()
    report.save(tmp_path / "r.json")
    report.save(tmp_path / "r.txt")
    records.to_parquet(tmp_path / "records.parquet")
    texts = [_blob(records), (tmp_path / "r.json").read_text("utf-8"),
             (tmp_path / "r.txt").read_text("utf-8"),
             _blob(pd.read_parquet(tmp_path / "records.parquet"))]
    leaks = [s for s in PLANTED for t in texts if s in t]
    assert leaks == []
    assert report.scrubbed == {"district": 20, "category": 20, "grid": 21, "channel": 20,
                               "department": 21, "category_l1": 20, "record_id": 20}
    assert report.warnings["scrubbed_personal_text"] == 22  # rows 0, 3, ..., 57 and 5, 7
    assert report.unmapped_districts == {} and report.unmapped_categories == {}


def test_rare_unknown_labels_are_generalised_frequent_ones_kept() -> None:
    n = 40
    raw = pd.DataFrame({
        "受理时间": [f"2024-11-{1 + i % 28:02d} 08:00" for i in range(n)],
        "区(市)": ["高新区"] * 30 + ["青岛市"] * 3 + ["市南区"] * 7,
        "诉求分类二级": ["咨询"] * 2 + ["供暖"] * 38,
        "承办单位": ["赵六福家"] + ["供热管理中心"] * 39,
    })
    records, report = read_records(raw, preset="qd12345")
    assert report.unmapped_districts == {"高新区": 30, OTHER_LABEL: 3}
    assert report.unmapped_categories == {OTHER_LABEL: 2}
    assert report.generalised == {"district": 3, "category": 2, "department": 1}
    assert report.warnings["generalised_rare_label"] == 5  # row 0 counts once
    assert "青岛市" not in set(records["district"]) and "咨询" not in set(records["category"])
    _, exact = read_records(raw, preset="qd12345", min_label_rows=1)
    assert exact.unmapped_districts == {"青岛市": 3, "高新区": 30}


def test_full_width_brackets_map_to_the_district() -> None:
    raw = pd.DataFrame({
        "受理时间": ["2024-11-01 08:00"] * 6,
        "区(市)": ["（市南区）", "(市南区)", "市南区。", "【市北区】", "ＬＡＩＸＩ", " 崂山区 "],
        "诉求分类二级": ["供暖"] * 6,
    })
    records, report = read_records(raw, preset="qd12345")
    assert records["district"].tolist() == ["市南", "市南", "市南", "市北", "莱西", "崂山"]
    assert report.unmapped_districts == {}


# --------------------------------------------------------------------------- published report


def test_published_report_suppresses_small_unmapped_counts() -> None:
    raw = pd.DataFrame({
        "受理时间": [f"2024-11-{1 + i % 28:02d} 08:00" for i in range(40)],
        "区(市)": ["高新区"] * 30 + ["青岛市"] * 3 + ["市南区"] * 7,
        "诉求分类二级": ["供暖"] * 40,
    })
    _, report = read_records(raw, preset="qd12345")
    published = report.published(5)
    assert published["unmapped_districts"] == {"高新区": 30, OTHER_LABEL: "<5"}
    assert published["generalised"] == {"district": "<5"}
    assert published["warnings"]["generalised_rare_label"] == "<5"
    assert report.unmapped_districts[OTHER_LABEL] == 3  # the object stays exact
    text = report.to_text(min_count=5)
    assert "<5" in text and f"{OTHER_LABEL:<26}         3" not in text
    json.dumps(published)  # publishable as is


# --------------------------------------------------------------------------- data stage


def test_data_stage_logs_a_summary_and_publishes_only_scrubbed_values(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from predgov.experiment.config import FileDataConfig, VizConfig
    from predgov.experiment.stages.data import run_data_stage

    raw = _planted(60)
    raw.loc[:29, "区(市)"] = "高新区"
    raw.loc[30:32, "区(市)"] = "青岛市"
    raw.loc[33, "受理时间"] = "1999-01-01 08:00"
    days = pd.date_range("2024-11-01", "2024-11-28").strftime("%Y-%m-%d 09:00")
    filler = raw.iloc[[40] * (len(days) * 8)].reset_index(drop=True)  # a dense 4 weeks
    filler["工单编号"] = [f"F{i}" for i in range(len(filler))]
    filler["受理时间"] = list(days) * 8
    source = tmp_path / "in" / "export.csv"
    source.parent.mkdir()
    pd.concat([raw, filler]).to_csv(source, index=False)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    cfg = FileDataConfig(path=str(source), preset="qd12345")
    with caplog.at_level(logging.WARNING, logger="predgov"):
        data, out = run_data_stage(cfg, VizConfig(formats=["svg"], dpi=50), run_dir)
    console = "\n".join(r.getMessage() for r in caplog.records if r.name == "predgov")
    assert "1 row outside the study period 2024-11-01 .. 2024-11-28" in console
    assert "with a district the district table qingdao does not know" in console
    assert "高新区 (30)" in console and f"{OTHER_LABEL} (<5)" in console
    assert "personal text" in console
    published = json.loads(out["ingest_report"].read_text("utf-8"))
    assert published["unmapped_districts"] == {"高新区": 30, OTHER_LABEL: "<5"}
    assert data.ingest is not None and data.ingest.unmapped_districts[OTHER_LABEL] == 3
    blob = "\n".join([console, out["ingest_report"].read_text("utf-8"),
                      out["ingest_report_text"].read_text("utf-8"),
                      _blob(pd.read_parquet(out["records"]))])
    assert [s for s in PLANTED if s in blob] == []
    assert "青岛市" not in blob


def test_a_phone_number_in_the_satisfaction_column_is_no_score() -> None:
    """Found by the fuzz test: an all-number 满意度 column was read as scores, phone included."""
    raw = pd.DataFrame({
        "受理时间": ["2024-11-20 08:30:00", "2024-11-21 08:30:00"],
        "区(市)": ["市南区"] * 2,
        "诉求分类二级": ["供暖"] * 2,
        "满意度": ["13912345678", "4"],
    })
    records, report = read_records(raw, preset="qd12345")
    assert records["satisfied"].tolist() == [pd.NA, 4.0]
    assert report.warnings["unrecognised_satisfaction"] == 1
