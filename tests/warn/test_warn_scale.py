"""Smoke test of benchmarks/warn_scale.py (the full size runs only via the script)."""

from __future__ import annotations

import io

import numpy as np
import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("warn_scale")


def test_city_cube_is_seeded_and_sized(bench):
    a, b = bench.city_cube(40, 60, seed=2), bench.city_cube(40, 60, seed=2)
    assert a.dims == ("time", "grid", "category") and a.shape == (60, 4, 10)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values, bench.city_cube(40, 60, seed=3).values)
    with pytest.raises(ValueError, match="multiple of 10"):
        bench.city_cube(15, 60)


def test_smoke_run_scores_the_day_like_detect(bench):
    out = io.StringIO()
    # seed 1: its newest day holds injected outbreaks the default alarms on (seed 0's only
    # alarm was a noise day just above the threshold, gone with the daily margin of 0.6)
    res = bench.run(200, 100, seed=1, block_series=60, repeat=1, out=out)
    text = out.getvalue().splitlines()
    assert text[-1].startswith("RESULT warn_day_seconds=")
    assert "detect_seconds=" in text[-1] and "peak_gb=" in text[-1]
    assert res["alarms_agree"] == 1.0 and res["max_diff"] < 1e-9
    assert res["n_alarm"] > 0
    assert res["warn_day_seconds"] < res["detect_seconds"]
    assert "advance_seconds=" in text[-1] and "advance_vs_fit_ratio=" in text[-1]
    assert res["advance_max_diff"] < 1e-9  # advancing equals fitting on the whole cube

