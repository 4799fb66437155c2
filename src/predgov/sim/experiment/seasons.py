"""Multi-season experiments: decide, act, observe, decide again (issue 10 §4).

One run covers a burn-in season (the hotline history), then for each evaluation season a
*cycle*: the preparation (interventions in the off-season, decided on the history recorded so
far) and the season itself. The arms' interventions are repeated before every later season,
shifted by the distance between the seasons' first days, so the second decision is taken on a
history the first one already changed: calls that were averted are missing from it (the
prevention paradox). Every run of a seed, baseline and arms, shares the seed's draws over the
whole horizon (common random numbers), so the paired effect of each season is a difference of
two runs that differ only by the interventions.

Days are labelled along ``time`` by a ``season`` coordinate that partitions the run:

* ``"burn_in"``: days before the first cycle;
* a season's name: its cycle, from ``cycle_start`` (the earliest first day of any arm's
  interventions for that season, shifted like them; at the latest the season's first day)
  to the season's last day; preparation costs and calls both count there;
* ``"off_season"``: days between one season's end and the next cycle, and after the last.

Sums over the labels give the whole horizon's totals (``tests/sim/test_experiment.py``).

Examples
--------
>>> table = season_table({"2025-26": ("2025-11-15", "2026-04-05"),
...                       "2026-27": ("2026-11-15", "2027-04-05")})
>>> [(s.name, str(s.shift.days)) for s in table]
[('2025-26', '0'), ('2026-27', '365')]
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

#: Labels of the days outside every cycle.
BURN_IN, OFF_SEASON = "burn_in", "off_season"


@dataclass(frozen=True)
class Season:
    """One evaluation season: its name, first and last day, the shift of its interventions
    (first day minus the first season's first day) and the first day of its cycle."""

    name: str
    first: pd.Timestamp
    last: pd.Timestamp
    shift: pd.Timedelta
    cycle_start: pd.Timestamp

    def as_list(self) -> list[str]:
        """``[name, cycle_start, first, last]`` as ISO dates (the JSON form)."""
        return [self.name, *(str(d.date()) for d in (self.cycle_start, self.first, self.last))]


def season_table(seasons: Mapping[str, Sequence[Any]] | Sequence[Sequence[Any]]) -> list[Season]:
    """Check and order evaluation seasons: a mapping name -> ``(first, last)`` or a list of
    ``(first, last)`` (named ``season_1``, ``season_2``, ...). Cycles start on the season's
    first day until :func:`with_cycles` moves them to the preparation.

    Examples
    --------
    >>> [s.name for s in season_table([("2025-11-15", "2026-04-05")])]
    ['season_1']
    >>> season_table([("2025-11-15", "2026-04-05"), ("2026-01-01", "2026-03-01")])
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: seasons overlap or are out of order: season_2 starts 2026-01-01, ...
    """
    if isinstance(seasons, Mapping):
        items = [(str(k), v) for k, v in seasons.items()]
    elif isinstance(seasons, Sequence) and not isinstance(seasons, str):
        items = [(f"season_{k + 1}", v) for k, v in enumerate(seasons)]
    else:
        raise TypeError(f"seasons must be a mapping name -> (first, last) or a list of "
                        f"(first, last), not {type(seasons).__name__}")  # fmt: skip
    if not items:
        raise ValueError("seasons: give at least one (first, last) window")
    out: list[Season] = []
    for name, win in items:
        if name in (BURN_IN, OFF_SEASON, ""):
            raise ValueError(f"season name {name!r} is reserved or empty")
        if isinstance(win, str) or not isinstance(win, Sequence) or len(win) != 2:
            raise ValueError(f"season {name!r}: need (first, last) days, got {win!r}")
        first, last = (pd.Timestamp(d).normalize() for d in win)
        if last < first:
            raise ValueError(f"season {name!r}: last day {last.date()} is before the first "
                             f"{first.date()}")  # fmt: skip
        shift = first - out[0].first if out else pd.Timedelta(0)
        if out and first <= out[-1].last:
            raise ValueError(f"seasons overlap or are out of order: {name} starts "
                             f"{first.date()}, before {out[-1].name} ends "
                             f"({out[-1].last.date()})")  # fmt: skip
        out.append(Season(name, first, last, shift, first))
    if len({s.name for s in out}) < len(out):
        raise ValueError(f"season names repeat: {[s.name for s in out]}")
    return out


def with_cycles(table: list[Season], earliest: pd.Timestamp | None) -> list[Season]:
    """Move each cycle's start to the preparation: ``earliest`` (the first day any arm's
    first-season intervention can act) shifted like the season, never after its first day.

    Raises
    ------
    ValueError
        When a season's preparation would start before the previous season ends.

    Examples
    --------
    >>> t = with_cycles(season_table([("2025-11-15", "2026-04-05"), ("2026-11-15",
    ...                               "2027-04-05")]), pd.Timestamp("2025-09-01"))
    >>> [str(s.cycle_start.date()) for s in t]
    ['2025-09-01', '2026-09-01']
    """
    out: list[Season] = []
    for s in table:
        start = s.first if earliest is None else min(s.first, earliest + s.shift)
        if out and start <= out[-1].last:
            raise ValueError(f"season {s.name}: its preparation starts {start.date()}, before "
                             f"{out[-1].name} ends ({out[-1].last.date()}); seasons must be "
                             "far enough apart for the interventions to repeat in between")
        out.append(replace(s, cycle_start=start))
    return out


def repeat_for_seasons(interventions: Sequence[Any], table: Sequence[Season]) -> tuple:
    """The interventions of the first season, then a copy of each for every later season,
    dates (``start``, ``end``, a by-date ``capacity``) shifted by the season's ``shift`` and
    labelled ``<label>@<season>`` (its own random stream); each copy has the original's
    budget (a budget per season). Interventions without dates (the whole run) are kept once.

    Raises
    ------
    ValueError
        For an intervention with only one of ``start`` and ``end``: its copies would overlap.

    Examples
    --------
    >>> from predgov.sim import PipeFlushing
    >>> t = season_table({"a": ("2025-11-15", "2026-04-05"), "b": ("2026-11-15", "2027-04-05")})
    >>> ivs = repeat_for_seasons([PipeFlushing([0], start="2025-09-01", end="2025-10-31",
    ...                                        budget=10.0)], t)
    >>> [(iv.label, str(iv.start.date()), iv.budget) for iv in ivs]
    [('pipe_flushing', '2025-09-01', 10.0), ('pipe_flushing@b', '2026-09-01', 10.0)]
    """
    out = list(interventions)
    for s in table[1:]:
        for iv in interventions:
            if iv.start is None and iv.end is None:
                continue
            if iv.start is None or iv.end is None:
                raise ValueError(f"intervention {iv.label!r} has a start or an end but not "
                                 "both: give both to repeat it every season, or run one "
                                 "season (or repeat=False)")  # fmt: skip
            new = copy.deepcopy(iv)
            new.start, new.end = iv.start + s.shift, iv.end + s.shift
            cap = iv.capacity
            if isinstance(cap, Mapping | pd.Series):
                sched = pd.Series(cap) if isinstance(cap, Mapping) else cap.copy()
                sched.index = pd.DatetimeIndex(pd.to_datetime(sched.index)) + s.shift
                new.capacity = sched
            new.label = f"{iv.label}@{s.name}"
            out.append(new)
    return tuple(out)


def earliest_start(interventions: Sequence[Any], run_start: pd.Timestamp) -> pd.Timestamp:
    """The first day any of ``interventions`` can act (``run_start`` when one has no start).

    Examples
    --------
    >>> from predgov.sim import NullIntervention
    >>> str(earliest_start([NullIntervention(start="2025-09-01")], pd.Timestamp("2025-01-01")
    ...                    ).date())
    '2025-09-01'
    """
    days = [run_start if iv.start is None else max(iv.start, run_start) for iv in interventions]
    return min(days) if days else run_start


def season_labels(dates: pd.DatetimeIndex, table: Sequence[Season]) -> np.ndarray:
    """The ``season`` label of each day (see the module docstring).

    Examples
    --------
    >>> t = with_cycles(season_table({"s1": ("2025-01-03", "2025-01-04")}),
    ...                 pd.Timestamp("2025-01-02"))
    >>> season_labels(pd.date_range("2025-01-01", periods=5), t).tolist()
    ['burn_in', 's1', 's1', 's1', 'off_season']
    """
    dates = pd.DatetimeIndex(dates)
    width = max([len(BURN_IN), len(OFF_SEASON), *(len(s.name) for s in table)])
    out = np.full(len(dates), OFF_SEASON, dtype=f"<U{width}")
    out[dates < table[0].cycle_start] = BURN_IN
    for s in table:
        out[(dates >= s.cycle_start) & (dates <= s.last)] = s.name
    return out


def label_seasons(ds: xr.Dataset, table: Sequence[Season]) -> xr.Dataset:
    """Add the ``season`` coordinate along ``time`` and the ``seasons`` attribute (JSON:
    ``[[name, cycle_start, first, last], ...]``)."""
    labels = season_labels(pd.DatetimeIndex(ds["time"].values), table)
    ds = ds.assign_coords(season=("time", labels, {
        "long_name": "season cycle of the day (preparation and season; burn_in, off_season "
                     "outside every cycle)"}))  # fmt: skip
    ds.attrs["seasons"] = dumps(table)
    return ds


def dumps(table: Sequence[Season]) -> str:
    """The JSON form of a season table."""
    return json.dumps([s.as_list() for s in table])


def loads(text: str) -> list[Season]:
    """A season table from :func:`dumps`.

    Examples
    --------
    >>> t = with_cycles(season_table({"a": ("2025-11-15", "2026-04-05")}),
    ...                 pd.Timestamp("2025-09-01"))
    >>> loads(dumps(t)) == t
    True
    """
    rows = json.loads(text)
    first0 = pd.Timestamp(rows[0][2])
    return [Season(str(n), pd.Timestamp(f), pd.Timestamp(last), pd.Timestamp(f) - first0,
                   pd.Timestamp(c)) for n, c, f, last in rows]  # fmt: skip


def season_names(ds: xr.Dataset) -> list[str]:
    """Names of the evaluation seasons of an experiment Dataset (none without seasons)."""
    text = ds.attrs.get("seasons")
    if text:
        return [s.name for s in loads(str(text))]
    if "season" in ds.coords:
        labels = dict.fromkeys(str(x) for x in ds["season"].values)
        return [x for x in labels if x not in (BURN_IN, OFF_SEASON)]
    return []
