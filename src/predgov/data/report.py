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
    "missing_time",
    "unparseable_time",
    "time_out_of_range",
    "missing_district",
    "missing_category",
    "unknown_district",
    "unknown_category",
    "duplicate_id",
)

#: Warnings counted over accepted rows (the row is kept; see ``read_records``).
WARNING_KINDS: tuple[str, ...] = (
    "closed_before_received",
    "unparseable_closed_at",
    "ambiguous_local_time",
    "nonexistent_local_time",
    "unrecognised_satisfaction",
)


def _zeros(keys: tuple[str, ...]) -> dict[str, int]:
    return dict.fromkeys(keys, 0)


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
        Names the district table / taxonomy does not know, as spelled, with row counts.
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
        def counts(d: dict[str, int], limit: int = 12) -> list[str]:
            if not d:
                return ["    (none)"]
            items = list(d.items())
            lines = [f"    {k:<26} {v:>9,}" for k, v in items[:limit]]
            if len(items) > limit:
                rest = sum(v for _, v in items[limit:])
                lines.append(f"    ... {len(items) - limit} more{'':<15} {rest:>9,}")
            return lines

        def names(items: list[str]) -> str:
            return ", ".join(items) if items else "(none)"

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
            "  warnings (rows kept)",
            *[f"    {k:<26} {v:>9,}" for k, v in self.warnings.items()],
            "  unmapped districts (rows)",
            *(counts(self.unmapped_districts) if self.districts else ["    (no district table)"]),
            "  unmapped categories (rows)",
            *(counts(self.unmapped_categories) if self.taxonomy else ["    (no taxonomy)"]),
            "  columns",
            *[f"    {k:<26} <- {v}" for k, v in self.column_map.items()],
            f"  dropped (personal) {names(self.dropped_columns)}",
            "  pseudonymised      "
            + names([f"{k} -> {v}" for k, v in self.pseudonymised_columns.items()]),
            f"  unused columns     {names(self.unused_columns)}",
        ]
        return "\n".join(lines)
