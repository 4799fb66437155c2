"""The early-warning section: the newest alerts."""

from __future__ import annotations

import pandas as pd

from predgov.viz.brief_content._run import (
    Run,
    _date,
    _source,
)
from predgov.viz.brief_model import Bi, Section

#: Severity words of predgov.warn.alerts.
SEVERITY = {"red": Bi("红色", "red"), "amber": Bi("橙色", "amber"), "yellow": Bi("黄色", "yellow")}


def warn_section(run: Run, date: str) -> Section | Bi:
    """What the early warning says now: alerts that started in the last ``alerts_days`` days."""
    path = run.file("warn/alerts.csv")
    if path is None:
        return Bi("预警：本次运行无 warn/alerts.csv", "warning: no warn/alerts.csv")
    table = pd.read_csv(path, dtype={"suppressed": str}, keep_default_na=True)
    for col in ("start", "end"):
        table[col] = pd.to_datetime(table[col])
    last = run.last_day()
    if last is None:
        last = table["end"].max() if len(table) else None
    sec = Section("warn", Bi("预警：当前态势", "Early warning: what it says now"))
    sec.source = _source(["warn/alerts.csv"] + (["cube.nc"] if run.cube() is not None else []),
                         date)  # fmt: skip
    if last is None or pd.isna(last):
        sec.paragraphs.append(Bi("预警表为空。", "The alert table is empty."))
        return sec
    first = last - pd.Timedelta(days=run.alerts_days - 1)
    recent = table[table["start"] >= first].copy()
    order = {s: i for i, s in enumerate(SEVERITY)}
    recent["_sev"] = recent["severity"].map(order).fillna(len(order))
    recent = recent.sort_values(["_sev", "start", "n_alarms"], ascending=[True, False, False])
    window_zh = f"近 {run.alerts_days} 天（{_date(first)} 至 {_date(last)}）"
    window_en = f"the last {run.alerts_days} days ({_date(first)} to {_date(last)})"
    if recent.empty:
        before = table[table["start"] < first]
        latest = _date(before["start"].max()) if len(before) else None
        sec.paragraphs.append(Bi(
            f"{window_zh}没有新预警。" + (f"最近一次始于 {latest}。" if latest else ""),
            f"No alert started in {window_en}."
            + (f" The latest started on {latest}." if latest else ""),
        ))  # fmt: skip
        return sec
    counts = recent["severity"].value_counts()
    sev_zh = "，".join(f"{SEVERITY[s].zh} {int(counts[s])}" for s in SEVERITY if s in counts)
    sev_en = ", ".join(f"{int(counts[s])} {SEVERITY[s].en}" for s in SEVERITY if s in counts)
    ongoing = int((recent["end"] >= last).sum())
    n_series = recent[["district", "category"]].drop_duplicates().shape[0] if {
        "district", "category"} <= set(recent.columns) else len(recent)  # fmt: skip
    sec.paragraphs.append(Bi(
        f"{window_zh}新出现 {len(recent)} 条预警，涉及 {n_series} 个序列（{sev_zh}）；"
        f"其中 {ongoing} 条到 {_date(last)} 仍在持续。",
        f"{len(recent)} alerts started in {window_en}, in {n_series} series ({sev_en}); "
        f"{ongoing} still running on {_date(last)}.",
    ))  # fmt: skip
    for _, row in recent.head(run.max_rows).iterrows():
        sev = SEVERITY.get(str(row["severity"]), Bi(str(row["severity"]), str(row["severity"])))
        span = _date(row["start"]) if row["start"] == row["end"] else (
            f"{_date(row['start'])}–{_date(row['end'])}")  # fmt: skip
        sec.bullets.append(Bi(f"【{sev.zh}】{span}：{row['explanation_zh']}",
                              f"[{sev.en}] {span}: {row['explanation_en']}"))
    sec.bullets_total, sec.bullets_where = len(recent), "warn/alerts.csv"
    return sec
