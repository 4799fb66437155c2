"""Evaluation harness: metrics on a hand-built example, injection, calibration, benchmark smoke."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predgov.warn.evaluate import (
    calibrate,
    evaluate,
    inject_outbreaks,
    nb_baseline,
    run,
    score_alarms,
    sweep,
)

ROOT = Path(__file__).resolve().parents[2]


def test_metrics_hand_built_example():
    # Two series of 730 days: 2 x 730 / 365.25 = 3.997 series-years.
    T, S = 730, 2
    alarm = np.zeros((T, S), bool)
    table = pd.DataFrame(
        {"series": [0, 0, 1, 1], "start": [100, 300, 200, 500], "end": [104, 301, 209, 502]}
    )
    # outbreak 0 (series 0, 100-104): alarms on 102, 103 -> detected, delay 2 (within 3 days)
    alarm[[102, 103], 0] = True
    # outbreak 1 (series 0, 300-301): no alarm during it; alarm on 303 is in the tail (end + 2)
    alarm[303, 0] = True
    # outbreak 2 (series 1, 200-209): first alarm on 205 -> detected late (delay 5), not within 3
    alarm[205, 1] = True
    # outbreak 3 (series 1, 500-502): alarm on 500 -> delay 0
    alarm[500, 1] = True
    # false alarms: series 0 rows 50, 51 (one run), series 1 rows 600 and 650 (two runs)
    alarm[[50, 51], 0] = True
    alarm[[600, 650], 1] = True
    m = score_alarms(alarm, table, within=3, tail=3)
    years = 2 * 730 / 365.25
    assert m["pod"] == pytest.approx(2 / 4)  # outbreaks 0 and 3
    assert m["pod_any"] == pytest.approx(3 / 4)
    assert m["delay_median"] == 2.0  # delays 2, 5, 0
    assert m["delay_p90"] == pytest.approx(np.percentile([2, 5, 0], 90))
    assert m["fa"] == pytest.approx(4 / years)
    assert m["fa_runs"] == pytest.approx(3 / years)
    assert m["ppv"] == pytest.approx(5 / 9)  # 102, 103, 303, 205, 500 of 9 alarms
    assert m["n_outbreaks"] == 4
    # evaluation range: only rows 0..299 -> outbreaks 0 and 2 count; false alarms 50, 51
    r = score_alarms(alarm, table, start=0, end=300)
    assert r["n_outbreaks"] == 2
    assert r["pod"] == 0.5
    assert r["fa"] == pytest.approx(2 / (2 * 300 / 365.25))


def test_injection_is_seeded_and_sized():
    base = nb_baseline(6, periods=400, seed=0)
    a, ta = inject_outbreaks(base, seed=7, k=3.0, start="2022-03-01")
    b, tb = inject_outbreaks(base, seed=7, k=3.0, start="2022-03-01")
    pd.testing.assert_frame_equal(ta, tb)
    assert (a["counts"] == b["counts"]).all()
    extra = (a["counts"] - base["counts"]).values
    assert (extra >= 0).all()
    assert extra.sum() == ta["size"].sum()
    # per-period sizing: mean extra per outbreak period is about k x sd
    per_day = ta["size"] / (ta["end"] - ta["start"] + 1)
    assert per_day.sum() / (3 * ta["sd"]).sum() == pytest.approx(1.0, rel=0.2)
    t, tt = inject_outbreaks(base, seed=7, k=[5.0, 10.0], sizing="total", start="2022-03-01")
    assert set(tt["k"]) <= {5.0, 10.0}
    assert (t["counts"] - base["counts"]).values.sum() == tt["size"].sum()
    with pytest.raises(ValueError, match="sizing"):
        inject_outbreaks(base, sizing="weird")


def test_calibration_meets_budget_and_sweep_is_monotone():
    train = nb_baseline(20, periods=2 * 365, seed=1)
    for method in ("ears_c2", "nb_cusum"):
        scored = run(train, method, start="2022-03-01")
        h = calibrate(scored, 1.0)
        assert scored.false_alarm_rate(h) <= 1.0
        assert scored.false_alarm_rate(h * 0.8) > scored.false_alarm_rate(h * 1.2)
    test, table = inject_outbreaks(nb_baseline(20, periods=2 * 365, seed=2), seed=3, k=4.0,
                                   start="2022-03-01")  # fmt: skip
    curve = sweep(run(test, "exceedance", start="2022-03-01"), table)
    assert curve["fa"].is_monotonic_decreasing or np.all(np.diff(curve["fa"]) <= 1e-9)
    res = evaluate(["ears_c2", "nb_cusum"], train, test, table, start="2022-03-01")
    assert set(res.index) == {"ears_c2", "nb_cusum"}
    assert (res["fa_train"] <= 1.0).all()
    assert res.loc["nb_cusum", "pod"] > res.loc["ears_c2", "pod"]
    again = evaluate(["ears_c2", "nb_cusum"], train, test, table, start="2022-03-01")
    pd.testing.assert_frame_equal(res, again)
    assert not math.isnan(res.loc["nb_cusum", "delay_median"])


def test_benchmark_main_smoke(capsys, load_benchmark):
    module = load_benchmark("warn_quality")
    out = module.main(["--methods", "ears_c2,nb_cusum,exceedance", "--no-brooklyn"], small=True)
    printed = capsys.readouterr().out
    assert printed.strip().splitlines()[-1].startswith("RESULT pod=")
    assert "c2_pod=" in printed
    assert list(out["demo"].index) == [
        "ears_c2", "nb_cusum", "exceedance", "default_own", "nb_cusum_level"
    ]  # default_own: the default at its own per-cell thresholds (no calibration)
    own = out["demo"].loc["default_own"]
    assert np.isnan(own["fa_train"]) and own["n_outbreaks"] > 0
    # Weekly section: the same detectors on Monday weeks, and the weekly default's false
    # alarms by calendar month of the scored year (2023 in the small city).
    assert "weekly (W-MON)" in printed
    weekly = out["weekly"]
    assert list(weekly.index) == ["ears_c2", "nb_cusum", "exceedance"]
    assert (weekly["fa_train"] <= 1.0).all() and weekly["n_outbreaks"].gt(0).all()
    assert list(out["weekly_fa_by_month"].index) == list(range(1, 13))


def test_calibrate_threshold_on_own_history():
    """The threshold from a place's own history keeps alarms within the budget there, and is
    the smallest such: a little lower breaks it (known answer from counting alarms)."""
    from predgov.warn import calibrate_threshold, detect

    hist = nb_baseline(12, periods=2 * 365, seed=4)
    years = 12 * (hist.sizes["time"] - 59) / 365.25  # series-years scored from 2022-03-01
    for method, budget in (("ears_c2", 1.0), ("nb_cusum", 2.0)):
        h = calibrate_threshold(hist, method, budget, start="2022-03-01")
        alarms = detect(hist, method, start="2022-03-01", threshold=h)["alarm"]
        assert int(alarms.sum()) <= budget * years
        lower = detect(hist, method, start="2022-03-01", threshold=h * 0.9)["alarm"]
        assert int(lower.sum()) > budget * years


def test_calibrate_threshold_refuses_bad_input():
    from predgov.warn import calibrate_threshold

    hist = nb_baseline(2, periods=200, seed=5)
    with pytest.raises(ValueError, match="fa_per_year"):
        calibrate_threshold(hist, "ears_c2", -1.0)
    with pytest.raises(ValueError, match="fa_per_year"):
        calibrate_threshold(hist, "ears_c2", float("nan"))
    with pytest.warns(UserWarning, match="not one alarm is allowed"):
        calibrate_threshold(hist, "ears_c2", 1.0, end=str(hist["time"].values[60])[:10])
    masked = hist.where(hist["time"] > hist["time"][100])
    with pytest.raises(ValueError, match="no observed periods"):
        calibrate_threshold(masked, "ears_c2", 1.0, end=str(hist["time"].values[50])[:10])
