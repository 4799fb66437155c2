"""Smoke test of benchmarks/sim_speed.py (its functions, and ``main --quick`` end to end)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "sim_speed.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("sim_speed", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_town_throughput_of_both_models(bench):
    from predgov.sim import CityModel, ReferenceCityModel

    kw = {"scale": 0.0004, "start": "2025-11-15", "end": "2025-11-18"}
    fast = bench.town_throughput(CityModel, repeat=2, **kw)
    ref = bench.town_throughput(ReferenceCityModel, **kw)
    assert fast["households"] == ref["households"] > 0
    assert fast["days"] == ref["days"] == 4
    assert fast["hh_days_per_s"] > 0 and ref["hh_days_per_s"] > 0


def test_city_run_reports_memory_and_heating(bench):
    r = bench.city_run(0.0005, "2025-11-15", "2025-11-20")
    assert r["peak_gb"] > 0 and r["seconds"] > 0 and r["heating_calls"] >= 0
    assert 0 < r["satisfaction"] <= 1


def test_main_quick_ends_with_one_result_line(bench, capsys):
    out = bench.main(["--quick"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("RESULT speedup=")
    assert sum(line.startswith("RESULT") for line in lines) == 1
    keys = [kv.split("=")[0] for kv in lines[-1].split()[1:]]
    assert keys == ["speedup", "qingdao_seconds", "peak_gb", "heating_calls"]
    assert out["speedup"] > 0
