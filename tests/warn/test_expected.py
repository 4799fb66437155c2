"""Calendar-aware expected counts: known answers, no look-ahead, determinism, pooling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from predgov.data.demo import demo_city
from predgov.warn import detect
from predgov.warn.cusum import nb_cusum
from predgov.warn.expected import design, expected_counts

T = pd.date_range("2022-01-01", "2023-06-30", freq="D")


def test_constant_series_known_answer():
    y = np.full((len(T), 2), 6.0)
    out = expected_counts(y, T.values, "D", reweight=None)
    np.testing.assert_allclose(out["expected"][60:], 6.0, rtol=0.02)
    assert np.isnan(out["expected"][:56]).all()  # min_history


def test_recovers_weekday_and_holiday_effects():
    # Deterministic counts: 20 on working days, 8 on weekends, 4 on (weekday) public holidays.
    dates = ["2022-03-15", "2022-06-15", "2022-09-15", "2022-12-15", "2023-03-15", "2023-06-15"]
    cal = xr.Dataset(
        {
            "holiday": ("time", T.isin(pd.to_datetime(dates))),
            "working_day": ("time", T.day_of_week < 5),
        },
        coords={"time": T},
    )
    cal["working_day"] = cal["working_day"] & ~cal["holiday"]
    y = np.where(cal["working_day"].values, 20.0, 8.0)
    y = np.where(cal["holiday"].values, 4.0, y)[:, None]
    out = expected_counts(y, T.values, "D", regressors=cal, reweight=None, level_window=0)
    day = int(np.flatnonzero(T == "2023-06-15")[0])
    assert out["expected"][day, 0] == pytest.approx(4.0, rel=0.15)  # seen 5 times before
    mon = int(np.flatnonzero(T == "2023-05-08")[0])
    sat = int(np.flatnonzero(T == "2023-05-06")[0])
    assert out["expected"][mon, 0] == pytest.approx(20.0, rel=0.03)
    assert out["expected"][sat, 0] == pytest.approx(8.0, rel=0.05)


def test_no_look_ahead_and_determinism():
    rng = np.random.default_rng(3)
    y = rng.negative_binomial(10, 10 / 18, (len(T), 3)).astype(float)
    cut = 400
    poisoned = y.copy()
    poisoned[cut:] = 5000.0
    reg = xr.Dataset({"temperature": ("time", rng.normal(10, 5, len(T)))}, coords={"time": T})
    a = expected_counts(y, T.values, "D", city="qingdao", regressors=reg, groups=[0, 0, 1])
    b = expected_counts(poisoned, T.values, "D", city="qingdao", regressors=reg, groups=[0, 0, 1])
    for key in ("expected", "size"):
        np.testing.assert_array_equal(a[key][: cut + 1], b[key][: cut + 1])
    c = expected_counts(y, T.values, "D", city="qingdao", regressors=reg, groups=[0, 0, 1])
    np.testing.assert_array_equal(a["expected"], c["expected"])
    # through the CUSUM as well
    ca = nb_cusum(y, T.values, "D", baseline="calendar", city="qingdao")
    cb = nb_cusum(poisoned, T.values, "D", baseline="calendar", city="qingdao")
    np.testing.assert_array_equal(ca["score"][:cut], cb["score"][:cut])


def test_design_with_the_qingdao_calendar():
    X, names, scale = design(T.values, "D", city="qingdao")
    assert X.shape == (len(T), len(names))
    for col in ("holiday", "makeup_workday", "non_working", "heating_season", "tourist_season"):
        assert col in names
    assert any(n.startswith("spring_festival") for n in names)
    assert "block_春节" in names
    assert "heating_season_onset0_6" in names
    assert np.isinf(scale[0]) and np.isfinite(scale[1:]).all()


def test_weekly_and_monthly_designs_have_spring_festival_shares():
    """Weekly/monthly data get the Spring Festival windows as the share of each period's days
    in each window (known answers around 春节 2024-02-10); yearly Fourier terms alone would
    put the festival dip in the weeks of the previous year's festival."""
    from predgov.data.calendar import calendar

    weeks = pd.date_range("2023-12-25", "2024-03-04", freq="W-MON")
    X, names, _ = design(weeks.values, "W-MON", city="qingdao")
    col = {n: X[:, names.index(n)] for n in names if n.startswith("spring_festival")}
    wk = list(weeks).index(pd.Timestamp("2024-02-05"))  # Mon 5 .. Sun 11 Feb: days -5..+1
    assert col["spring_festival-10_-1"][wk] == pytest.approx(5 / 7)
    assert col["spring_festival0_6"][wk] == pytest.approx(2 / 7)
    assert sum(c[wk] for c in col.values()) == pytest.approx(1.0)
    # Given as a weekly calendar Dataset (country in its attrs) instead of city=: the same.
    reg = calendar(weeks, city="qingdao")
    X2, names2, _ = design(weeks.values, "W-MON", regressors=reg)
    assert names2 == names
    np.testing.assert_allclose(X2, X)

    months = pd.date_range("2024-01-01", "2024-03-01", freq="MS")
    Xm, nm, _ = design(months.values, "MS", city="qingdao")
    m = {n: Xm[:, nm.index(n)] for n in nm if n.startswith("spring_festival")}
    # January: days -40..-10; February: -9..+19 (29 days); March: +20..+50.
    assert m["spring_festival-40_-21"].tolist() == pytest.approx([20 / 31, 0, 0])
    assert m["spring_festival-10_-1"].tolist() == pytest.approx([1 / 31, 9 / 29, 0])
    assert m["spring_festival16_30"].tolist() == pytest.approx([0, 4 / 29, 11 / 31])
    # No Chinese calendar, no Spring Festival columns.
    _, us, _ = design(weeks.values, "W-MON", regressors=calendar(weeks, None, country="US"))
    assert not any(n.startswith("spring_festival") for n in us)


def test_detect_default_uses_the_calendar_and_pools_by_category():
    city = demo_city(
        seed=0, start="2022-01-01", end="2023-03-31", districts=["市南", "平度"],
        categories=["parking", "consumer_dispute"],
    )  # fmt: skip
    out = detect(city, city="qingdao", regressors=city[["temperature"]], start="2023-01-01")
    assert out.attrs["detector"] == "nb_cusum"
    assert '"baseline": "calendar"' in out.attrs["params"]
    assert "temperature" in out.attrs["params"]
    exp = out["expected"].sel(time=slice("2023-01-01", None))
    truth = city["expected"].sel(time=slice("2023-01-01", None))
    ratio = float((exp.sum() / truth.sum()).item())
    assert 0.85 < ratio < 1.15
    assert not bool(out["alarm"].sel(time=slice(None, "2022-12-31")).any())


def test_feedback_flags_an_outbreak_and_keeps_it_out_of_the_baseline():
    rng = np.random.default_rng(7)
    y = rng.poisson(10.0, (len(T), 2)).astype(float)
    y[420:450, 0] += 25.0  # a month-long outbreak in series 0
    # feedback_max 45: a 30-day excess is kept out (the default, 28 days, would take it for a
    # new level: test_calibration.py::test_a_lasting_rise_is_learnt_not_flagged_forever)
    on = expected_counts(y, T.values, "D", reweight=None, feedback_max=45)
    off = expected_counts(y, T.values, "D", reweight=None, feedback=None)
    assert on["flagged"][425:450, 0].mean() > 0.8
    assert not off["flagged"].any()
    assert on["flagged"][100:400].mean() < 0.05  # few flags on in-control data
    # after the outbreak the baseline is not dragged up by it (nor by its recent level)
    late = slice(450, 460)
    assert np.nanmean(on["expected"][late, 0]) < np.nanmean(off["expected"][late, 0])
    assert np.nanmean(on["expected"][late, 0]) == pytest.approx(10.0, rel=0.2)


def test_feedback_has_no_look_ahead():
    rng = np.random.default_rng(8)
    y = rng.poisson(8.0, (len(T), 2)).astype(float)
    y[300:310, 1] += 30.0
    cut = 305
    poisoned = y.copy()
    poisoned[cut + 1 :] = rng.poisson(60.0, poisoned[cut + 1 :].shape)
    a = expected_counts(y, T.values, "D")
    b = expected_counts(poisoned, T.values, "D")
    for key in ("expected", "size"):
        np.testing.assert_array_equal(a[key][: cut + 1], b[key][: cut + 1])


def test_level_correction_shrinks_with_level_prior():
    # one fit on 56 flat days (mu = 10), then a sustained step to 14: the level ratio over the
    # last 28 periods is (28 * 14 + k * 10) / (28 * 10 + k * 10) with k = LEVEL_PRIOR (56)
    from predgov.warn.expected import LEVEL_PRIOR

    assert LEVEL_PRIOR == 56.0
    t = np.arange("2024-01-01", "2024-05-01", dtype="datetime64[D]")
    y = np.full((len(t), 1), 10.0)
    y[-29:] = 14.0
    kw = dict(refit=10_000, feedback=None, reweight=None, dispersion="fit",
              young_level_prior=None)  # the first-year prior (14) is tested separately
    out = expected_counts(y, t, "D", **kw)
    want = 10.0 * (28 * 14 + LEVEL_PRIOR * 10) / (28 * 10 + LEVEL_PRIOR * 10)
    assert out["expected"][-1, 0] == pytest.approx(want, rel=1e-3)
    weaker = expected_counts(y, t, "D", level_prior=28.0, **kw)
    assert weaker["expected"][-1, 0] == pytest.approx(10.0 * (28 * 14 + 280) / 560, rel=1e-3)


def test_first_year_level_follows_faster():
    """In a series' first year the level prior is YOUNG_LEVEL_PRIOR (14), not LEVEL_PRIOR."""
    from predgov.warn.expected import YOUNG_LEVEL_PRIOR

    t = np.arange("2024-01-01", "2024-05-01", dtype="datetime64[D]")
    y = np.full((len(t), 1), 10.0)
    y[-29:] = 14.0
    out = expected_counts(y, t, "D", refit=10_000, feedback=None, reweight=None,
                          dispersion="fit")  # fmt: skip
    k = YOUNG_LEVEL_PRIOR
    want = 10.0 * (28 * 14 + k * 10) / (28 * 10 + k * 10)
    assert out["expected"][-1, 0] == pytest.approx(want, rel=1e-3)


def test_calendar_model_extends_like_a_longer_run():
    """CalendarModel.extend, day after day across a weekly refit, an outbreak and unobserved
    days, gives expected_counts' values on the longer counts (issue 14: the monitor's
    incremental step)."""
    from predgov.warn.expected import CalendarModel

    rng = np.random.default_rng(4)
    t = np.arange("2023-01-01", "2023-07-20", dtype="datetime64[D]")
    y = rng.negative_binomial(3, 3 / (3 + 7.0), (len(t), 4)).astype(float)
    y[190:194, 0] += 30  # an outbreak the feedback flags
    y[192:195, 1] = np.nan
    groups = np.array([0, 0, 1, 1])
    n0 = 186
    m = CalendarModel(y[:n0], t[:n0], "D", next_time=t[n0], groups=groups)
    refits = 0
    for k in range(n0, len(t) - 1):
        ref = expected_counts(y[: k + 1], t[: k + 1], "D", groups=groups)
        row = m.next_row()
        for key in ("expected", "size", "persist"):
            np.testing.assert_allclose(row[key], ref[key][k], rtol=1e-9, equal_nan=True)
        refits += (k - 56) % 7 == 0
        assert m.extend(y[k], t[k + 1]) is False
    assert refits >= 1 and ref["flagged"][190:194, 0].any()
    full = expected_counts(y[:-1], t[:-1], "D", groups=groups, return_state=True)
    assert isinstance(full["state"], CalendarModel) and full["state"].T == len(t) - 1
    for key in ("expected", "size", "flagged", "persist"):
        np.testing.assert_allclose(m.outputs()[key], full[key], rtol=1e-9, equal_nan=True)


@pytest.mark.parametrize("order", [("Alpha", "Beta"), ("Beta", "Alpha")])
def test_holiday_block_tie_goes_to_the_first_name(order):
    """A run of days off with two names equally often is named by the first (it was the
    set's iteration order, which changes with the string hash seed: detect differed between
    runs, and the monitor's rebuilds with it)."""
    from predgov.warn.design import design

    t = pd.date_range("2024-01-01", periods=20, freq="D").values
    names = np.array([""] * 20, dtype=object)
    names[10], names[11] = order
    working = np.ones(20)
    working[10:12] = 0.0
    _, cols, _ = design(t, "D", regressors={"holiday_name": names, "working_day": working})
    assert f"block_{order[0]}" in cols and f"block_{order[1]}" not in cols


def test_feedback_flags_every_day_of_an_excess_after_its_first_crossing():
    """Regression (issue 14, fourth session): the feedback CUSUM was reset to 0 when it crossed
    its threshold, so the days of the same excess after the last crossing (here the 7th of a
    3-SD excess) stayed in the baseline. Held at the threshold, it flags them too, and
    nothing after the excess."""
    t = np.arange("2022-01-03", "2023-12-31", dtype="datetime64[D]")
    rng = np.random.default_rng(3)
    y = rng.poisson(100.0, (len(t), 1)).astype(float)
    y[500:507, 0] += 30  # second year: the hold applies
    flagged = expected_counts(y, t, "D", reweight=None)["flagged"][:, 0]
    assert flagged[500:507].all()
    assert not flagged[490:500].any() and not flagged[507:520].any()


def test_calibration_feedback_keeps_repeated_outbreaks_out_of_the_predictive_spread():
    """Regression (issue 14, fourth session): 2-day ~3-SD outbreaks every 30 days, which the
    feedback (threshold 8) mostly does not flag, inflated the self-calibrated predictive SD by
    ~18 % (1.18 with the code before). The calibration feedback (threshold 6) keeps them
    out of the self-calibration only."""
    t = np.arange("2022-01-03", "2023-12-31", dtype="datetime64[D]")
    rng = np.random.default_rng(3)
    _ = rng.poisson(100.0, (len(t), 1))  # the stream of the test above
    y = rng.poisson(20.0, (len(t), 2)).astype(float)
    y[:, 1] = y[:, 0]  # series 1 = series 0 plus the outbreaks
    for s in range(380, len(t) - 10, 30):
        y[s : s + 2, 1] += 13
    late = slice(600, None)

    def ratios(**kw):
        o = expected_counts(y, t, "D", **kw)
        sd = np.sqrt(o["expected"] + o["expected"] ** 2 / o["size"])
        return (np.nanmean(o["expected"][late, 1] / o["expected"][late, 0]),
                np.nanmean(sd[late, 1] / sd[late, 0]))  # fmt: skip

    mu_new, sd_new = ratios()
    mu_off, sd_off = ratios(calibration_feedback=None)
    assert sd_new < 1.06 and mu_new < 1.02, (mu_new, sd_new)
    assert sd_off > sd_new + 0.08 and mu_off > mu_new, (mu_off, sd_off)
    with pytest.raises(ValueError, match="calibration_feedback"):
        expected_counts(y[:100], t[:100], "D", calibration_feedback="on")
