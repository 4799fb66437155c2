"""Handling: departments take tickets with a daily capacity, visit, resolve or fail.

One Mesa agent per department of the taxonomy's ``department`` column. Each day, in order:

All departments are handled in one vectorised pass (``handle_all``); for each department:

1. *Completions*: every ticket in ``SERVICE`` whose ``due`` day is today is finished. It is
   resolved when the problem already ended by itself, or with probability ``p_fix[category]``
   (keyed uniform, purpose RESOLVE). Resolved: the case closes and the process's
   ``on_resolved`` effect runs (heating: the flat is flushed; neighbours: tension reset).
   Not resolved: the case becomes ``OPEN`` (the household may call again, see reporting).
2. *Rating* (12345's return visit, 回访): each finished ticket is rated; satisfied with
   probability ``(sat_fixed if resolved else sat_failed) * exp(-wait_penalty * max(0, wait -
   patience))`` with ``wait`` = days from queueing to completion (keyed uniform, purpose
   SATISFY). The household's experience in that domain moves +1 (satisfied) or -1, within
   [-3, 3].
3. *Intake*: queued tickets are taken first-in-first-out (by queue day, then ``uid``), up to
   ``capacity`` a day, into ``SERVICE`` with ``due = today + delay``.

``capacity`` = ceil(``capacity_factor`` x the department's mean daily load), the load being the
demo city's expected requests of its categories (heating: on heating-season days) scaled to the
world's households; ``capacity_factor`` is 1.5, so the start-of-season heating surge (about 3x
the season mean) builds a backlog, as real hotlines see.

Defaults: ``p_fix`` 0.88; heating 0.8 (old clogged systems need several flushes), neighbour
disputes 0.55 (persuasion only), noise 0.65, consumer disputes 0.8. ``delay`` 2 days; heating
1, consumer and neighbour disputes 3. ``sat_fixed`` 0.96, ``sat_failed`` 0.3, ``wait_penalty``
0.05 per day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import mesa
import numpy as np

from predgov.sim import streams
from predgov.sim.cases import CLOSED, OPEN, QUEUED, SERVICE

if TYPE_CHECKING:
    from predgov.sim.model import CityModel

#: Processes whose households carry an "open problem" bit and an experience column.
HOUSEHOLD_PROCESSES = (streams.HEATING, streams.NEIGHBOUR, streams.CONSUMER, streams.NOISE,
                       streams.BACKGROUND)  # fmt: skip


@dataclass(frozen=True)
class HandlingParams:
    """Department parameters (see the module docstring).

    Examples
    --------
    >>> HandlingParams().p_fix_for("heating")
    0.8
    """

    capacity_factor: float = 1.5
    p_fix: float = 0.88
    p_fix_by_category: dict[str, float] = field(default_factory=lambda: {
        "heating": 0.8, "neighbour_dispute": 0.55, "noise_traffic": 0.65,
        "noise_construction": 0.65, "noise_social": 0.65, "consumer_dispute": 0.8})  # fmt: skip
    delay: int = 2
    delay_by_category: dict[str, int] = field(default_factory=lambda: {
        "heating": 1, "consumer_dispute": 3, "neighbour_dispute": 3})  # fmt: skip
    sat_fixed: float = 0.96
    sat_failed: float = 0.3
    wait_penalty: float = 0.05

    def p_fix_for(self, category: str) -> float:
        """Resolution probability of a visit for ``category``."""
        return self.p_fix_by_category.get(category, self.p_fix)

    def delay_for(self, category: str) -> int:
        """Days from intake to completion for ``category``."""
        return self.delay_by_category.get(category, self.delay)


class Department(mesa.Agent):
    """A department handling the tickets of its categories.

    Parameters
    ----------
    model
        The city model.
    name
        Department name from the taxonomy.
    categories
        Indices of its categories in ``model.categories``.
    capacity
        Tickets taken into service per day.
    """

    def __init__(
        self, model: CityModel, name: str, categories: np.ndarray, capacity: int
    ) -> None:
        super().__init__(model)
        self.name = name
        self.categories = np.asarray(categories)
        self.capacity = int(capacity)

    def handle(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One day of handling of this department only (see ``handle_all``)."""
        return handle_all(self.model, t, departments=[self])


def handle_all(
    model: CityModel, t: int, departments: Sequence[Department] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One day of handling by ``departments`` (default all) in one vectorised pass.

    Departments touch only their own tickets and every draw is keyed by the ticket, so
    handling them together equals handling them one after the other (the experience of a
    household is moved once by the sum of its ratings of the day, then clipped).

    Returns
    -------
    done, resolved, satisfied
        Indices into ``model.cases``: tickets finished today, resolved, rated satisfied.
    """
    m = model
    c = m.cases
    day = int(m.day_numbers[t])
    resolved = satisfied = np.zeros(0, np.int64)
    status = c.status
    if departments is None:
        dept_of = None
        done = ((status == SERVICE) & (c.due <= day)).nonzero()[0]
    else:
        dept_of = m.department_index[c.category]
        mine = np.isin(dept_of, [m.departments.index(d) for d in departments])
        done = (mine & (status == SERVICE) & (c.due <= day)).nonzero()[0]
    if len(done):
        proc = c.process[done]
        uid = c.uid[done]
        u = streams.keyed_uniform(m.seed, proc, day, uid, streams.RESOLVE)
        v = streams.keyed_uniform(m.seed, proc, day, uid, streams.SATISFY)
        cat = c.category[done]
        fixed = ~c.active[done] | (u < m.p_fix[cat])
        wait = (day - c.enqueued[done]).astype(np.float64)
        hp = m.params.handling
        p_sat = np.where(fixed, hp.sat_fixed, hp.sat_failed) * np.exp(
            -hp.wait_penalty * np.maximum(0.0, wait - c.patience[done]))
        sat = v < p_sat
        resolved, satisfied = done[fixed], done[sat]
        failed = done[~fixed]
        status[failed] = OPEN
        c.last_contact[failed] = day
        status[resolved] = CLOSED
        m.experience_update(done, sat)
        if len(resolved):
            proc_res = proc[fixed]
            for proc_obj in m.resolvers:
                sel = resolved[proc_res == proc_obj.process]
                if len(sel):
                    proc_obj.on_resolved(sel)
    if dept_of is None:
        queued = (status == QUEUED).nonzero()[0]
    else:
        queued = (mine & (status == QUEUED)).nonzero()[0]
    if len(queued):
        dept = m.department_index[c.category[queued]]
        if len(queued) <= m.department_capacity.min() or (np.bincount(
                dept, minlength=len(m.department_capacity)) <= m.department_capacity).all():
            # every department takes all its tickets today: no queue order needed
            status[queued] = SERVICE
            c.due[queued] = day + m.delay[c.category[queued]]
            return done, resolved, satisfied
        order = np.lexsort((c.uid[queued], c.enqueued[queued], dept))
        queued, dept = queued[order], dept[order]
        rank = np.arange(len(queued)) - np.searchsorted(dept, dept, side="left")
        take = queued[rank < m.department_capacity[dept]]
        status[take] = SERVICE
        c.due[take] = day + m.delay[c.category[take]]
    return done, resolved, satisfied
