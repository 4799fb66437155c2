"""``AlertDispatch``: the live daily dispatch and analysis loop (日调度日分析, SEED_BRIEF case 1).

Mirrors the heating preparation: "daily dispatch and daily analysis of heating calls; when calls
about filling and pressure tests cluster in an area, inspectors go and check". The package's own
early warning (``predgov.warn.detect``, public API) runs inside the simulation on the calls the
hotline has recorded so far.

Every ``every`` days (default 7, weekly, to keep the loop cheap: one ``detect`` call scores the
last ``every`` days of every series at once; ``every=1`` is the daily loop) from the first
active day, once ``min_history`` days (28) of calls exist, the cube ``calls(time, district,
category)`` of days ``0..t-1`` (``freq`` "D") is scored with ``method`` (default "ears_c2":
needs only a week of history and no model fit; any ``detect`` method and its parameters via
``detect_params``) for days ``t-every..t-1``. Cells (district x category; unit ``"cell"``, index
``district * n_categories + category``) with an alarm in those days, restricted to
``categories`` when given, are ranked by their highest score; up to ``capacity`` inspector
teams (default 3, an assumption) are busy at once, each on one cell for ``days`` (14, an
assumption) days; a cell already covered is not sent a second team. Each dispatch costs
``unit_cost`` (a team for its stay; the budget stops dispatches). Effect (intercept phase):
while a team is in a cell, each new problem there is dealt with on the spot before anyone calls
with probability ``p_absorb x e`` (``p_absorb`` 0.3, an assumption; ``e`` the cell's efficacy,
default 1), counted in ``absorbed``. A ``targeting`` rule (cells) replaces the detector.

The detector is deterministic and draws no random numbers; the absorption draws come from the
intervention's own stream, so paired runs stay paired.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from predgov.sim import streams
from predgov.sim.interventions.base import (
    Intervention,
    check_fraction,
    refuse_unit_options,
    resolve_targets,
)

if TYPE_CHECKING:
    from predgov.sim.model import CityModel


class AlertDispatch(Intervention):
    """Early warning on the simulated calls sends inspectors to alarmed cells.

    Parameters
    ----------
    categories
        Category codes watched (default all).
    every
        Days between two runs of the detector (1 = daily).
    method, detect_params
        ``predgov.warn.detect`` method and parameters.
    min_history
        Days of calls needed before the first run.
    days
        Days a team stays in a cell.
    p_absorb
        Probability a new problem in a covered cell is dealt with before anyone calls.
    capacity
        Teams (cells covered at once).
    **kwargs
        Delivery (``Intervention``): ``start``, ``end``, ``trigger``, ``budget``,
        ``unit_cost`` (per dispatch), ``efficacy`` (per cell).

    Examples
    --------
    >>> AlertDispatch(categories=["heating"], every=1).method
    'ears_c2'
    """

    name = "alert_dispatch"
    unit = "cell"
    delivery_unit = "cell"

    def __init__(
        self,
        *,
        categories: Sequence[str] | None = None,
        every: int = 7,
        method: str = "ears_c2",
        detect_params: dict[str, Any] | None = None,
        min_history: int = 28,
        days: int = 14,
        p_absorb: float = 0.3,
        capacity: Any = 3,
        **kwargs: Any,
    ) -> None:
        for key, val in (("every", every), ("days", days), ("min_history", min_history)):
            if int(val) != val or val < 1:
                raise ValueError(f"{key} must be a whole number >= 1, got {val}")
        refuse_unit_options(self.name, kwargs)
        super().__init__(capacity=capacity, **kwargs)
        check_fraction("p_absorb", p_absorb)
        self.categories = None if categories is None else [str(c) for c in categories]
        self.every, self.method = int(every), str(method)
        self.detect_params = dict(detect_params or {})
        self.min_history, self.days, self.p_absorb = int(min_history), int(days), float(p_absorb)

    def initialize(self, model: CityModel, slot: int) -> None:
        super().initialize(model, slot)
        self.watched(model)  # unknown categories: an error before the run
        #: Day index until which (exclusive) a team covers each cell, and cell probabilities.
        self.until_ = np.zeros(len(self.visits_), np.int64)
        self.p_cell_ = np.zeros(len(self.visits_))
        self.alarms_: list[tuple[int, np.ndarray]] = []

    def watched(self, model: CityModel) -> np.ndarray:
        """Mask of the watched categories."""
        out = np.zeros(len(model.categories), bool)
        if self.categories is None:
            out[:] = True
            return out
        bad = [c for c in self.categories if c not in model.categories]
        if bad:
            raise ValueError(f"{self.label}: unknown categories {bad}")
        out[[model.categories.index(c) for c in self.categories]] = True
        return out

    def alarmed_cells(self, model: CityModel, t: int) -> np.ndarray:
        """Cells with an alarm on days ``t-every..t-1`` (calls before day ``t`` only), highest
        score first."""
        from predgov.warn import detect

        calls = model.record["calls"][:t]
        da = xr.DataArray(calls, dims=("time", "district", "category"), coords={
            "time": model.dates[:t], "district": list(model.households.district_names),
            "category": model.categories}, attrs={"freq": "D"})  # fmt: skip
        first = model.dates[max(0, t - self.every)]
        out = detect(da, self.method, start=first, end=model.dates[t - 1], **self.detect_params)
        alarm = out["alarm"].sel(time=slice(first, None)).values.astype(bool)
        score = np.where(alarm, np.nan_to_num(out["score"].sel(time=slice(first, None)).values,
                                              nan=0.0), -np.inf).max(axis=0)  # fmt: skip
        hit = alarm.any(axis=0) & self.watched(model)[None, :]
        d, c = np.nonzero(hit)
        cells = d * len(model.categories) + c
        order = np.lexsort((cells, -score[d, c]))
        return cells[order]

    def step(self, model: CityModel, t: int) -> None:
        if not self.active(model, t):
            return
        if (t - self.started_) % self.every or t < self.min_history:
            return
        if self.targeting is None:
            cells = self.alarmed_cells(model, t)
        else:
            cells = resolve_targets(self.targeting, model, t, "cell")
        self.alarms_.append((t, cells))
        free_cells = cells[self.until_[cells] <= t]
        busy = int((self.until_ > t).sum())
        teams = max(0.0, self.capacity_on(model, t) - busy)
        n = self.affordable(int(min(teams, len(free_cells))))
        if n <= 0:
            return
        go = free_cells[:n]
        self.visits_[go] += 1
        self.until_[go] = t + self.days
        self.p_cell_[go] = self.p_absorb * self.efficacy_of(model, go)
        self.book(model, t, n, n * self.unit_cost)

    def intercept(self, model: CityModel, t: int, new: np.ndarray) -> np.ndarray:
        c = model.cases
        cell = c.district[new].astype(np.int64) * len(model.categories) + c.category[new]
        on = self.until_[cell] > t
        if not on.any():
            return np.zeros(0, np.int64)
        sel, p = new[on], self.p_cell_[cell[on]]
        return sel[self.uniform(model, t, c.uid[sel], streams.INTERCEPT) < p]
