"""``CapacityBoost``: more stewards or repair staff for a department over a period.

Mirrors the heating preparation of SEED_BRIEF.md case 1: 824 heating service grids, 1,760
"heating stewards", 455 company hotlines and more than 2,400 repair staff standing by for the
2025-26 season. Delivery: from ``start`` to ``end`` (or from a trigger), ``capacity`` extra
tickets a day (a number, a by-date schedule or a callable) go into service for ``department``
(a name from the taxonomy's ``department`` column, or the department of a category code such
as ``"heating"``); each extra ticket-day costs ``unit_cost`` (a crew-day; the budget stops the
boost when spent). Effect: shorter queues, hence fewer chasing calls and higher satisfaction
(``departments``). ``intervention_treated`` counts the extra ticket slots of the day (used or
not). No targeting and no randomness.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from predgov.sim.interventions.base import Intervention, refuse_unit_options

if TYPE_CHECKING:
    from predgov.sim.model import CityModel


class CapacityBoost(Intervention):
    """Extra daily capacity for one department.

    Parameters
    ----------
    department
        Department name (taxonomy) or a category code whose department is meant.
    capacity
        Extra tickets taken into service a day (number, by-date schedule or callable).
    **kwargs
        Delivery (``Intervention``): ``start``, ``end``, ``trigger``, ``budget``,
        ``unit_cost`` (per extra ticket-day).

    Examples
    --------
    >>> CapacityBoost("heating", capacity=50, start="2025-11-10", end="2025-12-10").department
    'heating'
    """

    name = "capacity_boost"
    unit = "department"
    delivery_unit = "department"

    def __init__(self, department: str, *, capacity: Any = 0, **kwargs: Any) -> None:
        refuse_unit_options(self.name, kwargs)
        super().__init__(capacity=capacity, **kwargs)
        self.department = str(department)

    def initialize(self, model: CityModel, slot: int) -> None:
        super().initialize(model, slot)
        names = [d.name for d in model.departments]
        if self.department in names:
            self.dept_ = names.index(self.department)
        elif self.department in model.categories:
            self.dept_ = int(model.department_index[model.categories.index(self.department)])
        else:
            raise ValueError(f"{self.label}: unknown department {self.department!r}; one of "
                             f"{names} or a category code")  # fmt: skip
        self.extra_ = 0

    def step(self, model: CityModel, t: int) -> None:
        # yesterday's extra staff go home; today's come if active and paid for
        model.department_capacity[self.dept_] -= self.extra_
        self.extra_ = 0
        if not self.active(model, t):
            return
        cap = self.capacity_on(model, t)
        extra = self.affordable(int(cap) if np.isfinite(cap) else 0)
        if extra <= 0:
            return
        self.extra_ = extra
        model.department_capacity[self.dept_] += extra
        self.book(model, t, extra, extra * self.unit_cost)
