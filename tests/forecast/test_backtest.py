"""Rolling-origin backtests: layout, known scores, and no look-ahead."""

from __future__ import annotations

from types import SimpleNamespace
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

from predgov.forecast import backtest as backtest_module
from predgov.forecast.backtest import BacktestResult, backtest, clone, rolling_origins

LEVELS = (0.005, 0.025, 0.1, 0.165, 0.25, 0.5, 0.75, 0.835, 0.9, 0.975, 0.995)


class WindowMean:
    """Toy model: mean of the last ``window`` periods, Poisson quantiles; logs what it saw."""

    log: ClassVar[list[dict]] = []

    def __init__(self, window: int = 7):
        self.window = window

    def get_params(self, deep: bool = True) -> dict:
        return {"window": self.window}

    def fit(self, counts, regressors=None):
        self.mean_ = counts.isel(time=slice(-self.window, None)).mean("time", skipna=True)
        self.last_ = pd.Timestamp(counts["time"].values[-1])
        self.freq_ = counts["time"].attrs.get("freq", "D")
        WindowMean.log.append(
            {"fit_last": self.last_,
             "fit_reg": None if regressors is None else pd.DatetimeIndex(regressors.time.values)}
        )
        return self

    def predict(self, horizon, regressors=None):
        times = pd.date_range(self.last_, periods=horizon + 1, freq=self.freq_)[1:]
        WindowMean.log[-1]["predict_reg"] = (
            None if regressors is None else pd.DatetimeIndex(regressors.time.values)
        )
        mean = self.mean_.fillna(0).expand_dims(time=times).astype(float)
        q = xr.DataArray(list(LEVELS), dims="quantile")
        quant = xr.apply_ufunc(stats.poisson.ppf, q, mean).transpose(..., "quantile")
        quant = quant.assign_coords(quantile=list(LEVELS))
        return xr.Dataset(
            {"mean": mean, "quantiles": quant,
             "fallback": xr.full_like(self.mean_, "", dtype=object).astype(str)},
            attrs={"model": "window_mean", "fit_origin": str(self.last_.date()),
                   "freq": self.freq_},
        )


def toy_cube(n_time=120, seed=0, zero_series=False):
    rng = np.random.default_rng(seed)
    time = pd.date_range("2024-01-01", periods=n_time, freq="D")
    lam = np.array([[5.0, 20.0, 1.0], [8.0, 2.0, 40.0]])
    weekly = 1 + 0.3 * np.sin(2 * np.pi * np.arange(n_time) / 7)
    values = rng.poisson(lam[None] * weekly[:, None, None]).astype(np.int64)
    if zero_series:
        values[:, 1, 2] = 0
    cube = xr.Dataset(
        {"counts": (("time", "district", "category"), values)},
        coords={
            "time": time,
            "district": ["市南", "崂山"],
            "district_label_en": ("district", ["Shinan", "Laoshan"]),
            "category": ["heating", "gas", "noise"],
            "parent": ("category", ["utilities", "utilities", "environment"]),
        },
    )
    cube["time"].attrs["freq"] = "D"
    return cube


def test_rolling_origins_are_spaced_and_leave_the_horizon():
    t = pd.date_range("2024-01-01", periods=100)
    o = rolling_origins(t, horizon=10, n_origins=4, step=5)
    assert o[-1] == t[-11]
    assert (np.diff(o.values) == np.timedelta64(5, "D")).all()
    with pytest.raises(ValueError, match="only"):
        rolling_origins(t, horizon=10, n_origins=50)


def test_layout_and_known_scores():
    cube = toy_cube()
    res = backtest(WindowMean(7), cube, horizon=14, n_origins=3)
    e = res.errors
    assert e["actual"].dims == ("origin", "lead", "district", "category")
    assert e["quantiles"].dims == ("origin", "lead", "district", "category", "quantile")
    assert e.sizes == {"origin": 3, "lead": 14, "district": 2, "category": 3, "quantile": 11}
    assert e["lead"].values.tolist() == list(range(1, 15))
    # target time = origin + lead periods; actuals are the counts there
    t = pd.DatetimeIndex(e["time"].values.ravel())
    expected = (pd.DatetimeIndex(np.repeat(e["origin"].values, 14))
                + pd.to_timedelta(np.tile(np.arange(1, 15), 3), unit="D"))
    assert t.equals(expected)
    np.testing.assert_array_equal(
        e["actual"].isel(origin=1, lead=4).values,
        cube["counts"].sel(time=e["time"].values[1, 4]).values,
    )
    assert "parent" in e.coords and "district_label_en" in e.coords
    # a score by hand: MASE of series (0, 0) at the first origin
    o = pd.Timestamp(e["origin"].values[0])
    y = cube["counts"][:, 0, 0].to_series()
    train, test = y[:o], y[o + pd.Timedelta(days=1):][:14]
    scale = np.mean(np.abs(np.diff(train.values[np.flatnonzero(train.values > 0)[0]:])))
    fc = train.values[-7:].mean()
    cells = np.abs(test.values - fc) / scale
    np.testing.assert_allclose(
        (abs(e["actual"] - e["mean"]) / e["scale"]).isel(origin=0)[:, 0, 0], cells
    )
    # table layout
    s = res.scores
    assert list(s.index.names) == ["by", "key"]
    assert set(s.index.get_level_values("by")) == {"all", "lead", "origin", "district", "category"}
    assert s.loc[("lead", 1), "n_series"] == 6
    cols = {"mase", "rmsse", "spl", "bias", "cov50", "cov80", "cov95", "n_series", "n_excluded"}
    assert set(s.columns) == cols
    # overall = mean over series of each series' mean over all cells
    per_series = (abs(e["actual"] - e["mean"]) / e["scale"]).mean(("origin", "lead"))
    assert s.loc[("all", "all"), "mase"] == pytest.approx(float(per_series.mean()))
    assert s.loc[("district", "崂山"), "mase"] == pytest.approx(
        float(per_series.sel(district="崂山").mean())
    )


def test_all_zero_series_is_excluded_with_reason_not_scored_zero():
    res = backtest(WindowMean(7), toy_cube(zero_series=True), horizon=7, n_origins=2)
    s = res.scores
    assert s.loc[("all", "all"), "n_excluded"] == 1
    assert s.loc[("all", "all"), "n_series"] == 5
    per = res.series_scores()
    assert np.isnan(float(per["mase"].sel(district="崂山", category="noise")))
    assert per["scale_reason"].sel(district="崂山", category="noise").item() == "all zero"
    assert np.isfinite(s["mase"]).all()
    # the coverage still counts it: a forecast of 0 for actual 0 is inside every interval
    assert float(per["cov80"].sel(district="崂山", category="noise")) == 1.0


def test_relative_to_self_is_one_and_ratio_is_of_means():
    cube = toy_cube()
    a = backtest(WindowMean(7), cube, horizon=7, n_origins=2)
    b = backtest(WindowMean(28), cube, horizon=7, n_origins=2)
    same = a.relative_to(a)
    np.testing.assert_allclose(same[["mase", "rmsse", "spl"]].to_numpy(dtype=float), 1.0)
    rel = a.relative_to(b)
    assert rel.loc[("all", "all"), "mase"] == pytest.approx(
        a.scores.loc[("all", "all"), "mase"] / b.scores.loc[("all", "all"), "mase"]
    )
    per = a.series_scores(relative_to=b)
    np.testing.assert_allclose(per["mase_rel"], per["mase"] / b.series_scores()["mase"])
    assert "cov80_err_rel" in per


def test_forecaster_is_not_fitted_in_place():
    model = WindowMean(7)
    backtest(model, toy_cube(), horizon=7, n_origins=2)
    assert not hasattr(model, "mean_")
    assert clone(model).window == 7


def test_origins_validation():
    cube = toy_cube(n_time=60)
    with pytest.raises(ValueError, match="not periods"):
        backtest(WindowMean(), cube, horizon=7, origins=["2030-01-01"])
    with pytest.raises(ValueError, match="fewer than 7"):
        backtest(WindowMean(), cube, horizon=7, origins=[cube.time.values[-3]])


# ------------------------------------------------------------------------------- look-ahead


def _run_logged(cube, **kwargs):
    WindowMean.log = []
    res = backtest(WindowMean(7), cube, **kwargs)
    return res, list(WindowMean.log)


def _assert_no_lookahead(res, log, horizon):
    for origin, entry in zip(pd.DatetimeIndex(res.errors["origin"].values), log, strict=True):
        assert entry["fit_last"] == origin, "fit saw data after the origin"
        if entry["fit_reg"] is not None:
            assert entry["fit_reg"][-1] == origin
            future = pd.date_range(origin, periods=horizon + 1, freq="D")[1:]
            assert entry["predict_reg"].equals(future)


def test_fit_sees_counts_and_regressors_up_to_the_origin_only():
    cube = toy_cube()
    reg = xr.Dataset({"holiday": ("time", np.zeros(cube.sizes["time"]))},
                     coords={"time": cube["time"].values})
    res, log = _run_logged(cube, horizon=10, n_origins=4, regressors=reg)
    _assert_no_lookahead(res, log, 10)


def test_poisoned_future_leaves_scores_unchanged():
    cube = toy_cube(n_time=150)
    origins = [cube.time.values[i] for i in (60, 80, 100)]
    horizon = 14  # last target: period 114; periods 115.. are never used
    clean = backtest(WindowMean(7), cube, horizon, origins=origins)
    poisoned = cube.copy(deep=True)
    poisoned["counts"][115:] = 10**9
    dirty = backtest(WindowMean(7), poisoned, horizon, origins=origins)
    pd.testing.assert_frame_equal(clean.scores, dirty.scores)
    # and per origin: changing everything after an origin changes none of its forecasts
    for i in (60, 80, 100):
        p = cube.copy(deep=True)
        p["counts"][i + 1:] = 10**6
        a = backtest(WindowMean(7), cube, horizon, origins=[cube.time.values[i]])
        b = backtest(WindowMean(7), p, horizon, origins=[cube.time.values[i]])
        forecast_vars = ["mean", "quantiles"]
        xr.testing.assert_identical(a.errors[forecast_vars], b.errors[forecast_vars])


def test_a_leaky_backtest_would_be_caught(monkeypatch):
    """If the training slice leaked the future, the checks above (and backtest itself) fail."""
    cube = toy_cube()
    monkeypatch.setattr(backtest_module, "_training_slice", lambda counts, pos: counts)
    WindowMean.log = []
    # backtest's own check: forecasts must start right after the origin
    with pytest.raises(ValueError, match="do not match"):
        backtest(WindowMean(7), cube, horizon=10, n_origins=3)
    origin = rolling_origins(cube.time.values, 10, 3)[0]
    assert WindowMean.log[0]["fit_last"] > origin
    fake = BacktestResult.__new__(BacktestResult)
    fake.errors = xr.Dataset(coords={"origin": [origin]})
    with pytest.raises(AssertionError, match="after the origin"):
        _assert_no_lookahead(fake, WindowMean.log[:1], 10)


def test_missing_regressor_periods_raise():
    cube = toy_cube()
    reg = xr.Dataset({"holiday": ("time", np.zeros(116))}, coords={"time": cube.time.values[:116]})
    with pytest.raises(ValueError, match="do not cover the forecast"):
        backtest(WindowMean(), cube, horizon=7, n_origins=2, regressors=reg)


def test_residuals_and_repr():
    res = backtest(WindowMean(7), toy_cube(), horizon=7, n_origins=2)
    r = res.residuals()
    assert r.dims == ("origin", "lead", "district", "category")
    assert isinstance(res, BacktestResult) and "window_mean" in repr(res)


def test_real_brooklyn_noise_runs(brooklyn_noise_path):
    from predgov.data.cube import to_cube
    from predgov.data.records import read_records

    records = read_records(brooklyn_noise_path, preset="nyc311_brooklyn_noise").records
    cube = to_cube(records, freq="D", taxonomy="nyc311")
    res = backtest(WindowMean(7), cube, horizon=14, n_origins=4)
    s = res.scores.loc[("all", "all")]
    assert 0 < s["mase"] < 5 and s["n_series"] == 1


# ------------------------------------------------------------------ real models, benchmark


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("forecast_skill")


def test_backtest_with_package_models_and_benchmark_functions(bench):
    pytest.importorskip("predgov.forecast.factory")
    counts, reg = bench.demo_data(seed=0, n_districts=2)
    counts = counts.isel(category=slice(0, 4), time=slice(-400, None))
    reg = reg.sel(time=counts["time"])
    models = bench.make_models(["seasonal_naive", "default"])
    results = bench.run_models(counts, reg, models, horizon=14, n_origins=2)
    table = bench.summary(results)
    assert list(table.index) == ["seasonal_naive", "default"]
    assert table.loc["seasonal_naive", "mase_rel"] == pytest.approx(1.0)
    assert np.isfinite(table[["mase", "spl", "cov80"]].to_numpy(dtype=float)).all()
    fake = table.rename(index={"default": "prophet"})
    line = bench.result_line({"a": pd.concat([table, fake.loc[["prophet"]]])})
    assert line.startswith("RESULT default_mase=") and "default_cov80=" in line


def test_benchmark_loads_brooklyn(brooklyn_noise_path, bench):
    counts, reg = bench.brooklyn_data(brooklyn_noise_path)
    assert counts.sizes["time"] == 365 and reg.sizes["time"] == 365
    assert int(counts.sum()) == 86040


def test_week_on_week_change_known_answer(bench):
    t = pd.date_range("2024-01-01", periods=21, freq="D")
    y = np.r_[np.full(7, 3.0), np.full(7, 7.0), np.full(7, 7.0)]  # change only into week 2
    da = xr.DataArray(y, coords={"time": t}, dims="time")
    c = bench.week_on_week_change(da, "2024-01-15")
    assert c["train_median"] == pytest.approx(np.log(8 / 4))  # days 8..14 vs 1..7
    assert c["test_median"] == 0.0 and c["test_mean"] == 0.0


def test_coverage_by_origin_known_answer(bench):
    q = np.broadcast_to(np.array([2.0, 6.0]), (2, 3, 2)).copy()  # (origin, lead, quantile)
    errors = xr.Dataset(
        {
            "actual": (("origin", "lead"), [[1.0, 2.0, 6.0], [4.0, np.nan, 7.0]]),
            "quantiles": (("origin", "lead", "quantile"), q),
        },
        coords={"origin": pd.to_datetime(["2024-01-01", "2024-01-04"]), "lead": [1, 2, 3],
                "quantile": [0.1, 0.9]},
    )
    fake = SimpleNamespace(errors=errors)  # only .errors is read
    cov = bench.coverage_by_origin(fake, 0.8)
    assert cov.tolist() == pytest.approx([2 / 3, 1 / 2])  # bounds count as inside; NaN skipped
    assert list(cov.index) == list(pd.to_datetime(["2024-01-01", "2024-01-04"]))


def test_benchmark_festival_section_on_a_small_demo(bench):
    counts, reg = bench.demo_data(seed=0, n_districts=2)
    counts = counts.sel(category=["noise_construction", "parking"])
    table = bench.festival_section(counts, reg)
    assert list(table.index) == ["seasonal_naive", "default, no festival windows", "default"]
    assert {"mase", "spl", "cov80", "mase noise_construction"} <= set(table.columns)
    # The windows are what forecasts the construction stop around 春节 2024.
    col = "mase noise_construction"
    assert table.loc["default", col] < 0.8 * table.loc["default, no festival windows", col]
