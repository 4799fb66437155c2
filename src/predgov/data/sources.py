"""Read the cells of a delimited-text or Excel export as text, without losing a row silently.

Used by :func:`predgov.data.read_records`; every cell comes back as text (or None), so that ids
keep all their digits and nothing is guessed before the columns are known.

Delimited text (:func:`read_delimited`) is parsed with the :mod:`csv` module in strict mode,
record by record, against the physical lines of the file. A stray ``"`` opens a quoted field
that swallows the following lines up to the next quote; such a record is detected when

* the strict parser fails on it (a closing quote not followed by a delimiter or line end, an
  unterminated quote at the end of the file, a field over the csv size limit),
* it has more or fewer fields than the header (blank trailing extra fields are dropped), or
* a line it swallowed has no quote and is, on its own, a complete row of the header's width.

The lines of a detected record are then parsed one by one: each line that is on its own a
well-formed row of the header's width is kept, each other non-blank line counts as one
*malformed* row (``rows_read`` counts every physical data line of the region). Parsing goes on
from the record's last line, whose quote (the one that ended the swallow) may open a good
record. A properly
quoted cell holding line breaks (a complaint text over several lines) is one record and is
kept. Single-line rows with the wrong number of fields are malformed too.

Excel (:func:`read_workbook`) is read with openpyxl, not through floats: integer cells keep
every digit and a text cell is kept as it is (an 18-digit 工单编号 stored as text stays
exact). A *number* cell has at most 15 significant digits (Excel stores doubles; openpyxl and
pandas write big integers the same way), so an integer-valued number from 10**15 up has lost
digits in the workbook itself: it is kept in scientific notation (``3.702002024112e+17``) so
that ``read_records`` can flag it instead of taking equal roundings for duplicates. Title rows
above the header are skipped, and a two-row header (a merged ``诉求分类`` over ``一级`` /
``二级``) is combined into ``诉求分类一级`` / ``诉求分类二级``.

Compressed delimited text (:func:`decompress`): a gzip file (``.csv.gz``, ``.tsv.gz``,
``.txt.gz``) or a zip archive holding exactly one delimited-text file (``.csv.zip``) is
inflated in memory and parsed like the plain file, so the malformed-row accounting is the
same. A corrupt or truncated archive, or a zip holding no or several data files, is an
:class:`~predgov.data.report.IngestError` naming the file.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import math
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from predgov.data.report import IngestError

__all__ = ["COMPRESSIONS", "RawTable", "decode", "decompress", "read_delimited", "read_workbook"]

#: Compressed containers that can be read (last file suffix -> method).
COMPRESSIONS: dict[str, str] = {".gz": "gzip", ".zip": "zip"}

_DELIMITERS = (",", "\t", ";", "|")
_EXACT_FLOAT = 10**15  # Excel keeps 15 significant digits
_TITLE_ROWS = 10


class RawTable(NamedTuple):
    """Cells of a source as text, and the physical data rows that could not be parsed."""

    frame: pd.DataFrame
    malformed: int = 0


def decode(data: bytes, encoding: str | None, name: str) -> str:
    """Bytes of a text file as str: ``encoding``, else UTF-8 (BOM or not), else GB18030.

    Examples
    --------
    >>> decode("受理时间".encode("gb18030"), None, "x.csv")
    '受理时间'
    """
    tried = [encoding] if encoding else ["utf-8-sig", "gb18030"]
    for enc in tried:
        try:
            text = data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
        return text.removeprefix("\ufeff")
    raise IngestError(
        f"{name}: cannot decode the file as {' or '.join(tried)}; pass encoding='...' "
        "(12345 exports are usually UTF-8 or GB18030)"
    )


def decompress(data: bytes, method: str, name: str, members: frozenset[str]) -> tuple[bytes, str]:
    """The bytes inside a compressed file and the name of the file they are.

    Parameters
    ----------
    data
        The stored bytes of the file.
    method
        ``"gzip"`` (one stream, or several concatenated members, joined as ``gunzip`` does)
        or ``"zip"`` (an archive that must hold exactly one file whose
        suffix is in ``members``; folders and macOS ``__MACOSX/`` entries are skipped).
    name
        File name for messages; for gzip the inner name is ``name`` without ``.gz``.
    members
        Suffixes (lower case, with the dot) of the files a zip archive may deliver.

    Raises
    ------
    IngestError
        One line naming the file: corrupt or truncated data, an encrypted member, a zip with
        no or several data files (naming them).

    Examples
    --------
    >>> decompress(gzip.compress(b"a,b\\n1,2\\n"), "gzip", "x.csv.gz", frozenset({".csv"}))
    (b'a,b\\n1,2\\n', 'x.csv')
    >>> decompress(b"not gzip", "gzip", "x.csv.gz", frozenset({".csv"}))
    Traceback (most recent call last):
    ...
    predgov.data.report.IngestError: x.csv.gz: cannot decompress: not a valid gzip file \
(corrupt or truncated: BadGzipFile)
    """
    if method == "gzip":
        try:
            return gzip.decompress(data), name[:-3] if name.lower().endswith(".gz") else name
        except (OSError, EOFError, zlib.error) as exc:
            raise IngestError(
                f"{name}: cannot decompress: not a valid gzip file "
                f"(corrupt or truncated: {type(exc).__name__})"
            ) from exc
    if method != "zip":
        raise ValueError(f"unknown compression {method!r}; known: {sorted(COMPRESSIONS.values())}")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            files = [
                info for info in archive.infolist()
                if not info.is_dir() and not info.filename.startswith("__MACOSX/")
            ]
            wanted = [i for i in files if Path(i.filename).suffix.lower() in members]
            if len(wanted) != 1:
                listed = [i.filename for i in (wanted or files)]
                what = "several data files" if wanted else "no data file"
                raise IngestError(
                    f"{name}: the zip archive holds {what} ({', '.join(listed) or 'nothing'}); "
                    f"it must hold exactly one {'/'.join(sorted(members))} file"
                )
            return archive.read(wanted[0]), Path(wanted[0].filename).name
    except IngestError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError,
            NotImplementedError) as exc:  # encrypted members raise RuntimeError
        raise IngestError(
            f"{name}: cannot decompress: not a valid zip archive "
            f"(corrupt, truncated or encrypted: {type(exc).__name__})"
        ) from exc


def _guess_delimiter(text: str) -> str:
    header = next((line for line in text.splitlines() if line.strip()), "")
    try:
        return csv.Sniffer().sniff(header, delimiters="".join(_DELIMITERS)).delimiter
    except csv.Error:
        counts = {d: header.count(d) for d in _DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


class _Feed:
    """The lines of a file from ``start`` on, counting how many the csv reader has taken."""

    def __init__(self, lines: list[str], start: int) -> None:
        self.lines = lines
        self.pos = start

    def __iter__(self) -> Iterator[str]:
        while self.pos < len(self.lines):
            self.pos += 1
            yield self.lines[self.pos - 1]


def _parse_line(line: str, sep: str) -> list[str] | None:
    """One physical line parsed alone (strict); None when it is not a well-formed record."""
    try:
        rows = list(csv.reader([line], delimiter=sep, strict=True))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else None


def _blank(fields: list[str]) -> bool:
    return not "".join(fields).strip()


def _fit(fields: list[str], width: int) -> list[str] | None:
    """Fields of a record of the header's width (blank extra trailing fields dropped)."""
    if len(fields) > width and _blank(fields[width:]):
        fields = fields[:width]
    return fields if len(fields) == width else None


def _swallowed_rows(lines: list[str], begin: int, end: int, sep: str, width: int) -> bool:
    """Whether a multi-line record swallowed a quote-free line that is a complete row alone."""
    for k in range(begin + 1, end - 1):
        line = lines[k]
        if '"' in line or not line.strip():
            continue
        fields = _parse_line(line, sep)
        if fields is not None and width > 1 and _fit(fields, width) is not None:
            return True
    return False


def read_delimited(data: bytes, encoding: str | None, name: str) -> RawTable:
    """Parse a delimited-text export; malformed rows are counted, not merged or dropped.

    The delimiter (comma, tab, semicolon or pipe) is guessed from the header line. See the
    module docstring for how a stray quote is detected.

    Examples
    --------
    >>> text = 'id,t,d\\n1,"a,x\\n2,b,y\\n3,c,z\\n4,"multi\\nline",w\\n'
    >>> raw = read_delimited(text.encode(), None, "x.csv")
    >>> raw.frame["id"].tolist(), raw.malformed
    (['2', '3', '4'], 1)
    >>> raw.frame["t"].iloc[-1]
    'multi\\nline'
    """
    text = decode(data, encoding, name)
    if not text.strip():
        raise IngestError(f"{name}: the file is empty")
    sep = _guess_delimiter(text)
    lines = io.StringIO(text, newline="").readlines()
    header: list[str] | None = None
    rows: list[list[str]] = []
    malformed = 0
    feed = _Feed(lines, 0)
    reader = csv.reader(feed, delimiter=sep, strict=True)
    while True:
        begin = feed.pos
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error:
            fields = None
        end = feed.pos
        if header is None:
            if fields is None:
                raise IngestError(
                    f"{name}: cannot parse the header row (line {begin + 1}) as delimited text "
                    f"(delimiter {sep!r}): an unbalanced quote?"
                )
            if not _blank(fields):
                header = [f.strip() or f"Unnamed: {j}" for j, f in enumerate(fields)]
            continue
        width = len(header)
        if fields is not None and _blank(fields):
            continue
        fitted = _fit(fields, width) if fields is not None else None
        if fitted is not None and (
            end - begin == 1 or not _swallowed_rows(lines, begin, end, sep, width)
        ):
            rows.append(fitted)
            continue
        # A bad record: take its lines one at a time, except the last line of a multi-line
        # one, where the quote that ended the swallow may open a good record: parse again
        # from that line.
        resume = end - 1 if end - begin > 1 else end
        for k in range(begin, resume):
            alone = _parse_line(lines[k], sep)
            if alone is not None and _blank(alone):
                continue
            if alone is None and not lines[k].strip():
                continue
            alone = _fit(alone, width) if alone is not None else None
            if alone is None:
                malformed += 1
            else:
                rows.append(alone)
        feed = _Feed(lines, resume)
        reader = csv.reader(feed, delimiter=sep, strict=True)
    if header is None:
        raise IngestError(f"{name}: the file is empty")
    frame = pd.DataFrame(rows, columns=header, dtype=object) if rows else pd.DataFrame(
        {h: pd.Series(dtype=object) for h in dict.fromkeys(header)})
    if len(header) == 1 and not rows and malformed:
        raise IngestError(f"{name}: cannot parse as delimited text (delimiter {sep!r})")
    return RawTable(frame, malformed)


# --------------------------------------------------------------------------- Excel


def _cell_text(value: Any) -> str | None:
    """An Excel cell value as text: integers exact, no ``.0``, datetimes ISO-like."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value)) if abs(value) < _EXACT_FLOAT else f"{value:.15g}"
        return repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time | dt.timedelta):
        return str(value)
    return str(value)


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _sub_header(top: list[Any], sub: list[Any], required: list[int]) -> bool:
    """Whether ``sub`` is the second row of a two-row header under ``top``.

    It is when it holds only short non-numeric text, is blank under every required column
    found in ``top`` (except one that starts a merged span, as 诉求分类 over 一级 / 二级) and
    has a label under a blank ``top`` cell that continues a merged span (a named cell to its
    left).
    """
    filled = [j for j, v in enumerate(sub) if not _is_blank(v)]

    def starts_span(j: int) -> bool:
        return j + 1 < len(top) and _is_blank(top[j + 1])

    if not filled or any(
        j < len(sub) and not _is_blank(sub[j]) and not starts_span(j) for j in required
    ):
        return False
    for j in filled:
        value = sub[j]
        if not isinstance(value, str) or len(value.strip()) > 20:
            return False
        try:
            float(value)
            return False
        except ValueError:
            pass
    return any(
        j < len(top) and _is_blank(top[j]) and any(not _is_blank(t) for t in top[:j])
        for j in filled
    )


def _combined_header(top: list[Any], sub: list[Any] | None) -> list[str]:
    names: list[str] = []
    span = ""
    for j, value in enumerate(top):
        below = sub[j] if sub is not None and j < len(sub) else None
        if not _is_blank(value):
            span = str(value).strip()
            head = span
        elif not _is_blank(below):
            head = span
        else:
            head, span = "", ""
        label = f"{head}{str(below).strip()}" if not _is_blank(below) else head
        names.append(label or f"Unnamed: {j}")
    return names


def read_workbook(
    path: Path,
    sheet_name: str | int,
    required_columns: Callable[[list[str]], list[int] | None],
) -> RawTable:
    """Read one sheet of an ``.xlsx`` / ``.xlsm`` workbook as text cells.

    ``required_columns(names)`` returns the positions of the required columns when a row of
    names has them all (else None); the first such row among the first ten non-blank rows is
    the header (a two-row header is combined first), else the first row.

    Examples
    --------
    >>> import tempfile, pathlib, openpyxl
    >>> wb = openpyxl.Workbook(); ws = wb.active
    >>> ws.append(["工单编号", "分类", None]); ws.append([None, "一级", "二级"])
    >>> ws.append(["370200202411200001", "公用事业", "供暖"])
    >>> ws.append([370200202411200002, "公用事业", "供暖"])
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.xlsx"; wb.save(p)
    >>> find = lambda names: [0] if "工单编号" in names else None
    >>> raw = read_workbook(p, 0, find).frame
    >>> list(raw.columns)
    ['工单编号', '分类一级', '分类二级']
    >>> raw["工单编号"].tolist()  # text kept; a number has only 15 significant digits
    ['370200202411200001', '3.702002024112e+17']
    """
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # openpyxl raises many kinds (zip, XML, key errors)
        raise IngestError(f"{path.name}: cannot read as an Excel workbook: {exc}") from exc
    try:
        names = book.sheetnames
        if isinstance(sheet_name, int):
            if not 0 <= sheet_name < len(names):
                raise IngestError(
                    f"{path.name}: no sheet number {sheet_name}; the workbook has {names}"
                )
            sheet = book.worksheets[sheet_name]
        elif sheet_name in names:
            sheet = book[sheet_name]
        else:
            raise IngestError(f"{path.name}: no sheet {sheet_name!r}; the workbook has {names}")
        try:
            if hasattr(sheet, "reset_dimensions"):
                sheet.reset_dimensions()
            cells = [list(r) for r in sheet.iter_rows(values_only=True)]
        except IngestError:
            raise
        except Exception as exc:
            raise IngestError(f"{path.name}: cannot read as an Excel workbook: {exc}") from exc
    finally:
        book.close()
    cells = [r for r in cells if not all(_is_blank(v) for v in r)]
    width = max((len(r) for r in cells), default=0)
    cells = [r + [None] * (width - len(r)) for r in cells]
    used = [j for j in range(width) if not all(_is_blank(r[j]) for r in cells)]
    cells = [[r[j] for j in used] for r in cells]
    if not cells:
        raise IngestError(f"{path.name}: the sheet {sheet_name!r} is empty")
    header_at, sub = 0, None
    for i in range(min(_TITLE_ROWS, len(cells))):
        top = _combined_header(cells[i], None)
        found = required_columns(top)
        if found is None and i + 1 < len(cells) and _sub_header(cells[i], cells[i + 1], []):
            found = required_columns(_combined_header(cells[i], cells[i + 1]))
        if found is None:
            continue
        header_at = i
        if i + 1 < len(cells) and _sub_header(cells[i], cells[i + 1], found):
            sub = cells[i + 1]
        break
    header = _combined_header(cells[header_at], sub)
    body = cells[header_at + (2 if sub is not None else 1):]
    frame = pd.DataFrame(
        [[_cell_text(v) for v in r] for r in body], columns=header, dtype=object
    )
    return RawTable(frame, 0)
