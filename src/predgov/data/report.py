"""The ingest report: what :func:`predgov.data.read_records` read, kept, rejected and dropped.

The report holds counts and column *names* only, never a cell value of a personal column and
never the pseudonymisation key. Its JSON form is deterministic (sorted keys, no timestamps), so
it can go into a run directory and be compared byte for byte.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any


class IngestError(ValueError):
    """An input that cannot be read as records (the message names the file and the problem)."""


#: Rejection reasons, in the order rows are checked (a row counts under the first that fails).
REJECTION_REASONS: tuple[str, ...] = (
    "malformed_row",
    "missing_time",
    "unparseable_time",
    "time_out_of_range",
    "outside_study_period",
    "missing_district",
    "missing_category",
    "unknown_district",
    "unknown_category",
    "duplicate_report",
    "duplicate_id",
)

#: Warnings counted over accepted rows (the row is kept; see ``read_records``).
WARNING_KINDS: tuple[str, ...] = (
    "closed_before_received",
    "unparseable_closed_at",
    "ambiguous_local_time",
    "nonexistent_local_time",
    "ambiguous_day_month",
    "ambiguous_two_digit_year",
    "unrecognised_satisfaction",
    "imprecise_record_id",
    "scrubbed_personal_text",
    "generalised_rare_label",
)


#: Report entries whose counts are cube row / column totals (suppressed when published).
_SUPPRESSED: tuple[str, ...] = ("unmapped_districts", "unmapped_categories", "generalised")
_SUPPRESSED_WARNINGS: tuple[str, ...] = ("generalised_rare_label",)


def _zeros(keys: tuple[str, ...]) -> dict[str, int]:
    return dict.fromkeys(keys, 0)


def suppress_counts(counts: dict[str, int], min_count: int) -> dict[str, int | str]:
    """Counts with those from 1 to ``min_count - 1`` replaced by ``"<min_count"`` (0 stays 0).

    Examples
    --------
    >>> suppress_counts({"a": 0, "b": 3, "c": 5}, 5)
    {'a': 0, 'b': '<5', 'c': 5}
    """
    return {k: (f"<{min_count}" if 0 < int(v) < min_count else int(v)) for k, v in counts.items()}


@dataclass
class IngestReport:
    """Counts and column names describing one ingest.

    Attributes
    ----------
    source
        File name of the source (``"DataFrame"`` for an in-memory frame).
    preset
        Preset name, or None for a mapping-only ingest.
    sha256
        SHA-256 of the source file bytes (None for a DataFrame).
    rows_read, rows_accepted, rows_rejected
        Data rows in the source (completely blank rows are not counted), rows in the records,
        rows rejected; ``rows_read == rows_accepted + rows_rejected``.
    rejected_by_reason
        Every reason of :data:`REJECTION_REASONS` with its count (zeros included).
    unmapped_districts, unmapped_categories
        Names the district table / taxonomy does not know, as kept in the records (personal
        text scrubbed, rare names generalised), with row counts over accepted rows.
    column_map
        Canonical field → source column used (or ``"=<value>"`` for a constant).
    dropped_columns
        Personal source columns dropped (names only).
    pseudonymised_columns
        Personal source column → pseudonym column (names only).
    unused_columns
        Other source columns not carried into the records.
    warnings
        Every kind of :data:`WARNING_KINDS` with its count over accepted rows.
    timezone
        Timezone of ``received_at``.
    time_min, time_max
        First and last accepted ``received_at`` (ISO 8601), None without accepted rows.
    taxonomy, districts
        Names of the taxonomy and district table mapped onto (None: no mapping).
    strict
        Whether unknown districts / categories were rejected.
    study_period
        How the accepted span of received times was set: ``mode`` (``"auto"``, ``"all"`` or
        ``"explicit"``) and the ``start`` / ``end`` dates kept (None: unbounded).
    scrubbed
        Text field → accepted rows whose value had personal text (phone, ID number, e-mail,
        name) removed. Counts only, never the values.
    generalised
        Text field → accepted rows whose label, unknown to the tables and seen in fewer than
        ``min_label_rows`` rows, was replaced by a generic label.

    Examples
    --------
    >>> r = IngestReport(source="x.csv", rows_read=3, rows_accepted=2, rows_rejected=1)
    >>> r.rejected_by_reason["missing_time"] = 1
    >>> r.check()
    >>> r.to_dict()["rows_read"]
    3
    """

    source: str
    preset: str | None = None
    sha256: str | None = None
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=lambda: _zeros(REJECTION_REASONS))
    unmapped_districts: dict[str, int] = field(default_factory=dict)
    unmapped_categories: dict[str, int] = field(default_factory=dict)
    column_map: dict[str, str] = field(default_factory=dict)
    dropped_columns: list[str] = field(default_factory=list)
    pseudonymised_columns: dict[str, str] = field(default_factory=dict)
    unused_columns: list[str] = field(default_factory=list)
    warnings: dict[str, int] = field(default_factory=lambda: _zeros(WARNING_KINDS))
    timezone: str | None = None
    time_min: str | None = None
    time_max: str | None = None
    taxonomy: str | None = None
    districts: str | None = None
    strict: bool = False
    study_period: dict[str, str | None] = field(default_factory=dict)
    scrubbed: dict[str, int] = field(default_factory=dict)
    generalised: dict[str, int] = field(default_factory=dict)

    def check(self) -> None:
        """Assert the row accounting adds up (``rows_read == accepted + Σ rejected``)."""
        total = sum(self.rejected_by_reason.values())
        if not (self.rows_read == self.rows_accepted + total and self.rows_rejected == total):
            raise AssertionError(
                f"ingest accounting broken: read {self.rows_read}, accepted {self.rows_accepted}, "
                f"rejected {self.rows_rejected} (by reason {total})"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (copies)."""
        return asdict(self)

    def published(self, min_count: int) -> dict[str, Any]:
        """The dict form for publication: small counts that map onto table cells suppressed.

        Row counts per unmapped label and per generalised field are totals of cube rows or
        columns; below ``min_count`` they are shown as the string ``"<min_count"`` (as the
        published tables show small cells), so that they cannot be used to recover suppressed
        cells by subtraction. The report object itself keeps exact counts.

        Examples
        --------
        >>> r = IngestReport(source="a.csv", unmapped_districts={"高新区": 12, "青岛市": 2})
        >>> r.published(5)["unmapped_districts"]
        {'高新区': 12, '青岛市': '<5'}
        """
        data = self.to_dict()
        for key in _SUPPRESSED:
            data[key] = suppress_counts(data[key], min_count)
        data["warnings"] = {
            k: (suppress_counts({k: v}, min_count)[k] if k in _SUPPRESSED_WARNINGS else v)
            for k, v in data["warnings"].items()
        }
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IngestReport:
        """Rebuild a report from :meth:`to_dict` output (unknown keys ignored).

        Examples
        --------
        >>> r = IngestReport(source="a.csv", rows_read=1, rows_accepted=1)
        >>> IngestReport.from_dict(r.to_dict()) == r
        True
        """
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_json(self) -> str:
        """Deterministic JSON text (UTF-8 characters kept, sorted keys, trailing newline)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True, indent=2) + "\n"

    def save(self, path: str | Path) -> Path:
        """Write the report: the text form for ``.txt`` / ``.md`` paths, else JSON.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> p = IngestReport(source="a.csv").save(d / "ingest.json")
        >>> IngestReport.load(p).source
        'a.csv'
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() in {".txt", ".md"}:
            text = str(self) + "\n"
            if path.suffix.lower() == ".md":
                text = "```\n" + text + "```\n"
            path.write_text(text, encoding="utf-8")
        else:
            path.write_text(self.to_json(), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> IngestReport:
        """Read a report saved as JSON."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def __str__(self) -> str:
        return self.to_text()

    def to_text(self, min_count: int | None = None) -> str:
        """Text form; with ``min_count``, the counts :meth:`published` suppresses show as "<n".

        Examples
        --------
        >>> r = IngestReport(source="a.csv", districts="qingdao", unmapped_districts={"x": 2})
        >>> "<5" in r.to_text(min_count=5), "<5" in str(r)
        (True, False)
        """
        data = self.published(min_count) if min_count is not None else self.to_dict()

        def num(v: int | str) -> str:
            return f"{v:>9,}" if isinstance(v, int) else f"{v:>9}"

        def counts(d: dict[str, Any], limit: int = 12) -> list[str]:
            if not d:
                return ["    (none)"]
            items = list(d.items())
            lines = [f"    {k:<26} {num(v)}" for k, v in items[:limit]]
            if len(items) > limit:
                more = f"... {len(items) - limit} more"
                rest = [v for _, v in items[limit:]]
                total = sum(rest) if all(isinstance(v, int) for v in rest) else "-"
                if min_count is not None and isinstance(total, int) and total < min_count:
                    total = f"<{min_count}"
                lines.append(f"    {more:<26} {num(total)}")
            return lines

        def names(items: list[str]) -> str:
            return ", ".join(items) if items else "(none)"

        sp = self.study_period or {}
        period = (f"{sp.get('start') or '-'} .. {sp.get('end') or '-'} ({sp.get('mode')})"
                  if sp else "-")
        lines = [
            f"Ingest report: {self.source}",
            f"  preset            {self.preset or '(mapping only)'}",
            f"  sha256            {self.sha256 or '-'}",
            f"  timezone          {self.timezone or '-'}",
            f"  taxonomy          {self.taxonomy or '-'}",
            f"  district table    {self.districts or '-'}",
            f"  strict            {'yes' if self.strict else 'no'}",
            f"  rows read         {self.rows_read:>9,}",
            f"  rows accepted     {self.rows_accepted:>9,}",
            f"  rows rejected     {self.rows_rejected:>9,}",
            *[f"    {k:<26} {v:>9,}" for k, v in self.rejected_by_reason.items()],
            f"  time range        {self.time_min or '-'} .. {self.time_max or '-'}",
            f"  study period      {period}",
            "  warnings (rows kept)",
            *[f"    {k:<26} {num(v)}" for k, v in data["warnings"].items()],
            "  personal text scrubbed (rows)",
            *counts(data["scrubbed"]),
            "  rare labels generalised (rows)",
            *counts(data["generalised"]),
            "  unmapped districts (rows)",
            *(counts(data["unmapped_districts"]) if self.districts
              else ["    (no district table)"]),
            "  unmapped categories (rows)",
            *(counts(data["unmapped_categories"]) if self.taxonomy else ["    (no taxonomy)"]),
            "  columns",
            *[f"    {k:<26} <- {v}" for k, v in self.column_map.items()],
            f"  dropped (personal) {names(self.dropped_columns)}",
            "  pseudonymised      "
            + names([f"{k} -> {v}" for k, v in self.pseudonymised_columns.items()]),
            f"  unused columns     {names(self.unused_columns)}",
        ]
        return "\n".join(lines)
