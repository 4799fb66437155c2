"""Stored CUSUM threshold tables (predgov.warn.arl): weekly and monthly entries are what the
construction computes, and the interpolated thresholds give the nominal run length."""

from __future__ import annotations

import numpy as np
import pytest

from predgov.data.freq import periods_per_year
from predgov.warn.arl import (
    ALPHA_GRID,
    LOG_MU_GRID,
    STORED_TABLES,
    cusum_arl,
    format_table,
    table_cell,
    threshold_table,
)


@pytest.mark.parametrize("freq", ["D", "W-MON", "MS"])
def test_default_tables_are_stored_for_every_frequency(freq):
    key = (2.0, 0.7, freq, "nb")
    table = threshold_table(*key)
    assert table is STORED_TABLES[key]  # no computation on first use
    assert table.shape == (len(LOG_MU_GRID), len(ALPHA_GRID))
    assert np.isfinite(table).all() and (table > 0).all()


@pytest.mark.parametrize(
    ("freq", "cells"), [("W-MON", [(2, 0), (9, 5)]), ("MS", [(4, 3), (12, 8)])]
)
def test_stored_entry_equals_a_fresh_computation(freq, cells):
    table = STORED_TABLES[(2.0, 0.7, freq, "nb")]
    for i, j in cells:
        assert table_cell(i, j, 2.0, 0.7, freq) == pytest.approx(table[i, j], abs=5.1e-4)


@pytest.mark.parametrize(("freq", "i", "j"), [("W-MON", 8, 4), ("MS", 10, 2)])
def test_stored_threshold_gives_the_nominal_rate(freq, i, j):
    """Independent oracle: the Brook-Evans run length at the stored threshold (finer chain)."""
    h = STORED_TABLES[(2.0, 0.7, freq, "nb")][i, j]
    mu, al = 10.0 ** LOG_MU_GRID[i], ALPHA_GRID[j]
    fa = periods_per_year(freq) / cusum_arl(mu, 1.0 / al, 2.0, h, n_states=400)
    assert fa == pytest.approx(0.7, rel=0.1)


def test_weekly_and_daily_tables_differ():
    """Fewer periods per year: a lower threshold for the same false alarms per year."""
    d, w, m = (STORED_TABLES[(2.0, 0.7, f, "nb")] for f in ("D", "W-MON", "MS"))
    assert (w < d).all() and (m < w).all()


def test_format_table_round_trips():
    table = np.array([[1.23449, 2.0], [0.5, 3.2]])
    src = format_table(table, (2.0, 0.7, "W-MON", "nb"))
    entry = eval("{" + src + "}", {"np": np})
    assert list(entry) == [(2.0, 0.7, "W-MON", "nb")]
    np.testing.assert_array_equal(entry[(2.0, 0.7, "W-MON", "nb")], [[1.234, 2.0], [0.5, 3.2]])


def test_daily_default_table_is_stored_at_its_margin():
    """The daily default's thresholds aim at fa x FA_MARGIN["D"] (0.6): that table is stored,
    its entries are what the construction computes, and they give the nominal rate."""
    from predgov.warn.cusum import fa_margin

    key = (2.0, fa_margin("D"), "D", "nb")
    assert key == (2.0, 0.6, "D", "nb")
    table = threshold_table(*key)
    assert table is STORED_TABLES[key]
    assert table_cell(6, 3, 2.0, 0.6, "D") == pytest.approx(table[6, 3], abs=5.1e-4)
    mu, al = 10.0 ** LOG_MU_GRID[6], ALPHA_GRID[3]
    fa = 365.25 / cusum_arl(mu, 1.0 / al, 2.0, table[6, 3], n_states=400)
    assert fa == pytest.approx(0.6, rel=0.1)
    # a lower rate than the 0.7 table: higher thresholds everywhere
    assert (table >= STORED_TABLES[(2.0, 0.7, "D", "nb")] - 0.02).all()
