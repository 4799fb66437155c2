"""NB-GLM: recovers known parameters, calibrated quantiles, regressors, fallbacks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from predgov.forecast import NBGLM
from predgov.forecast.nbglm import fourier_terms

T, H, S = 3 * 364, 91, 300
SIZE = 8.0
WEEKLY = (0.30, -0.20)  # cos, sin coefficients of the first weekly harmonic
HOLIDAY = -0.5


@pytest.fixture(scope="module")
def simulated():
    rng = np.random.default_rng(42)
    times = pd.date_range("2021-01-04", periods=T + H, freq="D")
    holiday = rng.random(T + H) < 0.04
    level = rng.uniform(np.log(3), np.log(30), S)
    f = fourier_terms(times, 7.0, 1)
    eta = level[None, :] + f @ np.array(WEEKLY)[:, None] + HOLIDAY * holiday[:, None]
    mu = np.exp(eta)
    y = rng.negative_binomial(SIZE, SIZE / (SIZE + mu))
    da = xr.DataArray(y[:T], coords={"time": times[:T], "series": np.arange(S)},
                      dims=("time", "series"))  # fmt: skip
    da["time"].attrs["freq"] = "D"
    reg = xr.Dataset({"holiday": ("time", holiday)}, coords={"time": times})
    return da, reg, y[T:], level, mu[T:]


@pytest.fixture(scope="module")
def fitted(simulated):
    da, reg, *_ = simulated
    model = NBGLM(yearly_harmonics=0, weekly_harmonics=1, trend=False).fit(da, reg)
    return model, model.predict(H, reg)


def test_recovers_weekly_amplitudes_level_and_holiday(simulated, fitted):
    _, _, _, level, _ = simulated
    model, _ = fitted
    coef = model.coefficients()
    weekly = coef["weekly"]
    assert weekly.mean(axis=0) == pytest.approx(WEEKLY, abs=0.02)
    assert np.abs(weekly - np.array(WEEKLY)).max() < 0.12
    assert coef["regressor"][:, 0].mean() == pytest.approx(HOLIDAY, abs=0.03)
    assert np.abs(coef["intercept"][:, 0] - level).max() < 0.1
    assert np.median(coef["alpha"]) == pytest.approx(1 / SIZE, rel=0.15)


def test_quantiles_cover_at_nominal_rate(simulated, fitted):
    *_, future, _, _ = simulated
    _, fc = fitted
    q = fc["quantiles"]
    for lo, hi, nominal in ((0.1, 0.9, 0.8), (0.25, 0.75, 0.5), (0.025, 0.975, 0.95)):
        inside = (future >= q.sel(quantile=lo).values) & (future <= q.sel(quantile=hi).values)
        assert inside.mean() == pytest.approx(nominal, abs=0.03), (lo, hi)


def test_mean_close_to_truth(simulated, fitted):
    *_, truth = simulated
    _, fc = fitted
    ratio = fc["mean"].values / truth
    assert np.median(np.abs(np.log(ratio))) < 0.06


def test_integer_quantiles_option(simulated):
    da, reg, *_ = simulated
    fc = NBGLM(quantile_method="integer", yearly_harmonics=0).fit(da[:, :5], reg).predict(7, reg)
    q = fc["quantiles"].values
    np.testing.assert_array_equal(q, np.round(q))


def test_chunking_does_not_change_results(simulated):
    da, reg, *_ = simulated
    sub = da[:, :40]
    a = NBGLM(chunk_size=7).fit(sub, reg).predict(10, reg)
    b = NBGLM(chunk_size=1000).fit(sub, reg).predict(10, reg)
    np.testing.assert_allclose(a["mean"].values, b["mean"].values, rtol=1e-8)


def test_trend_recovered():
    rng = np.random.default_rng(1)
    n = 3 * 365
    times = pd.date_range("2020-01-01", periods=n, freq="D")
    years = (np.arange(n) - (n - 1)) / 365.25
    mu = 20 * np.exp(0.15 * years)[:, None] * np.ones((1, 50))
    y = rng.negative_binomial(20, 20 / (20 + mu))
    da = xr.DataArray(y, coords={"time": times}, dims=("time", "s"))
    model = NBGLM(yearly_harmonics=0).fit(da)
    assert model.coefficients()["trend"].mean() == pytest.approx(0.15, abs=0.03)


def test_nan_gaps_are_not_zeros():
    rng = np.random.default_rng(2)
    times = pd.date_range("2022-01-01", periods=400, freq="D")
    y = rng.poisson(10.0, (400, 3)).astype(float)
    y[100:300, 0] = np.nan  # a long gap
    y[rng.random((400, 3)) < 0.2] = np.nan  # scattered gaps
    da = xr.DataArray(y, coords={"time": times}, dims=("time", "s"))
    fc = NBGLM().fit(da).predict(30)
    assert fc["mean"].values.mean() == pytest.approx(10.0, rel=0.1)
    assert (fc["fallback"].values == "").all()


def test_weekly_and_monthly_calendar_fractions():
    rng = np.random.default_rng(3)
    times = pd.date_range("2019-01-01", periods=60, freq="MS")
    days = times.days_in_month.to_numpy()
    hol = rng.uniform(0, 0.2, 66)
    mu = 3.0 * days[:, None] * np.exp(-1.0 * hol[:60, None])
    y = rng.poisson(mu * np.ones((1, 20)))
    da = xr.DataArray(y, coords={"time": times}, dims=("time", "s"))
    da["time"].attrs["freq"] = "MS"
    reg = xr.Dataset({"holiday": ("time", hol)},
                     coords={"time": pd.date_range("2019-01-01", periods=66, freq="MS")})
    model = NBGLM(yearly_harmonics=0, trend=False).fit(da, reg)
    # the holiday share is standardised: effect per unit share = coef / scale
    effect = model.coefficients()["regressor"][:, 0] / model.reg_scale_[0]
    assert effect.mean() == pytest.approx(-1.0, abs=0.3)
    fc = model.predict(6, reg)
    assert fc.sizes["time"] == 6


def test_regressors_required_at_predict(simulated):
    da, reg, *_ = simulated
    model = NBGLM().fit(da[:, :3], reg)
    with pytest.raises(ValueError, match="regressors"):
        model.predict(5)
    short = reg.isel(time=slice(0, T + 2))
    with pytest.raises(ValueError, match="do not cover"):
        model.predict(5, short)


def test_fallbacks():
    rng = np.random.default_rng(4)
    times = pd.date_range("2023-01-01", periods=200, freq="D")
    y = rng.poisson(6.0, (200, 5)).astype(float)
    y[:, 0] = 0
    y[:, 1] = np.nan
    y[:-4, 2] = np.nan
    y[:, 3] = 0
    y[[10, 90], 3] = 1  # two non-zero days: intermittent
    da = xr.DataArray(y, coords={"time": times}, dims=("time", "s"))
    fc = NBGLM().fit(da).predict(20)
    reasons = fc["fallback"].values.tolist()
    assert reasons[:3] == ["all zero", "no observations", "shorter than one season"]
    assert "TSB" in reasons[3] and reasons[4] == ""
    assert np.isfinite(fc["quantiles"].values).all()
    assert fc["mean"].values[:, 3].max() < 0.1


def test_demo_city_smoke():
    from predgov.data.calendar import calendar
    from predgov.data.demo import demo_city

    city = demo_city(seed=1, districts=["市南", "平度"], categories=["heating", "parking",
                                                                   "village_affairs"])
    counts = city["counts"]
    cal = calendar(counts, "qingdao")
    train = counts.sel(time=slice(None, "2024-09-30"))
    fc = NBGLM().fit(train, cal).predict(30, calendar(
        (pd.Timestamp("2024-10-01"), pd.Timestamp("2024-10-30"), "D"), "qingdao"))
    assert np.isfinite(fc["quantiles"]).all()
    heating = fc["mean"].sel(category="heating")
    assert float(heating.max()) < 5  # out of season


# ---------------------------------------------------------------- local level and dispersion


@pytest.fixture(scope="module")
def drifting():
    """One year of daily NB counts whose level drifts slowly (no yearly terms are fitted)."""
    rng = np.random.default_rng(7)
    n_train, n_test, n_series = 365, 28, 200
    n = n_train + n_test
    times = pd.date_range("2022-03-01", periods=n, freq="D")
    t = np.arange(n)[:, None]
    phase = rng.uniform(0, 2 * np.pi, n_series)[None, :]
    base = rng.uniform(np.log(5), np.log(80), n_series)[None, :]
    weekly = 0.3 * (times.day_of_week.to_numpy() >= 5)[:, None]
    eta = base + 0.3 * np.sin(2 * np.pi * t / 365.25 + phase) + weekly
    mu = np.exp(eta)
    size = 10.0
    y = rng.negative_binomial(size, size / (size + mu)).astype(float)
    da = xr.DataArray(y[:n_train], coords={"time": times[:n_train], "s": np.arange(n_series)},
                      dims=("time", "s"))  # fmt: skip
    return da, y[n_train:], mu[n_train:]


def test_interval_coverage_near_nominal_with_drifting_level(drifting):
    da, future, _ = drifting
    fc = NBGLM().fit(da).predict(future.shape[0])
    q = fc["quantiles"]
    for lo, hi, nominal in ((0.1, 0.9, 0.8), (0.25, 0.75, 0.5), (0.025, 0.975, 0.95)):
        inside = (future >= q.sel(quantile=lo).values) & (future <= q.sel(quantile=hi).values)
        assert inside.mean() == pytest.approx(nominal, abs=0.04), (lo, hi)


def test_local_level_follows_the_drift(drifting):
    da, _, truth = drifting
    on = NBGLM().fit(da).predict(truth.shape[0])["mean"].values
    off = NBGLM(level_window=0).fit(da).predict(truth.shape[0])["mean"].values
    err_on = np.median(np.abs(np.log(on / truth)))
    err_off = np.median(np.abs(np.log(off / truth)))
    assert err_on < 0.7 * err_off, (err_on, err_off)


def test_deterministic_and_non_negative(drifting):
    da, _, _ = drifting
    a = NBGLM().fit(da[:, :30]).predict(40)
    b = NBGLM().fit(da[:, :30]).predict(40)
    np.testing.assert_array_equal(a["mean"].values, b["mean"].values)
    np.testing.assert_array_equal(a["quantiles"].values, b["quantiles"].values)
    assert (a["mean"].values >= 0).all() and (a["quantiles"].values >= 0).all()
    assert (np.diff(a["quantiles"].values, axis=-1) >= 0).all()


def test_level_span_choice_and_dispersion_growth(drifting):
    from predgov.forecast.level import AUTO_SPANS as _AUTO_SPANS

    da, _, _ = drifting
    auto = NBGLM().fit(da)
    assert auto.level_span_ in _AUTO_SPANS["D"]
    assert NBGLM(level_window=21).fit(da[:, :5]).level_span_ == 21
    coef = auto.coefficients()
    assert (coef["alpha_slope"] >= 0).all() and np.isfinite(coef["alpha0"]).all()
    # NB(size 10) noise plus the level's error: near 0.1, not the in-sample drift's inflation
    assert np.median(coef["alpha0"]) == pytest.approx(0.1, abs=0.04)


def test_calibrated_levels():
    rng = np.random.default_rng(8)
    times = pd.date_range("2022-01-01", periods=400, freq="D")
    y = rng.negative_binomial(5, 5 / (5 + 20.0), (400, 50)).astype(float)
    da = xr.DataArray(y, coords={"time": times}, dims=("time", "s"))
    model = NBGLM().fit(da)
    lv = model.calibrated_levels_
    assert ((lv > 0) & (lv < 1)).all() and (np.diff(lv) > 0).all()
    # a well-specified model needs little recalibration
    np.testing.assert_allclose(lv, model.levels_, atol=0.03)
    plain = NBGLM(calibrate=False).fit(da)
    np.testing.assert_array_equal(plain.calibrated_levels_, plain.levels_)


def test_weekend_holidays_get_their_own_effect():
    rng = np.random.default_rng(9)
    n = 2 * 364
    times = pd.date_range("2022-01-03", periods=n + 14, freq="D")  # a Monday
    holiday = rng.random(n + 14) < 0.05
    weekend = times.day_of_week.to_numpy() >= 5
    eta = np.log(40.0) + 0.4 * weekend + 0.6 * (holiday & ~weekend)  # weekday holidays only
    y = rng.poisson(np.exp(eta)[:n, None] * np.ones((1, 20))).astype(float)
    da = xr.DataArray(y, coords={"time": times[:n]}, dims=("time", "s"))
    reg = xr.Dataset({"holiday": ("time", holiday)}, coords={"time": times})
    split = NBGLM(yearly_harmonics=0).fit(da, reg).coefficients()["regressor"]
    assert split[:, 0].mean() == pytest.approx(0.6, abs=0.05)  # on weekdays
    assert abs(split[:, 1].mean()) < 0.1  # on weekends
    shared = NBGLM(yearly_harmonics=0, split_holidays=False).fit(da, reg)
    assert shared.coefficients()["regressor"].shape[1] == 1


def _drifting_weekend(seed: int, n: int = 364, h: int = 28, s: int = 20):
    """Poisson counts whose weekend/weekday ratio falls from 2.2 to 1.4 over the year, then
    stays at 1.4 for the ``h`` forecast days (one year: no yearly terms are fitted)."""
    rng = np.random.default_rng(seed)
    times = pd.date_range("2023-01-02", periods=n + h, freq="D")  # a Monday
    weekend = times.day_of_week.to_numpy() >= 5
    ratio = np.concatenate([np.linspace(2.2, 1.4, n), np.full(h, 1.4)])
    mu = 150.0 * np.where(weekend, ratio, 1.0)
    y = rng.poisson(mu[:, None] * np.ones((1, s))).astype(float)
    da = xr.DataArray(y[:n], coords={"time": times[:n]}, dims=("time", "s"))
    return da, y[n:], mu[n:], weekend[n:]


def test_daytype_level_follows_a_drifting_weekend_contrast():
    da, future, mu, weekend = _drifting_weekend(11)
    auto = NBGLM().fit(da)
    assert auto.level_mode_ == "daytype"  # chosen by in-training rolling-origin error
    assert auto.level_.shape == (2, da.sizes["s"])
    shared = NBGLM(level_by="shared").fit(da)
    assert shared.level_mode_ == "shared"
    np.testing.assert_array_equal(shared.level_[0], shared.level_[1])
    fa, fs = auto.predict(28)["mean"].values, shared.predict(28)["mean"].values
    # the year's average weekly pattern (ratio ~1.8) over-forecasts weekends now at 1.4 ...
    assert fs[weekend].mean() / mu[weekend].mean() > 1.08
    # ... the rest-day level brings them back within a few per cent, weekdays too
    assert abs(fa[weekend].mean() / mu[weekend].mean() - 1) < 0.05
    assert abs(fa[~weekend].mean() / mu[~weekend].mean() - 1) < 0.05
    assert np.abs(future - fa).mean() < np.abs(future - fs).mean()


def test_daytype_uses_holidays_and_makeup_workdays():
    times = pd.date_range("2024-02-05", periods=7, freq="D")  # Mon..Sun
    model = NBGLM()
    model.freq_ = "D"
    model.regressor_names_ = ["holiday", "makeup_workday"]
    X = np.zeros((7, 2))
    X[1, 0] = 1.0  # a Tuesday holiday
    X[6, 1] = 1.0  # a Sunday make-up workday (调休)
    np.testing.assert_array_equal(model._day_class(times, X), [0, 1, 0, 0, 0, 1, 0])
    model.freq_ = "W-MON"
    assert (model._day_class(times, X) == 0).all()


def test_rest_day_dispersion_is_its_own():
    """Noisier weekends get wider intervals than weekdays, each near its true dispersion."""
    rng = np.random.default_rng(12)
    n, s = 2 * 364, 40
    times = pd.date_range("2022-01-03", periods=n, freq="D")
    weekend = times.day_of_week.to_numpy() >= 5
    size = np.where(weekend, 5.0, 40.0)[:, None]  # alpha 0.2 on weekends, 0.025 on weekdays
    y = rng.negative_binomial(size, size / (size + 100.0), (n, s)).astype(float)
    da = xr.DataArray(y, coords={"time": times}, dims=("time", "s"))
    model = NBGLM(yearly_harmonics=0, trend=False, level_by="shared").fit(da)
    a0 = model.coefficients()["alpha0"]
    assert a0.shape == (2, s)
    assert np.median(a0[0]) == pytest.approx(0.025, abs=0.015)
    assert np.median(a0[1]) == pytest.approx(0.2, abs=0.06)
    fc = model.predict(14)
    q = fc["quantiles"]
    width = (q.sel(quantile=0.9) - q.sel(quantile=0.1)) / fc["mean"]
    rest = pd.DatetimeIndex(fc["time"].values).day_of_week >= 5
    assert float(width.isel(time=rest).mean()) > 2 * float(width.isel(time=~rest).mean())


def test_weekly_data_have_one_level_and_dispersion():
    rng = np.random.default_rng(13)
    times = pd.date_range("2021-01-04", periods=150, freq="W-MON")
    da = xr.DataArray(rng.poisson(50.0, (150, 4)).astype(float), coords={"time": times},
                      dims=("time", "s"))  # fmt: skip
    model = NBGLM().fit(da)
    assert model.level_mode_ == "shared"
    np.testing.assert_array_equal(model.level_[0], model.level_[1])
    np.testing.assert_array_equal(model.alpha0_[0], model.alpha0_[1])


def test_level_by_is_validated():
    da, *_ = _drifting_weekend(14, s=2)
    with pytest.raises(ValueError, match="level_by"):
        NBGLM(level_by="weekday").fit(da)
    weekly = da.resample(time="W-MON", label="left", closed="left").sum()
    with pytest.raises(ValueError, match="level_by"):
        NBGLM(level_by="weekday").fit(weekly)


# ------------------------------------------------------------------ Spring Festival windows
@pytest.fixture(scope="module")
def festival_city():
    """Three years of daily counts in 4 districts: category "sites" drops to exp(-1.2) in the
    ten days before 春节 and exp(-0.8) in the 16 days from it; "other" has no festival effect.
    Returns the training cube (to 2024-12-31), the truth through 2025-03-31, the calendar."""
    from predgov.data.calendar import calendar, days_from_lunar_new_year

    times = pd.date_range("2022-01-01", "2025-03-31", freq="D")
    rel = days_from_lunar_new_year(times)
    effect = np.where((rel >= -10) & (rel <= -1), -1.2, 0.0)
    effect = np.where((rel >= 0) & (rel <= 15), -0.8, effect)
    base = np.log(np.array([30.0, 20.0, 40.0, 25.0]))  # per district
    eta = np.empty((len(times), 4, 2))
    eta[:, :, 0] = base[None, :] + effect[:, None]
    eta[:, :, 1] = base[None, :]
    mu = np.exp(eta)
    rng = np.random.default_rng(7)
    y = rng.negative_binomial(30.0, 30.0 / (30.0 + mu))
    da = xr.DataArray(
        y, dims=("time", "district", "category"),
        coords={"time": times, "district": list("abcd"), "category": ["sites", "other"]},
    )  # fmt: skip
    da["time"].attrs["freq"] = "D"
    cal = calendar(times, "qingdao")
    train = da.sel(time=slice(None, "2024-12-31"))
    return train, mu, times, cal


def test_spring_festival_effects_pooled_by_category(festival_city):
    train, mu, _, cal = festival_city
    model = NBGLM().fit(train, cal.sel(time=train["time"]))
    # Leave-one-festival-out on the category totals: the windows forecast the left-out
    # festival of "sites" better, and those of "other" (no effect) do not.
    assert model.use_festival_ and model.festival_groups_ == {"other": False, "sites": True}
    assert model.festival_pooled_.tolist() == [True, False] * 4  # district x category
    fc = model.predict(90, cal)
    future = pd.DatetimeIndex(fc["time"].values)
    truth = xr.DataArray(mu[len(train["time"]):], dims=("time", "district", "category"),
                         coords={"time": future, "district": list("abcd"),
                                 "category": ["sites", "other"]})  # fmt: skip
    ratio = (fc["mean"] / truth).sel(time=slice("2025-01-19", "2025-02-13"))  # days -10..+15
    # The dip of "sites" is forecast (a model without the windows forecasts the usual level:
    # ratio about exp(1.2) = 3.3 before the festival), and "other" stays at its level.
    assert float(abs(np.log(ratio.sel(category="sites"))).mean()) < 0.15
    assert float(abs(np.log(ratio.sel(category="other"))).mean()) < 0.12
    # Each series' effects stay close to its category's (prior sd 0.1 around the pooled fit).
    coef = model.coefficients()["festival"]  # (series, windows): series = district x category
    assert coef.shape == (8, 6)
    sites = coef.reshape(4, 2, 6)[:, 0]
    assert float(np.ptp(sites, axis=0).max()) < 0.25
    assert np.abs(coef.reshape(4, 2, 6)[:, 1]).max() < 1e-6  # "other": no windows
    assert int((model.columns_ == "festival").sum()) == 6


def test_spring_festival_without_the_windows_misses_the_dip(festival_city):
    """The same fit with spring_festival=False: the dip of "sites" is not forecast (this is
    the test above's counterfactual, so that test can fail)."""
    train, mu, _, cal = festival_city
    fc = NBGLM(spring_festival=False).fit(train, cal.sel(time=train["time"])).predict(90, cal)
    n = len(train["time"])
    truth = mu[n:, :, 0]
    sel = (fc["time"] >= np.datetime64("2025-01-19")) & (fc["time"] <= np.datetime64("2025-01-28"))
    ratio = fc["mean"].sel(category="sites").values[sel.values] / truth[sel.values]
    assert float(np.log(ratio).mean()) > 0.6  # over-forecast by more than exp(0.6) = 1.8x


def test_spring_festival_own_estimates_and_auto_switch(festival_city):
    from predgov.data.calendar import calendar

    train, _, _, cal = festival_city
    own = NBGLM(festival_pool=None).fit(train, cal.sel(time=train["time"]))
    assert own.use_festival_ and not own.festival_pooled_.any()
    # "auto": only with a Chinese calendar; no regressors = no calendar effects at all.
    us = calendar(train["time"], None, country="US")
    assert not NBGLM().fit(train, us).use_festival_
    plain = NBGLM().fit(train)
    assert not plain.use_festival_ and plain.coefficients()["festival"].shape == (8, 0)
    assert NBGLM(spring_festival=True).fit(train).use_festival_
    # A series with no observations falls back; the rest of its category is still pooled.
    gappy = train.astype(float).copy()
    gappy.loc[{"district": "a", "category": "sites"}] = np.nan
    m = NBGLM().fit(gappy, cal.sel(time=train["time"]))
    assert m.fallback_[0] == "no observations"  # series order: district x category
    assert m.festival_pooled_.tolist() == [False, False] + [True, False] * 3
    sites = m.coefficients()["festival"].reshape(4, 2, 6)[1:, 0]
    assert float(sites[:, 2].mean()) == pytest.approx(-1.2, abs=0.25)  # window -10..-1
    # Under two years there are no yearly terms, so no festival effects either (a window seen
    # once would take the winter's shape as its effect).
    short = NBGLM(spring_festival=True).fit(train.sel(time=slice("2023-06-01", None)),
                                            cal.sel(time=slice("2023-06-01", "2024-12-31")))
    assert short.use_festival_ and not short.festival_pooled_.any()
    assert np.abs(short.coefficients()["festival"]).max() < 1e-6
    with pytest.raises(ValueError, match="spring_festival"):
        NBGLM(spring_festival="yes").fit(train)
    with pytest.raises(ValueError, match="festival_deviation_scale"):
        NBGLM(festival_deviation_scale=0).fit(train)


def test_spring_festival_weekly_shares(festival_city):
    """Weekly data: the windows are off under "auto"; asked for, they enter as shares of each
    week's days and the festival weeks of "sites" are forecast low."""
    from predgov.data.calendar import calendar
    from predgov.data.cube import resample_counts

    train = festival_city[0]
    weekly = resample_counts(train.to_dataset(name="counts"), "W-MON")["counts"]
    cal = calendar((weekly["time"].values[0], "2025-03-31", "W-MON"), "qingdao")
    assert not NBGLM().fit(weekly, cal.sel(time=weekly["time"])).use_festival_
    model = NBGLM(spring_festival=True).fit(weekly, cal.sel(time=weekly["time"]))
    assert model.use_festival_ and model.festival_groups_ == {"other": False, "sites": True}
    fc = model.predict(12, cal)
    sites = fc["mean"].sel(category="sites").sum("district")
    other = fc["mean"].sel(category="other").sum("district")
    # Week of 2025-01-27 (days -2..+4 around 春节 2025-01-29): all of it in the dip.
    dip = float(sites.sel(time="2025-01-27") / sites.sel(time="2025-03-10"))
    assert 0.3 < dip < 0.6  # truth: between exp(-1.2) = 0.30 and exp(-0.8) = 0.45
    assert float(other.sel(time="2025-01-27") / other.sel(time="2025-03-10")) > 0.85


def test_daytype_deviation_follows_faster_with_its_own_span():
    # The weekend/weekday ratio keeps falling (2.4 -> 1.2 over the year and the forecast
    # days): a day-type deviation shrunk hard towards the shared level (sd 0.1) lags it; its
    # own prior sd (0.3) and span let it follow.
    rng = np.random.default_rng(5)
    n, h, s = 364, 28, 20
    times = pd.date_range("2023-01-02", periods=n + h, freq="D")
    weekend = times.day_of_week.to_numpy() >= 5
    mu = 150.0 * np.where(weekend, np.linspace(2.4, 1.2, n + h), 1.0)
    y = rng.poisson(mu[:, None] * np.ones((1, s))).astype(float)
    da = xr.DataArray(y[:n], coords={"time": times[:n]}, dims=("time", "s"))
    old = NBGLM(level_by="daytype").fit(da)  # the default: the level's span and prior
    assert old.daytype_span_ == old.level_span_
    new = NBGLM(level_by="daytype", daytype_window=28, daytype_prior_scale=0.3).fit(da)
    assert new.level_mode_ == "daytype"
    assert new.daytype_span_ == min(new.level_span_, 28)
    auto = NBGLM(level_by="daytype", daytype_window="auto", daytype_prior_scale=0.3).fit(da)
    assert auto.daytype_span_ in {auto.level_span_, 14, 28}
    fixed = NBGLM(level_by="daytype", level_window=56, daytype_window=14,
                  daytype_prior_scale=0.3).fit(da)
    assert fixed.daytype_span_ == 14 and fixed.level_span_ == 56
    wk = weekend[n:]

    def err(model: NBGLM) -> float:
        return float(np.abs(model.predict(h)["mean"].values - mu[n:, None])[wk].mean())

    assert err(new) < 0.8 * err(old)  # measured 18.2 vs 25.2 (Poisson noise ~1.5)
    # the wider prior of the deviation does it at any span: at a 56-day level, 14- and 56-day
    # deviations with sd 0.3 both beat the 56-day one with the level's sd 0.1
    slow = NBGLM(level_by="daytype", level_window=56, daytype_window=None,
                 daytype_prior_scale=None).fit(da)  # fmt: skip
    assert slow.daytype_span_ == 56
    assert err(fixed) < 0.95 * err(slow)  # measured 23.5 vs 25.9
    with pytest.raises(ValueError, match="daytype_window"):
        NBGLM(daytype_window="fast").fit(da)


def test_structured_information_leaves_the_forecast_unchanged(festival_city, monkeypatch):
    """The GLM's X'WX from the design's structure (indicators, festival windows, Fourier runs:
    ``Design(structured=True)``) changes only the rounding of the float32 information, not the
    fixed point: the forecast equals the one with the plain column-pair product."""
    import predgov.forecast.nbglm as nbglm_mod
    from predgov.stats.glm import Design

    train, _, _, cal = festival_city
    reg = cal.sel(time=train["time"])
    structured = NBGLM().fit(train, reg)
    assert Design(structured._design(structured.train_time_, None), structured=True).plan()
    fc = structured.predict(90, cal)
    monkeypatch.setattr(nbglm_mod, "Design", lambda D, structured=False: Design(D))
    plain = NBGLM().fit(train, reg)
    ref = plain.predict(90, cal)
    np.testing.assert_allclose(structured.coef_, plain.coef_, rtol=0, atol=1e-6)
    np.testing.assert_allclose(fc["mean"].values, ref["mean"].values, rtol=1e-6)
    np.testing.assert_array_equal(fc["quantiles"].values, ref["quantiles"].values)


def test_interval_band_is_the_recalibrated_levels_of_the_interval_quantiles():
    """The PIT band of an issued interval: the calibrated levels at the positions of its two
    nominal quantiles; a level the model does not issue is refused by name."""
    t = pd.date_range("2023-01-02", periods=200, freq="D")
    y = np.random.default_rng(4).poisson(6.0, (200, 3))
    da = xr.DataArray(y, coords={"time": t, "s": ["a", "b", "c"]}, dims=("time", "s"))
    model = NBGLM().fit(da)
    levels = list(model.levels_)
    lv = np.asarray(model.calibrated_levels_)
    assert model.interval_band(0.8) == (lv[levels.index(0.1)], lv[levels.index(0.9)])
    assert model.interval_band(0.95) == (lv[levels.index(0.025)], lv[levels.index(0.975)])
    with pytest.raises(ValueError, match=r"0\.7 interval needs quantile levels \[0\.15, 0\.85\]"):
        model.interval_band(0.7)
