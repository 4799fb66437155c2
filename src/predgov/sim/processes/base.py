"""What every process shares: reporting parameters, the process interface, keyed occurrence.

A process has three jobs, called by the model in this order each day: ``occur`` (new latent
cases), ``end`` (problems that stop by themselves; the generic rule is a daily probability
``ProcessParams.end`` per active case, keyed uniform purpose SELF_END, applied by the model), and
``on_resolved`` (what a successful visit changes in the world). Reporting and handling are
shared (``predgov.sim.reporting``, ``predgov.sim.departments``).

Occurrence uses *thinning* with *keyed arrivals* so that common random numbers survive both
interventions and parameter changes: for a unit (a district, a neighbour-pair kind, a noise
category, ...) whose members have daily hazards bounded by ``h_max`` (a bound that depends on
parameters and the calendar, never on state an intervention can change), the candidates are
the Poisson(``n * h_max``) arrivals of ``keyed_arrivals``; each is placed on a uniform member
(keyed uniform, purpose PLACE) and accepted with probability ``h / h_max`` (keyed uniform,
purpose ACCEPT) when the member has no open problem of this process. This is an exact draw of
the per-member Poisson process; a candidate's draws depend only on its own key, so a rate
x 1.01 adds candidates and never reshuffles the others, and an intervention (which only lowers
``h``) changes acceptances only.

Hooks for interventions (``Multiplier``): each process exposes ``multipliers``, per-unit
arrays in [0, 1] multiplying the acceptance probability (heating: household, system;
neighbour: pair; consumer: merchant; noise: intensity, night). Values above 1 are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from predgov.sim import streams

if TYPE_CHECKING:
    from predgov.sim.model import CityModel

_S24 = np.uint64(24)


@dataclass(frozen=True)
class ProcessParams:
    """Reporting behaviour shared by all processes (daily rates, see ``predgov.sim.reporting``).

    Examples
    --------
    >>> ProcessParams().report
    0.3
    """

    report: float = 0.3  # first-call hazard per day at propensity 1
    chase: float = 0.3  # chasing call per day once the wait exceeds patience
    recall: float = 0.4  # call again per day after a failed visit, once patience ran out
    give_up: float = 0.15  # stop calling per day after a failed visit (when not recalling)
    end: float = 0.05  # the problem stops by itself, per day


class Process:
    """Base class: one cause of complaints. Subclasses set ``process`` and ``categories``."""

    process: int = -1
    categories: tuple[str, ...] = ()
    params: Any

    def __init__(self, model: CityModel) -> None:
        self.model = model
        self.cat_index = np.array([model.categories.index(c) for c in self.categories])
        #: Per-unit rate multipliers in [0, 1] (hooks for interventions), by short name.
        self.multipliers: dict[str, Multiplier] = {}

    def reporting_params(self) -> dict[int, ProcessParams]:
        """Reporting parameters by process key (a process may own several keys)."""
        return {self.process: self.params.reporting}

    def occur(self, t: int) -> dict[str, Any] | list[dict[str, Any]] | None:
        """New latent cases on day index ``t``: columns for ``Cases.add`` (``new_cases``), or
        a list of such blocks (added in order), or None when there are none."""
        return None

    def end(self, t: int) -> None:
        """Process-specific ends of problems (beyond the generic daily probability)."""

    def on_resolved(self, idx: np.ndarray) -> None:
        """Effect of successful visits on cases ``idx`` (indices into ``model.cases``)."""


def keyed_arrivals(
    seed: int, process: int, day: int, unit_key: np.ndarray, lam: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Candidates of independent Poisson processes, one per unit, from keyed uniforms.

    Unit ``i`` gets Poisson(``lam[i]``) candidates: the arrivals of a unit-rate Poisson process
    on ``[0, lam[i]]`` whose ``k``-th exponential gap is ``-log(1 - u)`` with ``u`` the keyed
    uniform of (seed, process, day, ``unit_key[i] << 24 | k``, purpose ARRIVAL). The same
    candidate keeps its key whatever the other units' means and whatever ``lam[i]`` is, so a
    larger mean only *adds* candidates at the end (common random numbers under rate changes:
    rate x 1.01 never removes a candidate), and an intervention that leaves ``lam`` alone
    leaves every candidate in place.

    Parameters
    ----------
    seed, process, day
        Stream keys (run seed, process key, absolute day).
    unit_key
        A stable non-negative integer per unit (below 2**39), e.g. a district or cell number.
    lam
        Mean number of candidates per unit (a thinning bound: it must not depend on state or
        on anything an intervention changes).

    Returns
    -------
    unit, uid
        Per candidate: its unit (index into ``lam``) and its key (uint64, unique per unit and
        day) for further keyed draws (``streams.keyed_uniform``).

    Examples
    --------
    >>> unit, uid = keyed_arrivals(0, 1, 20_000, np.arange(3), np.array([2.0, 0.0, 50.0]))
    >>> bool((unit != 1).all()), bool((np.diff(unit) >= 0).all())
    (True, True)
    >>> u2, _ = keyed_arrivals(0, 1, 20_000, np.arange(3), np.array([2.0, 0.0, 55.0]))
    >>> bool(np.isin(uid, _).all())  # a larger mean keeps every candidate
    True
    """
    lam = np.asarray(lam, dtype=np.float64)
    units = np.flatnonzero(lam > 0)
    if len(units) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.uint64)
    mean = lam[units]
    keys = np.asarray(unit_key)[units].astype(np.uint64) << _S24
    # A first block of arrivals per unit; units whose last arrival is still inside their
    # window (rare: more than mean + 3 sd + 1) draw another block.
    block = np.ceil(mean + 3.0 * np.sqrt(mean) + 1.0).astype(np.int64)
    sel = np.arange(len(units))
    k0 = np.zeros(len(units), np.int64)
    base = np.zeros(len(units))
    out_unit, out_uid = [], []
    while True:
        m = block[sel]
        ends = np.cumsum(m)
        starts = ends - m
        rep = np.repeat(np.arange(len(sel)), m)
        k = np.arange(int(ends[-1]), dtype=np.int64) - (starts - k0[sel])[rep]
        uid = keys[sel][rep] | k.astype(np.uint64)
        gap = -np.log1p(-streams.keyed_uniform(seed, process, day, uid, streams.ARRIVAL))
        time = np.cumsum(gap)
        time -= (time[starts] - gap[starts] - base[sel])[rep]
        inside = time <= mean[sel][rep]
        out_unit.append(units[sel[rep[inside]]])
        out_uid.append(uid[inside])
        more = inside[ends - 1]
        if not more.any():
            break
        base[sel[more]] = time[ends - 1][more]
        k0[sel[more]] += m[more]
        sel = sel[more]
    if len(out_unit) == 1:
        return out_unit[0], out_uid[0]
    unit, uid = np.concatenate(out_unit), np.concatenate(out_uid)
    order = np.argsort(unit, kind="stable")
    return unit[order], uid[order]


def uniform_index(u: np.ndarray, n: np.ndarray | int) -> np.ndarray:
    """``floor(u * n)`` as int64: a uniform position in ``range(n)`` from ``u`` in [0, 1).

    Examples
    --------
    >>> uniform_index(np.array([0.0, 0.5, 0.999]), 10).tolist()
    [0, 5, 9]
    """
    return np.floor(u * n).astype(np.int64)


class Multiplier:
    """Per-unit multipliers in [0, 1] of a process's rate (1 = the baseline everywhere).

    The hook through which interventions lower a rate: a process accepts a candidate with
    probability (its rate x multiplier) / (the thinning bound), the bound being fixed, so a
    multiplier never changes which random numbers are drawn (common random numbers). A value
    above 1 would raise a rate above its bound; ``set`` and ``scale`` refuse it (and NaN) with
    a ``ValueError`` rather than cap it. ``values`` is read-only: write through ``set``.

    Parameters
    ----------
    name
        ``"<process>.<what>"``, used in messages.
    size
        Number of units (households, pairs, merchants, sources).
    unit
        What one element is (for messages and ``repr``).

    Examples
    --------
    >>> m = Multiplier("heating.household", 4, "household")
    >>> m.is_identity, m.at(np.array([0, 3]))  # all 1: a scalar
    (True, 1.0)
    >>> m.set([1, 2], 0.5)
    >>> m.values.tolist(), m.version
    ([1.0, 0.5, 0.5, 1.0], 1)
    >>> m.set(0, 1.2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: heating.household multiplier must be in [0, 1] (a value above 1 would ...
    """

    def __init__(self, name: str, size: int, unit: str) -> None:
        self.name, self.size, self.unit = name, int(size), unit
        self._values: np.ndarray | None = None
        #: Bumped by every change (processes that cache derived state check it).
        self.version = 0

    @property
    def is_identity(self) -> bool:
        """True until a value is set (every multiplier is 1)."""
        return self._values is None

    @property
    def values(self) -> np.ndarray:
        """The multipliers (a read-only array of ``size`` float32)."""
        v = np.ones(self.size, np.float32) if self._values is None else self._values.view()
        v.flags.writeable = False
        return v

    def _check(self, value: np.ndarray | float) -> np.ndarray:
        v = np.asarray(value, dtype=np.float64)
        bad = ~((v >= 0) & (v <= 1))
        if bad.any():
            first = v[bad].flat[0] if v.ndim else float(v)
            raise ValueError(f"{self.name} multiplier must be in [0, 1] (a value above 1 would "
                             f"raise the rate above its thinning bound); got {first:g}")
        return v

    def _array(self) -> np.ndarray:
        if self._values is None:
            self._values = np.ones(self.size, np.float32)
        return self._values

    def set(self, index: np.ndarray | slice | int | list, value: np.ndarray | float) -> None:
        """Set the multipliers of units ``index`` to ``value`` (each in [0, 1])."""
        v = self._check(value)
        self._array()[index] = v
        self.version += 1

    def scale(self, index: np.ndarray | slice | int | list, factor: np.ndarray | float) -> None:
        """Multiply the multipliers of units ``index`` by ``factor`` (each in [0, 1])."""
        f = self._check(factor)
        arr = self._array()
        arr[index] = arr[index] * f
        self.version += 1

    def reset(self) -> None:
        """Every multiplier back to 1."""
        self._values = None
        self.version += 1

    def at(self, index: np.ndarray) -> np.ndarray | float:
        """The multipliers of units ``index`` (the scalar 1.0 while all are 1)."""
        return 1.0 if self._values is None else self._values[index]

    def __repr__(self) -> str:
        state = "all 1" if self._values is None else f"min {float(self._values.min()):g}"
        return f"Multiplier({self.name!r}, {self.size} {self.unit}s, {state})"


def first_unique(hh: np.ndarray) -> np.ndarray:
    """Mask keeping the first occurrence of each household (one new problem per day).

    Examples
    --------
    >>> first_unique(np.array([3, 1, 3])).tolist()
    [True, True, False]
    """
    n = len(hh)
    if n < 2:
        return np.ones(n, bool)
    order = np.argsort(hh, kind="stable")  # equal keys keep their order: the first comes first
    sorted_hh = hh[order]
    first = np.empty(n, bool)
    first[0] = True
    np.not_equal(sorted_hh[1:], sorted_hh[:-1], out=first[1:])
    keep = np.empty(n, bool)
    keep[order] = first
    return keep
