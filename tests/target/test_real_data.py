"""The treatment list on a real cube: Chicago 311 sanitation requests by ward, 2011–2014
(``../shared/data/chicago_sanitation_311/``, read with read_records + to_cube and a mapping:
there is no preset for it). Skipped when the shared file is absent."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from predgov import paths
from predgov.data import read_records, to_cube
from predgov.target import treatment_list, treatment_table

CHICAGO = "chicago_sanitation_311/requests.csv.gz"
PERIOD = ("2011-01-01", "2014-12-31")
MAPPING = {
    "record_id": "request_id",
    "received_at": "created_date",
    "closed_at": "closed_date",
    "district": "ward",
    "category": "category",
    "timezone": "America/Chicago",
    "time_formats": ["%Y-%m-%d"],
    "personal": {"location": ["latitude", "longitude", "zip_code"]},
}
SUMMER = ("05-01", "09-30")
YARD = "Garbage in yard"


@pytest.fixture(scope="module")
def chicago() -> tuple[pd.DataFrame, xr.Dataset]:
    """The raw rows and the monthly ward × category cube (wards 1–50)."""
    try:
        path = paths.shared_data_file(CHICAGO)
    except FileNotFoundError as err:
        pytest.skip(f"shared Chicago 311 file not found ({err}); set $PREDGOV_SHARED_DATA")
    raw = pd.read_csv(path, dtype=str)
    records, _ = read_records(raw, mapping=MAPPING, taxonomy=False, districts=False, period=PERIOD)
    cube = to_cube(records, freq="MS", taxonomy=None, period=PERIOD)
    # Rows with ward 0 become one "unmapped" label (fewer than 5 rows): not a ward to treat.
    wards = [d for d in cube["district"].values if str(d).isdigit()]
    return raw, cube.sel(district=wards)


def test_history_matches_the_raw_rows_and_the_list_is_complete(chicago):
    raw, cube = chicago
    tl = treatment_list(cube, budget=100_000, cost=10_000, efficacy=0.3, category=YARD,
                        season=SUMMER, cost_units="USD")
    assert tl.attrs["history_window"] == "2014-05-01..2014-09-30"
    day = pd.to_datetime(raw["created_date"])
    rows = raw[(raw["category"] == YARD) & day.between("2014-05-01", "2014-09-30")]
    by_ward = rows.groupby("ward").size()
    by_ward = by_ward[by_ward.index.str.isdigit() & (by_ward.index != "0")]
    got = tl["history_calls"].to_series()
    assert got.sum() == by_ward.sum()
    assert (got.reindex(by_ward.index) == by_ward).all()
    assert tl.sizes["district"] == 50 and tl["rank"].values.tolist() == list(range(1, 51))
    assert np.isfinite(tl["expected_calls"]).all()
    # Ten wards at 10,000 fit a budget of 100,000: the ten with most expected calls.
    assert tl.attrs["n_within_budget"] == 10 and tl.attrs["total_cost"] == 100_000.0
    top = tl["expected_calls"].values[:10]
    assert np.isclose(tl.attrs["total_calls_averted"], 0.3 * top.sum())
    assert top.min() >= tl["expected_calls"].values[10:].max()


def test_equal_wards_and_costs_shrinkage_keeps_the_order_and_the_total(chicago):
    _, cube = chicago
    kw = {"budget": 100_000, "cost": 10_000, "efficacy": 0.3, "category": YARD, "season": SUMMER}
    shrunk, raw = treatment_list(cube, **kw), treatment_list(cube, **kw, shrink=False)
    assert shrunk["district"].values.tolist() == raw["district"].values.tolist()
    assert np.isclose(shrunk["expected_calls"].sum(), raw["expected_calls"].sum())
    weight = shrunk["shrinkage_weight"].values
    assert np.allclose(weight, weight[0]) and 0.5 < weight[0] < 1
    # The busiest ward is pulled down, the quietest up.
    assert shrunk["expected_calls"][0] < raw["expected_calls"][0]
    assert shrunk["expected_calls"][-1] > raw["expected_calls"][-1]


def test_rare_category_zero_wards_are_handled(chicago):
    _, cube = chicago
    kw = {"budget": 1e9, "cost": 1, "efficacy": 0.5, "category": "Standing water",
          "season": SUMMER}
    raw = treatment_list(cube, **kw, shrink=False)
    zero = raw["history_calls"].values == 0
    assert zero.any() and not raw["within_budget"].values[zero].any()
    assert raw["within_budget"].values[~zero].all()
    shrunk = treatment_list(cube, **kw)
    assert (shrunk["expected_calls"] > 0).all() and bool(shrunk["within_budget"].all())
    table = treatment_table(shrunk)
    published = table["history_calls"].dropna()
    assert not ((published > 0) & (published < 5)).any()
    assert table["history_calls"].isna().sum() >= 2


def test_forecast_driven_list_on_real_data(chicago):
    from predgov.forecast import make_forecaster

    _, cube = chicago
    past = cube.sel(time=slice(None, "2013-12-01"))
    fc = make_forecaster("default").fit(past.sel(category=[YARD])).predict(12)
    fl = treatment_list(past, fc, budget=100_000, cost=10_000, efficacy=0.3, category=YARD,
                        target=SUMMER)
    assert fl.attrs["target_window"] == "2014-05-01..2014-09-30"
    summer = fc["mean"].sel(time=slice("2014-05-01", "2014-09-01"), category=YARD).sum("time")
    assert np.allclose(fl["expected_calls"], summer.sel(district=fl["district"]))
    assert (fl["calls_averted_low"] <= fl["calls_averted"]).all()
    # What came in summer 2014 in the ten wards chosen, against the best ten in hindsight.
    came = treatment_list(cube, budget=1, cost=1, efficacy=1.0, category=YARD, season=SUMMER,
                          shrink=False)["history_calls"]
    chosen = fl["district"].values[fl["within_budget"].values]
    assert len(chosen) == 10
    realised = float(came.sel(district=chosen).sum())
    best = float(came.sortby(came, ascending=False)[:10].sum())
    assert realised >= 0.8 * best
    assert realised > 10 * float(came.mean())  # far better than ten wards at random
