"""Heating (供热): clogged radiators and pipes leave homes cold; cold homes call.

Occurrence (per central-heated household ``h``, per day ``t`` of the heating season)
    hazard ``rate * g(t) * a_d * x_h / xbar_d`` with

    * ``g(t) = (1 + start_amp * exp(-s / start_days)) * (1 + gamma * max(0, t0 - T(t)))``:
      ``s`` = days since the season started (filling, pressure tests and air locks at the start,
      SEED_BRIEF.md case 1), ``T`` the day's mean temperature (°C, the demo city's weather for
      the run seed). Same shape and constants as ``predgov.data.demo`` (2.0, 12 days, 10 °C, 8 %
      per °C), so simulated and demo seasonality agree;
    * ``x_h = position_h * clog_h ** clog_power``: ``position_h`` multiplies ``edge`` (1.3),
      ``corner`` (1.25), ``top`` (1.5), ``bottom`` (1.3) for the flat's "边角顶底" flags;
      ``clog_h`` in [0, 1] is the clogging of its radiators and inlet pipes (see households: it
      grows with heating-system age).

    * ``a_d`` = the district's mean building age / 20 and ``xbar_d`` = the mean of ``x_h`` over
      the district's central-heated households when the world is built: so each district gets
      the demo city's heating share (households on central heating x building age) and
      ``rate`` is a city-wide level, while *within* a district the old systems and the
      "边角顶底" flats take the problems. (``xbar_d`` is frozen at build time, so an
      intervention that lowers ``x_h`` lowers the hazard.)

    Drawn by thinning per grid (``processes.base``) with bound ``x_max`` = the largest position
    factor (clog <= 1); households without central heating, or with an open heating problem,
    are rejected. Case ``uid = hash(HEATING, household, day)``.
Clogging dynamics
    On each season's first day ``clog <- 1 - (1 - clog) * exp(-clog_rate)`` (a year of sludge).
    A successful repair visit flushes the flat's radiators: ``clog <- repair_keep * clog``
    (0.3: in old systems the sludge comes back, "several in-home flushes every season").
    Interventions (``PipeFlushing``) reset clogging of whole estates.
Ends
    Daily probability ``end`` (0.04: milder weather, the household bleeds the radiator); every
    heating problem ends when the season ends.
Reporting
    ``report`` 0.35/day, ``chase`` 0.3, ``recall`` 0.5, ``give_up`` 0.15 (a cold home is
    urgent: most are reported within days, and a failed visit brings a call back).

``rate`` is calibrated so the default Qingdao city gives about 44,000 heating calls in a
reactive season (SEED_BRIEF.md, "4.4万"), see ``tests/sim/test_scenario.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from predgov.data.demo import BUILDING_AGE
from predgov.sim import streams
from predgov.sim.cases import new_cases
from predgov.sim.households import BOTTOM, CORNER, EDGE, TOP
from predgov.sim.processes.base import (
    Process,
    ProcessParams,
    first_unique,
    thinning_candidates,
)


@dataclass(frozen=True)
class HeatingParams:
    """Parameters of the heating process (see the module docstring).

    Examples
    --------
    >>> HeatingParams().start_days
    12.0
    """

    rate: float = 5.7e-5
    start_amp: float = 2.0
    start_days: float = 12.0
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
    """``g(t)`` over the run's days (0 outside the heating season).

    Examples
    --------
    >>> season_shape(np.array([False, True, True]), np.array([5.0, 5.0, 12.0]),
    ...              HeatingParams()).round(2).tolist()
    [0.0, 4.2, 2.84]
    """
    since = np.zeros(len(in_season))
    run = 0
    for i, s in enumerate(in_season):  # days since the season started (a short loop over days)
        run = run + 1 if s else 0
        since[i] = run - 1
    cold = np.maximum(0.0, p.t0 - temperature)
    g = (1 + p.start_amp * np.exp(-since / p.start_days)) * (1 + p.gamma * cold)
    return np.where(in_season, g, 0.0)


class Heating(Process):
    """Heating complaints from clogged systems on cold days."""

    process = streams.HEATING
    categories = ("heating",)

    def __init__(self, model, params: HeatingParams | None = None) -> None:
        super().__init__(model)
        self.params = p = params or HeatingParams()
        hh = model.households
        self.pos = position_factor(hh.flags, p).astype(np.float32)
        self.x_max = p.edge * p.corner * max(p.top, p.bottom)
        self.g = season_shape(model.in_heating_season, model.temperature, p)
        self.central = hh.estates.central_heating[hh.estate]
        x = self.pos * hh.clog.astype(np.float64) ** p.clog_power
        n_d = len(hh.district_names)
        num = np.bincount(hh.district, weights=x * self.central, minlength=n_d)
        den = np.bincount(hh.district, weights=self.central, minlength=n_d)
        xbar = np.where(num > 0, num / np.maximum(den, 1), 1.0)
        age = np.array([BUILDING_AGE.get(d, 20.0) for d in hh.district_names])
        self.district_factor = (age / 20.0) / xbar
        self.grid_n = (hh.grid_stop - hh.grid_start).astype(np.int64)

    def occur(self, t: int) -> dict[str, np.ndarray] | None:
        m, p = self.model, self.params
        if self.g[t] <= 0:
            return None
        hh = m.households
        day = int(m.day_numbers[t])
        if t > 0 and not m.in_heating_season[t - 1]:  # a season starts: a year of sludge
            hh.clog[:] = 1 - (1 - hh.clog) * np.exp(-hh.clog_rate)
        rng = m.day_streams.rng(self.process, day)
        rate = p.rate * self.g[t] * self.x_max * self.district_factor[hh.grid_district]
        cand, _, u = thinning_candidates(rng, hh.grid_start, self.grid_n, rate)
        x = self.pos[cand] * hh.clog[cand].astype(np.float64) ** p.clog_power
        bit = np.uint8(1 << self.process)
        ok = (u * self.x_max < x) & self.central[cand] & ((hh.active[cand] & bit) == 0)
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
