"""What the brief says: one builder per section, reading only files of a run directory.

Each builder returns a :class:`~predgov.viz.brief_model.Section`, or a one-line reason (a
:class:`~predgov.viz.brief_model.Bi`) when the run has no output for it. Every count shown goes
through :mod:`predgov.data.suppress` with the run's ``viz.min_count``: counts of 1 to
``min_count - 1`` read ``<5``, a second cell of a table column holding one such cell is withheld
too (complementary suppression), and what is derived from a withheld count (a change in %, a
cost per call) is withheld with it. Cells the run's own CSV files already withheld (named in
their ``suppressed`` column) read ``*``.

Files read (all optional except ``config.yaml``):

========================= ==================================================================
section                   files
========================= ==================================================================
data                      ``ingest_report.json``, ``cube.nc``
forecast                  ``forecast/forecast.nc``, ``cube.nc``
warn                      ``warn/alerts.csv``, ``cube.nc`` (its last day is "now")
target                    ``target/treatment_table.csv``, ``target/treatment_list.nc``
sim                       ``sim/effects.csv``, ``sim/experiment.nc`` (attributes only)
impact                    ``impact/impact.nc``, ``impact/figures/impact.png``
========================= ==================================================================
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr

from predgov.data.suppress import MIN_COUNT, complementary_mask, small_cell_mask
from predgov.viz.brief_model import Bi, Caution, Figure, Section, Table
from predgov.viz.policy_figures import POLICY_LABELS

#: Quantiles of the forecast band shown (the nearest stored ones are used).
BAND = (0.1, 0.9)
#: Most categories and districts in the forecast heatmap.
HEATMAP_CATEGORIES = 8
HEATMAP_DISTRICTS = 12
#: Mark for a cell the run's own CSV withheld (small count or its complement).
WITHHELD = "*"
#: Severity words of predgov.warn.alerts.
SEVERITY = {"red": Bi("红色", "red"), "amber": Bi("橙色", "amber"), "yellow": Bi("黄色", "yellow")}
#: Figure resolution (PNG inside the PDF and HTML).
DPI = 200
#: Tallest figure taken from the run directory, in mm (the page fitting may shrink it).
MAX_FIGURE_MM = 115.0


# --------------------------------------------------------------------------- the run


@dataclass
class Run:
    """A run directory and what every section needs from it."""

    path: Path
    config: dict[str, Any]
    min_count: int
    lang: str
    max_rows: int
    alerts_days: int
    _cube: xr.Dataset | None = None

    def file(self, relative: str) -> Path | None:
        """The file if the run holds it."""
        path = self.path / relative
        return path if path.is_file() else None

    def cube(self) -> xr.Dataset | None:
        """``cube.nc`` (loaded once), or None."""
        if self._cube is None and self.file("cube.nc") is not None:
            with xr.open_dataset(self.path / "cube.nc") as ds:
                self._cube = ds[["counts"]].load()
                self._cube.attrs = dict(ds.attrs)
        return self._cube

    def last_day(self) -> pd.Timestamp | None:
        """The data's last period: the cube's last time stamp."""
        cube = self.cube()
        if cube is None or cube.sizes.get("time", 0) == 0:
            return None
        return pd.Timestamp(cube["time"].values[-1])

    def category(self, codes: str) -> Bi:
        """Category codes (``heating`` or ``heating,gas``) in words, from the cube's labels."""
        cube = self.cube()
        labels = _labels(cube, "category") if cube is not None and "category" in cube.dims else {}
        parts = [labels.get(c.strip(), Bi(c.strip(), c.strip())) for c in str(codes).split(",")]
        return Bi("、".join(p.zh for p in parts), ", ".join(p.en for p in parts))


def fmt_int(value: float) -> str:
    """A number with thousands separators, no decimals.

    Examples
    --------
    >>> fmt_int(1837901.4), fmt_int(-3.6)
    ('1,837,901', '-4')
    """
    return f"{value:,.0f}"


def _pct(value: float) -> str:
    return "–" if not math.isfinite(value) else f"{value:+.0%}".replace("+0%", "0%")


def _small(value: float, min_count: int) -> bool:
    return bool(small_cell_mask(pd.Series([float(value)]), min_count).iloc[0])


def count_text(value: float, min_count: int) -> str:
    """A count for print: ``<5`` when small (suppressed), ``–`` when missing.

    Examples
    --------
    >>> count_text(3, 5), count_text(0, 5), count_text(1250.4, 5), count_text(float("nan"), 5)
    ('<5', '0', '1,250', '–')
    """
    if value is None or not math.isfinite(float(value)):
        return "–"
    return f"<{min_count}" if _small(value, min_count) else fmt_int(value)


def _date(value: Any) -> str:
    return str(pd.Timestamp(value).date())


def _png(fig: plt.Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _source(files: list[str], date: str, extra: str = "") -> Bi:
    listed = ", ".join(files)
    more = f" ({extra})" if extra else ""
    return Bi(f"来源：{listed}{more} · {date}", f"Source: {listed}{more} · {date}")


def _labels(ds: xr.Dataset | xr.DataArray, dim: str) -> dict[str, Bi]:
    """``{code: Bi(zh, en)}`` for the district or category coordinate."""
    codes = [str(c) for c in ds[dim].values]
    if dim == "category":
        zh = ds["label_zh"].values if "label_zh" in ds.coords else codes
        en = ds["label_en"].values if "label_en" in ds.coords else codes
    else:
        zh = codes
        en = ds["district_label_en"].values if "district_label_en" in ds.coords else codes
    return {c: Bi(str(z), str(e)) for c, z, e in zip(codes, zh, en, strict=True)}


# --------------------------------------------------------------------------- data


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


# --------------------------------------------------------------------------- forecast


def _band_quantiles(q: xr.DataArray) -> tuple[float, float]:
    levels = np.asarray(q["quantile"].values, dtype=float)
    lo = float(levels[np.argmin(np.abs(levels - BAND[0]))])
    hi = float(levels[np.argmin(np.abs(levels - BAND[1]))])
    return lo, hi


def forecast_section(run: Run, date: str) -> Section | Bi:
    """Where and when volumes come next: change by district × category, top rising series."""
    path = run.file("forecast/forecast.nc")
    if path is None:
        return Bi("预测：本次运行无 forecast/forecast.nc", "forecast: no forecast/forecast.nc")
    cube = run.cube()
    with xr.open_dataset(path) as ds:
        fc = ds.load()
    mean = fc["mean"]
    t0, t1 = pd.Timestamp(mean["time"].values[0]), pd.Timestamp(mean["time"].values[-1])
    freq = str(fc.attrs.get("freq", "D"))
    total = mean.sum("time")
    lo_q, hi_q = _band_quantiles(fc["quantiles"])
    lo = fc["quantiles"].sel(quantile=lo_q).sum("time")
    hi = fc["quantiles"].sel(quantile=hi_q).sum("time")
    ref, ref_label, ref_window = _reference(cube, t0, t1, mean.sizes["time"], freq)
    sec = Section("forecast", Bi("下一季：何处、何时来电",
                                 "Next season: where and when calls come"))
    m = run.min_count
    files = ["forecast/forecast.nc"]
    frame = pd.DataFrame({
        "total": total.to_series(), "lo": lo.to_series(), "hi": hi.to_series(),
    })  # fmt: skip
    if ref is not None:
        files.append("cube.nc")
        frame["ref"] = ref.to_series().reindex(frame.index)
    else:
        frame["ref"] = np.nan
    # A series is withheld when its reference count or its forecast total is small.
    withheld = small_cell_mask(frame["ref"], m) | small_cell_mask(frame["total"], m)
    frame["change"] = (frame["total"] - frame["ref"]) / frame["ref"].where(frame["ref"] > 0)
    frame.loc[withheld, "change"] = np.nan
    frame["withheld"] = withheld
    city = float(frame["total"].sum())
    city_ref = float(frame["ref"].sum(min_count=1)) if ref is not None else float("nan")
    horizon_zh = f"{_date(t0)} 至 {_date(t1)}"
    horizon_en = f"{_date(t0)} to {_date(t1)}"
    if math.isfinite(city_ref) and city_ref > 0:
        change = (city - city_ref) / city_ref
        sec.paragraphs.append(Bi(
            f"预测期 {horizon_zh}：全市预计 {count_text(city, m)} 件诉求，比{ref_label.zh}"
            f"（{ref_window}，{count_text(city_ref, m)} 件）{_pct_zh(change)}。",
            f"Forecast for {horizon_en}: {count_text(city, m)} requests expected city-wide, "
            f"{_pct_en(change)} the {'same window ' if ref_label.en == 'last year' else ''}"
            f"{ref_label.en} ({ref_window}: {count_text(city_ref, m)}).",
        ))  # fmt: skip
    else:
        sec.paragraphs.append(Bi(
            f"预测期 {horizon_zh}：全市预计 {count_text(city, m)} 件诉求（无可比的历史时段）。",
            f"Forecast for {horizon_en}: {count_text(city, m)} requests expected city-wide "
            "(no comparable past window in the data).",
        ))  # fmt: skip
    d_labels = _labels(fc, "district")
    c_labels = _labels(fc, "category")
    rising = frame[(~frame["withheld"]) & (frame["ref"] >= m) & (frame["total"] > frame["ref"])]
    rising = rising.assign(increase=rising["total"] - rising["ref"]).sort_values(
        ["increase", "total"], ascending=False)
    if len(rising):
        top = rising.head(3)
        names = [(d_labels[str(d)], c_labels[str(c)]) for d, c in top.index]
        sec.paragraphs.append(Bi(
            "增幅最大：" + "、".join(f"{d.zh}{c.zh}（{_pct(r)}）" for (d, c), r in
                                    zip(names, top["change"], strict=True)) + "。",
            "Rising most: " + "; ".join(f"{d.en} {c.en} ({_pct(r)})" for (d, c), r in
                                        zip(names, top["change"], strict=True)) + ".",
        ))  # fmt: skip
    # A map of one row or one column says no more than the table below it.
    if ref is not None and min(fc.sizes.get("district", 1), fc.sizes.get("category", 1)) > 1:
        sec.figures.append(_forecast_heatmap(frame, fc, d_labels, c_labels, run, ref_label))
    peak = _peak_periods(mean, freq)
    header = [Bi("区（市）", "District"), Bi("类别", "Category"),
              Bi("预测总量", "Expected"), Bi(f"{lo_q:.0%}–{hi_q:.0%} 区间",
                                            f"{lo_q:.0%}–{hi_q:.0%} band"),
              Bi(ref_label.zh, ref_label.en[:1].upper() + ref_label.en[1:]), Bi("变化", "Change"),
              Bi("高峰" + {"D": "周", "W-MON": "周", "MS": "月"}.get(freq, "期"),
                 "Peak " + {"D": "week", "W-MON": "week", "MS": "month"}.get(freq, "period"))]
    rows: list[list[str | Bi]] = []
    for (d, c), row in rising.head(run.max_rows).iterrows():
        rows.append([d_labels[str(d)], c_labels[str(c)], count_text(row["total"], m),
                     f"{count_text(row['lo'], m)}–{count_text(row['hi'], m)}",
                     count_text(row["ref"], m), _pct(row["change"]), peak[(d, c)]])
    if rows:
        sec.tables.append(Table(header, rows, ["L", "L", "R", "R", "R", "R", "L"],
                                [1.6, 1.9, 0.8, 1.1, 0.9, 0.6, 1.0], len(rising),
                                "forecast/forecast.nc"))  # fmt: skip
    else:
        sec.paragraphs.append(Bi("没有序列预计高于参照时段。",
                                 "No series is expected above its reference window."))
    sec.notes.append(Bi(
        f"区间为逐{'日' if freq == 'D' else '期'}分位数之和（偏宽的保守区间）；"
        f"参照或预测量为 1–{m - 1} 的序列不列出，其变化以 <{m} 标出。",
        f"Band: sum of the per-period {lo_q:.0%} and {hi_q:.0%} quantiles (conservative: wider "
        f"than the band of the total). Series whose reference or forecast total is 1–{m - 1} "
        f"are not listed; their change shows as <{m}.",
    ))  # fmt: skip
    model = str(fc.attrs.get("model", "?"))
    origin = str(fc.attrs.get("fit_origin", ""))[:10]
    sec.source = _source(files, date, f"model {model}, fit origin {origin}")
    return sec


def _pct_zh(change: float) -> str:
    if not math.isfinite(change):
        return "无法比较"
    return f"增加 {change:.1%}" if change >= 0 else f"减少 {-change:.1%}"


def _pct_en(change: float) -> str:
    if not math.isfinite(change):
        return "not comparable with"
    return f"{change:.1%} above" if change >= 0 else f"{-change:.1%} below"


def _reference(cube: xr.Dataset | None, t0: pd.Timestamp, t1: pd.Timestamp, n: int, freq: str,
               ) -> tuple[xr.DataArray | None, Bi, str]:
    """Counts per series over the same window a year earlier, else the last ``n`` periods."""
    if cube is None:
        return None, Bi("", ""), ""
    counts = cube["counts"]
    times = pd.DatetimeIndex(counts["time"].values)
    y0, y1 = t0 - pd.DateOffset(years=1), t1 - pd.DateOffset(years=1)
    if times[0] <= y0 and times[-1] >= y1:
        ref = counts.sel(time=slice(y0, y1)).sum("time", min_count=1)
        return ref, Bi("去年同期", "last year"), f"{_date(y0)}–{_date(y1)}"
    window = counts.isel(time=slice(max(0, len(times) - n), None))
    w0, w1 = _date(window["time"].values[0]), _date(window["time"].values[-1])
    unit = {"D": ("天", "days"), "W-MON": ("周", "weeks"), "MS": ("月", "months")}.get(
        freq, ("期", "periods"))
    k = window.sizes["time"]
    return (window.sum("time", min_count=1), Bi(f"此前{k}{unit[0]}", f"previous {k} {unit[1]}"),
            f"{w0}–{w1}")  # fmt: skip


def _peak_periods(mean: xr.DataArray, freq: str) -> dict[tuple[str, str], str]:
    """Start date of the week (or month) with the most expected requests, per series."""
    series = mean
    if freq == "D":
        series = mean.resample(time="W-MON", label="left", closed="left").sum()
    idx = series.argmax("time")
    starts = series["time"].values[idx.values]
    out = {}
    for i, d in enumerate(series["district"].values):
        for j, c in enumerate(series["category"].values):
            out[(str(d), str(c))] = _date(starts[i, j]) if freq != "MS" else _date(
                starts[i, j])[:7]
    return out


def _forecast_heatmap(frame: pd.DataFrame, fc: xr.Dataset, d_labels: dict[str, Bi],
                      c_labels: dict[str, Bi], run: Run, ref_label: Bi) -> Figure:
    """District × category heatmap of the change against the reference window."""
    from predgov.viz.style import briefing_style, wrap_label

    lang = run.lang
    totals = frame["total"].groupby(level=1).sum().sort_values(ascending=False)
    cats = [str(c) for c in totals.index[:HEATMAP_CATEGORIES]]
    dtot = frame["total"].groupby(level=0).sum().sort_values(ascending=False)
    dists = [str(d) for d in fc["district"].values if str(d) in set(
        map(str, dtot.index[:HEATMAP_DISTRICTS]))]  # fmt: skip
    change = np.full((len(dists), len(cats)), np.nan)
    hidden = np.zeros_like(change, dtype=bool)
    for i, d in enumerate(dists):
        for j, c in enumerate(cats):
            row = frame.loc[(d, c)]
            change[i, j] = row["change"]
            hidden[i, j] = bool(row["withheld"])
    short = "zh" if lang != "en" else "en"
    width_mm, height_mm = 186.0, 16.0 + 4.4 * len(dists)
    with briefing_style():
        fig, ax = plt.subplots(figsize=(width_mm / 25.4, height_mm / 25.4), layout="constrained")
        limit = max(0.1, min(1.0, float(np.nanmax(np.abs(change))) if np.isfinite(
            change).any() else 0.1))  # fmt: skip
        shown = np.where(hidden, np.nan, change)
        im = ax.imshow(shown, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        ax.set_facecolor("#EEEEEE")
        for i in range(len(dists)):
            for j in range(len(cats)):
                value = change[i, j]
                text = f"<{run.min_count}" if hidden[i, j] else _pct(value)
                dark = np.isfinite(shown[i, j]) and abs(shown[i, j]) > 0.6 * limit
                ax.text(j, i, text, ha="center", va="center", fontsize=7,
                        color="white" if dark else "#222222")
        ax.set_xticks(range(len(cats)), [wrap_label(c_labels[c].pick(short), 12) for c in cats],
                      fontsize=7)
        ax.set_yticks(range(len(dists)), [d_labels[d].pick(lang if lang != "both" else "zh")
                                          for d in dists], fontsize=7)  # fmt: skip
        ax.tick_params(length=0)
        ax.grid(False)
        ax.xaxis.tick_top()
        for spine in ax.spines.values():
            spine.set_visible(False)
        bar = fig.colorbar(im, ax=ax, shrink=0.9, pad=0.01, format=lambda v, _: _pct(v))
        bar.ax.tick_params(labelsize=7)
        bar.set_label(Bi(f"比{ref_label.zh}", f"vs {ref_label.en}").pick(lang, "\n"), fontsize=7)
        png = _png(fig)
    return Figure(png, width_mm, height_mm,
                  Bi(f"各区（市）× 类别：预测总量比{ref_label.zh}的变化",
                     f"Change of the expected total vs {ref_label.en}, district × category"))


# --------------------------------------------------------------------------- warn


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


# --------------------------------------------------------------------------- target


def _expected_from_zh(text: str) -> str:
    """Chinese wording of the target stage's ``expected_from`` attribute (written in English by
    :func:`predgov.target.treatment_list`); unknown text is returned as it is.

    Examples
    --------
    >>> _expected_from_zh("forecast nb_glm (fit origin 2024-12-31T00:00:00)")
    '预测（模型 nb_glm，拟合截至 2024-12-31）'
    >>> _expected_from_zh("history, raw (persistence: next season as the last)")
    '历史来电（未收缩：下一季按上一季）'
    """
    m = re.fullmatch(r"forecast (.+) \(fit origin ([0-9-]{10})[^)]*\)", text)
    if m:
        return f"预测（模型 {m.group(1)}，拟合截至 {m.group(2)}）"
    if text.startswith("history, empirical-Bayes"):
        return "历史来电，经验贝叶斯收缩（伽马-泊松，矩估计）"
    if text.startswith("history, raw"):
        return "历史来电（未收缩：下一季按上一季）"
    return text


def _efficacy_zh(text: str) -> str:
    """Chinese wording of the target stage's ``efficacy`` attribute.

    Examples
    --------
    >>> _efficacy_zh("0.3 for every unit"), _efficacy_zh("per unit, 0.2..0.4")
    ('各单位均为 0.3', '按单位 0.2..0.4')
    """
    m = re.fullmatch(r"(\S+) for every unit", text)
    if m:
        return f"各单位均为 {m.group(1)}"
    m = re.fullmatch(r"per unit, (\S+)", text)
    return f"按单位 {m.group(1)}" if m else text


def target_section(run: Run, date: str) -> Section | Bi:
    """The off-season treatment list: top units, expected calls averted, cost."""
    path = run.file("target/treatment_table.csv")
    if path is None:
        return Bi("淡季治理清单：本次运行无 target/（target.enabled=false）",
                  "treatment list: no target/ in this run (target.enabled=false)")
    table = pd.read_csv(path, dtype={"suppressed": str}).fillna({"suppressed": ""})
    attrs: dict[str, Any] = {}
    if run.file("target/treatment_list.nc") is not None:
        with xr.open_dataset(run.path / "target/treatment_list.nc") as ds:
            attrs = dict(ds.attrs)
    unit = str(attrs.get("unit", table.columns[0]))
    m = run.min_count
    counts = [c for c in ("history_calls", "expected_calls", "calls_averted",
                          "calls_averted_low", "calls_averted_high") if c in table.columns]
    # Our own rule on top of the stage's: expected values of 1..4 calls are printed as <5 too,
    # and a second cell of a column holding one such cell is withheld (the totals are printed).
    hidden = complementary_mask(table[counts].astype(float), m, lines="columns")
    csv_hidden = table["suppressed"].str.split(";")
    cost_units = str(attrs.get("cost_units", ""))
    # the config's default label is English; a user's own units (CNY, 元) print as given
    units_zh = "成本单位" if cost_units == "cost units" else cost_units
    sec = Section("target", Bi("淡季治理清单（冬病夏治）", "Off-season treatment list"))
    category = run.category(str(attrs.get("category", "")))
    window = str(attrs.get("target_window", ""))
    budget = attrs.get("budget")
    n_in = int(attrs.get("n_within_budget", table.get("within_budget", pd.Series()).sum()))
    total_cost = float(attrs.get("total_cost", np.nan))
    averted = float(attrs.get("total_calls_averted", np.nan))
    funded_hidden = bool(hidden.loc[table.get("within_budget", False) == True, "calls_averted"]  # noqa: E712
                         .any()) if "calls_averted" in hidden else False  # fmt: skip
    averted_text = WITHHELD if funded_hidden and n_in == 1 else count_text(averted, m)
    if budget is not None and math.isfinite(float(budget)):
        sec.paragraphs.append(Bi(
            f"类别 {category.zh}，目标时段 {window}：预算 {fmt_int(float(budget))} {units_zh} "
            f"可覆盖 {len(table)} 个单位中的前 {n_in} 个（花费 {fmt_int(total_cost)} "
            f"{units_zh}），预计减少约 {averted_text} 件来电。",
            f"Category {category.en}, target window {window}: a budget of "
            f"{fmt_int(float(budget))} {cost_units} funds the first {n_in} of {len(table)} "
            f"units (cost {fmt_int(total_cost)} {cost_units}), expected to avert about "
            f"{averted_text} calls.",
        ))  # fmt: skip
    eff_source = str(attrs.get("efficacy_source", ""))
    if eff_source:
        sec.notes.append(Bi(
            f"假定效果 {_efficacy_zh(str(attrs.get('efficacy', '')))}（来源：{eff_source}）；"
            f"预期来电依据：{_expected_from_zh(str(attrs.get('expected_from', '')))}。",
            f"Assumed efficacy {attrs.get('efficacy', '')} (source: {eff_source}); expected "
            f"calls from: {attrs.get('expected_from', '')}.",
        ))  # fmt: skip
    en_col = f"{unit}_label_en" if f"{unit}_label_en" in table.columns else None

    def cell(i: int, col: str) -> str:
        if col in csv_hidden.iloc[i]:
            return WITHHELD
        value = float(table[col].iloc[i])
        if hidden[col].iloc[i]:
            return f"<{m}" if _small(value, m) else WITHHELD
        return count_text(value, m)

    header = [Bi("序", "#"), Bi("单位", "Unit"), Bi("上季来电", "Last season"),
              Bi("预期来电", "Expected"), Bi("可减少（区间）", "Averted (band)"),
              Bi(f"成本 {units_zh}", f"Cost {cost_units}"),
              Bi("累计成本", "Cumulative"), Bi("预算内", "In budget")]
    rows: list[list[str | Bi]] = []
    for i in range(min(run.max_rows, len(table))):
        name = str(table[unit].iloc[i])
        label: str | Bi = Bi(name, str(table[en_col].iloc[i])) if en_col else name
        within = bool(table["within_budget"].iloc[i]) if "within_budget" in table else False
        rows.append([
            str(table["rank"].iloc[i]) if "rank" in table else str(i + 1), label,
            cell(i, "history_calls") if "history_calls" in table else "–",
            cell(i, "expected_calls") if "expected_calls" in table else "–",
            f"{cell(i, 'calls_averted')} ({cell(i, 'calls_averted_low')}–"
            f"{cell(i, 'calls_averted_high')})" if "calls_averted_low" in table else
            cell(i, "calls_averted"),
            fmt_int(float(table["cost"].iloc[i])) if "cost" in table else "–",
            fmt_int(float(table["cumulative_cost"].iloc[i])) if "cumulative_cost" in table else "–",
            Bi("是", "yes") if within else Bi("否", "no"),
        ])  # fmt: skip
    sec.tables.append(Table(header, rows, ["R", "L", "R", "R", "R", "R", "R", "L"],
                            [0.35, 1.6, 0.9, 0.9, 1.3, 1.1, 1.1, 0.7], len(table),
                            "target/treatment_table.csv"))  # fmt: skip
    sec.source = _source(["target/treatment_table.csv", "target/treatment_list.nc"], date)
    return sec


# --------------------------------------------------------------------------- sim


def sim_section(run: Run, date: str) -> Section | Bi:
    """What simulated preemptive work buys: calls averted with bands per policy and budget."""
    path = run.file("sim/effects.csv")
    if path is None:
        if run.file("sim/season_by_category.csv") is not None:
            return Bi("政策模拟：本次只模拟了被动处置的一季（sim/season_by_category.csv），"
                      "未比较先办政策（见 +experiment=heating_prep）",
                      "simulation: this run simulated one reactive season only "
                      "(sim/season_by_category.csv), no preemptive policy compared "
                      "(see +experiment=heating_prep)")  # fmt: skip
        return Bi("政策模拟：本次运行无 sim/effects.csv", "simulation: no sim/effects.csv")
    eff = pd.read_csv(path, comment="#")
    attrs: dict[str, Any] = {}
    if run.file("sim/experiment.nc") is not None:
        with xr.open_dataset(run.path / "sim/experiment.nc") as ds:
            attrs = dict(ds.attrs)
    m = run.min_count
    sec = Section("sim", Bi("模拟：先办能换来什么", "Simulation: what preemptive work buys"))
    window = str(attrs.get("window", "")) or _effects_window(path)
    scale = attrs.get("scale")
    scale_zh = f"按全市户数的 1/{round(1 / float(scale)):,} 模拟" if scale else "模拟城市"
    scale_en = f"1/{round(1 / float(scale)):,} of the households" if scale else "simulated city"
    interventions = _interventions(attrs)
    counts = ["calls_averted_median", "calls_averted_p10", "calls_averted_p90"]
    hidden = small_cell_mask(eff[counts].astype(float), m)
    row_hidden = hidden.any(axis=1)
    best = eff[(eff["policy"] != "oracle") & ~row_hidden]
    if len(best):
        top_budget = best["budget"].max()
        at = best[best["budget"] == top_budget].sort_values("calls_averted_median").iloc[-1]
        oracle = eff[(eff["policy"] == "oracle") & (eff["budget"] == top_budget) & ~row_hidden]
        upper = fmt_int(oracle["calls_averted_median"].iloc[0]) if len(oracle) else ""
        orc = f"；全知上限为 {upper} 件" if upper else ""
        orc_en = f"; the oracle upper bound averts {upper}" if upper else ""
        name = POLICY_LABELS.get(str(at["policy"]), (str(at["policy"]),) * 2)
        sec.paragraphs.append(Bi(
            f"{interventions.zh}，评估期 {window}（{scale_zh}，{int(at['seeds'])} 个随机种子，"
            f"与同种子的被动处置城市配对比较）。预算 {fmt_int(top_budget)} 时，"
            f"{name[0]}策略减少 {fmt_int(at['calls_averted_median'])} 件来电"
            f"（10–90%：{fmt_int(at['calls_averted_p10'])}–{fmt_int(at['calls_averted_p90'])}），"
            f"每减少一件成本 {fmt_int(at['cost_per_averted_call'])}{orc}。",
            f"{interventions.en}, evaluated over {window} ({scale_en}, {int(at['seeds'])} seeds, "
            f"paired with the reactive city of the same seed). At a budget of "
            f"{fmt_int(top_budget)}, {name[1]} averts {fmt_int(at['calls_averted_median'])} calls "
            f"(10–90 %: {fmt_int(at['calls_averted_p10'])}–{fmt_int(at['calls_averted_p90'])}) "
            f"at {fmt_int(at['cost_per_averted_call'])} per averted call{orc_en}.",
        ))  # fmt: skip
    header = [Bi("策略", "Policy"), Bi("预算", "Budget"), Bi("减少来电（中位数）", "Calls averted"),
              Bi("10–90% 区间", "10–90 % band"), Bi("每件成本", "Cost per call"),
              Bi("95% 置信区间", "95 % CI")]
    rows: list[list[str | Bi]] = []
    for i, row in eff.head(run.max_rows).iterrows():
        zh, en = POLICY_LABELS.get(str(row["policy"]), (str(row["policy"]),) * 2)

        def c(col: str, i: int = i, row: pd.Series = row) -> str:
            return f"<{m}" if hidden[col].loc[i] else fmt_int(row[col])

        cost_hidden = row_hidden.loc[i]
        rows.append([
            Bi(zh, en), fmt_int(row["budget"]), c("calls_averted_median"),
            f"{c('calls_averted_p10')}–{c('calls_averted_p90')}",
            WITHHELD if cost_hidden else _money(row["cost_per_averted_call"]),
            WITHHELD if cost_hidden else (f"{_money(row['cost_per_averted_call_ci_lo'])}–"
                                          f"{_money(row['cost_per_averted_call_ci_hi'])}"),
        ])  # fmt: skip
    if eff["budget"].nunique() > 1 and (~row_hidden).any():
        sec.figures.append(_sim_figure(eff[~row_hidden], run))
    sec.tables.append(Table(header, rows, ["L", "R", "R", "R", "R", "R"],
                            [1.6, 1.0, 1.1, 1.0, 1.0, 1.3], len(eff), "sim/effects.csv"))
    oracle_run = bool((eff["policy"] == "oracle").any())
    sec.notes.append(Bi(
        "模拟数据，非真实工单；"
        + ("全知上限读取模型内部状态，只作上界参照；" if oracle_run else "")
        + f"来电数为模拟规模下的数量，1–{m - 1} 件以 <{m} 标出。",
        "Simulated, not real records; " + ("the oracle reads the model's hidden state and is an "
                                           "upper bound only; " if oracle_run else "")
        + f"calls are at the simulation's scale; 1–{m - 1} shows as <{m}.",
    ))  # fmt: skip
    # The date of these numbers: the end of the simulated window they cover.
    sim_date = window.split("..")[-1] if ".." in window else date
    sec.source = _source(["sim/effects.csv"] + (["sim/experiment.nc"] if attrs else []),
                         sim_date)  # fmt: skip
    return sec


def _effects_window(path: Path) -> str:
    """The evaluation window named in effects.csv's comment line ("effects over A..B")."""
    with open(path, encoding="utf-8") as fh:
        first = fh.readline()
    found = re.search(r"over (\d{4}-\d{2}-\d{2}\.\.\d{4}-\d{2}-\d{2})", first)
    return found.group(1) if found else "?"


def _sim_figure(eff: pd.DataFrame, run: Run) -> Figure:
    """Calls averted (median, 10–90 % band over seeds) against the budget, one line per policy.

    Only rows with no withheld cell are passed in, so no small count is drawn.
    """
    from predgov.viz.style import OKABE_ITO, briefing_style

    lang = run.lang
    width_mm, height_mm = 150.0, 52.0
    with briefing_style():
        fig, ax = plt.subplots(figsize=(width_mm / 25.4, height_mm / 25.4), layout="constrained")
        for k, (policy, part) in enumerate(eff.groupby("policy", sort=False)):
            part = part.sort_values("budget")
            zh, en = POLICY_LABELS.get(str(policy), (str(policy),) * 2)
            color = "#555555" if policy == "oracle" else OKABE_ITO[k % len(OKABE_ITO)]
            style = "--" if policy == "oracle" else "-"
            ax.fill_between(part["budget"], part["calls_averted_p10"], part["calls_averted_p90"],
                            color=color, alpha=0.15, linewidth=0)
            ax.plot(part["budget"], part["calls_averted_median"], style, marker="o", ms=3,
                    color=color, lw=1.4, label=Bi(zh, en).pick(lang, " "))
        budgets = np.sort(eff["budget"].unique())
        ax.set_xticks(budgets, [fmt_int(b) for b in budgets], fontsize=7)
        ax.tick_params(labelsize=7)
        ax.set_xlabel(Bi("预算", "budget").pick(lang, " "), fontsize=7)
        ax.set_ylabel(Bi("减少来电", "calls averted").pick(lang, "\n"), fontsize=7)
        ax.axhline(0, color="#999999", lw=0.6)
        ax.legend(fontsize=6.5, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
        png = _png(fig)
    return Figure(png, width_mm, height_mm,
                  Bi("各策略减少的来电（中位数与 10–90% 区间）随预算",
                     "Calls averted per policy against the budget (median, 10–90 % band)"))


def _money(value: float) -> str:
    return "–" if not math.isfinite(float(value)) else fmt_int(value)


def _interventions(attrs: dict[str, Any]) -> Bi:
    try:
        spec = json.loads(str(attrs.get("interventions", "{}")))
    except json.JSONDecodeError:
        spec = {}
    if not spec:
        return Bi("先办措施", "Preemptive interventions")
    parts_zh, parts_en = [], []
    for name, item in spec.items():
        when = f"{item.get('start', '')}–{item.get('end') or ''}".strip("–")
        cost = item.get("unit_cost")
        # PipeFlushing targets estates but pays (and counts capacity) per household
        unit = "household" if item.get("kind") == "PipeFlushing" else item.get("unit", "unit")
        unit_zh = {"household": "户", "estate": "小区", "grid": "网格"}.get(unit, unit)
        parts_zh.append(f"{name}（{when}，每{unit_zh} {fmt_int(cost) if cost else '?'}）")
        parts_en.append(f"{name} ({when}, {fmt_int(cost) if cost else '?'} per {unit})")
    return Bi("措施：" + "，".join(parts_zh), "Intervention: " + ", ".join(parts_en))


# --------------------------------------------------------------------------- impact

#: Scalars of impact/impact.nc (predgov.impact stage).
IMPACT_VARS = ("total_effect", "total_effect_lo", "total_effect_hi", "naive_effect")


def impact_section(run: Run, date: str) -> Section | Bi:
    """What a past action prevented, with the naive year-on-year figure only as a caution.

    ``impact/impact.nc`` (``predgov.impact.estimate``) holds ``total_effect`` = observed minus
    counterfactual calls (negative: calls prevented) with its joint interval; the brief prints
    calls prevented, ``-total_effect``, with the interval turned round.
    """
    path = run.file("impact/impact.nc")
    if path is None:
        return Bi("过往行动效果：本次运行无 impact/impact.nc", "impact: no impact/impact.nc")
    with xr.open_dataset(path) as ds:
        values = {k: float(ds[k].values) for k in (*IMPACT_VARS, "total_relative_effect",
                                                   "naive_relative_effect")
                  if k in ds and ds[k].size == 1}  # fmt: skip
        kind = str(ds["naive_effect"].attrs.get("kind", "")) if "naive_effect" in ds else ""
        attrs = {k: v for k, v in ds.attrs.items() if isinstance(v, str | int | float)}
        unit = str(attrs.get("unit", ""))
        units = [str(u) for u in ds[unit].values] if unit and unit in ds.coords else []
        start = ""
        if "post" in ds and "time" in ds["post"].dims:
            post = ds["post"].any([d for d in ds["post"].dims if d != "time"])
            if bool(post.any()):
                start = _date(ds["time"].values[int(np.argmax(post.values))])
        end = _date(ds["time"].values[-1]) if "time" in ds.coords and ds.sizes["time"] else ""
    m = run.min_count
    sec = Section("impact", Bi("过往行动：避免了多少来电", "Past action: calls it prevented"))
    nan = float("nan")
    prevented = -values.get("total_effect", nan)
    lo, hi = -values.get("total_effect_hi", nan), -values.get("total_effect_lo", nan)
    try:
        level_text = f"{float(attrs.get('level', 0.9)):.0%}"
    except (TypeError, ValueError):
        level_text = "90%"
    method = str(attrs.get("method", ""))

    def calls(v: float) -> str:
        # Calls prevented are a count: its size, not its sign, meets the threshold.
        if not math.isfinite(v):
            return "–"
        return f"<{m}" if _small(abs(v), m) else fmt_int(v)

    cube = run.cube()
    names = _labels(cube, unit) if cube is not None and unit == "district" else {}
    named = [names.get(u, Bi(u, u)) for u in units]
    shown_units = "、".join(u.zh for u in named[:5]) + (
        f" 等 {len(units)} 个" if len(units) > 5 else "")  # fmt: skip
    shown_en = ", ".join(u.en for u in named[:5]) + (
        f" and {len(units) - 5} more" if len(units) > 5 else "")  # fmt: skip
    rel = values.get("total_relative_effect", nan)
    rel_small = any(_small(abs(v), m) for v in (prevented, lo, hi) if math.isfinite(v))
    rel_ok = math.isfinite(rel) and not rel_small
    rel_zh = (f"，比无行动时{'少' if rel < 0 else '多'} {abs(rel):.0%}") if rel_ok else ""
    rel_en = (f", {abs(rel):.0%} {'fewer' if rel < 0 else 'more'} than without the action"
              if rel_ok else "")  # fmt: skip
    codes = str(attrs.get("categories", ""))
    cat = run.category(codes) if codes and codes != "all" else Bi("全部", "all")
    sec.paragraphs.append(Bi(
        f"行动对象 {shown_units or '?'}（{cat.zh}类来电），{start} 至 {end}："
        f"估计避免了 {calls(prevented)} 件来电（{level_text} 区间 {calls(lo)} 至 {calls(hi)}"
        f"{rel_zh}）" + (f"，方法 {method}" if method else "") + "。",
        f"Action on {shown_en or '?'} ({cat.en} calls), {start} to {end}: estimated "
        f"{calls(prevented)} calls prevented ({level_text} interval {calls(lo)} to {calls(hi)}"
        f"{rel_en})" + (f", method {method}" if method else "") + ".",
    ))  # fmt: skip
    naive = values.get("naive_effect")
    if naive is not None:
        how = {"year_on_year": Bi("同比", "year-on-year"),
               "before_after": Bi("前后对比", "before/after")}.get(kind, Bi("简单对比", "naive"))
        naive_rel = values.get("naive_relative_effect", nan)
        small = _small(abs(naive), m)
        pct = f"，{_pct(naive_rel)}" if math.isfinite(naive_rel) and not small else ""
        pct_en = f" ({_pct(naive_rel)})" if pct else ""
        sec.cautions.append(Caution(Bi(
            f"注意：简单{how.zh}变化为 {calls(naive)} 件{pct}——这不是效果估计：它把行动与天气、"
            "趋势和均值回归混在一起，仅供对照。",
            f"Caution: the naive {how.en} change is {calls(naive)} calls{pct_en}. It is not an "
            "effect estimate: it mixes the action with weather, trend and regression to the "
            "mean; shown for comparison only.",
        )))  # fmt: skip
    figure = run.file("impact/figures/impact.png")
    if figure is not None:
        sec.figures.append(_png_file(figure, Bi("观测与反事实来电", "Observed and counterfactual "
                                                                  "calls")))  # fmt: skip
    files = ["impact/impact.nc"] + (["impact/figures/impact.png"] if figure else [])
    sec.source = _source(files, end or date)  # the last period the estimate covers
    return sec


def _png_file(path: Path, alt: Bi, width_mm: float = 186.0, max_px: int = 1600) -> Figure:
    """A PNG of the run directory, scaled down to at most ``max_px`` pixels wide."""
    from PIL import Image

    with Image.open(path) as img:
        img = img.convert("RGB")
        if img.width > max_px:
            img = img.resize((max_px, round(img.height * max_px / img.width)), Image.LANCZOS)
        buf = io.BytesIO()
        img.save(buf, format="PNG", optimize=True)
        ratio = img.height / img.width
    height = width_mm * ratio
    if height > MAX_FIGURE_MM:  # keep a tall figure from taking the page
        width_mm, height = width_mm * MAX_FIGURE_MM / height, MAX_FIGURE_MM
    return Figure(buf.getvalue(), width_mm, height, alt)


#: Section builders by key, in the order of the brief.
BUILDERS: dict[str, Callable[[Run, str], Section | Bi]] = {
    "data": data_section,
    "forecast": forecast_section,
    "warn": warn_section,
    "target": target_section,
    "sim": sim_section,
    "impact": impact_section,
}

__all__ = ["BUILDERS", "MIN_COUNT", "Run", "count_text", "fmt_int"]
