"""Smoke test of benchmarks/forecast_scale.py (the full size runs only via the script)."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "forecast_scale.py"


def test_forecast_scale_smoke():
    spec = importlib.util.spec_from_file_location("forecast_scale", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = io.StringIO()
    res = module.run(100, 300, horizon=7, workers=0, block_series=30, out=out)
    assert out.getvalue().splitlines()[-1].startswith("RESULT one_process_seconds=")
    assert res["max_rel_diff"] < 1e-8
    assert res["quantiles_differ"] == 0.0
