"""Named places of the seed's cases, as units interventions can target (``CityModel.places``).

Each ``Place`` holds index arrays into the model's units: households, estates, grids,
merchants (``processes.consumer``), noise sources (``processes.noise``) and neighbour pairs
whose complainant lives there (``processes.neighbour``). The households, estates and grids come
from ``households.SEED_PLACES`` (drawn with the world seed); this module adds:

* 中山路 (merchants, 市南): the Zhongshan Road chamber, 620 merchants at full scale ("600+",
  SEED_BRIEF.md case 2; ``round(620 x scale)``, at least one), the first of 市南's merchants;
* for 青铁公园里, the noise sources ``processes.noise`` moved next to it (case 4);
* for 田庄镇, its neighbour pairs (case 3).

A place whose district is not simulated is absent.

Examples
--------
>>> from predgov.sim.model import CityModel
>>> m = CityModel(scale=0.01, start="2025-11-15", end="2025-11-15")
>>> sorted(m.places)
['中山路', '田庄镇', '青铁公园里', '鲁瑞苑']
>>> town = m.places["田庄镇"]
>>> town.district, len(town.grids), abs(len(town.households) - 154) < 400
('平度', 1, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from predgov.sim.households import SEED_PLACES

if TYPE_CHECKING:
    from predgov.sim.model import CityModel

#: Zhongshan Road chamber members at full scale (SEED_BRIEF.md case 2: "600+").
ZHONGSHAN_MERCHANTS = 620

_EMPTY = np.zeros(0, np.int64)


@dataclass
class Place:
    """A named place: index arrays into the model's units (empty where it has none)."""

    name: str
    kind: str
    district: str
    households: np.ndarray = field(default_factory=lambda: _EMPTY)
    estates: np.ndarray = field(default_factory=lambda: _EMPTY)
    grids: np.ndarray = field(default_factory=lambda: _EMPTY)
    merchants: np.ndarray = field(default_factory=lambda: _EMPTY)
    sources: np.ndarray = field(default_factory=lambda: _EMPTY)
    pairs: np.ndarray = field(default_factory=lambda: _EMPTY)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k} {len(getattr(self, k))}" for k in (
            "households", "estates", "grids", "merchants", "sources", "pairs")
            if len(getattr(self, k)))  # fmt: skip
        return f"Place({self.name!r}, {self.kind}, {self.district}: {sizes})"


def build_places(model: CityModel) -> dict[str, Place]:
    """The named places present in ``model`` (see the module docstring)."""
    hh = model.households
    est = hh.estates
    out: dict[str, Place] = {}
    for name, (a, b) in hh.places.items():
        kind, district = SEED_PLACES[name][:2]
        h0, h1 = int(est.start[a]), int(est.stop[b - 1])
        grids = np.flatnonzero((hh.grid_start >= h0) & (hh.grid_stop <= h1))
        place = Place(name, kind, district, households=np.arange(h0, h1),
                      estates=np.arange(a, b), grids=grids)  # fmt: skip
        noise = model.process_by_name.get("noise")
        if noise is not None:
            place.sources = noise.place_sources.get(name, _EMPTY)
        nb = model.process_by_name.get("neighbour")
        if nb is not None:
            place.pairs = np.flatnonzero((nb.complainant >= h0) & (nb.complainant < h1))
        out[name] = place
    consumer = model.process_by_name.get("consumer")
    if consumer is not None and "市南" in hh.district_names:
        d = hh.district_names.index("市南")
        mer = consumer.merchants
        n = min(max(1, round(ZHONGSHAN_MERCHANTS * model.scale)), int(mer.stop[d] - mer.start[d]))
        out["中山路"] = Place("中山路", "merchants", "市南",
                           merchants=np.arange(mer.start[d], mer.start[d] + n))  # fmt: skip
    return out
