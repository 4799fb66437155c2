"""Trend detector: slow rises alarm, flat or weekly-cyclic series do not, no look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd

from predgov.warn.trend import trend

T = pd.date_range("2023-01-02", periods=364, freq="D").values


def test_slow_rise_alarms_flat_does_not():
    rng = np.random.default_rng(0)
    weekday = np.tile([1.2, 1.1, 1.0, 1.0, 0.9, 0.7, 0.7], 52)
    flat = rng.poisson(20 * weekday, (3, 364)).T.astype(float)
    mu = 20 * weekday * np.where(np.arange(364) < 250, 1.0, np.exp(0.012 * (np.arange(364) - 250)))
    rising = rng.poisson(mu)[:, None].astype(float)
    out_flat = trend(flat, T, "D")
    out_rise = trend(rising, T, "D")
    alarm_flat = out_flat["score"] > out_flat["threshold"]
    alarm_rise = out_rise["score"] > out_rise["threshold"]
    assert alarm_flat.mean() < 0.01
    assert alarm_rise[280:, 0].any()
    assert not alarm_rise[:250, 0].any()


def test_no_look_ahead_weekly_freq():
    t = pd.date_range("2020-01-06", periods=150, freq="W-MON").values
    rng = np.random.default_rng(1)
    y = rng.poisson(15.0, (150, 2)).astype(float)
    poisoned = y.copy()
    poisoned[100:] *= 10
    a, b = trend(y, t, "W-MON"), trend(poisoned, t, "W-MON")
    np.testing.assert_array_equal(a["score"][:100], b["score"][:100])
    np.testing.assert_array_equal(a["expected"][:100], b["expected"][:100])
