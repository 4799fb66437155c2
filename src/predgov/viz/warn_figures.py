"""Early-warning figures: an alert timeline for one series and a district × category alert board.

Both take the detector output of :func:`predgov.warn.detect` (``alarm``, ``expected``,
``threshold``, ``score`` over ``(time, district, category)``) and the cube it ran on, and use
the briefing style (:func:`predgov.viz.style.briefing_style`): bilingual labels, Okabe–Ito
colours, a source line. Alert severity (yellow / amber / red) is the rule of
:mod:`predgov.warn.alerts`, drawn with colours that stay apart under the common colour-vision
deficiencies (Okabe–Ito yellow, orange, vermillion) *and* with ``!`` / ``!!`` / ``!!!`` marks, so
the board also reads in greyscale.
"""

from __future__ import annotations

import datetime as dt

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from predgov.data.cube import counts_of
from predgov.data.taxonomy import Taxonomy, load_taxonomy
from predgov.viz._grid import hatch_cells, layout_district_category_grid, parent_label
from predgov.viz.heatmap import SUPPRESSED_COLOR
from predgov.viz.style import (
    OKABE_ITO,
    Lang,
    add_source_line,
    briefing_style,
    category_labels,
    date_axis,
    district_labels,
)
from predgov.viz.suppress import MIN_COUNT, small_cell_mask
from predgov.warn.alerts import SEVERITIES, alerts
from predgov.warn.detect import method_label

#: Cell colours of the alert board: no alert, yellow, amber, red (Okabe–Ito yellow, orange,
#: vermillion, which differ in lightness too) and the grey hatching of not-observed cells.
BOARD_COLORS = {
    "none": "#EFEFEF",
    "yellow": OKABE_ITO[6],
    "amber": OKABE_ITO[1],
    "red": OKABE_ITO[3],
}
#: Marks written in alert cells, so severity does not depend on colour alone.
BOARD_MARKS = {"yellow": "!", "amber": "!!", "red": "!!!"}
NOT_OBSERVED_COLOR = "white"
HATCH_COLOR = "#9A9A9A"
#: Width of one alert-board column, inches.
_BOARD_COL_IN = 0.55
#: Timeline colours: observed (blue), expected and its band (orange), alarms (vermillion).
OBSERVED_COLOR = OKABE_ITO[0]
EXPECTED_COLOR = OKABE_ITO[1]
ALARM_COLOR = OKABE_ITO[3]
#: ``gid`` of the timeline's alarm-marker line (one marker per alarm period).
ALARM_MARKS_GID = "alarm-marks"

#: Severity names as printed.
_SEVERITY_TEXT = {
    "red": ("红色", "Red"),
    "amber": ("橙色", "Amber"),
    "yellow": ("黄色", "Yellow"),
    "none": ("无预警", "No alert"),
}
_PER_PERIOD = {"D": ("每日", "per day"), "W-MON": ("每周", "per week"), "MS": ("每月", "per month")}
#: Timeline legend entries in their order (columns: lines, band and marks, spans).
_TIMELINE_KEYS = (
    ("实际", "Observed"),
    ("预期", "Expected"),
    ("预期至报警阈值", "Expected to alarm threshold"),
    ("报警", "Alarm"),
    ("预警期", "Alert run"),
    ("未观测", "Not observed"),
    ("不公布", "Withheld"),
    ("阈值超出纵轴", "Threshold above the axis"),
)
_COUNT_UNITS = {"requests", "request", "counts", "count"}


def _text(zh: str, en: str, lang: str) -> str:
    if lang == "zh":
        return zh
    if lang == "en":
        return en
    return f"{zh} {en}"


def _key_label(level: str, lang: str) -> str:
    """Legend text of a board level: its mark (if any) and its name."""
    name = _text(*_SEVERITY_TEXT[level], lang)
    return f"{BOARD_MARKS[level]}  {name}" if level in BOARD_MARKS else name


def _check_lang(lang: str) -> None:
    if lang not in ("zh", "en", "both"):
        raise ValueError(f"lang must be 'zh', 'en' or 'both', got {lang!r}")


def _check_alarms(alarms: xr.Dataset) -> None:
    if not isinstance(alarms, xr.Dataset) or "alarm" not in alarms.data_vars:
        raise ValueError("alarms must be a Dataset with an 'alarm' variable (detector output)")


def _freq(*objs: xr.Dataset | xr.DataArray) -> str | None:
    for obj in objs:
        if "time" in obj.coords and obj["time"].attrs.get("freq"):
            return str(obj["time"].attrs["freq"])
        if obj.attrs.get("freq"):
            return str(obj.attrs["freq"])
    return None


def _select(values: xr.DataArray, name: str, dim: str, label_coords: tuple[str, ...]) -> object:
    """The ``dim`` value matching ``name`` as a value or as one of its label coordinates."""
    if name in set(values[dim].values.tolist()):
        return name
    for coord in label_coords:
        if coord in values.coords and values.coords[coord].dims == (dim,):
            hits = [
                v
                for v, lab in zip(values[dim].values, values[coord].values, strict=True)
                if str(lab).casefold() == str(name).casefold()
            ]
            if hits:
                return hits[0]
    raise KeyError(f"no {dim} {name!r}; have {[str(v) for v in values[dim].values]}")


def threshold_in_counts(alarms: xr.Dataset) -> bool:
    """Whether the detector's ``threshold`` is a number of requests (so it can be drawn).

    True when ``alarms["threshold"].attrs["units"]`` (or ``alarms.attrs["threshold_units"]``)
    names requests or counts. Most detectors threshold a dimensionless score (EARS C, or
    ``-log10`` of a tail probability), so without units the answer is False.

    Examples
    --------
    >>> import xarray as xr
    >>> threshold_in_counts(xr.Dataset({"threshold": ((), 3.0, {"units": "requests"})}))
    True
    >>> threshold_in_counts(xr.Dataset({"threshold": ((), 3.0)}, attrs={"detector": "ears_c2"}))
    False
    """
    units = None
    if "threshold" in alarms.data_vars:
        units = alarms["threshold"].attrs.get("units")
    units = units or alarms.attrs.get("threshold_units")
    if units is not None:
        return str(units).casefold() in _COUNT_UNITS
    return False


def _spans(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of each run of True."""
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > 1)
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    ends = np.concatenate([idx[breaks], [idx[-1]]])
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _half_period(times: pd.DatetimeIndex) -> pd.Timedelta:
    if len(times) < 2:
        return pd.Timedelta(hours=12)
    return pd.Timedelta(np.median(np.diff(times.values))) / 2


# --------------------------------------------------------------------------- timeline


def alert_timeline(
    counts: xr.Dataset | xr.DataArray,
    alarms: xr.Dataset,
    *,
    district: str,
    category: str,
    lang: Lang = "both",
    start: object = None,
    end: object = None,
    band: bool | None = None,
    source: str | None = None,
    date: dt.date | str | None = None,
    min_count: int = MIN_COUNT,
    highlight: tuple[object, object] | None = None,
) -> Figure:
    """Observed counts of one series against the expected level, with its alarms marked.

    Draws the observed counts (blue), the detector's ``expected`` (orange line) and the band
    from expected up to the alarm limit in requests (light orange): the ``upper`` variable when
    the detector gives one (the count above which it alarms), else ``threshold`` when that is
    a count (see :func:`threshold_in_counts`); with neither, no band. Each alarm period gets a
    vermillion triangle on the observed value (one :class:`~matplotlib.lines.Line2D` with
    ``gid`` :data:`ALARM_MARKS_GID`) and each run of alarms a light vermillion span; periods
    not observed (NaN) are hatched grey. The title (left-aligned) names the series.

    Small counts are never drawn at their value (rule in :mod:`predgov.viz.suppress`): a period
    with 1..``min_count``-1 requests is a grey bar from 0 to ``min_count`` ("withheld"), its
    alarm mark sits at ``min_count``, and the expected line and band leave out values between
    0 and ``min_count`` too. The y axis is scaled to the counts and the expected level: where
    the alarm limit lies above it (after an outbreak a detector may need far more requests to
    alarm again), the band runs off the top and the legend says so. Dates carry the year.

    Parameters
    ----------
    counts
        The cube (Dataset with ``counts``) or its ``counts`` DataArray.
    alarms
        Detector output over the same grid (``alarm``; ``expected`` and ``upper`` or a
        count-valued ``threshold`` drawn when present).
    district, category
        The series: district value (``"市南"``) or English label (``"Shinan"``); category code
        (``"heating"``) or a label (``"供热"``, ``"Heating"``).
    lang
        ``"zh"``, ``"en"`` or ``"both"`` for title, axis label and legend.
    start, end
        Window shown (anything ``pd.Timestamp`` accepts); default the whole alarms period.
    band
        Draw the expected→limit band; default: when a limit in requests is available.
    source, date
        Source line (see :func:`predgov.viz.style.add_source_line`); pass ``date`` for
        reproducible output.
    min_count
        Smallest count drawn at its value; 1 draws every count.
    highlight
        ``(start, end)`` of the alert the figure is about: its dates go into the title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, pandas as pd, xarray as xr, matplotlib.pyplot as plt
    >>> dims = ("time", "district", "category")
    >>> coords = {"time": pd.date_range("2024-03-01", periods=8), "district": ["市南"],
    ...           "district_label_en": ("district", ["Shinan"]), "category": ["gas"],
    ...           "label_zh": ("category", ["燃气"]), "label_en": ("category", ["Gas"])}
    >>> counts = xr.DataArray(np.array([4, 5, 3, 14, 15, 5, 4, 4]).reshape(8, 1, 1),
    ...                       dims=dims, coords=coords)
    >>> alarms = xr.Dataset({"alarm": counts > 10, "expected": xr.full_like(counts, 4.0, float),
    ...                      "upper": xr.full_like(counts, 9.0, float)},
    ...                     attrs={"detector": "exceedance"})
    >>> fig = alert_timeline(counts, alarms, district="市南", category="gas",
    ...                      source="test", date="2026-11-28")
    >>> fig.axes[0].get_title(loc="left")
    '市南 Shinan · 燃气 Gas'
    >>> [len(ln.get_xdata()) for ln in fig.axes[0].lines if ln.get_gid() == ALARM_MARKS_GID]
    [2]
    >>> plt.close(fig)
    """
    _check_lang(lang)
    _check_alarms(alarms)
    if date is not None and source is None:
        raise ValueError("date is printed on the source line: give source too")
    obs_all = counts_of(counts)
    d = _select(alarms, district, "district", ("district_label_en",))
    c = _select(alarms, category, "category", ("label_en", "label_zh"))
    window = slice(
        None if start is None else pd.Timestamp(start), None if end is None else pd.Timestamp(end)
    )
    series = alarms.sel(district=[d], category=[c]).sel(time=window)
    if series.sizes["time"] == 0:
        raise ValueError(f"no periods between {start} and {end}")
    obs_da = obs_all.sel(district=[d], category=[c]).reindex(time=series["time"].values)
    times = pd.DatetimeIndex(series["time"].values)
    obs = obs_da.values.astype(float).ravel()
    alarm = np.asarray(series["alarm"].values == True, dtype=bool).ravel()  # noqa: E712
    alarm &= np.isfinite(obs)
    expected = series["expected"].values.astype(float).ravel() if "expected" in series else None
    limit = None
    if "upper" in series:
        limit = series["upper"].values.astype(float).ravel()
    elif "threshold" in series and threshold_in_counts(alarms):
        limit = series["threshold"].values.astype(float).ravel()
    if band is None:
        band = limit is not None and expected is not None
    if band and (limit is None or expected is None):
        raise ValueError(
            "band=True needs 'expected' and a limit in requests in alarms ('upper', or"
            " 'threshold' with attrs['units'] = 'requests')"
        )
    freq = _freq(alarms, obs_all)
    half = _half_period(times)
    title = " · ".join([district_labels(series, lang)[0], category_labels(series, lang)[0]])
    if highlight is not None:
        first, last = (pd.Timestamp(v) for v in highlight)
        span = f"{first:%Y-%m-%d}" + ("" if last == first else f" – {last:%Y-%m-%d}")
        title += f" · {_text('预警', 'Alert', lang)} {span}"
    # Small counts are not drawn at their value, nor lines that would show one.
    def withheld(values: np.ndarray) -> np.ndarray:
        return np.asarray(small_cell_mask(pd.Series(values), min_count), dtype=bool)

    small = withheld(obs)
    obs_drawn = np.where(small, np.nan, obs)
    mark_y = np.where(small, float(min_count), obs)
    if expected is not None:
        expected = np.where(withheld(expected), np.nan, expected)
    if limit is not None:
        limit = np.where(withheld(limit), np.nan, limit)
    seen = [v for v in (obs_drawn, expected) if v is not None and np.isfinite(v).any()]
    top = max([float(np.nanmax(v)) for v in seen] + [float(min_count)])
    if band:  # the limit is shown up to twice the data's range, beyond that it is clipped
        near = limit[np.isfinite(limit) & (limit <= 2 * top)]
        top = max(top, float(near.max(initial=0.0)))
    top *= 1.15
    clipped = bool(band) and bool(np.any(np.nan_to_num(limit, nan=0.0) > top))

    with briefing_style():
        fig, ax = plt.subplots(figsize=(9, 5.4))
        handles: list[object] = []
        for i0, i1 in _spans(~np.isfinite(obs)):
            ax.axvspan(
                times[i0] - half,
                times[i1] + half,
                facecolor=NOT_OBSERVED_COLOR,
                edgecolor=HATCH_COLOR,
                hatch="////",
                lw=0,
                zorder=0,
            )
        if (~np.isfinite(obs)).any():
            handles.append(
                Patch(
                    facecolor=NOT_OBSERVED_COLOR,
                    edgecolor=HATCH_COLOR,
                    hatch="////",
                    lw=0,
                    label=_text("未观测", "Not observed", lang),
                )
            )
        if small.any():
            ax.bar(times[small], min_count, width=2 * half, bottom=0, align="center",
                   color=SUPPRESSED_COLOR, lw=0, zorder=0.8)  # fmt: skip
            handles.append(
                Patch(
                    color=SUPPRESSED_COLOR,
                    lw=0,
                    label=_text(f"不公布（1–{min_count - 1}件）",
                                f"Withheld (1–{min_count - 1} requests)", lang),
                )
            )
        for i0, i1 in _spans(alarm):
            ax.axvspan(
                times[i0] - half, times[i1] + half, color=ALARM_COLOR, alpha=0.12, lw=0, zorder=0.5
            )
        if band:
            ax.fill_between(
                times,
                expected,
                np.maximum(limit, expected),
                color=EXPECTED_COLOR,
                alpha=0.22,
                lw=0,
                zorder=1,
            )
            handles.append(
                Patch(
                    color=EXPECTED_COLOR,
                    alpha=0.22,
                    lw=0,
                    label=_text("预期至报警阈值", "Expected to alarm threshold", lang),
                )
            )
        if expected is not None:
            (line,) = ax.plot(
                times,
                expected,
                color=EXPECTED_COLOR,
                lw=1.8,
                zorder=2,
                label=_text("预期", "Expected", lang),
            )
            handles.insert(0, line)
        (line,) = ax.plot(
            times,
            obs_drawn,
            color=OBSERVED_COLOR,
            lw=1.3,
            zorder=3,
            # with withheld periods the line has gaps: dots keep isolated values visible
            marker="o" if len(times) <= 60 or small.any() else None,
            ms=3,
            label=_text("实际", "Observed", lang),
        )
        handles.insert(0, line)
        (marks,) = ax.plot(
            times[alarm],
            mark_y[alarm],
            linestyle="none",
            marker="^",
            ms=8,
            color=ALARM_COLOR,
            markeredgecolor="white",
            markeredgewidth=0.6,
            zorder=4,
            gid=ALARM_MARKS_GID,
            label=_text("报警", "Alarm", lang),
        )
        if alarm.any():
            handles.append(marks)
            handles.append(
                Patch(color=ALARM_COLOR, alpha=0.12, lw=0, label=_text("预警期", "Alert run", lang))
            )

        ax.set_title(title, loc="left")
        zh_per, en_per = _PER_PERIOD.get(str(freq), ("每期", "per period"))
        ax.set_ylabel(_text(f"{zh_per}诉求量", f"Requests {en_per}", lang))
        ax.set_ylim(0, top)
        ax.set_xlim(times[0] - half, times[-1] + half)
        date_axis(ax)
        if clipped:
            handles.append(
                Line2D([], [], linestyle="none", marker=r"$\uparrow$", color=EXPECTED_COLOR,
                       label=_text("阈值超出纵轴", "Threshold above the axis", lang))
            )  # fmt: skip
        detector = alarms.attrs.get("detector")
        legend_title = None
        if detector:
            words = {"zh": method_label(detector, "zh"), "en": method_label(detector, "en")}
            legend_title = {
                "zh": f"检测方法：{words['zh']}", "en": f"Detector: {words['en']}"
            }.get(lang, f"检测方法 Detector: {method_label(detector, 'both')}")
        rank = [_text(*pair, lang) for pair in _TIMELINE_KEYS]
        handles.sort(key=lambda h: next(
            (i for i, r in enumerate(rank) if h.get_label().startswith(r)), len(rank)
        ))  # fmt: skip
        ax.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(0.0, -0.13),
            borderaxespad=0,
            fontsize=9.5,
            title=legend_title,
            title_fontsize=9.5,
            alignment="left",
            ncols=3,
            columnspacing=1.5,
        )
        if source is not None:
            add_source_line(fig, source, date)
    return fig


# --------------------------------------------------------------------------- alert board


def _board_status(
    alarms: xr.Dataset, obs: xr.DataArray, day_idx: int
) -> tuple[np.ndarray, np.ndarray]:
    """Severity code per (district, category) on the day (0 none .. 3 red) and observed."""
    obs_v = obs.values.astype(float)
    alarm = np.asarray(alarms["alarm"].values == True, dtype=bool) & np.isfinite(obs_v)  # noqa: E712
    today = alarm[day_idx]
    status = np.zeros(today.shape, dtype=int)
    if not today.any():
        return status, obs_v[day_idx]
    # Length of the alarm run ending on the day, per series; the window covers the longest.
    run_len = np.cumprod(alarm[: day_idx + 1][::-1], axis=0).sum(axis=0)
    first = day_idx - int(run_len.max()) + 1
    table = alerts(
        alarms.isel(time=slice(first, day_idx + 1)),
        obs.isel(time=slice(first, day_idx + 1)),
        group_hierarchy=False,
    )
    day = pd.Timestamp(alarms["time"].values[day_idx])
    table = table[table["end"] == day]
    d_index = {str(v): i for i, v in enumerate(alarms["district"].values)}
    c_index = {str(v): i for i, v in enumerate(alarms["category"].values)}
    code = {s: 3 - i for i, s in enumerate(SEVERITIES)}
    for row in table.itertuples():
        status[d_index[str(row.district)], c_index[str(row.category)]] = code[row.severity]
    return status, obs_v[day_idx]


def _parent_groups(cat: xr.DataArray) -> tuple[np.ndarray, list[tuple[str, int, int]]]:
    """Category order grouped by parent class (parent-class series first in its group)."""
    codes = [str(c) for c in cat.values]
    parents = (
        [str(p) for p in cat["parent"].values] if "parent" in cat.coords else [""] * len(codes)
    )
    groups = list(dict.fromkeys(parents))
    order: list[int] = []
    spans = []
    for g in groups:
        members = [i for i, p in enumerate(parents) if p == g]
        members.sort(key=lambda i: codes[i] != g)  # the parent-class series itself first
        spans.append((g, len(order), len(order) + len(members)))
        order.extend(members)
    return np.array(order, dtype=int), spans


def alert_board(
    alarms: xr.Dataset,
    counts: xr.Dataset | xr.DataArray,
    *,
    day: object,
    lang: Lang = "both",
    min_count: int = MIN_COUNT,
    taxonomy: Taxonomy | str | None = None,
    source: str | None = None,
    date: dt.date | str | None = None,
) -> Figure:
    """District × category board of alert status on one day.

    Each cell is the severity of the alert running on ``day`` in that series (the run up to
    and including ``day``, no look-ahead; severity rule of :func:`predgov.warn.alerts.alerts`):
    light grey (none), yellow ``!``, amber ``!!`` or red ``!!!``, with the day's observed count
    under the mark (``"<5"`` when between 1 and ``min_count - 1``). Cells not observed on the
    day (NaN) are white with grey hatching. Columns are grouped by parent class (names above).

    Parameters
    ----------
    alarms
        Detector output (``alarm``; ``expected``, ``score``, ``threshold`` for severity).
    counts
        The cube or its ``counts`` DataArray.
    day
        The day (period) shown; must be on the alarms' time axis.
    lang
        ``"zh"``, ``"en"`` or ``"both"``.
    min_count
        Counts 1..min_count-1 are written as ``"<{min_count}"``; 1 shows every count.
    taxonomy
        For parent-class names above the columns; default ``attrs["taxonomy"]``, else
        ``attrs["city"]``, else ``"qingdao"``; unknown codes are shown as codes.
    source, date
        Source line; pass ``date`` for reproducible output.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, pandas as pd, xarray as xr, matplotlib.pyplot as plt
    >>> dims = ("time", "district", "category")
    >>> coords = {"time": pd.date_range("2024-03-01", periods=3), "district": ["市南", "崂山"],
    ...           "category": ["heating", "gas"], "parent": ("category", ["utilities"] * 2)}
    >>> counts = xr.DataArray(np.array([[[5, 6], [7, 8]], [[5, 30], [7, 8]], [[5, 6], [7, 8]]]),
    ...                       dims=dims, coords=coords)
    >>> alarms = xr.Dataset({"alarm": counts > 20, "expected": xr.full_like(counts, 6.0, float)})
    >>> fig = alert_board(alarms, counts, day="2024-03-02", source="test",
    ...                   date="2026-11-28")
    >>> [t.get_text() for t in fig.axes[0].texts]
    ['!!!\\n30']
    >>> plt.close(fig)
    """
    _check_lang(lang)
    _check_alarms(alarms)
    if date is not None and source is None:
        raise ValueError("date is printed on the source line: give source too")
    dims = ("time", "district", "category")
    alarms = alarms.transpose(*dims, ...)
    obs = (
        counts_of(counts)
        .transpose(*dims)
        .reindex(
            time=alarms["time"].values,
            district=alarms["district"].values,
            category=alarms["category"].values,
        )
    )
    times = pd.DatetimeIndex(alarms["time"].values)
    day = pd.Timestamp(day)
    if day not in times:
        raise ValueError(
            f"day {day:%Y-%m-%d} is not on the alarms' time axis "
            f"({times[0]:%Y-%m-%d} .. {times[-1]:%Y-%m-%d})"
        )
    day_idx = int(times.get_loc(day))
    status, today = _board_status(alarms, obs, day_idx)
    not_observed = ~np.isfinite(today)

    if taxonomy is None:
        for obj in (alarms, obs, counts):
            taxonomy = obj.attrs.get("taxonomy") or obj.attrs.get("city")
            if taxonomy:
                break
    try:
        tax = (
            load_taxonomy(taxonomy or "qingdao") if not isinstance(taxonomy, Taxonomy) else taxonomy
        )
    except (FileNotFoundError, ValueError, KeyError):
        tax = None

    # Labels: from the alarms' coordinates, else the cube's.
    label_src = alarms["alarm"]
    for name in ("label_zh", "label_en", "parent", "district_label_en"):
        if name not in label_src.coords and name in obs.coords:
            label_src = label_src.assign_coords({name: obs.coords[name]})
    order, spans = _parent_groups(label_src["category"])
    status, today, not_observed = status[:, order], today[:, order], not_observed[:, order]
    xlabels = [category_labels(label_src, lang)[i] for i in order]
    ylabels = district_labels(label_src, lang)
    n_dist, n_cat = status.shape
    small = small_cell_mask(pd.DataFrame(today), min_count).to_numpy()

    names = ["none", "yellow", "amber", "red"]
    cmap = ListedColormap([BOARD_COLORS[n] for n in names])
    norm = BoundaryNorm(np.arange(-0.5, 4.5), cmap.N)

    with briefing_style():
        longest_y = max((len(s) for s in ylabels), default=4)
        width = _BOARD_COL_IN * n_cat + 0.09 * longest_y + 3.4
        height = 0.42 * n_dist + 3.4
        fig, ax = plt.subplots(figsize=(max(width, 6.5), max(height, 4.5)))
        shown = np.ma.masked_array(status, mask=not_observed)
        ax.pcolormesh(shown, cmap=cmap, norm=norm, edgecolors="white", linewidth=1.0)
        hatch_cells(ax, not_observed, NOT_OBSERVED_COLOR, HATCH_COLOR)
        for i, j in zip(*np.nonzero(status > 0), strict=True):
            level = names[status[i, j]]
            value = f"<{min_count}" if small[i, j] else f"{today[i, j]:,.0f}"
            ax.text(
                j + 0.5,
                i + 0.5,
                f"{BOARD_MARKS[level]}\n{value}",
                ha="center",
                va="center",
                fontsize=8.5,
                linespacing=1.0,
                color="white" if level == "red" else "black",
            )

        layout_district_category_grid(
            ax,
            spans,
            xlabels,
            ylabels,
            group_label=lambda code, n: parent_label(
                code, tax, lang, width=max(int(n * _BOARD_COL_IN * 72 / 5.2) - 1, 5)
            ),
            group_fontsize=9,
            gap_lw=4,
        )

        detector = alarms.attrs.get("detector")
        title = _text("预警看板", "Alert board", lang) + f" · {day:%Y-%m-%d}"
        if detector:
            title += f" · {method_label(detector, lang)}"
        ax.set_title(title, loc="left")
        keys = [
            Patch(
                facecolor=BOARD_COLORS[level],
                edgecolor="none",
                label=_key_label(level, lang),
            )
            for level in ("red", "amber", "yellow", "none")
        ]
        keys.append(
            Patch(
                facecolor=NOT_OBSERVED_COLOR,
                edgecolor=HATCH_COLOR,
                hatch="////",
                lw=0,
                label=_text("未观测", "Not observed", lang),
            )
        )
        note_zh = f"数字：当日诉求量（<{min_count} 不公布）"
        note_en = f"Number: requests that day\n(<{min_count} withheld)"
        note = {"zh": note_zh, "en": note_en}.get(lang, f"{note_zh}\n{note_en}")
        keys.append(Line2D([], [], linestyle="none", label=note))
        ax.legend(
            handles=keys,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            borderaxespad=0,
            fontsize=9.5,
            handlelength=1.4,
            title=_text("预警级别", "Alert level", lang),
            title_fontsize=9.5,
            alignment="left",
        )
        if source is not None:
            add_source_line(fig, source, date)
    return fig
