"""``MerchantElimination``: last-place elimination of merchants (末位淘汰, SEED_BRIEF.md case 2).

Mirrors the 中山路 chamber: "merchants with persistently high complaint rates face last-place
elimination". The rule sees only what the hotline recorded: calls about consumer disputes
attributed to each merchant (``CityModel.merchant_calls``, by month), never merchant quality.

Delivery in rounds: from the first active day, every ``period_days`` (30) days, the pool's
merchants (default the chamber, ``model.places["中山路"].merchants``) are ranked by their
observed calls over the current and the previous ``window_months - 1`` months (3 months; calls
up to the day before), most first, those with at least ``min_calls`` (2) calls taking part
(ties: lower index first); the top ``per_round`` (default 5 % of the pool, at least one) not yet
treated are treated that day (``capacity`` is ignored; ``budget`` and ``unit_cost`` per merchant
apply). A ``targeting`` rule, when given, replaces the ranking (asked each round).
Effect: a complying merchant leaves (its successor is better) or improves: its dispute
multiplier (``consumer.merchant``) is scaled by ``1 - e``, ``e`` drawn per merchant (default
uniform on (0.5, 1.0), an assumption). Costs: ``unit_cost`` per merchant treated (default 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from predgov.sim.interventions.base import Intervention, resolve_targets

if TYPE_CHECKING:
    from predgov.sim.model import CityModel


class MerchantElimination(Intervention):
    """Merchants with the most observed complaints leave or improve, round by round.

    Parameters
    ----------
    pool
        Merchant indices the rule ranks (default the 中山路 chamber).
    per_round
        Merchants treated each round (default 5 % of the pool, at least one).
    period_days, window_months, min_calls
        See the module docstring.
    efficacy
        Per-merchant reduction of the dispute rate (number, range or inverse CDF).
    **kwargs
        Delivery (``Intervention``): ``start``, ``end``, ``budget``, ``unit_cost``, ...

    Examples
    --------
    >>> MerchantElimination(start="2025-08-01", per_round=3).period_days
    30
    """

    name = "merchant_elimination"
    unit = "merchant"
    delivery_unit = "merchant"

    def __init__(
        self,
        pool: Sequence[int] | None = None,
        *,
        per_round: int | None = None,
        period_days: int = 30,
        window_months: int = 3,
        min_calls: int = 2,
        efficacy: Any = (0.5, 1.0),
        **kwargs: Any,
    ) -> None:
        for key, val in (("period_days", period_days), ("window_months", window_months)):
            if int(val) != val or val < 1:
                raise ValueError(f"{key} must be a whole number >= 1, got {val}")
        if per_round is not None and per_round < 0:
            raise ValueError(f"per_round must be >= 0, got {per_round}")
        super().__init__(efficacy=efficacy, retarget_every=int(period_days), **kwargs)
        self.pool = None if pool is None else np.asarray(pool, np.int64)
        self.per_round = per_round
        self.period_days, self.window_months = int(period_days), int(window_months)
        self.min_calls = int(min_calls)

    def pool_of(self, model: CityModel) -> np.ndarray:
        """The merchants the rule ranks."""
        if self.pool is not None:
            return resolve_targets(self.pool, model, 0, "merchant")
        place = model.places.get("中山路")
        return np.zeros(0, np.int64) if place is None else place.merchants

    def observed_calls(self, model: CityModel, t: int) -> np.ndarray:
        """Calls per merchant recorded before day index ``t`` in the window of months."""
        month = int(model.month_of_day[t])
        return model.merchant_calls[max(0, month - self.window_months + 1) : month + 1].sum(
            axis=0)  # fmt: skip

    def default_targets(self, model: CityModel, t: int) -> np.ndarray:
        pool = self.pool_of(model)
        if len(pool) == 0 or model.merchant_calls.shape[1] == 0:
            return np.zeros(0, np.int64)
        calls = self.observed_calls(model, t)[pool]
        order = np.lexsort((pool, -calls))
        return pool[order][calls[order] >= self.min_calls]

    def capacity_on(self, model: CityModel, t: int) -> float:
        if (t - (self.started_ or 0)) % self.period_days:
            return 0.0
        if self.per_round is not None:
            return float(self.per_round)
        return float(max(1, round(0.05 * len(self.pool_of(model)))))

    def apply(self, model: CityModel, units: np.ndarray, t: int) -> None:
        if "consumer" not in model.process_by_name:
            return
        factor = 1.0 - self.efficacy_of(model, units)
        if (factor < 1).any():
            model.multipliers["consumer.merchant"].scale(units, factor)
