"""Exposure (households per unit) as offset, and regression to the mean on rates: selection by
counts per household, matched on rates (the default) or corrected by empirical Bayes."""

from __future__ import annotations

import dataclasses
import json
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from predgov.impact import ImpactWarning, estimate
from predgov.impact._inputs import Panel
from predgov.impact.checks import eb_window_values, gamma_prior, rtm_check, rtm_comparison_units


def rate_selected(seed: int, *, T: int = 82, start: int = 56, U: int = 40, n_top: int = 6,
                  rate: float = 0.004) -> tuple[xr.DataArray, list[str], pd.Timestamp]:
    """Estates of 50-400 households, all with the same calls per household and week (the
    city's season times ``rate``); the treated estates are the ``n_top`` with the most calls per
    household in the last 52 weeks before the start (selection on noise alone); nothing is done
    to them, so the true effect is 0."""
    rng = np.random.default_rng(seed)
    t = pd.date_range("2022-01-03", periods=T, freq="W-MON")
    hh = rng.integers(50, 401, U).astype(float)
    season = 1.0 + 0.5 * np.cos(2 * np.pi * np.arange(T) / (365.25 / 7))
    y = rng.poisson(rate * season[:, None] * hh[None, :]).astype(float)
    last = y[start - 52 : start].sum(axis=0) / hh
    names = [f"e{i:02d}" for i in range(U)]
    top = np.argsort(-last, kind="stable")[:n_top]
    da = xr.DataArray(y, dims=("time", "estate"),
                      coords={"time": t, "estate": names, "households": ("estate", hh)})
    return da, [names[i] for i in sorted(top)], t[start]


def _quiet(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImpactWarning)
        return estimate(**kw)


def test_exposure_offset_follows_households_over_time():
    # estate e0 doubles its households at the start (new blocks move in) and nothing else
    # changes: per household, no effect; in counts, +100 %
    rng = np.random.default_rng(3)
    T, start, U = 120, 90, 8
    t = pd.date_range("2022-01-03", periods=T, freq="W-MON")
    hh = np.tile(np.linspace(100.0, 300.0, U), (T, 1))
    hh[start:, 0] *= 2.0
    y = rng.poisson(0.1 * hh).astype(float)
    names = [f"e{i}" for i in range(U)]
    da = xr.DataArray(y, dims=("time", "estate"), coords={"time": t, "estate": names})
    E = xr.DataArray(hh, dims=("time", "estate"), coords={"time": t, "estate": names})
    raw = _quiet(counts=da, treated=["e0"], start=t[start], method="its", n_draws=200)
    per_hh = _quiet(counts=da, treated=["e0"], start=t[start], method="its", n_draws=200,
                    exposure=E)  # fmt: skip
    assert float(raw.total_relative_effect) > 0.7
    assert abs(float(per_hh.total_relative_effect)) < 0.1
    assert float(per_hh.total_effect_lo) <= 0.0 <= float(per_hh.total_effect_hi)
    assert per_hh.attrs["exposure"] == "exposure"
    assert json.loads(per_hh.attrs["checks"])["model"]["exposure_offset"] is True


def test_rtm_check_ranks_on_rates_with_exposure():
    da, treated, start = rate_selected(0)
    times = da.indexes["time"]
    mask = np.isin(da.estate.values, treated)
    sidx = np.where(mask, int(np.searchsorted(times, start)), len(times))
    p = Panel(da.values, times, "W-MON", "estate", da.estate.values, mask, sidx,
              np.zeros((len(times), 0)))  # fmt: skip
    p_rate = Panel(da.values, times, "W-MON", "estate", da.estate.values, mask, sidx,
                   np.zeros((len(times), 0)),
                   exposure=np.tile(da.households.values, (len(times), 1)))  # fmt: skip
    # selected on calls per household: the top ranks on rates (by construction), not on counts
    assert rtm_check(p_rate).mean_rank > 0.85
    assert rtm_check(p_rate).selected_high
    assert rtm_check(p).mean_rank < rtm_check(p_rate).mean_rank
    # the comparison units are matched on rates: each treated estate's nearest untreated rates
    fake, rule = rtm_comparison_units(p_rate)
    assert rule == "matched_on_selection_rate"
    last = da.values[4:56].sum(axis=0) / da.households.values
    ctrl_order = np.argsort(-np.where(mask, -np.inf, last))
    assert set(fake) <= set(ctrl_order[:12].tolist())


def test_empirical_bayes_removes_regression_to_the_mean_on_rates():
    # 9 cities whose treated estates were picked on noise (true effect 0): unadjusted, the fall
    # back reads as calls prevented; empirical Bayes (rtm="eb") centres the estimates on 0
    raw_rel, eb_rel, covered = [], [], []
    for seed in range(9):
        da, treated, start = rate_selected(seed)
        kw = dict(counts=da, treated=treated, start=start, method="its", n_draws=300,
                  exposure="households", calibrate=False, seed=seed)  # fmt: skip
        raw = _quiet(**kw, rtm="warn")
        eb = _quiet(**kw, rtm="eb")
        rec = json.loads(eb.attrs["checks"])["regression_to_mean"]
        assert rec["selected_on_high_counts"] and rec["adjusted"]
        assert rec["method"] == "empirical_bayes" and rec["treated_window_ratio"] < 0.9
        assert rec["untreated_window_ratio"] > 1.0  # picked low: corrected up
        raw_rel.append(float(raw.total_relative_effect))
        eb_rel.append(float(eb.total_relative_effect))
        covered.append(float(eb.total_effect_lo) <= 0.0 <= float(eb.total_effect_hi))
    assert np.mean(raw_rel) < -0.12
    assert abs(np.mean(eb_rel)) < 0.05
    assert np.mean(covered) >= 7 / 9


def test_eb_window_values_against_hand_computed_moments():
    # 4 units, 10 periods (shorter than a year: the whole pre-period is the selection window),
    # no exposure: E = 10 periods each; all counts in the first period
    y = np.zeros((12, 4))
    y[0] = [10.0, 20.0, 30.0, 60.0]
    y[10:] = 5.0  # post-period: left as observed
    t = pd.date_range("2023-01-02", periods=12, freq="W-MON")
    tr = np.array([False, False, False, True])
    p = Panel(y, t, "W-MON", "estate", np.arange(4), tr, np.where(tr, 10, 12),
              np.zeros((12, 0)))  # fmt: skip
    tot, E = np.array([10.0, 20, 30, 60]), 10.0
    m = tot.sum() / 40.0
    v = (np.sum(E * (tot / E - m) ** 2) - 3 * m) / (40.0 - 4 * E**2 / 40.0)
    k = m**2 / v
    assert gamma_prior(tot, np.full(4, E)) == pytest.approx((m, k), rel=1e-12)
    adj, factors, rec = eb_window_values(p, 200, np.random.default_rng(0))
    post_mean = (k + tot) / (k / m + E)
    assert adj[0] == pytest.approx(post_mean * E, rel=1e-12)  # window total = posterior x E
    assert np.all(adj[1:10] == 0.0) and np.all(adj[10:] == 5.0)
    assert rec["treated_window_ratio"] == pytest.approx(post_mean[3] * E / 60.0, abs=1e-4)
    assert factors.shape == (200,) and np.all(factors > 0)
    assert 0.7 < np.median(factors) < 1.3
    # a unit without counts in the window gets its posterior total spread like the city's
    y2 = y.copy()
    y2[0, 0], y2[1, :] = 0.0, [0.0, 10.0, 10.0, 10.0]
    adj2, _, _ = eb_window_values(dataclasses.replace(p, values=y2))
    city = y2[:10].sum(axis=1)
    m2, k2 = gamma_prior(y2[:10].sum(axis=0), np.full(4, E))
    expect0 = k2 / (k2 / m2 + E) * E  # posterior mean of a unit with no counts, times E
    assert adj2[:10, 0] == pytest.approx(expect0 * city / city.sum(), rel=1e-9)


def test_separation_tells_a_cut_on_the_counts_from_an_overlapping_pick():
    # picked as the top 6 of last year's calls per household: sharp (empirical Bayes applies)
    da, treated, start = rate_selected(0)
    times = da.indexes["time"]
    mask = np.isin(da.estate.values, treated)
    sidx = np.where(mask, int(np.searchsorted(times, start)), len(times))
    E = np.tile(da.households.values, (len(times), 1))
    p = Panel(da.values, times, "W-MON", "estate", da.estate.values, mask, sidx,
              np.zeros((len(times), 0)), exposure=E)  # fmt: skip
    rc = rtm_check(p)
    assert rc.selected_high and rc.sharp and rc.separation == 1.0
    # swap the lowest treated estate with the 7th: high, not the exact top (overlap)
    last = da.values[4:56].sum(axis=0) / da.households.values
    order = np.argsort(-last, kind="stable")
    mask2 = mask.copy()
    mask2[order[5]], mask2[order[9]] = False, True
    p2 = dataclasses.replace(p, treated=mask2, start_idx=np.where(mask2, sidx.min(), len(times)))
    rc2 = rtm_check(p2)
    n_pairs = 6 * 34
    assert rc2.separation == pytest.approx((n_pairs - 4) / n_pairs)  # 4 pairs out of order
    assert rc2.sharp  # still a cut on the counts, nearly
    # a pick from the upper third at random: flagged, not sharp (matching applies)
    rng = np.random.default_rng(1)
    mask3 = np.isin(np.arange(40), rng.choice(order[:14], 6, replace=False))
    p3 = dataclasses.replace(p, treated=mask3, start_idx=np.where(mask3, sidx.min(), len(times)))
    rc3 = rtm_check(p3)
    assert rc3.separation < 0.95 and not rc3.sharp


def test_exposure_input_errors():
    da, treated, start = rate_selected(0, T=60, start=40)
    kw = dict(counts=da, treated=treated, start=start, method="its", n_draws=20, calibrate=False)
    with pytest.raises(ValueError, match="not a coordinate"):
        _quiet(**kw, exposure="residents")
    with pytest.raises(ValueError, match="positive"):
        _quiet(**kw, exposure=da.households * 0.0)
    with pytest.raises(ValueError, match="must be over"):
        _quiet(**kw, exposure=da.households.rename(estate="grid"))
    with pytest.raises(TypeError, match="exposure must be"):
        _quiet(**kw, exposure=[1.0] * 40)
    with pytest.raises(ValueError, match="rtm must be one of"):
        _quiet(**kw, rtm="bayes")


def test_time_varying_exposure_warned_for_did():
    da, treated, start = rate_selected(0, T=60, start=40)
    E = da.households.expand_dims(time=da.time).copy() * np.linspace(1.0, 1.5, 60)[:, None]
    with pytest.warns(ImpactWarning, match="varies over time"):
        estimate(da, treated, start, method="did", n_draws=20, calibrate=False, exposure=E,
                 n_boot=5, rtm="warn")  # fmt: skip
