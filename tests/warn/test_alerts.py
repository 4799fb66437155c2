"""Known-answer tests for the alert table (predgov.warn.alerts)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from predgov.warn.alerts import COLUMNS, alerts, explain, publishable, severity_level

DIMS = ("time", "district", "category")
CATS = {
    # code: (parent, label_zh, label_en)
    "heating": ("utilities", "供热", "Heating"),
    "gas": ("utilities", "燃气", "Gas"),
    "utilities": ("utilities", "公用事业", "Utilities"),
    "consumer_dispute": ("market", "消费纠纷", "Consumer disputes"),
    "food_safety": ("market", "食品安全", "Food safety"),
}
DISTRICTS = {"市南": "Shinan", "市北": "Shibei"}


def cube(
    counts: np.ndarray,
    categories: list[str],
    districts: list[str] | None = None,
    *,
    start: str = "2024-03-01",
    freq: str = "D",
) -> xr.DataArray:
    """A counts DataArray (time, district, category) with the cube coordinates."""
    districts = districts or ["市南"]
    counts = np.asarray(counts)
    if counts.ndim == 1:
        counts = counts.reshape(-1, 1, 1)
    time = pd.date_range(start, periods=counts.shape[0], freq=freq)
    da = xr.DataArray(
        counts,
        dims=DIMS,
        coords={
            "time": time,
            "district": districts,
            "district_label_en": ("district", [DISTRICTS[d] for d in districts]),
            "category": categories,
            "parent": ("category", [CATS[c][0] for c in categories]),
            "label_zh": ("category", [CATS[c][1] for c in categories]),
            "label_en": ("category", [CATS[c][2] for c in categories]),
        },
        name="counts",
    )
    da["time"].attrs["freq"] = freq
    return da


def alarm_ds(
    counts: xr.DataArray,
    alarm: np.ndarray,
    *,
    expected: float | np.ndarray = 5.0,
    score: np.ndarray | None = None,
    threshold: float | np.ndarray = 1.0,
    detector: str = "ears_c2",
) -> xr.Dataset:
    """Detector output built by hand on the grid of ``counts``."""
    alarm = np.asarray(alarm, dtype=bool).reshape(counts.shape)
    shape = counts.shape

    def full(v: float | np.ndarray) -> np.ndarray:
        a = np.asarray(v, dtype=float)
        return np.broadcast_to(a if a.ndim == 0 else a.reshape(shape), shape).copy()

    if score is None:
        score = np.where(alarm, 1.2, 0.2)
    return xr.Dataset(
        {
            "alarm": (DIMS, alarm),
            "expected": (DIMS, full(expected)),
            "score": (DIMS, full(score)),
            "threshold": (DIMS, full(threshold)),
        },
        coords=counts.coords,
        attrs={"detector": detector},
    )


# --------------------------------------------------------------------------- runs


def test_two_runs_in_one_series_give_two_rows() -> None:
    obs = np.array([5, 12, 13, 5, 4, 20, 6, 5])
    alarm = np.array([0, 1, 1, 0, 0, 1, 0, 0])
    counts = cube(obs, ["consumer_dispute"])
    expected = np.array([5.0, 4.0, 6.0, 5.0, 5.0, 4.0, 5.0, 5.0])
    table = alerts(alarm_ds(counts, alarm, expected=expected), counts)

    assert len(table) == 2
    table = table.sort_values("start").reset_index(drop=True)
    assert list(table["start"]) == [pd.Timestamp("2024-03-02"), pd.Timestamp("2024-03-06")]
    assert list(table["end"]) == [pd.Timestamp("2024-03-03"), pd.Timestamp("2024-03-06")]
    assert list(table["n_periods"]) == [2, 1]
    assert list(table["observed"]) == [25, 20]
    assert table["expected"].tolist() == [10.0, 4.0]
    assert table["ratio"].tolist() == pytest.approx([2.5, 5.0])
    assert set(table["detector"]) == {"ears_c2"}
    assert list(table.columns) == list(COLUMNS)


def test_runs_separated_by_quiet_periods_merge_within_max_gap() -> None:
    obs = np.array([10, 10, 3, 10, 10, 3, 3, 10])
    alarm = np.array([1, 1, 0, 1, 1, 0, 0, 1])
    counts = cube(obs, ["consumer_dispute"])
    ds = alarm_ds(counts, alarm, expected=2.0)

    assert len(alerts(ds, counts)) == 3
    one_gap = alerts(ds, counts, max_gap=1).sort_values("start").reset_index(drop=True)
    assert len(one_gap) == 2
    first = one_gap.iloc[0]
    assert first["start"] == pd.Timestamp("2024-03-01")
    assert first["end"] == pd.Timestamp("2024-03-05")
    assert (first["n_periods"], first["n_alarms"]) == (5, 4)
    # Sums run over the whole span, the quiet period included.
    assert first["observed"] == 43
    assert first["expected"] == 10.0
    assert first["explanation_en"] == (
        "Shinan · Consumer disputes: alarms on 4 of 5 days, at 4.3× the expected level"
    )
    assert first["explanation_zh"] == "市南 · 消费纠纷：5天内4天报警，为预期水平的4.3倍"
    two_gaps = alerts(ds, counts, max_gap=2)
    assert len(two_gaps) == 1
    assert two_gaps.loc[0, "n_periods"] == 8
    assert two_gaps.loc[0, "n_alarms"] == 5
    assert two_gaps.loc[0, "observed"] == int(obs.sum())


def test_max_gap_must_be_a_non_negative_integer() -> None:
    counts = cube(np.array([1, 2, 3]), ["gas"])
    ds = alarm_ds(counts, np.array([0, 1, 0]))
    with pytest.raises(ValueError, match="max_gap"):
        alerts(ds, counts, max_gap=-1)
    with pytest.raises(ValueError, match="max_gap"):
        alerts(ds, counts, max_gap=1.5)  # type: ignore[arg-type]


def test_nan_counts_never_alert_and_split_runs() -> None:
    obs = np.array([9.0, np.nan, 9.0, np.nan, 2.0])
    alarm = np.array([1, 1, 1, 1, 0])  # the detector (wrongly) flags NaN cells too
    counts = cube(obs, ["gas"])
    table = alerts(alarm_ds(counts, alarm, expected=3.0), counts)
    assert len(table) == 2
    assert table["n_periods"].tolist() == [1, 1]
    assert table["observed"].tolist() == [9, 9]
    # A series with only NaN alarms gives no alert at all.
    only_nan = alerts(alarm_ds(counts, np.array([0, 1, 0, 1, 0])), counts)
    assert only_nan.empty


def test_expected_zero_is_guarded() -> None:
    counts = cube(np.array([0, 3, 0]), ["gas"])
    table = alerts(alarm_ds(counts, np.array([0, 1, 0]), expected=0.0), counts)
    assert table.loc[0, "expected"] == 0.0
    assert table.loc[0, "ratio"] == pytest.approx(6.0)  # 3 / EXPECTED_FLOOR (0.5)
    assert np.isfinite(table["ratio"]).all()


def test_missing_expected_gives_nan_ratio_and_a_plain_explanation() -> None:
    counts = cube(np.array([1, 9, 9]), ["gas"])
    ds = alarm_ds(counts, np.array([0, 1, 1])).drop_vars("expected")
    row = alerts(ds, counts).iloc[0]
    assert np.isnan(row["expected"]) and np.isnan(row["ratio"])
    assert row["explanation_en"] == "Shinan · Gas: 2 days above the expected level"


def test_counts_dataset_or_dataarray_and_detector_name() -> None:
    counts = cube(np.array([1, 9, 9]), ["gas"])
    ds = alarm_ds(counts, np.array([0, 1, 1]), detector="farrington")
    a = alerts(ds, counts)
    b = alerts(ds, counts.to_dataset(), detector="custom")
    assert a.loc[0, "detector"] == "farrington"
    assert b.loc[0, "detector"] == "custom"
    pd.testing.assert_frame_equal(a.drop(columns="detector"), b.drop(columns="detector"))


def test_counts_are_aligned_to_the_alarms_grid() -> None:
    counts = cube(np.array([1, 2, 9, 9, 1]), ["gas"])
    ds = alarm_ds(counts.isel(time=slice(2, None)), np.array([1, 1, 0]))  # detector warm-up cut
    table = alerts(ds, counts)
    assert table.loc[0, "start"] == pd.Timestamp("2024-03-03")
    assert table.loc[0, "observed"] == 18


# --------------------------------------------------------------------------- explanations


@pytest.mark.parametrize(
    ("freq", "start", "zh", "en"),
    [
        ("D", "2024-03-01", "连续3天", "3 days"),
        ("W-MON", "2024-03-04", "连续3周", "3 weeks"),
        ("MS", "2024-01-01", "连续3个月", "3 months"),
    ],
)
def test_explanation_units_follow_the_cube_frequency(freq, start, zh, en) -> None:
    counts = cube(np.array([10, 12, 12, 12, 10]), ["consumer_dispute"], start=start, freq=freq)
    table = alerts(alarm_ds(counts, np.array([0, 1, 1, 1, 0]), expected=5.0), counts)
    assert table.loc[0, "explanation_zh"] == f"市南 · 消费纠纷：{zh}为预期水平的2.4倍"
    assert table.loc[0, "explanation_en"] == (
        f"Shinan · Consumer disputes: {en} at 2.4× the expected level"
    )


def test_explanation_single_period() -> None:
    zh, en = explain("市南 · 燃气", "Shinan · Gas", n_periods=1, n_alarms=1, ratio=12.345, freq="D")
    assert zh == "市南 · 燃气：1天为预期水平的12.3倍"
    assert en == "Shinan · Gas: 1 day at 12.3× the expected level"


def test_frequency_is_inferred_when_the_time_axis_has_no_freq() -> None:
    counts = cube(np.array([1, 9, 9]), ["gas"], start="2024-03-04", freq="W-MON")
    counts["time"].attrs.clear()
    row = alerts(alarm_ds(counts, np.array([0, 1, 1])), counts).iloc[0]
    assert "2 weeks" in row["explanation_en"]


# --------------------------------------------------------------------------- severity


@pytest.mark.parametrize(
    ("ratio", "margin", "excess", "level"),
    [
        (3.0, np.nan, 10.0, "red"),
        (2.99, np.nan, 10.0, "amber"),
        (2.0, 1.0, 5.0, "amber"),
        (1.99, 1.49, 50.0, "yellow"),
        (1.2, 1.5, 5.0, "amber"),
        (1.2, 2.0, 10.0, "red"),
        (np.nan, np.nan, np.nan, "yellow"),
        (np.inf, np.nan, np.nan, "red"),  # no expected: nothing to cap with
        (np.nan, 2.0, np.nan, "red"),
        # Small excess caps the level: red needs 10 requests above expected, amber 5.
        (6.0, 3.0, 9.9, "amber"),
        (6.0, 3.0, 4.9, "yellow"),
        (2.5, np.nan, 4.0, "yellow"),
    ],
)
def test_severity_rule(ratio, margin, excess, level) -> None:
    assert severity_level(ratio, margin, excess) == level


def test_severity_in_table_uses_ratio_margin_excess_and_sorts_red_first() -> None:
    # Four series with one alert each on different days:
    # gas: 60 vs 50 expected (ratio 1.2, excess 10), margin 2.5 (5 vs threshold 2): red
    # heating: 24 vs 10 (ratio 2.4, excess 14), margin 1.1: amber (by ratio)
    # consumer_dispute: 12 vs 10 (ratio 1.2), margin 1.1: yellow; it starts first
    # food_safety: 4 vs 1 (ratio 4, excess 3), margin 3: capped to yellow
    cats = ["consumer_dispute", "heating", "gas", "food_safety"]
    obs = np.zeros((4, 1, 4), dtype=int)
    alarm = np.zeros_like(obs, dtype=bool)
    obs[0, 0, 0], obs[1, 0, 1], obs[2, 0, 2], obs[3, 0, 3] = 12, 24, 60, 4
    alarm[0, 0, 0] = alarm[1, 0, 1] = alarm[2, 0, 2] = alarm[3, 0, 3] = True
    expected = np.broadcast_to(np.array([10.0, 10.0, 50.0, 1.0]), obs.shape)
    score = np.where(alarm, 2.2, 0.0)
    score[2, 0, 2] = 5.0
    score[3, 0, 3] = 6.0
    counts = cube(obs, cats)
    table = alerts(
        alarm_ds(counts, alarm, expected=expected, score=score, threshold=2.0),
        counts,
        group_hierarchy=False,
    )
    assert table["category"].tolist() == ["gas", "heating", "consumer_dispute", "food_safety"]
    assert table["severity"].tolist() == ["red", "amber", "yellow", "yellow"]
    assert table["margin"].tolist() == pytest.approx([2.5, 1.1, 1.1, 3.0])
    assert table["ratio"].tolist() == pytest.approx([1.2, 2.4, 1.2, 4.0])


def test_margin_ignores_non_positive_thresholds() -> None:
    counts = cube(np.array([1, 9, 9]), ["gas"])
    row = alerts(alarm_ds(counts, np.array([0, 1, 1]), expected=8.0, threshold=0.0), counts).iloc[0]
    assert np.isnan(row["margin"])
    assert row["severity"] == "yellow"


# --------------------------------------------------------------------------- parent / children


def test_child_alert_overlapping_its_parent_is_grouped_into_the_parent_row() -> None:
    # Cube with both a parent-class series (utilities, as to_parent makes) and its children.
    cats = ["utilities", "heating", "gas"]
    obs = np.array(
        [
            [10, 6, 4],
            [30, 25, 5],
            [28, 24, 4],
            [26, 22, 4],
            [10, 6, 4],
        ]
    ).reshape(5, 1, 3)
    alarm = np.zeros(obs.shape, dtype=bool)
    alarm[1:4, 0, 0] = True  # parent, days 2..4
    alarm[2:4, 0, 1] = True  # heating, days 3..4 (overlaps)
    expected = np.broadcast_to(np.array([10.0, 6.0, 4.0]), obs.shape)
    counts = cube(obs, cats)
    table = alerts(alarm_ds(counts, alarm, expected=expected), counts)

    assert len(table) == 1
    row = table.iloc[0]
    assert row["category"] == "utilities"
    assert row["children"] == "heating"
    assert (row["start"], row["end"]) == (pd.Timestamp("2024-03-02"), pd.Timestamp("2024-03-04"))
    # Totals are those of the parent series (it already contains its children).
    assert row["observed"] == 84
    assert row["expected"] == 30.0
    assert row["ratio"] == pytest.approx(2.8)
    assert row["explanation_zh"] == "市南 · 公用事业（供热）：连续3天为预期水平的2.8倍"
    assert row["explanation_en"] == (
        "Shinan · Utilities (Heating): 3 days at 2.8× the expected level"
    )

    ungrouped = alerts(alarm_ds(counts, alarm, expected=expected), counts, group_hierarchy=False)
    assert sorted(ungrouped["category"]) == ["heating", "utilities"]
    assert (ungrouped["children"] == "").all()


def test_children_alarming_together_are_grouped_into_one_parent_row() -> None:
    # Only children in the cube; the parent label comes from the Qingdao taxonomy.
    cats = ["heating", "gas", "consumer_dispute"]
    obs = np.array(
        [
            [2, 1, 5],
            [9, 1, 5],
            [8, 6, 5],
            [2, 7, 5],
            [2, 1, 5],
        ]
    ).reshape(5, 1, 3)
    alarm = np.zeros(obs.shape, dtype=bool)
    alarm[1:3, 0, 0] = True  # heating days 2..3
    alarm[2:4, 0, 1] = True  # gas days 3..4
    counts = cube(obs, cats)
    table = alerts(alarm_ds(counts, alarm, expected=2.0), counts)

    assert len(table) == 1
    row = table.iloc[0]
    assert (row["category"], row["parent"], row["children"]) == (
        "utilities",
        "utilities",
        "heating, gas",
    )
    assert (row["label_zh"], row["label_en"]) == ("公用事业", "Utilities")
    assert (row["start"], row["end"]) == (pd.Timestamp("2024-03-02"), pd.Timestamp("2024-03-04"))
    assert (row["n_periods"], row["n_alarms"]) == (3, 3)
    # Summed over both children over the span days 2..4.
    assert row["observed"] == (9 + 8 + 2) + (1 + 6 + 7)
    assert row["expected"] == 12.0
    assert row["ratio"] == pytest.approx(33 / 12)
    assert row["explanation_en"] == (
        "Shinan · Utilities (Heating, Gas): 3 days at 2.8× the expected level"
    )
    assert row["explanation_zh"] == "市南 · 公用事业（供热、燃气）：连续3天为预期水平的2.8倍"


def test_children_are_not_grouped_across_districts_time_or_parents() -> None:
    cats = ["heating", "gas", "consumer_dispute"]
    obs = np.full((6, 2, 3), 9)
    alarm = np.zeros(obs.shape, dtype=bool)
    alarm[1, 0, 0] = True  # heating in 市南 day 2
    alarm[1, 1, 1] = True  # gas in 市北 day 2: other district
    alarm[4, 0, 1] = True  # gas in 市南 day 5: no time overlap with heating
    alarm[1, 0, 2] = True  # consumer_dispute in 市南 day 2: other parent
    counts = cube(obs, cats, ["市南", "市北"])
    table = alerts(alarm_ds(counts, alarm), counts)
    assert len(table) == 4
    assert (table["children"] == "").all()
    assert sorted(zip(table["district"], table["category"], strict=True)) == sorted(
        [("市南", "heating"), ("市北", "gas"), ("市南", "gas"), ("市南", "consumer_dispute")]
    )
    # Widening runs by max_gap lets heating (day 2) and gas (day 5) in 市南 group.
    wide = alerts(alarm_ds(counts, alarm), counts, max_gap=3)
    grouped = wide[wide["category"] == "utilities"]
    assert len(grouped) == 1
    assert grouped.iloc[0]["children"] == "heating, gas"
    assert grouped.iloc[0]["district"] == "市南"
    assert len(wide) == 3


def test_parent_series_alone_is_an_ordinary_row() -> None:
    counts = cube(
        np.array([[5, 3, 2], [20, 10, 10], [5, 3, 2]]).reshape(3, 1, 3),
        ["utilities", "heating", "gas"],
    )
    alarm = np.zeros(counts.shape, dtype=bool)
    alarm[1, 0, 0] = True
    row = alerts(alarm_ds(counts, alarm), counts).iloc[0]
    assert (row["category"], row["children"]) == ("utilities", "")
    assert row["explanation_en"] == "Shinan · Utilities: 1 day at 4.0× the expected level"


def test_unmapped_parents_are_never_grouped() -> None:
    counts = cube(np.full((3, 1, 2), 9), ["heating", "gas"])
    counts = counts.assign_coords(parent=("category", ["unmapped", "unmapped"]))
    alarm = np.zeros(counts.shape, dtype=bool)
    alarm[1] = True
    table = alerts(alarm_ds(counts, alarm), counts)
    assert sorted(table["category"]) == ["gas", "heating"]


# --------------------------------------------------------------------------- empty / properties


def test_no_alarms_give_an_empty_table_with_the_columns() -> None:
    counts = cube(np.array([1, 2, 3]), ["gas"])
    table = alerts(alarm_ds(counts, np.zeros(3)), counts)
    assert table.empty
    assert list(table.columns) == list(COLUMNS)
    assert table["start"].dtype == "datetime64[ns]"
    assert table["observed"].dtype == "int64"
    assert publishable(table).empty


@settings(max_examples=60, deadline=None)
@given(
    alarm=hnp.arrays(bool, (12, 2, 3)),
    nan=hnp.arrays(bool, (12, 2, 3), elements=st.booleans()),
    max_gap=st.integers(0, 3),
)
def test_every_alarm_cell_lands_in_exactly_one_alert(alarm, nan, max_gap) -> None:
    rng = np.random.default_rng(0)
    obs = rng.poisson(6, size=alarm.shape).astype(float)
    obs[nan & (rng.random(alarm.shape) < 0.3)] = np.nan
    counts = cube(obs, ["heating", "gas", "consumer_dispute"], ["市南", "市北"])
    table = alerts(alarm_ds(counts, alarm), counts, max_gap=max_gap, group_hierarchy=False)
    valid = alarm & np.isfinite(obs)
    assert table["n_alarms"].sum() == valid.sum()
    assert (table["n_alarms"] <= table["n_periods"]).all()
    assert (table["start"] <= table["end"]).all()
    grouped = alerts(alarm_ds(counts, alarm), counts, max_gap=max_gap)
    assert len(grouped) <= len(table)
    if max_gap == 0:
        assert table["n_periods"].sum() == valid.sum()


# --------------------------------------------------------------------------- publication


def test_publishable_masks_small_counts_and_the_ratio_that_would_reveal_them() -> None:
    cats = ["heating", "consumer_dispute"]
    obs = np.array([[0, 5], [3, 40], [0, 5]]).reshape(3, 1, 2)
    alarm = np.zeros(obs.shape, dtype=bool)
    alarm[1] = True
    expected = np.broadcast_to(np.array([0.4, 12.0]), obs.shape)
    counts = cube(obs, cats)
    table = alerts(alarm_ds(counts, alarm, expected=expected), counts, group_hierarchy=False)
    pub = publishable(table).set_index("category")
    assert pub.loc["heating", "observed"] == "<5"
    assert pub.loc["heating", "expected"] == "<5"
    assert pub.loc["heating", "ratio"] == "suppressed"
    assert np.isnan(pub.loc["heating", "margin"])
    assert pub.loc["heating", "explanation_zh"] == "市南 · 供热：1天高于预期水平"
    assert pub.loc["heating", "explanation_en"] == (
        "Shinan · Heating: 1 day above the expected level"
    )
    assert pub.loc["consumer_dispute", "observed"] == "40"
    assert pub.loc["consumer_dispute", "expected"] == "12.0"
    assert pub.loc["consumer_dispute", "ratio"] == "3.3"
    assert "3.3×" in pub.loc["consumer_dispute", "explanation_en"]
    # Both counts of the heating alert are withheld (observed 3, expected 0.4).
    assert pub.attrs["suppressed_cells"] == 2
    # min_count=1 publishes everything.
    assert publishable(table, min_count=1).set_index("category").loc["heating", "observed"] == "3"
    # The input is not modified.
    assert table["observed"].dtype == "int64"
