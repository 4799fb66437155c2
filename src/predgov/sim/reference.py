"""Reference model: the fast model's rules written plainly, one Mesa agent per household.

``ReferenceCityModel`` is the slow twin of ``CityModel`` for small towns (up to 20,000
households). It exists for two reasons (DESIGN.md, "Simulation"): its statistics check the fast
model's vectorised code (thinning draws, keyed streams, bit masks, queue operations), and it is
the speed baseline of ``benchmarks/sim_speed.py``. It favours clarity over speed.

The town
    The same town as ``CityModel`` with the same ``world_seed``, ``scale`` and ``districts``:
    the layout (estates, flats and their fixed attributes, merchants and their quality, noise
    exposure of each estate, irritant/complainant neighbour pairs, department capacities,
    background levels, calendar and the run seed's weather) is taken from ``CityModel``'s
    builders and copied into agents. Everything that *happens* day by day is written again
    here, with its own random numbers (``model.random`` for uniforms, ``model.rng`` for Poisson
    and Gamma counts): it does not share streams with the fast model, so the two agree in
    distribution, not draw by draw. Same seed, same output.
Agents
    ``HouseholdAgent`` (one per household: district, estate, flat position, occupants,
    propensity, patience, clogging, experience, its open ``Problem`` objects and, for an
    irritant, its neighbour pair's tension); ``Merchant`` (quality; consumer disputes);
    ``Visitor`` (a tourist with one consumer dispute, removed when it closes);
    ``BackgroundSource`` (one per district: the categories no explicit process produces);
    ``ReferenceDepartment`` (a queue, a capacity, a service list).
One day, in the fast model's order
    1. *Occurrence.* Each household, for each process, gets a new problem with probability
       ``1 - exp(-hazard)`` when it has no open problem of that process (this is what the fast
       model's thinning draws give: the chance of at least one accepted candidate):

       * heating: ``hazard = (level_clog[district] * clog ** clog_power + level_system[
         district]) * position`` in the heating season for central-heated flats (the clogging
         and the system part, see ``processes.heating``); on the first day of a season every
         household's pipes age a year;
       * noise: for traffic, construction, social noise in turn (the first one that occurs
         wins), ``hazard = season[c] * exposure[estate, c] * occupants / 5``;
       * neighbour disputes: an irritant household has an irritation event with probability
         ``1 - exp(-rate[kind])``; the pair's tension decays and grows by 1; the complainant
         gets a dispute with probability ``escalate * tension``.

       Each merchant has Poisson(``visits x dispute x (1 - quality) ** 2``) resident disputes
       (each with a uniform household of the district, dropped if it has an open consumer
       dispute) and Poisson(``tourist visits x dispute x tourist_factor x (1 - quality) ** 2``)
       visitor disputes. Each district's background source draws Poisson(``mu x G x share``)
       prompt and quiet problems per category (``G ~ Gamma(size, 1 / size)``), each given to
       a uniform household (quiet ones report at the household's propensity); on the first
       day it first draws the latent quiet stock, Poisson(``lambda_quiet x E[w]``) per
       category on households drawn in proportion to ``w`` (``processes.background``).
    2. *Reporting* (each caller, each open problem): heating problems end when the season
       ends; a latent problem is called in with probability ``1 - exp(-report x propensity)``;
       a waiting ticket is chased once the wait reaches the patience (probability ``chase``);
       after a failed visit the caller calls again (``recall``, once patience ran out) or
       else gives up for good (``give_up``). Then each still-present problem ends by itself
       with probability ``end``.
    3. *Handling* (each department): finished visits resolve the problem when it is gone or
       with probability ``p_fix``; every finished ticket is rated (satisfied with probability
       ``sat x exp(-wait_penalty x max(0, wait - patience))``), moving the household's
       experience by +-1; a fix flushes the flat (heating) or calms the pair (neighbours); a
       failed visit leaves the problem open. Then the queue is served first come first served
       (ties in random order), up to the capacity, each ticket due ``delay`` days later.
    4. *Closing*: problems that are gone and hold no ticket close (those never called in are
       counted as ``unreported``).

Output: ``to_dataset`` (the fast model's output code) gives the same Dataset schema, and
``run_scenario(cfg, model_class=ReferenceCityModel)`` runs many seeds.

Examples
--------
>>> m = ReferenceCityModel(scale=0.0005, districts=["市南"], start="2025-11-15",
...                        end="2025-11-17")
>>> m.run()
>>> len(m.agents_by_type[HouseholdAgent]) == len(m.households)
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import mesa
import numpy as np
import pandas as pd
import xarray as xr

from predgov.sim import streams
from predgov.sim.cases import CLOSED, GAVE_UP, LATENT, OPEN, QUEUED, SERVICE
from predgov.sim.model import OUTPUTS, CityModel, SimParams
from predgov.sim.processes.background import quiet_stay_weight
from predgov.sim.processes.neighbour import DOG, HABIT, SPACE

#: Largest town the reference model builds by default (one Python object per household).
MAX_HOUSEHOLDS = 20_000
HEATING, NEIGHBOUR, CONSUMER, NOISE, BACKGROUND, BACKGROUND_QUIET = (
    streams.HEATING, streams.NEIGHBOUR, streams.CONSUMER, streams.NOISE, streams.BACKGROUND,
    streams.BACKGROUND_QUIET)


@dataclass(eq=False)
class Problem:
    """One problem of one caller, and where its ticket stands (the statuses of ``cases``)."""

    process: int
    category: int
    district: int
    caller: Caller
    onset: int
    patience: float
    propensity: float
    pair: HouseholdAgent | None = None  # neighbour disputes: the irritant household
    active: bool = True  # the problem is still there
    status: int = LATENT
    enqueued: int = -1
    due: int = -1
    last_contact: int = -1
    tie: float = 0.0  # random tie-break in the department's queue


class Caller(mesa.Agent):
    """Someone who may call the hotline: holds problems and reports them."""

    estate: int = -1
    patience: float = 1.0

    def __init__(self, model: ReferenceCityModel) -> None:
        super().__init__(model)
        self.problems: list[Problem] = []

    def has_open(self, process: int) -> bool:
        """Whether the caller has an open problem of ``process``."""
        return any(pb.process == process for pb in self.problems)

    def new_problem(self, process: int, category: int, district: int, propensity: float,
                    pair: HouseholdAgent | None = None) -> Problem:  # fmt: skip
        """A new latent problem of this caller (booked in ``problems`` of the day)."""
        m: ReferenceCityModel = self.model
        pb = Problem(process, category, district, self, m.day, self.patience, propensity, pair)
        self.problems.append(pb)
        m.count("problems", pb)
        return pb

    def report(self) -> None:
        """Today's calls about each open problem, then the problems that end by themselves."""
        m: ReferenceCityModel = self.model
        rnd = m.random.random
        day = m.day
        for pb in self.problems:
            if pb.process == HEATING and not m.heating_season_today:
                pb.active = False  # the heating season is over
            if not pb.active or pb.status == GAVE_UP:
                continue
            rp = m.reporting[pb.process]
            u = rnd()
            waited = day - pb.last_contact >= pb.patience
            if pb.status == LATENT:
                if u < -math.expm1(-rp.report * pb.propensity):
                    m.call(pb, first=True, new_ticket=True)
            elif pb.status in (QUEUED, SERVICE):
                if waited and u < rp.chase:  # chasing an open ticket (催办)
                    m.call(pb, first=False, new_ticket=False)
            elif pb.status == OPEN:
                if waited and u < rp.recall:  # the visit failed: call again
                    m.call(pb, first=False, new_ticket=True)
                elif rnd() < rp.give_up:
                    pb.status = GAVE_UP
        for pb in self.problems:
            if pb.active and rnd() < m.reporting[pb.process].end:
                pb.active = False

    def rated(self, pb: Problem, satisfied: bool) -> None:
        """The return visit's rating of a finished ticket (visitors keep no experience)."""

    def close(self) -> None:
        """Drop problems that are gone and hold no ticket, and tickets closed as resolved;
        count those never called in as ``unreported``."""
        for pb in self.problems:
            if not pb.active and pb.status == LATENT:
                self.model.count("unreported", pb)
        self.problems = [
            pb for pb in self.problems
            if pb.status != CLOSED and (pb.active or pb.status not in (LATENT, OPEN, GAVE_UP))
        ]  # fmt: skip


class HouseholdAgent(Caller):
    """One household with its own state; it steps its own occurrence and reporting."""

    def __init__(self, model: ReferenceCityModel, index: int) -> None:
        super().__init__(model)
        hh = model.households
        self.index = index
        self.district = int(hh.district[index])
        self.estate = int(hh.estate[index])
        self.central_heating = bool(hh.estates.central_heating[self.estate])
        self.position_factor = float(model.world_heating_position[index])
        self.occupants = int(hh.occupants[index])
        self.propensity = float(hh.propensity[index])
        self.patience = float(hh.patience[index])
        self.clog = float(hh.clog[index])
        self.clog_rate = float(hh.clog_rate[index])
        self.experience = [0] * 5  # per process domain, in [-3, 3]
        self.noise_exposure = [float(x) for x in model.world_noise_exposure[self.estate]]
        # Neighbour pair, when this household is an irritant (set up by the model).
        self.irritant_kind: int | None = None
        self.complainant: HouseholdAgent | None = None
        self.tension = 0.0
        self.last_event = -1_000_000

    def reporting_propensity(self, process: int) -> float:
        """Propensity x ``1.15 ** experience`` in the process's domain."""
        return self.propensity * 1.15 ** self.experience[process - 1]

    def occur(self) -> None:
        """Today's new problems of this household (heating, noise, its neighbour pair)."""
        m: ReferenceCityModel = self.model
        rnd = m.random.random
        if m.pipes_age_today:  # a heating season starts: a year of sludge
            self.clog = 1 - (1 - self.clog) * math.exp(-self.clog_rate)
        if m.heating_level is not None and self.central_heating and not self.has_open(HEATING):
            clog_level, system_level = m.heating_level
            hazard = self.position_factor * (
                clog_level[self.district] * self.clog ** m.params.heating.clog_power
                + system_level[self.district])  # fmt: skip
            if rnd() < -math.expm1(-hazard):
                self.new_problem(HEATING, m.cat_heating, self.district,
                                 self.reporting_propensity(HEATING))  # fmt: skip
        if m.noise_level is not None and not self.has_open(NOISE):
            for c, level in enumerate(m.noise_level):
                hazard = level * self.noise_exposure[c] * self.occupants / 5.0
                if rnd() < -math.expm1(-hazard):
                    self.new_problem(NOISE, m.cat_noise[c], self.district,
                                     self.reporting_propensity(NOISE))  # fmt: skip
                    break
        if self.irritant_kind is not None and m.irritation_rate is not None:
            if rnd() < -math.expm1(-m.irritation_rate[self.irritant_kind]):
                self.irritate()

    def irritate(self) -> None:
        """An irritation event of this household's pair: tension grows, it may escalate."""
        m: ReferenceCityModel = self.model
        p = m.params.neighbour
        day = m.day
        self.tension = self.tension * math.exp(-p.decay * (day - self.last_event)) + 1.0
        self.last_event = day
        other = self.complainant
        assert other is not None
        if m.random.random() < p.escalate * self.tension and not other.has_open(NEIGHBOUR):
            other.new_problem(NEIGHBOUR, m.cat_neighbour, other.district,
                              other.reporting_propensity(NEIGHBOUR), pair=self)  # fmt: skip

    def rated(self, pb: Problem, satisfied: bool) -> None:
        """Experience in the problem's domain moves by +1 (satisfied) or -1, within [-3, 3]."""
        d = (BACKGROUND if pb.process == BACKGROUND_QUIET else pb.process) - 1
        self.experience[d] = max(-3, min(3, self.experience[d] + (1 if satisfied else -1)))

    def fixed(self, pb: Problem) -> None:
        """What a successful visit changes: the flat is flushed, or the pair calms down."""
        if pb.process == HEATING:
            self.clog *= self.model.params.heating.repair_keep
        elif pb.process == NEIGHBOUR and pb.pair is not None:
            pb.pair.tension = 0.0


class Visitor(Caller):
    """A tourist with one consumer dispute: patience 1 day, propensity 1, no household."""

    def __init__(self, model: ReferenceCityModel, district: int) -> None:
        super().__init__(model)
        self.new_problem(CONSUMER, model.cat_consumer, district, 1.0)

    def close(self) -> None:
        """Leave the town once the dispute is closed."""
        super().close()
        if not self.problems:
            self.remove()


class Merchant(mesa.Agent):
    """A merchant of given quality: residents and visitors may fall out with it."""

    def __init__(self, model: ReferenceCityModel, district: int, quality: float) -> None:
        super().__init__(model)
        self.district = district
        self.quality = quality

    def occur(self) -> None:
        """Today's disputes with residents, then with visitors."""
        m: ReferenceCityModel = self.model
        p = m.params.consumer
        t, d = m.t, self.district
        bad = (1 - self.quality) ** 2
        for _ in range(m.rng.poisson(m.resident_visits[t, d] * p.dispute * bad)):
            who = m.random_household(d)
            if not who.has_open(CONSUMER):
                who.new_problem(CONSUMER, m.cat_consumer, d, who.reporting_propensity(CONSUMER))
        lam = m.tourist_visits[t, d] * p.dispute * p.tourist_factor * bad
        for _ in range(m.rng.poisson(lam)):
            Visitor(m, d)


class BackgroundSource(mesa.Agent):
    """A district's other concerns: the categories no explicit process produces."""

    def __init__(self, model: ReferenceCityModel, district: int) -> None:
        super().__init__(model)
        self.district = district

    def occur(self) -> None:
        """Negative-binomial prompt and quiet problems per category, each given to a uniform
        household; on the first day, the latent quiet stock first."""
        m: ReferenceCityModel = self.model
        bp = m.params.background
        d = self.district
        quiet = m.background_quiet_factor[d]
        if m.t == 0:
            for j, c in enumerate(m.cat_background):
                lam = m.background_mu[0, d, j] * quiet * m.background_stay_mean[d]
                for _ in range(m.rng.poisson(lam)):
                    who = m.random_household(d, weights=m.background_stay[d])
                    pb = Problem(BACKGROUND_QUIET, c, d, who, m.day - 1, who.patience,
                                 who.propensity)  # fmt: skip
                    who.problems.append(pb)
                    m.initial_latent[d, c] += 1
        for j, c in enumerate(m.cat_background):
            g = m.rng.gamma(bp.size, 1.0 / bp.size)
            mu = m.background_mu[m.t, d, j] * g
            for _ in range(m.rng.poisson(mu * (1 - bp.quiet_share))):
                m.random_household(d).new_problem(BACKGROUND, c, d, 1.0)
            for _ in range(m.rng.poisson(mu * quiet)):
                who = m.random_household(d)
                who.new_problem(BACKGROUND_QUIET, c, d, who.propensity)


class ReferenceDepartment(mesa.Agent):
    """A department: a first-come-first-served queue, a daily capacity, visits."""

    def __init__(self, model: ReferenceCityModel, name: str, categories: Sequence[int],
                 capacity: int) -> None:  # fmt: skip
        super().__init__(model)
        self.name = name
        self.categories = set(int(c) for c in categories)
        self.capacity = int(capacity)
        self.queue: list[Problem] = []
        self.in_service: list[Problem] = []

    def enqueue(self, pb: Problem) -> None:
        """A new ticket joins the queue."""
        pb.status = QUEUED
        pb.enqueued = self.model.day
        pb.tie = self.model.random.random()
        self.queue.append(pb)

    def handle(self) -> None:
        """Finish today's visits, rate them, then take queued tickets up to the capacity."""
        m: ReferenceCityModel = self.model
        hp = m.params.handling
        rnd = m.random.random
        day = m.day
        done = [pb for pb in self.in_service if pb.due <= day]
        self.in_service = [pb for pb in self.in_service if pb.due > day]
        for pb in done:
            fixed = (not pb.active) or rnd() < m.p_fix[pb.category]
            wait = day - pb.enqueued
            p_sat = (hp.sat_fixed if fixed else hp.sat_failed) * math.exp(
                -hp.wait_penalty * max(0.0, wait - pb.patience))
            satisfied = rnd() < p_sat
            m.count("rated", pb)
            if satisfied:
                m.count("satisfied", pb)
            pb.caller.rated(pb, satisfied)
            if fixed:
                m.count("resolved", pb)
                pb.status = CLOSED
                if isinstance(pb.caller, HouseholdAgent):
                    pb.caller.fixed(pb)
            else:
                pb.status = OPEN
                pb.last_contact = day
        self.queue.sort(key=lambda pb: (pb.enqueued, pb.tie))
        take, self.queue = self.queue[: self.capacity], self.queue[self.capacity :]
        for pb in take:
            pb.status = SERVICE
            pb.due = day + int(m.delay[pb.category])
            self.in_service.append(pb)


class ReferenceCityModel(mesa.Model):
    """The fast model's rules with one Mesa agent per household (small towns only).

    Parameters
    ----------
    seed, scale, start, end, world_seed, districts, params, processes
        As ``CityModel`` (the same arguments build the same town).
    interventions
        Must be empty: the reference model runs the reactive baseline only.
    max_households
        Refuse larger towns (one Python object per household is slow).

    Examples
    --------
    >>> m = ReferenceCityModel(scale=0.0005, districts=["平度"], start="2025-11-15",
    ...                        end="2025-11-16", processes=["heating"])
    >>> m.run()
    >>> m.record["calls"].shape == (2, 1, len(m.categories))
    True
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        scale: float = 0.001,
        start: str = "2025-07-01",
        end: str = "2026-06-30",
        world_seed: int = 0,
        districts: Sequence[str] | None = None,
        params: SimParams | None = None,
        interventions: Sequence[Any] = (),
        processes: Sequence[str] | None = None,
        max_households: int = MAX_HOUSEHOLDS,
    ) -> None:
        if len(interventions):
            raise ValueError("the reference model runs the reactive baseline only "
                             "(no interventions)")  # fmt: skip
        seq = np.random.SeedSequence(int(seed), spawn_key=(99,))  # not the fast model's streams
        super().__init__(rng=int(seq.generate_state(1)[0]))
        world = CityModel(seed=seed, scale=scale, start=start, end=end, world_seed=world_seed,
                          districts=districts, params=params, processes=processes)  # fmt: skip
        if len(world.households) > max_households:
            raise ValueError(f"{len(world.households)} households is more than max_households="
                             f"{max_households}; use CityModel")  # fmt: skip
        self.seed, self.world_seed, self.scale = world.seed, world.world_seed, world.scale
        self.params = world.params
        self.dates, self.day_numbers = world.dates, world.day_numbers
        self.temperature = world.temperature
        self.categories = world.categories
        self.households = world.households  # the town's layout (fixed attributes only)
        self.p_fix, self.delay = world.p_fix, world.delay
        self.interventions: list[Any] = []
        self._read_world(world)

        # Agents.
        for i in range(len(self.households)):
            HouseholdAgent(self, i)
        self.household_list: list[HouseholdAgent] = list(self.agents_by_type[HouseholdAgent])
        self.by_district = [
            self.household_list[int(a) : int(b)]
            for a, b in zip(self.households.district_start, self.households.district_stop,
                            strict=True)
        ]  # fmt: skip
        if "neighbour" in self.process_names:
            nb = world.process_by_name["neighbour"]
            for irr, comp, kind in zip(nb.irritant, nb.complainant, nb.kind, strict=True):
                agent = self.household_list[int(irr)]
                agent.irritant_kind = int(kind)
                agent.complainant = self.household_list[int(comp)]
        if "consumer" in self.process_names:
            mer = world.process_by_name["consumer"].merchants
            for d, q in zip(mer.district, mer.quality, strict=True):
                Merchant(self, int(d), float(q))
        if "background" in self.process_names:
            for d in range(len(self.households.district_names)):
                BackgroundSource(self, d)
        self.departments = [
            ReferenceDepartment(self, dep.name, dep.categories, dep.capacity)
            for dep in world.departments
        ]
        self.department_of = {c: dep for dep in self.departments for c in dep.categories}

        shape = (len(self.dates), len(self.households.district_names), len(self.categories))
        self.record = {k: np.zeros(shape, dtype=np.int64) for k in OUTPUTS}
        self.weeks, self.week_of_day = world.weeks, world.week_of_day
        self.estate_calls = np.zeros_like(world.estate_calls)
        self.initial_latent = np.zeros(shape[1:], np.int64)
        self.cost = np.zeros(len(self.dates))
        self.t = 0
        self.day = int(self.day_numbers[0])
        self.heating_level: tuple[np.ndarray, np.ndarray] | None = None
        self.noise_level: np.ndarray | None = None
        self.irritation_rate: np.ndarray | None = None
        self.heating_season_today = bool(self.in_heating_season[0])
        self.pipes_age_today = False
        self.datacollector = mesa.DataCollector(model_reporters={
            "calls": lambda m: int(m.record["calls"][m.t - 1].sum()),
            "open_problems": lambda m: sum(len(a.problems) for a in m.household_list),
        })  # fmt: skip

    def _read_world(self, world: CityModel) -> None:
        """Day tables and unit constants of the town (inputs, not dynamics)."""
        self.process_names = list(world.process_by_name)
        self.in_heating_season = world.in_heating_season
        self.reporting = {k: v for p in world.processes for k, v in p.reporting_params().items()}
        cats = self.categories
        self.cat_heating = cats.index("heating")
        self.cat_neighbour = cats.index("neighbour_dispute")
        self.cat_consumer = cats.index("consumer_dispute")
        n = len(self.households)
        self.world_heating_position = np.ones(n)
        self.world_noise_exposure = np.zeros((len(self.households.estates), 3))
        procs = world.process_by_name
        if "heating" in procs:
            h = procs["heating"]
            self.world_heating_position = h.pos.astype(np.float64)
            # Per-household hazard levels (time, district) of the clogging and system parts.
            self.heating_levels = (h.level_clog, h.level_system)
        if "noise" in procs:
            nz = procs["noise"]
            self.cat_noise = [int(c) for c in nz.cat_index]
            self.world_noise_exposure = nz.base_exposure
            self.noise_levels = nz.season  # (time, category): rate x seasonal factor
        if "neighbour" in procs:
            self.irritation_rates = procs["neighbour"].rates  # (time, kind)
            assert (DOG, HABIT, SPACE) == (0, 1, 2)
        if "consumer" in procs:
            co = procs["consumer"]
            self.resident_visits = np.broadcast_to(co.visits_res, (len(self.dates),
                                                   len(self.households.district_names)))
            self.tourist_visits = co.visits_tour
        if "background" in procs:
            bg = procs["background"]
            self.cat_background = [int(c) for c in bg.cat_index]
            self.background_mu = bg.mu  # (time, district, category)
            n_d = len(self.households.district_names)
            self.background_quiet_factor = bg.kind_factor[n_d:]  # quiet share / P(report)
            self.background_stay_mean = bg.stay_mean
            weights = quiet_stay_weight(self.households.propensity, self.params.background)
            hh = self.households
            self.background_stay = [weights[int(a):int(b)] for a, b in zip(
                hh.district_start, hh.district_stop, strict=True)]  # fmt: skip

    # ------------------------------------------------------------------ helpers
    def random_household(self, district: int, weights: np.ndarray | None = None
                         ) -> HouseholdAgent:  # fmt: skip
        """A uniform household of ``district`` (or one drawn in proportion to ``weights``)."""
        pool = self.by_district[district]
        if weights is not None:
            return self.random.choices(pool, weights=weights.tolist())[0]
        return pool[int(self.random.random() * len(pool))]

    def count(self, name: str, pb: Problem) -> None:
        """Add one to output ``name`` for the problem's (day, district, category)."""
        self.record[name][self.t, pb.district, pb.category] += 1

    def call(self, pb: Problem, *, first: bool, new_ticket: bool) -> None:
        """A call about ``pb``: book it, and hand a new ticket to its department."""
        pb.last_contact = self.day
        self.count("calls", pb)
        self.count("reported" if first else "repeat_calls", pb)
        if pb.caller.estate >= 0:
            self.estate_calls[self.week_of_day[self.t], pb.caller.estate, pb.category] += 1
        if new_ticket:
            self.department_of[pb.category].enqueue(pb)

    def latent_open(self) -> np.ndarray:
        """Problems latent now (nobody called, still there), by (district, category)."""
        out = np.zeros(self.record["calls"].shape[1:], np.int64)
        for group in (HouseholdAgent, Visitor):
            for a in self.agents_by_type[group] if group in self.agents_by_type else []:
                for pb in a.problems:
                    if pb.active and pb.status == LATENT:
                        out[pb.district, pb.category] += 1
        return out

    # ------------------------------------------------------------------ stepping
    def step(self) -> None:
        """Simulate one day."""
        t = self.t
        if t >= len(self.dates):
            raise RuntimeError("the run is over (all days simulated)")
        self.day = int(self.day_numbers[t])
        names = self.process_names
        in_season = bool(self.in_heating_season[t])
        self.heating_season_today = in_season
        heating = "heating" in names and in_season
        self.heating_level = ((self.heating_levels[0][t], self.heating_levels[1][t]) if heating
                              else None)  # fmt: skip
        self.pipes_age_today = heating and t > 0 and not self.in_heating_season[t - 1]
        self.noise_level = self.noise_levels[t] if "noise" in names else None
        self.irritation_rate = self.irritation_rates[t] if "neighbour" in names else None

        self.agents_by_type[HouseholdAgent].do("occur")
        for kind in (Merchant, BackgroundSource):
            if kind in self.agents_by_type:
                self.agents_by_type[kind].do("occur")
        callers = [self.agents_by_type[k] for k in (HouseholdAgent, Visitor)
                   if k in self.agents_by_type]  # fmt: skip
        for group in callers:
            group.do("report")
        for dept in self.departments:
            dept.handle()
        for group in callers:
            group.do("close")
        self.t += 1
        self.datacollector.collect(self)

    def run(self) -> None:
        """Step through every remaining day."""
        while self.t < len(self.dates):
            self.step()


def simulate_reference(**kwargs: Any) -> xr.Dataset:
    """One run of ``ReferenceCityModel(**kwargs)`` as a Dataset (the fast model's schema).

    Examples
    --------
    >>> ds = simulate_reference(scale=0.0005, districts=["市南"], start="2025-11-15",
    ...                         end="2025-11-16")
    >>> ds["counts"].dims, ds.attrs["source"]
    (('time', 'district', 'category'), 'predgov.sim.ReferenceCityModel')
    """
    from predgov.sim.scenario import simulate

    return simulate(model_class=ReferenceCityModel, **kwargs)


def agreement(
    a: xr.Dataset,
    b: xr.Dataset,
    variables: Sequence[str] = ("counts", "problems", "repeat_calls", "resolved", "satisfied"),
    *,
    alpha: float = 0.01,
) -> pd.DataFrame:
    """Do two multi-seed runs agree? Welch t-tests of per-seed totals, per variable and category.

    For each variable and category, the per-seed totals over time and districts of ``a`` and
    ``b`` (each with a ``seed`` dim, e.g. ``run_scenario(..., seeds=range(30))`` of the fast and
    the reference model) are compared with Welch's t-test; a cell is rejected when its p-value is
    below ``alpha`` divided by the number of cells tested (Bonferroni). Cells where neither run
    ever has an event are not tested; two constant samples give p = 1 when equal, else 0.

    Returns
    -------
    pandas.DataFrame
        One row per tested cell: ``variable``, ``category``, ``mean_a``, ``mean_b``, ``t``,
        ``p``, ``reject``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> def fake(lam):
    ...     x = rng.poisson(lam, (30, 1, 1, 2))
    ...     return xr.Dataset({"counts": (("seed", "time", "district", "category"), x)},
    ...                       coords={"category": ["a", "b"]})
    >>> agreement(fake(20), fake(20), ["counts"])["reject"].any()
    np.False_
    >>> agreement(fake(20), fake([20, 40]), ["counts"]).set_index("category")["reject"]["b"]
    np.True_
    """
    from scipy import stats

    rows = []
    for v in variables:
        ta = a[v].sum(["time", "district"]).transpose("seed", "category")
        tb = b[v].sum(["time", "district"]).transpose("seed", "category")
        for j, cat in enumerate(ta["category"].values):
            x = ta.values[:, j].astype(float)
            y = tb.values[:, j].astype(float)
            if not (x.any() or y.any()):
                continue
            if x.var() == 0 and y.var() == 0:
                t, p = 0.0, 1.0 if x.mean() == y.mean() else 0.0
            else:
                t, p = stats.ttest_ind(x, y, equal_var=False)
            rows.append({"variable": v, "category": str(cat), "mean_a": x.mean(),
                         "mean_b": y.mean(), "t": float(t), "p": float(p)})  # fmt: skip
    table = pd.DataFrame(rows, columns=["variable", "category", "mean_a", "mean_b", "t", "p"])
    table["reject"] = table["p"] < alpha / max(1, len(table))
    return table
