"""The forecast section: the coming season by district and category, with bands."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr

from predgov.data.suppress import small_cell_mask
from predgov.viz.brief_content._run import (
    Run,
    _date,
    _labels,
    _pct,
    _png,
    _source,
    count_text,
)
from predgov.viz.brief_model import Bi, Figure, Section, Table

#: Quantiles of the forecast band shown (the nearest stored ones are used).
BAND = (0.1, 0.9)
#: Most categories and districts in the forecast heatmap.
HEATMAP_CATEGORIES = 8
HEATMAP_DISTRICTS = 12


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
