"""``SourceControl``: rules on noise sources (the 青铁公园里 task force, SEED_BRIEF.md case 4).

Mirrors the West Coast New Area's cross-department team around 青铁公园里: logistics yards
changed working hours and banned loud night work, speed-limit signs went up and roads were
repaired early, the market got loudspeaker rules; noise complaints around the estate went from
49 in the first half of 2025 to 15 in the second (reported as -69.3 %, a naive comparison that
ignores summer seasonality: the paired difference with the baseline is the model's answer).

Targeting: noise sources (``unit="source"``; default every source within the noise radius of
青铁公园里, loudest there first: the task force "pinned down key areas and units";
``sources_reaching``). Effect on a complying source with efficacy ``e``
(per source, from the intervention's stream): sources of a kind in ``night_kinds`` (default
logistics yards, factories, construction sites: a night-work ban) get their night multiplier
(``noise.night``) scaled by ``1 - night_cut * e``; sources of a kind in ``intensity_kinds``
(default roads and markets: speed limits, road repairs, loudspeaker rules) get their intensity
multiplier (``noise.intensity``) scaled by ``1 - intensity_cut * e``. Assumptions (ODD
parameter table): ``night_cut`` 1.0 (a ban), ``intensity_cut`` 0.5, efficacy uniform on
(0.6, 1.0) (enforcement varies). Rules stay in force after ``end`` (they are not undone).
Cost: ``unit_cost`` per source (signs, inspections), default 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from predgov.sim.interventions.base import Intervention, check_fraction
from predgov.sim.processes.noise import FACTORY, MARKET, ROAD, SITE, YARD

if TYPE_CHECKING:
    from predgov.sim.model import CityModel


class SourceControl(Intervention):
    """Night-work bans and intensity cuts on noise sources.

    Parameters
    ----------
    sources
        Source indices (``model.process_by_name["noise"].sources``) in priority order; a
        shortcut for ``targeting``. Default: the sources reaching 青铁公园里.
    night_cut, intensity_cut
        Fraction of night noise / of intensity removed at efficacy 1.
    night_kinds, intensity_kinds
        Source kinds (``processes.noise``: ROAD, YARD, FACTORY, MARKET, SITE) each rule hits.
    efficacy
        Per-source share of the cut achieved (number, range or inverse CDF).
    **kwargs
        Delivery (``Intervention``).

    Examples
    --------
    >>> SourceControl(start="2025-07-01", intensity_cut=0.3).intensity_cut
    0.3
    """

    name = "source_control"
    unit = "source"
    delivery_unit = "source"

    def __init__(
        self,
        sources: Sequence[int] | None = None,
        *,
        night_cut: float = 1.0,
        intensity_cut: float = 0.5,
        night_kinds: Sequence[int] = (YARD, FACTORY, SITE),
        intensity_kinds: Sequence[int] = (ROAD, MARKET),
        efficacy: Any = (0.6, 1.0),
        **kwargs: Any,
    ) -> None:
        if sources is not None:
            if kwargs.get("targeting") is not None:
                raise ValueError("give sources or targeting, not both")
            kwargs["targeting"] = sources
        super().__init__(efficacy=efficacy, **kwargs)
        check_fraction("night_cut", night_cut)
        check_fraction("intensity_cut", intensity_cut)
        self.night_cut, self.intensity_cut = float(night_cut), float(intensity_cut)
        self.night_kinds = np.asarray(night_kinds, np.int64)
        self.intensity_kinds = np.asarray(intensity_kinds, np.int64)

    def default_targets(self, model: CityModel, t: int) -> np.ndarray:
        place = model.places.get("青铁公园里")
        noise = model.process_by_name.get("noise")
        if place is None or noise is None:
            return np.zeros(0, np.int64)
        return sources_reaching(model, place.estates)

    def apply(self, model: CityModel, units: np.ndarray, t: int) -> None:
        if "noise" not in model.process_by_name:
            return
        kind = model.process_by_name["noise"].sources.kind[units]
        e = self.efficacy_of(model, units)
        for key, kinds, cut in (("noise.night", self.night_kinds, self.night_cut),
                                ("noise.intensity", self.intensity_kinds, self.intensity_cut)):
            sel = np.isin(kind, kinds)
            if sel.any() and cut > 0:
                factor = 1.0 - cut * e[sel]
                if (factor < 1).any():
                    model.multipliers[key].scale(units[sel], factor)


def sources_reaching(model: CityModel, estates: np.ndarray) -> np.ndarray:
    """Noise sources within the noise radius of ``estates``, the loudest there first (by
    baseline contribution: intensity x night weighting x distance decay).

    Examples
    --------
    >>> from predgov.sim.model import CityModel
    >>> m = CityModel(scale=0.01, start="2025-07-01", end="2025-07-01", processes=["noise"])
    >>> place = m.places["青铁公园里"]
    >>> bool(np.isin(place.sources, sources_reaching(m, place.estates)).all())
    True
    """
    noise = model.process_by_name["noise"]
    src, p = noise.sources, noise.params
    sel = np.isin(noise.pair_estate, estates)
    s = noise.pair_source[sel]
    w = src.intensity[s] * (1 - src.night[s] + p.night_weight * src.night[s])
    w = w * noise.pair_weight[sel]
    total = np.bincount(s, weights=w, minlength=len(src))
    hit = np.unique(s)
    return hit[np.lexsort((hit, -total[hit]))]
