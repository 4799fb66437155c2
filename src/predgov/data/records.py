"""Read hotline complaint records (12345, NYC 311, generic) into one canonical table.

:func:`read_records` reads an Excel, CSV (also gzip / zip compressed) or Parquet export (or a
DataFrame), finds the columns that hold each canonical field (a :mod:`preset
<predgov.data.presets>` and/or a ``mapping``), parses times into the source's local timezone,
maps district and category spellings onto the district table and taxonomy, validates rows,
removes or pseudonymises personal data and returns the records with an
:class:`~predgov.data.report.IngestReport`.

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
``malformed_row`` (a CSV line that cannot be parsed: stray quote, wrong number of fields; see
:mod:`predgov.data.sources`), ``missing_time``, ``unparseable_time``, ``time_out_of_range``
(before 1990-01-01, after now + 1 day, or outside ``period``), ``outside_study_period``
(without ``period``: outside the dense span of received dates, see
:mod:`predgov.data.studyperiod`), ``missing_district``, ``missing_category``,
``unknown_district`` and ``unknown_category`` (only with ``strict=True``),
``duplicate_report`` (the source itself marks the row as a duplicate report of an earlier
request, e.g. Chicago 311's ``Completed - Dup``: see ``Preset.duplicates``), ``duplicate_id``
(a record_id seen on an earlier row that passed every other check; the first is kept).
``rows_read`` counts every non-blank physical data row, so ``rows_read == accepted + rejected``.

Ids are text with every digit (no ``.0``); an id that reached the file as a float of 16 or more
digits or in scientific notation has lost digits: it becomes <NA> (the row is kept, counted in
``warnings["imprecise_record_id"]``) rather than a false duplicate.

Every kept text field is scrubbed of personal text (:mod:`predgov.data.privacy`): phone and ID
numbers, e-mail addresses and name-like tokens are removed; district and category cells are
mapped after scrubbing and token by token (``"市南区 13912345678"`` → 市南); labels no table
knows held by fewer than ``min_label_rows`` accepted rows become ``"其他/other (unmapped)"``.
The report counts what was scrubbed / generalised per field, never the values.
"""

from __future__ import annotations

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
from predgov.data.privacy import (
    PSEUDONYM_COLUMNS,
    drop_names,
    generalise_rare,
    map_label,
    personal_kind,
    pseudonymise_series,
    resolve_key,
    scrub_id,
    scrub_patterns,
)
from predgov.data.report import REJECTION_REASONS, WARNING_KINDS, IngestError, IngestReport
from predgov.data.sources import (
    COMPRESSIONS,
    RawTable,
    decompress,
    read_delimited,
    read_workbook,
)
from predgov.data.studyperiod import dense_span
from predgov.data.taxonomy import DistrictTable, Taxonomy, load_districts, load_taxonomy
from predgov.data.timeparse import ParsedTimes, parse_times

__all__ = ["IngestError", "IngestResult", "read_records"]

_CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
_EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}
_COMPRESSED_HINT = ".csv/.tsv/.txt + .gz, or a .zip holding one of them"
_GENERIC_MISSING = ("", "nan", "NaN", "none", "null", "NULL", "N/A", "n/a", "NA", "-", "--", "—")
_EARLIEST = pd.Timestamp("1990-01-01")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
_MAPPING_KEYS = {"constants", "duplicates", "extras", "personal", "timezone", "time_formats"}
_STUDY_PERIODS = ("auto", "all")
_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:\.\d+)?[eE][+-]?\d+$")
_WHOLE_FLOAT = re.compile(r"^([+-]?\d+)\.0+$")
_ID_SUSPECT = r"[\s@＠()\[\]{}<>（）【】,，、;；:：|/\\]"
_MAX_SCORE = 100  # satisfaction scores are 1-5, 1-10 or percentages
_INEXACT_ABOVE = 10**15  # a float has lost digits of a whole number from 16 digits on
#: Text fields scrubbed at ingest (besides district and category) and generalised when rare.
_LABEL_FIELDS = ("grid", "subcategory", "channel", "department")

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
    duplicates: dict[str, frozenset[str]]


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
    duplicates = dict(p.duplicates) if p else {}
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
        if "duplicates" in m:  # replaces the preset's markers ({} or None: keep duplicates)
            dup = m["duplicates"] or {}
            if not isinstance(dup, Mapping):
                raise IngestError(
                    "mapping duplicates must map a source column to the values that mark a "
                    f"duplicate report, e.g. {{'is_duplicate': ['true']}}; got {type(dup).__name__}"
                )
            duplicates = {str(col): _as_spellings(values) for col, values in dup.items()}
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
        duplicates={col: frozenset(v.casefold() for v in values)
                    for col, values in duplicates.items()},
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


def _duplicate_column(
    columns: list[str], spec: _Spec
) -> tuple[str | None, frozenset[str]]:
    """The column marking duplicate reports (first spelling the source has) and its values."""
    for spelling, values in spec.duplicates.items():
        found = _match_columns(columns, {"duplicates": (spelling,)})
        if found:
            return found["duplicates"], values
    return None, frozenset()


def _required_columns(spec: _Spec) -> Any:
    """``names -> positions of the required columns`` (None unless all are there)."""
    wanted = {fld: spec.columns[fld] for fld in REQUIRED_FIELDS if fld in spec.columns}

    def find(names: list[str]) -> list[int] | None:
        if not wanted:
            return []
        found = _match_columns(names, wanted)
        if len(found) < len(wanted):
            return None
        return [names.index(col) for col in found.values()]

    return find


def _load(
    source: Any, spec: _Spec, encoding: str | None, sheet_name: str | int
) -> tuple[pd.DataFrame, str, str | None, int]:
    """The source's cells, its name, the SHA-256 of its bytes and its malformed-row count."""
    if isinstance(source, pd.DataFrame):
        return source, "DataFrame", None, 0
    if not isinstance(source, str | Path):
        raise IngestError(
            f"cannot read records from a {type(source).__name__}; give a path or a DataFrame"
        )
    path = Path(source)
    name = path.name
    if not path.is_file():
        raise IngestError(f"{name}: file not found ({path})")
    suffix = path.suffix.lower()
    method = COMPRESSIONS.get(suffix)
    inner = Path(path.stem).suffix.lower() if method else suffix
    if inner == ".xls":
        raise IngestError(f"{name}: legacy .xls workbooks are not supported; save it as .xlsx")
    if method is not None and inner in _EXCEL_SUFFIXES | _PARQUET_SUFFIXES:
        raise IngestError(
            f"{name}: a {inner} file is compressed internally; give the {inner} file itself "
            f"(only delimited text is read from {suffix} files: {_COMPRESSED_HINT})"
        )
    if (method == "gzip" and inner not in _CSV_SUFFIXES) or (
        method is None and suffix not in _CSV_SUFFIXES | _EXCEL_SUFFIXES | _PARQUET_SUFFIXES
    ):
        known = [*sorted(_CSV_SUFFIXES | _EXCEL_SUFFIXES | _PARQUET_SUFFIXES), _COMPRESSED_HINT]
        shown = "".join(path.suffixes[-2:]).lower() if method else suffix
        raise IngestError(
            f"{name}: unsupported file type {shown or '(none)'!r}; use one of {known}"
        )
    data = path.read_bytes()
    digest = _sha256(data)  # of the bytes as stored (compressed or not)
    if not data.strip():
        raise IngestError(f"{name}: the file is empty")
    if method is not None:
        data, inner_name = decompress(data, method, name, frozenset(_CSV_SUFFIXES))
        if not data.strip():
            raise IngestError(f"{name}: the file is empty (its {inner_name} holds nothing)")
        inner = Path(inner_name).suffix.lower()  # a delimited-text suffix (checked)
    if inner in _CSV_SUFFIXES:
        raw = read_delimited(data, encoding, name)
    elif inner in _EXCEL_SUFFIXES:
        raw = read_workbook(path, sheet_name, _required_columns(spec))
    else:
        try:
            raw = RawTable(pd.read_parquet(io.BytesIO(data)))
        except Exception as exc:  # pyarrow raises its own error types
            raise IngestError(f"{name}: cannot read as Parquet: {exc}") from exc
    return raw.frame, name, digest, raw.malformed


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


def _parse_times(values: pd.Series, spec: _Spec, field_name: str, name: str) -> ParsedTimes:
    """Parse a time column (:mod:`predgov.data.timeparse`) with the spec's timezone, formats and
    missing tokens; values are in the spec's timezone (UTC when it has none)."""
    if isinstance(values.name, str) and values.name != field_name:  # name the source column
        field_name = f"{field_name} (column {values.name!r})"
    return parse_times(
        values, timezone=spec.timezone, formats=spec.time_formats, missing=spec.missing_values,
        field=field_name, source=name,
    )


def _satisfaction(
    values: pd.Series, spec: _Spec, warnings: Counter[str], keep: np.ndarray
) -> pd.Series:
    text = _text(values, spec.missing_values)
    given = text.dropna()
    if len(given) and given.str.match(_NUMBER.pattern).all():
        score = pd.to_numeric(text, errors="coerce").astype("Float64")
        odd = _bool((score < 0) | (score > _MAX_SCORE))  # not a score (a phone number, ...)
        warnings["unrecognised_satisfaction"] += int((odd & keep).sum())
        return score.mask(odd)
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


def _iso(value: Any) -> str | None:
    """A period bound as text for the report (None stays None)."""
    return None if value is None else pd.Timestamp(value).isoformat()


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


class _Labels(NamedTuple):
    values: pd.Series  # table code where mapped, else the scrubbed text (string dtype)
    known: pd.Series  # mapped, blank, or no table to map onto (for strict / unmapped lists)
    in_table: np.ndarray  # mapped onto a table (else a candidate for generalisation)
    scrubbed: np.ndarray  # personal text was found in the cell


def _labels(raw: pd.Series, table: Any) -> _Labels:
    """Map a label column onto a table (if any), scrubbing personal text (privacy.map_label)."""
    lookup = table.lookup if table is not None else None
    where, uniques = pd.factorize(raw, use_na_sentinel=True)
    hits = [map_label(str(u), lookup) for u in uniques]
    given = where >= 0
    take = np.where(given, where, 0)
    code = np.array([h[0] for h in hits] + [None], dtype=object)[np.where(given, take, len(hits))]
    text = np.array([h[1] for h in hits] + [None], dtype=object)[np.where(given, take, len(hits))]
    scrubbed = np.array([h[2] for h in hits] + [False], dtype=bool)[np.where(given, take, -1)]
    in_table = np.array([c is not None for c in code], dtype=bool)
    values = pd.Series(np.where(in_table, code, text), index=raw.index, dtype="string")
    known = pd.Series(in_table | ~given | (table is None), index=raw.index)
    return _Labels(values, known, in_table, scrubbed)


def _ids(values: pd.Series, missing: frozenset[str]) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Id cells as text (no ``.0``), personal text scrubbed; flags imprecise and scrubbed ids.

    An id is *imprecise* when it reached us as a float of 16 or more digits (a number cell of a
    workbook, a float column) or as text in scientific notation (``3.70200E+17``): its last
    digits are lost, so equal values do not mean the same request.
    """
    imprecise = np.zeros(len(values), dtype=bool)
    if pd.api.types.is_float_dtype(values.dtype):
        imprecise = _bool(values.abs() >= _INEXACT_ABOVE)
    elif values.dtype == object:
        imprecise = np.array(
            [isinstance(v, float) and abs(v) >= _INEXACT_ABOVE for v in values.tolist()],
            dtype=bool,
        )
    text = _text(values, missing)
    imprecise |= _bool(text.str.fullmatch(_SCIENTIFIC.pattern))
    text = text.str.replace(_WHOLE_FLOAT.pattern, r"\1", regex=True)
    scrubbed = np.zeros(len(text), dtype=bool)
    suspect = _bool(text.str.contains(_ID_SUSPECT, regex=True))  # several tokens or an e-mail
    if suspect.any():
        cleaned = [scrub_id(v) for v in text[suspect].tolist()]
        scrubbed[suspect] = [hit for _, hit in cleaned]
        text = text.copy()
        text[suspect] = pd.array([v for v, _ in cleaned], dtype="string")
    return text.mask(imprecise), imprecise, scrubbed


def _public_names(names: list[Any]) -> list[str]:
    """Column names for reports and messages; a name holding personal text is withheld."""
    out = []
    for j, name in enumerate(names):
        text = str(name)
        _, hit = scrub_patterns(text)
        if hit or drop_names(text)[1]:
            text = f"(column {j + 1}: name withheld, personal text)"
        out.append(text)
    return out


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
    study_period: str = "auto",
    min_label_rows: int = 5,
    encoding: str | None = None,
    sheet_name: str | int = 0,
) -> IngestResult:
    """Read hotline records into the canonical table, with a report of what happened.

    Parameters
    ----------
    source
        Path of a ``.xlsx``/``.xlsm``, ``.csv``/``.tsv``/``.txt`` (UTF-8, UTF-8 with BOM or
        GB18030; comma, tab, semicolon or pipe delimited) or ``.parquet`` file, or a DataFrame.
        Delimited text may be compressed: ``.csv.gz`` (``.tsv.gz``, ``.txt.gz``) or a ``.zip``
        holding exactly one such file; the report's ``sha256`` is of the bytes as stored.
        The source is never modified.
    preset
        ``"qd12345"``, ``"nyc311"``, ``"nyc311_brooklyn_noise"`` or a
        :class:`~predgov.data.presets.Preset`: accepted column spellings, timezone, taxonomy,
        district table, personal columns, constants and time formats.
    mapping
        Canonical field → source column (or list of spellings); alone or overriding the preset.
        Optional keys ``constants`` (field → value), ``extras`` (numeric column name → source
        column), ``personal`` (kind → columns), ``timezone``, ``time_formats`` and
        ``duplicates`` (source column → values marking a duplicate report; replaces the
        preset's, ``{}`` keeps such rows). A Hydra / OmegaConf ``DictConfig`` is accepted.
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
        includes that whole day; naive bounds are in the source timezone. Replaces the
        default study period.
    study_period
        Without ``period``: ``"auto"`` (default) keeps the dense span of received dates, so
        that a few far-away rows (a stray 1999 in a 2022–2024 export) are rejected as
        ``outside_study_period`` instead of stretching the cube (rule:
        :mod:`predgov.data.studyperiod`); ``"all"`` keeps every dated row.
    min_label_rows
        K-anonymity backstop: a district, category, grid, subcategory, channel or department
        label that no reference table knows and that fewer accepted rows hold is replaced by
        ``"其他/other (unmapped)"`` (1 switches it off).
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
        without a timezone, pseudonymisation without a key, an unknown ``study_period``.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({
    ...     "工单编号": ["A1", "A2", "A3"],
    ...     "受理时间": ["2024-11-20 08:30:00", "2024-11-20 09:00:00", "坏时间"],
    ...     "区（市）": ["市南区 13912345678", "黄岛区", "市北区"],
    ...     "诉求分类二级": ["供暖", "其他", "供热"],
    ...     "联系电话": ["13800138000", "13900139000", "13700137000"],
    ... })
    >>> records, report = read_records(raw, preset="qd12345")
    >>> records[["district", "category"]].values.tolist()
    [['市南', 'heating'], ['西海岸新区', '其他/other (unmapped)']]
    >>> str(records["received_at"].dt.tz)
    'Asia/Shanghai'
    >>> report.rejected_by_reason["unparseable_time"], report.unmapped_categories
    (1, {'其他/other (unmapped)': 1})
    >>> report.scrubbed, report.generalised
    ({'district': 1}, {'category': 1})
    >>> "联系电话" in report.dropped_columns, "联系电话" in records.columns
    (True, False)
    """
    spec = _build_spec(preset, mapping, timezone)
    if study_period not in _STUDY_PERIODS:
        raise IngestError(f"study_period must be one of {_STUDY_PERIODS}, got {study_period!r}")
    key_bytes = resolve_key(key) if pseudonymise else None
    frame, name, digest, n_malformed = _load(source, spec, encoding, sheet_name)
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
            f"{_public_names(found[:40])}{hint}"
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
    if n == 0 and n_malformed:
        raise IngestError(
            f"{name}: none of the {n_malformed} data rows could be parsed (an unbalanced quote "
            "or a wrong number of fields in every row)"
        )
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
    rec_times = _parse_times(rec_src, spec, "received_at", name)
    received = rec_times.values

    # ---- districts and categories
    district_raw = text_field("district")
    cat2 = text_field("category")
    cat1 = text_field("category_l1")
    if cat2 is None:
        cat2 = cat1
    elif cat1 is not None:
        cat2 = cat2.fillna(cat1)

    district_l = _labels(district_raw, dist)
    category_l = _labels(cat2, tax)
    district, district_known = district_l.values, district_l.known
    category, category_known = category_l.values, category_l.known

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
    span: dict[str, str | None] = {"mode": "explicit" if period is not None else study_period,
                                   "start": None, "end": None}
    if period is not None:
        span.update(start=_iso(period[0]), end=_iso(period[1]))
    elif study_period == "auto":
        dated = reason == ""
        local_day = received.dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
        dense = dense_span(local_day[dated])
        if dense is not None:
            first, last = dense
            span.update(start=str(first.date()), end=str(last.date()))
            outside = _bool((local_day < first) | (local_day > last))
            reject(outside & dated, "outside_study_period")
    reject(district.isna().to_numpy(), "missing_district")
    reject(category.isna().to_numpy(), "missing_category")
    if strict:
        reject(~district_known.to_numpy(), "unknown_district")
        reject(~category_known.to_numpy(), "unknown_category")
    dup_col, dup_values = _duplicate_column(
        [c for c in frame.columns if c not in {*used.values(), *extras.values()}], spec)
    if dup_col is not None:
        marked = _text(frame[dup_col], spec.missing_values).str.casefold()
        reject(_bool(marked.isin(dup_values)), "duplicate_report")
    record_id, id_imprecise, id_scrubbed = None, np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    if "record_id" in used:
        record_id, id_imprecise, id_scrubbed = _ids(frame[used["record_id"]], spec.missing_values)
    elif "record_id" in spec.constants:
        record_id = text_field("record_id")
    if record_id is not None:
        alive = reason == ""
        dup = np.zeros(n, dtype=bool)
        ids = record_id[alive]
        dup[np.flatnonzero(alive)] = (ids.duplicated(keep="first") & ids.notna()).to_numpy()
        reject(dup, "duplicate_id")
    keep = reason == ""

    # ---- warnings on kept rows: DST, guessed day/month and two-digit-year orders
    warnings.update(rec_times.flag_counts(keep))

    # ---- labels: rare unknown ones generalised (rows kept, plus rows rejected only for being
    # unknown, which the report lists); unmapped names counted as kept
    listed = keep | (reason == "unknown_district") | (reason == "unknown_category")
    scrubbed: dict[str, np.ndarray] = {}
    generalised: dict[str, np.ndarray] = {}

    def publishable(fld: str, labels: _Labels, rows: np.ndarray) -> pd.Series:
        if fld in spec.constants:  # a value the caller gave, not a cell of the source
            scrubbed[fld] = generalised[fld] = np.zeros(n, dtype=bool)
            return labels.values
        values, _ = generalise_rare(labels.values, labels.in_table, rows, min_label_rows)
        scrubbed[fld] = labels.scrubbed
        generalised[fld] = _bool(values != labels.values) & rows
        return values

    district = publishable("district", district_l, listed)
    category = publishable("category", category_l, listed)

    def unmapped(values: pd.Series, known: pd.Series) -> dict[str, int]:
        sel = values[listed & ~known.to_numpy() & values.notna().to_numpy()]
        counts = sel.value_counts()
        return {str(k): int(counts[k]) for k in sorted(counts.index, key=str)}

    unmapped_d = unmapped(district, district_known) if dist is not None else {}
    unmapped_c = unmapped(category, category_known) if tax is not None else {}

    # ---- assemble the records
    out: dict[str, pd.Series] = {}
    if record_id is not None:
        out["record_id"] = record_id
    out["received_at"] = received
    if "closed_at" in used:
        c_times = _parse_times(frame[used["closed_at"]], spec, "closed_at", name)
        closed = c_times.values
        guessed = c_times.flag_counts(keep)
        for kind in ("ambiguous_day_month", "ambiguous_two_digit_year"):
            warnings[kind] += guessed[kind]
        warnings["unparseable_closed_at"] += int(
            (c_times.unparseable | c_times.out_of_bounds)[keep].sum())
        before = _bool(closed < received)
        warnings["closed_before_received"] += int((before & keep).sum())
        out["closed_at"] = closed.mask(before)
    out["district"] = district
    labels = {fld: text_field(fld) for fld in _LABEL_FIELDS}
    for fld, series in labels.items():
        if series is not None:
            labels[fld] = publishable(fld, _labels(series, None), keep)
    if labels["grid"] is not None:
        out["grid"] = labels["grid"]
    out["category"] = category
    parent: pd.Series | None = None
    if tax is not None:
        parent_of = tax.table["parent"].where(tax.table["level"] == 2, tax.table["code"]).to_dict()
        parent = category.map(parent_of.get, na_action="ignore").astype("string")
    if cat1 is not None:
        hint = publishable("category_l1", _labels(cat1, tax), keep)
        parent = hint if parent is None else parent.fillna(hint)
    if parent is not None:
        out["parent"] = parent.astype("string")
    for fld in ("subcategory", "channel", "department"):
        if labels[fld] is not None:
            out[fld] = labels[fld]
    if "satisfied" in used:
        out["satisfied"] = _satisfaction(frame[used["satisfied"]], spec, warnings, keep)
    if "repeat_of" in used:
        repeat_of, imprecise, scrubbed["repeat_of"] = _ids(
            frame[used["repeat_of"]], spec.missing_values)
        id_imprecise = id_imprecise | imprecise
        out["repeat_of"] = repeat_of
    elif "repeat_of" in spec.constants:
        out["repeat_of"] = text_field("repeat_of")
    scrubbed["record_id"] = id_scrubbed
    warnings["imprecise_record_id"] += int((id_imprecise & keep).sum())
    any_scrubbed = np.zeros(n, dtype=bool)
    for mask in scrubbed.values():
        any_scrubbed |= mask
    warnings["scrubbed_personal_text"] += int((any_scrubbed & keep).sum())
    any_generalised = np.zeros(n, dtype=bool)
    for mask in generalised.values():
        any_generalised |= mask
    warnings["generalised_rare_label"] += int((any_generalised & keep).sum())
    for extra, col in extras.items():
        out[extra] = pd.to_numeric(
            _text(frame[col], spec.missing_values), errors="coerce").astype("float64")

    # ---- personal columns
    taken = set(used.values()) | set(extras.values()) | ({dup_col} if dup_col else set())
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
    by_reason["malformed_row"] = n_malformed
    column_map = {fld: used[fld] for fld in FIELDS if fld in used}
    column_map.update({fld: f"={v}" for fld, v in spec.constants.items()})
    column_map.update(extras)
    if dup_col is not None:
        column_map["duplicate_report"] = dup_col
    column_map = dict(zip(column_map, _public_names(list(column_map.values())), strict=True))
    report = IngestReport(
        source=name,
        preset=spec.preset,
        sha256=digest,
        rows_read=n + n_malformed,
        rows_accepted=len(records),
        rows_rejected=n + n_malformed - len(records),
        rejected_by_reason=by_reason,
        unmapped_districts=unmapped_d,
        unmapped_categories=unmapped_c,
        column_map=column_map,
        dropped_columns=_public_names(dropped),
        pseudonymised_columns=dict(
            zip(_public_names(list(pseudo)), pseudo.values(), strict=True)),
        unused_columns=_public_names(unused),
        warnings={w: int(warnings[w]) for w in WARNING_KINDS},
        timezone=tz,
        time_min=records["received_at"].min().isoformat() if len(records) else None,
        time_max=records["received_at"].max().isoformat() if len(records) else None,
        taxonomy=tax.name if tax is not None else None,
        districts=dist.name if dist is not None else None,
        strict=strict,
        study_period=span,
        scrubbed={f: int((m & keep).sum()) for f, m in scrubbed.items() if (m & keep).any()},
        generalised={f: int((m & keep).sum()) for f, m in generalised.items()
                     if (m & keep).any()},
    )
    report.check()
    return IngestResult(records, report)


