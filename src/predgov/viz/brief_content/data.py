"""The data section: what was read, what was rejected and why."""

from __future__ import annotations

import json

import pandas as pd

from predgov.data.suppress import complementary_mask
from predgov.viz.brief_content._run import (
    WITHHELD,
    Run,
    _date,
    _small,
    _source,
    count_text,
    fmt_int,
)
from predgov.viz.brief_model import Bi, Section


def data_section(run: Run, date: str) -> Section | Bi:
    """What the data are: source, period, rows accepted/rejected, series and coverage."""
    report_path = run.file("ingest_report.json")
    cube = run.cube()
    if report_path is None and cube is None:
        return Bi("数据：无 ingest_report.json 与 cube.nc",
                  "data: no ingest_report.json or cube.nc")
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path else {}
    sec = Section("data", Bi("数据", "The data"))
    files = []
    if report_path is not None:
        files.append("ingest_report.json")
        source = str(report.get("source", "?"))
        if "rows_read" in report:
            reasons = {k: int(v) for k, v in report.get("rejected_by_reason", {}).items() if v}
            reason_text = _reasons(reasons, run.min_count)
            sec.paragraphs.append(Bi(
                f"来源文件 {source}（预设 {report.get('preset') or '无'}）：读入 "
                f"{fmt_int(report['rows_read'])} 行，接受 {fmt_int(report['rows_accepted'])} 行，"
                f"拒收 {fmt_int(report['rows_rejected'])} 行{reason_text.zh}",
                f"Source file {source} (preset {report.get('preset') or 'none'}): "
                f"{fmt_int(report['rows_read'])} rows read, {fmt_int(report['rows_accepted'])} "
                f"accepted, {fmt_int(report['rows_rejected'])} rejected{reason_text.en}.",
            ))  # fmt: skip
            scrubbed = int(report.get("warnings", {}).get("scrubbed_personal_text", 0))
            dropped = len(report.get("dropped_columns", []))
            sec.paragraphs.append(Bi(
                f"个人信息：删除 {dropped} 个个人信息列；{count_text(scrubbed, run.min_count)} "
                "行的文字字段中清除了电话、证件号、邮箱或姓名。",
                f"Personal data: {dropped} personal columns dropped; phone numbers, ID numbers, "
                f"e-mail addresses or names removed from text fields of "
                f"{count_text(scrubbed, run.min_count)} rows.",
            ))  # fmt: skip
        else:
            note = str(report.get("note", ""))
            synthetic = "synthetic" in f"{source} {note}".lower()
            sec.paragraphs.append(Bi(
                f"来源：{source}。" + ("合成数据，非真实 12345 工单，计数直接生成为数据立方。"
                                      if synthetic else note),
                f"Source: {source}." + (f" {note[:1].upper()}{note[1:]}." if note else ""),
            ))  # fmt: skip
    if cube is not None:
        files.append("cube.nc")
        counts = cube["counts"]
        n_d = cube.sizes.get("district", 1)
        n_c = cube.sizes.get("category", 1)
        total = float(counts.sum(skipna=True))
        observed = float(counts.notnull().mean()) if counts.size else 0.0
        freq = str(cube.attrs.get("freq", counts.attrs.get("freq", "D")))
        freq_bi = {"D": Bi("日", "daily"), "W-MON": Bi("周", "weekly"),
                   "MS": Bi("月", "monthly")}.get(freq, Bi(freq, freq))  # fmt: skip
        t0, t1 = _date(counts["time"].values[0]), _date(counts["time"].values[-1])
        sec.paragraphs.append(Bi(
            f"时段 {t0} 至 {t1}（按{freq_bi.zh}计）；{n_d} 个区（市）× {n_c} 类诉求 = "
            f"{n_d * n_c} 个序列，共 {count_text(total, run.min_count)} 件诉求；"
            f"{observed:.0%} 的序列-时段有观测（其余为数据未覆盖）。",
            f"Period {t0} to {t1} ({freq_bi.en}); {n_d} districts × {n_c} categories = "
            f"{n_d * n_c} series holding {count_text(total, run.min_count)} requests; "
            f"{observed:.0%} of series-periods observed (the rest not covered by the source).",
        ))  # fmt: skip
    sec.source = _source(files, date)
    return sec


_REASONS = {
    "unparseable_time": Bi("时间无法解析", "unparseable time"),
    "missing_time": Bi("缺时间", "missing time"),
    "missing_district": Bi("缺区（市）", "missing district"),
    "missing_category": Bi("缺分类", "missing category"),
    "duplicate_id": Bi("重复工单号", "duplicate id"),
    "duplicate_report": Bi("重复报告", "duplicate report"),
    "malformed_row": Bi("行格式错误", "malformed row"),
    "outside_study_period": Bi("超出研究时段", "outside study period"),
    "time_out_of_range": Bi("时间越界", "time out of range"),
}


def _reasons(reasons: dict[str, int], min_count: int) -> Bi:
    """``（其中 时间无法解析 30，…）``: rejection reasons, small ones and their complement
    withheld within the row (its total, rows rejected, is printed)."""
    if not reasons:
        return Bi("", "")
    frame = pd.DataFrame([reasons])
    hidden = complementary_mask(frame, min_count, lines="rows").iloc[0]
    order = sorted(reasons, key=lambda k: -reasons[k])
    parts = []
    for key in order:
        value = (f"<{min_count}" if _small(reasons[key], min_count) else WITHHELD) if hidden[
            key] else fmt_int(reasons[key])  # fmt: skip
        name = _REASONS.get(key, Bi(key, key.replace("_", " ")))
        parts.append((f"{name.zh} {value}", f"{name.en} {value}"))
    return Bi("（其中 " + "，".join(p[0] for p in parts) + "）",
              " (" + ", ".join(p[1] for p in parts) + ")")  # fmt: skip
