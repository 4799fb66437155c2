"""Forecast figures render without warnings and carry the expected artists."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.collections import FillBetweenPolyCollection, PolyCollection, QuadMesh
from matplotlib.colors import to_rgb
from matplotlib.patches import Rectangle

from predgov.viz.forecast_figures import fan_chart, relative_skill_map, skill_by_lead
from predgov.viz.heatmap import SUPPRESSED_COLOR
from predgov.viz.save import save_figure

LEVELS = [0.005, 0.025, 0.1, 0.165, 0.25, 0.5, 0.75, 0.835, 0.9, 0.975, 0.995]
DISTRICTS = ["市南", "崂山"]
CATEGORIES = ["heating", "gas", "noise_social"]


@pytest.fixture(autouse=True)
def _strict() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield
    plt.close("all")


def _cube(n=90):
    rng = np.random.default_rng(0)
    lam = np.array([[30.0, 2.0, 8.0], [12.0, 0.5, 20.0]])
    values = rng.poisson(lam, size=(n, 2, 3))
    cube = xr.Dataset(
        {"counts": (("time", "district", "category"), values)},
        coords={"time": pd.date_range("2024-09-01", periods=n), "district": DISTRICTS,
                "district_label_en": ("district", ["Shinan", "Laoshan"]),
                "category": CATEGORIES,
                "parent": ("category", ["utilities", "utilities", "environment"]),
                "label_zh": ("category", ["供热", "燃气", "生活噪声"]),
                "label_en": ("category", ["Heating", "Gas", "Neighbourhood noise"])},
    )
    cube["time"].attrs["freq"] = "D"
    return cube


def _forecast(cube, horizon=14):
    last = cube.isel(time=slice(-28, None))["counts"].mean("time")
    t = pd.date_range(cube.time.values[-1], periods=horizon + 1)[1:]
    mean = last.expand_dims(time=t).astype(float)
    z = xr.DataArray(np.linspace(-2.6, 2.6, len(LEVELS)), dims="quantile",
                     coords={"quantile": LEVELS})
    quant = (mean + z * np.sqrt(mean + 0.5)).clip(0).transpose("time", ..., "quantile")
    return xr.Dataset({"mean": mean, "quantiles": quant}, attrs={"model": "toy", "freq": "D"})


def test_fan_chart_artists_and_labels(tmp_path):
    cube = _cube()
    fc = _forecast(cube.isel(time=slice(0, -14)))
    fig = fan_chart(cube, fc, district="市南", category="heating", actual=cube,
                    source="test", date="2026-01-01")
    ax = fig.axes[0]
    bands = [c for c in ax.collections
             if isinstance(c, PolyCollection | FillBetweenPolyCollection)]
    assert len(bands) == 3  # 95, 80, 50 %
    labels = [t.get_text() for t in ax.get_legend().texts]
    assert any("History" in s for s in labels)
    assert any("median" in s for s in labels)
    assert any("80% interval" in s for s in labels)
    assert any("Observed" in s for s in labels)
    assert ax.get_title() == "市南 Shinan · 供热 Heating"
    # history stops before the forecast: none of its x values are in the forecast period
    hist_line = ax.get_lines()[0]
    assert pd.Timestamp(max(hist_line.get_xdata())) < pd.Timestamp(fc.time.values[0])
    assert save_figure(fig, tmp_path / "fan", formats=("png",))[0].stat().st_size > 0


def test_fan_chart_suppresses_small_history_values():
    cube = _cube()
    fc = _forecast(cube.isel(time=slice(0, -14)))
    fig = fan_chart(cube, fc, district="崂山", category="gas", lang="en")
    ax = fig.axes[0]
    y = np.asarray(ax.get_lines()[0].get_ydata(), float)
    finite = y[np.isfinite(y)]
    assert not ((finite > 0) & (finite < 5)).any()  # 1..4 never drawn
    assert any("not shown" in t.get_text() for t in ax.get_legend().texts)


def test_fan_chart_needs_a_series():
    cube = _cube()
    fc = _forecast(cube)
    with pytest.raises(ValueError, match="pass district"):
        fan_chart(cube, fc, category="gas")


def _scores():
    idx = pd.MultiIndex.from_tuples(
        [("all", "all"), *[("lead", i) for i in range(1, 8)]], names=["by", "key"])
    a = pd.DataFrame({"mase": np.linspace(0.7, 0.9, 8), "cov80": np.full(8, 0.8)}, index=idx)
    b = pd.DataFrame({"mase": np.linspace(1.0, 1.2, 8), "cov80": np.full(8, 0.7)}, index=idx)
    return a, b


def test_skill_by_lead_lines_and_reference():
    a, b = _scores()
    fig = skill_by_lead({"default": a, "seasonal naive": b}, metric="mase",
                        source="test", date="2026-01-01")
    ax = fig.axes[0]
    lines = [ln for ln in ax.get_lines() if ln.get_label() in ("default", "seasonal naive")]
    assert len(lines) == 2 and len(lines[0].get_xdata()) == 7
    rel = a.copy()
    rel["mase"] = a["mase"] / b["mase"]
    rel.attrs.update(baseline="seasonal_naive")
    fig = skill_by_lead(rel, metric="mase")
    assert any(np.allclose(ln.get_ydata(), 1.0) for ln in fig.axes[0].get_lines())
    fig = skill_by_lead({"default": a}, metric="cov80")
    assert any(np.allclose(ln.get_ydata(), 0.8) for ln in fig.axes[0].get_lines()[1:])
    with pytest.raises(ValueError, match="no 'nope'"):
        skill_by_lead(a, metric="nope")


def test_relative_skill_map_cells_colours_and_small_cells(tmp_path):
    ratio = xr.DataArray(
        [[0.5, 1.0, 2.0], [np.nan, 0.8, 1.25]], dims=("district", "category"),
        coords={"district": DISTRICTS, "district_label_en": ("district", ["Shinan", "Laoshan"]),
                "category": CATEGORIES,
                "parent": ("category", ["utilities", "utilities", "environment"]),
                "label_zh": ("category", ["供热", "燃气", "生活噪声"]),
                "label_en": ("category", ["Heating", "Gas", "Neighbourhood noise"])})
    total = xr.DataArray([[100, 3, 50], [0, 40, 60]], dims=("district", "category"),
                         coords={"district": DISTRICTS, "category": CATEGORIES})
    scores = xr.Dataset({"mase_rel": ratio, "total": total})
    fig = relative_skill_map(scores, title="t", source="test", date="2026-01-01")
    ax = fig.axes[0]
    mesh = next(c for c in ax.collections if isinstance(c, QuadMesh))
    norm, cmap = mesh.norm, mesh.cmap
    assert norm(0.0) == pytest.approx(0.5)  # ratio 1 at the centre of the diverging map
    assert norm(np.log2(0.5)) == pytest.approx(1 - norm(np.log2(2.0)))
    # 0.5 is blue-ish (better), 2 red-ish (worse)
    blue, red = cmap(norm(np.log2(0.5))), cmap(norm(np.log2(2.0)))
    assert blue[2] > blue[0] and red[0] > red[2]
    texts = [t.get_text() for t in ax.texts]
    assert "<5" in texts  # 市南 / gas: total 3 is suppressed instead of its ratio 1.00
    assert "1.00" not in texts
    assert "0.50" in texts and "1.25" in texts and "2.00" in texts
    grey_rgb = to_rgb(SUPPRESSED_COLOR)
    grey = [p for p in ax.patches
            if isinstance(p, Rectangle) and np.allclose(p.get_facecolor()[:3], grey_rgb)]
    assert len(grey) == 1
    assert [t.get_text() for t in ax.get_yticklabels()] == ["市南 Shinan", "崂山 Laoshan"]
    assert save_figure(fig, tmp_path / "map", formats=("png",))[0].stat().st_size > 0
    with pytest.raises(ValueError, match="series_scores"):
        relative_skill_map(xr.Dataset({"total": total}))
