"""detect(): bad counts are refused with one clear line; a detector that scores nothing says why."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from predgov.warn import DETECTORS, detect
from predgov.warn.detect import NoScoreWarning


def _counts(n: int = 60, seed: int = 0) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    t = pd.date_range("2024-01-01", periods=n, freq="D")
    y = rng.poisson(8.0, (n, 2, 3)).astype(float)
    return xr.DataArray(
        y,
        dims=("time", "district", "category"),
        coords={"time": t, "district": ["a", "b"], "category": ["x", "y", "z"]},
        attrs={"freq": "D"},
    )


@pytest.mark.parametrize("method", [*DETECTORS])
def test_negative_counts_are_refused_naming_how_many(method):
    """Before: EARS returned negative expected values and alarms fired on -5 requests."""
    da = _counts()
    da[40, 0, 1] = -5.0
    da[41, 1, 2] = -1.0
    with pytest.raises(ValueError, match=r"negative values: 2 cells in 2 of 6 series and 2 of "
                                         r"60 periods \(first 2024-02-10\)"):
        detect(da, method)


@pytest.mark.parametrize("method", [*DETECTORS])
def test_infinite_counts_are_refused(method):
    """Before: seven detectors returned infinite expected values."""
    da = _counts()
    da[50, 0, 0] = np.inf
    with pytest.raises(ValueError, match=r"infinite values: 1 cells in 1 of 6 series"):
        detect(da, method)


def test_nan_still_means_not_observed():
    da = _counts()
    da[50:53, 0, 0] = np.nan
    out = detect(da, "ears_c2")
    assert out["score"][50:53, 0, 0].isnull().all()
    assert np.isfinite(out["expected"].values[np.isfinite(out["expected"].values)]).all()


def test_farrington_on_120_days_says_how_much_history_it_needs():
    """Before: an all-NaN score and no word."""
    da = _counts(120)
    with pytest.warns(NoScoreWarning, match=r"farrington scored no period: it needs 385 daily "
                                            r"periods.*the counts hold 120; use 'ears_c2'"):
        out = detect(da, "farrington")
    assert out["score"].isnull().all()
    assert "385 daily periods" in out.attrs["warning"]


def test_a_detector_that_scores_something_does_not_warn():
    da = _counts(120)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NoScoreWarning)
        out = detect(da, "ears_c2")
    assert out["score"].notnull().any() and "warning" not in out.attrs


def test_any_detector_scoring_nothing_warns():
    """A series too short for EARS' 7-period baseline: all NaN, with a reason."""
    da = _counts(3)
    with pytest.warns(NoScoreWarning, match=r"ears_c1 scored no period: the 3 daily periods"):
        detect(da, "ears_c1")
