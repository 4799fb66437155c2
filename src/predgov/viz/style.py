"""Briefing style: one look for every predgov figure, bilingual labels and the source line.

:func:`briefing_style` (context manager) and :func:`apply_briefing_style` load
``predgov.mplstyle`` (clean axes, 11 pt base type, Okabe–Ito colours, viridis, constrained
layout) and the CJK font settings of :mod:`predgov.viz.fonts`. :func:`category_labels` and
:func:`district_labels` turn cube coordinates into Chinese, English or bilingual tick labels;
:func:`add_source_line` writes the small grey "Source: … · date" line every published figure
carries.
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
import os
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import matplotlib as mpl
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.text import Text

from predgov.viz.fonts import cjk_rc_params

#: The style file shipped as package data.
STYLE_PATH = Path(os.fspath(importlib.resources.files("predgov.viz") / "predgov.mplstyle"))

#: Okabe & Ito (2008) colour-blind-safe palette, in the order of the style's colour cycle.
OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)

#: Colour of secondary text (source line, notes): dark enough for print, clearly de-emphasised.
SOURCE_COLOR = "#6E6E6E"

Lang = Literal["zh", "en", "both"]
_LANGS = ("zh", "en", "both")


def apply_briefing_style() -> None:
    """Apply the briefing style and the CJK font settings to the global rcParams.

    Prefer :func:`briefing_style` in library code; this is for notebooks and scripts that want
    every later figure styled.

    Examples
    --------
    >>> import matplotlib as mpl
    >>> with mpl.rc_context():
    ...     apply_briefing_style()
    ...     mpl.rcParams["axes.spines.top"], mpl.rcParams["font.size"]
    (False, 11.0)
    """
    plt.style.use(STYLE_PATH)
    mpl.rcParams.update(cjk_rc_params())


@contextmanager
def briefing_style() -> Iterator[None]:
    """Context in which new figures use the briefing style and render Chinese text.

    rcParams are restored on exit. Artists created inside keep their fonts and colours, so a
    figure built inside may be saved outside (the CJK font stays registered for the process).

    Examples
    --------
    >>> import matplotlib as mpl
    >>> with briefing_style():
    ...     mpl.rcParams["font.family"]
    ['sans-serif', 'Noto Sans CJK SC']
    >>> mpl.rcParams["font.family"] == ["sans-serif", "Noto Sans CJK SC"]
    False
    """
    with mpl.rc_context():
        apply_briefing_style()
        yield


def _check_lang(lang: str) -> None:
    if lang not in _LANGS:
        raise ValueError(f"lang must be one of {_LANGS}, got {lang!r}")


def _join(zh: str, en: str, lang: str) -> str:
    if lang == "zh":
        return zh
    if lang == "en":
        return en
    # Labels that are the same in both (unmapped codes, NYC names) are not doubled.
    return zh if zh.casefold() == en.casefold() else f"{zh} {en}"


def _dim_coord(obj: xr.Dataset | xr.DataArray, dim: str) -> xr.DataArray:
    if not isinstance(obj, xr.Dataset | xr.DataArray):
        raise TypeError(f"expected an xarray Dataset or DataArray, got {type(obj).__name__}")
    if dim not in obj.coords and dim not in obj.dims:
        raise ValueError(f"no {dim!r} coordinate; have {sorted(map(str, obj.coords))}")
    return obj[dim]


def category_labels(obj: xr.Dataset | xr.DataArray, lang: Lang = "both") -> list[str]:
    """Tick labels for the ``category`` coordinate, in its order.

    Parameters
    ----------
    obj
        A cube (Dataset), a DataArray with a ``category`` dim, or the ``category`` coordinate
        itself, carrying the ``label_zh`` and ``label_en`` coordinates of the cube contract.
        A label coordinate that is missing is replaced by the category codes.
    lang
        ``"zh"`` (供热), ``"en"`` (Heating) or ``"both"`` (供热 Heating).

    Examples
    --------
    >>> import xarray as xr
    >>> cat = xr.DataArray([120, 7], dims="category",
    ...                    coords={"category": ["heating", "gas"],
    ...                            "label_zh": ("category", ["供热", "燃气"]),
    ...                            "label_en": ("category", ["Heating", "Gas"])})
    >>> category_labels(cat)
    ['供热 Heating', '燃气 Gas']
    >>> category_labels(cat, lang="en")
    ['Heating', 'Gas']
    """
    _check_lang(lang)
    coord = _dim_coord(obj, "category")
    codes = [str(c) for c in coord.values]
    zh = [str(v) for v in coord["label_zh"].values] if "label_zh" in coord.coords else codes
    en = [str(v) for v in coord["label_en"].values] if "label_en" in coord.coords else codes
    return [_join(z, e, lang) for z, e in zip(zh, en, strict=True)]


def district_labels(obj: xr.Dataset | xr.DataArray, lang: Lang = "both") -> list[str]:
    """Tick labels for the ``district`` coordinate, in its order.

    The district coordinate value is the Chinese name (``市南``) and ``district_label_en`` the
    English one (``Shinan``); a missing English coordinate falls back to the value.

    Examples
    --------
    >>> import xarray as xr
    >>> d = xr.DataArray([30, 12], dims="district",
    ...                  coords={"district": ["市南", "崂山"],
    ...                          "district_label_en": ("district", ["Shinan", "Laoshan"])})
    >>> district_labels(d)
    ['市南 Shinan', '崂山 Laoshan']
    >>> district_labels(d, lang="zh")
    ['市南', '崂山']
    """
    _check_lang(lang)
    coord = _dim_coord(obj, "district")
    zh = [str(v) for v in coord.values]
    en = (
        [str(v) for v in coord["district_label_en"].values]
        if "district_label_en" in coord.coords
        else zh
    )
    return [_join(z, e, lang) for z, e in zip(zh, en, strict=True)]


def _date_text(date: dt.date | str | None) -> str:
    if isinstance(date, str):
        return date
    if isinstance(date, dt.datetime):
        return date.date().isoformat()
    if isinstance(date, dt.date):
        return date.isoformat()
    if date is not None:
        raise TypeError(f"date must be a datetime.date, a string or None, got {type(date)}")
    # The reproducible-builds convention: a fixed build time in seconds since the epoch.
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).date().isoformat()
    return dt.date.today().isoformat()


def add_source_line(
    fig: Figure, source: str, date: dt.date | str | None = None, *, fontsize: float = 8.5
) -> Text:
    """Write "Source: {source} · {date}" in small grey type at the bottom-left of ``fig``.

    Parameters
    ----------
    fig
        The figure. With constrained layout (the briefing style's default) the axes are moved
        up so the line never overlaps tick labels; with other layouts leave room yourself.
    source
        Where the data come from, e.g. ``"predgov demo city (synthetic)"``.
    date
        The date shown: a ``datetime.date`` (written ISO, ``2026-11-28``) or a string used as
        is. **Pass it for reproducible output.** When None the date is taken from the
        ``SOURCE_DATE_EPOCH`` environment variable if set, else today's date, so the same call
        on another day gives different bytes.
    fontsize
        Size in points.

    Returns
    -------
    matplotlib.text.Text
        The text artist.

    Examples
    --------
    >>> import datetime, matplotlib.pyplot as plt
    >>> fig = plt.figure(layout="constrained")
    >>> line = add_source_line(fig, "predgov demo city (synthetic)", datetime.date(2026, 11, 28))
    >>> line.get_text()
    'Source: predgov demo city (synthetic) · 2026-11-28'
    >>> plt.close(fig)
    """
    text = f"Source: {source} · {_date_text(date)}"
    pad_in = 4 / 72  # a little air below, in inches
    artist = fig.text(
        pad_in / fig.get_figwidth(),
        pad_in / fig.get_figheight(),
        text,
        ha="left",
        va="bottom",
        fontsize=fontsize,
        color=SOURCE_COLOR,
    )
    engine = fig.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine):
        # Reserve a strip at the bottom: line height plus padding, as a fraction of the figure.
        strip = (fontsize * 1.4 / 72 + 2 * pad_in) / fig.get_figheight()
        left, bottom, width, height = engine.get()["rect"]
        new_bottom = max(bottom, strip)
        engine.set(rect=(left, new_bottom, width, height - (new_bottom - bottom)))
    return artist


# --------------------------------------------------------------------------- text and dates

#: Tokens of a label: one CJK (wide) character, a run of other non-space characters, or spaces.
_TOKENS = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]|[^\s\u2e80-\u9fff"
                     r"\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]+|\s+")


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrap_label(text: str, width: int) -> str:
    """Wrap a label to lines of at most ``width`` columns (a CJK character counts two).

    Latin words are never split (a word longer than ``width`` gets a line of its own); CJK
    text may break between any two characters. Existing line breaks are kept.

    Examples
    --------
    >>> print(wrap_label("Housing and property", 6))
    Housing
    and
    property
    >>> print(wrap_label("住房与物业管理 Housing", 8))
    住房与物
    业管理
    Housing
    """
    if width < 1:
        raise ValueError(f"width must be >= 1, got {width}")
    out: list[str] = []
    for paragraph in str(text).split("\n"):
        lines: list[str] = []
        line = ""
        for token in _TOKENS.findall(paragraph):
            if token.isspace():
                if line:
                    line += " "
                continue
            if line and _width(line + token) > width:
                lines.append(line.rstrip())
                line = ""
            line += token
        lines.append(line.rstrip())
        out.extend(lines)
    return "\n".join(out)


class _YearDateFormatter(mdates.ConciseDateFormatter):
    """Concise date ticks that always show the year: on the first tick (and wherever the
    concise formatter shows it), never only in the offset text, which a legend can hide."""

    def format_ticks(self, values):  # type: ignore[no-untyped-def]
        labels = list(super().format_ticks(values))
        if labels:
            year = str(mdates.num2date(values[0]).year)
            if year not in labels[0]:
                labels[0] = f"{labels[0]}\n{year}"
        return labels


def date_axis(ax: Axes, *, minticks: int = 4, maxticks: int = 9) -> None:
    """Concise date ticks on the x axis of ``ax`` with the year always written on the axis.

    Examples
    --------
    >>> import pandas as pd
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot(pd.date_range("2024-03-01", periods=60), range(60))
    >>> date_axis(ax)
    >>> fig.canvas.draw()
    >>> [t.get_text().split() for t in ax.get_xticklabels()][:2]
    [['Mar', '2024'], ['15']]
    >>> plt.close(fig)
    """
    locator = mdates.AutoDateLocator(minticks=minticks, maxticks=maxticks)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(_YearDateFormatter(locator, show_offset=False))
