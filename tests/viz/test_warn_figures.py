"""Early-warning figures: they render cleanly (no warnings, no missing glyphs) and draw what the
data say (one alarm marker per alarm day, one cell mark per alert, hatched unobserved cells)."""

from __future__ import annotations

import re
import warnings

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.collections import PolyCollection, QuadMesh
from matplotlib.patches import Rectangle

from predgov.viz.save import save_figure
from predgov.viz.warn_figures import (
    ALARM_MARKS_GID,
    BOARD_COLORS,
    alert_board,
    alert_timeline,
    threshold_in_counts,
)

DIMS = ("time", "district", "category")
CJK = re.compile(r"[\u4e00-\u9fff]")
CATS = [
    # code, parent, label_zh, label_en
    ("heating", "utilities", "供热", "Heating"),
    ("consumer_dispute", "market", "消费纠纷", "Consumer disputes"),
    ("gas", "utilities", "燃气", "Gas"),
    ("food_safety", "market", "食品安全", "Food safety"),
]
DISTRICTS = [("市南", "Shinan"), ("市北", "Shibei"), ("西海岸新区", "West Coast New Area")]
N_DAYS = 40


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def make_cube(seed: int = 1) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    counts = rng.poisson(10, size=(N_DAYS, len(DISTRICTS), len(CATS))).astype(float)
    da = xr.DataArray(
        counts,
        dims=DIMS,
        coords={
            "time": pd.date_range("2024-03-01", periods=N_DAYS),
            "district": [d for d, _ in DISTRICTS],
            "district_label_en": ("district", [e for _, e in DISTRICTS]),
            "category": [c[0] for c in CATS],
            "parent": ("category", [c[1] for c in CATS]),
            "label_zh": ("category", [c[2] for c in CATS]),
            "label_en": ("category", [c[3] for c in CATS]),
        },
        name="counts",
        attrs={"units": "requests"},
    )
    da["time"].attrs["freq"] = "D"
    return da


def make_alarms(counts: xr.DataArray, *, upper: bool = True) -> xr.Dataset:
    """Alarms where counts exceed expected + 3 sqrt(expected) (+1), with a count limit."""
    expected = xr.full_like(counts, 10.0)
    limit = expected + 3 * np.sqrt(expected) + 1
    ds = xr.Dataset(
        {
            "alarm": (counts > limit).fillna(False),
            "expected": expected,
            "score": counts / np.sqrt(expected),
            "threshold": limit / np.sqrt(expected),
        },
        attrs={"detector": "toy"},
    )
    for var in ds.data_vars.values():
        var.attrs.clear()  # arithmetic on counts may carry units="requests" along
    if upper:
        ds["upper"] = limit
    return ds


@pytest.fixture
def cube() -> xr.DataArray:
    """Counts with three alarm runs in 市南/heating, a NaN gap, and a quiet elsewhere."""
    da = make_cube()
    s = {"district": "市南", "category": "heating"}
    da.loc[s] = 10.0
    da.loc[{**s, "time": slice("2024-03-10", "2024-03-12")}] = [30.0, 35.0, 28.0]
    da.loc[{**s, "time": "2024-03-20"}] = 40.0
    da.loc[{**s, "time": "2024-03-25"}] = 27.0
    da.loc[{**s, "time": slice("2024-03-14", "2024-03-16")}] = np.nan
    return da


def alarm_days(alarms: xr.Dataset, counts: xr.DataArray, district: str, category: str) -> int:
    a = alarms["alarm"].sel(district=district, category=category).values
    c = counts.sel(district=district, category=category).values
    return int((a & np.isfinite(c)).sum())


def texts(fig) -> list[str]:
    out = []
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts]
        out += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
        out.append(ax.get_title(loc="left"))
        legend = ax.get_legend()
        if legend is not None:
            out += [t.get_text() for t in legend.get_texts()] + [legend.get_title().get_text()]
    return out


# --------------------------------------------------------------------------- timeline


@pytest.mark.parametrize("lang", ["both", "zh", "en"])
def test_timeline_renders_and_saves_without_warnings(cube, tmp_path, lang) -> None:
    alarms = make_alarms(cube)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = alert_timeline(
            cube,
            alarms,
            district="市南",
            category="heating",
            lang=lang,
            source="predgov test",
            date="2026-11-28",
        )
        written = save_figure(fig, tmp_path / f"timeline_{lang}", formats=("png", "svg", "pdf"))
    assert [p.suffix for p in written] == [".png", ".svg", ".pdf"]
    assert all(p.stat().st_size > 0 for p in written)
    title = fig.axes[0].get_title(loc="left")
    assert (
        title
        == {
            "both": "市南 Shinan · 供热 Heating",
            "zh": "市南 · 供热",
            "en": "Shinan · Heating",
        }[lang]
    )
    if lang == "en":
        assert not any(CJK.search(t) for t in texts(fig))


def test_timeline_marks_one_triangle_per_alarm_day(cube) -> None:
    alarms = make_alarms(cube)
    # The detector also flags a NaN day: no mark may be drawn there.
    alarms["alarm"].loc[{"district": "市南", "category": "heating", "time": "2024-03-15"}] = True
    fig = alert_timeline(cube, alarms, district="市南", category="heating")
    ax = fig.axes[0]
    (marks,) = [ln for ln in ax.lines if ln.get_gid() == ALARM_MARKS_GID]
    assert len(marks.get_xdata()) == alarm_days(alarms, cube, "市南", "heating") == 5
    assert marks.get_marker() == "^"
    # The marks sit on the observed values.
    assert sorted(np.asarray(marks.get_ydata()).tolist()) == [27.0, 28.0, 30.0, 35.0, 40.0]
    # One shaded span per alarm run (3), plus one hatched span for the NaN gap.
    spans = [p for p in ax.patches if p.get_hatch() is None]
    hatched = [p for p in ax.patches if p.get_hatch() == "////"]
    assert len(spans) == 3
    assert len(hatched) == 1
    # Observed line has a gap (NaN) where the series was not observed.
    observed = next(ln for ln in ax.lines if "Observed" in ln.get_label())
    assert np.isnan(np.asarray(observed.get_ydata(), dtype=float)).sum() == 3


def test_timeline_band_uses_upper_or_a_count_threshold(cube) -> None:
    def bands(fig) -> int:
        return sum(isinstance(c, PolyCollection) for c in fig.axes[0].collections)

    with_upper = alert_timeline(cube, make_alarms(cube), district="市南", category="heating")
    assert bands(with_upper) == 1

    no_upper = make_alarms(cube, upper=False)
    assert not threshold_in_counts(no_upper)
    fig = alert_timeline(cube, no_upper, district="市南", category="heating")
    assert bands(fig) == 0
    assert any("Expected" in ln.get_label() for ln in fig.axes[0].lines)
    with pytest.raises(ValueError, match="limit in requests"):
        alert_timeline(cube, no_upper, district="市南", category="heating", band=True)

    counted = no_upper.assign(threshold=no_upper["threshold"] * np.sqrt(10.0))
    counted["threshold"].attrs["units"] = "requests"
    assert threshold_in_counts(counted)
    fig = alert_timeline(cube, counted, district="市南", category="heating")
    assert bands(fig) == 1
    # The band's top is the limit: 10 + 3·sqrt(10) + 1.
    top = fig.axes[0].collections[0].get_paths()[0].vertices[:, 1].max()
    assert top == pytest.approx(11 + 3 * np.sqrt(10))


def test_timeline_selects_by_label_and_window(cube) -> None:
    alarms = make_alarms(cube)
    fig = alert_timeline(
        cube, alarms, district="Shinan", category="Heating", start="2024-03-09", end="2024-03-13"
    )
    ax = fig.axes[0]
    (marks,) = [ln for ln in ax.lines if ln.get_gid() == ALARM_MARKS_GID]
    assert len(marks.get_xdata()) == 3
    lo, hi = ax.get_xlim()
    assert matplotlib.dates.num2date(lo).date() < pd.Timestamp("2024-03-09").date()
    assert matplotlib.dates.num2date(hi).date() == pd.Timestamp("2024-03-13").date()
    with pytest.raises(KeyError, match="district"):
        alert_timeline(cube, alarms, district="Atlantis", category="heating")
    with pytest.raises(ValueError, match="source"):
        alert_timeline(cube, alarms, district="市南", category="heating", date="2026-11-28")


def test_timeline_without_alarms_has_no_marks(cube) -> None:
    alarms = make_alarms(cube)
    fig = alert_timeline(cube, alarms, district="市北", category="gas")
    (marks,) = [ln for ln in fig.axes[0].lines if ln.get_gid() == ALARM_MARKS_GID]
    assert len(marks.get_xdata()) == alarm_days(alarms, cube, "市北", "gas")


def test_timeline_weekly_axis_label() -> None:
    da = make_cube().resample(time="W-MON", label="left", closed="left").sum()
    da["time"] = pd.DatetimeIndex(da["time"].values) - pd.Timedelta(days=6)
    da["time"].attrs["freq"] = "W-MON"
    fig = alert_timeline(da, make_alarms(da), district="市南", category="gas")
    assert fig.axes[0].get_ylabel() == "每周诉求量 Requests per week"


# --------------------------------------------------------------------------- board


@pytest.fixture
def board_case() -> tuple[xr.DataArray, xr.Dataset]:
    """Known severities on 2024-03-10 (expected 10 a day, margin = count / 10 / 2 ≤ 2):

    市南/heating: 3 days at 40        -> ratio 4, excess 90      -> red
    市北/consumer_dispute: 1 day 25   -> ratio 2.5, excess 15    -> amber
    市北/gas: 1 day 14                -> ratio 1.4, excess 4     -> yellow
    西海岸新区/food_safety: 1 day 3, expected 0.2 -> ratio 15, excess 2.8 -> yellow, "<5"
    市南/gas not observed on the day; 市北/heating alarms only the day after (no look-ahead).
    """
    counts = make_cube()
    counts[:] = 10.0
    alarm = xr.zeros_like(counts, dtype=bool)
    expected = xr.full_like(counts, 10.0)
    day = {"time": slice("2024-03-08", "2024-03-10")}
    counts.loc[{**day, "district": "市南", "category": "heating"}] = 40.0
    alarm.loc[{**day, "district": "市南", "category": "heating"}] = True
    one = {"time": "2024-03-10"}
    counts.loc[{**one, "district": "市北", "category": "consumer_dispute"}] = 25.0
    alarm.loc[{**one, "district": "市北", "category": "consumer_dispute"}] = True
    counts.loc[{**one, "district": "市北", "category": "gas"}] = 14.0
    alarm.loc[{**one, "district": "市北", "category": "gas"}] = True
    counts.loc[{**one, "district": "西海岸新区", "category": "food_safety"}] = 3.0
    alarm.loc[{**one, "district": "西海岸新区", "category": "food_safety"}] = True
    expected.loc[{**one, "district": "西海岸新区", "category": "food_safety"}] = 0.2
    counts.loc[{**one, "district": "市南", "category": "gas"}] = np.nan
    alarm.loc[{**one, "district": "市南", "category": "gas"}] = True  # NaN: never an alert
    nxt = {"time": "2024-03-11", "district": "市北", "category": "heating"}
    counts.loc[nxt] = 90.0
    alarm.loc[nxt] = True
    alarms = xr.Dataset(
        {
            "alarm": alarm,
            "expected": expected,
            "score": counts / 10.0,
            "threshold": xr.full_like(counts, 2.0),
        },
        attrs={"detector": "toy"},
    )
    return counts, alarms


def _cell_texts(fig) -> dict[tuple[str, str], str]:
    """Cell text keyed by (district label, category label) from the tick labels."""
    ax = fig.axes[0]
    xs = [t.get_text() for t in ax.get_xticklabels()]
    ys = [t.get_text() for t in ax.get_yticklabels()]
    out = {}
    for t in ax.texts:
        x, y = t.get_position()
        out[(ys[int(y)], xs[int(x)])] = t.get_text()
    return out


@pytest.mark.parametrize("lang", ["both", "zh", "en"])
def test_board_renders_and_saves_without_warnings(board_case, tmp_path, lang) -> None:
    counts, alarms = board_case
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = alert_board(
            alarms, counts, day="2024-03-10", lang=lang, source="predgov test", date="2026-11-28"
        )
        written = save_figure(fig, tmp_path / f"board_{lang}", formats=("png", "svg", "pdf"))
    assert all(p.stat().st_size > 0 for p in written)
    if lang == "en":
        assert not any(CJK.search(t) for t in texts(fig))


def test_board_cells_show_severity_by_colour_and_mark(board_case) -> None:
    counts, alarms = board_case
    fig = alert_board(alarms, counts, day="2024-03-10", lang="en")
    cells = _cell_texts(fig)
    assert cells == {
        ("Shinan", "Heating"): "!!!\n40",
        ("Shibei", "Consumer disputes"): "!!\n25",
        ("Shibei", "Gas"): "!\n14",
        ("West Coast New Area", "Food safety"): "!\n<5",
    }
    # Colours: the mesh holds severity codes (0 none .. 3 red), masked where not observed.
    ax = fig.axes[0]
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    codes = np.ma.asarray(mesh.get_array()).reshape(3, 4)
    xs = [t.get_text() for t in ax.get_xticklabels()]
    assert xs == ["Heating", "Gas", "Consumer disputes", "Food safety"]  # grouped by parent
    assert codes[0, 0] == 3 and codes[1, 2] == 2 and codes[1, 1] == 1 and codes[2, 3] == 1
    assert np.ma.getmaskarray(codes)[0, 1]  # 市南/gas not observed
    assert int((codes.filled(-1) > 0).sum()) == 4
    fig.canvas.draw()
    colors = mesh.get_facecolors()
    assert matplotlib.colors.to_hex(colors[0]) == BOARD_COLORS["red"].lower()
    hatched = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_hatch() == "////"]
    assert len(hatched) == 1
    # Parent-class names on the top axis.
    labels = [t.get_text() for a in ax.child_axes for t in a.get_xticklabels()]
    assert [lab.replace("\n", " ") for lab in labels] == ["Utilities", "Markets and consumers"]


def test_board_has_no_look_ahead_and_checks_the_day(board_case) -> None:
    counts, alarms = board_case
    # On 03-09 the 市南/heating run has 2 days (80 vs 20 expected: ratio 4, excess 60): red;
    # 市北/heating only alarms on 03-11.
    cells = _cell_texts(alert_board(alarms, counts, day="2024-03-09", lang="en"))
    assert cells == {("Shinan", "Heating"): "!!!\n40"}
    cells = _cell_texts(alert_board(alarms, counts, day="2024-03-11", lang="en"))
    assert cells == {("Shibei", "Heating"): "!!!\n90"}
    with pytest.raises(ValueError, match="not on the alarms' time axis"):
        alert_board(alarms, counts, day="2030-01-01")


def test_board_min_count_one_shows_every_count(board_case) -> None:
    counts, alarms = board_case
    cells = _cell_texts(alert_board(alarms, counts, day="2024-03-10", lang="en", min_count=1))
    assert cells[("West Coast New Area", "Food safety")] == "!\n3"


def test_board_quiet_day_has_no_marks(board_case) -> None:
    counts, alarms = board_case
    fig = alert_board(alarms, counts, day="2024-03-01")
    assert len(fig.axes[0].texts) == 0
