"""Warn's layering: no hidden import cycles, no dependency on viz, no module-level cache."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import predgov.warn as warn_pkg
from predgov.warn import BaselineCache, detect

WARN_DIR = Path(warn_pkg.__file__).parent


def test_no_function_local_imports_in_warn():
    """Imports inside functions hid the cusum -> exceedance -> expected -> cusum cycle and the
    warn -> viz dependency; every warn module imports at its top now."""
    local = []
    for path in sorted(WARN_DIR.glob("*.py")):
        if path.name == "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Import | ast.ImportFrom):
                        local.append(f"{path.name}:{inner.lineno}")
    assert local == []


def test_publishing_alerts_does_not_load_viz():
    code = (
        "import sys, pandas as pd\n"
        "from predgov.warn.alerts import publishable\n"
        "t = pd.DataFrame({'observed': [3, 40], 'expected': [1.0, 12.0], 'ratio': [3.0, 3.33]})\n"
        "publishable(t, numbers=True)\n"
        "print(sorted(m for m in sys.modules if m.startswith('predgov.viz')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_suppression_keeps_its_old_import_path():
    from predgov.data import suppress as data_suppress
    from predgov.viz import suppress as viz_suppress

    assert viz_suppress.publishable_counts is data_suppress.publishable_counts
    assert viz_suppress.MIN_COUNT == data_suppress.MIN_COUNT == 5


def test_calendar_baseline_is_cached_only_by_the_callers_cache(monkeypatch):
    """No hidden module state: without a cache each detector fits the calendar baseline itself;
    with one cache (owned by the caller) the second detector reuses the first's fit."""
    import predgov.warn.baseline as baseline

    calls = []
    real = baseline.expected_counts

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(baseline, "expected_counts", counting)
    t = pd.date_range("2023-01-01", periods=200, freq="D")
    y = np.random.default_rng(0).poisson(6.0, (200, 2))
    da = xr.DataArray(y, coords={"time": t, "s": ["a", "b"]}, dims=("time", "s"))
    da.attrs["freq"] = "D"
    for method in ("nb_cusum", "exceedance"):
        detect(da, method, baseline="calendar", start=t[150])
    assert len(calls) == 2
    cache = BaselineCache()
    a = detect(da, "nb_cusum", baseline="calendar", start=t[150], cache=cache)
    b = detect(da, "exceedance", baseline="calendar", start=t[150], cache=cache)
    assert len(calls) == 3
    np.testing.assert_array_equal(a["expected"].values, b["expected"].values)


def test_one_frequency_rule_for_warn():
    """Monthly labels 13 months apart are not a monthly axis (the old warn inferer, month
    difference modulo 12, took them for one)."""
    t = pd.DatetimeIndex(["2020-01-01", "2021-02-01", "2022-03-01", "2023-04-01"])
    da = xr.DataArray(np.ones((4, 1)), coords={"time": t}, dims=("time", "s"))
    with pytest.raises(ValueError, match="cannot tell the frequency"):
        detect(da, "ears_c1")


def test_expected_counts_split_keeps_one_copy_of_each_name():
    """``warn.expected`` was split into design / batched fit / online stages: its old names
    still import from it, and they are the very objects of the new modules (no copies)."""
    from predgov.warn import batchfit, calendar_model, design, expected, online

    assert expected.CalendarModel is calendar_model.CalendarModel
    assert expected.REFIT is calendar_model.REFIT
    assert expected.CALIBRATION_FEEDBACK is calendar_model.CALIBRATION_FEEDBACK
    assert expected.design is design.design
    assert expected.PRIOR_SCALE is design.PRIOR_SCALE
    assert expected.MIN_HISTORY is design.MIN_HISTORY
    assert expected.anscombe is batchfit.anscombe
    assert expected.LEVEL_PRIOR == online.LEVEL_PRIOR
    assert expected.YOUNG_LEVEL_PRIOR == online.YOUNG_LEVEL_PRIOR
    for name in expected.__all__:
        assert hasattr(expected, name), name
    # the batched fit uses the one IRLS solver and NB toolkit of predgov.stats
    source = Path(batchfit.__file__).read_text(encoding="utf-8")
    assert "from predgov.stats.glm import" in source and "def irls" not in source
