"""Consumer disputes (消费纠纷): visitors and residents meet merchants of varying quality.

World (merchants are arrays, ``Merchants``)
    Merchants per district = ``round(scale * households / 10,000 * density * commercial)`` with
    ``density`` 40 and ``commercial`` 2.5 in 市南 (Zhongshan Road and the old shopping core,
    SEED_BRIEF.md case 2: 600+ merchants in one chamber), 1.2 in 市北, 1 elsewhere. Quality
    ``q ~ Beta(4, 1.5)`` (most are fine, a tail is not).
Daily transactions and disputes
    Per merchant and day, residents make ``resident_visits`` (30; x ``weekend`` 1.3 on days
    off) and visitors ``tourist_visits`` (4) x ``tourist[district]`` in the tourist season
    (市南 12, 崂山 6, 西海岸新区 4, 市北 2.5, else 1.5), x ``golden_week`` (2) on public
    holidays. A transaction turns into a dispute with probability ``dispute * (1 - q) ** 2``,
    x ``tourist_factor`` (2: quick purchases, short dwell, little communication) for visitors.
    The dispute probability is further multiplied by ``multipliers["merchant"]`` in [0, 1]
    (1 unless an intervention improved the merchant: training, a rights station, removal).
    Drawn per (district, visitor type) by keyed thinning (``processes.base``; bound: quality 0
    and multiplier 1): a candidate is a uniform merchant of the district (purpose PLACE),
    accepted with probability ``(1 - q) ** 2 * m_merchant`` (ACCEPT). A resident complainant
    is a uniform household of the merchant's district (PLACE2); a visitor has no household
    (-1), propensity 1 and patience 1 day. Case ``uid = hash(CONSUMER, day, candidate key)``,
    ``src`` = the merchant.
Ends and reporting
    Angry customers call fast or not at all: ``report`` 0.9/day, ``end`` 0.6/day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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

_COMMERCIAL = {"市南": 2.5, "市北": 1.2}
_TOURIST = {"市南": 12.0, "崂山": 6.0, "西海岸新区": 4.0, "市北": 2.5}


@dataclass(frozen=True)
class ConsumerParams:
    """Parameters of the consumer-dispute process (see the module docstring).

    Examples
    --------
    >>> ConsumerParams().tourist_factor
    2.0
    """

    density: float = 40.0
    resident_visits: float = 30.0
    tourist_visits: float = 4.0
    weekend: float = 1.3
    golden_week: float = 2.0
    tourist_factor: float = 2.0
    tourist_other: float = 1.5
    dispute: float = 3.06e-3
    reporting: ProcessParams = field(
        default_factory=lambda: ProcessParams(report=0.9, recall=0.35, end=0.6)
    )


@dataclass
class Merchants:
    """Merchants as arrays, ordered by district (``start[d]:stop[d]``)."""

    district: np.ndarray
    quality: np.ndarray
    start: np.ndarray
    stop: np.ndarray

    def __len__(self) -> int:
        return len(self.district)


class Consumer(Process):
    """Consumer disputes between customers and merchants."""

    process = streams.CONSUMER
    categories = ("consumer_dispute",)

    def __init__(self, model, params: ConsumerParams | None = None) -> None:
        super().__init__(model)
        self.params = p = params or ConsumerParams()
        hh = model.households
        rng = streams.day_rng(model.world_seed, streams.WORLD, 20_000 + self.process)
        names = hh.district_names
        n_hh = hh.district_stop - hh.district_start
        n_m = np.array([
            max(1, round(n / 1e4 * p.density * _COMMERCIAL.get(d, 1.0)))
            for d, n in zip(names, n_hh, strict=True)
        ])  # fmt: skip
        stop = np.cumsum(n_m)
        self.merchants = Merchants(
            district=np.repeat(np.arange(len(names)), n_m).astype(np.int16),
            quality=rng.beta(4.0, 1.5, int(stop[-1])),
            start=stop - n_m,
            stop=stop,
        )
        tour = np.array([_TOURIST.get(d, p.tourist_other) for d in names])
        in_t = model.in_tourist_season[:, None]
        off = ~model.working_day[:, None]
        hol = model.holiday[:, None]
        # Visits per merchant and day (time, district) by type.
        self.visits_res = p.resident_visits * np.where(off, p.weekend, 1.0) * np.ones(len(names))
        self.visits_tour = p.tourist_visits * np.where(in_t, tour, 1.0) * np.where(
            hol, p.golden_week, 1.0)  # fmt: skip
        # Candidates' mean per (time, unit): units 0..n_d-1 residents, n_d..2n_d-1 visitors.
        n_m_f = n_m.astype(np.float64)[None, :]
        self.lam = np.concatenate([self.visits_res * n_m_f * p.dispute,
                                   self.visits_tour * n_m_f * p.dispute * p.tourist_factor],
                                  axis=1)  # fmt: skip
        self._unit_key = np.arange(2 * len(names))
        self.multipliers = {"merchant": Multiplier("consumer.merchant", len(self.merchants),
                                                   "merchant")}  # fmt: skip

    def occur(self, t: int) -> list[dict[str, Any]] | None:
        m, mer = self.model, self.merchants
        hh = m.households
        day = int(m.day_numbers[t])
        unit, uid = keyed_arrivals(m.seed, self.process, day, self._unit_key, self.lam[t])
        if len(unit) == 0:
            return None
        n_d = len(mer.start)
        dist = unit % n_d
        visitor = unit >= n_d
        merchant = mer.start[dist] + uniform_index(
            streams.keyed_uniform(m.seed, self.process, day, uid, streams.PLACE),
            mer.stop[dist] - mer.start[dist])  # fmt: skip
        u = streams.keyed_uniform(m.seed, self.process, day, uid, streams.ACCEPT)
        ok = u < (1 - mer.quality[merchant]) ** 2 * self.multipliers["merchant"].at(merchant)
        out = []
        for kind in (0, 1):
            k = (ok & (visitor == bool(kind))).nonzero()[0]
            if len(k) == 0:
                continue
            cols = {"uid": streams.hash_key(self.process, day, uid[k]), "district": dist[k],
                    "src": merchant[k]}  # fmt: skip
            if kind == 0:
                d = dist[k]
                who = hh.district_start[d] + uniform_index(streams.keyed_uniform(
                    m.seed, self.process, day, uid[k], streams.PLACE2),
                    hh.district_stop[d] - hh.district_start[d])  # fmt: skip
                bit = np.uint8(1 << self.process)
                free = ((hh.active[who] & bit) == 0) & first_unique(who)  # one open dispute
                if not free.all():
                    who = who[free]
                    cols = {key: val[free] for key, val in cols.items()}
                if len(who) == 0:
                    continue
                cols.update(hh=who, patience=hh.patience[who], propensity=(
                    hh.propensity[who] * hh.experience_factor(who, self.process)))
            else:  # a visitor: no household, propensity 1, patience 1 day
                cols.update(hh=-1, patience=1.0, propensity=1.0)
            out.append(new_cases(broadcast=False, process=self.process,
                                 category=self.cat_index[0], onset=day, **cols))  # fmt: skip
        return out or None
