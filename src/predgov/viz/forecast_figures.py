"""Forecast figures on the briefing style: fan chart, skill by lead time, relative-skill map.

* :func:`fan_chart` — one series: recent history, the forecast median and its 50/80/95 %
  bands, the forecast origin marked;
* :func:`skill_by_lead` — a score (MASE, scaled pinball, coverage ...) against lead time for one
  or several models, from backtest score tables;
* :func:`relative_skill_map` — district × category map of a model's score relative to the
  seasonal-naive baseline, on a diverging colour-blind-safe scale centred at 1 (blue = better).

Every figure follows the publication rules of :mod:`predgov.viz`: bilingual labels, a source
line, and small-cell suppression of counts (history values and cell totals of 1..min_count-1).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.figure import Figure, SubFigure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from predgov.viz._grid import hatch_cells, layout_district_category_grid
from predgov.viz.heatmap import HATCH_COLOR, NOT_OBSERVED_COLOR, SUPPRESSED_COLOR, _parent_order
from predgov.viz.style import (
    OKABE_ITO,
    SOURCE_COLOR,
    Lang,
    add_source_line,
    briefing_style,
    category_labels,
    date_axis,
    district_labels,
)
from predgov.viz.suppress import MIN_COUNT, small_cell_mask

#: Central interval levels drawn in a fan chart, widest first, with their band opacity.
FAN_BANDS = ((0.95, 0.18), (0.8, 0.32), (0.5, 0.5))
#: Diverging colour-blind-safe colour map of relative skill (ColorBrewer RdBu, reversed so that
#: ratios below 1 — better than the baseline — are blue).
SKILL_CMAP = "RdBu_r"

_FORECAST_COLOR = OKABE_ITO[0]
_HISTORY_COLOR = "#404040"
_PER = {"D": ("day", "日"), "W-MON": ("week", "周"), "MS": ("month", "月")}
_LEAD_UNIT = {"D": ("days", "天"), "W-MON": ("weeks", "周"), "MS": ("months", "月")}

#: Axis labels of the scores: (zh, en, better direction).
METRIC_LABELS: dict[str, tuple[str, str]] = {
    "mase": ("平均绝对标度误差", "MASE"),
    "rmsse": ("均方根标度误差", "RMSSE"),
    "spl": ("标度分位数损失", "Scaled pinball loss"),
    "bias": ("标度偏差", "Scaled bias"),
    "abs_bias": ("绝对偏差", "|bias|"),
    "cov50": ("50%区间覆盖率", "50% interval coverage"),
    "cov80": ("80%区间覆盖率", "80% interval coverage"),
    "cov95": ("95%区间覆盖率", "95% interval coverage"),
}


#: Short score names for colour-bar titles.
_SHORT = {"mase": "MASE", "rmsse": "RMSSE", "spl": "SPL", "abs_bias": "|bias|",
          "cov50_err": "cov50 err", "cov80_err": "cov80 err", "cov95_err": "cov95 err"}


def _text(zh: str, en: str, lang: str) -> str:
    return zh if lang == "zh" else en if lang == "en" else f"{zh} {en}"


def _root_figure(ax: Axes) -> Figure:
    fig = ax.figure
    while isinstance(fig, SubFigure):
        fig = fig.figure
    return fig


def _one_series(obj: xr.DataArray, district: str | None, category: str | None,
                what: str) -> xr.DataArray:
    """Select one series by district / category; a dim of length one is taken as is."""
    for dim, label in (("district", district), ("category", category)):
        if dim not in obj.dims:
            continue
        if label is not None:
            if label not in obj[dim].values:
                raise ValueError(f"{what} has no {dim} {label!r}")
            obj = obj.sel({dim: label})
        elif obj.sizes[dim] == 1:
            obj = obj.isel({dim: 0})
        else:
            raise ValueError(f"{what} has {obj.sizes[dim]} {dim}s: pass {dim}=...")
    extra = [d for d in obj.dims if d not in ("time", "quantile")]
    if extra:
        raise ValueError(f"{what} still has dims {extra} after selecting one series")
    return obj


def _series_title(obj: xr.DataArray, lang: str) -> str:
    parts = []
    for dim, en_name, zh_name in (("district", "district_label_en", None),
                                  ("category", "label_en", "label_zh")):
        if dim not in obj.coords or obj[dim].ndim != 0:
            continue
        code = str(obj[dim].item())
        zh = str(obj[zh_name].item()) if zh_name and zh_name in obj.coords else code
        en = str(obj[en_name].item()) if en_name in obj.coords else code
        parts.append(zh if zh.casefold() == en.casefold() else _text(zh, en, lang))
    return " · ".join(parts)


def _band(quantiles: xr.DataArray, level: float) -> tuple[np.ndarray, np.ndarray] | None:
    have = np.asarray(quantiles["quantile"].values, dtype=float)
    lo = np.flatnonzero(np.isclose(have, (1 - level) / 2))
    hi = np.flatnonzero(np.isclose(have, (1 + level) / 2))
    if lo.size == 0 or hi.size == 0:
        return None
    return (quantiles.isel(quantile=int(lo[0])).values,
            quantiles.isel(quantile=int(hi[0])).values)


def fan_chart(
    history: xr.Dataset | xr.DataArray,
    forecast: xr.Dataset,
    *,
    district: str | None = None,
    category: str | None = None,
    n_history: int | None = None,
    actual: xr.Dataset | xr.DataArray | None = None,
    lang: Lang = "both",
    min_count: int = MIN_COUNT,
    title: str | None = None,
    source: str | None = None,
    date: dt.date | str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Fan chart of one series: history, forecast median and 50/80/95 % bands.

    Parameters
    ----------
    history
        Cube Dataset (its ``counts``) or counts DataArray up to the forecast origin (later
        periods are not drawn as history).
    forecast
        Forecast Dataset (``mean``, ``quantiles``); bands are drawn for the interval levels
        whose quantiles it has (0.025/0.975, 0.1/0.9, 0.25/0.75), the line is the median (the
        mean when there is no 0.5 quantile).
    district, category
        The series; may be omitted for a dim of length one.
    n_history
        Periods of history shown (default: three horizons, at least 8 periods).
    actual
        Optional observed counts over the forecast periods, drawn as dots (for backtests).
    lang
        ``"zh"``, ``"en"`` or ``"both"`` for the labels.
    min_count
        Counts of 1..min_count-1 are not drawn (the privacy rule); their periods are marked by
        grey ticks on the axis. 1 shows every value.
    title, source, date
        Title (default: the series' district and category labels); source line and its date.
    ax
        Axes to draw in; by default a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> t = pd.date_range("2024-01-01", periods=30)
    >>> hist = xr.DataArray(np.full(30, 20.0), dims="time", coords={"time": t})
    >>> ft = pd.date_range("2024-01-31", periods=7)
    >>> levels = [0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975]
    >>> q = xr.DataArray(20 + np.linspace(-6, 6, 7) * np.ones((7, 1)), dims=("time", "quantile"),
    ...                  coords={"time": ft, "quantile": levels})
    >>> fc = xr.Dataset({"mean": q.sel(quantile=0.5, drop=True), "quantiles": q})
    >>> fig = fan_chart(hist, fc, title="Demo", source="test", date="2026-01-01")
    >>> len(fig.axes[0].collections)    # three bands
    3
    >>> plt.close(fig)
    """
    hist = history["counts"] if isinstance(history, xr.Dataset) else history
    hist = _one_series(hist, district, category, "history")
    mean = _one_series(forecast["mean"], district, category, "forecast")
    quant = _one_series(forecast["quantiles"], district, category, "forecast").transpose(
        "time", "quantile"
    )
    f_time = pd.DatetimeIndex(forecast["time"].values)
    hist = hist.sel(time=hist["time"] < np.datetime64(f_time[0]))
    horizon = len(f_time)
    n_history = n_history or max(3 * horizon, 8)
    hist = hist.isel(time=slice(-n_history, None))
    h_time = pd.DatetimeIndex(hist["time"].values)
    values = hist.values.astype(float)
    small = np.asarray(small_cell_mask(hist, min_count).values, dtype=bool)
    shown = np.where(small, np.nan, values)
    freq = str(forecast.attrs.get("freq") or forecast["time"].attrs.get("freq") or "D")
    per_en, per_zh = _PER.get(freq, ("period", "期"))

    with briefing_style():
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4.5))
        fig = _root_figure(ax)
        handles: list[Any] = []
        # With suppressed values the line has gaps: dots keep isolated values visible.
        (hline,) = ax.plot(h_time, shown, color=_HISTORY_COLOR, lw=1.4,
                           marker="o" if small.any() else None, markersize=2.5,
                           label=_text("历史", "History", lang))
        handles.append(hline)
        if small.any():
            ax.plot(h_time[small], np.zeros(small.sum()), linestyle="none", marker="|",
                    markersize=9, color=SOURCE_COLOR, clip_on=False)
            handles.append(Line2D([], [], linestyle="none", marker="|", markersize=9,
                                  color=SOURCE_COLOR,
                                  label=_text(f"1–{min_count - 1}件 未显示",
                                              f"1–{min_count - 1} requests: not shown", lang)))
        for level, alpha in FAN_BANDS:
            band = _band(quant, level)
            if band is None:
                continue
            ax.fill_between(f_time, band[0], band[1], color=_FORECAST_COLOR, alpha=alpha,
                            lw=0, step=None)
            handles.append(Patch(facecolor=_FORECAST_COLOR, alpha=alpha,
                                 label=_text(f"{round(level * 100)}%区间",
                                             f"{round(level * 100)}% interval", lang)))
        has_median = bool(np.isclose(quant["quantile"].values, 0.5).any())
        centre = quant.sel(quantile=quant["quantile"].values[
            np.isclose(quant["quantile"].values, 0.5)][0]).values if has_median else mean.values
        # join the forecast line to the last shown history value
        x_line, y_line = f_time, centre
        if len(h_time) and np.isfinite(shown[-1]):
            x_line = h_time[-1:].append(f_time)
            y_line = np.concatenate([shown[-1:], centre])
        (mline,) = ax.plot(x_line, y_line, color=_FORECAST_COLOR, lw=2.0,
                           label=_text("预测中位数", "Forecast median", lang) if has_median
                           else _text("预测均值", "Forecast mean", lang))
        handles.insert(1, mline)
        if actual is not None:
            act = actual["counts"] if isinstance(actual, xr.Dataset) else actual
            act = _one_series(act, district, category, "actual")
            act = act.sel(time=act["time"].isin(f_time.values))
            a_small = np.asarray(small_cell_mask(act, min_count).values, dtype=bool)
            a_vals = np.where(a_small, np.nan, act.values.astype(float))
            (aline,) = ax.plot(pd.DatetimeIndex(act["time"].values), a_vals, linestyle="none",
                               marker="o", markersize=3.5, color=OKABE_ITO[3],
                               label=_text("实际", "Observed", lang))
            handles.append(aline)
        if len(h_time):
            origin = h_time[-1]
            ax.axvline(origin, color=SOURCE_COLOR, lw=0.9, ls=(0, (3, 3)))
            ax.annotate(_text("预测起点", "forecast origin", lang), xy=(origin, 1.0),
                        xycoords=("data", "axes fraction"), xytext=(-3, -2),
                        textcoords="offset points", ha="right", va="top", fontsize=8.5,
                        color=SOURCE_COLOR)
        ax.set_ylim(bottom=0)
        ax.set_ylabel(_text(f"每{per_zh}诉求量", f"Requests per {per_en}", lang))
        date_axis(ax, maxticks=8)
        ax.set_title(title if title is not None else _series_title(mean, lang))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9.5,
                  borderaxespad=0)
        if source is not None:
            add_source_line(fig, source, date)
        elif date is not None:
            raise ValueError("date is printed on the source line: give source too")
    return fig


def _lead_rows(table: pd.DataFrame, metric: str) -> pd.Series:
    if not isinstance(table, pd.DataFrame) or "by" not in (table.index.names or []):
        raise TypeError("expected a backtest score table (BacktestResult.scores or relative_to)")
    if metric not in table.columns:
        raise ValueError(f"score table has no {metric!r}; has {list(table.columns)}")
    rows = table.xs("lead", level="by")[metric]
    return pd.Series(rows.to_numpy(dtype=float), index=rows.index.astype(int)).sort_index()


def skill_by_lead(
    scores: pd.DataFrame | Mapping[str, Any],
    *,
    metric: str = "mase",
    lang: Lang = "both",
    freq: str = "D",
    title: str | None = None,
    source: str | None = None,
    date: dt.date | str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """A score against lead time, one line per model.

    Parameters
    ----------
    scores
        A backtest score table (``BacktestResult.scores``, or ``relative_to(...)`` for ratios
        to a baseline), a :class:`~predgov.forecast.backtest.BacktestResult`, or a mapping
        ``{model name: table or result}``.
    metric
        Column to plot: ``"mase"``, ``"rmsse"``, ``"spl"``, ``"bias"``, ``"cov80"`` ...
        Coverage gets a dashed line at its nominal level; relative tables a line at 1 (the
        baseline).
    lang, freq
        Label language; the cube frequency (for the lead-time unit).
    title, source, date, ax
        As for :func:`fan_chart`.

    Examples
    --------
    >>> idx = pd.MultiIndex.from_tuples([("lead", 1), ("lead", 2), ("all", "all")],
    ...                                 names=["by", "key"])
    >>> table = pd.DataFrame({"mase": [0.8, 0.9, 0.85]}, index=idx)
    >>> fig = skill_by_lead({"default": table}, source="test", date="2026-01-01")
    >>> [line.get_label() for line in fig.axes[0].get_lines()][:1]
    ['default']
    >>> plt.close(fig)
    """
    if isinstance(scores, Mapping):
        items = list(scores.items())
    else:
        items = [(None, scores)]
    series = []
    relative = False
    for name, table in items:
        if hasattr(table, "scores") and hasattr(table, "errors"):
            name = name or table.model
            table = table.scores
        relative = relative or ("baseline" in table.attrs) or metric.endswith("_err")
        label = name or str(table.attrs.get("model", "model"))
        series.append((label, _lead_rows(table, metric)))
    zh, en = METRIC_LABELS.get(metric.removesuffix("_err"), (metric, metric))
    unit_en, unit_zh = _LEAD_UNIT.get(freq, ("periods", "期"))
    with briefing_style():
        if ax is None:
            _, ax = plt.subplots(figsize=(7.5, 4.2))
        fig = _root_figure(ax)
        colors = list(OKABE_ITO)
        markers = ["o", "s", "^", "D", "v", "P", "X", "*"]
        for i, (label, s) in enumerate(series):
            ax.plot(s.index, s.values, color=colors[i % len(colors)], lw=1.8,
                    marker=markers[i % len(markers)] if len(s) <= 31 else None, markersize=4,
                    label=label)
        if relative:
            ax.axhline(1.0, color=SOURCE_COLOR, lw=1.0, ls="--")
            base = next((t.attrs.get("baseline") for _, t in items
                         if isinstance(t, pd.DataFrame) and t.attrs.get("baseline")), None)
            ax.annotate(_text("基准", "baseline", lang) + (f" ({base})" if base else "") + " = 1",
                        xy=(1.0, 1.0), xycoords=("axes fraction", "data"), xytext=(-2, 3),
                        textcoords="offset points", ha="right", va="bottom", fontsize=8.5,
                        color=SOURCE_COLOR)
            ylabel = _text(f"{zh}（相对基准）", f"{en} relative to baseline", lang)
        elif metric.startswith("cov"):
            nominal = int(metric[3:5]) / 100
            ax.axhline(nominal, color=SOURCE_COLOR, lw=1.0, ls="--")
            ylabel = _text(zh, en, lang)
        else:
            ylabel = _text(zh, en, lang)
        ax.set_ylabel(ylabel)
        ax.set_xlabel(_text(f"预测提前期（{unit_zh}）", f"Lead time ({unit_en} ahead)", lang))
        ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))
        if title is not None:
            ax.set_title(title)
        ax.legend(loc="best", fontsize=9.5)
        if source is not None:
            add_source_line(fig, source, date)
        elif date is not None:
            raise ValueError("date is printed on the source line: give source too")
    return fig


def _ratio_array(scores: xr.Dataset | xr.DataArray, metric: str) -> tuple[xr.DataArray,
                                                                        xr.DataArray | None]:
    if isinstance(scores, xr.Dataset):
        name = metric if metric.endswith("_rel") else f"{metric}_rel"
        if name not in scores:
            raise ValueError(
                f"scores have no {name!r}: use BacktestResult.series_scores(relative_to=baseline)"
            )
        total = scores["total"] if "total" in scores else None
        ratio = scores[name]
    else:
        ratio, total = scores, None
    if set(ratio.dims) != {"district", "category"}:
        raise ValueError(f"relative skill needs dims (district, category); got {ratio.dims}")
    return ratio.transpose("district", "category"), total


def relative_skill_map(
    scores: xr.Dataset | xr.DataArray,
    *,
    metric: str = "mase",
    counts: xr.DataArray | xr.Dataset | None = None,
    min_count: int = MIN_COUNT,
    limit: float | None = None,
    annotate: bool = True,
    lang: Lang = "both",
    title: str | None = None,
    source: str | None = None,
    date: dt.date | str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """District × category map of relative skill (model score / baseline score).

    The colour is ``log2`` of the ratio on a diverging scale centred at 1 (white): blue where
    the model beats the baseline, red where it loses; ratios 1/2 and 2 are equally strong.

    Parameters
    ----------
    scores
        ``BacktestResult.series_scores(relative_to=baseline)`` (uses ``{metric}_rel`` and, for
        the small-cell rule, ``total``), or a DataArray of ratios over (district, category).
    metric
        Score whose ratio is shown (``"mase"``, ``"spl"``, ``"rmsse"``, ``"cov80_err"`` ...).
    counts
        Counts whose totals decide small cells (default: ``total`` in ``scores``); cells
        totalling 1..min_count-1 are drawn grey with ``"<5"`` instead of their skill.
    min_count
        Small-cell threshold (1 suppresses nothing).
    limit
        Colour-scale limit as a ratio (≥ 1); default from the data, between 1.5 and 4.
    annotate
        Write each ratio in its cell.
    lang, title, source, date, ax
        As for :func:`fan_chart`.

    Examples
    --------
    >>> r = xr.DataArray([[0.8, 1.3], [np.nan, 1.0]], dims=("district", "category"),
    ...                  coords={"district": ["市南", "崂山"], "category": ["heating", "gas"]})
    >>> fig = relative_skill_map(r, source="test", date="2026-01-01")
    >>> [t.get_text() for t in fig.axes[0].texts][:2]
    ['0.80', '1.30']
    >>> plt.close(fig)
    """
    ratio, total = _ratio_array(scores, metric)
    if counts is not None:
        c = counts["counts"] if isinstance(counts, xr.Dataset) else counts
        total = c.sum("time", min_count=1) if "time" in c.dims else c
    order, spans = _parent_order(ratio["category"])
    ratio = ratio.isel(category=order)
    values = np.log2(ratio.values.astype(float))
    suppressed = np.zeros(values.shape, dtype=bool)
    if total is not None:
        t = total.transpose("district", "category").sel(
            district=ratio["district"], category=ratio["category"])
        suppressed = np.asarray(small_cell_mask(t, min_count).values, dtype=bool)
    missing = ~np.isfinite(values) & ~suppressed
    finite = np.isfinite(values) & ~suppressed
    if limit is None:
        top = float(np.nanmax(np.abs(values[finite]))) if finite.any() else 0.0
        limit = float(np.clip(2**top, 1.5, 4.0))
    if limit <= 1:
        raise ValueError(f"limit must be a ratio above 1, got {limit}")
    half = np.log2(limit)
    n_dist, n_cat = values.shape
    xlabels = category_labels(ratio, lang)
    ylabels = district_labels(ratio, lang)
    zh, en = METRIC_LABELS.get(metric.removesuffix("_rel").removesuffix("_err"),
                               (metric, metric))

    with briefing_style():
        if ax is None:
            longest_y = max((len(s) for s in ylabels), default=4)
            width = 0.5 * n_cat + 0.09 * longest_y + 3.0
            height = 0.42 * n_dist + 3.0
            _, ax = plt.subplots(figsize=(max(width, 6.0), max(height, 4.0)))
        fig = _root_figure(ax)
        cmap = mpl.colormaps[SKILL_CMAP].with_extremes(bad=NOT_OBSERVED_COLOR)
        norm = Normalize(-half, half)
        shown = np.ma.masked_array(np.clip(values, -half, half), mask=~finite)
        mesh = ax.pcolormesh(shown, cmap=cmap, norm=norm, edgecolors="white", linewidth=0.6)
        for i, j in zip(*np.nonzero(suppressed), strict=True):
            ax.add_patch(Rectangle((j, i), 1, 1, facecolor=SUPPRESSED_COLOR, edgecolor="white",
                                   lw=0.6))
            ax.text(j + 0.5, i + 0.5, f"<{min_count}", ha="center", va="center", fontsize=8,
                    color="#404040")
        hatch_cells(ax, missing, NOT_OBSERVED_COLOR, HATCH_COLOR)
        if annotate:
            for i, j in zip(*np.nonzero(finite), strict=True):
                strong = abs(values[i, j]) > 0.6 * half
                ax.text(j + 0.5, i + 0.5, f"{2 ** values[i, j]:.2f}", ha="center",
                        va="center", fontsize=7.5, color="white" if strong else "black")
        layout_district_category_grid(ax, spans, xlabels, ylabels, gap_lw=3)
        ax.set_title(title if title is not None else _text(
            f"{zh}：模型/基准", f"{en}: model / baseline", lang))
        cbar = fig.colorbar(mesh, ax=ax, shrink=0.8, anchor=(0.0, 1.0), pad=0.02)
        ticks = [r for r in (0.25, 1 / 3, 0.5, 2 / 3, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0)
                 if abs(np.log2(r)) <= half + 1e-9]
        labels = [f"{r:.2f}".rstrip("0").rstrip(".") for r in ticks]
        # the ends say which way is better (blue below 1, red above)
        labels[0] += "  " + _text("更好", "better", lang)
        labels[-1] += "  " + _text("更差", "worse", lang)
        cbar.set_ticks([np.log2(r) for r in ticks], labels=labels)
        # A short title: long ones would run past the figure edge (layout ignores them).
        short = _SHORT.get(metric.removesuffix("_rel"), metric)
        cbar.ax.set_title(f"{short}\n" + _text("比值", "ratio", lang), loc="left", fontsize=9,
                          pad=6)
        cbar.ax.tick_params(labelsize=9)
        cbar.outline.set_visible(False)
        keys = []
        if suppressed.any():
            keys.append(Patch(facecolor=SUPPRESSED_COLOR,
                              label=f"<{min_count}: suppressed (total 1–{min_count - 1})"))
        if missing.any():
            keys.append(Patch(facecolor=NOT_OBSERVED_COLOR, edgecolor=HATCH_COLOR, hatch="////",
                              lw=0, label=_text("无评分", "no score", lang)))
        if keys:
            cbar.ax.legend(handles=keys, loc="upper left", bbox_to_anchor=(0.0, -0.04),
                           fontsize=9, handlelength=1.4, borderaxespad=0)
        if source is not None:
            add_source_line(fig, source, date)
        elif date is not None:
            raise ValueError("date is printed on the source line: give source too")
    return fig
