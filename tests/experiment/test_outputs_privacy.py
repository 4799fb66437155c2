"""What the forecast and warn stages write, on a cube whose labels carry planted personal
strings: figure file names never hold label text, and small counts stay withheld in the CSVs
(no observed ÷ ratio recovery, complementary cells in the totals table, plain numbers)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from predgov.data.demo import demo_city
from predgov.experiment.config import ForecastConfig, VizConfig, WarnConfig
from predgov.experiment.stages.data import summary_table
from predgov.experiment.stages.forecast import run_forecast_stage
from predgov.experiment.stages.warn import run_warn_stage, timeline_alert

PHONE = "13912345678"
NAME = "张三丰"
DISTRICTS = [f"市南 {PHONE}", "平度"]
CATEGORIES = ["heating", f"供暖 {NAME} 13800001111", "village_affairs"]
PLANTED = (PHONE, NAME, "13800001111", "市南", "供暖")


@pytest.fixture(scope="module")
def cube() -> xr.Dataset:
    city = demo_city(0, start="2023-01-01", end="2023-12-31", districts=["市南", "平度"],
                     categories=["heating", "parking", "village_affairs"])  # fmt: skip
    city = city[["counts"]].assign_coords(district=DISTRICTS, category=CATEGORIES)
    return city.assign_coords(
        district_label_en=("district", [f"Shinan {PHONE}", "Pingdu"]),
        label_zh=("category", ["供热", f"供暖 {NAME}", "村务"]),
        label_en=("category", ["Heating", f"Heating {NAME}", "Village affairs"]),
    )


@pytest.fixture(scope="module")
def outputs(cube, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("stages")
    viz = VizConfig(formats=["svg"], dpi=60)
    forecast = run_forecast_stage(
        ForecastConfig(model="seasonal_naive", horizon=14, backtest_origins=1,
                       backtest_horizon=7, fan_series=[f"{DISTRICTS[0]}/{CATEGORIES[1]}"]),
        cube, None, viz, root / "forecast",
    )  # fmt: skip
    warn = run_warn_stage(WarnConfig(method="ears_c2"), cube, None, viz, root / "warn")
    return {"root": root, **{f"forecast_{k}": v for k, v in forecast.items()},
            **{f"warn_{k}": v for k, v in warn.items()}}  # fmt: skip


def test_figure_file_names_hold_no_label_text(outputs):
    """Before: fan_市南_13912345678_供暖_张三丰_13800001111.svg."""
    names = [p.name for p in outputs["root"].rglob("*") if p.is_file()]
    assert any(n.startswith("fan_") for n in names)
    for name in names:
        assert name.isascii(), name
        assert not any(s in name for s in PLANTED), name
    assert "fan_d00_c01.svg" in names  # district 0, category 1 (not a taxonomy code)


def test_alert_csvs_give_no_small_count_back(outputs):
    for key in ("warn_alerts", "warn_alerts_recent"):
        text = outputs[key].read_text(encoding="utf-8")
        assert not re.search(r'"\d{1,3}(,\d{3})+"', text)  # no "17,463"
        table = pd.read_csv(outputs[key])
        if key == "warn_alerts":
            assert len(table) > 0
        for col in ("observed", "expected"):
            values = pd.to_numeric(table[col], errors="raise")
            assert not values.between(0, 5, inclusive="neither").any(), col
        # expected = 0 is published; its ratio uses the floor 0.5 (EXPECTED_FLOOR)
        both = table.dropna(subset=["observed", "ratio"]).query("expected > 0")
        derived = both["observed"] / both["ratio"]
        assert not derived.between(0, 5, inclusive="neither").any()
        withheld = table["suppressed"].fillna("")
        assert (table["ratio"].isna() | (withheld == "")).all()
        assert ((withheld != "") == (table["expected"].isna() | table["observed"].isna())).all()


def test_backtest_csvs_hold_plain_numbers(outputs):
    for key in ("forecast_backtest_scores", "forecast_backtest_relative"):
        text = outputs[key].read_text(encoding="utf-8")
        assert '"' not in text and not re.search(r"\d,\d{3}", text)


def test_totals_table_protects_small_cells_from_subtraction(cube):
    """Before: one "<5" cell in a row whose other cells and total were published."""
    counts = cube["counts"].copy()
    counts[:, 0, 2] = 0
    counts[0, 0, 2] = 3  # one small total in row 0 and in column 2
    table = summary_table(counts.to_dataset(), 5)
    assert list(table.columns) == ["requests", "suppressed"]
    wide = table["requests"].unstack("category")
    withheld = wide.isna()
    assert withheld.loc[DISTRICTS[0], CATEGORIES[2]]
    for line in (withheld.sum(axis=0), withheld.sum(axis=1)):
        assert not (line == 1).any()
    assert (table["suppressed"] == "requests").sum() == int(withheld.to_numpy().sum())
    text = table.to_csv()
    assert '"' not in text and "<5" not in text


def test_timeline_shows_the_most_recent_severe_alert():
    """Before: the most severe alert of the whole history (years before the briefing)."""
    table = pd.DataFrame({
        "severity": ["red", "amber", "yellow", "yellow"],
        "start": pd.to_datetime(["2021-01-11", "2023-12-10", "2023-12-20", "2023-06-01"]),
        "end": pd.to_datetime(["2021-01-12", "2023-12-12", "2023-12-22", "2023-06-02"]),
    })  # fmt: skip
    last = pd.Timestamp("2023-12-31")
    assert timeline_alert(table, last, 30)["start"] == pd.Timestamp("2023-12-10")
    assert timeline_alert(table, last, 5)["start"] == pd.Timestamp("2023-12-20")  # latest
    assert timeline_alert(table.iloc[[0, 3]], last, 30)["start"] == pd.Timestamp("2023-06-01")
    assert np.isfinite(len(table))
