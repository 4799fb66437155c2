"""Briefing style, bilingual labels and the source line."""

from __future__ import annotations

import datetime as dt
import warnings

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from matplotlib.colors import to_hex

from predgov.data.taxonomy import load_districts, load_taxonomy
from predgov.viz import (
    OKABE_ITO,
    STYLE_PATH,
    add_source_line,
    apply_briefing_style,
    briefing_style,
    category_labels,
    district_labels,
)
from predgov.viz.style import SOURCE_COLOR


@pytest.fixture
def cube() -> xr.Dataset:
    tax, dist = load_taxonomy("qingdao"), load_districts("qingdao")
    cats = ["heating", "consumer_dispute", "unknown_code"]
    dists = ["市南", "西海岸新区"]
    return xr.Dataset(
        {"counts": (("time", "district", "category"), np.zeros((2, 2, 3), dtype=np.int64))},
        coords={
            "time": np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[ns]"),
            "district": dists,
            "category": cats,
            **dist.coords(dists),
            **tax.coords(cats),
        },
    )


def test_style_file_is_shipped_and_valid() -> None:
    assert STYLE_PATH.is_file()
    assert STYLE_PATH.parent.name == "viz"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an unknown or misspelt key warns
        rc = mpl.rc_params_from_file(STYLE_PATH, use_default_template=False)
    assert len(rc) > 20


def test_briefing_style_sets_the_look_and_restores_rcparams() -> None:
    before = dict(mpl.rcParams)
    with briefing_style():
        rc = mpl.rcParams
        assert not rc["axes.spines.top"] and not rc["axes.spines.right"]
        assert rc["axes.grid"]
        assert rc["font.size"] >= 11
        assert rc["axes.titlesize"] > rc["font.size"]
        assert rc["figure.constrained_layout.use"]
        assert rc["image.cmap"] in {"viridis", "cividis"}
        colors = [to_hex(c["color"]).upper() for c in rc["axes.prop_cycle"]]
        assert colors == list(OKABE_ITO)
        assert rc["font.family"][-1] == "Noto Sans CJK SC"
        fig, ax = plt.subplots()
        assert fig.get_layout_engine() is not None
        assert not ax.spines["top"].get_visible()
        plt.close(fig)
    assert dict(mpl.rcParams) == before


def test_apply_briefing_style_changes_global_rcparams() -> None:
    with mpl.rc_context():
        assert mpl.rcParams["axes.spines.top"]
        apply_briefing_style()
        assert not mpl.rcParams["axes.spines.top"]
        assert mpl.rcParams["font.family"] == ["sans-serif", "Noto Sans CJK SC"]


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("zh", ["供热", "消费纠纷", "unknown_code"]),
        ("en", ["Heating", "Consumer disputes", "unknown_code"]),
        ("both", ["供热 Heating", "消费纠纷 Consumer disputes", "unknown_code"]),
    ],
)
def test_category_labels(cube: xr.Dataset, lang: str, expected: list[str]) -> None:
    assert category_labels(cube, lang) == expected
    assert category_labels(cube["counts"], lang) == expected
    assert category_labels(cube["category"], lang) == expected


def test_category_labels_fall_back_to_codes_without_label_coords(cube: xr.Dataset) -> None:
    bare = cube.drop_vars(["label_zh", "label_en"])
    assert category_labels(bare, "both") == ["heating", "consumer_dispute", "unknown_code"]


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("zh", ["市南", "西海岸新区"]),
        ("en", ["Shinan", "West Coast New Area"]),
        ("both", ["市南 Shinan", "西海岸新区 West Coast New Area"]),
    ],
)
def test_district_labels(cube: xr.Dataset, lang: str, expected: list[str]) -> None:
    assert district_labels(cube["counts"], lang) == expected


def test_labels_reject_bad_input(cube: xr.Dataset) -> None:
    with pytest.raises(ValueError, match="lang must be one of"):
        category_labels(cube, "fr")
    with pytest.raises(ValueError, match="no 'district' coordinate"):
        district_labels(cube["category"])
    with pytest.raises(TypeError):
        category_labels(["heating"])


def test_source_line_text_colour_and_place() -> None:
    fig = plt.figure(figsize=(6, 4), layout="constrained")
    line = add_source_line(fig, "predgov demo city (synthetic)", dt.date(2026, 11, 28))
    assert line.get_text() == "Source: predgov demo city (synthetic) · 2026-11-28"
    assert to_hex(line.get_color()) == SOURCE_COLOR.lower()
    x, y = line.get_position()
    assert x < 0.05 and y < 0.05
    assert line.get_fontsize() < mpl.rcParams["font.size"]
    plt.close(fig)


def test_source_line_does_not_overlap_the_axes_labels() -> None:
    with briefing_style():
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.set_xlabel("供热 Heating requests per week")
    line = add_source_line(fig, "test", "2026-11-28")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    assert line.get_window_extent(renderer).y1 <= ax.get_tightbbox(renderer).y0
    plt.close(fig)


def test_explicit_date_wins_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    fig = plt.figure()
    assert add_source_line(fig, "s", "2024 Q4").get_text() == "Source: s · 2024 Q4"
    assert add_source_line(fig, "s", dt.datetime(2025, 1, 2, 15)).get_text().endswith("2025-01-02")
    assert add_source_line(fig, "s").get_text().endswith("1970-01-01")
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert add_source_line(fig, "s").get_text().endswith(dt.date.today().isoformat())
    with pytest.raises(TypeError, match="date must be"):
        add_source_line(fig, "s", 20261128)
    plt.close(fig)
