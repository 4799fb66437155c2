"""Thresholds from the predictive distribution (run lengths), the self-calibrated baseline, the
post-alarm threshold jump, and a smoke run of the calibration harness (issue 14 §2)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

from predgov.stats.nb import nb_llr
from predgov.warn import detect
from predgov.warn.arl import (
    ALPHA_GRID,
    LOG_MU_GRID,
    STORED_TABLES,
    cusum_arl,
    cusum_increments,
    cusum_threshold,
    threshold_for_fa,
)
from predgov.warn.cusum import cusum_path

ROOT = Path(__file__).resolve().parents[2]


def _simulated_arl(mu, size, delta, h, kind="nb", T=6000, S=40, seed=0):
    rng = np.random.default_rng(seed)
    if size >= 1e8:
        y = rng.poisson(mu, (T, S))
    else:
        y = rng.negative_binomial(size, size / (size + mu), (T, S))
    a, c = cusum_increments(np.array(mu), np.array(size), delta, kind)
    _, alarm = cusum_path(a * y + c, h)
    return T * S / alarm.sum()


@pytest.mark.parametrize(
    ("mu", "size", "kind"), [(5.0, 1e8, "nb"), (5.0, 2.0, "nb"), (40.0, 5.0, "z")]
)
def test_markov_chain_run_length_matches_simulation(mu, size, kind):
    """Known answer: the Brook-Evans ARL equals the mean run length of simulated CUSUMs."""
    h = 3.0
    arl = cusum_arl(mu, size, 2.0, h, kind=kind)
    sim = _simulated_arl(mu, size, 2.0, h, kind)
    assert abs(arl / sim - 1) < 0.08, (arl, sim)


def test_zero_threshold_run_length_is_geometric():
    """h = 0 alarms at the first positive increment: ARL = 1 / P(a y + c > 0)."""
    mu, size = 4.0, 3.0
    sd = np.sqrt(mu + mu * mu / size)
    a, c = nb_llr(np.array(mu), np.array(mu + 2 * sd), np.array(size))
    y0 = np.floor(-c / a)
    p = 1 - stats.nbinom(size, size / (size + mu)).cdf(y0)
    assert cusum_arl(mu, size, 2.0, 1e-9) == pytest.approx(1 / p, rel=1e-6)


def test_threshold_gives_the_nominal_false_alarm_rate():
    mu, size = 3.0, 4.0
    h = threshold_for_fa(mu, size, 2.0, fa=2.0, freq="D")
    assert 365.25 / cusum_arl(mu, size, 2.0, h) == pytest.approx(2.0, rel=0.02)
    sim = _simulated_arl(mu, size, 2.0, h, T=10000, S=40, seed=1)
    assert 365.25 / sim == pytest.approx(2.0, abs=0.35)


def test_stored_table_matches_recomputation_and_interpolation():
    table = STORED_TABLES[(2.0, 0.7, "D", "nb")]
    for i, j in [(2, 0), (4, 5)]:
        mu, alpha = 10.0 ** LOG_MU_GRID[i], ALPHA_GRID[j]
        size = 1e8 if alpha == 0 else 1 / alpha
        assert threshold_for_fa(mu, size, 2.0, 0.7, "D", n_states=120) == pytest.approx(
            table[i, j], abs=0.02
        )
        h = cusum_threshold(np.array([mu]), np.array([size]), 2.0, 0.7, "D")
        assert h[0] == pytest.approx(table[i, j], abs=1e-9)


def test_heavier_tails_need_a_different_threshold():
    """The threshold follows the predictive distribution, not one number for every series."""
    h = cusum_threshold(np.array([20.0, 20.0]), np.array([1e8, 0.5]))
    assert abs(h[0] - h[1]) > 0.5


def _outbreak_series(T=200, level=10.0, at=150, extra=60, days=5, seed=0):
    t = pd.date_range("2024-01-01", periods=T, freq="D")
    y = np.random.default_rng(seed).poisson(level, T).astype(float)
    y[at : at + days] += extra
    return xr.DataArray(y[:, None], coords={"time": t, "series": ["a"]}, dims=("time", "series"),
                        attrs={"freq": "D"})  # fmt: skip


def test_no_threshold_jump_after_an_alarm():
    """Regression: after an outbreak the first-year baseline counted its errors as noise and
    the count needed to alarm jumped from about 10 to 219. Outbreak periods are now left out."""
    da = _outbreak_series()
    out = detect(da, "default")
    upper = out["upper"].isel(series=0).values
    assert out["alarm"].isel(series=0, time=slice(150, 153)).any()
    before = np.nanmedian(upper[120:150])
    after = np.nanmedian(upper[160:190])
    assert after < 1.5 * before, (before, after)
    # the old first-year fallback (rolling level) shows the jump
    old = detect(da, "default", young="level")["upper"].isel(series=0).values
    assert np.nanmedian(old[160:190]) > 2 * np.nanmedian(old[120:150])


def test_default_false_alarms_near_nominal_on_negative_binomial_series():
    """Outbreak-free NB series the package was not tuned on: about 1 false alarm per
    series-year (the per-cell thresholds come from the self-calibrated predictive
    distribution)."""
    from predgov.data.synthetic_family import Member, generate

    m = Member("t_nb", "test", level=(5.0, 50.0), size=(1.5, 4.0), yearly=(0.0, 0.3))
    ds = generate(m, seed=11, n_series=8, years=2.0)
    out = detect(ds[["counts"]].assign_attrs(freq="D"), "default", start="2022-01-20")
    years = float(out["score"].notnull().sum()) / 365.25
    fa = float(out["alarm"].sum()) / years
    assert 0.3 < fa < 2.0, fa


def test_a_lasting_rise_is_learnt_not_flagged_forever():
    """Regression: the outbreak feedback left every flagged period out of the refits and the
    level, so a lasting rise it flagged was never learnt (the expected count stayed at the old
    level and the CUSUM alarmed for months). Blocks longer than ``feedback_max`` are released."""
    from predgov.warn.expected import expected_counts

    t = np.arange("2023-01-01", "2023-10-01", dtype="datetime64[D]")
    rng = np.random.default_rng(4)
    level = np.where(np.arange(len(t)) < 120, 50.0, 80.0)
    y = rng.poisson(level[:, None] * np.ones((1, 3))).astype(float)
    new = expected_counts(y, t, "D")["expected"]
    old = expected_counts(y, t, "D", feedback_max=10_000, young_feedback_max=10_000)["expected"]
    late = slice(200, 273)
    assert (np.nanmean(new[late], 0) > 72.0).all()  # learnt (the first-year trend overshoots)
    assert (np.nanmean(old[late], 0) < 60.0).all()  # stuck at the old level


def test_self_calibration_removes_the_heavy_tail_bias():
    """On NB size-1 series the fit that leaves large residuals out puts the mean low; the
    self-calibrated mean (default) is unbiased within a few percent."""
    from predgov.warn.expected import expected_counts

    t = np.arange("2023-01-01", "2024-03-01", dtype="datetime64[D]")
    rng = np.random.default_rng(5)
    y = rng.negative_binomial(1.0, 1.0 / 21.0, (len(t), 8)).astype(float)  # mean 20, size 1
    cal = expected_counts(y, t, "D")["expected"][200:]
    fit = expected_counts(y, t, "D", dispersion="fit")["expected"][200:]
    assert abs(np.nanmean(cal) / 20.0 - 1) < 0.05
    assert np.nanmean(fit) / 20.0 < np.nanmean(cal) / 20.0


@pytest.fixture(scope="module")
def harness(load_benchmark):
    return load_benchmark("calibration")


def test_harness_smoke(capsys, monkeypatch, harness):
    calls = []
    inject = harness.inject_outbreaks

    def recording(*args, **kwargs):
        calls.append(kwargs)
        return inject(*args, **kwargs)

    monkeypatch.setattr(harness, "inject_outbreaks", recording)
    out = harness.main(["--quick"])
    text = capsys.readouterr().out
    # the standard outbreaks (Noufaily 2013): k SD in all, for every k of the table; the
    # sustained shift once more at k = 3 (per-period sizing, the earlier design)
    standard = sorted(c["k"] for c in calls if c.get("sizing") == "total")
    sustained = [c["k"] for c in calls if c.get("sizing", "per_period") == "per_period"]
    assert standard == sorted(list(harness.KS) * len(harness.QUICK_MEMBERS))
    assert sustained == [harness.SHIFT_K] * len(harness.QUICK_MEMBERS)
    assert "pod3s" in text
    assert "Early warning" in text and "Forecast coverage" in text
    line = out["result"]
    keys = re.findall(r"(\w+)=", line)
    assert keys == ["cov80_pooled", "cov80_min", "cov80_max", "fa_min", "fa_max", "pod3",
                    "delay", "mase_vs_best_peer", "warn_day_seconds", "pod3s",
                    "pit80_pooled"]  # fmt: skip
    values = dict(re.findall(r"(\w+)=(\S+)", line))
    # the randomised-PIT coverage of each member's 80 % band is computed beside its coverage
    assert all(0.5 < c["pit80"] < 1.0 and c["n_pit"] > 0 for c in out["coverage"].values())
    assert 0.5 < float(values["cov80_min"]) <= float(values["cov80_max"]) <= 1.0
    assert np.isfinite(float(values["fa_max"])) and np.isfinite(float(values["pod3"]))


def test_persistent_threshold_known_answers():
    """h' solves h' - b h'^2 = h, b = 2 s2 / delta^2 (by hand), capped at 2 h."""
    from predgov.warn.arl import persistent_threshold

    h = np.array([4.0, 4.0, 4.0, 3.0, 4.0])
    s2 = np.array([0.0, 0.0625, 0.125, 0.04, 1.0])
    out = persistent_threshold(h, s2, 2.0)
    b = 2 * 0.04 / 4.0  # 4th: solve b x^2 - x + 3 = 0 by hand (smaller root)
    by_hand = (1 - np.sqrt(1 - 4 * b * 3.0)) / (2 * b)
    assert out == pytest.approx([4.0, 8 / (1 + np.sqrt(0.5)), 8.0, by_hand, 8.0])
    assert by_hand - b * by_hand**2 == pytest.approx(3.0)
    assert persistent_threshold(np.array(4.0), np.array(np.nan)) == 4.0


def test_persistent_threshold_keeps_the_rate_under_a_persistent_mean_error():
    """Known answer by simulation: Gaussian CUSUM increments ``2 z - 2`` whose mean is off by
    a persistent ``e ~ N(0, s2)`` (one draw per series) alarm, at the raised threshold, about
    as often as exact ones at the original threshold (the Gaussian approximation errs on the
    safe side: about 0.6 times); at the original threshold about 1.7 times more often."""
    from predgov.warn.arl import persistent_threshold

    rng = np.random.default_rng(3)
    T, S, h, s2 = 4000, 300, 4.0, 0.1
    z0 = rng.standard_normal((T, S))
    e = rng.normal(0.0, np.sqrt(s2), S)
    rate0 = cusum_path(2 * z0 - 2, h)[1].mean()
    hp = float(persistent_threshold(np.array(h), np.array(s2)))
    z = z0 + e
    rate_naive = cusum_path(2 * z - 2, h)[1].mean()
    rate_new = cusum_path(2 * z - 2, hp)[1].mean()
    assert rate_naive > 1.4 * rate0, (rate_naive, rate0)
    assert 0.4 < rate_new / rate0 < 1.1, (rate_new, rate0)


def test_persistent_mean_error_is_estimated_and_raises_thresholds():
    """A series whose level wanders (slow AR(1) on the log scale, which the baseline lags
    behind) gets a larger persistent-error variance than an iid Poisson series, and its
    default CUSUM thresholds are above the independent-period ones."""
    from predgov.warn.cusum import fa_margin, nb_cusum
    from predgov.warn.expected import expected_counts

    t = np.arange("2023-01-01", "2023-12-01", dtype="datetime64[D]")
    rng = np.random.default_rng(8)
    log_level = np.zeros(len(t))
    for i in range(1, len(t)):
        log_level[i] = 0.97 * log_level[i - 1] + rng.normal(0, 0.05)
    level = 100.0 * np.exp(np.c_[log_level, np.zeros(len(t))])
    y = rng.poisson(level).astype(float)
    out = expected_counts(y, t, "D")
    late = slice(150, None)
    p = np.nanmean(out["persist"][late], 0)
    assert p[0] > 0.1 and p[1] < 0.05 and p[0] > 4 * p[1], p
    res = nb_cusum(y, t, "D", baseline="calendar")
    base = cusum_threshold(out["expected"], out["size"], 2.0, fa_margin("D"), "D")
    ratio = np.nanmean(res["threshold"][late] / base[late], 0)
    assert ratio[0] > 1.2 and ratio[1] < 1.1, ratio


def test_harness_pod_counts_an_alarm_anywhere_during_the_outbreak(harness):
    """Noufaily et al. (2013): an outbreak is detected when an alarm falls anywhere in it; the
    sustained-shift scenario counts alarms in its first ``within`` periods only."""
    alarm = np.zeros((30, 1), bool)
    alarm[[8, 25], 0] = True
    table = pd.DataFrame({"series": [0, 0], "start": [5, 20], "end": [9, 22]})
    assert harness._hits(alarm, table, 0, None) == [True, False]
    assert harness._hits(alarm, table, 0, 3) == [False, False]
    assert harness._delays(alarm, table, 0, "D") == [3.0]


def test_first_year_season_is_learnt_not_left_out_as_an_outbreak():
    """Regression: in a series' first year (no yearly terms yet) the outbreak feedback flagged
    a season's rise and left it out of the level for up to 28 days, so the expected count
    lagged and the default CUSUM raised about 5.5 false alarms per series-year on these
    strongly seasonal Poisson series (33 alarms). Flagged blocks are released after 14 days
    in the first year (``young_feedback_max``): 22 alarms."""
    T, S = 330, 8
    t = np.datetime64("2023-01-01") + np.arange(T)
    rng = np.random.default_rng(3)
    phase = rng.uniform(0, 365, S)
    mu = 20 * np.exp(0.8 * np.cos(2 * np.pi * (np.arange(T)[:, None] - phase) / 365))
    y = rng.poisson(mu).astype(float)
    from predgov.warn.cusum import nb_cusum

    counts = {}
    for name, model in (("new", None), ("old", {"young_feedback_max": 28})):
        out = nb_cusum(y, t, "D", baseline="calendar", model=model)
        counts[name] = int((out["score"][56:] > out["threshold"][56:]).sum())
    years = S * (T - 56) / 365.25
    assert counts["new"] / years < 4.0, counts
    assert counts["new"] <= 0.7 * counts["old"], counts


def test_harness_alert_runs_and_place_calendar(harness):
    """Alerts = runs of consecutive alarm periods per series (known answer); the real sets get
    the pipeline's full US calendar (non-working days, holiday names), not a bare
    ``holiday`` dummy (regression: the harness passed ``calendar(...)[["holiday"]]``)."""
    alarm = np.zeros((10, 3), bool)
    alarm[[1, 2, 3, 6], 0] = True  # 2 runs
    alarm[[0, 9], 1] = True  # 2 runs
    assert harness.alert_runs(alarm) == 4
    t = pd.date_range("2014-08-30", periods=5, freq="D")  # Sat .. Wed, Labor Day on Mon
    cal = harness.place_regressors(xr.DataArray(np.zeros(5), coords={"time": t}, dims="time"))
    assert {"holiday", "working_day", "holiday_name"} <= set(cal.data_vars)
    assert cal["working_day"].values.tolist() == [False, False, False, True, True]
    assert cal["holiday_name"].values[2] == "Labor Day"


def test_harness_fa_range_covers_weekly_members(capsys, harness):
    """fa_min / fa_max span every member with a mean >= 1 per period, weekly and monthly too
    (regression: only daily members counted, so a weekly default at 3.5 a year went unseen)."""
    out = harness.main(["--quick", "--members", "w_nb", "--no-forecast", "--series", "4"])
    values = dict(re.findall(r"(\w+)=(\S+)", out["result"]))
    fa = float(out["warn"]["w_nb"].loc["default", "fa"])
    assert float(values["fa_min"]) == pytest.approx(fa, abs=1e-3)
    assert float(values["fa_max"]) == pytest.approx(fa, abs=1e-3)
    capsys.readouterr()


def test_self_calibration_mean_leaves_out_the_first_year_after_it():
    """From a series' second year on, the self-calibrated mean's ratio of observed to expected
    sums reads only second-year periods: first-year errors (the level lagging a season before
    the yearly terms exist) no longer bias the whole second year. Known answer: observed = 0.7
    x expected in the first year, 1.2 x in the second; at t = 465 the ratio is the second
    year's 100 periods shrunk with ``cal_prior`` pseudo-periods at their mean prediction."""
    from predgov.warn.online import OnlineCalibration

    T, year, t = 500, 365, 465
    mu0 = np.full((T, 1), 50.0)
    x = np.where(np.arange(T)[:, None] < year, 35.0, 60.0)
    oc = OnlineCalibration(x, n_level=0, level_prior=56.0, level_guard=0, n_disp=182,
                           reweight=None, feedback=None, feedback_delta=2.0,
                           feedback_dispersion=False, calibrate=True, n_cal=365,
                           cal_prior=56.0, year=year)  # fmt: skip
    oc.mu0[:] = mu0
    oc.zs[:t] = (x[:t] - mu0[:t]) / np.sqrt(mu0[:t])
    mu_c, _ = oc._calibrated(t, np.array([50.0]), np.array([np.sqrt(50.0)]))
    n2 = t - year  # second-year periods in the window
    want = 50.0 * (n2 * 60.0 + 56.0 * 50.0) / (n2 * 50.0 + 56.0 * 50.0)
    assert mu_c[0] == pytest.approx(want, rel=1e-12)
    # still in the first year: the whole window counts
    mu_y1, _ = oc._calibrated(300, np.array([50.0]), np.array([np.sqrt(50.0)]))
    assert mu_y1[0] == pytest.approx(50.0 * (300 * 35.0 + 56 * 50.0) / (300 * 50.0 + 56 * 50.0))


def test_second_year_mean_is_not_biased_by_the_first_years_errors():
    """A strongly seasonal Poisson series (300 a day, yearly amplitude 0.5 on the log scale)
    is over- or under-predicted late in its first year (no yearly terms yet, the level lags
    the season); the second year's expected count must not inherit that error. Before the
    self-calibration left the first year out of the mean it was 7-8 % off for the whole
    second year (several SDs of a 300-a-day Poisson count, weeks on end); now within 4 %."""
    from predgov.warn.expected import expected_counts

    rng = np.random.default_rng(11)
    T = 760
    t = pd.date_range("2021-01-04", periods=T, freq="D").values
    days = np.arange(T)[:, None] + 0.5
    phase = np.repeat([0.1, 0.6], 3)  # late first year: expected too low / too high
    mu = 300.0 * np.exp(0.5 * np.cos(2 * np.pi * (days / 365.25 - phase)))
    x = rng.poisson(mu).astype(float)
    out = expected_counts(x, t, "D", start=pd.Timestamp(t[56]))
    err = np.log(out["expected"] / mu)
    first_late = np.nanmean(err[250:365], 0)
    assert np.all(np.abs(first_late) > 0.2), first_late  # the first-year error is there
    second = np.nanmean(err[380:730], 0)
    assert np.all(np.abs(second) < 0.04), second
