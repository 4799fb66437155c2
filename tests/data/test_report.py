"""IngestReport: accounting check, text form, deterministic JSON, round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from predgov.data.records import read_records
from predgov.data.report import REJECTION_REASONS, WARNING_KINDS, IngestReport
from predgov.data.synthetic_export import synthetic_export


@pytest.fixture(scope="module")
def report() -> IngestReport:
    return read_records(synthetic_export(n=400, seed=5), preset="qd12345").report


def test_defaults_list_every_reason_and_warning() -> None:
    r = IngestReport(source="x")
    assert list(r.rejected_by_reason) == list(REJECTION_REASONS)
    assert set(r.rejected_by_reason.values()) == {0}
    assert list(r.warnings) == list(WARNING_KINDS)


def test_check_catches_broken_accounting() -> None:
    r = IngestReport(source="x", rows_read=5, rows_accepted=4, rows_rejected=1)
    with pytest.raises(AssertionError):
        r.check()
    r.rejected_by_reason["duplicate_id"] = 1
    r.check()


def test_text_form(report: IngestReport) -> None:
    text = str(report)
    assert text.startswith("Ingest report: DataFrame")
    for needle in ("preset            qd12345", "timezone          Asia/Shanghai",
                   "rows read", "unparseable_time", "duplicate_id", "高新区", "诉求内容",
                   "received_at                <- 受理时间"):
        assert needle in text, needle
    assert f"{report.rows_read:>9,}" in text


def test_json_is_deterministic_and_utf8(report: IngestReport, tmp_path: Path) -> None:
    a = report.save(tmp_path / "a.json").read_bytes()
    again = read_records(synthetic_export(n=400, seed=5), preset="qd12345").report
    b = again.save(tmp_path / "b.json").read_bytes()
    assert a == b
    text = a.decode("utf-8")
    assert "高新区" in text  # not \\u-escaped
    data = json.loads(text)
    assert list(data) == sorted(data)
    assert data["rows_read"] == data["rows_accepted"] + sum(data["rejected_by_reason"].values())
    assert IngestReport.load(tmp_path / "a.json") == report


def test_save_text_forms(report: IngestReport, tmp_path: Path) -> None:
    txt = report.save(tmp_path / "sub" / "ingest.txt").read_text(encoding="utf-8")
    assert txt == str(report) + "\n"
    md = report.save(tmp_path / "ingest.md").read_text(encoding="utf-8")
    assert md.startswith("```\nIngest report") and md.endswith("```\n")


def test_to_dict_round_trip(report: IngestReport) -> None:
    d = report.to_dict()
    assert IngestReport.from_dict({**d, "extra_key": 1}) == report
    d["rejected_by_reason"]["missing_time"] = 999  # a copy: the report is untouched
    assert report.rejected_by_reason["missing_time"] != 999


def test_unmapped_are_sorted_by_name(report: IngestReport) -> None:
    assert list(report.unmapped_categories) == sorted(report.unmapped_categories)
    assert sum(report.unmapped_districts.values()) > 0
