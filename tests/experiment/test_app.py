"""End-to-end: `predgov` writes a complete, reproducible, privacy-safe run directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from predgov.data.cube import read_cube
from predgov.experiment.provenance import VOLATILE_KEYS, sha256_file

# A one-year demo city keeps these runs quick; the default three years is what `make demo` runs.
SMALL = ["data.start=2022-01-01", "data.end=2022-12-31"]


def run_predgov(run_dir: Path, *overrides: str, env: dict[str, str] | None = None) -> Path:
    exe = Path(sys.executable).with_name("predgov")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "predgov.experiment.app"]
    proc = subprocess.run(
        [*cmd, f"hydra.run.dir={run_dir}", *overrides],
        capture_output=True,
        text=True,
        env={**os.environ, "MPLBACKEND": "Agg", **(env or {})},
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return run_dir


def _files(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> Path:
    return run_predgov(tmp_path_factory.mktemp("run") / "a", *SMALL)


def test_demo_run_directory_holds_every_output(demo_run):
    files = _files(demo_run)
    for name in ("cube.nc", "config.yaml", "provenance.json", "ingest_report.json",
                 "ingest_report.txt", "tables/totals_by_district_category.csv",
                 "figures/summary_heatmap.png", "figures/summary_heatmap.svg",
                 "figures/summary_heatmap.pdf", ".hydra/config.yaml",
                 "forecast/forecast.nc", "forecast/backtest_scores.csv",
                 "forecast/backtest_relative.csv", "warn/alarms.nc", "warn/alerts.csv",
                 "warn/figures/alert_board.png", "sim/sim.nc", "sim/season_by_category.csv",
                 "sim/figures/sim_overview.png"):
        assert name in files, f"{name} missing from {sorted(files)}"
    status = json.loads((demo_run / "status.json").read_text())
    assert status["status"] == "complete" and "COMPLETE" in files and "FAILED" not in files
    assert list(status["stages"]) == ["data", "forecast", "warn", "sim"]
    assert set(status["outputs"]) <= set(files) and "warnings.txt" in status["outputs"]
    cube = read_cube(demo_run / "cube.nc")
    assert cube["counts"].dims == ("time", "district", "category")
    assert cube.sizes["time"] == 365 and cube.sizes["district"] == 10
    prov = json.loads((demo_run / "provenance.json").read_text())
    assert prov["seed"] == 0
    assert prov["libraries"]["xarray"] == xr.__version__
    assert prov["predgov_version"]
    forecast = read_cube(demo_run / "forecast/forecast.nc")
    assert forecast.sizes["time"] == 90 and float(forecast["mean"].min()) >= 0
    assert str(forecast["time"].values[0])[:10] == "2023-01-01"
    assert list(demo_run.glob("forecast/figures/fan_*.png"))
    scores = pd.read_csv(demo_run / "forecast/backtest_scores.csv")
    assert {"default", "seasonal_naive"} <= set(scores["model"])
    alarms = read_cube(demo_run / "warn/alarms.nc")
    assert alarms["alarm"].dims == cube["counts"].dims
    sim = read_cube(demo_run / "sim/sim.nc")
    assert sim["counts"].dims == ("time", "district", "category")
    assert (sim["resolved"] <= sim["reported"].cumsum("time") + 0).all()
    table = pd.read_csv(demo_run / "tables/totals_by_district_category.csv", index_col=0)
    # Small cells are published as "<5", never as 1..4.
    values = table.astype(str).to_numpy().ravel()
    assert not any(v in {"1", "2", "3", "4"} for v in values)


def test_same_config_and_seed_give_identical_bytes(demo_run, tmp_path):
    again = run_predgov(tmp_path / "b", *SMALL)
    first, second = _files(demo_run), _files(again)
    # hydra.yaml records the run directory itself; the log and status.json carry timestamps.
    skip = {".hydra/hydra.yaml", "status.json"}
    names = [n for n in first if n not in skip and not n.endswith(".log")]
    assert names == [n for n in second if n not in skip and not n.endswith(".log")]
    for name in names:
        if name == "provenance.json":
            a, b = (json.loads(p.read_text()) for p in (first[name], second[name]))
            for key in VOLATILE_KEYS:
                a.pop(key), b.pop(key)
            assert a == b
        else:
            assert first[name].read_bytes() == second[name].read_bytes(), name


def test_another_seed_gives_another_city(demo_run, tmp_path):
    other = run_predgov(tmp_path / "c", *SMALL, "seed=1")
    a, b = read_cube(demo_run / "cube.nc"), read_cube(other / "cube.nc")
    assert not np.array_equal(a["counts"].values, b["counts"].values)


def test_bad_config_value_fails_with_the_key(tmp_path):
    exe = Path(sys.executable).with_name("predgov")
    proc = subprocess.run(
        [str(exe), f"hydra.run.dir={tmp_path}", "viz.min_count=0"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode != 0
    assert "viz.min_count" in proc.stderr
    assert "Traceback" not in proc.stderr


# ----------------------------------------------------------------------------------- privacy


def _personal_values(export: pd.DataFrame) -> set[str]:
    kinds = ("来电人", "联系电话", "地址", "身份证号", "诉求内容")
    cols = [c for c in export.columns if c in kinds]
    assert len(cols) >= 4, export.columns
    values = {str(v) for c in cols for v in export[c].dropna() if len(str(v)) >= 2}
    return values


# Two of the four combinations run in the default tier (each is a full pipeline run, ~14 s);
# the other two in the slow tier. test_privacy_planted.py covers csv and xlsx again.
@pytest.mark.parametrize(
    ("suffix", "pseudonymise"),
    [(".xlsx", True), (".csv", False),
     pytest.param(".xlsx", False, marks=pytest.mark.slow),
     pytest.param(".csv", True, marks=pytest.mark.slow)],
)
def test_no_personal_data_in_any_output(tmp_path, suffix, pseudonymise, output_texts):
    from predgov.data import synthetic_export

    export = synthetic_export(n=400, seed=3)
    source = tmp_path / f"export{suffix}"
    if suffix == ".xlsx":
        export.to_excel(source, index=False)
    else:
        export.to_csv(source, index=False, encoding="gb18030")
    personal = _personal_values(export)
    key = "test-key-不要泄露-0123456789"
    # The search can fail: the input itself holds the values.
    assert any(v in export.to_csv() for v in personal)
    run = run_predgov(
        tmp_path / "run",
        "data=file",
        f"data.path={source}",
        "data.preset=qd12345",
        f"data.pseudonymise={str(pseudonymise).lower()}",
        env={"PREDGOV_HMAC_KEY": key},
    )
    files = _files(run)
    assert "records.parquet" in files and "cube.nc" in files
    leaks = []
    for name, path in files.items():
        blob = "\n".join(output_texts(path))
        leaks += [(name, v) for v in personal if v in blob]
        if key in blob:
            leaks.append((name, "HMAC key"))
    assert not leaks, leaks[:10]
    prov = json.loads((run / "provenance.json").read_text())
    assert prov["inputs"]["records"]["sha256"] == sha256_file(source)
    records = pd.read_parquet(run / "records.parquet")
    assert ("phone_pid" in records.columns) == pseudonymise


def test_brooklyn_experiment_runs_end_to_end(tmp_path, brooklyn_noise_path):
    """`predgov +experiment=brooklyn_noise`: real data, 28-day forecast, alarm threshold
    calibrated on Brooklyn's own history, no simulation; the override is recorded."""
    run = run_predgov(tmp_path / "bk", "+experiment=brooklyn_noise")
    files = _files(run)
    assert "warn/threshold.json" in files and "forecast/forecast.nc" in files
    assert not any(name.startswith("sim/") for name in files)
    info = json.loads(files["warn/threshold.json"].read_text(encoding="utf-8"))
    assert info["fa_per_year"] == 1.0 and info["threshold"] > 0
    fc = xr.open_dataset(files["forecast/forecast.nc"])
    assert fc.sizes["time"] == 28
    fc.close()
    assert "+experiment=brooklyn_noise" in files[".hydra/overrides.yaml"].read_text()


def test_weekly_experiment_runs_every_stage(tmp_path):
    """`predgov +experiment=demo_weekly`: the weekly cube through forecast and the weekly
    warning default (Farrington) — which crashed on the heating series before."""
    run = run_predgov(tmp_path / "wk", "+experiment=demo_weekly")
    files = _files(run)
    alarms = xr.open_dataset(files["warn/alarms.nc"])
    assert alarms.attrs["detector"] == "farrington" and alarms.attrs["freq"] == "W-MON"
    expected = alarms["expected"].isel(time=slice(60, None))
    assert bool(np.isfinite(expected).all())
    alarms.close()
    fc = xr.open_dataset(files["forecast/forecast.nc"])
    assert fc.sizes["time"] == 13
    fc.close()
    # 2022-01-01 is a Saturday and 2024-12-31 a Tuesday: both edge weeks are partly covered,
    # left unobserved in the cube and counted in the ingest report.
    cube = xr.open_dataset(files["cube.nc"])
    assert cube.attrs["partial_periods"] == "2021-12-27, 2024-12-30"
    assert bool(cube["counts"].sel(time=["2021-12-27", "2024-12-30"]).isnull().all())
    in_partial = int(cube.attrs["requests_in_partial_periods"])
    cube.close()
    report = json.loads(files["ingest_report.json"].read_text())
    assert report["partial_policy"] == "mask"
    assert report["requests_in_partial_periods"] == in_partial > 0
    assert "partly covered edge periods" in files["ingest_report.txt"].read_text()


def test_monthly_cube_runs_with_frequency_defaults(tmp_path):
    """`data.cube.freq=MS` alone works: forecast and backtest horizons follow the frequency
    (3 months), the monthly warning default runs, and the alert timeline of an alert grouped
    under a parent class shows one of its categories. Asking for more backtest origins than
    the cube holds is a config error naming the key, not a traceback."""
    months = ["data.cube.freq=MS", "data.start=2022-01-01", "data.end=2023-12-31",
              "sim.enabled=false"]  # fmt: skip
    run = run_predgov(tmp_path / "ms", *months)
    files = _files(run)
    fc = xr.open_dataset(files["forecast/forecast.nc"])
    assert fc.sizes["time"] == 3 and str(fc["time"].values[0])[:10] == "2024-01-01"
    fc.close()
    scores = pd.read_csv(files["forecast/backtest_scores.csv"])
    assert set(scores.loc[scores["by"] == "lead", "key"].astype(int)) == {1, 2, 3}
    assert "warn/alarms.nc" in files
    exe = Path(sys.executable).with_name("predgov")
    proc = subprocess.run(
        [str(exe), f"hydra.run.dir={tmp_path / 'too_many'}", *months,
         "forecast.backtest_origins=50"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "forecast.backtest_origins" in proc.stderr and "only 7 origins fit" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_grouped_alert_timeline_uses_a_child_category():
    from predgov.experiment.stages.warn import timeline_category

    cube = xr.Dataset(coords={"category": ["road_damage", "parking", "heating"]})
    row = pd.Series({"category": "transport", "children": "road_damage, parking"})
    assert timeline_category(row, cube) == "road_damage"
    assert timeline_category(pd.Series({"category": "heating", "children": ""}), cube) == "heating"
    with pytest.raises(ValueError, match="not in the cube"):
        timeline_category(pd.Series({"category": "x", "children": "y"}), cube)
