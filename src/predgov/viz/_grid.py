"""Pieces shared by the district × category grids: heatmap, alert board, relative-skill map."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle

from predgov.data.taxonomy import Taxonomy
from predgov.viz.style import wrap_label


def parent_label(code: str, taxonomy: Taxonomy | None, lang: str, width: int) -> str:
    """Label above a parent group: its Chinese and/or English name (English wrapped to
    ``width`` characters at word boundaries, :func:`predgov.viz.style.wrap_label`); the code,
    wrapped, if ``taxonomy`` does not know it.

    Examples
    --------
    >>> print(parent_label("housing_and_property", None, "en", width=6))
    housing
    and
    property
    """
    if taxonomy is None or code not in taxonomy.table.index:
        return wrap_label(code.replace("_", " "), width=width)
    zh = taxonomy.parent_label(code, "zh")
    en = wrap_label(taxonomy.parent_label(code, "en"), width=width)
    return {"zh": zh, "en": en}.get(lang, f"{zh}\n{en}")


def hatch_cells(ax: Axes, mask: np.ndarray, facecolor: str, hatch_color: str) -> None:
    """Cover the cells where ``mask`` (rows × columns) is true with a hatched patch."""
    for i, j in zip(*np.nonzero(mask), strict=True):
        ax.add_patch(
            Rectangle(
                (j, i),
                1,
                1,
                facecolor=facecolor,
                edgecolor=hatch_color,
                hatch="////",
                lw=0,
            )
        )


def layout_district_category_grid(
    ax: Axes,
    spans: Sequence[tuple[str, int, int]],
    xlabels: Sequence[str],
    ylabels: Sequence[str],
    *,
    gap_lw: float,
    group_label: Callable[[str, int], str] | None = None,
    group_fontsize: float | None = None,
) -> None:
    """Axes furniture of a grid drawn with ``pcolormesh`` (one unit per cell) in ``ax``.

    White gaps of width ``gap_lw`` between the parent groups ``spans`` (``(code, start, stop)``
    column ranges); unless ``group_label`` is None, the group names on a secondary top axis
    (``group_label(code, n_columns)``, in ``group_fontsize``); category labels rotated under the
    columns, district labels on the rows (first on top); no ticks, grid or spines.
    """
    n_dist, n_cat = len(ylabels), len(xlabels)
    for _, start, _ in spans[1:]:
        ax.axvline(start, color="white", lw=gap_lw)
    if group_label is not None:
        top = ax.secondary_xaxis("top")
        top.set_xticks(
            [(a + b) / 2 for _, a, b in spans],
            [group_label(code, b - a) for code, a, b in spans],
            fontsize=group_fontsize,
        )
        top.tick_params(length=0, pad=2)
        top.spines["top"].set_visible(False)
    ax.set_xticks(
        np.arange(n_cat) + 0.5,
        xlabels,
        rotation=50,
        ha="right",
        rotation_mode="anchor",
        fontsize=10,
    )
    ax.set_yticks(np.arange(n_dist) + 0.5, ylabels, fontsize=10.5)
    ax.tick_params(length=0)
    ax.set_xlim(0, n_cat)
    ax.set_ylim(n_dist, 0)  # first district on top
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
