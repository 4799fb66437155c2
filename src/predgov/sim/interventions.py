"""Interventions: objects with a start, an end, a targeting rule, a capacity, a cost, an effect.

The model calls ``step(model, t)`` for every intervention at the start of each day, before
any process. An intervention is active on days ``start <= date <= end``. On its first active
day it asks its targeting rule (``targets(model)``) for an ordered array of units (households,
sources, ...); each active day it treats the next ``capacity_per_day`` untreated units with
``apply(model, units, t)`` and books ``len(units) * unit_cost`` to the day's
``intervention_cost``. Interventions draw no random numbers of their own (a randomised
targeting rule must use ``streams.day_rng(seed, INTERVENTION, day)``), so a run with an
intervention shares every other draw with the baseline (common random numbers).

``PipeFlushing`` (pre-season flushing of whole estates, SEED_BRIEF.md case 1: Lu Rui Yuan,
"nearly 3,000 households") sets the clogging of each treated household to
``(1 - efficacy) * clog`` (efficacy 0.9). ``NullIntervention`` touches nothing (for tests of
common random numbers).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from predgov.sim.model import CityModel


class Intervention:
    """Base class. Subclasses override ``targets`` and ``apply``.

    Parameters
    ----------
    start, end
        First and last day (inclusive), anything ``pd.Timestamp`` accepts.
    capacity_per_day
        Units treated per active day.
    unit_cost
        Cost per treated unit (any currency; yuan in the examples).
    """

    name = "intervention"

    def __init__(
        self, *, start: object, end: object, capacity_per_day: int, unit_cost: float = 0.0
    ) -> None:
        self.start = pd.Timestamp(start)
        self.end = pd.Timestamp(end)
        if self.end < self.start:
            raise ValueError(f"end {self.end.date()} is before start {self.start.date()}")
        if capacity_per_day < 0:
            raise ValueError(f"capacity_per_day must be >= 0, got {capacity_per_day}")
        self.capacity_per_day = int(capacity_per_day)
        self.unit_cost = float(unit_cost)
        self.queue_: np.ndarray | None = None
        self.done_ = 0

    def targets(self, model: CityModel) -> np.ndarray:
        """Targeting rule: units to treat, in order."""
        return np.zeros(0, np.int64)

    def apply(self, model: CityModel, units: np.ndarray, t: int) -> None:
        """Effect on household or source state."""

    def step(self, model: CityModel, t: int) -> float:
        """Treat today's units; return today's cost."""
        date = model.dates[t]
        if not (self.start <= date <= self.end):
            return 0.0
        if self.queue_ is None:
            self.queue_ = np.asarray(self.targets(model), dtype=np.int64)
        units = self.queue_[self.done_ : self.done_ + self.capacity_per_day]
        if len(units) == 0:
            return 0.0
        self.done_ += len(units)
        self.apply(model, units, t)
        return len(units) * self.unit_cost

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(start={self.start.date()}, end={self.end.date()}, "
                f"capacity_per_day={self.capacity_per_day}, unit_cost={self.unit_cost})")


class NullIntervention(Intervention):
    """Touches nothing and costs nothing: a run with it equals the baseline byte for byte.

    Examples
    --------
    >>> NullIntervention(start="2025-09-01", end="2025-10-31").capacity_per_day
    0
    """

    name = "null"

    def __init__(self, *, start: object = "2000-01-01", end: object = "2100-01-01") -> None:
        super().__init__(start=start, end=end, capacity_per_day=0, unit_cost=0.0)


class PipeFlushing(Intervention):
    """Flush the heating systems of given estates before (or during) the season.

    Parameters
    ----------
    estates
        Estate indices (rows of ``CityModel.estate_table()``), treated in this order; within an
        estate, households in index order; households without central heating are skipped.
    start, end, capacity_per_day, unit_cost
        See ``Intervention``; capacity and cost are per household.
    efficacy
        Fraction of each treated household's clogging removed.

    Examples
    --------
    >>> PipeFlushing(estates=[0, 3], start="2025-09-01", end="2025-10-31",
    ...              capacity_per_day=100, unit_cost=200.0).estates
    [0, 3]
    """

    name = "pipe_flushing"

    def __init__(
        self,
        estates: Sequence[int],
        *,
        start: object,
        end: object,
        capacity_per_day: int,
        unit_cost: float = 0.0,
        efficacy: float = 0.9,
    ) -> None:
        super().__init__(start=start, end=end, capacity_per_day=capacity_per_day,
                         unit_cost=unit_cost)  # fmt: skip
        if not 0 <= efficacy <= 1:
            raise ValueError(f"efficacy must be in [0, 1], got {efficacy}")
        self.estates = [int(e) for e in estates]
        self.efficacy = float(efficacy)

    def targets(self, model: CityModel) -> np.ndarray:
        est = model.households.estates
        bad = [e for e in self.estates if not 0 <= e < len(est)]
        if bad:
            raise ValueError(f"unknown estates {bad}; the city has {len(est)}")
        parts = [np.arange(est.start[e], est.stop[e]) for e in self.estates
                 if est.central_heating[e]]  # fmt: skip
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    def apply(self, model: CityModel, units: np.ndarray, t: int) -> None:
        hh = model.households
        hh.clog[units] *= np.float32(1.0 - self.efficacy)
