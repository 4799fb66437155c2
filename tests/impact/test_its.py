"""Counterfactual forecast (ITS): known answer, no look-ahead, zero-effect coverage, GLM oracle."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from predgov.impact import estimate
from predgov.impact._inputs import Panel
from predgov.impact.its import fit_its, its_design

SMALL = {"T": 120, "U": 8, "K": 2, "start": 100}


def quiet(*args, **kwargs) -> xr.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimate(*args, **kwargs)


@pytest.mark.parametrize("method", ["its", "did", "synth"])
def test_planted_effect_recovered(make_planted, method):
    """Halving three estates' calls for 26 weeks: the total is recovered within 15 % and the
    90 % interval covers it (seeded data; the true total is on the mean scale)."""
    p = make_planted(11, effect=0.5)
    out = quiet(p.counts, p.treated, p.start, method=method, n_draws=300)
    est = float(out.total_effect)
    assert abs(est - p.true_total) <= 0.15 * abs(p.true_total), (est, p.true_total)
    assert float(out.total_effect_lo) <= p.true_total <= float(out.total_effect_hi)
    assert -0.6 < float(out.total_relative_effect) < -0.4


@pytest.mark.parametrize("method", ["its", "did", "synth"])
def test_no_look_ahead(make_planted, method):
    """The treated units' values on and after the start never enter the counterfactual."""
    p = make_planted(12, **SMALL)
    a = quiet(p.counts, p.treated, p.start, method=method, n_draws=100, seed=3)
    bumped = p.counts.copy()
    post = bumped.time >= np.datetime64(p.start)
    rng = np.random.default_rng(0)
    for u in p.treated:
        n = int(post.sum())
        bumped.loc[{"time": post, "estate": u}] = rng.poisson(500.0, n)
    b = quiet(bumped, p.treated, p.start, method=method, n_draws=100, seed=3)
    for v in ["counterfactual", "counterfactual_lo", "counterfactual_hi"]:
        xr.testing.assert_allclose(a[v], b[v])
    assert float(b.total_effect) > float(a.total_effect) + 1000  # the observed side did move


def test_staggered_no_look_ahead_per_unit(make_planted):
    """A later-starting unit's post values do not move an earlier one's counterfactual, and its
    own pre-period before its late start is used."""
    p = make_planted(13, **SMALL)
    t = p.counts.time.values
    starts = {p.treated[0]: t[100], p.treated[1]: t[110]}
    a = quiet(p.counts, p.treated, starts, method="its", n_draws=100, calibrate=False)
    bumped = p.counts.copy()
    bumped.loc[{"time": t[110:], "estate": p.treated[1]}] = 999.0
    b = quiet(bumped, p.treated, starts, method="its", n_draws=100, calibrate=False)
    xr.testing.assert_allclose(a.counterfactual, b.counterfactual)


def test_zero_effect_interval_covers_zero_quick(make_planted):
    """With no effect the 90 % interval of the total covers 0 in >= 85 % of 20 seeds."""
    covered = 0
    for seed in range(20):
        p = make_planted(100 + seed, effect=1.0, **SMALL)
        out = quiet(p.counts, p.treated, p.start, method="its", n_draws=200, seed=seed)
        covered += float(out.total_effect_lo) <= 0.0 <= float(out.total_effect_hi)
    assert covered >= 17, covered


@pytest.mark.slow
@pytest.mark.parametrize("method", ["its", "did", "synth", "auto"])
def test_zero_effect_interval_covers_zero_many_seeds(make_planted, method):
    covered = 0
    n = 100
    for seed in range(n):
        p = make_planted(1000 + seed, effect=1.0)
        out = quiet(p.counts, p.treated, p.start, method=method, n_draws=300, seed=seed)
        covered += float(out.total_effect_lo) <= 0.0 <= float(out.total_effect_hi)
    assert covered >= 0.85 * n, covered


def test_counterfactual_matches_statsmodels_nb_glm(make_planted):
    """The ITS fit is an NB GLM on the pre-period: statsmodels at the same dispersion agrees."""
    sm = pytest.importorskip("statsmodels.api")
    p = make_planted(14, **SMALL)
    values = p.counts.values
    treated = np.isin(p.counts.estate.values, p.treated)
    times = pd.DatetimeIndex(p.counts.time.values)
    panel = Panel(values, times, "W-MON", "estate", p.counts.estate.values, treated,
                  np.where(treated, 100, 120), np.zeros((120, 0)))  # fmt: skip
    cf = fit_its(panel, n_draws=20, rng=np.random.default_rng(0))
    X, names = its_design(panel)
    assert names[0] == "intercept" and "trend" not in names and names[-1] == "log_comparison"
    for j, u in enumerate(np.flatnonzero(treated)):
        alpha = cf.info["dispersion"][j]
        family = sm.families.NegativeBinomial(alpha=max(alpha, 1e-8))
        res = sm.GLM(values[:100, u], X[:100], family=family).fit(tol=1e-12)
        np.testing.assert_allclose(cf.mean[:, j], np.exp(X @ res.params), rtol=2e-3)


def test_covariate_enters_and_explains(make_planted):
    """A temperature-driven swing is carried by the covariate: the post-period counterfactual
    follows it (a warm post-period predicts fewer calls)."""
    rng = np.random.default_rng(15)
    T, start = 120, 100
    t = pd.date_range("2022-01-03", periods=T, freq="W-MON")
    temp = rng.normal(0.0, 1.0, T)
    temp[start:] += 2.0  # a warm spell after the start
    mu = 30.0 * np.exp(-0.3 * temp)
    y = rng.poisson(np.tile(mu[:, None], (1, 1))).astype(float)
    da = xr.DataArray(y, dims=("time", "estate"), coords={"time": t, "estate": ["a"]})
    cov = xr.Dataset({"temperature": ("time", temp)}, coords={"time": t})
    out = quiet(da, ["a"], t[start], method="its", covariates=cov, n_draws=200)
    assert "temperature" in out.attrs["covariates"]
    assert float(out.total_effect_lo) <= 0.0 <= float(out.total_effect_hi)
    without = quiet(da, ["a"], t[start], method="its", n_draws=200)
    assert float(without.total_effect) < float(out.total_effect) - 100  # warm winter read as effect
