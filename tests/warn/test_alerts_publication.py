"""Alert tables leave the building without small counts, nor anything they can be derived from."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import xarray as xr

from predgov.warn.alerts import alerts, publishable


def _one_alert(observed: float, expected: float) -> pd.DataFrame:
    t = pd.date_range("2024-03-01", periods=3)
    dims = ("time", "district", "category")
    coords = {"time": t, "district": ["市南"], "category": ["gas"]}
    counts = xr.DataArray(np.array([5, observed, 5], float).reshape(3, 1, 1), dims=dims,
                          coords=coords)  # fmt: skip
    alarm = xr.zeros_like(counts, dtype=bool)
    alarm[1] = True
    exp = xr.full_like(counts, expected, dtype=float)
    ds = xr.Dataset({"alarm": alarm, "expected": exp, "score": counts * 1.0,
                     "threshold": xr.full_like(counts, 2.0, float)})  # fmt: skip
    return alerts(ds, counts, detector="ears_c2")


def test_a_small_expected_hides_the_ratio_even_when_observed_is_published():
    """Before: expected read "<5" but observed 12 ÷ ratio 4.8 gave 2.5 back."""
    table = _one_alert(observed=12, expected=2.5)
    pub = publishable(table)
    assert pub.loc[0, "observed"] == "12" and pub.loc[0, "expected"] == "<5"
    assert pub.loc[0, "ratio"] == "suppressed"
    assert np.isnan(pub.loc[0, "margin"])
    assert "×" not in pub.loc[0, "explanation_en"] and "倍" not in pub.loc[0, "explanation_zh"]


def test_alert_csv_has_plain_numbers_and_names_what_is_withheld():
    """Before: numbers as strings ("<5", "1,234"); now numbers, empty cells and a flag column."""
    table = pd.concat([_one_alert(12, 2.5), _one_alert(2400, 600.0)], ignore_index=True)
    text = publishable(table, numbers=True).to_csv(index=False)
    assert '"' not in text and "<5" not in text
    back = pd.read_csv(io.StringIO(text))
    assert back["observed"].tolist() == [12, 2400]
    assert np.isnan(back.loc[0, "expected"]) and np.isnan(back.loc[0, "ratio"])
    assert back.loc[0, "suppressed"] == "expected;ratio;margin"
    assert pd.isna(back.loc[1, "suppressed"]) and back.loc[1, "expected"] == 600.0
    assert back.loc[1, "ratio"] == 2400 / 600.0
    # Nothing published divides back to a withheld count.
    shown = back.dropna(subset=["observed", "ratio"])
    assert not ((shown["observed"] / shown["ratio"]).between(0, 5, inclusive="neither")).any()
