"""Checks: regression to the mean (warn and adjust), pre-trend, placebo-in-time calibration,
and the ``auto`` choice."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from predgov.impact import ImpactWarning, RegressionToMeanWarning, choose_method, estimate
from predgov.impact._inputs import Panel
from predgov.impact.calibration import placebo_in_time, placebo_windows
from predgov.impact.its import fit_its


def transient_high(seed: int) -> tuple[xr.DataArray, list[str], pd.Timestamp]:
    """30 estates at 30 calls a week; estates 0-9 run at 60 in the year before the start and
    fall back to 30 after it (nothing was done). Estates 0-4 are "treated": picked, like the
    seed's practice, for last season's high calls."""
    rng = np.random.default_rng(seed)
    T, U, start = 156, 30, 130
    t = pd.date_range("2022-01-03", periods=T, freq="W-MON")
    mu = np.full((T, U), 30.0)
    mu[start - 52 : start, :10] = 60.0
    y = rng.poisson(mu).astype(float)
    names = [f"e{i:02d}" for i in range(U)]
    da = xr.DataArray(y, dims=("time", "estate"), coords={"time": t, "estate": names})
    return da, names[:5], t[start]


def test_regression_to_the_mean_warned_and_adjusted():
    da, treated, start = transient_high(0)
    with pytest.warns(RegressionToMeanWarning, match="upper tail"):
        raw = estimate(da, treated, start, method="its", rtm="warn", n_draws=200,
                       calibrate=False)  # fmt: skip
    with pytest.warns(RegressionToMeanWarning, match="adjusted with untreated units matched"):
        adj = estimate(da, treated, start, method="its", rtm="auto", n_draws=200,
                       calibrate=False)  # fmt: skip
    # unadjusted, the fall back from the high year reads as calls prevented
    assert float(raw.total_effect_hi) < 0
    assert float(raw.naive_relative_effect) < -0.4
    # adjusted with comparison estates picked like them (5-9), the effect is ~0 and covered
    assert abs(float(adj.total_relative_effect)) < 0.05
    assert float(adj.total_effect_lo) <= 0.0 <= float(adj.total_effect_hi)
    rtm = json.loads(adj.attrs["checks"])["regression_to_mean"]
    assert rtm["selected_on_high_counts"] and rtm["adjusted"]
    assert rtm["comparison_rule"] == "matched_on_selection_level"
    # matched on last season's level: the other high estates (5-9), none of the ordinary ones
    assert set(rtm["comparison_units"]) <= {f"e{i:02d}" for i in range(5, 10)}
    assert len(rtm["comparison_units"]) >= 3
    assert "adjusted" not in json.loads(raw.attrs["checks"])["regression_to_mean"]
    # the comparison estates leave the treated units' own fit, and only its post-period is
    # adjusted: before the start it is the fit without them
    with pytest.warns(RegressionToMeanWarning):
        alone = estimate(da.drop_sel(estate=rtm["comparison_units"]), treated, start,
                         method="its", rtm="warn", n_draws=200, calibrate=False)  # fmt: skip
    pre = ~adj.post
    xr.testing.assert_allclose(adj.counterfactual.where(pre), alone.counterfactual.where(pre))
    assert float(adj.total_effect) > float(alone.total_effect) + 1000


def test_no_rtm_flag_for_units_of_one_level(make_planted):
    p = make_planted(41, level=(30.0, 30.0), K=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RegressionToMeanWarning)
        warnings.simplefilter("ignore", ImpactWarning)
        out = estimate(p.counts, p.treated, p.start, method="its", n_draws=50, calibrate=False)
    assert not json.loads(out.attrs["checks"])["regression_to_mean"]["selected_on_high_counts"]


def test_pre_trend_detected_and_warned(make_planted):
    p = make_planted(42, alpha=0.02)
    y = p.counts.values.astype(float)
    y[:130, :3] = np.round(y[:130, :3] * np.linspace(0.5, 1.0, 130)[:, None])
    with pytest.warns(ImpactWarning, match="pre-trend"):
        out = estimate(p.counts.copy(data=y), p.treated, p.start, method="its", n_draws=50,
                       calibrate=False)  # fmt: skip
    trend = json.loads(out.attrs["checks"])["pre_trend"]
    assert trend["ok"] is False and trend["slope_per_year"] > 0.1


def _panel(y: np.ndarray, start: int) -> Panel:
    T, U = y.shape
    t = pd.date_range("2022-01-03", periods=T, freq="W-MON")
    treated = np.zeros(U, dtype=bool)
    treated[0] = True
    return Panel(y, t, "W-MON", "estate", np.arange(U), treated, np.where(treated, start, T),
                 np.zeros((T, 0)))  # fmt: skip


def test_placebo_windows_stay_in_the_pre_period():
    p = _panel(np.ones((120, 3)), 100)
    h, starts = placebo_windows(p, 4, 8)  # 4 windows of 20 periods, half-overlapping
    assert h == 20 and starts == [80, 70, 60, 50]
    assert all(s >= 8 and s + h <= 100 for s in starts)


def test_calibration_widens_too_narrow_intervals():
    """A treated unit whose level wanders (a random walk the NB model does not know): the
    placebo coverage is below nominal and the intervals are widened to reach it."""
    rng = np.random.default_rng(43)
    T = 120
    walk = np.exp(np.cumsum(rng.normal(0.0, 0.04, T)))
    y = np.column_stack([rng.poisson(40.0 * walk), rng.poisson(40.0, (T, 3))]).astype(float)
    panel = _panel(y, 100)

    def fit(p: Panel):
        return fit_its(p, n_draws=200, rng=np.random.default_rng(0))

    cal = placebo_in_time(panel, fit, level=0.9, min_pre=8)
    assert cal.coverage < 0.9 and cal.scale > 1.0
    assert cal.coverage_scaled > cal.coverage
    full = cal.scale  # the shrunk factor is between 1 and the full one that reaches nominal
    assert 1.0 < full <= 5.0
    t = panel.times
    da = xr.DataArray(y, dims=("time", "estate"), coords={"time": t, "estate": ["a", "b", "c",
                                                                                "d"]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wide = estimate(da, ["a"], t[100], method="its", n_draws=200)
        narrow = estimate(da, ["a"], t[100], method="its", n_draws=200, calibrate=False)
    assert wide.attrs["interval_scale"] > 1.0
    ratio = float(wide.total_effect_hi - wide.total_effect_lo) / float(
        narrow.total_effect_hi - narrow.total_effect_lo)
    assert ratio == pytest.approx(wide.attrs["interval_scale"], rel=0.15)
    assert json.loads(wide.attrs["checks"])["placebo_in_time"]["scale"] > 1.0


def test_calibration_keeps_good_intervals(make_planted):
    p = make_planted(44, alpha=0.0, shock_sd=0.0, K=6)  # a right model, 42 placebo checks
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = estimate(p.counts, p.treated, p.start, method="its", n_draws=300)
    cal = json.loads(out.attrs["checks"])["placebo_in_time"]
    assert cal["windows"] == 6 and cal["checks"] == 42
    assert cal["coverage"] >= 0.85 and cal["scale"] < 1.1
    assert out.attrs["interval_scale"] == pytest.approx(cal["scale"], abs=1e-3)


def test_auto_rule(make_planted):
    few = make_planted(45, U=3, K=1)
    similar = make_planted(45, U=12, K=3)
    assert choose_method(_as_panel(few))[0] == "its"
    assert choose_method(_as_panel(similar))[0] == "did"
    # treated far above every untreated level: no comparable units, synthetic control
    far = make_planted(45, U=12, K=1)
    y = far.counts.values.astype(float)
    y[:, 0] *= 10
    assert choose_method(_as_panel(far, y))[0] == "synth"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = estimate(similar.counts, similar.treated, similar.start, n_draws=100)
    assert out.attrs["method"] == "did"
    assert "untreated units" in json.loads(out.attrs["checks"])["method_choice"]


def _as_panel(p, y=None) -> Panel:
    y = p.counts.values.astype(float) if y is None else y
    names = p.counts.estate.values
    treated = np.isin(names, p.treated)
    T = y.shape[0]
    s = int(np.searchsorted(p.counts.time.values, np.datetime64(p.start)))
    return Panel(y, pd.DatetimeIndex(p.counts.time.values), "W-MON", "estate", names, treated,
                 np.where(treated, s, T), np.zeros((T, 0)))  # fmt: skip


def test_auto_prefers_did_over_covariates_when_controls_are_comparable(make_planted):
    """Comparable untreated units: ``did``'s time effects absorb the common shocks that the
    covariates describe (covariates no longer switch ``auto`` to ``its``)."""
    p = make_planted(46, U=12, K=3)
    t = p.counts.time
    cov = xr.Dataset({"temperature": ("time", np.sin(np.arange(t.size) / 8.0))},
                     coords={"time": t})  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = estimate(p.counts, p.treated, p.start, covariates=cov, n_draws=100)
    assert out.attrs["method"] == "did"
    assert "untreated units" in json.loads(out.attrs["checks"])["method_choice"]
