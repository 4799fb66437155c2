"""Figures as an official reads them: no small count recoverable from what is drawn, years on
date axes, method names and scales in words, labels wrapped at word boundaries, the simulated
city's scale and start-up stated, an alarm limit that jumps does not flatten the picture."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.collections import PolyCollection
from matplotlib.patches import Rectangle

from predgov.viz._grid import parent_label
from predgov.viz.style import wrap_label
from predgov.viz.warn_figures import alert_board, alert_timeline

DIMS = ("time", "district", "category")


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _series(values, expected, upper, alarm_at=()):
    n = len(values)
    coords = {"time": pd.date_range("2024-03-01", periods=n), "district": ["市南"],
              "district_label_en": ("district", ["Shinan"]), "category": ["gas"],
              "label_zh": ("category", ["燃气"]), "label_en": ("category", ["Gas"])}
    counts = xr.DataArray(np.asarray(values, float).reshape(n, 1, 1), dims=DIMS, coords=coords)
    alarm = np.zeros(n, bool)
    alarm[list(alarm_at)] = True
    alarms = xr.Dataset(
        {"alarm": (DIMS, alarm.reshape(n, 1, 1)),
         "expected": (DIMS, np.asarray(expected, float).reshape(n, 1, 1)),
         "upper": (DIMS, np.asarray(upper, float).reshape(n, 1, 1))},
        coords=coords, attrs={"detector": "nb_cusum"},
    )  # fmt: skip
    return counts, alarms


def _drawn_y(ax) -> np.ndarray:
    """Every y value of the lines and filled areas drawn in the axes."""
    ys = [np.asarray(ln.get_ydata(), float) for ln in ax.lines]
    for coll in ax.collections:
        if isinstance(coll, PolyCollection):
            ys.extend(np.asarray(p.vertices[:, 1], float) for p in coll.get_paths())
    return np.concatenate(ys)


def test_timeline_draws_no_count_between_1_and_4():
    """Before: daily counts 1–4 (and a small expected line) were drawn at their values."""
    values = [0, 1, 2, 3, 4, 12, 30, 8, 3, 0, 9, 10]
    expected = [2.5, 3, 3, 3, 3.5, 6, 7, 8, 8, 7, 7, 7]
    upper = [6, 7, 7, 7, 8, 12, 14, 15, 15, 14, 14, 14]
    counts, alarms = _series(values, expected, upper, alarm_at=[6, 8])
    fig = alert_timeline(counts, alarms, district="市南", category="gas", lang="en")
    ax = fig.axes[0]
    y = _drawn_y(ax)
    y = y[np.isfinite(y)]
    assert not ((y > 0) & (y < 5)).any(), sorted(set(y[(y > 0) & (y < 5)].tolist()))
    # The withheld periods are grey bars 0..5, one per small count.
    bars = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_height() == 5]
    assert len(bars) == 5
    assert any("Withheld (1–4 requests)" in t.get_text() for t in ax.get_legend().get_texts())
    # The alarm on a 3-request day is marked at the top of the withheld band, not at 3.
    (marks,) = [ln for ln in ax.lines if ln.get_gid() == "alarm-marks"]
    assert sorted(np.asarray(marks.get_ydata(), float).tolist()) == [5.0, 30.0]


def test_timeline_names_the_method_in_words_and_shows_the_year_and_alert_dates():
    counts, alarms = _series([10] * 20 + [40] + [10] * 9, [10] * 30, [16] * 30, alarm_at=[20])
    fig = alert_timeline(counts, alarms, district="市南", category="gas", lang="en",
                         highlight=("2024-03-21", "2024-03-21"))
    ax = fig.axes[0]
    assert ax.get_legend().get_title().get_text() == "Detector: Negative-binomial CUSUM"
    assert ax.get_title(loc="left") == "Shinan · Gas · Alert 2024-03-21"
    fig.canvas.draw()
    assert "2024" in ax.get_xticklabels()[0].get_text()


def test_an_alarm_limit_that_jumps_after_an_outbreak_does_not_flatten_the_figure():
    """Before: the band ran from ~10 up to ~220 after the alarm and the y axis followed it."""
    upper = [9] * 11 + [219, 194, 137, 84, 95, 83, 87, 59, 59, 57]
    values = [4, 5, 6, 5, 7, 6, 5, 6, 8, 9, 17, 6, 7, 6, 5, 6, 5, 6, 7, 7, 6]
    counts, alarms = _series(values, [5.0] * 21, upper, alarm_at=[10])
    fig = alert_timeline(counts, alarms, district="市南", category="gas", lang="en")
    ax = fig.axes[0]
    assert ax.get_ylim()[1] < 60
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Threshold above the axis" in labels


def test_alert_board_title_names_the_method_in_words():
    counts, alarms = _series([10] * 20 + [40] + [10] * 9, [10] * 30, [16] * 30, alarm_at=[20])
    fig = alert_board(alarms, counts, day="2024-03-21", lang="both")
    title = fig.axes[0].get_title(loc="left")
    assert "nb_cusum" not in title and "负二项累积和（CUSUM） Negative-binomial CUSUM" in title


def test_labels_wrap_at_word_boundaries():
    """Before: "Housin g and proper ty"."""
    assert wrap_label("Housing and property", 6).split("\n") == ["Housing", "and", "property"]
    assert parent_label("housing_and_property", None, "en", 6) == "housing\nand\nproperty"
    assert all(len(line) <= 4 for line in wrap_label("住房与物业管理", 8).split("\n"))
    assert wrap_label("Roads and transport", 30) == "Roads and transport"


def test_simulation_figure_states_the_scale_and_shades_the_start_up():
    from predgov.sim import run_scenario
    from predgov.viz.sim_figures import WARMUP_DAYS, sim_overview

    ds = run_scenario({"scale": 0.002, "start": "2025-11-01", "end": "2025-12-31"})
    ds.attrs["scale"] = 0.05  # the stage's default share: 1/20 of the households
    fig = sim_overview(ds, lang="both", date="2025-12-31")
    ax = fig.axes[0]
    assert "1/20" in ax.get_title(loc="left")
    spans = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(spans) == 1, "the start-up period is shaded"
    assert any("start-up" in t.get_text() for t in ax.texts)
    assert round(spans[0].get_width()) == WARMUP_DAYS
    fig.canvas.draw()
    assert "2025" in fig.axes[1].get_xticklabels()[0].get_text()
