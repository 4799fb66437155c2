"""Save a figure as PNG, SVG and PDF side by side, with the same bytes on every run.

Matplotlib stamps PDF and SVG files with the creation time and salts SVG element ids with a
random value; both are switched off here, so the same figure from the same config and seed gives
byte-identical files (DESIGN.md, "Configuration and runs"). PNG carries no time stamp. The
files do name the matplotlib version ("Software"/"Producer"), so bytes match for the same
library versions.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Sequence
from pathlib import Path

import matplotlib as mpl
from matplotlib.figure import Figure

#: Formats save_figure writes, with the metadata that removes time stamps from each.
_METADATA: dict[str, dict[str, None]] = {
    "png": {},
    "svg": {"Date": None},
    "pdf": {"CreationDate": None, "ModDate": None},
}
#: Fixed salt for SVG element ids (matplotlib otherwise draws a random one per file).
SVG_HASHSALT = "predgov"


def _stem(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    if path.suffix.lower().lstrip(".") in _METADATA:
        return path.with_suffix("")
    return path


def save_figure(
    fig: Figure,
    path: str | os.PathLike[str],
    formats: Sequence[str] = ("png", "svg", "pdf"),
    dpi: int = 300,
) -> list[Path]:
    """Write ``fig`` once per format next to each other, creating parent directories.

    Parameters
    ----------
    fig
        The figure.
    path
        Target without suffix (``out/heatmap``) or with one of the format suffixes
        (``out/heatmap.png``); each format replaces it (``heatmap.png``, ``.svg``, ``.pdf``).
        Any other suffix is kept as part of the name (``fig.v2`` → ``fig.v2.png``).
    formats
        Any of ``"png"``, ``"svg"``, ``"pdf"``, in the order written.
    dpi
        Resolution of the PNG (and of raster parts inside the vector files).

    Returns
    -------
    list[pathlib.Path]
        The written files, in the order of ``formats``.

    Examples
    --------
    >>> import tempfile, matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     [p.name for p in save_figure(fig, f"{tmp}/brief/fig1.png", formats=("png", "svg"))]
    ['fig1.png', 'fig1.svg']
    >>> plt.close(fig)
    """
    if isinstance(formats, str):
        formats = (formats,)
    formats = [f.lower().lstrip(".") for f in formats]
    unknown = [f for f in formats if f not in _METADATA]
    if unknown or not formats:
        raise ValueError(f"formats must be a non-empty subset of {list(_METADATA)}, got {formats}")
    if len(set(formats)) != len(formats):
        raise ValueError(f"formats repeat an entry: {formats}")
    stem = _stem(path)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    with mpl.rc_context({"svg.hashsalt": SVG_HASHSALT}):
        for fmt in formats:
            target = stem.with_name(f"{stem.name}.{fmt}")
            fig.savefig(target, format=fmt, dpi=dpi, metadata=_METADATA[fmt])
            written.append(target)
    return written


#: What a file-name part may hold: lower-case ASCII letters, digits, ``_`` and ``-``.
_SAFE = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


def file_slug(label: object, index: int, prefix: str, known: Collection[str] = ()) -> str:
    """A file-name part for a series, never built from an arbitrary label.

    The label itself only when it is one of the ``known`` codes (e.g. taxonomy category codes)
    and plain ASCII (``[a-z0-9_-]``, at most 40 characters); otherwise ``prefix`` and the
    series' position, e.g. ``"d03"``. So text from the data (a name or a phone number typed
    into a category cell) can never reach a file name.

    Examples
    --------
    >>> file_slug("heating", 4, "c", known={"heating"})
    'heating'
    >>> file_slug("供暖 张三丰 13800001111", 7, "c", known={"heating"})
    'c07'
    >>> file_slug("market_5551234", 2, "c")
    'c02'
    """
    text = str(label)
    if text in known and _SAFE.fullmatch(text):
        return text
    return f"{prefix}{int(index):02d}"
