"""The default study period: the dense span of received times, which a few far-away rows
cannot stretch.

A stray row dated 1999-01-01 in a 2022–2024 export would otherwise stretch the cube over
25 years of zeros (slow runs, meaningless forecasts and alerts). :func:`dense_span` finds the
span to keep, deterministically, from the distinct local *dates* of the dated rows:

1. Gaps between consecutive dates are *large* when longer than ``min_gap_days`` (60) days
   and ``gap_factor`` (10) times the median gap between dates.
2. At the start, the rows before a large gap are *outside* the study period when

   * they and the rows cut so far are at most ``max_share`` (0.5 %) of the dated rows (at
     least one row once there are 100 or more dated rows), and
   * the gap is longer than ``seasonal_factor`` (2) times the longest gap left inside the
     remaining span, so that regular off-season gaps (a heating hotline's quiet summers)
     never cut years off: rows beyond such a gap go only when the gap clearly exceeds the
     data's own gaps.

   The innermost large gap that qualifies is taken (so two strays in 1998 and 1999 go
   together); the same is done at the end, and both repeat until nothing qualifies.

The result is the first and last date kept; rows outside are rejected by ``read_records`` as
``outside_study_period`` (counted, and listed on the console by the data stage). An explicit
``period`` replaces the rule, ``study_period="all"`` switches it off.

Measured on the shared real files: Brooklyn 2023 noise keeps every row; Boston heat
2011–2018 (sparse, gaps up to 50 days in summer) keeps every row; Chicago sanitation
2011–2014 drops the 28 placeholder rows of 2000 (ten years before the rest) and 3 rows of
January–February 2010 (86 days before the next record).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["dense_span"]


def dense_span(
    dates: pd.Series | pd.DatetimeIndex | np.ndarray,
    *,
    max_share: float = 0.005,
    min_gap_days: int = 60,
    gap_factor: float = 10.0,
    seasonal_factor: float = 2.0,
) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """First and last date of the dense span of ``dates`` (see the module docstring).

    Parameters
    ----------
    dates
        Local dates or times of the dated rows (one per row; NaT ignored; tz-aware values
        are taken in their own timezone).
    max_share
        Largest share of rows that may fall outside.
    min_gap_days, gap_factor
        A gap is large when longer than both ``min_gap_days`` and ``gap_factor`` times the
        median gap between distinct dates.
    seasonal_factor
        An edge segment is cut only beyond a gap this many times the longest gap left inside.

    Returns
    -------
    tuple of Timestamp or None
        ``(first, last)`` dates (naive midnights) to keep; None without dated rows.

    Examples
    --------
    >>> days = pd.date_range("2022-01-01", "2024-12-31", freq="D")
    >>> dates = pd.Series(days.repeat(3).append(pd.DatetimeIndex(["1999-01-01"])))
    >>> [str(d.date()) for d in dense_span(dates)]
    ['2022-01-01', '2024-12-31']
    >>> summers_off = pd.Series(days[days.month.isin([1, 2, 3, 10, 11, 12])].repeat(3))
    >>> [str(d.date()) for d in dense_span(summers_off)]
    ['2022-01-01', '2024-12-31']
    """
    values = pd.Series(dates)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_localize(None)
    values = pd.to_datetime(values).dropna()
    if values.empty:
        return None
    days = values.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)
    unique, counts = np.unique(days, return_counts=True)
    n = int(counts.sum())

    def day(i: int) -> pd.Timestamp:
        return pd.Timestamp(np.datetime64(int(unique[i]), "D"))

    if len(unique) < 2:
        return day(0), day(len(unique) - 1)
    gaps = np.diff(unique)
    threshold = max(float(min_gap_days), gap_factor * float(np.median(gaps)))
    budget = max(int(np.floor(max_share * n)), 1 if n >= 100 else 0)
    lo, hi, cut = 0, len(unique) - 1, 0  # kept: unique[lo..hi]

    def inner_max(a: int, b: int) -> float:
        """Longest gap between unique[a] and unique[b] (0 when a >= b)."""
        return float(gaps[a:b].max()) if b > a else 0.0

    changed = True
    while changed and hi > lo:
        changed = False
        # start side: cut unique[lo..k] at the innermost large gap k that qualifies
        for k in np.flatnonzero(gaps[lo:hi] > threshold)[::-1] + lo:
            rows = int(counts[lo:k + 1].sum())
            if cut + rows <= budget and gaps[k] > seasonal_factor * inner_max(k + 1, hi):
                lo, cut, changed = int(k) + 1, cut + rows, True
                break
        # end side: cut unique[k+1..hi]
        for k in np.flatnonzero(gaps[lo:hi] > threshold) + lo:
            rows = int(counts[k + 1:hi + 1].sum())
            if cut + rows <= budget and gaps[k] > seasonal_factor * inner_max(lo, k):
                hi, cut, changed = int(k), cut + rows, True
                break
    return day(lo), day(hi)
