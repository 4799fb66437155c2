"""Heating (供热): cold homes call, from clogged radiators and from the system itself.

Occurrence (per central-heated household ``h`` of district ``d``, per day ``t`` of the heating
season) has two parts:

    hazard = rate * a_d * c(t) * [(1 - system_share) * x_h / xbar_d
                                  + (system_share + surge(s)) * pos_h / posbar_d],
    surge(s) = start_amp * exp(-s / start_days)

* *clogging* ``x_h = pos_h * clog_h ** clog_power``: ``clog_h`` in [0, 1] is the clogging of the
  flat's radiators and inlet pipes (it grows with heating-system age, see households);
* *system* (does not depend on clogging): air locks, filling and pressure tests at the season's
  start, network supply, insulation. It carries the whole start-of-season surge
  (``start_amp * exp(-s / start_days)``, ``s`` = days since the season started; SEED_BRIEF.md
  case 1: calls about "filling and pressure tests" cluster at the start) and a steady share
  ``system_share`` (0.25, an assumption: ODD parameter table) of the rest. Flushing pipes
  cannot remove it;
* ``pos_h`` multiplies ``edge`` (1.3), ``corner`` (1.25), ``top`` (1.5), ``bottom`` (1.3) for the
  flat's "边角顶底" flags (exposed walls lose heat: both parts);
* ``c(t) = 1 + gamma * max(0, t0 - T(t))`` with ``T`` the day's mean temperature (°C, the demo
  city's weather for the run seed);
* ``a_d`` = the district's mean building age / 20; ``xbar_d`` and ``posbar_d`` = the means of
  ``x_h`` and ``pos_h`` over the district's central-heated households when the world is built
  (frozen, so an intervention that lowers ``x_h`` lowers the hazard).

  The city-wide mean hazard is ``rate * a_d * c(t) * (1 + start_amp * exp(-s / start_days))``:
  the demo city's season shape ``g(t)`` (``predgov.data.demo``: 2.0, 12 days, 10 °C, 8 % per
  °C), so simulated and demo seasonality agree, while *within* a district old systems and
  "边角顶底" flats take the problems.

Drawn per (district, part) by keyed thinning (``processes.base``): candidates are uniform
central-heated households, bound ``x_max`` (the largest position factor; clog <= 1), accepted
with probability (part's x) x ``multipliers["household"]`` [x ``multipliers["system"]`` for
the system part] / ``x_max``; a household with an open heating problem is rejected; one new
problem per household and day. Case ``uid = hash(HEATING, household, day)``.
Clogging dynamics
    On each season's first day ``clog <- 1 - (1 - clog) * exp(-clog_rate)`` (a year of sludge).
    A successful repair visit flushes the flat's radiators: ``clog <- repair_keep * clog``
    (0.3: in old systems the sludge comes back, "several in-home flushes every season").
    Interventions (``PipeFlushing``) lower clogging of whole estates.
Hooks
    ``multipliers["household"]`` (per household, the whole hazard: e.g. insulation, a
    "one household, one plan" file) and ``multipliers["system"]`` (per household, the system
    part only: e.g. bleeding air and pressure-testing before the season).
Ends
    Daily probability ``end`` (0.04: milder weather, the household bleeds the radiator); every
    heating problem ends when the season ends.
Reporting
    ``report`` 0.35/day, ``chase`` 0.3, ``recall`` 0.5, ``give_up`` 0.15 (a cold home is
    urgent: most are reported within days, and a failed visit brings a call back).

``rate`` is calibrated so the default Qingdao city gives about 44,000 heating calls in a
reactive season (SEED_BRIEF.md, "4.4万"), see ``tests/sim/test_scenario.py``: 5.8e-5 (was
5.7e-5 before the system part; spread over more households, the same rate gave 43,300).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from predgov.data.demo import BUILDING_AGE
from predgov.sim import streams
from predgov.sim.cases import new_cases
from predgov.sim.households import BOTTOM, CORNER, EDGE, TOP
from predgov.sim.processes.base import (
    Multiplier,
    Process,
    ProcessParams,
    first_unique,
    keyed_arrivals,
    uniform_index,
)


@dataclass(frozen=True)
class HeatingParams:
    """Parameters of the heating process (see the module docstring).

    Examples
    --------
    >>> HeatingParams().start_days
    12.0
    """

    rate: float = 5.8e-5
    start_amp: float = 2.0
    start_days: float = 12.0
    system_share: float = 0.25
    t0: float = 10.0
    gamma: float = 0.08
    clog_power: float = 2.0
    edge: float = 1.3
    corner: float = 1.25
    top: float = 1.5
    bottom: float = 1.3
    repair_keep: float = 0.3
    reporting: ProcessParams = field(
        default_factory=lambda: ProcessParams(report=0.35, chase=0.3, recall=0.5, end=0.04)
    )


def position_factor(flags: np.ndarray, p: HeatingParams) -> np.ndarray:
    """Heating-problem multiplier of flats from their "边角顶底" flags.

    Examples
    --------
    >>> position_factor(np.array([0, 1 | 4], np.uint8), HeatingParams()).round(2).tolist()
    [1.0, 1.95]
    """
    f = np.ones(len(flags))
    for bit, mult in ((EDGE, p.edge), (CORNER, p.corner), (TOP, p.top), (BOTTOM, p.bottom)):
        f = np.where(flags & bit, f * mult, f)
    return f


def season_shape(in_season: np.ndarray, temperature: np.ndarray, p: HeatingParams) -> np.ndarray:
    """``g(t)`` over the run's days (0 outside the heating season): the city-wide shape.

    Examples
    --------
    >>> season_shape(np.array([False, True, True]), np.array([5.0, 5.0, 12.0]),
    ...              HeatingParams()).round(2).tolist()
    [0.0, 4.2, 2.84]
    """
    cold, surge = season_parts(in_season, temperature, p)
    return cold * (1 + surge)


def season_parts(
    in_season: np.ndarray, temperature: np.ndarray, p: HeatingParams
) -> tuple[np.ndarray, np.ndarray]:
    """The cold factor ``c(t)`` (0 outside the season) and the start surge
    ``start_amp * exp(-s / start_days)`` over the run's days.

    Examples
    --------
    >>> cold, surge = season_parts(np.array([False, True, True]), np.array([5.0, 5.0, 12.0]),
    ...                            HeatingParams())
    >>> cold.round(2).tolist(), surge.round(2).tolist()
    ([0.0, 1.4, 1.0], [0.0, 2.0, 1.84])
    """
    since = np.zeros(len(in_season))
    run = 0
    for i, s in enumerate(in_season):  # days since the season started (a short loop over days)
        run = run + 1 if s else 0
        since[i] = run - 1
    cold = 1 + p.gamma * np.maximum(0.0, p.t0 - temperature)
    surge = p.start_amp * np.exp(-since / p.start_days)
    return np.where(in_season, cold, 0.0), np.where(in_season, surge, 0.0)


class Heating(Process):
    """Heating complaints from clogged radiators and from the heating system."""

    process = streams.HEATING
    categories = ("heating",)

    def __init__(self, model, params: HeatingParams | None = None) -> None:
        super().__init__(model)
        self.params = p = params or HeatingParams()
        if not 0 <= p.system_share <= 1:
            raise ValueError(f"heating.system_share must be in [0, 1], got {p.system_share}")
        hh = model.households
        est = hh.estates
        n_d = len(hh.district_names)
        self.pos = position_factor(hh.flags, p).astype(np.float32)
        self.x_max = p.edge * p.corner * max(p.top, p.bottom)
        self.central = est.central_heating[hh.estate]
        # Central-heated households of district d are positions [c_start[d], c_start[d] +
        # n_central[d]) of the run of central estates (estates are ordered by district).
        self.central_estates = np.flatnonzero(est.central_heating)
        sizes = est.size[self.central_estates]
        self._cum = np.cumsum(sizes)
        self.n_central = np.bincount(est.district[self.central_estates], weights=sizes,
                                     minlength=n_d).astype(np.int64)  # fmt: skip
        self.c_start = np.cumsum(self.n_central) - self.n_central
        x = self.pos * hh.clog.astype(np.float64) ** p.clog_power
        den = np.maximum(self.n_central, 1)
        xbar = np.bincount(hh.district, weights=x * self.central, minlength=n_d) / den
        posbar = np.bincount(hh.district, weights=self.pos * self.central, minlength=n_d) / den
        age = np.array([BUILDING_AGE.get(d, 20.0) for d in hh.district_names])
        a = age / 20.0
        self.cold, self.surge = season_parts(model.in_heating_season, model.temperature, p)
        self.g = self.cold * (1 + self.surge)
        # Per-household hazard levels (time, district) of each part: hazard = level * x.
        with np.errstate(divide="ignore", invalid="ignore"):
            fc = np.where(xbar > 0, a / xbar, 0.0)
            fs = np.where(posbar > 0, a / posbar, 0.0)
        self.level_clog = p.rate * (1 - p.system_share) * self.cold[:, None] * fc[None, :]
        self.level_system = (p.rate * (p.system_share + self.surge) * self.cold)[:, None] * fs
        # Thinning bounds per (time, unit): units 0..n_d-1 clogging, n_d..2n_d-1 system.
        self.lam = np.concatenate([self.level_clog, self.level_system], axis=1) * (
            self.x_max * np.tile(self.n_central, 2))
        self._unit_key = np.arange(2 * n_d)
        self.multipliers = {
            "household": Multiplier("heating.household", len(hh), "household"),
            "system": Multiplier("heating.system", len(hh), "household"),
        }

    def central_household(self, district: np.ndarray, u: np.ndarray) -> np.ndarray:
        """A uniform central-heated household of each ``district`` from uniforms ``u``.

        Examples
        --------
        >>> from predgov.sim.model import CityModel
        >>> m = CityModel(scale=0.001, start="2025-11-15", end="2025-11-15")
        >>> h = m.process_by_name["heating"]
        >>> who = h.central_household(np.zeros(50, np.int64), np.linspace(0, 0.999, 50))
        >>> bool(h.central[who].all()), bool((m.households.district[who] == 0).all())
        (True, True)
        """
        j = self.c_start[district] + uniform_index(u, self.n_central[district])
        k = np.searchsorted(self._cum, j, side="right")
        est = self.model.households.estates
        return est.start[self.central_estates[k]] + (j - (self._cum[k] - est.size[
            self.central_estates[k]]))  # fmt: skip

    def occur(self, t: int) -> dict[str, np.ndarray] | None:
        m, p = self.model, self.params
        if self.cold[t] <= 0:
            return None
        hh = m.households
        day = int(m.day_numbers[t])
        if t > 0 and not m.in_heating_season[t - 1]:  # a season starts: a year of sludge
            hh.clog[:] = 1 - (1 - hh.clog) * np.exp(-hh.clog_rate)
        unit, uid = keyed_arrivals(m.seed, self.process, day, self._unit_key, self.lam[t])
        if len(unit) == 0:
            return None
        n_d = len(self.n_central)
        system = unit >= n_d
        cand = self.central_household(unit % n_d, streams.keyed_uniform(
            m.seed, self.process, day, uid, streams.PLACE))  # fmt: skip
        u = streams.keyed_uniform(m.seed, self.process, day, uid, streams.ACCEPT)
        x = self.pos[cand] * np.where(
            system, 1.0, hh.clog[cand].astype(np.float64) ** p.clog_power)  # fmt: skip
        x = x * self.multipliers["household"].at(cand)
        if not self.multipliers["system"].is_identity:
            x = np.where(system, x * self.multipliers["system"].at(cand), x)
        bit = np.uint8(1 << self.process)
        ok = (u * self.x_max < x) & ((hh.active[cand] & bit) == 0)
        cand = cand[ok]
        cand = cand[first_unique(cand)]
        if len(cand) == 0:
            return None
        prop = hh.propensity[cand] * hh.experience_factor(cand, self.process)
        return new_cases(
            broadcast=False,
            uid=streams.hash_key(self.process, cand, day), process=self.process,
            category=self.cat_index[0], district=hh.district[cand], hh=cand, onset=day,
            patience=hh.patience[cand], propensity=prop,
        )  # fmt: skip

    def end(self, t: int) -> None:
        m = self.model
        if not m.in_heating_season[t]:
            c = m.cases
            c.active[c.process == self.process] = False

    def on_resolved(self, idx: np.ndarray) -> None:
        hh = self.model.households
        who = self.model.cases.hh[idx]
        hh.clog[who] *= np.float32(self.params.repair_keep)
