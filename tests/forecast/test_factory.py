"""make_forecaster: names, default, errors."""

from __future__ import annotations

import pytest

from predgov.forecast import (
    NBGLM,
    TSB,
    Climatology,
    ProphetForecaster,
    SeasonalNaive,
    available_models,
    make_forecaster,
)


@pytest.mark.parametrize(
    "name, cls",
    [
        ("seasonal_naive", SeasonalNaive),
        ("climatology", Climatology),
        ("tsb", TSB),
        ("croston_tsb", TSB),
        ("nb_glm", NBGLM),
        ("prophet", ProphetForecaster),
        ("default", NBGLM),
        ("Seasonal-Naive", SeasonalNaive),
    ],
)
def test_names(name, cls):
    assert isinstance(make_forecaster(name), cls)


def test_params_passed():
    m = make_forecaster("prophet", n_jobs=2, uncertainty_samples=10)
    assert m.n_jobs == 2 and m.uncertainty_samples == 10


def test_unknown_name_lists_names():
    with pytest.raises(ValueError, match="seasonal_naive") as err:
        make_forecaster("arima")
    assert "default" in str(err.value)


def test_unknown_param():
    with pytest.raises(TypeError, match="period"):
        make_forecaster("seasonal_naive", bogus=1)


def test_available_models():
    assert {"default", "prophet", "nb_glm", "climatology"} <= set(available_models())
