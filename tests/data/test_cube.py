"""Tests of records → cube: known answers, the sum invariant, aggregation and netCDF round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from predgov.data.cube import (
    period_start,
    read_cube,
    resample_counts,
    rollup,
    time_axis,
    to_city,
    to_cube,
    to_parent,
    write_cube,
)

TZ = "Asia/Shanghai"


def _records(rows: list[tuple[str, str, str]], tz: str | None = TZ) -> pd.DataFrame:
    times = pd.to_datetime([r[0] for r in rows], format="ISO8601")
    if tz:
        times = times.tz_localize(tz)
    return pd.DataFrame(
        {
            "received_at": times,
            "district": pd.array([r[1] for r in rows], dtype="string"),
            "category": pd.array([r[2] for r in rows], dtype="string"),
        }
    )


def test_known_answer_daily_cube():
    recs = _records(
        [
            ("2024-11-15 08:00", "市北", "heating"),
            ("2024-11-15 23:59", "市北", "heating"),
            ("2024-11-16 00:00", "市南", "consumer_dispute"),
            ("2024-11-18 12:00", "市北", "noise_social"),
        ]
    )
    cube = to_cube(recs, districts="qingdao")
    counts = cube["counts"]
    assert counts.dims == ("time", "district", "category")
    assert counts.dtype == np.int64
    assert counts.attrs["units"] == "requests"
    # Complete axis: the 17th has no records but is a day the source covered → 0, not missing.
    assert [str(t)[:10] for t in cube["time"].values] == [
        "2024-11-15", "2024-11-16", "2024-11-17", "2024-11-18",
    ]
    assert cube["time"].attrs["freq"] == "D"
    # District order follows the district table (市南 before 市北); categories the taxonomy.
    assert list(cube["district"].values) == ["市南", "市北"]
    assert list(cube["category"].values) == ["heating", "noise_social", "consumer_dispute"]
    expected = np.zeros((4, 2, 3), dtype=np.int64)
    expected[0, 1, 0] = 2
    expected[1, 0, 2] = 1
    expected[3, 1, 1] = 1
    np.testing.assert_array_equal(counts.values, expected)
    assert list(cube["parent"].values) == ["utilities", "environment", "market"]
    assert list(cube["label_zh"].values) == ["供热", "社会生活噪声", "消费纠纷"]
    assert str(cube["department"].values[0]).startswith("供热")
    assert list(cube["district_label_en"].values) == ["Shinan", "Shibei"]


def test_local_day_comes_from_local_time_not_utc():
    # 2024-11-15 23:30 in Shanghai is 15:30 UTC; given as UTC it must still count on the 15th.
    utc = pd.Series(pd.to_datetime(["2024-11-15 15:30"]).tz_localize("UTC"))
    recs = pd.DataFrame({"received_at": utc, "district": ["市南"], "category": ["heating"]})
    cube = to_cube(recs, timezone=TZ)
    assert str(cube["time"].values[0])[:10] == "2024-11-15"
    cube_utc = to_cube(recs)
    assert str(cube_utc["time"].values[0])[:10] == "2024-11-15"
    recs_late = recs.assign(received_at=pd.Series(pd.to_datetime(["2024-11-15 16:30"]))
                            .dt.tz_localize("UTC"))
    assert str(to_cube(recs_late, timezone=TZ)["time"].values[0])[:10] == "2024-11-16"


def test_unknown_labels_are_kept_with_unmapped_hierarchy():
    recs = _records([("2024-01-01", "新区X", "其他"), ("2024-01-01", "市南", "heating")])
    cube = to_cube(recs, districts="qingdao")
    assert list(cube["district"].values) == ["市南", "新区X"]
    assert list(cube["category"].values) == ["heating", "其他"]
    assert cube["parent"].sel(category="其他").item() == "unmapped"
    assert cube["label_zh"].sel(category="其他").item() == "其他"
    assert cube["households"].sel(district="新区X").item() == -1


@pytest.mark.parametrize(
    ("freq", "labels", "values"),
    [
        ("W-MON", ["2024-12-30", "2025-01-06"], [2, 1]),
        ("MS", ["2024-12-01", "2025-01-01"], [1, 2]),
    ],
)
def test_weekly_and_monthly_labels(freq, labels, values):
    recs = _records(
        [("2024-12-31", "市南", "heating"), ("2025-01-05 23:00", "市南", "heating"),
         ("2025-01-06", "市南", "heating")]
    )
    cube = to_cube(recs, freq=freq, partial="keep")
    assert [str(t)[:10] for t in cube["time"].values] == labels
    assert cube["counts"].values.ravel().tolist() == values
    assert cube.attrs["freq"] == freq


def test_partial_edge_periods_are_recorded():
    recs = _records([("2023-01-01", "a", "heating"), ("2023-12-31", "a", "heating")])
    weekly = to_cube(recs, freq="W-MON", taxonomy=None, partial="keep")
    # 2023-01-01 is a Sunday: its week (from 2022-12-26) is covered one day only.
    assert "2022-12-26" in weekly.attrs["partial_periods"]
    monthly = to_cube(recs, freq="MS", taxonomy=None)
    assert monthly.attrs["partial_periods"] == "none"
    assert monthly["counts"].dtype == np.int64 and int(monthly["counts"].sum()) == 2


def test_partial_edge_periods_are_masked_by_default_and_counted():
    """A week the records cover only in part is not observed (NaN), not a collapse; the
    requests in it are counted in the attrs (no silent loss), and "keep" keeps its total."""
    rows = [("2023-01-01", "a", "heating")] + [("2023-01-04", "a", "heating")] * 3 + [
        ("2023-01-10", "a", "heating"), ("2023-01-11", "b", "heating")]  # fmt: skip
    recs = _records(rows)
    cube = to_cube(recs, freq="W-MON", taxonomy=None)  # 2023-01-01 is a Sunday
    c = cube["counts"].sel(category="heating")
    assert [str(t)[:10] for t in cube["time"].values] == ["2022-12-26", "2023-01-02",
                                                          "2023-01-09"]  # fmt: skip
    # First week: one day covered; last week: the records end on Wednesday 2023-01-11.
    assert cube.attrs["partial_periods"] == "2022-12-26, 2023-01-09"
    assert cube.attrs["partial_policy"] == "mask"
    assert cube.attrs["requests_in_partial_periods"] == 3
    assert np.isnan(c.sel(time=["2022-12-26", "2023-01-09"]).values).all()
    assert c.sel(time="2023-01-02").values.tolist() == [3.0, 0.0]
    kept = to_cube(recs, freq="W-MON", taxonomy=None, partial="keep")["counts"]
    assert kept.dtype == np.int64
    assert kept.sel(category="heating").values.tolist() == [[1, 0], [3, 0], [1, 1]]
    # A declared period covering whole weeks has no partial edges.
    full = to_cube(recs, freq="W-MON", taxonomy=None, period=("2022-12-26", "2023-01-15"))
    assert full.attrs["partial_periods"] == "none" and full["counts"].dtype == np.int64
    with pytest.raises(ValueError, match="partial must be one of"):
        to_cube(recs, freq="W-MON", taxonomy=None, partial="drop")


def test_period_and_declared_labels():
    recs = _records([("2024-01-02", "市南", "heating")])
    cube = to_cube(
        recs,
        period=("2024-01-01", "2024-01-03"),
        labels={"district": ["市南", "市北"], "category": ["heating", "gas"]},
        districts="qingdao",
    )
    assert cube["counts"].shape == (3, 2, 2)
    assert int(cube["counts"].sum()) == 1
    with pytest.raises(ValueError, match="outside the declared period"):
        to_cube(recs, period=("2024-01-03", "2024-01-04"))
    with pytest.raises(ValueError, match="declared list lacks"):
        to_cube(recs, labels={"district": ["市北"]})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"freq": "H"}, "freq must be one of"), ({"by": ("district", "channel")}, "lack columns")],
)
def test_bad_arguments_raise_clear_errors(kwargs, message):
    recs = _records([("2024-01-02", "市南", "heating")])
    with pytest.raises(ValueError, match=message):
        to_cube(recs, **kwargs)


def test_empty_and_missing_values_raise():
    recs = _records([("2024-01-02", "市南", "heating")])
    with pytest.raises(ValueError, match="no records"):
        to_cube(recs.iloc[:0])
    bad = recs.copy()
    bad.loc[0, "district"] = pd.NA
    with pytest.raises(ValueError, match="no 'district'"):
        to_cube(bad)


def test_grid_and_subcategory_cubes_roll_up():
    recs = _records(
        [("2024-01-01", "市南", "heating"), ("2024-01-01", "市南", "heating"),
         ("2024-01-02", "市北", "gas")]
    )
    recs["grid"] = ["g1", "g2", "g3"]
    recs["subcategory"] = ["不热", "不热", "漏气"]
    grid = to_cube(recs, by=("grid", "category"))
    assert list(grid["district"].values) == ["市南", "市南", "市北"]
    back = rollup(grid, "grid", "district")
    direct = to_cube(recs, by=("district", "category"))["counts"]
    xr.testing.assert_equal(
        back["counts"].transpose("time", "district", "category").sel(district=["市南", "市北"]),
        direct.sel(district=["市南", "市北"]),
    )
    sub = to_cube(recs, by=("district", "subcategory"))
    assert list(sub["category"].values) == ["heating", "gas"]
    assert rollup(sub, "subcategory", "category")["counts"].dims == ("time", "district", "category")


def test_subcategories_shared_by_two_categories_stay_apart():
    recs = _records([("2024-01-01", "a", "heating"), ("2024-01-01", "a", "gas")])
    recs["subcategory"] = ["其他", "其他"]
    sub = to_cube(recs, by=("subcategory",), taxonomy=None)
    assert sorted(sub["subcategory"].values) == ["gas/其他", "heating/其他"]


def test_city_parent_and_resample_totals():
    recs = _records(
        [("2024-01-01", "市南", "heating"), ("2024-01-01", "市北", "gas"),
         ("2024-01-09", "市北", "parking")]
    )
    cube = to_cube(recs, districts="qingdao")
    city = to_city(cube)
    assert city["counts"].dims == ("time", "district", "category")
    assert city["counts"].sum().item() == 3
    parent = to_parent(cube, taxonomy="qingdao")
    assert list(parent["category"].values) == ["utilities", "transport"]
    assert parent["label_en"].values.tolist() == ["Utilities", "Transport"]
    assert parent["counts"].sel(district="市北", time="2024-01-01").values.tolist() == [1, 0]
    # The days run 2024-01-01..09: the week of 2024-01-08 is covered two days of seven.
    weekly = resample_counts(cube, "W-MON", partial="keep")
    assert [str(t)[:10] for t in weekly["time"].values] == ["2024-01-01", "2024-01-08"]
    assert weekly["counts"].sum(["district", "category"]).values.tolist() == [2, 1]
    masked = resample_counts(cube, "W-MON")
    assert masked.attrs["partial_periods"] == "2024-01-08"
    assert np.isnan(masked["counts"].sel(time="2024-01-08")).all()
    assert masked.attrs["requests_in_partial_periods"] == 1
    with pytest.raises(ValueError, match="cannot resample"):
        resample_counts(weekly, "D")


def test_not_observed_stays_nan_through_aggregation():
    counts = np.ones((14, 2), dtype=float)
    counts[3, 0] = np.nan
    ds = xr.Dataset(
        {"counts": (("time", "district"), counts)},
        coords={"time": pd.date_range("2024-01-01", periods=14), "district": ["a", "b"]},
    )
    ds["time"].attrs["freq"] = "D"
    weekly = resample_counts(ds, "W-MON")["counts"]
    assert np.isnan(weekly.values[0, 0]) and weekly.values[0, 1] == 7
    assert np.isnan(to_city(ds)["counts"].values[3, 0])


def test_netcdf_round_trip_is_identical(tmp_path):
    recs = _records(
        [("2024-11-15 08:00", "市北", "heating"), ("2024-11-20", "其它区", "未知类")]
    )
    cube = to_cube(recs, districts="qingdao", freq="D")
    path = tmp_path / "cube.nc"
    write_cube(cube, path)
    back = read_cube(path)
    xr.testing.assert_identical(back, cube)
    assert back["counts"].dtype == np.int64
    assert back["time"].dtype == np.dtype("datetime64[ns]")


_DISTRICTS = ["市南", "市北", "李沧", "新区"]
_CATEGORIES = ["heating", "gas", "noise_social", "其他"]
_row = st.tuples(
    st.datetimes(min_value=pd.Timestamp("2023-01-01").to_pydatetime(),
                 max_value=pd.Timestamp("2024-12-31").to_pydatetime()),
    st.sampled_from(_DISTRICTS),
    st.sampled_from(_CATEGORIES),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(_row, min_size=1, max_size=60), freq=st.sampled_from(["D", "W-MON", "MS"]))
def test_sum_of_counts_equals_accepted_rows(rows, freq, tmp_path_factory):
    recs = _records([(str(t), d, c) for t, d, c in rows])
    masked = to_cube(recs, freq=freq, districts="qingdao")
    # Masked partial edge periods: their requests are counted in the attrs, none is lost.
    in_partial = masked.attrs["requests_in_partial_periods"]
    assert int(masked["counts"].sum()) + in_partial == len(rows)
    assert (in_partial > 0) <= (masked.attrs["partial_periods"] != "none")
    cube = to_cube(recs, freq=freq, districts="qingdao", partial="keep")
    assert int(cube["counts"].sum()) == len(rows)
    # Each (district, category) series holds exactly its rows.
    expect = pd.Series([(d, c) for _, d, c in rows]).value_counts()
    for (d, c), n in expect.items():
        assert int(cube["counts"].sel(district=d, category=c).sum()) == n
    # Regular axis: consecutive labels one period apart.
    axis = pd.DatetimeIndex(cube["time"].values)
    assert axis.equals(time_axis(axis[0], axis[-1], freq))
    path = tmp_path_factory.mktemp("nc") / "c.nc"
    write_cube(cube, path)
    xr.testing.assert_identical(read_cube(path), cube)


@given(st.datetimes(min_value=pd.Timestamp("1990-01-01").to_pydatetime(),
                    max_value=pd.Timestamp("2100-01-01").to_pydatetime()))
def test_period_start_matches_pandas(ts):
    t = np.array([np.datetime64(ts, "ns")])
    assert pd.Timestamp(period_start(t, "W-MON")[0]) == (
        pd.Timestamp(ts).to_period("W-SUN").start_time
    )
    assert pd.Timestamp(period_start(t, "MS")[0]) == pd.Timestamp(ts).to_period("M").start_time
