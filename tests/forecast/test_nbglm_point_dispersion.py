"""NB-GLM point forecasts (median vs mean), the predictive distribution, candidate level
spans, the level-dependent dispersion and the modules split off ``nbglm``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

from predgov.forecast import NBGLM
from predgov.forecast.design import day_class, fourier_terms, glm_design, split_holidays
from predgov.forecast.dispersion import shrink_normal
from predgov.forecast.metrics import evaluate, point_forecast


def _series(n_series: int, n_days: int, mean: float, size: float, seed: int) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    t = pd.date_range("2022-01-03", periods=n_days, freq="D")
    p = size / (size + mean)
    y = rng.negative_binomial(size, p, (n_days, n_series)).astype(float)
    da = xr.DataArray(y, coords={"time": t, "s": np.arange(n_series)}, dims=("time", "s"))
    da["time"].attrs["freq"] = "D"
    return da


@pytest.fixture(scope="module")
def sparse_fit():
    da = _series(6, 200, 1.3, 4.0, seed=3)
    model = NBGLM().fit(da)
    return model, model.predict(14), model.predict_distribution(14)


def test_median_is_the_integer_median_of_the_predictive_nb(sparse_fit):
    model, fc, dist = sparse_fit
    med = point_forecast(fc, "median").values
    # independent oracle: scipy's integer quantile at the (recalibrated) median level
    level = model.calibrated_levels_[list(model.levels_).index(0.5)]
    size = dist["size"].values
    mu = dist["mean"].values
    oracle = stats.nbinom.ppf(level, size, size / (size + mu))
    # quantiles stay monotone: the median is kept inside the issued 50 % interval
    q25, q75 = (fc["quantiles"].sel(quantile=q).values for q in (0.25, 0.75))
    np.testing.assert_array_equal(med, np.clip(oracle, q25, q75))
    assert (med == oracle).mean() > 0.8
    assert np.all(med == np.round(med))  # the old mid-distribution median was fractional


def test_median_beats_mean_on_absolute_error_for_skewed_counts():
    da = _series(40, 260, 0.4, 1.0, seed=5)
    train, test = da.isel(time=slice(0, 232)), da.isel(time=slice(232, None))
    fc = NBGLM().fit(train).predict(28)
    fc = fc.assign_coords(time=test["time"].values)
    s_mean = evaluate(test, fc, train)
    s_med = evaluate(test, fc, train, point="median")
    assert float(s_med["mase"].mean()) < float(s_mean["mase"].mean())
    np.testing.assert_allclose(s_med["rmsse"], s_mean["rmsse"])  # RMSSE stays on the mean


def test_point_forecast_refuses_unknown_point():
    fc = xr.Dataset({"mean": ("time", [1.0]),
                     "quantiles": (("time", "quantile"), [[1.0]])}, coords={"quantile": [0.5]})
    with pytest.raises(ValueError, match="point must be"):
        point_forecast(fc, "mode")


def test_predict_distribution_matches_predict_and_gives_the_interval_mass(sparse_fit):
    _, fc, dist = sparse_fit
    np.testing.assert_allclose(dist["mean"].values, fc["mean"].values)
    size = dist["size"].values
    mu = dist["mean"].values
    lo = fc["quantiles"].sel(quantile=0.1).values
    hi = fc["quantiles"].sel(quantile=0.9).values
    p = size / (size + mu)
    mass = stats.nbinom.cdf(hi, size, p) - stats.nbinom.cdf(lo - 1, size, p)
    # the interval is the whole-number set whose mass is nearest its (recalibrated) content
    assert np.all(np.abs(mass - 0.8) < 0.2)
    assert 0.7 < mass.mean() < 0.9


def test_predict_distribution_marks_fallbacks():
    da = _series(3, 120, 5.0, 10.0, seed=1)
    da[:, 0] = 0.0  # all zero: falls back
    dist = NBGLM().fit(da).predict_distribution(7)
    assert np.isnan(dist["size"].sel(s=0)).all()
    assert (dist["size"].sel(s=[1, 2]) > 0).all()
    assert dist["fallback"].sel(s=0).item() != ""


def test_level_window_candidates_are_chosen_from():
    rng = np.random.default_rng(2)
    t = pd.date_range("2022-01-03", periods=300, freq="D")
    # a level that drifts as a random walk: short spans forecast it better
    walk = np.exp(np.cumsum(rng.normal(0, 0.05, (300, 1)), axis=0)) * 50
    y = rng.poisson(np.broadcast_to(walk, (300, 8))).astype(float)
    da = xr.DataArray(y, coords={"time": t, "s": np.arange(8)}, dims=("time", "s"))
    m = NBGLM(level_window=(7, 112)).fit(da)
    assert m.level_span_ == 7
    with pytest.raises(ValueError, match="level_window"):
        NBGLM(level_window="short").fit(da)


@pytest.mark.parametrize(("power", "sign"), [(3.0, 1), (2.0, 0)])
def test_dispersion_exponent_follows_the_variance_law(power, sign):
    rng = np.random.default_rng(11)
    n, S = 420, 30
    t = pd.date_range("2022-01-03", periods=n, freq="D")
    # weekly cycle 20 <-> 80 a day; var = mu + 0.05 * mu**2 * (mu / 40)**(power - 2)
    cycle = np.where(t.day_of_week.to_numpy() >= 5, 80.0, 20.0)[:, None] * np.ones((1, S))
    alpha = 0.05 * (cycle / 40.0) ** (power - 2)
    size = 1 / alpha
    y = rng.negative_binomial(size, size / (size + cycle)).astype(float)
    da = xr.DataArray(y, coords={"time": t, "s": np.arange(S)}, dims=("time", "s"))
    m = NBGLM(dispersion_level=True, level_by="shared").fit(da)
    g = np.median(m.dispersion_exponent_)
    if sign:
        assert g > 0.5, g
    else:
        assert abs(g) < 0.3, g
    plain = NBGLM(level_by="shared").fit(da)
    assert (plain.dispersion_exponent_ == 0).all()


def test_shrink_normal_pools_noise_and_keeps_signal():
    rng = np.random.default_rng(0)
    truth = np.repeat([-0.5, 0.5], 50)
    est = truth + rng.normal(0, 0.1, 100)
    out = shrink_normal(est, np.full(100, 0.01), groups=np.repeat(["a", "b"], 50))
    assert np.abs(out - truth).mean() < np.abs(est - truth).mean()  # shrinks to each group
    alone = shrink_normal(np.array([0.8]), np.array([np.inf]))
    assert alone.tolist() == [0.0]


def test_design_pieces():
    t = pd.date_range("2024-01-05", periods=14, freq="D")  # a Friday
    X = np.zeros((14, 1))
    X[0, 0] = X[1, 0] = 1.0  # a holiday on Friday and on Saturday
    split = split_holidays(t, X, ["holiday"])
    assert split[:2].tolist() == [[1.0, 0.0], [0.0, 1.0]]
    cls = day_class(t, "D", X, ["holiday"])
    assert cls[:4].tolist() == [1, 1, 1, 0]
    D = glm_design(t, t[0].to_datetime64(), "D", 3, 0, False, X, np.zeros(1), np.ones(1))
    assert D.shape == (14, 2 + 6 + 1)
    np.testing.assert_allclose(D[:, 2:8], fourier_terms(t, 7.0, 3))
    np.testing.assert_allclose(D[7, 1], 7 / 365.25)
