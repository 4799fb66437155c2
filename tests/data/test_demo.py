"""Tests for predgov.data.demo: schema, determinism, calibration, dynamics, injected outbreaks."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from predgov.data.demo import HEATING_CALLS_PER_SEASON, demo_city
from predgov.data.taxonomy import load_districts, load_taxonomy

QINGDAO_DISTRICTS = [
    "市南", "市北", "李沧", "崂山", "西海岸新区", "城阳", "即墨", "胶州", "平度", "莱西"
]  # fmt: skip


@pytest.fixture(scope="module")
def city() -> xr.Dataset:
    return demo_city(seed=0)


@pytest.fixture(scope="module")
def city_clean() -> xr.Dataset:
    return demo_city(seed=0, anomalies=False)


def test_schema(city):
    counts = city["counts"]
    assert counts.dims == ("time", "district", "category")
    assert counts.dtype == np.int64 and counts.attrs["units"] == "requests"
    assert city["time"].dtype == np.dtype("datetime64[ns]")
    assert city.attrs["freq"] == "D" and city["time"].attrs["freq"] == "D"
    days = pd.date_range("2022-01-01", "2024-12-31", freq="D")
    np.testing.assert_array_equal(city["time"].values, days.values.astype("datetime64[ns]"))
    assert list(city["district"].values) == QINGDAO_DISTRICTS == load_districts("qingdao").names
    codes = list(load_taxonomy("qingdao").categories.index)
    assert list(city["category"].values) == codes
    for name, (_, values) in load_taxonomy("qingdao").coords(codes).items():
        assert list(city[name].values) == values
    for name, (_, values) in load_districts("qingdao").coords(QINGDAO_DISTRICTS).items():
        assert list(city[name].values) == values
    age = city["building_age"].to_series()
    assert age["市南"] > age["西海岸新区"] and age["市北"] > age["崂山"]
    assert city["expected"].dtype == np.float64
    assert city["expected"].dims == counts.dims
    assert city["temperature"].dims == ("time",)
    assert city.attrs["Conventions"] == "CF-1.8"
    assert city.attrs["source"] == "predgov synthetic demo city"
    assert "synthetic" in city.attrs["note"].lower() and city.attrs["seed"] == 0


def test_no_negative_counts(city):
    assert int(city["counts"].min()) >= 0
    assert float(city["expected"].min()) >= 0


def test_fast_default_generation():
    t0 = time.perf_counter()
    demo_city(seed=3)
    assert time.perf_counter() - t0 < 2.0


def test_same_seed_same_bytes_different_seed_differs(tmp_path):
    paths = [tmp_path / f"{i}.nc" for i in range(3)]
    demo_city(seed=5).to_netcdf(paths[0], engine="netcdf4")
    demo_city(seed=5).to_netcdf(paths[1], engine="netcdf4")
    demo_city(seed=6).to_netcdf(paths[2], engine="netcdf4")
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()
    back = xr.open_dataset(paths[0], engine="netcdf4")
    xr.testing.assert_equal(back.load(), demo_city(seed=5))
    back.close()


def test_heating_calibration(city):
    # 44,000 heating complaints in a season (SEED_BRIEF.md): mean over the complete seasons.
    heating = city["counts"].sel(category="heating").sum("district").to_series()
    totals = [heating["2022-11-15":"2023-04-05"].sum(), heating["2023-11-15":"2024-04-05"].sum()]
    assert abs(np.mean(totals) / HEATING_CALLS_PER_SEASON - 1) < 0.10
    for total in totals:
        assert abs(total / HEATING_CALLS_PER_SEASON - 1) < 0.2


def test_heating_only_in_season(city):
    heating = city["counts"].sel(category="heating").sum("district").to_series()
    md = heating.index.month * 100 + heating.index.day
    outside = (md > 405) & (md < 1115)
    assert heating[outside].sum() == 0
    assert (heating[~outside] > 0).all()
    # Season start (filling the systems) is busier than mid-season on average.
    start = heating["2023-11-15":"2023-11-30"].mean()
    late = heating["2024-03-01":"2024-03-31"].mean()
    assert start > 1.5 * late


def test_heating_follows_cold(city_clean):
    heating = city_clean["expected"].sel(category="heating").sum("district").to_series()
    temp = city_clean["temperature"].to_series()
    jan = heating.index.month == 1
    assert np.corrcoef(heating[jan], temp[jan])[0, 1] < -0.5
    t = temp.groupby(temp.index.month).mean()
    assert -4 < t[1] < 3 and 23 < t[8] < 29  # Qingdao-like: ~-1 °C January, ~26 °C August


def test_consumer_disputes_concentrate_in_shinan_in_summer(city):
    cd = city["counts"].sel(category="consumer_dispute")
    summer = cd["time"].dt.month.isin([7, 8])
    share_summer = cd.where(summer).sum("time") / cd.where(summer).sum()
    share_rest = cd.where(~summer).sum("time") / cd.where(~summer).sum()
    assert share_summer.idxmax().item() == "市南"
    assert float(share_summer.sel(district="市南")) > 1.4 * float(share_rest.sel(district="市南"))


def test_calendar_effects(city_clean):
    exp = city_clean["expected"].sum("district").to_series().unstack()
    # Fewer property-management calls on the National Day holiday than on ordinary weekdays.
    pm = exp["property_mgmt"]
    assert pm["2023-10-02"] < 0.8 * pm["2023-10-10"]
    # Make-up working Saturday (2023-10-07) behaves like a working day, not a weekend.
    assert pm["2023-10-07"] > 1.1 * pm["2023-10-14"]
    # Golden Week raises consumer disputes; construction noise stops around Spring Festival.
    cdis = exp["consumer_dispute"]
    assert cdis["2024-10-01":"2024-10-07"].mean() > 1.3 * cdis["2024-10-14":"2024-10-27"].mean()
    noise = exp["noise_construction"]
    assert noise["2024-02-10":"2024-02-17"].mean() < 0.3 * noise["2024-03-10":"2024-03-24"].mean()
    social = exp["noise_social"]
    assert social["2023-07-01":"2023-08-31"].mean() > 1.3 * social["2023-01-01":"2023-02-28"].mean()


def test_rural_and_urban_mix(city_clean):
    mean = city_clean["expected"].mean("time").to_series().unstack()
    assert mean.loc["平度", "village_affairs"] > 10 * mean.loc["市南", "village_affairs"]
    per_hh = mean["property_mgmt"] / city_clean["households"].to_series()
    assert per_hh["市南"] > per_hh["莱西"]


def test_overdispersion_on_busy_series(city_clean):
    mean = city_clean["expected"].mean("time")
    d, c = np.unravel_index(int(np.argmax(mean.values)), mean.shape)
    counts = city_clean["counts"][:, d, c].values.astype(float)
    mu = city_clean["expected"][:, d, c].values
    dispersion = np.mean((counts - mu) ** 2 / mu)
    assert 1.5 < dispersion < 8


def test_sparse_series_exist(city):
    mean = city["expected"].mean("time")
    assert int((mean < 0.5).sum()) >= 1


def test_anomalies_are_ground_truth(city, city_clean):
    n = city.sizes["anomaly"]
    assert 30 <= n <= 60
    assert city_clean.sizes["anomaly"] == 0
    diff = city["counts"] - city_clean["counts"]
    assert int(diff.min()) >= 0
    assert int(diff.sum()) == int(city["anomaly_size"].sum())
    xr.testing.assert_identical(city["expected"], city_clean["expected"])
    assert set(city["anomaly_kind"].values) <= {"spike", "trend"}
    assert (city["anomaly_size"] > 0).all() and (city["anomaly_k"] >= 1).all()
    assert (city["anomaly_end"] >= city["anomaly_start"]).all()
    # Each series' extra counts sit inside its outbreaks' windows and add up to their sizes.
    table = city[[v for v in city.data_vars if v.startswith("anomaly_")]].to_dataframe()
    for (district, category), rows in table.groupby(["anomaly_district", "anomaly_category"]):
        extra = diff.sel(district=district, category=category).to_series()
        inside = pd.Series(False, index=extra.index)
        for row in rows.itertuples():
            inside[row.anomaly_start : row.anomaly_end] = True
        assert extra[~inside].sum() == 0
        assert extra.sum() == rows["anomaly_size"].sum()
    assert diff.sum("time").where(diff.sum("time") > 0).count() <= n


def test_subsets_match_full_city(city_clean):
    small = demo_city(
        seed=0,
        anomalies=False,
        districts=["平度", "市南"],
        categories=["heating", "village_affairs"],
    )
    assert small.sizes == {"time": 1096, "district": 2, "category": 2, "anomaly": 0}
    full = city_clean.sel(district=["平度", "市南"], category=["heating", "village_affairs"])
    xr.testing.assert_identical(small["counts"], full["counts"])
    xr.testing.assert_identical(small["expected"], full["expected"])
    assert list(small["label_en"].values) == ["Heating", "Village affairs"]


def test_span_and_scale():
    short = demo_city(
        seed=1,
        start="2023-12-01",
        end="2024-01-31",
        categories=["heating"],
        districts=["市北"],
        scale=2.0,
    )
    assert short.sizes["time"] == 62
    base = demo_city(
        seed=1, start="2023-12-01", end="2024-01-31", categories=["heating"], districts=["市北"]
    )
    np.testing.assert_allclose(short["expected"].values, 2 * base["expected"].values)
    assert short.sizes["anomaly"] >= 1


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"districts": ["Atlantis"]}, ValueError, "districts must be"),
        ({"categories": ["heating", "heating"]}, ValueError, "categories must be"),
        ({"scale": 0}, ValueError, "scale must be > 0"),
        ({"start": "2024-01-02", "end": "2024-01-01"}, ValueError, "before start"),
        ({"start": "1900-01-01", "end": "1900-02-01"}, ValueError, "does not cover CN"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        demo_city(**kwargs)
