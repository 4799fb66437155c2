"""District × category heatmap of request totals, with small cells suppressed.

Four kinds of cell are drawn differently so a reader never confuses them: a count (colour on
the viridis scale, 0 included), a suppressed count (1..min_count-1, light grey with ``<5``), a
cell withheld so that a suppressed one cannot be derived from the row or column total (light
grey with ``×``; :func:`predgov.viz.suppress.complementary_mask`) and a cell not observed (NaN
in the cube: white with grey hatching). The colour bar says when its scale is a square root.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Literal

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.colors import Normalize, PowerNorm
from matplotlib.figure import Figure, SubFigure
from matplotlib.patches import Patch, Rectangle

from predgov.data.cube import counts_of
from predgov.data.taxonomy import Taxonomy, load_taxonomy
from predgov.paths import conf_dir
from predgov.viz._grid import hatch_cells, layout_district_category_grid, parent_label
from predgov.viz.style import (
    Lang,
    add_source_line,
    briefing_style,
    category_labels,
    district_labels,
)
from predgov.viz.suppress import MIN_COUNT, complementary_mask, small_cell_mask

#: Fill of suppressed cells and of not-observed cells (hatched), and the hatch colour.
SUPPRESSED_COLOR = "#D4D4D4"
NOT_OBSERVED_COLOR = "white"
HATCH_COLOR = "#9A9A9A"

_PERIOD_NAMES = {"D": "day", "W-MON": "week", "MS": "month"}
#: Mark of a cell withheld to protect a suppressed one (complementary suppression).
COMPLEMENT_MARK = "×"
_SQRT_NOTE = {"zh": "平方根刻度", "en": "square-root scale", "both": "平方根刻度 square-root scale"}


def _grid_counts(counts: xr.Dataset | xr.DataArray) -> xr.DataArray:
    """:func:`predgov.data.cube.counts_of`, checked to be district × category (× time)."""
    counts = counts_of(counts)
    missing = {"district", "category"} - set(counts.dims)
    extra = set(counts.dims) - {"time", "district", "category"}
    if missing or extra:
        raise ValueError(
            "counts needs dims (time,) district, category"
            f" (grid-level data: sum to districts first); got {counts.dims}"
        )
    return counts


def _reduce(
    counts: xr.DataArray, reducer: str | Callable[[xr.DataArray], xr.DataArray]
) -> tuple[xr.DataArray, xr.DataArray, str]:
    """(values shown, totals over observed periods for suppression, colourbar title)."""
    units = str(counts.attrs.get("units", "requests")).capitalize()
    if "time" not in counts.dims:
        return counts, counts, units
    totals = counts.sum("time", skipna=True, min_count=1)
    freq = str(counts["time"].attrs.get("freq", counts.attrs.get("freq", "")))
    times = pd.DatetimeIndex(counts["time"].values)
    stamp = "%Y-%m" if freq == "MS" else "%Y-%m-%d"
    first, last = f"{times[0]:{stamp}}", f"{times[-1]:{stamp}}"
    span = first if first == last else f"{first} – {last}"
    if reducer == "sum":
        # A total over a window with unobserved periods would understate: not observed.
        return counts.sum("time", skipna=False), totals, f"{units}, total\n{span}"
    if reducer == "mean":
        per = _PERIOD_NAMES.get(freq, "period")
        label = f"{units} per {per} (mean)\n{span}"
        return counts.mean("time", skipna=True), totals, label
    if callable(reducer):
        values = reducer(counts)
        if "time" in values.dims:
            raise ValueError(f"reducer must remove the 'time' dim, returned dims {values.dims}")
        return values, totals, f"{units}\n{span}"
    raise ValueError(f"reducer must be 'sum', 'mean' or a callable, got {reducer!r}")


def _parent_order(cat: xr.DataArray) -> tuple[np.ndarray, list[tuple[str, int, int]]]:
    """Category positions grouped by parent (first-appearance order) and the groups' spans."""
    parents = [str(p) for p in cat["parent"].values] if "parent" in cat.coords else [""] * cat.size
    groups = list(dict.fromkeys(parents))
    order = np.array([i for g in groups for i, p in enumerate(parents) if p == g], dtype=int)
    spans, start = [], 0
    for g in groups:
        n = parents.count(g)
        spans.append((g, start, start + n))
        start += n
    return order, spans


def _matching_taxonomy(cat: xr.DataArray) -> Taxonomy | None:
    """The shipped taxonomy (``conf/taxonomy/*.csv``) whose codes, parents and Chinese labels
    all agree with the cube's category coordinates, if exactly one does."""
    if "parent" not in cat.coords or "label_zh" not in cat.coords:
        return None
    codes = [str(c) for c in cat.values]
    have = {k: [str(v) for v in cat[k].values] for k in ("parent", "label_zh")}
    matches = []
    for path in sorted((conf_dir() / "taxonomy").glob("*.csv")):
        tax = load_taxonomy(path)
        if all(c in tax.categories.index for c in codes) and all(
            tax.coords(codes)[k][1] == have[k] for k in have
        ):
            matches.append(tax)
    return matches[0] if len(matches) == 1 else None


def _value_format(values: np.ndarray) -> str:
    """One format for every cell: whole numbers for counts, one decimal for means."""
    return "{:,.0f}" if np.all(np.mod(values, 1) == 0) else "{:,.1f}"


def district_category_heatmap(
    counts: xr.Dataset | xr.DataArray,
    *,
    lang: Lang = "both",
    min_count: int = MIN_COUNT,
    reducer: Literal["sum", "mean"] | Callable[[xr.DataArray], xr.DataArray] = "sum",
    scale: Literal["sqrt", "linear"] = "sqrt",
    annotate: bool = False,
    taxonomy: Taxonomy | str | None = None,
    title: str | None = None,
    source: str | None = None,
    date: dt.date | str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Heatmap of requests per district (rows) and category (columns, grouped by parent).

    Parameters
    ----------
    counts
        A cube Dataset with ``counts`` or the ``counts`` DataArray, dims ``(time,) district,
        category``; without ``time`` the values are drawn as given.
    lang
        Label language: ``"zh"``, ``"en"`` or ``"both"`` (bilingual).
    min_count
        Cells whose total over the observed periods is 1..min_count-1 are suppressed and drawn
        light grey with ``"<{min_count}"``; 1 suppresses nothing.
    reducer
        How ``time`` is reduced: ``"sum"`` (total; a cell with any unobserved period is drawn
        as not observed, since its total would understate), ``"mean"`` (mean per period over
        the observed periods), or a callable taking and returning a DataArray without ``time``.
    scale
        Colour scale: ``"sqrt"`` (default; hotline counts are skewed, a square-root scale keeps
        small districts visible while 0 stays at the bottom) or ``"linear"``.
    annotate
        Write each published value in its cell.
    taxonomy
        Taxonomy (or its name, e.g. ``"qingdao"``) for the parent-class labels above the
        columns. Default: ``counts.attrs["taxonomy"]`` if set, else the shipped taxonomy whose
        codes, parents and Chinese labels match the cube's coordinates; failing both, the
        parent codes are shown.
    title, source, date
        Axes title; source line (see :func:`predgov.viz.add_source_line`, which ``date`` is
        passed to; give ``date`` for reproducible output).
    ax
        Axes to draw in; by default a new figure sized to the table.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, pandas as pd, xarray as xr, matplotlib.pyplot as plt
    >>> da = xr.DataArray(
    ...     np.array([[[40, 3], [0, 12]]]), dims=("time", "district", "category"),
    ...     coords={"time": pd.date_range("2024-01-01", periods=1), "district": ["市南", "崂山"],
    ...             "district_label_en": ("district", ["Shinan", "Laoshan"]),
    ...             "category": ["heating", "gas"], "parent": ("category", ["utilities"] * 2),
    ...             "label_zh": ("category", ["供热", "燃气"]),
    ...             "label_en": ("category", ["Heating", "Gas"])})
    >>> fig = district_category_heatmap(da, title="Requests", source="test", date="2026-11-28")
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['市南 Shinan', '崂山 Laoshan']
    >>> plt.close(fig)
    """
    da = _grid_counts(counts)
    if date is not None and source is None:
        raise ValueError("date is printed on the source line: give source too")
    if scale not in ("sqrt", "linear"):
        raise ValueError(f"scale must be 'sqrt' or 'linear', got {scale!r}")
    if taxonomy is None:
        taxonomy = da.attrs.get("taxonomy") or (
            counts.attrs.get("taxonomy") if isinstance(counts, xr.Dataset) else None
        )
    if taxonomy is None:
        taxonomy = _matching_taxonomy(da["category"])
    tax = load_taxonomy(taxonomy) if isinstance(taxonomy, str) else taxonomy

    values, totals, cbar_label = _reduce(da, reducer)
    if scale == "sqrt":
        cbar_label = f"{cbar_label}\n{_SQRT_NOTE.get(lang, _SQRT_NOTE['both'])}"
    values = values.transpose("district", "category")
    totals = totals.transpose("district", "category")
    small = small_cell_mask(totals, min_count)
    withheld = complementary_mask(totals.to_pandas(), min_count).to_numpy()
    not_observed = values.isnull()
    suppressed = small & ~not_observed
    complement = xr.DataArray(withheld, dims=values.dims) & ~small & ~not_observed

    order, spans = _parent_order(values["category"])
    values = values.isel(category=order)
    suppressed = suppressed.isel(category=order).values
    complement = complement.isel(category=order).values
    not_observed = not_observed.isel(category=order).values
    n_dist, n_cat = values.shape
    xlabels = category_labels(values, lang)
    ylabels = district_labels(values, lang)

    with briefing_style():
        if ax is None:
            longest_y = max((len(s) for s in ylabels), default=4)
            width = 0.45 * n_cat + 0.09 * longest_y + 2.8
            height = 0.38 * n_dist + 3.6
            fig, ax = plt.subplots(figsize=(max(width, 6.0), max(height, 4.5)))
        fig = ax.figure
        while isinstance(fig, SubFigure):  # draw the source line on the root figure
            fig = fig.figure

        hidden = not_observed | suppressed | complement
        shown = np.ma.masked_array(values.values.astype(float), mask=hidden)
        vmax = float(shown.max()) if shown.count() else 1.0
        vmax = max(vmax, 1.0)
        norm = PowerNorm(0.5, vmin=0, vmax=vmax) if scale == "sqrt" else Normalize(0, vmax)
        cmap = mpl.colormaps[mpl.rcParams["image.cmap"]].with_extremes(bad=NOT_OBSERVED_COLOR)
        mesh = ax.pcolormesh(shown, cmap=cmap, norm=norm, edgecolors="white", linewidth=0.6)

        for i, j in zip(*np.nonzero(suppressed | complement), strict=True):
            ax.add_patch(
                Rectangle((j, i), 1, 1, facecolor=SUPPRESSED_COLOR, edgecolor="white", lw=0.6)
            )
            ax.text(
                j + 0.5,
                i + 0.5,
                f"<{min_count}" if suppressed[i, j] else COMPLEMENT_MARK,
                ha="center",
                va="center",
                fontsize=8,
                color="#404040",
            )
        hatch_cells(ax, not_observed, NOT_OBSERVED_COLOR, HATCH_COLOR)
        if annotate:
            fmt = _value_format(shown.compressed())
            for i, j in zip(*np.nonzero(~shown.mask), strict=True):
                v = float(shown[i, j])
                light = norm(v) < 0.6  # dark end of viridis: white text
                ax.text(
                    j + 0.5,
                    i + 0.5,
                    fmt.format(v),
                    ha="center",
                    va="center",
                    fontsize=7.5,
                    color="white" if light else "black",
                )

        # Parent groups: thicker white gaps between groups, their names above the columns.
        layout_district_category_grid(
            ax,
            spans,
            xlabels,
            ylabels,
            # English names wrap to the group's width (7 characters a column, at least 6).
            group_label=lambda code, n: parent_label(code, tax, lang, width=max(int(n * 7), 6)),
            group_fontsize=9.5,
            gap_lw=3,
        )
        if title is not None:
            ax.set_title(title, loc="left")

        cbar = fig.colorbar(mesh, ax=ax, shrink=0.75, anchor=(0.0, 1.0), pad=0.02)
        # Heading above the bar rather than a rotated label beside it (a rotated label longer
        # than a short bar would run into the legend below). An annotation, not an axes title:
        # constrained layout counts a title as 1 px wide and would cut it at the figure edge.
        cbar.ax.annotate(
            cbar_label,
            xy=(0, 1),
            xycoords="axes fraction",
            xytext=(0, 10),
            textcoords="offset points",
            ha="left",
            va="bottom",
            fontsize=9.5,
        )
        cbar.ax.tick_params(labelsize=9.5)
        cbar.outline.set_visible(False)
        keys = []
        if suppressed.any():
            keys.append(
                Patch(
                    facecolor=SUPPRESSED_COLOR,
                    label=f"<{min_count}: suppressed (total 1–{min_count - 1})",
                )
            )
        if complement.any():
            keys.append(
                Patch(
                    facecolor=SUPPRESSED_COLOR,
                    label=f"{COMPLEMENT_MARK}: withheld so that <{min_count} cells\n"
                    "cannot be derived from totals",
                )
            )
        if not_observed.any():
            keys.append(
                Patch(
                    facecolor=NOT_OBSERVED_COLOR,
                    edgecolor=HATCH_COLOR,
                    hatch="////",
                    lw=0,
                    label="not observed",
                )
            )
        if keys:
            cbar.ax.legend(
                handles=keys,
                loc="upper left",
                bbox_to_anchor=(0.0, -0.04),
                fontsize=9,
                handlelength=1.4,
                borderaxespad=0,
            )
        if source is not None:
            add_source_line(fig, source, date)
    return fig
