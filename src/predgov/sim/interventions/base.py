"""The intervention base class: delivery, effect and targeting kept apart.

As in Covasim and Starsim, an intervention is an object the model asks every day what it does;
``Intervention`` splits the question in three:

Delivery (this class)
    *When*: days ``start..end`` (inclusive; None = the run's first / last day), and, with a
    ``trigger`` (a callable ``(model, t) -> bool`` asked each day from ``start``), only from
    the first day it returns True (for ``duration`` days when given). *How much*: ``capacity``
    units a day — a scalar, a by-date schedule (a mapping or ``pd.Series`` date -> units a day,
    a step function: the value of the last date on or before the day, 0 before the first) or a
    callable ``(model, t) -> units``; a total ``budget`` (never exceeded: a day treats only the
    units it can still pay for at ``unit_cost``). *Who*: the targeting rule's units in priority
    order, each visited up to ``repeat`` times at least ``revisit_after`` days apart; eligibility
    (``eligible``, a callable ``(model, t, units) -> bool mask``, and the subclass's own
    ``is_eligible``) is re-checked every day, so a unit that became ineligible is skipped (and
    costs nothing). *Compliance*: a visited unit accepts with probability ``compliance`` (a
    keyed uniform of the unit and the visit, purpose ``COMPLY``); a visit is paid for and
    counted in ``intervention_treated`` whether or not the unit complies. *Delay*: the effect
    on complying units comes ``delay`` days after the visit (at the start of that day, before
    occurrence), never after the run's end.
Effect (subclasses: ``apply(model, units, t)``)
    Changes state through the model's hooks: state arrays, rate multipliers in [0, 1]
    (``model.multipliers``), ``model.absorb`` for latent problems found, and the intercept
    phase (``intercept(model, t, new)``: which of the day's new latent cases are dealt with
    before anyone calls). Efficacy may be uncertain: ``efficacy`` is a number, a range
    ``(low, high)`` (uniform) or a callable mapping uniforms to efficacies (an inverse CDF),
    drawn *per unit* from the intervention's stream (purpose ``EFFICACY``, not depending on the
    day, so a unit has the same efficacy whichever day a policy treats it).
Targeting (contract with ``predgov.target``)
    ``targeting`` is an object with ``select(model, t, unit) -> unit indices`` (highest
    priority first; it may use only what the hotline recorded before day ``t``), a plain array
    of unit indices, or a callable ``(model, t) -> array``; ``unit`` is one of ``UNITS``. It is
    asked on the first active day and, with ``retarget_every`` = k, every k days after (units
    keep their visit counts). ``expand`` turns target units into delivery units (e.g. estates
    into their households).

Randomness: only the intervention's own keyed stream (``uniform``: run seed, the INTERVENTION
stream key, the day, ``stream_key`` from ``label`` and the unit; ``unit_uniform``: the same
without the day), never the processes' streams nor ``model.rng``, so a run with an intervention
shares every other draw with the baseline (common random numbers); an intervention that treats
nobody, or with efficacy 0, gives the baseline's outputs bit for bit.

Records (``CityModel``): per day and intervention ``intervention_treated`` (units visited),
``intervention_cost`` and ``absorbed_by`` (cases absorbed), booked through ``book`` and
``CityModel.absorb(..., by=self)``.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from predgov.sim import streams

if TYPE_CHECKING:
    from predgov.sim.model import CityModel

#: Purposes of an intervention's own keyed draws (``streams.INTERCEPT`` = 12 is the fourth).
COMPLY, EFFICACY, EFFECT = 13, 14, 15
#: Unit kinds a targeting rule can be asked for.
UNITS = ("household", "estate", "grid", "district", "merchant", "source", "pair", "department",
         "cell")  # fmt: skip


@runtime_checkable
class TargetingRule(Protocol):
    """What ``targeting=`` accepts besides an array or a callable (``predgov.target``)."""

    def select(self, model: CityModel, t: int, unit: str) -> np.ndarray:
        """Unit indices, highest priority first, decided on day index ``t``."""
        ...


Targeting = TargetingRule | Callable[..., Any] | Sequence[int] | np.ndarray | None
Capacity = float | Mapping[Any, float] | pd.Series | Callable[..., float] | None
Efficacy = float | tuple[float, float] | Callable[[np.ndarray], np.ndarray]


def n_units(model: CityModel, unit: str) -> int:
    """Number of units of kind ``unit`` in ``model`` (0 when its process is not simulated).

    Examples
    --------
    >>> from predgov.sim.model import CityModel
    >>> m = CityModel(scale=0.001, start="2025-11-15", end="2025-11-15")
    >>> n_units(m, "district"), n_units(m, "household") == len(m.households)
    (10, True)
    """
    hh = model.households
    proc = model.process_by_name
    sizes: dict[str, Callable[[], int]] = {
        "household": lambda: len(hh),
        "estate": lambda: len(hh.estates),
        "grid": lambda: len(hh.grid_start),
        "district": lambda: len(hh.district_names),
        "merchant": lambda: len(proc["consumer"].merchants) if "consumer" in proc else 0,
        "source": lambda: len(proc["noise"].sources) if "noise" in proc else 0,
        "pair": lambda: len(proc["neighbour"].irritant) if "neighbour" in proc else 0,
        "department": lambda: len(model.departments),
        "cell": lambda: len(hh.district_names) * len(model.categories),
    }
    if unit not in sizes:
        raise ValueError(f"unknown unit {unit!r}; one of {list(sizes)}")
    return sizes[unit]()


def resolve_targets(targeting: Targeting, model: CityModel, t: int, unit: str) -> np.ndarray:
    """Ask a targeting rule for units: an object with ``select``, a callable ``(model, t)`` or
    an array. Returns int64 indices in priority order, each once (first occurrence kept).

    Raises
    ------
    ValueError
        For an index outside the model's units of that kind, or a non-integer answer.

    Examples
    --------
    >>> from predgov.sim.model import CityModel
    >>> m = CityModel(scale=0.001, start="2025-11-15", end="2025-11-15")
    >>> resolve_targets([3, 1, 3], m, 0, "district").tolist()
    [3, 1]
    >>> resolve_targets(lambda model, t: [2], m, 0, "district").tolist()
    [2]
    """
    if isinstance(targeting, TargetingRule) and not isinstance(targeting, np.ndarray):
        out = targeting.select(model, t, unit)
    elif callable(targeting):
        out = targeting(model, t)
    else:
        out = targeting
    arr = np.asarray([] if out is None else out).ravel()
    if arr.size and arr.dtype.kind not in "iu":
        if arr.dtype.kind == "b" or not np.all(np.mod(arr, 1) == 0):
            raise ValueError(f"targeting must give {unit} indices (integers), got {arr.dtype}")
    arr = arr.astype(np.int64)
    n = n_units(model, unit)
    bad = (arr < 0) | (arr >= n)
    if bad.any():
        raise ValueError(f"targeting gave {unit} index {int(arr[bad][0])}; the city has {n} "
                         f"{unit}s (0..{n - 1})")  # fmt: skip
    return pd.unique(arr) if len(arr) else arr


def draw_efficacy(spec: Efficacy, u: np.ndarray) -> np.ndarray:
    """Per-unit efficacies in [0, 1] from uniforms ``u``: a number (the same for all), a range
    ``(low, high)`` (uniform on it) or a callable ``u -> efficacy`` (an inverse CDF).

    Examples
    --------
    >>> draw_efficacy(0.5, np.array([0.1, 0.9])).tolist()
    [0.5, 0.5]
    >>> draw_efficacy((0.2, 0.6), np.array([0.0, 0.5])).tolist()
    [0.2, 0.4]
    """
    u = np.asarray(u, dtype=np.float64)
    if callable(spec):
        out = np.asarray(spec(u), dtype=np.float64)
    elif isinstance(spec, tuple):
        lo, hi = (float(x) for x in spec)
        out = lo + u * (hi - lo)
    else:
        out = np.full(u.shape, float(spec))
    check_fraction("efficacy", out)
    return out


def check_fraction(name: str, value: Any) -> None:
    """Refuse values outside [0, 1] (and NaN) with a one-line ``ValueError``.

    Examples
    --------
    >>> check_fraction("compliance", 1.2)
    Traceback (most recent call last):
    ...
    ValueError: compliance must be in [0, 1], got 1.2
    """
    v = np.asarray(value, dtype=np.float64)
    bad = ~((v >= 0) & (v <= 1))
    if bad.any():
        raise ValueError(f"{name} must be in [0, 1], got {float(v[bad].flat[0]):g}")


def _check_efficacy_spec(spec: Efficacy) -> Efficacy:
    if callable(spec):
        return spec
    if isinstance(spec, (tuple, list)):
        if len(spec) != 2:
            raise ValueError(f"efficacy range must be (low, high), got {spec!r}")
        lo, hi = (float(x) for x in spec)
        check_fraction("efficacy", [lo, hi])
        if hi < lo:
            raise ValueError(f"efficacy range ({lo:g}, {hi:g}) has high below low")
        return (lo, hi)
    check_fraction("efficacy", spec)
    return float(spec)


#: Delivery options of :class:`Intervention` that only its unit-by-unit ``step`` reads; an
#: intervention with a ``step`` of its own refuses them (:func:`refuse_unit_options`).
UNIT_OPTIONS = ("compliance", "delay", "repeat", "revisit_after", "retarget_every", "eligible")


def refuse_unit_options(name: str, kwargs: Mapping[str, Any]) -> None:
    """Raise for the options of :data:`UNIT_OPTIONS` an intervention whose own ``step`` does not
    deliver unit by unit would accept and then ignore.

    Examples
    --------
    >>> refuse_unit_options("capacity_boost", {"budget": 10})
    >>> refuse_unit_options("capacity_boost", {"compliance": 0.5})
    Traceback (most recent call last):
    ...
    ValueError: capacity_boost does not use compliance (it does not treat units one by one)
    """
    given = [k for k in UNIT_OPTIONS if k in kwargs]
    if given:
        raise ValueError(f"{name} does not use {', '.join(given)} (it does not treat units one "
                         "by one)")


class Intervention:
    """Base class of interventions (see the module docstring for delivery, effect, targeting).

    Parameters
    ----------
    targeting
        Units to treat: a rule with ``select(model, t, unit)``, an array, or a callable
        ``(model, t) -> array``; None = the subclass's default (``default_targets``).
    start, end
        First and last day (inclusive), anything ``pd.Timestamp`` accepts; None = the run's
        first / last day.
    trigger
        Optional ``(model, t) -> bool``, asked each day from ``start`` until it first says
        True: the intervention starts that day.
    duration
        Days the intervention stays active after it started (None: until ``end``).
    capacity
        Units a day: a number (``float("inf")`` = all), a by-date schedule (mapping or
        ``pd.Series``: date -> units a day) or a callable ``(model, t) -> units``.
    capacity_per_day
        Old name of a scalar ``capacity``.
    budget
        Total spending allowed over the run (default unlimited).
    unit_cost
        Cost per visit of a unit (yuan in the examples).
    compliance
        Probability that a visited unit accepts the treatment.
    delay
        Days from a visit to its effect.
    repeat, revisit_after
        Visits per unit, and the least number of days between two visits of a unit.
    retarget_every
        Ask the targeting rule again every so many days (None: once, on the first active day).
    eligible
        Optional ``(model, t, units) -> bool mask``, re-checked every day.
    efficacy
        A number in [0, 1], a range ``(low, high)`` or a callable (inverse CDF on uniforms).
    label
        Name in the outputs and key of the random stream (default the class's ``name``).

    Examples
    --------
    >>> iv = Intervention(start="2025-09-01", end="2025-09-30", capacity=10, budget=500.0,
    ...                   unit_cost=20.0)
    >>> iv.label, iv.budget
    ('intervention', 500.0)
    """

    #: Name of the intervention kind (the default label).
    name = "intervention"
    #: Kind of unit the targeting rule is asked for, and kind of unit delivered to.
    unit = "household"
    delivery_unit = "household"

    def __init__(
        self,
        *,
        targeting: Targeting = None,
        start: object = None,
        end: object = None,
        trigger: Callable[..., bool] | None = None,
        duration: int | None = None,
        capacity: Capacity = None,
        capacity_per_day: float | None = None,
        budget: float = float("inf"),
        unit_cost: float = 0.0,
        compliance: float = 1.0,
        delay: int = 0,
        repeat: int = 1,
        revisit_after: int = 0,
        retarget_every: int | None = None,
        eligible: Callable[..., np.ndarray] | None = None,
        efficacy: Efficacy = 1.0,
        label: str | None = None,
    ) -> None:
        self.start = None if start is None else pd.Timestamp(start)
        self.end = None if end is None else pd.Timestamp(end)
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end.date()} is before start {self.start.date()}")
        if capacity is not None and capacity_per_day is not None:
            raise ValueError("give capacity or capacity_per_day (its old name), not both")
        if capacity is None:
            capacity = float("inf") if capacity_per_day is None else capacity_per_day
        if isinstance(capacity, (int, float, np.integer, np.floating)):
            if not capacity >= 0:
                raise ValueError(f"capacity must be >= 0, got {capacity}")
        elif not (callable(capacity) or isinstance(capacity, (Mapping, pd.Series))):
            raise ValueError("capacity must be a number, a by-date schedule (mapping or "
                             f"pd.Series) or a callable, not {type(capacity).__name__}")
        self.capacity = capacity
        for key, val in (("budget", budget), ("unit_cost", unit_cost)):
            if not val >= 0:
                raise ValueError(f"{key} must be >= 0, got {val}")
        self.budget, self.unit_cost = float(budget), float(unit_cost)
        check_fraction("compliance", compliance)
        self.compliance = float(compliance)
        for key, val in (("delay", delay), ("revisit_after", revisit_after)):
            if int(val) != val or val < 0:
                raise ValueError(f"{key} must be a whole number of days >= 0, got {val}")
        if int(repeat) != repeat or repeat < 1:
            raise ValueError(f"repeat must be a whole number >= 1, got {repeat}")
        if retarget_every is not None and (int(retarget_every) != retarget_every
                                           or retarget_every < 1):  # fmt: skip
            raise ValueError(f"retarget_every must be a whole number >= 1, got {retarget_every}")
        if duration is not None and (int(duration) != duration or duration < 1):
            raise ValueError(f"duration must be a whole number of days >= 1, got {duration}")
        self.delay, self.repeat, self.revisit_after = int(delay), int(repeat), int(revisit_after)
        self.retarget_every = None if retarget_every is None else int(retarget_every)
        self.duration = None if duration is None else int(duration)
        self.trigger, self.eligible, self.targeting = trigger, eligible, targeting
        self.efficacy = _check_efficacy_spec(efficacy)
        self.label = str(label) if label is not None else self.name
        # Per-run state (set by ``initialize``; the model works on a copy).
        self.queue_: np.ndarray | None = None
        self.done_ = 0
        self.spent_ = 0.0
        self.started_: int | None = None

    # ------------------------------------------------------------------ randomness
    @property
    def stream_key(self) -> int:
        """Key of this intervention's own random numbers (from its ``label``)."""
        return zlib.crc32(self.label.encode())

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

    def unit_uniform(self, model: CityModel, unit: np.ndarray, purpose: int,
                     visit: np.ndarray | int = 0) -> np.ndarray:  # fmt: skip
        """Keyed uniforms of units (and visit numbers) that do not depend on the day: a unit's
        compliance and efficacy are the same whichever day a policy reaches it.

        Examples
        --------
        >>> from predgov.sim.model import CityModel
        >>> m = CityModel(scale=0.001, start="2025-11-15", end="2025-11-15")
        >>> iv = NullIntervention()
        >>> bool(iv.unit_uniform(m, np.array([4]), EFFICACY)[0]
        ...      == iv.unit_uniform(m, np.array([9, 4]), EFFICACY)[1])
        True
        """
        unit = np.atleast_1d(np.asarray(unit)).astype(np.uint64)
        visit_key = np.broadcast_to(np.asarray(visit, dtype=np.uint64), unit.shape)
        key = streams.hash_key(self.stream_key, unit, visit_key)
        return streams.keyed_uniform(model.seed, streams.INTERVENTION, 0, np.atleast_1d(key),
                                     purpose)  # fmt: skip

    def efficacy_of(self, model: CityModel, units: np.ndarray) -> np.ndarray:
        """Per-unit efficacy (``efficacy`` drawn from the unit's uniform, purpose EFFICACY)."""
        if isinstance(self.efficacy, float):
            return np.full(len(units), self.efficacy)
        return draw_efficacy(self.efficacy, self.unit_uniform(model, units, EFFICACY))

    # ------------------------------------------------------------------ the run
    def initialize(self, model: CityModel, slot: int) -> None:
        """Set up per-run state; ``slot`` is the intervention's column in the model's records.
        Called once by ``CityModel`` on its own copy."""
        self.slot_ = int(slot)
        dates = model.dates
        self.start_t_ = 0 if self.start is None else int(dates.searchsorted(self.start))
        self.end_t_ = (len(dates) - 1 if self.end is None
                       else int(dates.searchsorted(self.end, side="right")) - 1)  # fmt: skip
        cap = self.capacity
        if isinstance(cap, (Mapping, pd.Series)):
            sched = pd.Series(cap) if isinstance(cap, Mapping) else cap
            sched = pd.Series(np.asarray(sched.values, np.float64),
                              index=pd.DatetimeIndex(pd.to_datetime(sched.index))).sort_index()
            if not (sched.values >= 0).all():
                raise ValueError(f"{self.label}: capacity schedule values must be >= 0")
            pos = sched.index.searchsorted(dates, side="right") - 1
            self.capacity_t_ = np.where(pos >= 0, sched.values[np.maximum(pos, 0)], 0.0)
        n = n_units(model, self.delivery_unit)
        self.visits_ = np.zeros(n, np.int16)
        self.next_ok_ = np.zeros(n, np.int32)
        self.pending_: list[tuple[int, np.ndarray]] = []
        self.queue_ = None
        self.done_ = 0
        self.spent_ = 0.0
        self.started_ = None

    def active(self, model: CityModel, t: int) -> bool:
        """Whether the intervention delivers on day index ``t`` (dates, trigger, duration)."""
        if not self.start_t_ <= t <= self.end_t_:
            return False
        if self.started_ is None:
            if self.trigger is not None and not bool(self.trigger(model, t)):
                return False
            self.started_ = t
        return self.duration is None or t < self.started_ + self.duration

    def capacity_on(self, model: CityModel, t: int) -> float:
        """Units that can be visited on day index ``t``."""
        cap = self.capacity
        if isinstance(cap, (Mapping, pd.Series)):
            return float(self.capacity_t_[t])
        if callable(cap):
            val = float(cap(model, t))
            if not val >= 0:
                raise ValueError(f"{self.label}: capacity callable gave {val} on day {t}")
            return val
        return float(cap)

    def affordable(self, n: int, unit_cost: float | None = None) -> int:
        """How many of ``n`` units the remaining budget pays for at ``unit_cost``."""
        cost = self.unit_cost if unit_cost is None else unit_cost
        if cost <= 0 or not np.isfinite(self.budget):
            return int(n)
        left = self.budget - self.spent_
        return int(min(n, max(0, np.floor(left / cost + 1e-9))))

    def book(self, model: CityModel, t: int, treated: int = 0, cost: float = 0.0) -> None:
        """Record units treated and money spent on day index ``t`` (refuses to overspend)."""
        if self.spent_ + cost > self.budget * (1 + 1e-12) + 1e-9:
            raise ValueError(f"{self.label}: spending {cost:g} on day {t} would exceed the "
                             f"budget {self.budget:g} (spent {self.spent_:g})")  # fmt: skip
        self.spent_ += cost
        model.intervention_treated[t, self.slot_] += treated
        model.intervention_cost[t, self.slot_] += cost

    def step(self, model: CityModel, t: int) -> None:
        """One day: due effects, then delivery (targeting, capacity, budget, eligibility,
        compliance), booking visits and cost; effects on compliers now or after ``delay``."""
        if self.pending_ and self.pending_[0][0] <= t:
            due = [u for d, u in self.pending_ if d <= t]
            self.pending_ = [(d, u) for d, u in self.pending_ if d > t]
            self.apply(model, np.concatenate(due), t)
        self.daily(model, t)
        if not self.active(model, t):
            return
        if self.queue_ is None or (self.retarget_every is not None
                                   and (t - self.started_) % self.retarget_every == 0):
            self.queue_ = self.expand(model, self.targets(model, t))
            self.done_ = 0
        n = self.affordable(min(self.capacity_on(model, t), len(self.queue_)))
        if n <= 0:
            return
        units = self._next_units(model, t, n)
        if len(units) == 0:
            return
        visit = self.visits_[units].astype(np.int64)
        self.visits_[units] += 1
        self.next_ok_[units] = t + max(1, self.revisit_after)
        self.book(model, t, len(units), len(units) * self.unit_cost)
        if self.compliance < 1:
            units = units[self.unit_uniform(model, units, COMPLY, visit) < self.compliance]
        if len(units) == 0:
            return
        if self.delay == 0:
            self.apply(model, units, t)
        elif t + self.delay < len(model.dates):
            self.pending_.append((t + self.delay, units))

    def _next_units(self, model: CityModel, t: int, n: int) -> np.ndarray:
        """The first ``n`` units of the queue that can be visited today (visits left, due,
        eligible today); units with no visits left at the queue's head are skipped for good."""
        q = self.queue_
        assert q is not None
        exhausted = self.visits_[q[self.done_:]] >= self.repeat
        if exhausted.any():  # advance past the finished head
            head = int(np.argmin(exhausted)) if not exhausted.all() else len(exhausted)
            self.done_ += head
        out: list[np.ndarray] = []
        got, pos, chunk = 0, self.done_, max(4 * n, 1024)
        while got < n and pos < len(q):
            cand = q[pos : pos + chunk]
            ok = (self.visits_[cand] < self.repeat) & (self.next_ok_[cand] <= t)
            if ok.any():
                ok[ok] = self.is_eligible(model, t, cand[ok])
            if ok.any() and self.eligible is not None:
                ok[ok] = np.asarray(self.eligible(model, t, cand[ok]), bool)
            take = cand[ok][: n - got]
            out.append(take)
            got += len(take)
            pos += chunk
            chunk *= 2
        return np.concatenate(out) if out else np.zeros(0, np.int64)

    # ------------------------------------------------------------------ subclass hooks
    def default_targets(self, model: CityModel, t: int) -> np.ndarray:
        """Units to treat when no ``targeting`` was given (none)."""
        return np.zeros(0, np.int64)

    def targets(self, model: CityModel, t: int) -> np.ndarray:
        """Target units (kind ``unit``) in priority order, from ``targeting``."""
        if self.targeting is None:
            return np.asarray(self.default_targets(model, t), np.int64)
        return resolve_targets(self.targeting, model, t, self.unit)

    def expand(self, model: CityModel, targets: np.ndarray) -> np.ndarray:
        """Delivery units of the target units (the same when ``unit == delivery_unit``)."""
        return np.asarray(targets, np.int64)

    def is_eligible(self, model: CityModel, t: int, units: np.ndarray) -> np.ndarray:
        """The subclass's own eligibility of ``units`` today (default all)."""
        return np.ones(len(units), bool)

    def daily(self, model: CityModel, t: int) -> None:
        """Every day, active or not, before delivery (e.g. effects that wear off)."""

    def apply(self, model: CityModel, units: np.ndarray, t: int) -> None:
        """Effect on the complying ``units`` (subclasses)."""

    def intercept(self, model: CityModel, t: int, new: np.ndarray) -> np.ndarray:
        """Intercept phase: which of today's new latent cases ``new`` (indices into
        ``model.cases``) this intervention absorbs before anyone calls. The base class absorbs
        none (and the model skips interventions that do not override this)."""
        return np.zeros(0, np.int64)

    def __repr__(self) -> str:
        when = (f"start={self.start.date() if self.start is not None else None}, "
                f"end={self.end.date() if self.end is not None else None}")  # fmt: skip
        cap = self.capacity if isinstance(self.capacity, (int, float)) else "schedule"
        return (f"{type(self).__name__}(label={self.label!r}, {when}, capacity={cap}, "
                f"budget={self.budget:g}, unit_cost={self.unit_cost:g})")


class NullIntervention(Intervention):
    """Touches nothing and costs nothing: a run with it equals the baseline byte for byte.

    Examples
    --------
    >>> NullIntervention(start="2025-09-01", end="2025-10-31").capacity
    0
    """

    name = "null"

    def __init__(self, *, start: object = None, end: object = None, label: str | None = None
                 ) -> None:  # fmt: skip
        super().__init__(start=start, end=end, capacity=0, label=label)
