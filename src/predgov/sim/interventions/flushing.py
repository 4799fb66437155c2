"""``PipeFlushing``: flush heating systems before the season (冬病夏治, SEED_BRIEF.md case 1).

Mirrors 鲁瑞苑 (heated since 2003): before the 2025-26 season the heating company flushed the
system with its own cleaning device and opened a "one household, one plan" (一户一策) file per
flat, "nearly 3,000 households"; heating complaints fell 42.31 % year on year city-wide.

Targeting by estate (``unit="estate"``, the default: the estate's central-heated households in
index order) or by household list (``unit="household"``: a 一户一策 file per flat). Capacity,
cost, compliance and visits are per household; households without central heating are never
eligible. Effect: the household's clogging becomes ``(1 - e) * clog`` with ``e`` its efficacy
(default 0.9, an assumption: one flush removes most sludge; give a range for uncertainty). The
clogging-free part of the heating hazard (air locks, pressure tests, supply: the start surge)
is untouched, so flushing everyone does not remove the surge (``processes.heating``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from predgov.sim.interventions.base import Intervention

if TYPE_CHECKING:
    from predgov.sim.model import CityModel


class PipeFlushing(Intervention):
    """Flush the radiators and inlet pipes of given estates or households.

    Parameters
    ----------
    estates
        Estate indices (rows of ``CityModel.estate_table()``) in priority order; a shortcut
        for ``targeting=estates`` with ``unit="estate"``.
    households
        Household indices in priority order (``unit="household"``).
    unit
        "estate" or "household": what ``targeting`` gives.
    efficacy
        Fraction of a treated household's clogging removed (number, range or inverse CDF).
    **kwargs
        Delivery (``Intervention``): ``start``, ``end``, ``capacity`` (households a day),
        ``budget``, ``unit_cost`` (per household), ``compliance``, ``delay``, ...

    Examples
    --------
    >>> PipeFlushing(estates=[0, 3], start="2025-09-01", end="2025-10-31",
    ...              capacity_per_day=100, unit_cost=200.0).estates
    [0, 3]
    >>> PipeFlushing(households=[5, 2], capacity=10).unit
    'household'
    """

    name = "pipe_flushing"
    delivery_unit = "household"

    def __init__(
        self,
        estates: Sequence[int] | None = None,
        *,
        households: Sequence[int] | None = None,
        unit: str | None = None,
        efficacy: Any = 0.9,
        **kwargs: Any,
    ) -> None:
        given = [x for x in (estates, households, kwargs.get("targeting")) if x is not None]
        if len(given) > 1:
            raise ValueError("give one of estates, households or targeting")
        if households is not None:
            unit = unit or "household"
            kwargs["targeting"] = households
        elif estates is not None:
            unit = unit or "estate"
            kwargs["targeting"] = estates
        self.unit = unit or "estate"
        if self.unit not in ("estate", "household"):
            raise ValueError(f"PipeFlushing targets estates or households, not {self.unit!r}")
        super().__init__(efficacy=efficacy, **kwargs)
        self.estates = None if estates is None else [int(e) for e in estates]

    def expand(self, model: CityModel, targets: np.ndarray) -> np.ndarray:
        if self.unit == "household":
            return targets
        est = model.households.estates
        parts = [np.arange(est.start[e], est.stop[e]) for e in targets.tolist()
                 if est.central_heating[e]]  # fmt: skip
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    def is_eligible(self, model: CityModel, t: int, units: np.ndarray) -> np.ndarray:
        hh = model.households
        return hh.estates.central_heating[hh.estate[units]]

    def apply(self, model: CityModel, units: np.ndarray, t: int) -> None:
        hh = model.households
        keep = (1.0 - self.efficacy_of(model, units)).astype(np.float32)
        hh.clog[units] *= keep
