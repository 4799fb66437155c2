"""Known-answer checks of the forecast scores against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from predgov.forecast.metrics import (
    M5_QUANTILES,
    bias,
    coverage,
    evaluate,
    interval_hit,
    mase,
    naive_scale,
    pinball_loss,
    relative,
    rmsse,
    scale_reason,
    scaled_pinball,
)


def series(values, dim="time"):
    return xr.DataArray(np.asarray(values, dtype=float), dims=dim)


def test_naive_scale_counts_from_first_nonzero():
    y = series([0, 0, 2, 5, 3, 3])
    # differences from the first non-zero value (2): |5-2|, |3-5|, |3-3| = 3, 2, 0
    assert float(naive_scale(y)) == pytest.approx(5 / 3)
    assert float(naive_scale(y, power=2)) == pytest.approx((9 + 4 + 0) / 3)
    # seasonal lag 2: |3-2|, |3-5| = 1, 2 (the first lag-2 pair starts at the first non-zero)
    assert float(naive_scale(y, season=2)) == pytest.approx(1.5)


def test_naive_scale_skips_nan_differences():
    y = series([1, np.nan, 3, 4])
    # 1->nan and nan->3 are not differences; only |4-3| = 1 counts
    assert float(naive_scale(y)) == pytest.approx(1.0)


def test_undefined_scales_are_nan_with_reason():
    y = xr.DataArray(
        np.array([[0, 0, 0, 0], [3, 3, 3, 3], [0, 0, 0, 7], [1, 2, 4, 4]], dtype=float),
        dims=("series", "time"),
        coords={"series": ["zero", "constant", "short", "ok"]},
    )
    scale = naive_scale(y)
    assert np.isnan(scale.sel(series=["zero", "constant", "short"])).all()
    assert float(scale.sel(series="ok")) == pytest.approx((1 + 2 + 0) / 3)
    assert scale_reason(y).values.tolist() == ["all zero", "constant", "too short", ""]
    # a NaN scale gives a NaN score, never 0
    actual = xr.zeros_like(y.isel(time=slice(0, 2)))
    score = mase(actual, actual + 1, scale)
    assert np.isnan(score.sel(series="zero"))
    assert float(score.sel(series="ok")) == pytest.approx(1 / 1.0)


def test_mase_and_rmsse_by_hand():
    train = series([0, 0, 2, 5, 3, 3])  # MAE scale 5/3, MSE scale 13/3
    actual, fc = series([3, 6]), series([4, 4])  # errors -1, 2
    assert float(mase(actual, fc, naive_scale(train))) == pytest.approx((1 + 2) / 2 / (5 / 3))
    assert float(rmsse(actual, fc, naive_scale(train, power=2))) == pytest.approx(
        math.sqrt(((1 + 4) / 2) / (13 / 3))
    )


def test_scaled_pinball_at_m5_quantiles_by_hand():
    q = xr.DataArray(
        [[2.0, 4, 6, 7, 9, 11, 12, 14, 16]],
        dims=("time", "quantile"),
        coords={"quantile": list(M5_QUANTILES)},
    )
    actual = series([10.0])
    # (y - q) * tau below the actual, (q - y) * (1 - tau) above it
    by_hand = [8 * 0.005, 6 * 0.025, 4 * 0.165, 3 * 0.25, 1 * 0.5,
               1 * 0.25, 2 * 0.165, 4 * 0.025, 6 * 0.005]
    np.testing.assert_allclose(pinball_loss(actual, q).values.ravel(), by_hand)
    assert sum(by_hand) == pytest.approx(2.81)
    spl = scaled_pinball(actual, q, xr.DataArray(2.0))
    assert float(spl) == pytest.approx(2.81 / 9 / 2)


def test_scaled_pinball_uses_only_m5_levels_and_needs_them():
    levels = [0.005, 0.025, 0.1, 0.165, 0.25, 0.5, 0.75, 0.835, 0.9, 0.975, 0.995]
    values = [[2.0, 4, 100, 6, 7, 9, 11, 12, -100, 14, 16]]  # 0.1/0.9 absurd: must be ignored
    q = xr.DataArray(values, dims=("time", "quantile"), coords={"quantile": levels})
    assert float(scaled_pinball(series([10.0]), q, xr.DataArray(2.0))) == pytest.approx(
        2.81 / 18
    )
    with pytest.raises(ValueError, match=r"no quantile 0\.005"):
        scaled_pinball(series([10.0]), q.sel(quantile=[0.25, 0.75]), xr.DataArray(1.0))


def test_coverage_by_hand():
    levels = [0.025, 0.1, 0.25, 0.75, 0.9, 0.975]
    row = [1.0, 2, 4, 6, 8, 10]
    q = xr.DataArray([row] * 6, dims=("time", "quantile"), coords={"quantile": levels})
    actual = series([0, 2, 5, 7, 10, np.nan])
    # 50% [4, 6]: 5 -> 1 of 5 observed; 80% [2, 8]: 2, 5, 7 -> 3/5; 95% [1, 10]: 2,5,7,10 -> 4/5
    assert float(coverage(actual, q, 0.5)) == pytest.approx(1 / 5)
    assert float(coverage(actual, q, 0.8)) == pytest.approx(3 / 5)
    assert float(coverage(actual, q, 0.95)) == pytest.approx(4 / 5)
    assert np.isnan(interval_hit(actual, q, 0.8).values[-1])


def test_bias_sign_and_scale():
    actual, fc = series([3, 5, np.nan]), series([4, 8, 100])
    assert float(bias(actual, fc)) == pytest.approx(2.0)  # over-forecast is positive
    assert float(bias(actual, fc, scale=xr.DataArray(4.0))) == pytest.approx(0.5)


def test_relative_is_a_ratio_with_nan_for_zero_baseline():
    out = relative(series([0.5, 2.0, 1.0], "s"), series([1.0, 1.0, 0.0], "s"))
    assert out.values[:2].tolist() == [0.5, 2.0]
    assert np.isnan(out.values[2])


def test_evaluate_over_two_series_dims():
    rng = np.random.default_rng(0)
    train = xr.DataArray(rng.poisson(5, (30, 2, 3)).astype(float),
                         dims=("time", "district", "category"))
    actual = xr.DataArray(rng.poisson(5, (4, 2, 3)).astype(float),
                          dims=("time", "district", "category"))
    levels = [0.005, 0.025, 0.1, 0.165, 0.25, 0.5, 0.75, 0.835, 0.9, 0.975, 0.995]
    mean = xr.full_like(actual, 5.0)
    offsets = xr.DataArray(np.linspace(-5, 5, 11), dims="quantile", coords={"quantile": levels})
    fc = xr.Dataset({"mean": mean, "quantiles": mean + offsets})
    out = evaluate(actual, fc, train)
    assert set(out.data_vars) >= {"mase", "rmsse", "spl", "bias", "cov50", "cov80", "cov95"}
    assert out["mase"].dims == ("district", "category")
    # cell (0, 0) by hand
    a, t = actual[:, 0, 0].values, train[:, 0, 0].values
    scale = np.mean(np.abs(np.diff(t[np.flatnonzero(t > 0)[0]:])))
    assert float(out["mase"][0, 0]) == pytest.approx(np.mean(np.abs(a - 5)) / scale)


def test_pit_coverage_matches_sampled_randomised_pit():
    """Known answer by simulation: draw the randomised PIT u ~ U(F(y-1), F(y)) and count the
    share in the band; also nominal for a calibrated sparse forecaster whose whole-number
    interval over-covers, and NaN for unobserved actuals."""
    from scipy import stats

    from predgov.forecast.metrics import pit_coverage

    rng = np.random.default_rng(3)
    n = 200_000
    mu = rng.gamma(1.0, 2.0, n)
    r = np.where(rng.random(n) < 0.3, np.inf, rng.uniform(0.5, 5.0, n))
    rf = np.where(np.isfinite(r), r, 1.0)
    p = np.where(np.isfinite(r), rf / (rf + mu), 1.0)
    y = np.where(np.isfinite(r), stats.nbinom.rvs(np.where(np.isfinite(r), r, 1.0), p,
                                                  random_state=rng),
                 stats.poisson.rvs(mu, random_state=rng))  # fmt: skip
    def cdf(k):
        return np.where(np.isfinite(r), stats.nbinom.cdf(k, np.where(np.isfinite(r), r, 1.0), p),
                        stats.poisson.cdf(k, mu))  # fmt: skip

    u = cdf(y - 1) + rng.random(n) * (cdf(y) - cdf(y - 1))
    for level in (0.5, 0.8, 0.95):
        got = pit_coverage(y, mu, r, level)
        sampled = ((u >= (1 - level) / 2) & (u <= (1 + level) / 2)).mean()
        assert got.mean() == pytest.approx(sampled, abs=4e-3)
        assert got.mean() == pytest.approx(level, abs=6e-3)  # calibrated by construction
    # a sparse calibrated series: the whole-number 80 % interval holds far more than 0.8
    mu0, r0 = np.full(n, 0.3), np.full(n, 2.0)
    y0 = stats.nbinom.rvs(r0, r0 / (r0 + mu0), random_state=rng)
    hi = stats.nbinom.ppf(0.9, r0, r0 / (r0 + mu0))
    assert (y0 <= hi).mean() > 0.9
    assert pit_coverage(y0, mu0, r0, 0.8).mean() == pytest.approx(0.8, abs=5e-3)
    # an interval asked at other levels (recalibrated) stands for its own band
    assert pit_coverage(y0, mu0, r0, band=(0.05, 0.95)).mean() == pytest.approx(0.9, abs=5e-3)
    out = pit_coverage(np.array([np.nan, 2.0]), np.array([1.0, np.nan]), 2.0)
    assert np.isnan(out).all()
    with pytest.raises(ValueError, match="level"):
        pit_coverage(1.0, 1.0, 1.0, level=1.0)
