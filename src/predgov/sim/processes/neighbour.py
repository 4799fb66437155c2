"""Neighbour disputes (邻里矛盾): irritants build tension between neighbours until one calls.

World
    Each household is an *irritant* with probability ``p_dog`` (urban 0.05, rural 0.15: dogs
    are common in villages, SEED_BRIEF.md case 3), ``p_habit`` (0.04: loud habits, renovation,
    children jumping) or ``p_space`` (0.03: clutter in shared stairwells and yards), checked in
    that order (one kind each). Its *complainant* is the next household of the same estate (the
    previous one for the last flat). Tension ``T`` of each pair starts at 0.
Daily events
    Irritation events of a pair are Poisson with daily rate ``e_kind * s_kind(t) * m_pair``:
    dog 0.10, habit 0.08, space 0.05; ``s`` = 1 + 0.45 x a summer bump (peak day 205, width 50
    days; windows open) for dogs and habits, 1 for space; ``m_pair`` = ``multipliers["pair"]``
    in [0, 1] (1 unless an intervention defused the pair: village agreements, a proactive
    visit). Drawn per kind by keyed thinning (``processes.base``: bound ``n_kind * e_kind *
    s_kind(t)``, a candidate is a uniform pair of that kind, accepted with probability
    ``m_pair``); events falling on the same pair the same day count once.
    At an event, ``T <- T * exp(-decay * days since its last event) + 1`` (decay 0.05/day).
Escalation
    At an event, if the complainant has no open neighbour dispute, a dispute arises with
    probability ``min(1, escalate * T)`` (keyed uniform of the event, purpose ESCALATE;
    ``escalate`` calibrated to the demo city's neighbour-dispute volume). Case
    ``uid = hash(NEIGHBOUR, pair, day)``, ``src`` = the pair.
Ends and handling
    Daily end probability 0.03 (tension subsides). A successful mediation by the street office
    (resolution probability 0.55 in ``departments``: "hotline staff could only persuade")
    resets the pair's tension to 0. Reporting: ``report`` 0.2/day, ``recall`` 0.35.
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

DOG, HABIT, SPACE = 0, 1, 2


def summer_bump(doy: np.ndarray, peak: float = 205.0, width: float = 50.0) -> np.ndarray:
    """Circular Gaussian bump over the day of the year (1 at ``peak``).

    Examples
    --------
    >>> float(summer_bump(np.array([205.0]))[0])
    1.0
    """
    d = np.abs(doy - peak)
    d = np.minimum(d, 365.25 - d)
    return np.exp(-0.5 * (d / width) ** 2)


@dataclass(frozen=True)
class NeighbourParams:
    """Parameters of the neighbour-dispute process (see the module docstring).

    Examples
    --------
    >>> NeighbourParams().decay
    0.05
    """

    p_dog_urban: float = 0.05
    p_dog_rural: float = 0.15
    p_habit: float = 0.04
    p_space: float = 0.03
    e_dog: float = 0.10
    e_habit: float = 0.08
    e_space: float = 0.05
    summer_amp: float = 0.45
    decay: float = 0.05
    escalate: float = 4.2e-4
    reporting: ProcessParams = field(
        default_factory=lambda: ProcessParams(report=0.2, recall=0.35, end=0.03)
    )


class Neighbour(Process):
    """Neighbour disputes from irritant pairs."""

    process = streams.NEIGHBOUR
    categories = ("neighbour_dispute",)

    def __init__(self, model, params: NeighbourParams | None = None) -> None:
        super().__init__(model)
        self.params = p = params or NeighbourParams()
        hh = model.households
        rng = streams.day_rng(model.world_seed, streams.WORLD, 20_000 + self.process)
        n = len(hh)
        u = rng.random(n)
        p_dog = np.where(hh.urban[hh.district], p.p_dog_urban, p.p_dog_rural)
        kind = np.full(n, -1, np.int8)
        kind[u < p_dog + p.p_habit + p.p_space] = SPACE
        kind[u < p_dog + p.p_habit] = HABIT
        kind[u < p_dog] = DOG
        irr = np.flatnonzero(kind >= 0)
        last = hh.estates.stop[hh.estate[irr]] - 1
        comp = np.where(irr < last, irr + 1, irr - 1)
        ok = comp >= hh.estates.start[hh.estate[irr]]  # one-flat estates have no neighbour
        self.irritant, self.complainant = irr[ok], comp[ok]
        self.kind = kind[self.irritant]
        self.tension = np.zeros(len(self.irritant), np.float32)
        self.last_event = np.full(len(self.irritant), -1_000_000, np.int64)
        #: Pairs of each kind (indices into ``irritant``), for the per-kind candidates.
        self.pairs_of_kind = [np.flatnonzero(self.kind == k) for k in (DOG, HABIT, SPACE)]
        n_kind = np.array([len(x) for x in self.pairs_of_kind])
        bump = summer_bump(model.day_of_year)
        s = 1 + p.summer_amp * bump
        # Daily event rate per kind (time, kind), and the candidates' mean per kind.
        self.rates = np.stack([p.e_dog * s, p.e_habit * s, np.full_like(s, p.e_space)], axis=1)
        self.lam = self.rates * n_kind[None, :]
        self._unit_key = np.arange(3)
        self.multipliers = {"pair": Multiplier("neighbour.pair", len(self.irritant), "pair")}

    def occur(self, t: int) -> dict[str, np.ndarray] | None:
        m, p = self.model, self.params
        if len(self.irritant) == 0:
            return None
        day = int(m.day_numbers[t])
        kind, uid = keyed_arrivals(m.seed, self.process, day, self._unit_key, self.lam[t])
        if len(kind) == 0:
            return None
        u_place = streams.keyed_uniform(m.seed, self.process, day, uid, streams.PLACE)
        pair = np.empty(len(kind), np.int64)
        for k, pairs in enumerate(self.pairs_of_kind):
            sel = kind == k
            if sel.any():
                pair[sel] = pairs[uniform_index(u_place[sel], len(pairs))]
        mult = self.multipliers["pair"]
        if not mult.is_identity:
            u_acc = streams.keyed_uniform(m.seed, self.process, day, uid, streams.ACCEPT)
            ok = u_acc < mult.at(pair)
            pair, uid = pair[ok], uid[ok]
        keep = first_unique(pair)
        pair, uid = pair[keep], uid[keep]
        dt = day - self.last_event[pair]
        tension = self.tension[pair] * np.exp(-p.decay * dt) + 1.0
        self.tension[pair] = tension
        self.last_event[pair] = day
        hh = m.households
        who = self.complainant[pair]
        bit = np.uint8(1 << self.process)
        u_esc = streams.keyed_uniform(m.seed, self.process, day, uid, streams.ESCALATE)
        esc = (u_esc < p.escalate * tension) & ((hh.active[who] & bit) == 0)
        pair, who = pair[esc], who[esc]
        keep = first_unique(who)
        pair, who = pair[keep], who[keep]
        if len(who) == 0:
            return None
        prop = hh.propensity[who] * hh.experience_factor(who, self.process)
        return new_cases(
            broadcast=False,
            uid=streams.hash_key(self.process, pair, day), process=self.process,
            category=self.cat_index[0], district=hh.district[who], hh=who, onset=day,
            patience=hh.patience[who], propensity=prop, src=pair,
        )  # fmt: skip

    def on_resolved(self, idx: np.ndarray) -> None:
        self.tension[self.model.cases.src[idx]] = 0.0
