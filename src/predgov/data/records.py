"""Read hotline complaint records (12345, NYC 311, generic) into one canonical table.

:func:`read_records` reads an Excel, CSV or Parquet export (or a DataFrame), finds the columns
that hold each canonical field (a :mod:`preset <predgov.data.presets>` and/or a ``mapping``),
parses times into the source's local timezone, maps district and category spellings onto the
district table and taxonomy, validates rows, removes or pseudonymises personal data and returns
the records with an :class:`~predgov.data.report.IngestReport`.

Canonical record columns (in this order, optional ones only when the source has them):

=================  ===========================================================================
``record_id``      source id (string)
``received_at``    tz-aware datetime64[ns] in the source's local timezone (required)
``closed_at``      tz-aware; NaT when missing, unparseable or before ``received_at``
``district``       district-table name where known, else as spelled (required)
``grid``           street / grid / community board as spelled
``category``       taxonomy code where known, else as spelled (required)
``parent``         parent class: taxonomy parent of ``category``, else the level-1 column
``subcategory``    as spelled
``channel``        as spelled
``department``     as spelled (the export's handling unit)
``satisfied``      nullable boolean (满意/基本满意 → True, 不满意 → False, unrated → <NA>);
                   Float64 score when the export gives numbers
``repeat_of``      id of the earlier request this repeats
extras             numeric columns a preset / mapping declares (e.g. ``temperature_c``)
``*_pid``          keyed pseudonyms (``caller_pid``, ``phone_pid``, ``address_pid``, ``id_pid``)
=================  ===========================================================================

Text columns have pandas ``string`` dtype. Rows are sorted by ``received_at`` then
``record_id`` (numeric-looking ids in numeric order) then source order; the index is 0..n-1.

Rows are checked in this order; a rejected row counts under the first check it fails:
``missing_time``, ``unparseable_time``, ``time_out_of_range`` (before 1990-01-01, after
now + 1 day, or outside ``period``), ``missing_district``, ``missing_category``,
``unknown_district`` and ``unknown_category`` (only with ``strict=True``), ``duplicate_id``
(a record_id seen on an earlier row that passed every other check; the first is kept).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from predgov.data.presets import (
    FIELDS,
    PERSONAL_KINDS,
    REQUIRED_FIELDS,
    Preset,
    get_preset,
    normalise_column,
)
from predgov.data.privacy import PSEUDONYM_COLUMNS, personal_kind, pseudonymise_series, resolve_key
from predgov.data.report import REJECTION_REASONS, WARNING_KINDS, IngestError, IngestReport
from predgov.data.taxonomy import DistrictTable, Taxonomy, load_districts, load_taxonomy

__all__ = ["IngestError", "IngestResult", "read_records"]

_CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
_EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}
_DELIMITERS = (",", "\t", ";", "|")
_GENERIC_MISSING = ("", "nan", "NaN", "none", "null", "NULL", "N/A", "n/a", "NA", "-", "--", "—")
_EARLIEST = pd.Timestamp("1990-01-01")
_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
_MAPPING_KEYS = {"constants", "extras", "personal", "timezone", "time_formats"}

_SATISFIED_TRUE = {
    "满意", "非常满意", "基本满意", "比较满意", "很满意", "satisfied", "very satisfied", "yes", "y",
    "true", "是",
}
_SATISFIED_FALSE = {
    "不满意", "非常不满意", "很不满意", "dissatisfied", "unsatisfied", "no", "n", "false", "否",
}
_SATISFIED_NONE = {
    "未评价", "未回访", "无法联系", "未接通", "拒绝评价", "一般", "不评价", "无评价", "未表态",
    "unrated", "not rated",
}


class IngestResult(NamedTuple):
    """What :func:`read_records` returns: the records and their report (unpacks as a pair)."""

    records: pd.DataFrame
    report: IngestReport


# --------------------------------------------------------------------------- specification


class _Spec(NamedTuple):
    preset: str | None
    columns: dict[str, tuple[str, ...]]
    constants: dict[str, str]
    extras: dict[str, tuple[str, ...]]
    personal: dict[str, tuple[str, ...]]
    timezone: str | None
    time_formats: tuple[str, ...]
    missing_values: frozenset[str]
    taxonomy: str | None
    districts: str | None


def _as_spellings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _plain(mapping: Any) -> dict[str, Any]:
    """A mapping as a plain dict (an OmegaConf DictConfig is converted)."""
    try:  # OmegaConf is a dependency through Hydra, but keep it optional here
        from omegaconf import DictConfig, OmegaConf

        if isinstance(mapping, DictConfig):
            mapping = OmegaConf.to_container(mapping, resolve=True)
    except ImportError:  # pragma: no cover
        pass
    if not isinstance(mapping, Mapping):
        raise TypeError(f"mapping must be a dict of canonical field -> column, got {type(mapping)}")
    return dict(mapping)


def _build_spec(preset: str | Preset | None, mapping: Any, timezone: str | None) -> _Spec:
    p = get_preset(preset) if preset is not None else None
    columns = dict(p.columns) if p else {}
    constants = {k: str(v) for k, v in (p.constants if p else {}).items()}
    extras = dict(p.extras) if p else {}
    personal = dict(p.personal) if p else {}
    tz = p.timezone if p else None
    formats = tuple(p.time_formats) if p else ()
    if mapping is not None:
        m = _plain(mapping)
        unknown = [k for k in m if k not in FIELDS and k not in _MAPPING_KEYS]
        if unknown:
            raise IngestError(
                f"mapping has unknown keys {unknown}; use canonical fields {list(FIELDS)} or "
                f"{sorted(_MAPPING_KEYS)}"
            )
        for fld in FIELDS:
            if fld in m and m[fld] is not None:
                columns[fld] = _as_spellings(m[fld])
                constants.pop(fld, None)
        for fld, value in (m.get("constants") or {}).items():
            if fld not in FIELDS:
                raise IngestError(f"mapping constant for unknown field {fld!r}; fields: {FIELDS}")
            constants[fld] = str(value)
            columns.pop(fld, None)
        for name, cols in (m.get("extras") or {}).items():
            extras[str(name)] = _as_spellings(cols)
        for kind, cols in (m.get("personal") or {}).items():
            if kind not in PERSONAL_KINDS:
                raise IngestError(
                    f"mapping personal kind {kind!r} unknown; kinds: {PERSONAL_KINDS}"
                )
            personal[kind] = _as_spellings(cols) + personal.get(kind, ())
        tz = m.get("timezone") or tz
        if m.get("time_formats"):
            formats = _as_spellings(m["time_formats"]) + formats
    tz = timezone or tz
    missing = frozenset(s.casefold() for s in (*_GENERIC_MISSING, *(p.missing_values if p else ())))
    return _Spec(
        preset=p.name if p else None,
        columns=columns,
        constants=constants,
        extras=extras,
        personal=personal,
        timezone=tz,
        time_formats=formats,
        missing_values=missing,
        taxonomy=p.taxonomy if p else None,
        districts=p.districts if p else None,
    )


def _match_columns(columns: list[str], spellings: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Field -> first source column matching one of its spellings (best spelling first)."""
    by_key: dict[str, str] = {}
    for col in columns:
        by_key.setdefault(normalise_column(col), col)
    out: dict[str, str] = {}
    taken: set[str] = set()
    for fld, names in spellings.items():
        for name in names:
            col = by_key.get(normalise_column(name))
            if col is not None and col not in taken:
                out[fld] = col
                taken.add(col)
                break
    return out


# --------------------------------------------------------------------------- reading


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _decode(data: bytes, encoding: str | None, name: str) -> str:
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


def _guess_delimiter(text: str) -> str:
    header = next((line for line in text.splitlines() if line.strip()), "")
    try:
        return csv.Sniffer().sniff(header, delimiters="".join(_DELIMITERS)).delimiter
    except csv.Error:
        counts = {d: header.count(d) for d in _DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def _read_csv(data: bytes, encoding: str | None, name: str) -> pd.DataFrame:
    text = _decode(data, encoding, name)
    if not text.strip():
        raise IngestError(f"{name}: the file is empty")
    sep = _guess_delimiter(text)
    try:
        return pd.read_csv(
            io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_filter=False
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise IngestError(
            f"{name}: cannot parse as delimited text (delimiter {sep!r}): {exc}"
        ) from exc


def _find_header_row(raw: pd.DataFrame, spec: _Spec) -> int:
    """Row of an Excel sheet holding the column names (title rows above are common)."""
    wanted = {fld: spec.columns[fld] for fld in REQUIRED_FIELDS if fld in spec.columns}
    if not wanted:
        return 0
    for i in range(min(10, len(raw))):
        cells = [str(v) for v in raw.iloc[i].tolist() if isinstance(v, str)]
        if len(_match_columns(cells, wanted)) == len(wanted):
            return i
    return 0


def _read_excel(path: Path, sheet_name: str | int, spec: _Spec) -> pd.DataFrame:
    try:
        raw = pd.read_excel(path, sheet_name=sheet_name, header=None, dtype=str, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many kinds (zip, XML, key errors)
        raise IngestError(f"{path.name}: cannot read as an Excel workbook: {exc}") from exc
    raw = raw.dropna(how="all").dropna(axis=1, how="all")
    if raw.empty:
        raise IngestError(f"{path.name}: the sheet {sheet_name!r} is empty")
    row = _find_header_row(raw, spec)
    header = [
        str(v).strip() if isinstance(v, str) and v.strip() else f"Unnamed: {j}"
        for j, v in enumerate(raw.iloc[row].tolist())
    ]
    frame = raw.iloc[row + 1 :].copy()
    frame.columns = header
    return frame.reset_index(drop=True)


def _load(
    source: Any, spec: _Spec, encoding: str | None, sheet_name: str | int
) -> tuple[pd.DataFrame, str, str | None]:
    if isinstance(source, pd.DataFrame):
        return source, "DataFrame", None
    if not isinstance(source, str | Path):
        raise IngestError(
            f"cannot read records from a {type(source).__name__}; give a path or a DataFrame"
        )
    path = Path(source)
    name = path.name
    if not path.is_file():
        raise IngestError(f"{name}: file not found ({path})")
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise IngestError(f"{name}: legacy .xls workbooks are not supported; save it as .xlsx")
    if suffix not in _CSV_SUFFIXES | _EXCEL_SUFFIXES | _PARQUET_SUFFIXES:
        known = sorted(_CSV_SUFFIXES | _EXCEL_SUFFIXES | _PARQUET_SUFFIXES)
        raise IngestError(
            f"{name}: unsupported file type {suffix or '(none)'!r}; use one of {known}"
        )
    data = path.read_bytes()
    digest = _sha256(data)
    if not data.strip():
        raise IngestError(f"{name}: the file is empty")
    if suffix in _CSV_SUFFIXES:
        frame = _read_csv(data, encoding, name)
    elif suffix in _EXCEL_SUFFIXES:
        frame = _read_excel(path, sheet_name, spec)
    else:
        try:
            frame = pd.read_parquet(io.BytesIO(data))
        except Exception as exc:  # pyarrow raises its own error types
            raise IngestError(f"{name}: cannot read as Parquet: {exc}") from exc
    return frame, name, digest


# --------------------------------------------------------------------------- cell parsing


def _bool(mask: Any) -> np.ndarray:
    """A (possibly nullable) boolean Series / array as a writable numpy bool array (NA → False)."""
    if isinstance(mask, pd.Series):
        mask = mask.astype("boolean").fillna(False)
    return np.array(mask, dtype=bool)


def _text(values: pd.Series, missing: frozenset[str]) -> pd.Series:
    """Cells as trimmed pandas strings; blank / "missing" tokens become <NA>."""
    s = values
    if pd.api.types.is_float_dtype(s.dtype):
        finite = s.dropna()
        if len(finite) and (finite == np.floor(finite)).all():
            s = s.astype("Int64")
    elif pd.api.types.is_datetime64_any_dtype(s.dtype):
        s = s.astype(str).where(s.notna())
    out = s.astype("string").str.strip()
    return out.mask(out.str.casefold().isin(missing))


def _localise(
    naive: pd.Series, tz: str, warnings: Counter[str], count: pd.Series | None
) -> pd.Series:
    """Naive local wall times → tz-aware; DST-ambiguous times take the first (summer) reading,
    nonexistent ones shift forward. ``count`` marks the rows whose problems are counted."""
    strict = naive.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    problem = strict.isna() & naive.notna()
    if not problem.any():
        return strict
    fixed = naive[problem].dt.tz_localize(
        tz, ambiguous=np.ones(int(problem.sum()), dtype=bool), nonexistent="shift_forward"
    )
    shifted = fixed.dt.tz_localize(None) != naive[problem]
    if count is not None:
        mine = count[problem].to_numpy()
        warnings["nonexistent_local_time"] += int((shifted.to_numpy() & mine).sum())
        warnings["ambiguous_local_time"] += int((~shifted.to_numpy() & mine).sum())
    out = strict.copy()
    out[problem] = fixed
    return out


class _Times(NamedTuple):
    values: pd.Series  # tz-aware datetime64[ns]; NaT where missing / unparseable / out of bounds
    missing: np.ndarray
    unparseable: np.ndarray
    out_of_bounds: np.ndarray  # parsed but not representable (year < 1678 or > 2261)
    naive: np.ndarray  # parsed from a wall time without offset (so localised)


def _parse_times(
    values: pd.Series, spec: _Spec, field_name: str, name: str
) -> tuple[_Times, pd.Series]:
    """Parse a time column; returns the parse and the naive wall times (to be localised)."""
    n = len(values)
    index = values.index
    naive_mask = np.zeros(n, dtype=bool)
    oob = np.zeros(n, dtype=bool)
    aware = pd.Series(pd.NaT, index=index, dtype="datetime64[ns, UTC]")
    naive = pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        missing = values.isna().to_numpy()
        aware = values.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
        unparseable = np.zeros(n, dtype=bool)
    elif pd.api.types.is_datetime64_dtype(values.dtype):
        missing = values.isna().to_numpy()
        naive = values.astype("datetime64[ns]")
        naive_mask = ~missing
        unparseable = np.zeros(n, dtype=bool)
    else:
        text = _text(values, spec.missing_values)
        missing = text.isna().to_numpy()
        todo = ~missing

        def take(mask: np.ndarray, result: pd.Series, is_naive: bool) -> None:
            ok = result.notna().to_numpy()
            rows = np.flatnonzero(mask)[ok]
            if not len(rows):
                return
            vals = result[ok]
            years = vals.dt.year.to_numpy()
            bad = (years < 1678) | (years > 2261)
            oob[rows[bad]] = True
            good_rows, good = rows[~bad], vals[~bad]
            if is_naive:
                naive.iloc[good_rows] = good.astype("datetime64[ns]").to_numpy()
                naive_mask[good_rows] = True
            else:
                aware.iloc[good_rows] = good.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
            todo[rows] = False

        for fmt in spec.time_formats:
            if not todo.any():
                break
            sub = text[todo]
            take(todo.copy(), pd.to_datetime(sub, format=fmt, errors="coerce"), True)
        if todo.any():  # Excel serial day numbers (e.g. 45231.5)
            sub = text[todo]
            num = pd.to_numeric(sub.where(_bool(sub.str.match(_NUMBER.pattern))), errors="coerce")
            num = num.where((num > 20000) & (num < 80000))
            serial = pd.Timestamp("1899-12-30") + pd.to_timedelta(num, unit="D")
            take(todo.copy(), serial.dt.round("s"), True)
        if todo.any():  # anything else: explicit offsets first, then a general parser
            sub = text[todo]
            has_offset = _bool(sub.str.contains(_OFFSET.pattern, regex=True))
            if has_offset.any():
                mask = todo.copy()
                mask[np.flatnonzero(todo)[~has_offset]] = False
                res = pd.to_datetime(sub[has_offset], errors="coerce", utc=True, format="ISO8601")
                take(mask, res, False)
            if todo.any():
                sub = text[todo]
                res = pd.to_datetime(sub, errors="coerce", format="mixed")
                if isinstance(res.dtype, pd.DatetimeTZDtype):  # pragma: no cover - defensive
                    take(todo.copy(), res, False)
                else:
                    take(todo.copy(), res, True)
        unparseable = todo
    if naive_mask.any() and spec.timezone is None:
        raise IngestError(
            f"{name}: {field_name} holds times without a timezone and none is known; pass "
            "timezone='Asia/Shanghai' (or the source's IANA zone) or use a preset that declares one"
        )
    return _Times(aware, missing, unparseable, oob, naive_mask), naive


def _combine_times(
    times: _Times, naive: pd.Series, tz: str, warnings: Counter[str], count: np.ndarray | None
) -> pd.Series:
    out = times.values.dt.tz_convert(tz)
    if times.naive.any():
        mark = pd.Series(count if count is not None else times.naive, index=naive.index)
        local = _localise(naive, tz, warnings, mark & times.naive)
        out = out.where(~times.naive, local)
    return out


def _satisfaction(
    values: pd.Series, spec: _Spec, warnings: Counter[str], keep: np.ndarray
) -> pd.Series:
    text = _text(values, spec.missing_values)
    given = text.dropna()
    if len(given) and given.str.match(_NUMBER.pattern).all():
        return pd.to_numeric(text, errors="coerce").astype("Float64")
    key = text.str.casefold()
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[_bool(key.isin(_SATISFIED_TRUE))] = True
    out[_bool(key.isin(_SATISFIED_FALSE))] = False
    unknown = text.notna() & ~key.isin(_SATISFIED_TRUE | _SATISFIED_FALSE | _SATISFIED_NONE)
    warnings["unrecognised_satisfaction"] += int((_bool(unknown) & keep).sum())
    return out


def _bound(value: Any, tz: str, end: bool) -> pd.Timestamp | None:
    if value is None:
        return None
    ts = pd.Timestamp(value)
    date_only = (isinstance(value, dt.date) and not isinstance(value, dt.datetime)) or (
        isinstance(value, str) and len(value.strip()) <= 10
    )
    if ts.tzinfo is None:
        ts = ts.tz_localize(tz)
    else:
        ts = ts.tz_convert(tz)
    if end and date_only:
        ts = ts + pd.Timedelta(days=1)  # a date-only end includes that whole day
    return ts


def _id_sort_key(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    filled = ids.fillna("")
    return filled.str.len().to_numpy(dtype=np.int64), filled.to_numpy(dtype=object)


def _resolve_table(value: Any, default: str | None, loader: Any, kind: type) -> Any:
    if value is False:
        return None
    if value is None:
        return loader(default) if default else None
    if isinstance(value, kind):
        return value
    return loader(value)


# --------------------------------------------------------------------------- main entry


def read_records(
    source: str | Path | pd.DataFrame,
    preset: str | Preset | None = None,
    mapping: Mapping[str, Any] | None = None,
    *,
    timezone: str | None = None,
    pseudonymise: bool = False,
    key: str | bytes | None = None,
    taxonomy: str | Path | Taxonomy | bool | None = None,
    districts: str | Path | DistrictTable | bool | None = None,
    strict: bool = False,
    period: tuple[Any, Any] | None = None,
    encoding: str | None = None,
    sheet_name: str | int = 0,
) -> IngestResult:
    """Read hotline records into the canonical table, with a report of what happened.

    Parameters
    ----------
    source
        Path of a ``.xlsx``/``.xlsm``, ``.csv``/``.tsv``/``.txt`` (UTF-8, UTF-8 with BOM or
        GB18030; comma, tab, semicolon or pipe delimited) or ``.parquet`` file, or a DataFrame.
        The source is never modified.
    preset
        ``"qd12345"``, ``"nyc311"``, ``"nyc311_brooklyn_noise"`` or a
        :class:`~predgov.data.presets.Preset`: accepted column spellings, timezone, taxonomy,
        district table, personal columns, constants and time formats.
    mapping
        Canonical field → source column (or list of spellings); alone or overriding the preset.
        Optional keys ``constants`` (field → value), ``extras`` (numeric column name → source
        column), ``personal`` (kind → columns), ``timezone`` and ``time_formats``. A Hydra /
        OmegaConf ``DictConfig`` is accepted.
    timezone
        IANA timezone of naive source times (overrides the preset). Times with an explicit
        offset are converted to it.
    pseudonymise
        Replace names, phones, ID numbers and addresses by keyed HMAC-SHA256 pseudonyms
        (``caller_pid``, ``phone_pid``, ``id_pid``, ``address_pid``) instead of dropping them.
        Free text and locations are always dropped.
    key
        Pseudonymisation key (else ``$PREDGOV_HMAC_KEY``); never stored.
    taxonomy, districts
        Override the preset's taxonomy / district table (name, CSV path or object); ``False``
        switches mapping off.
    strict
        Reject rows whose district or category the tables do not know.
    period
        ``(start, end)`` of received times to accept (either may be None). A date-only end
        includes that whole day; naive bounds are in the source timezone.
    encoding
        Text encoding of a CSV (default: try UTF-8 then GB18030).
    sheet_name
        Excel sheet (name or index). Title rows above the header are skipped.

    Returns
    -------
    IngestResult
        ``(records, report)``; see the module docstring for the columns and the row checks.

    Raises
    ------
    IngestError
        When the source cannot be read as records: missing file, empty file, no data rows,
        unsupported extension, undecodable text, a required field without a column, naive times
        without a timezone, pseudonymisation without a key.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({
    ...     "工单编号": ["A1", "A2", "A3"],
    ...     "受理时间": ["2024-11-20 08:30:00", "2024-11-20 09:00:00", "坏时间"],
    ...     "区（市）": ["市南区", "黄岛区", "市北区"],
    ...     "诉求分类二级": ["供暖", "其他", "供热"],
    ...     "联系电话": ["13800138000", "13900139000", "13700137000"],
    ... })
    >>> records, report = read_records(raw, preset="qd12345")
    >>> records[["district", "category"]].values.tolist()
    [['市南', 'heating'], ['西海岸新区', '其他']]
    >>> str(records["received_at"].dt.tz)
    'Asia/Shanghai'
    >>> report.rejected_by_reason["unparseable_time"], report.unmapped_categories
    (1, {'其他': 1})
    >>> "联系电话" in report.dropped_columns, "联系电话" in records.columns
    (True, False)
    """
    spec = _build_spec(preset, mapping, timezone)
    key_bytes = resolve_key(key) if pseudonymise else None
    frame, name, digest = _load(source, spec, encoding, sheet_name)
    frame = frame.rename(columns=str)
    if frame.columns.duplicated().any():
        frame = frame.loc[:, ~frame.columns.duplicated()]

    # ---- locate columns
    used = _match_columns(list(frame.columns), spec.columns)
    for fld in REQUIRED_FIELDS:
        if fld in used or fld in spec.constants:
            continue
        if fld == "category" and "category_l1" in used:
            continue  # only the level-1 class is given: it is the category
        looked = list(spec.columns.get(fld, ()))
        found = list(frame.columns)
        hint = ""
        if len(found) == 1 and any(d in found[0] for d in (",", ";", "\t", "|", " ")):
            hint = " (only one column was found: is the delimiter right?)"
        raise IngestError(
            f"{name}: no column for required field {fld!r}; looked for "
            f"{looked or '(no spellings: give mapping={fld!r: ...})'}; found columns "
            f"{found[:40]}{hint}"
        )
    extras = _match_columns([c for c in frame.columns if c not in used.values()], spec.extras)

    # ---- data rows
    blank = np.ones(len(frame), dtype=bool)
    for col in frame.columns:
        cells = frame[col]
        filled = np.asarray(cells.notna(), dtype=bool)
        if cells.dtype == object or pd.api.types.is_string_dtype(cells.dtype):
            nonblank = (cells.astype("string").str.strip() != "").fillna(False)
            filled = filled & np.asarray(nonblank, dtype=bool)
        blank = blank & ~filled
    frame = frame.loc[~blank].reset_index(drop=True)
    n = len(frame)
    if n == 0:
        raise IngestError(f"{name}: no data rows (only a header)")

    tz = spec.timezone or "UTC"
    tax = _resolve_table(taxonomy, spec.taxonomy, load_taxonomy, Taxonomy)
    dist = _resolve_table(districts, spec.districts, load_districts, DistrictTable)
    warnings: Counter[str] = Counter()

    def text_field(fld: str) -> pd.Series | None:
        if fld in spec.constants:
            return pd.Series(spec.constants[fld], index=frame.index, dtype="string")
        if fld in used:
            return _text(frame[used[fld]], spec.missing_values)
        return None

    # ---- times
    if "received_at" in spec.constants:
        rec_src = pd.Series(spec.constants["received_at"], index=frame.index)
    else:
        rec_src = frame[used["received_at"]]
    rec_times, rec_naive = _parse_times(rec_src, spec, "received_at", name)
    received = _combine_times(rec_times, rec_naive, tz, Counter(), None)

    # ---- districts and categories
    district_raw = text_field("district")
    cat2 = text_field("category")
    cat1 = text_field("category_l1")
    if cat2 is None:
        cat2 = cat1
    elif cat1 is not None:
        cat2 = cat2.fillna(cat1)

    def mapped(raw: pd.Series, table: Any) -> tuple[pd.Series, pd.Series]:
        if table is None:
            return raw, pd.Series(True, index=raw.index)
        lut = {u: table.lookup(u) for u in raw.dropna().unique()}
        looked = [lut.get(v) if isinstance(v, str) else None for v in raw.tolist()]
        known = pd.Series([c is not None for c in looked], index=raw.index) | raw.isna()
        codes = pd.Series(looked, index=raw.index, dtype=object)
        return codes.where(known.to_numpy(), raw.astype(object)).astype("string"), known

    district, district_known = mapped(district_raw, dist)
    category, category_known = mapped(cat2, tax)

    # ---- row checks, in order
    reason = np.full(n, "", dtype=object)

    def reject(mask: Any, why: str) -> None:
        m = np.asarray(mask, dtype=bool) & (reason == "")
        reason[m] = why

    now = pd.Timestamp.now(tz=tz) + pd.Timedelta(days=1)
    lo, hi = _EARLIEST.tz_localize(tz), now
    if period is not None:
        start, end = _bound(period[0], tz, False), _bound(period[1], tz, True)
        lo = max(lo, start) if start is not None else lo
        hi = min(hi, end) if end is not None else hi
    reject(rec_times.missing, "missing_time")
    reject(rec_times.unparseable, "unparseable_time")
    in_range = _bool((received >= lo) & (received < hi))
    reject(rec_times.out_of_bounds | (received.notna().to_numpy() & ~in_range), "time_out_of_range")
    reject(district.isna().to_numpy(), "missing_district")
    reject(category.isna().to_numpy(), "missing_category")
    if strict:
        reject(~district_known.to_numpy(), "unknown_district")
        reject(~category_known.to_numpy(), "unknown_category")
    record_id = text_field("record_id")
    if record_id is not None:
        alive = reason == ""
        dup = np.zeros(n, dtype=bool)
        ids = record_id[alive]
        dup[np.flatnonzero(alive)] = (ids.duplicated(keep="first") & ids.notna()).to_numpy()
        reject(dup, "duplicate_id")
    keep = reason == ""

    # ---- warnings on kept rows: DST
    received = _combine_times(rec_times, rec_naive, tz, warnings, keep)

    # ---- unmapped names (rows kept, plus rows rejected only for being unknown)
    listed = keep | (reason == "unknown_district") | (reason == "unknown_category")

    def unmapped(raw: pd.Series, known: pd.Series) -> dict[str, int]:
        sel = raw[listed & ~known.to_numpy() & raw.notna().to_numpy()]
        counts = sel.value_counts()
        return {str(k): int(counts[k]) for k in sorted(counts.index, key=str)}

    unmapped_d = unmapped(district_raw, district_known) if dist is not None else {}
    unmapped_c = unmapped(cat2, category_known) if tax is not None else {}

    # ---- assemble the records
    out: dict[str, pd.Series] = {}
    if record_id is not None:
        out["record_id"] = record_id
    out["received_at"] = received
    if "closed_at" in used:
        c_times, c_naive = _parse_times(frame[used["closed_at"]], spec, "closed_at", name)
        closed = _combine_times(c_times, c_naive, tz, Counter(), None)
        warnings["unparseable_closed_at"] += int(
            (c_times.unparseable | c_times.out_of_bounds)[keep].sum())
        before = _bool(closed < received)
        warnings["closed_before_received"] += int((before & keep).sum())
        out["closed_at"] = closed.mask(before)
    out["district"] = district
    grid = text_field("grid")
    if grid is not None:
        out["grid"] = grid
    out["category"] = category
    parent: pd.Series | None = None
    if tax is not None:
        parent_of = tax.table["parent"].where(tax.table["level"] == 2, tax.table["code"]).to_dict()
        parent = category.map(parent_of.get, na_action="ignore").astype("string")
    if cat1 is not None:
        hint, _ = mapped(cat1, tax)
        parent = hint if parent is None else parent.fillna(hint)
    if parent is not None:
        out["parent"] = parent.astype("string")
    for fld in ("subcategory", "channel", "department"):
        series = text_field(fld)
        if series is not None:
            out[fld] = series
    if "satisfied" in used:
        out["satisfied"] = _satisfaction(frame[used["satisfied"]], spec, warnings, keep)
    series = text_field("repeat_of")
    if series is not None:
        out["repeat_of"] = series
    for extra, col in extras.items():
        out[extra] = pd.to_numeric(
            _text(frame[col], spec.missing_values), errors="coerce").astype("float64")

    # ---- personal columns
    taken = set(used.values()) | set(extras.values())
    dropped: list[str] = []
    pseudo: dict[str, str] = {}
    unused: list[str] = []
    for col in frame.columns:
        if col in taken:
            continue
        kind = personal_kind(col, spec.personal)
        if kind is None:
            unused.append(col)
        elif (
            key_bytes is not None
            and kind in PSEUDONYM_COLUMNS
            and PSEUDONYM_COLUMNS[kind] not in pseudo.values()
        ):
            pid = PSEUDONYM_COLUMNS[kind]
            out[pid] = pseudonymise_series(frame[col], kind, key_bytes)
            pseudo[col] = pid
        else:
            dropped.append(col)

    records = pd.DataFrame(out, index=frame.index).loc[keep]
    id_len, id_val = (
        _id_sort_key(records["record_id"]) if "record_id" in records
        else (np.zeros(len(records)), np.zeros(len(records)))
    )
    order = np.lexsort(
        (np.arange(len(records)), id_val.astype(str), id_len,
         records["received_at"].dt.tz_convert("UTC").to_numpy())
    )
    records = records.iloc[order].reset_index(drop=True)

    # ---- report
    by_reason = {r: int((reason == r).sum()) for r in REJECTION_REASONS}
    column_map = {fld: used[fld] for fld in FIELDS if fld in used}
    column_map.update({fld: f"={v}" for fld, v in spec.constants.items()})
    column_map.update(extras)
    report = IngestReport(
        source=name,
        preset=spec.preset,
        sha256=digest,
        rows_read=n,
        rows_accepted=len(records),
        rows_rejected=n - len(records),
        rejected_by_reason=by_reason,
        unmapped_districts=unmapped_d,
        unmapped_categories=unmapped_c,
        column_map=column_map,
        dropped_columns=dropped,
        pseudonymised_columns=pseudo,
        unused_columns=unused,
        warnings={w: int(warnings[w]) for w in WARNING_KINDS},
        timezone=tz,
        time_min=records["received_at"].min().isoformat() if len(records) else None,
        time_max=records["received_at"].max().isoformat() if len(records) else None,
        taxonomy=tax.name if tax is not None else None,
        districts=dist.name if dist is not None else None,
        strict=strict,
    )
    report.check()
    return IngestResult(records, report)


