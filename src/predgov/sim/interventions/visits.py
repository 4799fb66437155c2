"""``ProactiveVisits``: grid cadres visit households (走访, SEED_BRIEF.md case 3).

Mirrors 田庄镇 (平度): village cadres mined historical tickets and visited proactively ("from
tickets pushing people to people bringing plans"), settled disputes with informal talks and
village agreements; 93 grids, visit logs covering 15,422 households, "60+" not-yet-reported
problems found and solved (online medical-insurance payment, land rights, old wiring);
satisfaction and resolution above 92 %.

Delivery: households (``unit="household"``, or ``unit="grid"``: the grids' households in
order), ``cadres`` x ``visits_per_cadre_day`` visits a day (``visits_per_cadre_day`` 8, an
assumption: under an hour a household with the walk) on working days only (``working_days``;
a ``capacity`` given instead overrides). A complying visited household with efficacy ``e``
(per household, from the intervention's stream; default uniform on (0.5, 1.0), an assumption):

* *discovery*: each of its latent problems (nobody called yet, any process; the quiet
  background stock is what the seed's "60+" were) is found with probability ``discover x e``
  (``discover`` 0.9, an assumption) and absorbed (``CityModel.absorb(effect=True)``: counted in
  ``absorbed`` and ``absorbed_by``, never a call; a found neighbour dispute resets the pair's
  tension as a mediation would);
* *defusing*: every neighbour pair the household belongs to (as irritant or complainant) has
  its tension scaled by ``1 - e`` and its event-rate multiplier (``neighbour.pair``) scaled by
  ``1 - defuse_cut x e`` (``defuse_cut`` 0.5: a village agreement halves the irritations, an
  assumption) for ``defuse_days`` (90, an assumption), then restored; a visit while defused
  extends the period.

Cost: ``unit_cost`` per visit (default 0: cadres' time is the capacity).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from predgov.sim.cases import LATENT
from predgov.sim.interventions.base import EFFECT, Intervention, check_fraction

if TYPE_CHECKING:
    from predgov.sim.model import CityModel


class ProactiveVisits(Intervention):
    """Cadres visit households: find latent problems, defuse neighbour tension.

    Parameters
    ----------
    households
        Household indices in priority order (shortcut for ``targeting``).
    unit
        "household" (default) or "grid" (what ``targeting`` gives).
    cadres, visits_per_cadre_day
        Daily capacity = cadres x visits per cadre-day (unless ``capacity`` is given).
    working_days
        Visit on working days only.
    discover, defuse_cut, defuse_days
        See the module docstring.
    efficacy
        Per-household efficacy (number, range or inverse CDF).
    **kwargs
        Delivery (``Intervention``).

    Examples
    --------
    >>> v = ProactiveVisits(cadres=93, start="2025-07-01", end="2025-08-31")
    >>> v.capacity
    744
    """

    name = "proactive_visits"
    delivery_unit = "household"

    def __init__(
        self,
        households: Sequence[int] | None = None,
        *,
        unit: str = "household",
        cadres: int | None = None,
        visits_per_cadre_day: float = 8.0,
        working_days: bool = True,
        discover: float = 0.9,
        defuse_cut: float = 0.5,
        defuse_days: int = 90,
        efficacy: Any = (0.5, 1.0),
        **kwargs: Any,
    ) -> None:
        if households is not None:
            if kwargs.get("targeting") is not None:
                raise ValueError("give households or targeting, not both")
            kwargs["targeting"] = households
        if unit not in ("household", "grid"):
            raise ValueError(f"ProactiveVisits targets households or grids, not {unit!r}")
        self.unit = unit
        if cadres is not None:
            if kwargs.get("capacity") is not None or kwargs.get("capacity_per_day") is not None:
                raise ValueError("give cadres or capacity, not both")
            if cadres < 0 or visits_per_cadre_day < 0:
                raise ValueError("cadres and visits_per_cadre_day must be >= 0")
            kwargs["capacity"] = round(cadres * visits_per_cadre_day)
        super().__init__(efficacy=efficacy, **kwargs)
        check_fraction("discover", discover)
        check_fraction("defuse_cut", defuse_cut)
        if int(defuse_days) != defuse_days or defuse_days < 1:
            raise ValueError(f"defuse_days must be a whole number >= 1, got {defuse_days}")
        self.cadres, self.visits_per_cadre_day = cadres, float(visits_per_cadre_day)
        self.working_days = bool(working_days)
        self.discover, self.defuse_cut = float(discover), float(defuse_cut)
        self.defuse_days = int(defuse_days)

    def default_targets(self, model: CityModel, t: int) -> np.ndarray:
        place = model.places.get("田庄镇")
        if place is None:
            return np.zeros(0, np.int64)
        return place.grids if self.unit == "grid" else place.households

    def expand(self, model: CityModel, targets: np.ndarray) -> np.ndarray:
        if self.unit == "household":
            return targets
        hh = model.households
        parts = [np.arange(hh.grid_start[g], hh.grid_stop[g]) for g in targets.tolist()]
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    def initialize(self, model: CityModel, slot: int) -> None:
        super().initialize(model, slot)
        nb = model.process_by_name.get("neighbour")
        n_pairs = 0 if nb is None else len(nb.irritant)
        if n_pairs:
            keys = np.concatenate([nb.irritant, nb.complainant])
            order = np.argsort(keys, kind="stable")
            self.pair_keys_ = keys[order]
            self.pair_ids_ = np.concatenate([np.arange(n_pairs)] * 2)[order]
        self.pair_until_ = np.full(n_pairs, -1, np.int32)
        self.pair_prev_ = np.ones(n_pairs, np.float32)

    def capacity_on(self, model: CityModel, t: int) -> float:
        if self.working_days and not model.working_day[t]:
            return 0.0
        return super().capacity_on(model, t)

    def daily(self, model: CityModel, t: int) -> None:
        if len(self.pair_until_):
            expired = np.flatnonzero(self.pair_until_ == t)
            if len(expired):
                model.multipliers["neighbour.pair"].set(expired, self.pair_prev_[expired])
                self.pair_until_[expired] = -1

    def pairs_of(self, units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Neighbour pairs of households ``units`` (as irritant or complainant) and, for each
        pair, the position in ``units`` of its household."""
        if not len(self.pair_until_):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        lo = np.searchsorted(self.pair_keys_, units, side="left")
        hi = np.searchsorted(self.pair_keys_, units, side="right")
        n = hi - lo
        owner = np.repeat(np.arange(len(units)), n)
        pos = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n) + np.repeat(lo, n)
        return self.pair_ids_[pos], owner

    def apply(self, model: CityModel, units: np.ndarray, t: int) -> None:
        e = self.efficacy_of(model, units)
        if not (e > 0).any():
            return
        units, e = units[e > 0], e[e > 0]
        c = model.cases
        latent = (c.status == LATENT) & c.active & (c.hh >= 0)
        cand = latent.nonzero()[0]
        if len(cand):
            order = np.argsort(units)
            pos = np.searchsorted(units[order], c.hh[cand])
            pos = np.minimum(pos, len(units) - 1)
            mine = units[order][pos] == c.hh[cand]
            cand, owner = cand[mine], order[pos[mine]]
            if len(cand):
                u = self.uniform(model, t, c.uid[cand], EFFECT)
                found = cand[u < self.discover * e[owner]]
                model.absorb(found, by=self, effect=True)
        pairs, owner = self.pairs_of(units)
        if len(pairs):
            pe = e[owner]
            pairs, first = np.unique(pairs, return_index=True)  # a pair visited twice: once
            pe = pe[first]
            nb = model.process_by_name["neighbour"]
            nb.tension[pairs] *= (1.0 - pe).astype(np.float32)
            if self.defuse_cut <= 0:
                return
            mult = model.multipliers["neighbour.pair"]
            fresh = pairs[self.pair_until_[pairs] < 0]
            if len(fresh):
                self.pair_prev_[fresh] = mult.at(fresh)
                factor = 1.0 - self.defuse_cut * pe[self.pair_until_[pairs] < 0]
                mult.set(fresh, self.pair_prev_[fresh] * factor)
            self.pair_until_[pairs] = t + self.defuse_days
