"""Small-cell suppression: 1..min_count-1 hidden, zeros and larger counts published."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from predgov.viz import format_table, small_cell_mask, suppress_small

NAN = float("nan")


def test_dataarray_suppresses_small_counts_and_keeps_zeros_and_nan() -> None:
    da = xr.DataArray(
        [[0, 1, 4], [5, NAN, 120]],
        dims=("district", "category"),
        coords={"district": ["市南", "市北"], "category": ["a", "b", "c"]},
        attrs={"units": "requests"},
    )
    expected = xr.DataArray(
        [[0.0, NAN, NAN], [5.0, NAN, 120.0]],
        dims=da.dims,
        coords=da.coords,
        attrs={"units": "requests", "suppressed_min_count": 5, "suppressed_cells": 2},
    )
    xr.testing.assert_identical(suppress_small(da), expected)
    assert da.attrs == {"units": "requests"}  # the input is not modified


def test_dataframe_and_series() -> None:
    df = pd.DataFrame({"heating": [0, 2, 9], "gas": [7, 3, NAN]}, index=["x", "y", "z"])
    out = suppress_small(df, min_count=8)
    expected = pd.DataFrame({"heating": [0.0, NAN, 9.0], "gas": [NAN, NAN, NAN]}, index=df.index)
    pd.testing.assert_frame_equal(out, expected)
    assert out.attrs == {"suppressed_min_count": 8, "suppressed_cells": 3}
    series = suppress_small(pd.Series([3, 10], name="n"))
    pd.testing.assert_series_equal(series, pd.Series([NAN, 10.0], name="n"))
    assert series.attrs["suppressed_cells"] == 1


def test_min_count_one_publishes_everything() -> None:
    da = xr.DataArray([0, 1, 2], dims="x")
    out = suppress_small(da, min_count=1)
    np.testing.assert_array_equal(out.values, [0.0, 1.0, 2.0])
    assert out.attrs["suppressed_cells"] == 0


@pytest.mark.parametrize("bad", [0, -3])
def test_min_count_below_one_is_rejected(bad: int) -> None:
    with pytest.raises(ValueError, match="min_count must be at least 1"):
        suppress_small(pd.Series([1, 2]), min_count=bad)
    with pytest.raises(ValueError, match="min_count must be at least 1"):
        format_table(pd.Series([1, 2]), min_count=bad)


@pytest.mark.parametrize("bad", [2.5, True, "5"])
def test_min_count_must_be_an_integer(bad: object) -> None:
    with pytest.raises(TypeError, match="min_count must be an integer"):
        suppress_small(pd.Series([1, 2]), min_count=bad)  # type: ignore[arg-type]


def test_other_types_are_rejected() -> None:
    with pytest.raises(TypeError, match="DataArray or pandas"):
        suppress_small(np.array([1, 2]))  # type: ignore[type-var]


def test_mask_flags_only_small_positive_cells() -> None:
    mask = small_cell_mask(pd.Series([0, 1, 4, 5, NAN, -1]))
    assert mask.tolist() == [False, True, True, False, False, False]


def test_format_table_marks_suppressed_and_not_observed_cells() -> None:
    df = pd.DataFrame({"供热 Heating": [0, 3, 12345], "燃气 Gas": [5, NAN, 4.0]})
    out = format_table(df)
    expected = pd.DataFrame({"供热 Heating": ["0", "<5", "12,345"], "燃气 Gas": ["5", "–", "<5"]})
    pd.testing.assert_frame_equal(out, expected, check_dtype=False)
    assert out.attrs == {"suppressed_min_count": 5, "suppressed_cells": 2}


def test_format_table_options() -> None:
    s = pd.Series([0.0, 9.0, 10.5, NAN])
    out = format_table(s, min_count=10, fmt="{:.1f}", not_observed="n/a")
    assert out.tolist() == ["0.0", "<10", "10.5", "n/a"]


counts = arrays(
    np.float64,
    st.tuples(st.integers(1, 6), st.integers(1, 6)),
    elements=st.one_of(st.integers(0, 40).map(float), st.just(NAN)),
)


@given(values=counts, min_count=st.integers(1, 15))
def test_no_published_cell_is_small_and_others_are_unchanged(
    values: np.ndarray, min_count: int
) -> None:
    da = xr.DataArray(values, dims=("district", "category"))
    df = pd.DataFrame(values)
    small = (values > 0) & (values < min_count)
    for out in (suppress_small(da, min_count).values, suppress_small(df, min_count).to_numpy()):
        published = out[~np.isnan(out)]
        assert not ((published >= 1) & (published < min_count)).any()
        np.testing.assert_array_equal(out[~small], values[~small])  # NaN == NaN here
        assert np.isnan(out[small]).all()
    assert suppress_small(da, min_count).attrs["suppressed_cells"] == int(small.sum())
    table = format_table(df, min_count).to_numpy()
    assert (table[small] == f"<{min_count}").all()
    assert not np.isin(table[~small], [f"<{min_count}"]).any()
