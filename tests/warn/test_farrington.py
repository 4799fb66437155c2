"""Farrington-flexible: constructed known answers, vectorisation, no look-ahead."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from predgov.warn import detect
from predgov.warn.farrington import farrington


def monthly(n: int) -> np.ndarray:
    return pd.date_range("2018-01-01", periods=n, freq="MS").values


def test_constant_history_gives_poisson_threshold():
    # Constant 10 a week for 5 years: mu0 = 10, Pearson X^2 = 0 so phi = max(1, 0) = 1 and the
    # threshold is the Poisson(10) 95 % quantile: P(Y <= 14) = 0.9165, P(Y <= 15) = 0.9513 -> 15.
    t = pd.date_range("2019-01-07", periods=5 * 52 + 10, freq="W-MON").values
    y = np.full((len(t), 1), 10.0)
    y[-1] = 16
    out = farrington(y, t, "W-MON", start=t[-1])
    assert out["expected"][-1, 0] == pytest.approx(10.0, rel=1e-6)
    assert out["upper"][-1, 0] == 15.0
    assert out["phi"][-1, 0] == 1.0
    # score = -log10 P(Y >= 16 | Poisson(10)) = -log10(0.048740) = 1.312139 > -log10(0.05)
    assert out["score"][-1, 0] == pytest.approx(-math.log10(stats.poisson.sf(15, 10)), rel=1e-9)
    assert out["score"][-1, 0] > out["threshold"][-1, 0]


def test_original_farrington_windows_worked_example():
    # Monthly data, b = 3 years, w = 1, no seasonal factor (only the windows are fitted), no
    # trend. Origin t0 = 39: the windows are rows 2-4, 14-16, 26-28 (t0 - 12j +- 1).
    t = monthly(40)
    y = np.full(40, 100.0)  # every other row must be ignored
    window_rows = [2, 3, 4, 14, 15, 16, 26, 27, 28]
    window_vals = [4, 16, 10, 5, 15, 10, 7, 13, 10]
    y[window_rows] = window_vals
    y[39] = 20
    out = farrington(y, t, "MS", b=3, w=1, no_periods=1, trend=False, start=t[39])
    # Intercept-only quasi-Poisson: mu0 = mean = 90 / 9 = 10.
    # Pearson X^2 = (36+36+0+25+25+0+9+9+0)/10 = 14.0; phi = 14 / (9 - 1) = 1.75.
    # Anscombe residual of the largest value, 16: 1.5*(16^(2/3)*10^(-1/6) - 10^(1/2))
    # / sqrt(1.75 * (1 - 1/9)) = 1.40 < 2.58, so no period is down-weighted.
    # NB plug-in: size = mu0 / (phi - 1) = 13.3333, p = size / (size + mu0) = 0.571429.
    size = 10 / 0.75
    p = size / (size + 10)
    assert out["expected"][39] == pytest.approx(10.0, rel=1e-6)
    assert out["phi"][39] == pytest.approx(1.75, rel=1e-6)
    # P(Y <= 17) = 0.9499 < 0.95 <= P(Y <= 18) = 0.9658: the threshold is 18.
    assert out["upper"][39] == stats.nbinom.ppf(0.95, size, p)
    assert out["upper"][39] == 18.0
    assert out["score"][39] == pytest.approx(-math.log10(stats.nbinom.sf(19, size, p)), rel=1e-5)


def test_outlier_in_history_is_down_weighted():
    # Constant 10 a month, except 60 in one comparable-period month: unweighted, the window
    # level is (8 x 10 + 60) / 9 = 15.56. Its Anscombe residual (phi about 5.7 from 36 months,
    # 11 parameters) is about 3.8 > 2.58, so it gets weight 1/s^2 and mu0 drops towards 10.
    t = monthly(40)
    y = np.full(40, 10.0)
    y[15] = 60
    kw = dict(b=3, w=1, trend=False, start=t[39])
    plain = farrington(y, t, "MS", reweight=False, **kw)["expected"][39]
    weighted = farrington(y, t, "MS", **kw)["expected"][39]
    assert plain == pytest.approx(140 / 9, rel=1e-6)
    assert 10.0 < weighted < 12.0


def test_significant_trend_is_kept():
    t = monthly(72)
    rng = np.random.default_rng(3)
    mu = 20 * np.exp(0.03 * np.arange(72))
    y = rng.poisson(mu).astype(float)[:, None]
    out = farrington(y, t, "MS", b=3, start=t[-1])
    no_trend = farrington(y, t, "MS", b=3, trend=False, start=t[-1])
    assert out["expected"][-1, 0] == pytest.approx(mu[-1], rel=0.15)
    assert no_trend["expected"][-1, 0] < out["expected"][-1, 0]


def test_vectorised_equals_series_by_series():
    t = pd.date_range("2021-01-04", periods=3 * 52 + 20, freq="W-MON").values
    rng = np.random.default_rng(1)
    y = rng.negative_binomial(5, 5 / (5 + np.array([3.0, 12.0, 40.0])), (len(t), 3)).astype(float)
    y[50, 1] = np.nan
    together = farrington(y, t, "W-MON", start=t[-20])
    for s in range(3):
        alone = farrington(y[:, s], t, "W-MON", start=t[-20])
        np.testing.assert_allclose(together["expected"][:, s], alone["expected"], rtol=1e-5)
        np.testing.assert_allclose(together["upper"][:, s], alone["upper"])


def test_no_look_ahead_and_tiny_counts():
    t = pd.date_range("2021-01-04", periods=3 * 52 + 20, freq="W-MON").values
    rng = np.random.default_rng(2)
    y = rng.poisson(6.0, (len(t), 2)).astype(float)
    cut = len(t) - 10
    poisoned = y.copy()
    poisoned[cut:] = 500
    a = farrington(y, t, "W-MON", start=t[-20])
    b = farrington(poisoned, t, "W-MON", start=t[-20])
    for key in ("expected", "upper", "phi"):
        np.testing.assert_array_equal(a[key][:cut], b[key][:cut])
    np.testing.assert_array_equal(a["score"][:cut], b["score"][:cut])
    # limit54: fewer than 5 cases in the last 4 periods -> no alarm possible
    sparse = np.zeros((len(t), 1))
    sparse[::9] = 1
    sparse[-1] = 3
    out = farrington(sparse, t, "W-MON", start=t[-1])
    assert math.isinf(out["threshold"][-1, 0])


def test_short_or_empty_history_gives_nan_not_error():
    t = monthly(10)
    out = farrington(np.zeros((10, 2)), t, "MS")
    assert np.isnan(out["expected"]).all()
    assert not (out["score"] > out["threshold"]).any()


def test_seasonal_on_off_series_does_not_break_the_fit():
    """Weekly heating complaints are zero half the year: the Poisson fit is in separation (the
    zero seasonal levels go to minus infinity) and its information matrix became exactly
    singular. Regression: the weekly demo city crashed in numpy.linalg (the weekly default
    detector). It must give the season's level in season and ~0 in summer."""
    from predgov.data.cube import resample_counts
    from predgov.data.demo import demo_city

    wk = resample_counts(demo_city(0, categories=["heating", "parking"]), "W-MON")
    out = detect(wk, "farrington")
    heating = out["expected"].sel(category="heating")
    assert np.isfinite(heating).sum() > 10 * 52  # fitted for every district after year one
    months = heating["time"].dt.month
    summer = heating.where((months >= 6) & (months <= 8)).max()
    assert float(summer) < 1.0
    ratio = (heating / wk["counts"].sel(category="heating")).where(months == 1)
    assert float(ratio.median()) == pytest.approx(1.0, abs=0.2)
    assert float(ratio.min()) > 0.5 and float(ratio.max()) < 2.0  # no wild extrapolation
    assert np.isfinite(out["expected"].sel(category="parking").isel(time=slice(60, None))).all()


def test_fa_sets_alpha_per_period_and_explicit_levels_win():
    """``fa`` false alarms per series-year -> alpha = fa / periods_per_year (52.18 weeks, 12
    months); an explicit ``alpha`` or ``threshold`` overrides it; nonsense is a clear error."""
    t = pd.date_range("2019-01-07", periods=5 * 52 + 10, freq="W-MON").values
    y = np.full((len(t), 1), 10.0)
    weeks_per_year = 365.25 / 7
    thr = farrington(y, t, "W-MON", fa=1.0, start=t[-1])["threshold"][-1, 0]
    assert thr == pytest.approx(math.log10(weeks_per_year), rel=1e-12)
    assert farrington(y, t, "W-MON", fa=1.0, alpha=0.01, start=t[-1])["threshold"][-1, 0] == 2.0
    assert farrington(y, t, "W-MON", fa=1.0, threshold=3.5, start=t[-1])["threshold"][-1, 0] == 3.5
    assert farrington(y, t, "W-MON", start=t[-1])["threshold"][-1, 0] == pytest.approx(
        -math.log10(0.05)
    )
    # Poisson(10): the 1 - 1/52.18 quantile is 17 (P(Y <= 16) = 0.9730 < 0.98084 <= 0.9857)
    assert farrington(y, t, "W-MON", fa=1.0, start=t[-1])["upper"][-1, 0] == 17.0
    with pytest.raises(ValueError, match="fa=60"):
        farrington(y, t, "W-MON", fa=60.0)
    with pytest.raises(ValueError, match="alpha"):
        farrington(y, t, "W-MON", alpha=1.5)


def test_predictive_dispersion_adds_the_mean_estimate_variance():
    """The worked example above (intercept only, 9 window months, mu0 = 10, phi = 1.75): the
    Poisson MLE of log mu from n = 9 periods of mean 10 has variance 1 / (n mu) = 1/90, times
    phi for quasi-Poisson, so the predictive dispersion is 1.75 + 10 * 1.75 / 90 = 1.9444."""
    t = monthly(40)
    y = np.full(40, 100.0)
    y[[2, 3, 4, 14, 15, 16, 26, 27, 28]] = [4, 16, 10, 5, 15, 10, 7, 13, 10]
    y[39] = 20
    kw = dict(b=3, w=1, no_periods=1, trend=False, start=t[39])
    out = farrington(y, t, "MS", predictive=True, **kw)
    phi = 1.75 * (1 + 1 / 9)
    assert out["phi"][39] == pytest.approx(phi, rel=1e-6)
    assert out["expected"][39] == pytest.approx(10.0, rel=1e-6)
    size = 10 / (phi - 1)
    assert out["upper"][39] == stats.nbinom.ppf(0.95, size, size / (size + 10))
    expected_score = -math.log10(stats.nbinom.sf(19, size, size / (size + 10)))
    assert out["score"][39] == pytest.approx(expected_score, rel=1e-5)
    # the plug-in (Noufaily's nbPlugin) is unchanged
    assert farrington(y, t, "MS", **kw)["phi"][39] == pytest.approx(1.75, rel=1e-6)


def test_weekly_and_monthly_default_state_their_rate():
    """Regression: the weekly/monthly default used surveillance's alpha = 0.05 (2.6 alarm
    weeks a year in control); now its threshold is -log10(1 / periods_per_year)."""
    import xarray as xr

    for freq, ppy, n in (("W-MON", 365.25 / 7, 4 * 52), ("MS", 12.0, 60)):
        t = pd.date_range("2019-01-07", periods=n, freq=freq)
        rng = np.random.default_rng(0)
        da = xr.DataArray(rng.poisson(30.0, (n, 2)).astype(float), dims=("time", "s"),
                          coords={"time": t}, attrs={"freq": freq})  # fmt: skip
        out = detect(da, "default", start=t[-3])
        thr = out["threshold"].values
        np.testing.assert_allclose(thr[np.isfinite(thr)], math.log10(ppy))
        assert json_params(out)["predictive"] is True
        over = detect(da, "default", alpha=0.05, start=t[-3])["threshold"].values
        np.testing.assert_allclose(over[np.isfinite(over)], -math.log10(0.05))


def json_params(ds):
    import json

    return json.loads(ds.attrs["params"])


def _in_control_rate(freq: str, n_series: int, years: int, seed: int) -> float:
    """Alarm periods per series-year of the weekly/monthly default on in-control NB series with
    a yearly cycle (random phase), scored after their first two years."""
    import xarray as xr

    per = {"W-MON": 52, "MS": 12}[freq]
    n = years * per
    t = pd.date_range("2015-01-05", periods=n, freq=freq)
    rng = np.random.default_rng(seed)
    level = np.exp(rng.uniform(np.log(10), np.log(300), n_series))
    phase = rng.uniform(0, 2 * np.pi, n_series)
    size = rng.uniform(5, 40, n_series)
    mu = level * np.exp(0.3 * np.sin(2 * np.pi * np.arange(n)[:, None] / per + phase))
    y = rng.negative_binomial(size, size / (size + mu)).astype(float)
    da = xr.DataArray(y, dims=("time", "s"), coords={"time": t}, attrs={"freq": freq})
    first = 2 * per
    out = detect(da, "default", start=t[first])
    alarms = out["alarm"].values[first:].sum()
    return float(alarms / (n_series * (n - first) / (365.25 / 7 if freq == "W-MON" else 12)))


@pytest.mark.parametrize("freq", ["W-MON", "MS"])
def test_default_in_control_rate_is_near_nominal(freq):
    """In-control false alarms of the weekly/monthly default within 0.5-1.5 per series-year
    (nominal 1). Regression: with surveillance's alpha = 0.05 the weekly rate here is 2.97
    (1.27 with alpha = 1/52 but the plug-in threshold; 1.14 with the predictive one). ~2.5 s."""
    rate = _in_control_rate(freq, 150, 6, seed=11)
    assert 0.5 < rate < 1.5, rate


def test_nb2_variance_uses_the_moment_dispersion_of_the_fit():
    """variance="nb2": the threshold's NB has variance mu0 + alpha mu0^2 with alpha the moment
    dispersion n / (n - p) * sum((y - m)^2 - m) / sum(m^2) of the fit (here: windows only, no
    trend, no reweighting, so the fit is the windows' mean), i.e. phi = 1 + alpha mu0, whereas
    the quasi-Poisson phi is the Pearson X^2 / (n - p)."""
    t = monthly(40)
    rng = np.random.default_rng(3)
    y = rng.negative_binomial(4.0, 4.0 / (4.0 + 50.0), 40).astype(float)
    rows = [2, 3, 4, 14, 15, 16, 26, 27, 28]  # the windows of t0 = 39 (b = 3, w = 1)
    kw = dict(b=3, w=1, no_periods=1, trend=False, reweight=False, limit54=None, start=t[-1])
    ref = y[rows]
    m, n = ref.mean(), len(rows)
    alpha = n / (n - 1) * np.sum((ref - m) ** 2 - m) / (n * m**2)
    assert alpha > 0.05  # the draw is overdispersed: the check below is not the Poisson case
    nb2 = farrington(y[:, None], t, "MS", variance="nb2", **kw)
    assert nb2["expected"][-1, 0] == pytest.approx(m, rel=1e-6)
    assert nb2["phi"][-1, 0] == pytest.approx(1.0 + alpha * m, rel=1e-6)
    size = 1.0 / alpha  # the upper bound is the NB(m, 1/alpha) quantile
    q = stats.nbinom(size, size / (size + m)).ppf(1 - 0.05)
    assert nb2["upper"][-1, 0] == q
    qp = farrington(y[:, None], t, "MS", **kw)
    assert qp["phi"][-1, 0] == pytest.approx(np.sum((ref - m) ** 2 / m) / (n - 1), rel=1e-6)
    with pytest.raises(ValueError, match="variance must be"):
        farrington(y[:, None], t, "MS", variance="nb1")


def test_nb2_dispersion_ignores_the_outbreak_down_weighting():
    """The down-weighted fit moves the mean, but alpha takes every reference period at weight 1
    (the Anscombe weights would remove the in-control tail a small size produces)."""
    t = monthly(40)
    rng = np.random.default_rng(5)
    y = rng.negative_binomial(4.0, 4.0 / (4.0 + 50.0), 40).astype(float)
    rows = [2, 3, 4, 14, 15, 16, 26, 27, 28]
    y[15] = 400.0  # a past outbreak in the windows: down-weighted
    kw = dict(b=3, w=1, no_periods=1, trend=False, limit54=None, start=t[-1],
              weights_threshold=1.0)  # 9 periods: the outlier inflates phi itself
    out = farrington(y[:, None], t, "MS", variance="nb2", **kw)
    ref, n = y[rows], len(rows)
    m = out["expected"][-1, 0]
    assert m < ref.mean() - 5  # the outbreak was down-weighted in the fit
    alpha = n / (n - 1) * np.sum((ref - m) ** 2 - m) / (n * m**2)
    assert out["phi"][-1, 0] == pytest.approx(1.0 + min(alpha, 10.0) * m, rel=1e-6)
