"""save_figure: PNG/SVG/PDF side by side, 300 dpi, identical bytes on every save."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure
from PIL import Image

from predgov.viz import briefing_style, save_figure


@pytest.fixture
def fig() -> Iterator[Figure]:
    with briefing_style():
        figure, ax = plt.subplots(figsize=(4, 2))
        ax.plot([0, 1, 2], [3, 1, 2], label="供热 Heating")
        ax.set_title("市南 · 消费纠纷")
        ax.legend()
    yield figure
    plt.close(figure)


@pytest.mark.parametrize("name", ["brief/fig1", "brief/fig1.png", "brief/fig1.PDF"])
def test_writes_all_formats_side_by_side(fig: Figure, tmp_path: Path, name: str) -> None:
    written = save_figure(fig, tmp_path / name)
    folder = tmp_path / "brief"
    assert written == [folder / "fig1.png", folder / "fig1.svg", folder / "fig1.pdf"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in written)
    assert written[0].read_bytes().startswith(b"\x89PNG")
    assert b"<svg" in written[1].read_bytes()[:1000]
    assert written[2].read_bytes().startswith(b"%PDF")


def test_other_suffixes_stay_in_the_name(fig: Figure, tmp_path: Path) -> None:
    written = save_figure(fig, str(tmp_path / "fig.v2"), formats="png")
    assert written == [tmp_path / "fig.v2.png"]


def test_png_is_300_dpi(fig: Figure, tmp_path: Path) -> None:
    (png,) = save_figure(fig, tmp_path / "f", formats=["png"])
    with Image.open(png) as im:
        assert im.size == (1200, 600)  # 4 x 2 inches
        assert im.info["dpi"] == pytest.approx((300, 300), abs=0.01)


def test_no_time_stamps_in_vector_files(fig: Figure, tmp_path: Path) -> None:
    _, svg, pdf = save_figure(fig, tmp_path / "f")
    assert b"<dc:date>" not in svg.read_bytes()
    assert b"/CreationDate" not in pdf.read_bytes()


def test_same_figure_gives_identical_bytes(fig: Figure, tmp_path: Path) -> None:
    first = save_figure(fig, tmp_path / "a" / "f")
    second = save_figure(fig, tmp_path / "b" / "f")
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.suffix


_SCRIPT = textwrap.dedent(
    """
    import sys
    import matplotlib.pyplot as plt
    from predgov.viz import briefing_style, save_figure
    with briefing_style():
        fig, ax = plt.subplots(figsize=(4, 2))
        ax.bar(["供热 Heating", "燃气 Gas"], [12, 7])
        ax.set_title("市南")
    save_figure(fig, sys.argv[1])
    """
)


def test_separate_processes_give_identical_bytes(tmp_path: Path) -> None:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    for run in ("a", "b"):
        subprocess.run(
            [sys.executable, "-c", _SCRIPT, str(tmp_path / run / "f")], check=True, env=env
        )
    for fmt in ("png", "svg", "pdf"):
        a, b = (tmp_path / run / f"f.{fmt}" for run in ("a", "b"))
        assert a.read_bytes() == b.read_bytes(), fmt


@pytest.mark.parametrize("formats", [(), ("png", "jpg"), ("png", "png")])
def test_bad_formats_are_rejected(fig: Figure, tmp_path: Path, formats: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="formats"):
        save_figure(fig, tmp_path / "f", formats=formats)
