"""district_category_heatmap: values, suppressed and not-observed cells, labels, layout."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.collections import QuadMesh
from matplotlib.colors import Normalize, PowerNorm, to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from predgov.data.taxonomy import load_districts, load_taxonomy
from predgov.viz import briefing_style, district_category_heatmap, save_figure
from predgov.viz.heatmap import HATCH_COLOR, SUPPRESSED_COLOR

NAN = np.nan
# Category order interleaves parent classes; the heatmap must group them.
CATS = ["heating", "consumer_dispute", "gas", "food_safety"]
DISTS = ["市南", "崂山", "西海岸新区"]
# Per-day counts for 4 days; totals per (district, category) in comments.
DAILY = np.array(
    [
        [[10, 1, 0, 5], [0, 0, 0, 0], [3, 2, 2, 2]],
        [[10, 1, 0, 5], [0, 0, 0, 0], [3, NAN, 2, 2]],
        [[10, 0, 0, 5], [1, 0, 0, 0], [3, 2, 2, 2]],
        [[10, 0, 0, 5], [0, 0, 0, 0], [3, 2, 2, 2]],
    ]
)
# sum:  市南 [40, 2, 0, 20]; 崂山 [1, 0, 0, 0]; 西海岸新区 [12, NaN (one day unobserved), 8, 8]


@pytest.fixture
def cube() -> xr.Dataset:
    tax, dist = load_taxonomy("qingdao"), load_districts("qingdao")
    ds = xr.Dataset(
        {"counts": (("time", "district", "category"), DAILY, {"units": "requests"})},
        coords={
            "time": pd.date_range("2024-11-15", periods=4, freq="D"),
            "district": DISTS,
            "category": CATS,
            **dist.coords(DISTS),
            **tax.coords(CATS),
        },
    )
    ds["time"].attrs["freq"] = "D"
    return ds


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def _mesh(fig: Figure) -> QuadMesh:
    (mesh,) = [c for c in fig.axes[0].collections if isinstance(c, QuadMesh)]
    return mesh


def _cells(fig: Figure, **match: object) -> set[tuple[int, int]]:
    """(row, column) of the rectangles drawn over the mesh with the given face colour/hatch."""
    out = set()
    for p in fig.axes[0].patches:
        if not isinstance(p, Rectangle):
            continue
        if "color" in match and to_hex(p.get_facecolor()) != match["color"]:
            continue
        if "hatch" in match and p.get_hatch() != match["hatch"]:
            continue
        out.add((int(p.get_y()), int(p.get_x())))
    return out


def _cbar_texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.axes[1].texts]


def _texts(fig: Figure, text: str) -> set[tuple[int, int]]:
    return {
        (int(t.get_position()[1]), int(t.get_position()[0]))
        for t in fig.axes[0].texts
        if t.get_text() == text
    }


def test_cells_show_totals_suppressed_and_not_observed_distinctly(cube: xr.Dataset) -> None:
    fig = district_category_heatmap(cube)
    # Columns grouped by parent: utilities (heating, gas), then market (consumer, food).
    expected = np.array([[40, 0, 2, 20], [1, 0, 0, 0], [12, 8, NAN, 8]])
    suppressed = {(0, 2), (1, 0)}  # totals 2 and 1
    # Complementary cells: each row and column with a suppressed cell holds a second withheld
    # one (smallest positive first: 市南 food 20; 崂山 has only zeros left; then the columns).
    complement = {(0, 3), (1, 2), (2, 0), (2, 3)}
    not_observed = {(2, 2)}
    values = _mesh(fig).get_array().reshape(3, 4)
    hidden = suppressed | complement | not_observed
    for i, j in np.ndindex(3, 4):
        assert bool(values.mask[i, j]) == ((i, j) in hidden)
        if (i, j) not in hidden:
            assert values[i, j] == expected[i, j]  # zeros are drawn as values
    assert _cells(fig, color=SUPPRESSED_COLOR.lower()) == suppressed | complement
    assert _texts(fig, "<5") == suppressed
    assert _texts(fig, "×") == complement
    assert _cells(fig, hatch="////") == not_observed
    hatched = [p for p in fig.axes[0].patches if p.get_hatch()]
    assert to_hex(hatched[0].get_edgecolor()) == HATCH_COLOR.lower()


def test_dataset_and_dataarray_give_the_same_picture(cube: xr.Dataset) -> None:
    a = _mesh(district_category_heatmap(cube)).get_array()
    b = _mesh(district_category_heatmap(cube["counts"])).get_array()
    np.testing.assert_array_equal(a.filled(-1), b.filled(-1))


def test_labels_grouped_by_parent_and_bilingual(cube: xr.Dataset) -> None:
    fig = district_category_heatmap(cube, taxonomy="qingdao")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "供热 Heating",
        "燃气 Gas",
        "消费纠纷 Consumer disputes",
        "食品安全 Food safety",
    ]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "市南 Shinan",
        "崂山 Laoshan",
        "西海岸新区 West Coast New Area",
    ]
    top = ax.child_axes[0]
    parents = [t.get_text() for t in top.get_xticklabels()]
    assert parents[0].startswith("公用事业\nUtilities")
    assert parents[1].startswith("市场监管\nMarkets")
    assert all(t.get_rotation() != 0 for t in ax.get_xticklabels())


@pytest.mark.parametrize(("lang", "first"), [("zh", "供热"), ("en", "Heating")])
def test_single_language_labels(cube: xr.Dataset, lang: str, first: str) -> None:
    fig = district_category_heatmap(cube, lang=lang)
    assert fig.axes[0].get_xticklabels()[0].get_text() == first


def test_parent_labels_found_from_matching_taxonomy_else_codes(cube: xr.Dataset) -> None:
    def parents(ds: xr.Dataset) -> list[str]:
        top = district_category_heatmap(ds).axes[0].child_axes[0]
        return [t.get_text().split("\n")[0] for t in top.get_xticklabels()]

    assert parents(cube) == ["公用事业", "市场监管"]  # the coordinates match qingdao.csv
    relabelled = cube.assign_coords(label_zh=("category", ["a", "b", "c", "d"]))
    assert parents(relabelled) == ["utilities", "market"]  # no shipped taxonomy matches


def test_mean_reducer_uses_observed_periods(cube: xr.Dataset) -> None:
    fig = district_category_heatmap(cube, reducer="mean", min_count=1)
    values = _mesh(fig).get_array().reshape(3, 4)
    assert values[2, 2] == pytest.approx(2.0)  # 6 requests over 3 observed days
    assert not values.mask.any()
    fig = district_category_heatmap(cube, reducer="mean", min_count=1, annotate=True)
    assert _texts(fig, "10.0") == {(0, 0)}  # one decimal in every cell once any needs it
    assert "Requests per day (mean)\n2024-11-15 – 2024-11-18\n平方根刻度 square-root scale" in (
        _cbar_texts(fig)
    )


def test_callable_reducer_and_cube_without_time(cube: xr.Dataset) -> None:
    fig = district_category_heatmap(cube, reducer=lambda da: da.max("time"), min_count=1)
    assert _mesh(fig).get_array().reshape(3, 4)[0, 0] == 10
    totals = cube["counts"].sum("time", skipna=False)
    fig = district_category_heatmap(totals)
    assert _mesh(fig).get_array().reshape(3, 4)[0, 0] == 40


def test_min_count_is_configurable(cube: xr.Dataset) -> None:
    fig = district_category_heatmap(cube, min_count=10)
    assert _texts(fig, "<10") == {(0, 2), (1, 0), (2, 1), (2, 3)}
    fig = district_category_heatmap(cube, min_count=1)
    assert not _cells(fig, color=SUPPRESSED_COLOR.lower())
    with pytest.raises(ValueError, match="min_count"):
        district_category_heatmap(cube, min_count=0)


def test_legend_names_only_the_cell_kinds_present(cube: xr.Dataset) -> None:
    fig = district_category_heatmap(cube)
    legend = fig.axes[1].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [
        "<5: suppressed (total 1–4)",
        "×: withheld so that <5 cells\ncannot be derived from totals",
        "not observed",
    ]
    fig = district_category_heatmap(cube.fillna(0), min_count=1)
    assert fig.axes[1].get_legend() is None


def test_scale_annotation_title_and_source(cube: xr.Dataset) -> None:
    fig = district_category_heatmap(
        cube, annotate=True, title="市南 heating", source="demo (synthetic)", date="2026-11-28"
    )
    assert isinstance(_mesh(fig).norm, PowerNorm)
    # The square-root colour scale is said on the bar (it was not).
    assert _cbar_texts(fig) == [
        "Requests, total\n2024-11-15 – 2024-11-18\n平方根刻度 square-root scale"
    ]
    assert _texts(fig, "40") == {(0, 0)}
    assert _texts(fig, "0") == {(0, 1), (1, 1), (1, 3)}  # (1, 2) is a complementary cell
    assert fig.axes[0].get_title(loc="left") == "市南 heating"
    assert "Source: demo (synthetic) · 2026-11-28" in [t.get_text() for t in fig.texts]
    fig = district_category_heatmap(cube, scale="linear", lang="en")
    assert type(_mesh(fig).norm) is Normalize
    assert _cbar_texts(fig) == ["Requests, total\n2024-11-15 – 2024-11-18"]
    fig = district_category_heatmap(cube, lang="zh")
    assert _cbar_texts(fig)[0].endswith("\n平方根刻度")


def test_draws_into_given_axes(cube: xr.Dataset) -> None:
    with briefing_style():
        fig, (left, right) = plt.subplots(1, 2)
    assert district_category_heatmap(cube, ax=right) is fig
    assert any(isinstance(c, QuadMesh) for c in right.collections)
    assert not left.collections


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"lang": "fr"}, ValueError, "lang"),
        ({"reducer": "median"}, ValueError, "reducer"),
        ({"scale": "log"}, ValueError, "scale"),
        ({"date": "2026-11-28"}, ValueError, "give source"),
    ],
)
def test_bad_arguments(cube: xr.Dataset, kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        district_category_heatmap(cube, **kwargs)


def test_bad_inputs(cube: xr.Dataset) -> None:
    with pytest.raises(ValueError, match="no 'counts' variable"):
        district_category_heatmap(cube.rename({"counts": "n"}))
    with pytest.raises(ValueError, match="needs dims"):
        district_category_heatmap(cube["counts"].sum("district"))


@pytest.mark.parametrize("complete", [False, True])
def test_renders_cleanly_inside_the_figure(
    cube: xr.Dataset, tmp_path: Path, complete: bool
) -> None:
    """No missing glyphs, no text cut off at the edges, no overlapping tick labels.

    ``complete``: nothing suppressed or unobserved, so no legend widens the colourbar column.
    """
    if complete:
        cube = cube.fillna(0) * 100
    fig = district_category_heatmap(
        cube, taxonomy="qingdao", title="Requests", source="test", date="2026-11-28"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        save_figure(fig, tmp_path / "heatmap")
        fig.canvas.draw()  # measure as drawn on screen/PNG (the PDF pass leaves 72 dpi metrics)
    renderer = fig.canvas.get_renderer()
    frame = fig.bbox
    texts = [t for t in fig.findobj(lambda a: hasattr(a, "get_text")) if t.get_text()]
    for t in texts:
        if not t.get_visible():
            continue
        box = t.get_window_extent(renderer)
        assert frame.x0 - 1 <= box.x0 and box.x1 <= frame.x1 + 1, t.get_text()
        assert frame.y0 - 1 <= box.y0 and box.y1 <= frame.y1 + 1, t.get_text()
    ax = fig.axes[0]
    boxes = [t.get_window_extent(renderer) for t in ax.get_yticklabels()]
    for a, b in itertools.pairwise(boxes):
        assert not a.overlaps(b)
    # Rotated labels: the gap between neighbouring (parallel) baselines must hold a line.
    step = ax.transData.transform((1, 0))[0] - ax.transData.transform((0, 0))[0]
    for t in ax.get_xticklabels():
        line_height = 1.2 * t.get_fontsize() * fig.dpi / 72
        assert step * np.sin(np.radians(t.get_rotation())) >= line_height
