"""Fuzz ``read_records`` with messy generated exports (CSV, XLSX, Parquet) (issue 11).

Each example writes one export — random columns (personal ones included), stray quotes, odd
delimiters, mixed encodings, blank rows, odd times (offsets, Chinese and full-width forms,
huge years), numeric ids, empty files — and asserts:

* nothing but the package's own errors is raised (``IngestError``),
* ``rows_read == rows_accepted + rows_rejected`` and the rejections add up,
* the source file's bytes are unchanged (SHA-256 before and after),
* no planted personal value reaches the records or the report.

The default run has 200 examples (a few seconds); the ``slow`` variant 2,000. Both are
deterministic (``derandomize=True``).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from predgov.data.records import IngestError, read_records

PHONE = "13912345678"
ID_NUMBER = "370202198001011234"
EMAIL = "li.si@example.com"
NAME = "张三丰"
PERSONAL_VALUES = (PHONE, ID_NUMBER, EMAIL, NAME)

TIMES = [
    "2024-11-20 08:30:00", "2024-11-20T08:30:00+08:00", "2024-11-21 09:00", "2024/11/22 10:00",
    "2024-11-20 08:30:00 UTC+8", "2024-11-20 08:30 GMT+8", "2024-11-20 08:30 CST",
    "2025年1月3日 8时", "２０２５－０１－０３", "24-11-01 18:38", "01/11/2024", "13/11/2024",
    "2024-11-20T00:30:00Z", "45231.5", "9999-12-31 00:00:00", "0001-01-01", "99999-01-01",
    "1999-01-01 10:00", "2262-04-12", "", "坏时间", "13912345678", "2024-02-30 10:00",
    "2024-03-10 02:30:00", "1700000000",
]
DISTRICTS = ["市南区", "（市南区）", "黄岛区", "青岛市", "高新区", "", "市南区 13912345678",
             "张三丰", "Brooklyn", "市北 li.si@example.com"]
CATEGORIES = ["供暖", "其他", "咨询", "", "供暖 张三丰 13912345678", "噪声扰民", "外星人投诉"]
TEXT = ["x", "a,b", 'say "hi"', "line\nbreak", "", "无", "NULL", "—", "１２３", "=1+1"]

COLUMNS = {
    "工单编号": "id", "受理时间": "time", "区(市)": "district", "诉求分类 二级": "category",
    "诉求分类 一级": "category", "街道/网格": "text", "来源渠道": "text", "承办单位": "text",
    "满意度": "satisfaction", "办结时间": "time", "联系电话": "phone", "来电人": "name",
    "身份证号": "id_number", "诉求内容": "free", "Extra": "text",
}


@st.composite
def cells(draw: Any, kind: str) -> Any:
    if kind == "id":
        return draw(st.one_of(
            st.integers(0, 10**18).map(lambda i: 370200202411200000 + i % 1000),
            st.sampled_from(["A1", "A1", "", "Q-2", "3.70200E+17", "1001.0", PHONE + " A9"]),
            st.integers(0, 50),
        ))
    if kind == "time":
        return draw(st.one_of(st.sampled_from(TIMES), st.datetimes(
            min_value=dt.datetime(1980, 1, 1), max_value=dt.datetime(2030, 1, 1))))
    if kind == "district":
        return draw(st.sampled_from(DISTRICTS))
    if kind == "category":
        return draw(st.sampled_from(CATEGORIES))
    if kind == "satisfaction":
        return draw(st.sampled_from(["满意", "不满意", "5", "", "很好", PHONE]))
    if kind == "phone":
        return PHONE
    if kind == "name":
        return NAME
    if kind == "id_number":
        return ID_NUMBER
    if kind == "free":
        return f"{NAME} {PHONE} {EMAIL}"
    return draw(st.one_of(st.sampled_from(TEXT), st.text(max_size=6)))


@st.composite
def exports(draw: Any) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(list(COLUMNS)), min_size=1, max_size=9, unique=True))
    if draw(st.booleans()):  # usually the required columns are there
        names = list(dict.fromkeys(["受理时间", "区(市)", "诉求分类 二级", *names]))
    n = draw(st.integers(0, 25))
    rows = [[draw(cells(COLUMNS[c])) for c in names] for _ in range(n)]
    return {
        "names": names,
        "rows": rows,
        "format": draw(st.sampled_from(["csv", "csv", "xlsx", "parquet"])),
        "delimiter": draw(st.sampled_from([",", ";", "\t", "|"])),
        "encoding": draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030"])),
        "stray_quotes": draw(st.lists(st.integers(0, 40), max_size=3)),
        "blank_lines": draw(st.lists(st.integers(0, 40), max_size=3)),
        "ragged": draw(st.lists(st.integers(0, 40), max_size=2)),
        "title_rows": draw(st.integers(0, 2)),
    }


def _as_text(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _write_csv(path: Path, ex: dict[str, Any]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=ex["delimiter"], lineterminator="\n")
    writer.writerow(ex["names"])
    for row in ex["rows"]:
        writer.writerow([_as_text(v) for v in row])
    lines = buf.getvalue().split("\n")
    for k in ex["stray_quotes"]:  # an unbalanced quote at the start of some field
        i = 1 + k % max(len(lines) - 1, 1)
        if i < len(lines):
            parts = lines[i].split(ex["delimiter"])
            parts[k % len(parts)] = '"' + parts[k % len(parts)]
            lines[i] = ex["delimiter"].join(parts)
    for k in ex["ragged"]:  # a field too many
        i = 1 + k % max(len(lines) - 1, 1)
        if i < len(lines) and lines[i]:
            lines[i] += ex["delimiter"] + "extra"
    for k in ex["blank_lines"]:
        lines.insert(min(1 + k, len(lines)), "")
    text = "\n".join(lines)
    try:
        data = text.encode(ex["encoding"])
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    path.write_bytes(data)


def _write_xlsx(path: Path, ex: dict[str, Any]) -> None:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def cell(v: Any) -> Any:
        if not isinstance(v, str):
            return v
        v = ILLEGAL_CHARACTERS_RE.sub("", v)  # a workbook cannot hold control characters
        return "'" + v if v.startswith("=") else v

    wb = Workbook()
    ws = wb.active
    for t in range(ex["title_rows"]):
        ws.append([f"导出 {t}"])
    ws.append(ex["names"])
    for row in ex["rows"]:
        ws.append([cell(v) for v in row])
    wb.save(path)


def _write_parquet(path: Path, ex: dict[str, Any]) -> None:
    frame = pd.DataFrame(ex["rows"], columns=ex["names"], dtype=object)
    for col in frame.columns:
        values = frame[col].tolist()
        if values and all(isinstance(v, int) for v in values):
            frame[col] = pd.array(values, dtype="Int64")
        elif values and all(isinstance(v, dt.datetime) for v in values):
            frame[col] = pd.to_datetime(values).astype("datetime64[us]")
        else:
            frame[col] = [_as_text(v) for v in values]
    frame.to_parquet(path, index=False)


WRITERS = {"csv": _write_csv, "xlsx": _write_xlsx, "parquet": _write_parquet}


def _check(ex: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"export.{ex['format']}"
        WRITERS[ex["format"]](path, ex)
        before = hashlib.sha256(path.read_bytes()).hexdigest()
        try:
            records, report = read_records(path, preset="qd12345")
        except IngestError as err:
            message = str(err)
            assert not [v for v in PERSONAL_VALUES if v in message], message
            return
        finally:
            assert hashlib.sha256(path.read_bytes()).hexdigest() == before, "source modified"
        assert report.rows_read == report.rows_accepted + report.rows_rejected
        assert report.rows_rejected == sum(report.rejected_by_reason.values())
        assert report.rows_accepted == len(records)
        assert report.sha256 == before
        blob = "\n".join([
            report.to_json(), str(report),
            *("\n".join(map(str, records[c].astype(object).tolist())) for c in records),
        ])
        assert [v for v in PERSONAL_VALUES if v in blob] == []


_SETTINGS = {"deadline": None, "derandomize": True, "database": None,
             "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}


@settings(max_examples=200, **_SETTINGS)
@given(ex=exports())
def test_fuzz_read_records(ex: dict[str, Any]) -> None:
    _check(ex)


@pytest.mark.slow
@settings(max_examples=2000, **_SETTINGS)
@given(ex=exports())
def test_fuzz_read_records_slow(ex: dict[str, Any]) -> None:
    _check(ex)


def test_empty_and_blank_files_are_ingest_errors(tmp_path: Path) -> None:
    for name, data in [("e.csv", b""), ("b.csv", b"\n\n  \n"), ("e.xlsx", b""),
                       ("e.parquet", b"")]:
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(IngestError, match="empty"):
            read_records(path, preset="qd12345")
