"""``MediationNetwork``: on-the-spot mediation of consumer disputes (SEED_BRIEF.md case 2).

Mirrors the 中山路 merchants' chamber (市南) "1+6+N" network: 1 main consumer-rights station, 6
sub-stations and N service teams near busy lodgings, with named contacts; staff mediate on the
spot; 600+ merchants; the peak-season complaint rate "fell markedly" (no figure given).

Delivery: merchants join the network (``unit="merchant"``; default the chamber's merchants,
``model.places["中山路"].merchants``; capacity = merchants enrolled a day, default all on the
first day; ``unit_cost`` per merchant enrolled). Effect (intercept phase): from the day a
complying merchant joined until ``end``, each new consumer dispute with it (resident or
tourist) is settled on the spot before anyone calls with probability ``p_mediate x e`` (``e``
the merchant's efficacy, drawn per merchant; ``p_mediate`` 0.6 and efficacy uniform on
(0.5, 1.0) are assumptions: the article gives no figure), counted in ``absorbed``. Each
mediation costs ``cost_per_mediation`` (default 0), within the budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from predgov.sim import streams
from predgov.sim.interventions.base import Intervention, check_fraction

if TYPE_CHECKING:
    from predgov.sim.model import CityModel


class MediationNetwork(Intervention):
    """Member merchants' disputes are mediated on the spot with some probability.

    Parameters
    ----------
    merchants
        Merchant indices (shortcut for ``targeting``); default the 中山路 chamber.
    p_mediate
        Probability a member's new dispute is settled on the spot (at efficacy 1).
    cost_per_mediation
        Cost of each dispute mediated.
    efficacy
        Per-merchant efficacy (number, range or inverse CDF).
    **kwargs
        Delivery (``Intervention``).

    Examples
    --------
    >>> MediationNetwork(start="2025-07-01", end="2025-08-31").p_mediate
    0.6
    """

    name = "mediation_network"
    unit = "merchant"
    delivery_unit = "merchant"

    def __init__(
        self,
        merchants: Sequence[int] | None = None,
        *,
        p_mediate: float = 0.6,
        cost_per_mediation: float = 0.0,
        efficacy: Any = (0.5, 1.0),
        **kwargs: Any,
    ) -> None:
        if merchants is not None:
            if kwargs.get("targeting") is not None:
                raise ValueError("give merchants or targeting, not both")
            kwargs["targeting"] = merchants
        super().__init__(efficacy=efficacy, **kwargs)
        check_fraction("p_mediate", p_mediate)
        if not cost_per_mediation >= 0:
            raise ValueError(f"cost_per_mediation must be >= 0, got {cost_per_mediation}")
        self.p_mediate, self.cost_per_mediation = float(p_mediate), float(cost_per_mediation)

    def default_targets(self, model: CityModel, t: int) -> np.ndarray:
        place = model.places.get("中山路")
        return np.zeros(0, np.int64) if place is None else place.merchants

    def initialize(self, model: CityModel, slot: int) -> None:
        super().initialize(model, slot)
        #: Probability that a dispute with each merchant is mediated (0 = not a member).
        self.p_member_ = np.zeros(len(self.visits_))
        self.consumer_cat_ = (model.categories.index("consumer_dispute")
                              if "consumer" in model.process_by_name else -1)  # fmt: skip

    def apply(self, model: CityModel, units: np.ndarray, t: int) -> None:
        self.p_member_[units] = self.p_mediate * self.efficacy_of(model, units)

    def intercept(self, model: CityModel, t: int, new: np.ndarray) -> np.ndarray:
        if t > self.end_t_ or self.consumer_cat_ < 0:
            return np.zeros(0, np.int64)
        c = model.cases
        sel = new[(c.category[new] == self.consumer_cat_) & (c.src[new] >= 0)]
        if len(sel) == 0:
            return sel
        p = self.p_member_[c.src[sel]]
        sel, p = sel[p > 0], p[p > 0]
        if len(sel) == 0:
            return sel
        out = sel[self.uniform(model, t, c.uid[sel], streams.INTERCEPT) < p]
        if self.cost_per_mediation > 0 and len(out):
            out = out[: self.affordable(len(out), self.cost_per_mediation)]
            self.book(model, t, 0, len(out) * self.cost_per_mediation)
        return out
