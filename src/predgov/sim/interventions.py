"""Interventions: objects with a start, an end, a targeting rule, a capacity, a cost, an effect.

The model calls ``step(model, t)`` for every intervention at the start of each day, before
any process, and, when a subclass overrides it, ``intercept(model, t, new)`` after the day's
occurrence with the indices (into ``model.cases``) of the day's new latent cases: the cases it
returns are absorbed (``CityModel.absorb``: closed before anyone calls, counted in
``absorbed``). Interventions change the world through the model's hooks: state arrays (e.g.
``households.clog``), rate multipliers in [0, 1] (``model.multipliers["heating.household"]``
etc., ``processes.base.Multiplier``; a value above 1 raises ``ValueError``) and
``model.absorb`` for latent problems they find.

An intervention is active on days ``start <= date <= end``. On its first active day it asks
its targeting rule (``targets(model)``) for an ordered array of units (households, sources,
...); each active day it treats the next ``capacity_per_day`` untreated units with
``apply(model, units, t)`` and books ``len(units) * unit_cost`` to the day's
``intervention_cost``. An intervention's own random numbers come from ``uniform`` (keyed by
the run seed, the INTERVENTION stream, the day, the intervention's ``stream_key`` and the unit
or case), never from the processes' streams, so a run with an intervention shares every other
draw with the baseline (common random numbers).

``PipeFlushing`` (pre-season flushing of whole estates, SEED_BRIEF.md case 1: Lu Rui Yuan,
"nearly 3,000 households") sets the clogging of each treated household to
``(1 - efficacy) * clog`` (efficacy 0.9). ``NullIntervention`` touches nothing (for tests of
common random numbers).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from predgov.sim import streams

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

    @property
    def stream_key(self) -> int:
        """Key of this intervention's own random numbers (from its ``name``)."""
        return zlib.crc32(self.name.encode())

    def uniform(self, model: CityModel, t: int, unit: np.ndarray, purpose: int) -> np.ndarray:
        """Keyed uniforms of this intervention for ``unit`` keys (households, case uids...) on
        day index ``t``: independent of every process stream (common random numbers).

        Examples
        --------
        >>> from predgov.sim.model import CityModel
        >>> m = CityModel(scale=0.001, start="2025-11-15", end="2025-11-15")
        >>> iv = NullIntervention()
        >>> u = iv.uniform(m, 0, np.arange(3), streams.INTERCEPT)
        >>> bool(((u >= 0) & (u < 1)).all()), bool((u == iv.uniform(m, 0, np.arange(3), 12)).all())
        (True, True)
        """
        key = streams.hash_key(self.stream_key, np.asarray(unit).astype(np.uint64))
        return streams.keyed_uniform(model.seed, streams.INTERVENTION, int(model.day_numbers[t]),
                                     np.atleast_1d(key), purpose)  # fmt: skip

    def targets(self, model: CityModel) -> np.ndarray:
        """Targeting rule: units to treat, in order."""
        return np.zeros(0, np.int64)

    def intercept(self, model: CityModel, t: int, new: np.ndarray) -> np.ndarray:
        """Intercept phase: which of today's new latent cases ``new`` (indices into
        ``model.cases``) this intervention absorbs before anyone calls. The base class absorbs
        none (and the model skips interventions that do not override this)."""
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
