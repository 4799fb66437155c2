"""Tests of the treatment list: hand-computed rankings and budgets, forecasts, bad input,
and properties (budget never exceeded, order of units irrelevant, shrinkage towards the mean)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from predgov.target import shrink_rates, treatment_list

TIME = pd.date_range("2024-11-01", periods=2, freq="MS")


def _cube(values: dict[str, list[float]], time: pd.DatetimeIndex = TIME) -> xr.DataArray:
    """Counts over (time, estate) from {estate: [count per period]}."""
    return xr.DataArray(
        np.array(list(values.values()), dtype=float).T,
        dims=("time", "estate"),
        coords={"time": time, "estate": list(values)},
        attrs={"units": "requests"},
    )


# History W 20, X 4, Y 60, Z 0 calls; efficacy 0.5 averts W 10, X 2, Y 30, Z 0.
HAND = _cube({"W": [10, 10], "X": [3, 1], "Y": [30, 30], "Z": [0, 0]})
HAND_COST = {"W": 50.0, "X": 10.0, "Y": 200.0, "Z": 10.0}


def test_hand_computed_raw_ranking_and_budget():
    tl = treatment_list(HAND, budget=100, cost=HAND_COST, efficacy=0.5, shrink=False)
    # Calls averted per cost: W 0.2, X 0.2 (tie: more calls averted first), Y 0.15, Z 0.
    assert tl["estate"].values.tolist() == ["W", "X", "Y", "Z"]
    assert tl["rank"].values.tolist() == [1, 2, 3, 4]
    assert tl["calls_averted"].values.tolist() == [10.0, 2.0, 30.0, 0.0]
    assert tl["averted_per_cost"].values.tolist() == [0.2, 0.2, 0.15, 0.0]
    assert tl["cumulative_cost"].values.tolist() == [50.0, 60.0, 260.0, 270.0]
    assert tl["within_budget"].values.tolist() == [True, True, False, False]
    assert tl.attrs["total_cost"] == 60.0 and tl.attrs["budget_left"] == 40.0
    assert tl.attrs["total_calls_averted"] == 12.0 and tl.attrs["n_within_budget"] == 2
    assert tl["history_calls"].values.tolist() == [20.0, 4.0, 60.0, 0.0]
    assert tl["expected_calls"].values.tolist() == [20.0, 4.0, 60.0, 0.0]


def test_a_unit_expected_to_avert_nothing_is_never_funded():
    tl = treatment_list(HAND, budget=1000, cost=HAND_COST, efficacy=0.5, shrink=False)
    assert tl["within_budget"].values.tolist() == [True, True, True, False]
    assert tl.attrs["total_cost"] == 260.0


def test_hand_computed_shrunk_ranking():
    tl = treatment_list(HAND, budget=100, cost=HAND_COST, efficacy=0.5)
    # Equal exposure: expected = w·y + (1 − w)·21 with a = 21²/(2252/3 − 21), w = 21/(21 + a).
    a = 21.0**2 / (2252.0 / 3.0 - 21.0)
    w = 21.0 / (21.0 + a)
    y = np.array([20.0, 4.0, 60.0, 0.0])
    expected = dict(zip("WXYZ", w * y + (1 - w) * 21.0, strict=True))
    got = dict(zip(tl["estate"].values, tl["expected_calls"].values, strict=True))
    for k in "WXYZ":
        assert np.isclose(got[k], expected[k])
    # X (4.48 expected, 0.224 averted per cost) now passes W (20.03, 0.200): the tie is gone.
    assert tl["estate"].values.tolist() == ["X", "W", "Y", "Z"]
    assert tl["within_budget"].values.tolist() == [True, True, False, False]
    # Z (no calls) expects 0.59 calls, not 0: with money enough it is funded, unlike raw.
    rich = treatment_list(HAND, budget=1000, cost=HAND_COST, efficacy=0.5)
    assert np.isclose(rich["expected_calls"].sel(estate="Z"), (1 - w) * 21.0)
    assert rich["within_budget"].values.tolist() == [True, True, True, True]
    np.testing.assert_allclose(tl["shrinkage_weight"], w)
    assert np.isclose(tl.attrs["prior_rate"], 10.5)  # 21 calls over 2 periods
    assert "empirical-Bayes" in tl.attrs["expected_from"]


def test_per_unit_efficacy_and_cost_as_dataarrays_and_scalar_cost():
    eff = xr.DataArray([0.2, 0.8, 0.5, 0.5], dims="estate", coords={"estate": list("WXYZ")},
                       attrs={"source": "pilot 2024"})
    cost = xr.DataArray([10.0, 10.0, 10.0, 10.0], dims="estate", coords={"estate": list("ZYXW")})
    tl = treatment_list(HAND, budget=25, cost=cost, efficacy=eff, shrink=False)
    # Averted: Y 30, W 4, X 3.2, Z 0.
    assert tl["estate"].values.tolist() == ["Y", "W", "X", "Z"]
    assert tl["within_budget"].values.tolist() == [True, True, False, False]
    assert tl["efficacy"].attrs["source"] == "pilot 2024"
    same = treatment_list(HAND, budget=25, cost=10, efficacy=eff, shrink=False)
    xr.testing.assert_identical(same, tl)
    series = pd.Series({"W": 10.0, "X": 10.0, "Y": 10.0, "Z": 10.0, "other estate": 99.0})
    xr.testing.assert_identical(
        treatment_list(HAND, budget=25, cost=series, efficacy=eff, shrink=False), tl
    )


def test_unobserved_unit_ranked_last_raw_and_gets_the_mean_shrunk():
    cube = _cube({"A": [5, 7], "B": [np.nan, np.nan], "C": [2, np.nan], "D": [40, 44]})
    raw = treatment_list(cube, budget=1e6, cost=1, efficacy=1.0, shrink=False)
    assert raw["estate"].values.tolist() == ["D", "A", "C", "B"]
    assert np.isnan(raw["expected_calls"].sel(estate="B"))
    assert not raw["within_budget"].sel(estate="B")
    assert raw["rank"].dtype == np.int64 and raw["rank"].values.tolist() == [1, 2, 3, 4]
    # C observed one period of two: its rate (2 a period) times the window (2 periods).
    assert raw["expected_calls"].sel(estate="C") == 4.0
    assert raw["observed_periods"].values.tolist() == [2, 2, 1, 0]
    assert raw.attrs["n_units_without_history"] == 1
    shrunk = treatment_list(cube, budget=1e6, cost=1, efficacy=1.0)
    prior = shrunk.attrs["prior_rate"] * 2
    assert np.isclose(shrunk["expected_calls"].sel(estate="B"), prior)
    assert float(shrunk["shrinkage_weight"].sel(estate="B")) == 0.0
    assert bool(shrunk["within_budget"].all())


def test_category_selection_and_rollup_of_grids_to_districts():
    values = np.arange(2 * 3 * 2, dtype=float).reshape(2, 3, 2)
    cube = xr.Dataset(
        {"counts": (("time", "grid", "category"), values)},
        coords={"time": TIME, "grid": ["g1", "g2", "g3"], "district": ("grid", ["a", "a", "b"]),
                "category": ["heating", "noise"]},
    )
    tl = treatment_list(cube, budget=10, cost=1, efficacy=1.0, unit="district",
                        category="heating", shrink=False)
    # heating: g1 0+6, g2 2+8, g3 4+10 -> a 16, b 14.
    assert tl["district"].values.tolist() == ["a", "b"]
    assert tl["history_calls"].values.tolist() == [16.0, 14.0]
    assert tl.attrs["category"] == "heating" and tl.attrs["unit"] == "district"
    both = treatment_list(cube, budget=10, cost=1, efficacy=1.0, category=["heating", "noise"],
                          shrink=False)
    assert both["grid"].values.tolist() == ["g3", "g2", "g1"]
    assert both["history_calls"].values.tolist() == [4 + 5 + 10 + 11.0, 2 + 3 + 8 + 9.0, 14.0]
    assert both["district"].values.tolist() == ["b", "a", "a"]  # unit coordinates are kept


def test_season_selects_the_history():
    time = pd.date_range("2023-01-01", "2024-12-01", freq="MS")
    counts = np.zeros((len(time), 2))
    counts[time.month.isin([11, 12, 1, 2, 3]), 0] = 10  # A: winter calls
    counts[time.month.isin([6, 7, 8]), 1] = 50  # B: summer calls
    cube = xr.DataArray(counts, dims=("time", "estate"),
                        coords={"time": time, "estate": ["A", "B"]})
    tl = treatment_list(cube, budget=1, cost=1, efficacy=1.0, season=("11-15", "04-05"),
                        shrink=False)
    assert tl.attrs["history_window"] == "2023-11-15..2024-04-05"
    assert tl["estate"].values.tolist() == ["A", "B"]
    assert tl["history_calls"].values.tolist() == [50.0, 0.0]


def test_exposure_shrinks_rates_per_household():
    cube = _cube({"A": [5, 3], "B": [14, 16], "C": [22, 18], "D": [35, 40], "E": [4, 6]})
    households = xr.DataArray([150, 1200, 1800, 2000, 400], dims="estate",
                              coords={"estate": list("ABCDE")}, name="households")
    tl = treatment_list(cube, budget=45_000, cost=households * 20.0, efficacy=0.3,
                        exposure=households)
    post = shrink_rates(np.array([8.0, 30, 40, 75, 10]), 2 * households.values.astype(float))
    expected = dict(zip("ABCDE", post.rate * 2 * households.values, strict=True))
    for k, v in zip(tl["estate"].values, tl["expected_calls"].values, strict=True):
        assert np.isclose(v, expected[k])
    assert tl["estate"].values.tolist() == ["D", "A", "E", "B", "C"]
    assert tl.attrs["exposure"] == "households"


def _forecast(mean: np.ndarray, estates: list[str], time: pd.DatetimeIndex) -> xr.Dataset:
    q = np.stack([mean * 0.5, mean, mean * 2.0], axis=-1)
    return xr.Dataset(
        {"mean": (("time", "estate"), mean), "quantiles": (("time", "estate", "quantile"), q)},
        coords={"time": time, "estate": estates, "quantile": [0.1, 0.5, 0.9]},
        attrs={"model": "hand", "fit_origin": "2024-12-01T00:00:00", "freq": "MS"},
    )


def test_forecast_replaces_history_with_its_band():
    future = pd.date_range("2025-01-01", periods=4, freq="MS")
    mean = np.array([[1.0, 9.0, 3.0, 0.0]] * 4)
    fc = _forecast(mean, ["W", "X", "Y", "Z"], future)
    tl = treatment_list(HAND, fc, budget=100, cost=HAND_COST, efficacy=0.5,
                        target=("2025-02-01", "2025-03-31"))
    # Two months: W 2, X 18, Y 6, Z 0 expected; averted half; per cost W .02, X .9, Y .015.
    assert tl["estate"].values.tolist() == ["X", "W", "Y", "Z"]
    assert tl["expected_calls"].values.tolist() == [18.0, 2.0, 6.0, 0.0]
    assert tl["calls_averted_low"].values.tolist() == [4.5, 0.5, 1.5, 0.0]
    assert tl["calls_averted_high"].values.tolist() == [18.0, 2.0, 6.0, 0.0]
    assert tl["history_calls"].values.tolist() == [4.0, 20.0, 60.0, 0.0]
    assert tl.attrs["target_window"] == "2025-02-01..2025-03-31"
    assert "forecast hand" in tl.attrs["expected_from"]
    assert "shrinkage_weight" not in tl
    whole = treatment_list(HAND, fc, budget=100, cost=HAND_COST, efficacy=0.5, band=None)
    assert whole["expected_calls"].sel(estate="X") == 36.0 and "calls_averted_low" not in whole


def test_forecast_from_predgov_forecast_on_the_demo_city():
    from predgov.data import demo_city, resample_counts
    from predgov.forecast import make_forecaster

    city = demo_city(0, start="2023-01-01", end="2024-12-31", categories=["heating"],
                     districts=["市南", "市北", "李沧", "崂山"], anomalies=False)
    monthly = resample_counts(city[["counts"]], "MS")
    fc = make_forecaster("default").fit(monthly).predict(18)
    cost = monthly["households"] * 30.0
    tl = treatment_list(monthly, fc, budget=2.0e7, cost=cost, efficacy=0.3, category="heating",
                        target=("11-15", "04-05"), cost_units="CNY")
    assert tl.attrs["target_window"] == "2025-11-15..2026-04-05"
    window = fc["mean"].sel(time=slice("2025-11-01", "2026-03-01"), category="heating")
    assert np.allclose(
        tl["expected_calls"].values, window.sum("time").sel(district=tl["district"]).values
    )
    assert (tl["calls_averted_low"] <= tl["calls_averted"]).all()
    assert (tl["calls_averted"] <= tl["calls_averted_high"]).all()
    assert tl["cost"].attrs["units"] == "CNY"
    assert set(tl["district_label_en"].values) == {"Shinan", "Shibei", "Licang", "Laoshan"}


def test_netcdf_round_trip(tmp_path):
    tl = treatment_list(HAND, budget=100, cost=HAND_COST, efficacy=0.5)
    tl.to_netcdf(tmp_path / "t.nc")
    back = xr.load_dataset(tmp_path / "t.nc")
    xr.testing.assert_identical(back, tl)


# ------------------------------------------------------------------------------- bad input
_GOOD = {"budget": 100, "cost": 10, "efficacy": 0.5}


def _neg():
    return HAND.where(HAND.estate != "W", -1.0)


def _inf():
    return HAND.where(HAND.estate != "W", np.inf)


@pytest.mark.parametrize(
    ("change", "name"),
    [
        ({"unit": "estates"}, "unit"),
        ({"unit": "time"}, "unit"),
        ({"category": "heating"}, "category"),
        ({"season": ("2020-01-01", "2020-02-01")}, "season"),
        ({"season": ("11-15", "04-05")}, "season"),
        ({"budget": 0}, "budget"),
        ({"budget": -5}, "budget"),
        ({"budget": float("nan")}, "budget"),
        ({"budget": float("inf")}, "budget"),
        ({"budget": True}, "budget"),
        ({"budget": "100"}, "budget"),
        ({"cost": 0}, "cost"),
        ({"cost": float("nan")}, "cost"),
        ({"cost": {"W": 1, "X": 1, "Y": 1}}, "cost"),
        ({"cost": {"W": 1, "X": 1, "Y": 1, "Z": -1}}, "cost"),
        ({"cost": xr.DataArray([1.0, 2.0], dims="district")}, "cost"),
        ({"cost": "cheap"}, "cost"),
        ({"efficacy": 1.5}, "efficacy"),
        ({"efficacy": -0.1}, "efficacy"),
        ({"efficacy": float("nan")}, "efficacy"),
        ({"exposure": "households"}, "exposure"),
        ({"exposure": xr.DataArray([1.0, 0, 1, 1], dims="estate",
                                   coords={"estate": list("WXYZ")})}, "exposure"),
    ],
)
def test_bad_arguments_raise_one_clear_error_naming_them(change, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        treatment_list(HAND, **{**_GOOD, **change})


@pytest.mark.parametrize("make", [_neg, _inf])
def test_negative_or_infinite_counts(make):
    with pytest.raises(ValueError, match=r"^observed: counts contain (negative|infinite)"):
        treatment_list(make(), **_GOOD)


def test_observed_without_time_or_unit_and_duplicate_units():
    with pytest.raises(ValueError, match=r"^observed: counts need a 'time'"):
        treatment_list(HAND.isel(time=0), **_GOOD)
    with pytest.raises(ValueError, match=r"^unit: observed has no unit dim"):
        treatment_list(HAND.sum("estate"), **_GOOD)
    dup = HAND.assign_coords(estate=["W", "W", "Y", "Z"])
    with pytest.raises(ValueError, match=r"^observed: duplicate estate labels \['W'\]"):
        treatment_list(dup, **_GOOD)
    with pytest.raises(ValueError, match=r"^observed: cube Dataset has no 'counts'"):
        treatment_list(HAND.to_dataset(name="n"), **_GOOD)


def test_bad_forecasts():
    future = pd.date_range("2025-01-01", periods=4, freq="MS")
    fc = _forecast(np.ones((4, 3)), ["W", "X", "Y"], future)
    with pytest.raises(ValueError, match=r"^forecast: no forecast for estate \['Z'\]"):
        treatment_list(HAND, fc, **_GOOD)
    full = _forecast(np.ones((4, 4)), list("WXYZ"), future)
    with pytest.raises(ValueError, match=r"^band: levels"):
        treatment_list(HAND, full, band=(0.05, 0.95), **_GOOD)
    with pytest.raises(ValueError, match=r"^shrink=True with a forecast"):
        treatment_list(HAND, full, shrink=True, **_GOOD)
    with pytest.raises(ValueError, match=r"^forecast: 'mean' holds NaN"):
        treatment_list(HAND, full.assign(mean=-full["mean"]), **_GOOD)
    with pytest.raises(ValueError, match=r"^forecast must be a forecast Dataset"):
        treatment_list(HAND, full["mean"], **_GOOD)
    with pytest.raises(ValueError, match=r"^target=.*no complete occurrence"):
        treatment_list(HAND, full, target=("11-15", "04-05"), **_GOOD)
    hourly = full.assign_attrs(freq="h")
    with pytest.raises(ValueError, match=r"^forecast: "):
        treatment_list(HAND, hourly, **_GOOD)


# ------------------------------------------------------------------------------ properties
@st.composite
def _lists(draw):
    n = draw(st.integers(1, 7))
    periods = draw(st.integers(1, 4))
    counts = draw(st.lists(st.lists(st.integers(0, 60), min_size=n, max_size=n),
                           min_size=periods, max_size=periods))
    costs = draw(st.lists(st.integers(1, 50), min_size=n, max_size=n))
    budget = draw(st.integers(1, 200))
    efficacy = draw(st.sampled_from([0.1, 0.35, 1.0]))
    shrink = draw(st.booleans())
    perm = draw(st.permutations(range(n)))
    return counts, costs, budget, efficacy, shrink, perm


def _build(counts, costs, perm=None):
    n = len(costs)
    names = [f"u{i}" for i in range(n)]
    time = pd.date_range("2024-01-01", periods=len(counts), freq="MS")
    cube = xr.DataArray(np.array(counts, dtype=float), dims=("time", "estate"),
                        coords={"time": time, "estate": names}, attrs={"freq": "MS"})
    cost = xr.DataArray(np.array(costs, dtype=float), dims="estate", coords={"estate": names})
    if perm is not None:
        cube, cost = cube.isel(estate=list(perm)), cost.isel(estate=list(perm))
    return cube, cost


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_lists())
def test_budget_is_never_exceeded_and_the_funded_units_are_a_maximal_prefix(case):
    counts, costs, budget, efficacy, shrink, _ = case
    cube, cost = _build(counts, costs)
    tl = treatment_list(cube, budget=budget, cost=cost, efficacy=efficacy, shrink=shrink)
    funded = tl["within_budget"].values
    cumulative = tl["cumulative_cost"].values
    assert (cumulative[funded] <= budget).all()
    assert np.isclose(tl.attrs["total_cost"], tl["cost"].values[funded].sum())
    assert tl.attrs["total_cost"] <= budget
    k = int(funded.sum())
    assert funded[:k].all() and not funded[k:].any()  # a prefix of the ranked list
    if k < len(funded) and tl["calls_averted"].values[k] > 0:
        assert cumulative[k] > budget  # the next unit with calls to avert does not fit
    assert tl["rank"].values.tolist() == list(range(1, len(funded) + 1))
    ratio = tl["averted_per_cost"].values
    assert (np.diff(ratio) <= 1e-12).all()  # ranked by calls averted per cost


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_lists())
def test_ranking_does_not_depend_on_the_order_of_units(case):
    counts, costs, budget, efficacy, shrink, perm = case
    cube, cost = _build(counts, costs)
    shuffled, shuffled_cost = _build(counts, costs, perm)
    a = treatment_list(cube, budget=budget, cost=cost, efficacy=efficacy, shrink=shrink)
    b = treatment_list(shuffled, budget=budget, cost=shuffled_cost, efficacy=efficacy,
                       shrink=shrink)
    xr.testing.assert_identical(a, b)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_lists())
def test_shrinkage_pulls_extreme_units_towards_the_mean(case):
    counts, costs, budget, _, _, _ = case
    cube, cost = _build(counts, costs)
    raw = treatment_list(cube, budget=budget, cost=cost, efficacy=1.0, shrink=False)
    shrunk = treatment_list(cube, budget=budget, cost=cost, efficacy=1.0)
    r = raw["expected_calls"].sortby("estate").values
    s = shrunk["expected_calls"].sortby("estate").values
    mean = r.mean()
    tol = 1e-9 * (1 + np.abs(r))
    assert (np.abs(s - mean) <= np.abs(r - mean) + tol).all()  # never further from the mean
    assert ((s - mean) * (r - mean) >= -tol).all()  # and never past it
    assert np.isclose(s.sum(), r.sum())  # equal exposure: the total is kept
