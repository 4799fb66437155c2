"""The shared real request-level sets through the same door as any export (issue 11 follow-up).

Each gzip CSV in ``../shared/data`` is read by ``read_records`` with its preset and the study
period of its Hydra data config; every row read is accepted or rejected under a counted reason,
and the daily cube equals the count panel the data set ships (``daily_counts_*.csv.gz``, made
by its ``make_data.py``) once the panel's own inclusion rule is applied:

* Chicago: the panel covers 2011-01-01..2014-12-31 and wards 1-50. Its ``n_unique`` column
  leaves out the rows the city marked as duplicate reports (``- Dup``): the preset rejects
  those as ``duplicate_report``, so the cube equals ``n_unique`` and ``n_requests - n_unique``
  sums to the ``duplicate_report`` count. Rows dated 2000 / 2010 / 2015 (201) fall outside the
  period (``time_out_of_range``); ward 0 or blank (7 in the period) is ``missing_district``.
* Boston: the panel covers 2011-07-01..2018-01-13 (the extract day 2018-01-14 is partial) and
  council districts 1-9, every case counted (``n_requests``). Cases opened on 2018-01-14 (11)
  are ``time_out_of_range``; council district 0 or blank (37) is ``missing_district``.

Skipped when the shared folder is absent (``tests/conftest.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from predgov import paths
from predgov.data.cube import to_cube
from predgov.data.presets import get_preset
from predgov.data.records import read_records
from predgov.experiment.app import register_resolvers
from predgov.experiment.config import FileDataConfig, register_configs, validate


class RealSet(NamedTuple):
    config: str  # conf/data/<config>.yaml
    requests: str  # paths constant: the request-level file
    panel: str  # paths constant: the daily count panel
    preset: str
    period: tuple[str, str]
    panel_dims: tuple[str, str]  # panel columns holding district, category
    panel_count: str  # panel column the cube must equal
    rows_read: int
    rejected: dict[str, int]  # every non-zero reason


CHICAGO = RealSet(
    "chicago_sanitation", paths.CHICAGO_SANITATION, paths.CHICAGO_SANITATION_DAILY,
    "chicago311_sanitation", ("2011-01-01", "2014-12-31"), ("ward", "category"), "n_unique",
    74026, {"time_out_of_range": 201, "missing_district": 7, "duplicate_report": 3612},
)
BOSTON = RealSet(
    "boston_heat", paths.BOSTON_HEAT, paths.BOSTON_HEAT_DAILY,
    "boston311_heat", ("2011-07-01", "2018-01-13"), ("city_council_district", "type"),
    "n_requests", 7644, {"time_out_of_range": 11, "missing_district": 37},
)
SETS = pytest.mark.parametrize("real", [CHICAGO, BOSTON], ids=lambda r: r.config)


def shared_file(relative: str) -> Path:
    """A shared data file (``predgov.paths``); the test is skipped when it is absent."""
    try:
        return paths.shared_data_file(relative)
    except FileNotFoundError:
        pytest.skip(f"shared file {relative!r} not found (set $PREDGOV_SHARED_DATA)")


@pytest.fixture(scope="module")
def ingested() -> dict[str, tuple]:
    """Records and report of each set, read once per module."""
    return {}


def _read(real: RealSet, cache: dict[str, tuple]) -> tuple:
    if real.config not in cache:
        path = shared_file(real.requests)
        cache[real.config] = read_records(path, preset=real.preset, period=real.period)
    return cache[real.config]


def _panel(real: RealSet) -> pd.DataFrame:
    district, category = real.panel_dims
    panel = pd.read_csv(shared_file(real.panel), dtype={district: str, category: str})
    return panel.rename(columns={district: "district", category: "category"})


@SETS
def test_every_row_is_accepted_or_rejected_under_a_counted_reason(real, ingested) -> None:
    records, report = _read(real, ingested)
    by_reason = {k: v for k, v in report.rejected_by_reason.items() if v}
    msg = (f"{real.config}: read {report.rows_read}, accepted {report.rows_accepted}, "
           f"rejected by reason {by_reason}")
    assert report.rows_read == real.rows_read, msg
    assert report.rows_read == report.rows_accepted + report.rows_rejected, msg
    assert report.rows_rejected == sum(by_reason.values()), msg
    assert by_reason == real.rejected, msg
    assert len(records) == report.rows_accepted, msg
    stored = shared_file(real.requests).read_bytes()
    assert report.sha256 == hashlib.sha256(stored).hexdigest()  # of the gzip bytes as stored
    assert not report.unmapped_districts and not report.unmapped_categories, msg
    assert "district" not in report.generalised and "category" not in report.generalised, msg
    for personal in ("latitude", "longitude"):
        assert personal in report.dropped_columns and personal not in records.columns


@SETS
def test_daily_cube_equals_the_shipped_panel(real, ingested) -> None:
    records, report = _read(real, ingested)
    preset = get_preset(real.preset)
    cube = to_cube(records, freq="D", taxonomy=preset.taxonomy, districts=preset.districts,
                   period=real.period)
    days = pd.DatetimeIndex(cube["time"].values)
    assert (str(days[0].date()), str(days[-1].date())) == real.period  # the study period kept
    assert len(days) == (pd.Timestamp(real.period[1]) - pd.Timestamp(real.period[0])).days + 1

    panel = _panel(real)
    assert set(panel["date"]) == {str(d.date()) for d in days}  # both cover the same days
    assert set(panel["district"]) == {str(d) for d in cube["district"].values}
    assert set(panel["category"]) == {str(c) for c in cube["category"].values}
    dense = (panel.assign(date=pd.to_datetime(panel["date"]))
             .set_index(["date", "district", "category"])[real.panel_count].to_xarray()
             .rename(date="time")
             .reindex_like(cube["counts"]))
    assert not dense.isnull().any()  # the panel is dense over the cube's cells
    diff = cube["counts"] - dense
    assert int(abs(diff).sum()) == 0, (
        f"{real.config}: cube and panel differ in {int((diff != 0).sum())} cells "
        f"(cube {int(cube['counts'].sum())}, panel {int(dense.sum())})"
    )
    assert int(cube["counts"].sum()) == report.rows_accepted == int(panel[real.panel_count].sum())
    if real is CHICAGO:  # what the panel's n_requests adds back: the marked duplicate reports
        extra = int((panel["n_requests"] - panel["n_unique"]).sum())
        assert extra == report.rejected_by_reason["duplicate_report"]


def test_chicago_records_keep_the_hierarchy_and_close_dates(ingested) -> None:
    records, _ = _read(CHICAGO, ingested)
    assert str(records["received_at"].dt.tz) == "America/Chicago"
    assert sorted(records["district"].unique(), key=int) == [str(w) for w in range(1, 51)]
    assert set(records["parent"]) == {"sanitation"}
    assert records["category"].nunique() == 10 and "Unspecified" in set(records["category"])
    days = (records["closed_at"] - records["received_at"]).dt.days.dropna()
    assert days.median() == 3  # the README: median 3 days to close


def test_boston_records_are_local_times_with_districts_one_to_nine(ingested) -> None:
    records, report = _read(BOSTON, ingested)
    assert str(records["received_at"].dt.tz) == "America/New_York"
    assert sorted(records["district"].unique()) == [str(d) for d in range(1, 10)]
    assert records["category"].value_counts().to_dict() == {
        "Heat - Excessive Insufficient": 7510, "Heat/Fuel Assistance": 86}
    assert "closure_reason" in report.dropped_columns  # free text, never read
    first = records["received_at"].iloc[0]
    assert first == pd.Timestamp("2011-07-06 11:13:45", tz="America/New_York")


# --------------------------------------------------------------------------- Hydra


@SETS
def test_data_config_points_at_the_shared_file_with_its_period(real) -> None:
    path = shared_file(real.requests)
    register_configs()
    register_resolvers()
    with initialize_config_dir(config_dir=str(paths.conf_dir()), version_base="1.3"):
        cfg = validate(compose(config_name="config", overrides=[f"data={real.config}"]))
    assert isinstance(cfg.data, FileDataConfig)
    assert Path(cfg.data.path) == path
    assert (cfg.data.preset, cfg.data.period_start, cfg.data.period_end) == (
        real.preset, *real.period)


def test_predgov_data_stage_runs_on_chicago(tmp_path: Path) -> None:
    """`predgov data=chicago_sanitation` (data stage only) exits 0 with the same counts."""
    shared_file(CHICAGO.requests)
    exe = Path(sys.executable).with_name("predgov")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "predgov.experiment.app"]
    run = tmp_path / "run"
    proc = subprocess.run(
        [*cmd, "data=chicago_sanitation", "forecast.enabled=false", "warn.enabled=false",
         "sim.enabled=false", "viz.formats=[png]", f"hydra.run.dir={run}"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "MPLBACKEND": "Agg", "PREDGOV_QUIET": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((run / "status.json").read_text())["status"] == "complete"
    report = json.loads((run / "ingest_report.json").read_text())
    assert report["rows_read"] == CHICAGO.rows_read
    assert report["rows_accepted"] == 70206
    assert {k: v for k, v in report["rejected_by_reason"].items() if v} == CHICAGO.rejected
    assert len(pd.read_parquet(run / "records.parquet")) == 70206
