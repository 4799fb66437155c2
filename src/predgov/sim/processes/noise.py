"""Noise (噪声): point sources whose noise decays with distance to housing, worse at night.

World (sources are arrays, ``Sources``)
    Per district, sources per 10,000 households (x ``scale``, at least 0): ROAD 4 (busy road
    segments), YARD 0.5 (logistics yards; x4 in 西海岸新区 with the port, x2 in 城阳 and
    胶州), FACTORY 1 (x1.5 in county-level cities), MARKET 1.5 (traditional markets and
    commercial streets with loudspeakers), SITE 1 (construction sites; x the demo city's
    new-construction factor: 西海岸新区 1.6, 城阳 1.5, 即墨 1.4, 李沧 1.2). Positions uniform in
    the district square (as estates); intensity lognormal(0, 0.5); night share ROAD 0.3, YARD
    0.5 (container impacts at night, SEED_BRIEF.md case 4), FACTORY 0.4, MARKET 0.05, SITE 0.1.
    Category: ROAD -> noise_traffic, MARKET -> noise_social, YARD/FACTORY/SITE ->
    noise_construction (the taxonomy has no industrial-noise code; like construction noise it
    goes to the ecology and environment bureau).
    Next to the named estate 青铁公园里 (``households.SEED_PLACES``) the district's first three
    yards, one factory, two roads and one market are moved to 0.15-0.6 km from it
    (``NEAR_ESTATE``).
Exposure
    ``w_s = intensity_s * m_s * (1 - night_s + night_weight * night_s * n_s)`` (night noise
    counts ``night_weight`` = 3 times). ``m_s`` = ``multipliers["intensity"]`` and ``n_s`` =
    ``multipliers["night"]`` are in [0, 1], 1 unless an intervention changes the source
    (speed limits, loudspeaker rules; a night-work ban sets ``n_s`` to 0). Estate ``e`` gets
    ``E_ec = sum_s w_s * exp(-d_es / decay_km)`` over sources of category ``c`` within
    ``radius_km`` (decay 0.3 km, radius 1.5 km).
Occurrence
    Per household of estate ``e``, category ``c``, day ``t``: hazard ``rate_c * (E_ec /
    Ebar_c) * s_c(t) * occupants / 5``. ``Ebar_c`` is the household-weighted mean exposure of
    the world when built, so ``rate_c`` is the city-wide level per household whatever the
    scale and exposure decides only *where* (frozen at build: lowering a source lowers the
    hazard). ``s_c`` = 1 + 0.45 x summer bump (windows open; peak 205, width 50) for traffic
    and social noise; for construction 0.4 on public holidays, else 1. Keyed thinning per
    category (``processes.base``) with the baseline exposure (interventions only lower it)
    and occupants 5: a candidate falls on cell (estate, category) with probability
    proportional to ``Ebar``-scaled base exposure x households (purpose PLACE, a search in the
    cumulative weights, which do not depend on rates), on a uniform household of the estate
    (PLACE2), accepted with probability ``E_ec / E_ec(base) * occupants / 5``; a household
    with an open noise problem is rejected. Case ``uid = hash(NOISE, household, day)``,
    ``src`` = the estate.
Ends and reporting
    Daily end 0.1 (the source quiets, people get used to it); ``report`` 0.2/day.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from predgov.sim import streams
from predgov.sim.cases import new_cases
from predgov.sim.processes.base import (
    Multiplier,
    Process,
    ProcessParams,
    first_unique,
    keyed_arrivals,
    uniform_index,
)
from predgov.sim.processes.neighbour import summer_bump

ROAD, YARD, FACTORY, MARKET, SITE = range(5)
KIND_NAMES = ("road", "logistics_yard", "factory", "market", "construction_site")
_PER_10K = np.array([4.0, 0.5, 1.0, 1.5, 1.0])
_NIGHT = np.array([0.3, 0.5, 0.4, 0.05, 0.1])
_YARD = {"西海岸新区": 4.0, "城阳": 2.0, "胶州": 2.0}
_SITE = {"西海岸新区": 1.6, "城阳": 1.5, "即墨": 1.4, "李沧": 1.2}
#: Sources moved next to the named noise estate, by kind (an assumption: "surrounded by
#: logistics yards, factories, heavy traffic and a traditional market", SEED_BRIEF.md case 4).
NEAR_ESTATE = {YARD: 3, FACTORY: 1, ROAD: 2, MARKET: 1}
#: Category of each source kind.
KIND_CATEGORY = ("noise_traffic", "noise_construction", "noise_construction", "noise_social",
                 "noise_construction")  # fmt: skip


@dataclass(frozen=True)
class NoiseParams:
    """Parameters of the noise process (see the module docstring).

    Examples
    --------
    >>> NoiseParams().decay_km
    0.3
    """

    decay_km: float = 0.3
    radius_km: float = 1.5
    night_weight: float = 3.0
    summer_amp: float = 0.45
    holiday_construction: float = 0.4
    rate_traffic: float = 1.7e-5
    rate_construction: float = 6.9e-5
    rate_social: float = 1.03e-4
    reporting: ProcessParams = field(
        default_factory=lambda: ProcessParams(report=0.2, recall=0.35, end=0.1)
    )


@dataclass
class Sources:
    """Noise sources as arrays."""

    kind: np.ndarray
    district: np.ndarray
    x: np.ndarray
    y: np.ndarray
    intensity: np.ndarray
    night: np.ndarray

    def __len__(self) -> int:
        return len(self.kind)


class Noise(Process):
    """Noise complaints from point sources near housing."""

    process = streams.NOISE
    categories = ("noise_traffic", "noise_construction", "noise_social")

    def __init__(self, model, params: NoiseParams | None = None) -> None:
        super().__init__(model)
        self.params = p = params or NoiseParams()
        hh = model.households
        est = hh.estates
        rng = streams.day_rng(model.world_seed, streams.WORLD, 20_000 + self.process)
        cols: dict[str, list] = {k: [] for k in ("kind", "district", "x", "y")}
        for d, name in enumerate(hh.district_names):
            n_hh = hh.district_stop[d] - hh.district_start[d]
            rural = not hh.urban[d]
            mult = np.array([1.0, _YARD.get(name, 1.0), 1.5 if rural else 1.0, 1.0,
                             _SITE.get(name, 1.0)])  # fmt: skip
            n_k = rng.poisson(n_hh / 1e4 * _PER_10K * mult)
            in_d = est.district == d
            side = max(float(est.x[in_d].max(initial=0)), float(est.y[in_d].max(initial=0)), 0.1)
            k = int(n_k.sum())
            cols["kind"].append(np.repeat(np.arange(5), n_k))
            cols["district"].append(np.full(k, d))
            cols["x"].append(rng.uniform(0, side, k))
            cols["y"].append(rng.uniform(0, side, k))
        kind = np.concatenate(cols["kind"]).astype(np.int8)
        self.sources = Sources(
            kind=kind,
            district=np.concatenate(cols["district"]).astype(np.int16),
            x=np.concatenate(cols["x"]), y=np.concatenate(cols["y"]),
            intensity=rng.lognormal(0.0, 0.5, len(kind)), night=_NIGHT[kind],
        )  # fmt: skip
        self.place_sources = self._place_near_estate(model)
        # Sparse estate-source pairs within the radius, per district.
        pe, ps, pw = [], [], []
        src = self.sources
        for d in range(len(hh.district_names)):
            e_idx = np.flatnonzero(est.district == d)
            s_idx = np.flatnonzero(src.district == d)
            if len(e_idx) == 0 or len(s_idx) == 0:
                continue
            dx = est.x[e_idx, None] - src.x[None, s_idx]
            dy = est.y[e_idx, None] - src.y[None, s_idx]
            dist = np.hypot(dx, dy)
            i, j = np.nonzero(dist < p.radius_km)
            pe.append(e_idx[i])
            ps.append(s_idx[j])
            pw.append(np.exp(-dist[i, j] / p.decay_km))
        self.pair_estate = np.concatenate(pe) if pe else np.zeros(0, np.int64)
        self.pair_source = np.concatenate(ps) if ps else np.zeros(0, np.int64)
        self.pair_weight = np.concatenate(pw) if pw else np.zeros(0)
        self.source_cat = np.array([self.categories.index(KIND_CATEGORY[k]) for k in range(5)])
        self.multipliers = {
            "intensity": Multiplier("noise.intensity", len(kind), "source"),
            "night": Multiplier("noise.night", len(kind), "source"),
        }
        self._seen = self._versions()
        exposure = self.exposure()
        size = est.size.astype(np.float64)
        mean = (exposure * size[:, None]).sum(axis=0) / size.sum()
        self.norm = np.where(mean > 0, 1.0 / np.where(mean > 0, mean, 1.0), 0.0)
        self.base_exposure = exposure * self.norm
        self.cur_exposure = self.base_exposure.copy()
        bump = 1 + p.summer_amp * summer_bump(model.day_of_year)
        hol = np.where(model.holiday, p.holiday_construction, 1.0)
        rates = np.array([p.rate_traffic, p.rate_construction, p.rate_social])
        self.season = np.stack([bump, hol, bump], axis=1) * rates  # (time, category)
        self._size = est.size.astype(np.float64)  # households per estate (fixed)
        # Candidates fall on cells (estate, category) in proportion to base exposure x size:
        # per category, the cumulative weights and the total (the bound is season x total).
        w = self.base_exposure * self._size[:, None]
        self._cum = np.cumsum(w, axis=0).T.copy()  # (category, estate)
        self.lam = self.season * self._cum[:, -1][None, :] if len(w) else self.season * 0
        self._unit_key = np.arange(len(self.categories))

    def _place_near_estate(self, model) -> dict[str, np.ndarray]:
        """Move sources of the district next to the named noise estate (SEED_BRIEF.md case
        4: 青铁公园里 is surrounded by logistics yards, factories, busy roads and a market):
        the district's first ``NEAR_ESTATE`` sources of each kind go to 0.15-0.6 km from it
        (world stream; counts unchanged, so a reduced city keeps its source density)."""
        hh = model.households
        out: dict[str, np.ndarray] = {}
        src, est = self.sources, hh.estates
        for place in ("青铁公园里",):
            if place not in hh.places:
                continue
            e = hh.places[place][0]
            d = int(est.district[e])
            rng = streams.day_rng(model.world_seed, streams.WORLD, 30_000)
            moved = np.concatenate([np.flatnonzero((src.district == d) & (src.kind == k))[:n]
                                    for k, n in NEAR_ESTATE.items()])  # fmt: skip
            r = rng.uniform(0.15, 0.6, len(moved))
            a = rng.uniform(0, 2 * np.pi, len(moved))
            src.x[moved] = est.x[e] + r * np.cos(a)
            src.y[moved] = est.y[e] + r * np.sin(a)
            out[place] = np.sort(moved)
        return out

    def _versions(self) -> tuple[int, ...]:
        return tuple(mult.version for mult in self.multipliers.values())

    def exposure(self) -> np.ndarray:
        """Exposure ``E`` (estate, category) from the current source state."""
        s, p = self.sources, self.params
        night = s.night * self.multipliers["night"].values
        w = s.intensity * self.multipliers["intensity"].values * (
            1 - s.night + p.night_weight * night)  # fmt: skip
        n_e = len(self.model.households.estates)
        out = np.zeros((n_e, len(self.categories)))
        cat = self.source_cat[s.kind[self.pair_source]]
        for c in range(len(self.categories)):
            sel = cat == c
            out[:, c] = np.bincount(self.pair_estate[sel], weights=(
                w[self.pair_source[sel]] * self.pair_weight[sel]), minlength=n_e)  # fmt: skip
        return out

    def refresh(self) -> None:
        """Recompute exposure after an intervention changed the sources (done by ``occur``
        itself when a multiplier changed)."""
        self.cur_exposure = self.exposure() * self.norm
        self._seen = self._versions()

    def occur(self, t: int) -> dict[str, np.ndarray] | None:
        m = self.model
        hh = m.households
        est = hh.estates
        day = int(m.day_numbers[t])
        if self._versions() != self._seen:
            self.refresh()
        unit, uid = keyed_arrivals(m.seed, self.process, day, self._unit_key, self.lam[t])
        if len(unit) == 0:
            return None
        c = unit
        u_cell = streams.keyed_uniform(m.seed, self.process, day, uid, streams.PLACE)
        e = np.empty(len(c), np.int64)
        for k in np.unique(c).tolist():  # at most three categories
            sel = c == k
            row = self._cum[k]
            e[sel] = np.minimum(np.searchsorted(row, u_cell[sel] * row[-1], side="right"),
                                len(row) - 1)  # fmt: skip
        size = self._size
        who = est.start[e] + uniform_index(
            streams.keyed_uniform(m.seed, self.process, day, uid, streams.PLACE2), size[e])
        u = streams.keyed_uniform(m.seed, self.process, day, uid, streams.ACCEPT)
        # A candidate's cell has weight > 0, so base exposure > 0: the current / base ratio.
        ratio = self.cur_exposure[e, c] / self.base_exposure[e, c]
        bit = np.uint8(1 << self.process)
        ok = u < ratio * hh.occupants[who] / 5.0
        ok &= (hh.active[who] & bit) == 0
        who, e, c = who[ok], e[ok], c[ok]
        keep = first_unique(who)
        who, e, c = who[keep], e[keep], c[keep]
        if len(who) == 0:
            return None
        prop = hh.propensity[who] * hh.experience_factor(who, self.process)
        return new_cases(
            broadcast=False,
            uid=streams.hash_key(self.process, who, day), process=self.process,
            category=self.cat_index[c], district=hh.district[who], hh=who, onset=day,
            patience=hh.patience[who], propensity=prop, src=e,
        )  # fmt: skip
