"""ProphetForecaster on a small case: calendar, non-negative quantiles, serial = joblib = Dask."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from predgov.forecast import NotFittedError, ProphetForecaster

H = 14


@pytest.fixture(scope="module")
def small():
    from predgov.data.calendar import calendar

    rng = np.random.default_rng(0)
    times = pd.date_range("2024-09-01", periods=120, freq="D")
    week = np.where(times.day_of_week >= 5, 2.0, 6.0)
    y = rng.poisson(week[:, None] * np.array([1.0, 0.3, 1.0]))
    y[:, 2] = 0  # all zero: fallback, no Prophet fit
    da = xr.DataArray(
        y[:, None, :],
        coords={"time": times, "district": ["a"],
                "category": ["parking", "noise_social", "heating"]},
        dims=("time", "district", "category"),
    )  # fmt: skip
    da["time"].attrs["freq"] = "D"
    cal = calendar((times[0], times[-1] + pd.Timedelta(days=H), "D"), "qingdao")
    return da, cal


@pytest.fixture(scope="module")
def serial(small):
    da, cal = small
    model = ProphetForecaster(uncertainty_samples=100, seed=3).fit(da, cal)
    return model, model.predict(H, cal)


def test_forecast_contract(serial, small):
    model, fc = serial
    assert fc.attrs["model"] == "prophet"
    assert fc["fallback"].values[0].tolist() == ["", "", "all zero"]
    q = fc["quantiles"].values
    assert (q >= 0).all() and (np.diff(q, axis=-1) >= 0).all() and np.isfinite(q).all()
    assert (fc["mean"].values >= 0).all()
    # weekly pattern survives: weekday forecasts above weekend ones for 'parking'
    m = fc["mean"].sel(district="a", category="parking").to_series()
    assert m[m.index.day_of_week < 5].mean() > m[m.index.day_of_week >= 5].mean()
    # calendar: makeup workday regressor used, named holidays as Prophet holidays
    assert "makeup_workday" in model.prophet_regressors_ and "holiday" not in (
        model.prophet_regressors_
    )
    assert model.use_holidays_


def test_serial_joblib_dask_identical(serial, small):
    pytest.importorskip("distributed")
    da, cal = small
    _, ref = serial
    par = ProphetForecaster(uncertainty_samples=100, seed=3, n_jobs=2).fit(da, cal)
    xr.testing.assert_equal(par.predict(H, cal), ref)  # attrs differ only in params
    dsk = ProphetForecaster(uncertainty_samples=100, seed=3, n_jobs=2, backend="dask")
    xr.testing.assert_equal(dsk.fit(da, cal).predict(H, cal), ref)


def test_other_seed_differs(serial, small):
    da, cal = small
    _, ref = serial
    other = ProphetForecaster(uncertainty_samples=100, seed=4).fit(da, cal).predict(H, cal)
    assert not np.array_equal(other["quantiles"].values, ref["quantiles"].values)


def test_category_settings_and_no_calendar(small):
    da, _ = small
    model = ProphetForecaster(
        uncertainty_samples=50,
        category_settings={"parking": {"weekly_seasonality": False}},
    ).fit(da)
    assert model.models_[0].weekly_seasonality is False
    assert model.models_[1].weekly_seasonality != False  # noqa: E712 - "auto" or True
    fc = model.predict(5)
    assert not model.regressor_names_ and np.isfinite(fc["mean"]).all()


def test_predict_before_fit_and_missing_regressors(small, serial):
    with pytest.raises(NotFittedError):
        ProphetForecaster().predict(3)
    model, _ = serial
    with pytest.raises(ValueError, match="regressors"):
        model.predict(3)


def test_bad_backend(small):
    da, _ = small
    with pytest.raises(ValueError, match="backend"):
        ProphetForecaster(backend="spark").fit(da)


def test_parallel_fit_prints_nothing_about_plotly():
    """Unpickling fitted models in the parent imports prophet; that must not write prophet's
    "Importing plotly failed" error to stderr (a fresh interpreter, so prophet is not loaded)."""
    import subprocess
    import sys

    script = (
        "import numpy as np, pandas as pd, xarray as xr\n"
        "from predgov.forecast import ProphetForecaster\n"
        "t = pd.date_range('2024-01-01', periods=60, freq='D')\n"
        "y = np.random.default_rng(0).poisson(20.0, (60, 2)).astype(float)\n"
        "da = xr.DataArray(y, coords={'time': t, 's': ['a', 'b']}, dims=('time', 's'))\n"
        "ProphetForecaster(n_jobs=2, progress=False, uncertainty_samples=50).fit(da).predict(3)\n"
        "print('fitted')\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300, check=False)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "fitted" in run.stdout
    assert "plotly" not in run.stderr.lower(), run.stderr
