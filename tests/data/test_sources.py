"""Reading exports without silent loss: stray quotes, wrong field counts, exact ids, two-row
Excel headers (issue 11)."""

from __future__ import annotations

import gzip
import hashlib
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from predgov.data.records import IngestError, read_records

HEADER = "工单编号,受理时间,区(市),诉求分类二级"


def _csv(tmp_path: Path, lines: list[str], name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _ten_rows() -> list[str]:
    return [f"A{i},2024-11-{10 + i} 08:00,市南区,供暖" for i in range(10)]


# --------------------------------------------------------------------------- case 1: CSV


def test_stray_quote_rejects_the_line_and_keeps_the_rows_it_swallowed(tmp_path: Path) -> None:
    rows = _ten_rows()
    rows[2] = 'A2,2024-11-12 08:00,"市南区,供暖'  # opens a quote that is never closed there
    rows[6] = 'A6,2024-11-16 08:00,市南区,"供暖"'  # the next quote: pandas merged A2..A6
    records, report = read_records(_csv(tmp_path, [HEADER, *rows]), preset="qd12345")
    assert report.rows_read == 10
    assert report.rejected_by_reason["malformed_row"] == 1
    assert report.rows_accepted == 9 == len(records)
    assert records["record_id"].tolist() == [f"A{i}" for i in range(10) if i != 2]
    assert set(records["district"]) == {"市南"}


def test_stray_quote_to_the_end_of_the_file(tmp_path: Path) -> None:
    rows = _ten_rows()
    rows[7] = 'A7,"2024-11-17 08:00,市南区,供暖'
    records, report = read_records(_csv(tmp_path, [HEADER, *rows]), preset="qd12345")
    assert (report.rows_read, report.rows_accepted) == (10, 9)
    assert report.rejected_by_reason["malformed_row"] == 1
    assert "A7" not in set(records["record_id"])


def test_quoted_multiline_cell_is_one_good_row(tmp_path: Path) -> None:
    lines = [
        HEADER + ",诉求内容",
        'A1,2024-11-10 08:00,市南区,供暖,"暖气不热,\n已经三天了,请尽快处理"',
        'A2,2024-11-11 08:00,市北区,供暖,"a ""quoted"" word"',
        "A3,2024-11-12 08:00,市北区,供暖,plain",
    ]
    records, report = read_records(_csv(tmp_path, lines), preset="qd12345")
    assert (report.rows_read, report.rows_accepted) == (3, 3) == (len(records), 3)
    assert report.rejected_by_reason["malformed_row"] == 0
    assert report.dropped_columns == ["诉求内容"]


def test_rows_with_too_many_or_too_few_fields_are_counted(tmp_path: Path) -> None:
    lines = [
        HEADER,
        "A1,2024-11-10 08:00,市南区,供暖,extra",  # one field too many
        "A2,2024-11-11 08:00,市北区",  # one field short
        "A3,2024-11-12 08:00,市北区,供暖,",  # a blank trailing field is harmless
        "",  # blank lines are not rows
        "A4,2024-11-13 08:00,市北区,供暖",
    ]
    records, report = read_records(_csv(tmp_path, lines), preset="qd12345")
    assert report.rows_read == 4
    assert report.rejected_by_reason["malformed_row"] == 2
    assert records["record_id"].tolist() == ["A3", "A4"]


def test_all_rows_malformed_is_an_ingest_error(tmp_path: Path) -> None:
    path = _csv(tmp_path, [HEADER, "A1,2024-11-10 08:00,市南区,供暖,x,y", "A2,x"], "bad.csv")
    with pytest.raises(IngestError, match=r"bad\.csv.*none of the 2 data rows"):
        read_records(path, preset="qd12345")


def test_header_with_an_unbalanced_quote_is_an_ingest_error(tmp_path: Path) -> None:
    path = _csv(tmp_path, ['工单编号,"受理时间,区(市),诉求分类二级', *_ten_rows()], "h.csv")
    with pytest.raises(IngestError, match=r"h\.csv.*header row"):
        read_records(path, preset="qd12345")


# --------------------------------------------------------------------------- case 2: ids

IDS = [370200202411200001 + i for i in range(15)]


def _id_frame(ids: list) -> pd.DataFrame:
    return pd.DataFrame({
        "工单编号": ids,
        "受理时间": [f"2024-11-{10 + i} 08:00" for i in range(15)],
        "区(市)": ["市南区"] * 15,
        "诉求分类二级": ["供暖"] * 15,
    })


def test_excel_ids_stored_as_text_keep_every_digit(tmp_path: Path) -> None:
    path = tmp_path / "ids.xlsx"
    _id_frame([str(i) for i in IDS]).to_excel(path, index=False)
    records, report = read_records(path, preset="qd12345")
    assert report.rows_accepted == 15 and report.rejected_by_reason["duplicate_id"] == 0
    assert records["record_id"].tolist() == [str(i) for i in IDS]


def test_excel_numeric_18_digit_ids_are_kept_and_flagged_not_duplicates(tmp_path: Path) -> None:
    """A number cell holds 15 significant digits: the workbook itself has lost the ids."""
    path = tmp_path / "ids.xlsx"
    _id_frame(IDS).to_excel(path, index=False)
    records, report = read_records(path, preset="qd12345")
    assert report.rejected_by_reason["duplicate_id"] == 0  # was 14 of 15
    assert report.rows_accepted == 15
    assert report.warnings["imprecise_record_id"] == 15
    assert records["record_id"].isna().all()


def test_csv_and_parquet_numeric_ids_are_exact_text_without_dot_zero(tmp_path: Path) -> None:
    frame = _id_frame(IDS)
    csv_path, pq_path = tmp_path / "ids.csv", tmp_path / "ids.parquet"
    frame.to_csv(csv_path, index=False)
    frame.to_parquet(pq_path, index=False)
    for path in (csv_path, pq_path):
        records, report = read_records(path, preset="qd12345")
        assert records["record_id"].tolist() == [str(i) for i in IDS], path.name
        assert report.warnings["imprecise_record_id"] == 0
    floats = _id_frame([float(i) for i in range(15)])
    floats.loc[3, "工单编号"] = None  # a float column with a gap
    floats.to_parquet(pq_path, index=False)
    records, _ = read_records(pq_path, preset="qd12345")
    assert records["record_id"].tolist()[:5] == ["0", "1", "2", pd.NA, "4"]
    excel_csv = _id_frame(["3.70200E+17"] * 15)  # what Excel writes into a CSV
    excel_csv.to_csv(csv_path, index=False)
    records, report = read_records(csv_path, preset="qd12345")
    assert report.rows_accepted == 15 and report.warnings["imprecise_record_id"] == 15


# --------------------------------------------------------------------------- case 3: header


def _two_row_header_workbook(path: Path, merged: bool = True) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["青岛市12345工单导出"])
    ws.append(["工单编号", "受理时间", "区(市)", "诉求分类", None, "联系电话"])
    ws.append([None, None, None, "一级", "二级", None])
    if merged:
        ws.merge_cells("D2:E2")
        for col in "ABCF":
            ws.merge_cells(f"{col}2:{col}3")
    rows = [("公用事业", "供暖"), ("公用事业", "燃气"), ("交通出行", "违章停车")]
    for i, (l1, l2) in enumerate(rows * 3):
        ws.append([f"Q{i}", f"2024-11-{10 + i} 08:00", "市南区", l1, l2, "13800138000"])
    wb.save(path)


@pytest.mark.parametrize("merged", [True, False])
def test_two_row_merged_header_uses_level_two(tmp_path: Path, merged: bool) -> None:
    path = tmp_path / "two_rows.xlsx"
    _two_row_header_workbook(path, merged)
    records, report = read_records(path, preset="qd12345")
    assert report.rows_read == 9
    assert report.column_map["category"] == "诉求分类二级"
    assert report.column_map["category_l1"] == "诉求分类一级"
    assert records["category"].tolist()[:3] == ["heating", "gas", "parking"]
    assert records["parent"].tolist()[:3] == ["utilities", "utilities", "transport"]
    assert report.dropped_columns == ["联系电话"]


def test_a_data_row_is_never_taken_for_a_sub_header(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["工单编号", "受理时间", "区(市)", "诉求分类二级", None])
    ws.append(["Q1", "2024-11-10 08:00", "市南区", "供暖", "note"])  # value in an unnamed column
    ws.append(["Q2", "2024-11-11 08:00", "市南区", "供暖", None])
    path = tmp_path / "plain.xlsx"
    wb.save(path)
    records, report = read_records(path, preset="qd12345")
    assert report.rows_read == 2 and records["record_id"].tolist() == ["Q1", "Q2"]


# --------------------------------------------------------------------------- compressed files


def _gzip(path: Path) -> Path:
    out = path.with_name(path.name + ".gz")
    out.write_bytes(gzip.compress(path.read_bytes(), mtime=0))
    return out


def _zip(folder: Path, name: str, members: dict[str, bytes]) -> Path:
    out = folder / name
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return out


def test_compressed_csv_keeps_the_malformed_row_accounting(tmp_path: Path) -> None:
    rows = _ten_rows()
    rows[2] = 'A2,2024-11-12 08:00,"市南区,供暖'  # stray quote: one malformed row
    rows[5] = "A5,2024-11-15 08:00,市南区"  # one field short: another
    plain = _csv(tmp_path, [HEADER, *rows])
    ref, ref_report = read_records(plain, preset="qd12345")
    assert ref_report.rejected_by_reason["malformed_row"] == 2
    for path in (_gzip(plain), _zip(tmp_path, "export.csv.zip",
                                    {"export.csv": plain.read_bytes()})):
        records, report = read_records(path, preset="qd12345")
        pd.testing.assert_frame_equal(records, ref, obj=path.name)
        assert (report.rows_read, report.rows_accepted) == (10, 8), path.name
        assert report.rejected_by_reason == ref_report.rejected_by_reason, path.name
        assert report.source == path.name
        assert report.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()  # as stored


@pytest.mark.parametrize("damage", ["garbage", "truncated", "bad_crc"])
def test_corrupt_gzip_is_one_line_naming_the_file(tmp_path: Path, damage: str) -> None:
    data = gzip.compress(_csv(tmp_path, [HEADER, *_ten_rows()]).read_bytes())
    if damage == "garbage":
        data = b"this is not gzip at all"
    elif damage == "truncated":
        data = data[: len(data) // 2]
    else:  # the stored CRC-32 of the trailer no longer matches
        data = data[:-8] + bytes(8)
    path = tmp_path / "broken.csv.gz"
    path.write_bytes(data)
    with pytest.raises(IngestError, match=r"^broken\.csv\.gz: cannot decompress") as err:
        read_records(path, preset="qd12345")
    assert "\n" not in str(err.value) and "gzip" in str(err.value)


def test_zip_must_hold_exactly_one_data_file(tmp_path: Path) -> None:
    body = _csv(tmp_path, [HEADER, *_ten_rows()]).read_bytes()
    two = _zip(tmp_path, "two.csv.zip", {"north.csv": body, "south.csv": body})
    with pytest.raises(IngestError, match=r"^two\.csv\.zip: .*several data files "
                                          r"\(north\.csv, south\.csv\)"):
        read_records(two, preset="qd12345")
    none = _zip(tmp_path, "none.zip", {"notes.md": b"# nothing here"})
    with pytest.raises(IngestError, match=r"^none\.zip: .*no data file \(notes\.md\)"):
        read_records(none, preset="qd12345")
    # folders and macOS resource forks are not data files; a plain .zip name is fine
    one = _zip(tmp_path, "export.zip", {"out/": b"", "__MACOSX/out/._a.csv": b"\x00",
                                        "out/a.csv": body})
    assert read_records(one, preset="qd12345").report.rows_accepted == 10
    corrupt = tmp_path / "corrupt.csv.zip"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(IngestError, match=r"^corrupt\.csv\.zip: cannot decompress"):
        read_records(corrupt, preset="qd12345")


@pytest.mark.parametrize(
    ("name", "message"),
    [("export.parquet.gz", r"compressed internally; give the \.parquet file"),
     ("export.xlsx.zip", r"compressed internally; give the \.xlsx file"),
     ("export.gz", r"unsupported file type '\.gz'"),
     ("export.json.gz", r"unsupported file type '\.json\.gz'")],
)
def test_compressed_files_that_are_not_delimited_text(
    tmp_path: Path, name: str, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(gzip.compress(b"x"))
    with pytest.raises(IngestError, match=rf"^{re.escape(name)}: .*{message}"):
        read_records(path, preset="qd12345")
