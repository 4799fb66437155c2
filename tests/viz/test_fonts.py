"""CJK glyphs render from the mplfonts font, with Latin text kept in DejaVu Sans."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import pytest
from matplotlib import font_manager

from predgov.viz import briefing_style, cjk_font_path, cjk_rc_params, register_cjk_font
from predgov.viz.fonts import LATIN_FONT

CHINESE = "市南 · 消费纠纷"


def _width(text: str, **rc: object) -> float:
    """Rendered width (pixels) of ``text`` at 20 pt under the given rcParams."""
    with mpl.rc_context(rc):
        fig = plt.figure()
        artist = fig.text(0, 0, text, fontsize=20)
        fig.canvas.draw()
        width = artist.get_window_extent().width
    plt.close(fig)
    return width


def test_font_file_comes_from_installed_mplfonts() -> None:
    import mplfonts

    path = cjk_font_path()
    assert path.is_file()
    assert path.name == "NotoSansCJKsc-Regular.otf"
    assert path.parent.parent == Path(mplfonts.__file__).parent


def test_missing_mplfonts_raises_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mplfonts", None)  # import now fails as if not installed
    with pytest.raises(ImportError, match="pip install mplfonts"):
        cjk_font_path()


def test_registration_resolves_family_to_the_noto_file_once() -> None:
    family = register_cjk_font()
    register_cjk_font()
    path = str(cjk_font_path())
    found = font_manager.findfont(
        font_manager.FontProperties(family=family), fallback_to_default=False
    )
    assert Path(found) == Path(path)
    entries = [e for e in font_manager.fontManager.ttflist if str(e.fname) == path]
    assert len({e.name for e in entries}) == len(entries)  # no duplicates from repeat calls


def test_rc_params_put_noto_after_the_latin_font() -> None:
    rc = cjk_rc_params()
    assert rc["font.family"] == ["sans-serif", "Noto Sans CJK SC"]
    assert rc["font.sans-serif"] == [LATIN_FONT, "Noto Sans CJK SC"]


def test_without_the_fallback_chinese_glyphs_are_missing() -> None:
    """Control: the check below can fail — DejaVu Sans alone lacks these glyphs."""
    with mpl.rc_context({"font.family": [LATIN_FONT]}):
        fig, ax = plt.subplots()
        ax.set_title(CHINESE)
        with pytest.warns(UserWarning, match="missing from font"):
            fig.canvas.draw()
    plt.close(fig)


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_chinese_renders_without_missing_glyph_warnings(tmp_path: Path, fmt: str) -> None:
    with briefing_style():
        fig, ax = plt.subplots()
        ax.set_title(CHINESE)
        ax.set_xlabel("供热 Heating")
        ax.text(0.5, 0.5, "供热")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.savefig(tmp_path / f"cjk.{fmt}", format=fmt)  # saved outside the style context
    plt.close(fig)
    if fmt == "pdf":
        assert b"NotoSansCJKsc" in (tmp_path / "cjk.pdf").read_bytes()  # the font is embedded


def test_latin_stays_in_latin_font_and_chinese_falls_back_per_glyph() -> None:
    with briefing_style():
        mixed_latin = _width("Heating")
        mixed_cjk = _width("供热")
    noto = "Noto Sans CJK SC"
    assert mixed_latin == pytest.approx(_width("Heating", **{"font.family": [LATIN_FONT]}))
    assert mixed_cjk == pytest.approx(_width("供热", **{"font.family": [noto]}))
    # The two fonts give different Latin widths, so the first assertion is a real check.
    assert _width("Heating", **{"font.family": [noto]}) != pytest.approx(mixed_latin)
