"""Figures for policy briefings: one style, CJK-safe fonts, small-cell suppression, saving.

Every predgov figure builds on this package: :func:`briefing_style` for the look (Okabe–Ito
colours, viridis, large type, Chinese glyphs via the Noto font shipped by ``mplfonts``),
:func:`category_labels` / :func:`district_labels` for bilingual labels, :func:`add_source_line`
for the source and date, :func:`suppress_small` / :func:`format_table` before publishing counts,
and :func:`save_figure` for byte-reproducible PNG, SVG and PDF files. :func:`brief` writes the
one-to-two-page brief (``brief.pdf``, ``brief.html``) of a run directory.
"""

# The function shadows its module's name on purpose: ``predgov.viz.brief(run_dir)`` (DESIGN.md).
from predgov.viz.brief import brief
from predgov.viz.fonts import cjk_font_path, cjk_rc_params, register_cjk_font
from predgov.viz.heatmap import district_category_heatmap
from predgov.viz.save import save_figure
from predgov.viz.style import (
    OKABE_ITO,
    STYLE_PATH,
    add_source_line,
    apply_briefing_style,
    briefing_style,
    category_labels,
    district_labels,
)
from predgov.viz.suppress import MIN_COUNT, format_table, small_cell_mask, suppress_small

__all__ = [
    "MIN_COUNT",
    "OKABE_ITO",
    "STYLE_PATH",
    "add_source_line",
    "apply_briefing_style",
    "brief",
    "briefing_style",
    "category_labels",
    "cjk_font_path",
    "cjk_rc_params",
    "district_category_heatmap",
    "district_labels",
    "format_table",
    "register_cjk_font",
    "save_figure",
    "small_cell_mask",
    "suppress_small",
]
