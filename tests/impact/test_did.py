"""Difference in differences for counts: Poisson fixed effects, event study, staggered starts."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from predgov.impact import estimate
from predgov.impact._inputs import Panel
from predgov.impact.did import event_groups, fit_poisson_fe


def test_poisson_fe_matches_statsmodels_dummies():
    """Two-way fixed effects plus group terms: the same fitted means as a dummy-variable Poisson
    GLM in statsmodels (the oracle)."""
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(0)
    T, U = 12, 5
    y = rng.poisson(rng.uniform(5, 20, (1, U)) * rng.uniform(0.5, 1.5, (T, 1))).astype(float)
    groups = np.full((T, U), -1)
    groups[8:, 0] = 0
    groups[10:, 1] = 1
    a, g, c = fit_poisson_fe(y, groups, 2, tol=1e-12)
    mu = np.exp(a[None, :] + g[:, None] + np.where(groups >= 0, c[np.maximum(groups, 0)], 0.0))
    rows = [(t, u) for u in range(U) for t in range(T)]
    X = np.zeros((len(rows), 1 + (U - 1) + (T - 1) + 2))
    for i, (t, u) in enumerate(rows):
        X[i, 0] = 1.0
        if u > 0:
            X[i, u] = 1.0
        if t > 0:
            X[i, U - 1 + t] = 1.0
        if groups[t, u] >= 0:
            X[i, U + T - 1 + groups[t, u]] = 1.0
    yy = np.array([y[t, u] for t, u in rows])
    res = sm.GLM(yy, X, family=sm.families.Poisson()).fit(tol=1e-12)
    ref = res.fittedvalues.reshape(U, T).T
    np.testing.assert_allclose(mu, ref, rtol=1e-6)
    np.testing.assert_allclose(c, res.params[-2:], rtol=1e-6)


def test_poisson_fe_mask_leaves_cells_out():
    rng = np.random.default_rng(1)
    y = rng.poisson(10.0, (10, 4)).astype(float)
    mask = np.ones_like(y, dtype=bool)
    mask[7:, 0] = False
    none = np.full(y.shape, -1)
    a1, g1, _ = fit_poisson_fe(y, none, 0, mask=mask)
    y2 = y.copy()
    y2[7:, 0] = 1000.0
    a2, g2, _ = fit_poisson_fe(y2, none, 0, mask=mask)
    np.testing.assert_allclose(a1, a2)
    np.testing.assert_allclose(g1, g2)


def test_event_groups_bins_and_reference():
    t = pd.date_range("2023-01-02", periods=30, freq="W-MON")
    p = Panel(np.ones((30, 3)), t, "W-MON", "estate", np.arange(3), np.array([True, True, False]),
              np.array([20, 24, 30]), np.zeros((30, 0)))
    grp, rel = event_groups(p, 4)
    assert (grp[:, 2] == -1).all()  # untreated units have no event terms
    assert rel.tolist()[:3] == [-20, -16, -12] and 0 in rel.tolist() and -4 not in rel.tolist()
    assert grp[16, 0] == -1 and grp[20, 0] == rel.tolist().index(0)  # bin before start = ref
    assert grp[24, 1] == rel.tolist().index(0)


def test_event_study_flat_before_and_drop_after(make_planted):
    p = make_planted(31, effect=0.5, alpha=0.01, level=(80.0, 120.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = estimate(p.counts, p.treated, p.start, method="did", n_draws=200)
    es = out["event_study"]
    assert es.dims == ("rel_period",)
    lead = es.sel(rel_period=es.rel_period < 0)
    lag = es.sel(rel_period=es.rel_period >= 0)
    assert float(np.abs(lead).max()) < 0.1
    assert float(np.abs(lag + 0.5).max()) < 0.1
    assert (out.event_study_lo <= out.event_study).all()
    assert (out.event_study <= out.event_study_hi).all()
    # a planted pre-trend shows in the leads
    y = p.counts.values.astype(float)
    y[:130, :3] *= np.linspace(0.6, 1.0, 130)[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        drift = estimate(p.counts.copy(data=np.round(y)), p.treated, p.start, method="did",
                         n_draws=100)  # fmt: skip
    assert float(drift.event_study.sel(rel_period=-32)) < -0.1


def test_staggered_starts_with_effects_that_differ(make_planted):
    """Staggered starts, each unit its own effect: the imputation form recovers the total."""
    p = make_planted(32, effect=1.0, alpha=0.05)
    y = p.counts.values.astype(float)
    rng = np.random.default_rng(3)
    t = p.counts.time.values
    starts = {"e00": t[120], "e01": t[130], "e02": t[140]}
    ratio = {"e00": 0.4, "e01": 0.7, "e02": 0.9}
    truth = 0.0
    for j, u in enumerate(["e00", "e01", "e02"]):
        s = int(np.searchsorted(t, starts[u]))
        before = y[s:, j].copy()
        y[s:, j] = rng.binomial(y[s:, j].astype(int), ratio[u])
        truth += float((y[s:, j] - before).sum())
    da = p.counts.copy(data=y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = estimate(da, p.treated, starts, method="did", n_draws=300)
    assert abs(float(out.total_effect) - truth) <= 0.15 * abs(truth)
    assert float(out.total_effect_lo) <= truth <= float(out.total_effect_hi)


def test_treated_unit_without_pre_counts_gets_half_a_count(make_planted):
    """No calls before the start: the counterfactual level is half a count over the
    pre-period (not zero, which would make every later call an 'effect', nor an error)."""
    p = make_planted(33, T=60, U=6, K=1, start=40)
    y = p.counts.values.astype(float)
    y[:40, 0] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = estimate(p.counts.copy(data=y), p.treated, p.start, method="did", n_draws=50,
                       calibrate=False)  # fmt: skip
    pre_cf = float(out.counterfactual.isel(time=slice(0, 40)).sum())
    assert pre_cf == pytest.approx(0.5, rel=1e-6)
    assert "event_study" not in out


def test_did_needs_untreated_units_with_counts(make_planted):
    p = make_planted(34, T=60, U=4, K=1, start=40)
    y = p.counts.values.astype(float)
    y[:, 1:] = 0
    with pytest.raises(ValueError, match="needs untreated units with counts"):
        estimate(p.counts.copy(data=y), p.treated, p.start, method="did", n_draws=50)
