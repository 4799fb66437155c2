"""Which periods of a time axis a season window covers ("last heating season", a date range).

A window is given as

* ``None``: the whole axis;
* ``(start, end)`` as ``"MM-DD"`` strings: a season that recurs every year (Qingdao heating
  ``("11-15", "04-05")``, wrapping over the new year as in ``conf/city/qingdao.yaml``); the
  *last* (for history) or *first* (for a forecast) occurrence that the axis covers completely
  is taken, so a season the data only half hold is never mistaken for a whole one;
* ``(start, end)`` as dates (anything ``pandas.Timestamp`` reads): that range, inclusive.

A period (day, week or month) belongs to the window when at least half of its days lie inside
the range: monthly data with a heating season of 15 November to 5 April take November
(16 of 30 days) to March, not April (5 of 30 days).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

_MONTH_DAY = re.compile(r"^\s*(\d{1,2})-(\d{1,2})\s*$")


class Window(NamedTuple):
    """Periods of an axis inside a window: boolean ``mask`` and the range ``start..end`` (days,
    inclusive) that was asked for."""

    mask: np.ndarray
    start: pd.Timestamp
    end: pd.Timestamp

    def label(self) -> str:
        """``"YYYY-MM-DD..YYYY-MM-DD"``, for attrs."""
        return f"{self.start:%Y-%m-%d}..{self.end:%Y-%m-%d}"


def _month_day(value: Any) -> tuple[int, int] | None:
    match = _MONTH_DAY.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    month, day = int(match.group(1)), int(match.group(2))
    try:
        dt.date(2024, month, day)  # a leap year, so "02-29" is allowed
    except ValueError:
        return None
    return month, day


def _occurrence(year: int, first: tuple[int, int], last: tuple[int, int]) -> tuple[Any, Any]:
    """The season starting in ``year`` (ending the next year when it wraps)."""
    end_year = year + (1 if last < first else 0)
    # 29 February in a common year: the season starts on 1 March / ends on 28 February.
    start = pd.Timestamp(year, first[0], 1) + pd.Timedelta(days=first[1] - 1)
    end_month = pd.Timestamp(end_year, last[0], 1)
    end = min(end_month + pd.Timedelta(days=last[1] - 1), end_month + pd.offsets.MonthEnd(0))
    return start, end


def period_edges(time: pd.DatetimeIndex, freq: str) -> np.ndarray:
    """Start of every period and the start of the period after the last (``len(time) + 1``).

    Examples
    --------
    >>> t = pd.date_range("2024-01-01", periods=2, freq="MS")
    >>> [str(x)[:10] for x in period_edges(t, "MS")]
    ['2024-01-01', '2024-02-01', '2024-03-01']
    """
    if len(time) == 0:
        return np.array([], dtype="datetime64[ns]")
    edges = pd.date_range(time[0], periods=len(time) + 1, freq=freq)
    return edges.values.astype("datetime64[ns]")


def season_window(
    time: pd.DatetimeIndex | np.ndarray,
    freq: str,
    season: Sequence[Any] | None,
    *,
    pick: Literal["last", "first"] = "last",
    name: str = "season",
) -> Window:
    """The periods of ``time`` inside a season window (see the module docstring).

    Parameters
    ----------
    time
        Regular period labels (``"D"``, ``"W-MON"`` or ``"MS"``).
    freq
        Their frequency.
    season
        ``None``, ``("MM-DD", "MM-DD")`` (a recurring season) or ``(start_date, end_date)``.
    pick
        For a recurring season: the ``"last"`` or ``"first"`` occurrence the axis covers
        completely.
    name
        Argument name used in error messages.

    Returns
    -------
    Window
        ``mask`` over ``time`` and the ``start``/``end`` days of the range.

    Raises
    ------
    ValueError
        Naming ``name``: a malformed window, no complete occurrence of a recurring season, or
        a window holding no period of the axis.

    Examples
    --------
    >>> t = pd.date_range("2012-01-01", "2014-12-01", freq="MS")
    >>> w = season_window(t, "MS", ("11-15", "04-05"))
    >>> w.label(), [f"{x:%Y-%m}" for x in t[w.mask]]
    ('2013-11-15..2014-04-05', ['2013-11', '2013-12', '2014-01', '2014-02', '2014-03'])
    >>> int(season_window(t, "MS", ("2014-06-01", "2014-08-31")).mask.sum())
    3
    """
    index = pd.DatetimeIndex(time)
    edges = period_edges(index, freq)
    if season is None:
        if len(index) == 0:
            raise ValueError(f"{name}: the time axis is empty")
        return Window(
            np.ones(len(index), dtype=bool),
            index[0],
            pd.Timestamp(edges[-1]) - pd.Timedelta(days=1),
        )
    if isinstance(season, str | bytes) or len(season) != 2:
        raise ValueError(
            f"{name} must be None, ('MM-DD', 'MM-DD') or (start_date, end_date), got {season!r}"
        )
    covered = (pd.Timestamp(edges[0]), pd.Timestamp(edges[-1]) - pd.Timedelta(days=1))
    md = [_month_day(v) for v in season]
    if all(m is not None for m in md):
        first, last = md  # type: ignore[misc]
        years = range(covered[0].year - 1, covered[1].year + 1)
        spans = [_occurrence(y, first, last) for y in years]
        complete = [(s, e) for s, e in spans if s >= covered[0] and e <= covered[1]]
        if not complete:
            raise ValueError(
                f"{name}={tuple(season)!r}: the data ({covered[0]:%Y-%m-%d}..{covered[1]:%Y-%m-%d}"
                ") hold no complete occurrence of this season"
            )
        start, end = complete[-1] if pick == "last" else complete[0]
    elif any(m is not None for m in md):
        raise ValueError(f"{name}: give both ends as 'MM-DD' or both as dates, got {season!r}")
    else:
        try:
            start, end = (pd.Timestamp(v).normalize() for v in season)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} must be None, ('MM-DD', 'MM-DD') or (start_date, end_date), got {season!r}"
            ) from None
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError(f"{name}: give local dates without a timezone, got {season!r}")
        if end < start:
            raise ValueError(f"{name}: end {end:%Y-%m-%d} is before start {start:%Y-%m-%d}")
    lo, hi = edges[:-1], edges[1:]
    inside = np.minimum(hi, np.datetime64(end + pd.Timedelta(days=1))) - np.maximum(
        lo, np.datetime64(start)
    )
    share = np.clip(inside / (hi - lo), 0.0, 1.0)
    mask = share >= 0.5
    if not mask.any():
        raise ValueError(
            f"{name}: the window {start:%Y-%m-%d}..{end:%Y-%m-%d} holds no period of the data "
            f"({covered[0]:%Y-%m-%d}..{covered[1]:%Y-%m-%d})"
        )
    return Window(mask, start, end)
