"""CJK glyphs on any machine: register the Noto Sans CJK SC font shipped by ``mplfonts``.

Matplotlib's bundled DejaVu Sans has no Chinese glyphs, so a category label such as "供热" would
render as empty boxes (with a "Glyph ... missing from font" warning). The ``mplfonts`` package
(a predgov dependency) ships ``NotoSansCJKsc-Regular.otf``; we find that file inside the installed
package and add it to matplotlib's in-memory font list. Nothing is written to matplotlib's config
directory, no font file is copied, and mplfonts' own CLI is not used.

Why ``font.family`` and not only ``font.sans-serif``: matplotlib (>= 3.6) falls back glyph by
glyph across the entries of the ``font.family`` *list*, but a generic entry such as
``"sans-serif"`` resolves to the first installed font of ``font.sans-serif`` alone. Putting Noto
after DejaVu Sans in ``font.sans-serif`` therefore never reaches it (DejaVu is always installed).
:func:`cjk_rc_params` sets ``font.family = ["sans-serif", "Noto Sans CJK SC"]``: Latin text keeps
the Latin font and each Chinese glyph falls back to Noto. Text drawn with an explicit single
family (``ax.text(..., family="DejaVu Sans")``) bypasses that fallback.
"""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path

from matplotlib import font_manager, ft2font

#: Package that ships the CJK font file, and the file inside it (``mplfonts/fonts/``).
FONT_PACKAGE = "mplfonts"
CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"
#: Font used for Latin text: ships with matplotlib, so figures look the same on every machine.
LATIN_FONT = "DejaVu Sans"


def cjk_font_path() -> Path:
    """Path of ``NotoSansCJKsc-Regular.otf`` inside the installed ``mplfonts`` package.

    Raises
    ------
    ImportError
        If ``mplfonts`` is not installed.
    FileNotFoundError
        If the installed ``mplfonts`` does not contain the font file.

    Examples
    --------
    >>> cjk_font_path().name
    'NotoSansCJKsc-Regular.otf'
    """
    try:
        root = importlib.resources.files(FONT_PACKAGE)
    except ModuleNotFoundError as err:
        raise ImportError(
            f"predgov.viz needs the {FONT_PACKAGE!r} package for its Chinese font "
            f"({CJK_FONT_FILE}); install it with `pip install {FONT_PACKAGE}` "
            "(it is a predgov dependency, so `pip install -e .` also brings it)"
        ) from err
    path = Path(os.fspath(root / "fonts" / CJK_FONT_FILE))
    if not path.is_file():
        raise FileNotFoundError(
            f"{FONT_PACKAGE} is installed but has no fonts/{CJK_FONT_FILE} (looked at {path}); "
            f"reinstall it with `pip install --force-reinstall {FONT_PACKAGE}`"
        )
    return path


def register_cjk_font() -> str:
    """Add the Noto Sans CJK SC font to matplotlib's font manager; return its family name.

    Safe to call repeatedly: the file is added only once per process.

    Examples
    --------
    >>> register_cjk_font()
    'Noto Sans CJK SC'
    >>> from matplotlib import font_manager
    >>> path = font_manager.findfont(font_manager.FontProperties(family="Noto Sans CJK SC"),
    ...                              fallback_to_default=False)
    >>> path.endswith("NotoSansCJKsc-Regular.otf")
    True
    """
    path = os.fsdecode(cjk_font_path())
    family = font_manager.ttfFontProperty(ft2font.FT2Font(path)).name
    if not any(os.fsdecode(entry.fname) == path for entry in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(path)
    return family


def cjk_rc_params() -> dict[str, object]:
    """rcParams that render Latin text in DejaVu Sans and Chinese glyphs in Noto Sans CJK SC.

    Registers the font first. ``font.family`` carries the per-glyph fallback (see the module
    docstring); Noto is also listed in ``font.sans-serif`` after the Latin font so code that
    picks a font by ``font.sans-serif`` alone still finds a CJK font on the list.

    Examples
    --------
    >>> cjk_rc_params()["font.family"]
    ['sans-serif', 'Noto Sans CJK SC']
    """
    family = register_cjk_font()
    return {
        "font.family": ["sans-serif", family],
        "font.sans-serif": [LATIN_FONT, family],
        # The CJK font has a proper minus glyph too, but DejaVu's is used first either way.
        "axes.unicode_minus": True,
    }
