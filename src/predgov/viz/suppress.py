"""Small-cell suppression: the rule lives in :mod:`predgov.data.suppress` (the data layer, so
that table-producing stages such as :mod:`predgov.warn` need not import :mod:`predgov.viz`);
this module keeps the old import path working.
"""

from predgov.data.suppress import (
    ATTR_MIN_COUNT,
    ATTR_N_SUPPRESSED,
    MIN_COUNT,
    SUPPRESSED_COLUMN,
    complementary_mask,
    format_table,
    publishable_counts,
    small_cell_mask,
    suppress_small,
)

__all__ = [
    "ATTR_MIN_COUNT",
    "ATTR_N_SUPPRESSED",
    "MIN_COUNT",
    "SUPPRESSED_COLUMN",
    "complementary_mask",
    "format_table",
    "publishable_counts",
    "small_cell_mask",
    "suppress_small",
]
