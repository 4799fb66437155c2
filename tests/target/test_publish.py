"""Tests of the publishable treatment table: small history counts and what derives from them
are withheld; the Dataset itself stays exact."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from predgov.target import treatment_list, treatment_table

TIME = pd.date_range("2024-11-01", periods=2, freq="MS")
CUBE = xr.DataArray(
    [[3, 30, 40, 0, 2, 9], [1, 25, 45, 0, 1, 9]],
    dims=("time", "estate"),
    coords={"time": TIME, "estate": list("ABCDEF"), "label_en": ("estate", list("abcdef"))},
)
DERIVED = ["expected_calls", "calls_averted", "averted_per_cost"]


def test_small_history_and_derived_columns_are_withheld():
    tl = treatment_list(CUBE, budget=250, cost=100, efficacy=0.5)
    table = treatment_table(tl)
    assert table["estate"].tolist() == tl["estate"].values.tolist()  # rank order
    assert table.columns[:3].tolist() == ["estate", "rank", "label_en"]
    small = table["estate"].isin(["A", "E"])  # 4 and 3 calls
    assert table.loc[small, ["history_calls", *DERIVED]].isna().all().all()
    assert table.loc[small, "suppressed"].str.contains("history_calls").all()
    published = table["history_calls"].dropna()
    assert not ((published > 0) & (published < 5)).any()
    # Two small cells already: no complementary cell needed; zeros and 18, 55, 85 published.
    assert sorted(published.tolist()) == [0.0, 18.0, 55.0, 85.0]
    # Rank, cost, running cost and the funded flag reveal no count and stay.
    assert table[["rank", "cost", "cumulative_cost", "within_budget"]].notna().all().all()
    assert table.attrs["suppressed_cells"] == 2
    # The Dataset is untouched: exact values.
    assert float(tl["history_calls"].sel(estate="A")) == 4.0


def test_one_small_cell_gets_a_complementary_cell():
    cube = CUBE.sel(estate=["A", "B", "C", "D", "F"])
    table = treatment_table(treatment_list(cube, budget=250, cost=100, efficacy=0.5))
    withheld = table.loc[table["history_calls"].isna(), "estate"].tolist()
    assert sorted(withheld) == ["A", "F"]  # A (4 calls) and the smallest other positive, F (18)


def test_forecast_band_is_withheld_with_the_history():
    future = pd.date_range("2025-01-01", periods=2, freq="MS")
    mean = np.full((2, 6), 3.0)
    fc = xr.Dataset(
        {"mean": (("time", "estate"), mean),
         "quantiles": (("time", "estate", "quantile"), np.stack([mean / 2, mean * 2], -1))},
        coords={"time": future, "estate": list("ABCDEF"), "quantile": [0.1, 0.9]},
        attrs={"freq": "MS"},
    )
    table = treatment_table(treatment_list(CUBE, fc, budget=250, cost=100, efficacy=0.5))
    small = table["estate"].isin(["A", "E"])
    cols = ["calls_averted_low", "calls_averted_high"]
    assert table.loc[small, cols].isna().all().all()
    assert table.loc[~small, cols].notna().all().all()


def test_min_count_one_withholds_nothing_and_bad_input():
    tl = treatment_list(CUBE, budget=250, cost=100, efficacy=0.5)
    assert treatment_table(tl, min_count=1)["history_calls"].notna().all()
    with pytest.raises(ValueError, match="treatment_list"):
        treatment_table(xr.Dataset({"x": ("estate", [1])}))
