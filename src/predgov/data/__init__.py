"""predgov.data: hotline records → validated, privacy-safe records → cube; calendar; demo city.

The names here are the stage's public contract (DESIGN.md). ``calendar`` is the function; the
module is ``predgov.data.calendar`` (import it with ``from predgov.data.calendar import ...``).
"""

from predgov.data.calendar import calendar
from predgov.data.cube import (
    FREQS,
    read_cube,
    resample_counts,
    rollup,
    time_axis,
    to_city,
    to_cube,
    to_parent,
    write_cube,
)
from predgov.data.demo import demo_city
from predgov.data.presets import PRESETS, Preset, get_preset, register_preset
from predgov.data.privacy import pseudonym
from predgov.data.records import IngestResult, read_records
from predgov.data.report import IngestError, IngestReport
from predgov.data.synthetic_export import synthetic_export
from predgov.data.taxonomy import (
    DistrictTable,
    Taxonomy,
    load_districts,
    load_taxonomy,
)

__all__ = [
    "FREQS",
    "PRESETS",
    "DistrictTable",
    "IngestError",
    "IngestReport",
    "IngestResult",
    "Preset",
    "Taxonomy",
    "calendar",
    "demo_city",
    "get_preset",
    "load_districts",
    "load_taxonomy",
    "pseudonym",
    "read_cube",
    "read_records",
    "register_preset",
    "resample_counts",
    "rollup",
    "synthetic_export",
    "time_axis",
    "to_city",
    "to_cube",
    "to_parent",
    "write_cube",
]
