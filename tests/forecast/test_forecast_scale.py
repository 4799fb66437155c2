"""Smoke test of benchmarks/forecast_scale.py (the full size runs only via the script)."""

from __future__ import annotations

import io


def test_forecast_scale_smoke(load_benchmark):
    module = load_benchmark("forecast_scale")
    out = io.StringIO()
    res = module.run(100, 300, horizon=7, workers=0, block_series=30, out=out)
    assert out.getvalue().splitlines()[-1].startswith("RESULT one_process_seconds=")
    assert res["max_rel_diff"] < 1e-8
    assert res["quantiles_differ"] == 0.0
