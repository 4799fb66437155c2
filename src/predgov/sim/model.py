"""``CityModel``: builds a Qingdao-like city and steps it one day at a time.

World: households, estates and grids (``households``, ``grids``), departments
(``departments``), the processes (``processes/``) and the calendar: ``predgov.data.calendar``
for holidays, working days, heating and tourist seasons, the demo city's weather for the run
seed (``predgov.data.demo._temperature``, the same series ``demo_city(seed)`` has) and the demo
city's expected volumes for the background categories (``world_seed``).

One step = one day, in this order:

1. interventions act (``Intervention.step``: effects due today, then delivery; they change
   state or multipliers, may ``absorb`` latent cases they discover, and book the units they
   treated and their cost, ``Intervention.book``);
2. each process's ``occur`` adds new latent cases; households get their "open problem" bit;
3. *intercept*: each intervention that overrides ``Intervention.intercept`` sees the day's new
   cases and may absorb some before anyone calls (on-the-spot mediation, a steward on a
   visit): ``CityModel.absorb`` closes them and counts them in ``absorbed``;
4. process-specific ends (heating: the season is over, every heating problem ends);
5. ``reporting.report``: first calls, chasing calls, calls after failed visits, giving up;
6. each still-active case ends by itself with its process's daily ``end`` probability (keyed
   uniform, purpose SELF_END) - after reporting, so a problem can be called in on its first day;
7. the departments handle their tickets (``departments.handle_all``);
8. cases whose problem is gone and that hold no ticket close (those never called in count as
   ``unreported``); outputs are recorded by (day, district, category); closed cases are
   dropped.

Accounting (no case is lost): over a run, ``problems`` + the initial latent stock
(``initial_latent``) = ``absorbed`` + ``reported`` + ``unreported`` + the cases still latent at
the end (``latent_open()``).

Hooks for interventions: ``multipliers`` (``"<process>.<name>"`` -> ``processes.base.
Multiplier``: per-unit rate multipliers in [0, 1]), ``absorb`` and the intercept phase,
``places`` (named units of the seed's cases) and the state arrays of the processes.

Randomness: only keyed streams (``streams``), never ``model.rng``, so a run is a function of
(seed, world_seed, scale, dates, params, interventions); ``model.rng`` is left for optional
viewers. The processes' day streams come from ``model.day_streams`` (``streams.DayStreams``:
the same draws as ``streams.day_rng``, set up once per run), and on its first day the model
prepares the keyed-uniform tables of all its days (``streams.prepare_days``).

Outputs: ``record[name]`` (time, district, category) are views of one array; a day's tallies
are one ``np.add.at`` on it. ``estate_calls`` (week, estate, category) counts calls by the
households of each estate per week (weeks start on Monday; int32); ``merchant_calls``
(month, merchant) counts calls about consumer disputes with each merchant (calendar months;
int32: about 16,000 merchants x 12 months at full scale, under 1 MB). Per (day, intervention),
by position in ``interventions`` (labels made unique: a second ``"pipe_flushing"`` becomes
``"pipe_flushing#2"``): ``intervention_treated`` (units visited), ``intervention_cost`` and
``absorbed_by`` (cases absorbed); ``cost`` is the day's total.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import mesa
import numpy as np
import pandas as pd
import xarray as xr

from predgov.data.calendar import calendar
from predgov.data.demo import _temperature, demo_city
from predgov.data.taxonomy import load_taxonomy
from predgov.sim import streams
from predgov.sim.cases import CLOSED, GAVE_UP, LATENT, OPEN, Cases
from predgov.sim.departments import (
    HOUSEHOLD_PROCESSES,
    Department,
    HandlingParams,
    handle_all,
)
from predgov.sim.grids import make_grids
from predgov.sim.households import build_households
from predgov.sim.interventions import Intervention
from predgov.sim.places import build_places
from predgov.sim.processes.background import Background, BackgroundParams
from predgov.sim.processes.base import Process
from predgov.sim.processes.consumer import Consumer, ConsumerParams
from predgov.sim.processes.heating import Heating, HeatingParams
from predgov.sim.processes.neighbour import Neighbour, NeighbourParams
from predgov.sim.processes.noise import Noise, NoiseParams
from predgov.sim.reporting import report

#: Processes by name, in the order they run each day.
PROCESSES: dict[str, type[Process]] = {
    "heating": Heating, "neighbour": Neighbour, "consumer": Consumer, "noise": Noise,
    "background": Background,
}  # fmt: skip
#: Outputs recorded per (day, district, category).
OUTPUTS = ("problems", "calls", "repeat_calls", "reported", "resolved", "rated", "satisfied",
           "absorbed", "unreported")


@dataclass(frozen=True)
class SimParams:
    """All process and handling parameters (defaults: the calibrated Qingdao-like city).

    Examples
    --------
    >>> SimParams().heating.start_amp
    2.0
    """

    heating: HeatingParams = field(default_factory=HeatingParams)
    neighbour: NeighbourParams = field(default_factory=NeighbourParams)
    consumer: ConsumerParams = field(default_factory=ConsumerParams)
    noise: NoiseParams = field(default_factory=NoiseParams)
    background: BackgroundParams = field(default_factory=BackgroundParams)
    handling: HandlingParams = field(default_factory=HandlingParams)


@functools.lru_cache(maxsize=16)
def _calendar(start: str, end: str) -> xr.Dataset:
    """The Qingdao calendar of the run's days (cached: many runs share their dates)."""
    return calendar((pd.Timestamp(start), pd.Timestamp(end), "D"), "qingdao")


@functools.lru_cache(maxsize=16)
def _demo_expected(world_seed: int, start: str, end: str, districts: tuple[str, ...]
                   ) -> xr.DataArray:  # fmt: skip
    """The demo city's noise-free expected volumes (cached: they depend on the world seed and
    the dates, not on the run seed). Read-only."""
    return demo_city(world_seed, start=start, end=end, anomalies=False,
                     districts=list(districts))["expected"]  # fmt: skip


class CityModel(mesa.Model):
    """Agent-based Qingdao-like city: households, complaints and departments.

    Parameters
    ----------
    seed
        Run seed (weather and every dynamic draw).
    scale
        Fraction of Qingdao's ~3.7 million households (1.0 = full city).
    start, end
        First and last simulated day (inclusive).
    world_seed
        Seed of the city's layout (estates, flats, merchants, sources, background levels); kept
        fixed across run seeds by default.
    districts
        Subset of district names (default all ten).
    params
        ``SimParams``; default the calibrated defaults.
    interventions
        ``Intervention`` objects (copied, so one object can serve many runs).
    processes
        Names from ``PROCESSES`` to run (default all).

    Examples
    --------
    >>> m = CityModel(scale=0.001, start="2025-11-15", end="2025-11-20")
    >>> m.run()
    >>> m.record["calls"].shape[1:] == (10, len(m.categories))
    True
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        scale: float = 0.01,
        start: str = "2025-07-01",
        end: str = "2026-06-30",
        world_seed: int = 0,
        districts: Sequence[str] | None = None,
        params: SimParams | None = None,
        interventions: Sequence[Intervention] = (),
        processes: Sequence[str] | None = None,
    ) -> None:
        super().__init__(rng=int(seed))
        self.seed = int(seed)
        self.world_seed = int(world_seed)
        self.scale = float(scale)
        self.params = params or SimParams()
        self.dates = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="D")
        if len(self.dates) == 0:
            raise ValueError(f"end ({end}) is before start ({start})")
        self.day_numbers = (self.dates.values.astype("datetime64[D]").astype(np.int64))
        self.day_of_year = self.dates.day_of_year.to_numpy().astype(float)
        cal = _calendar(str(self.dates[0].date()), str(self.dates[-1].date()))
        self.in_heating_season = cal["heating_season"].values
        self.in_tourist_season = cal["tourist_season"].values
        self.working_day = cal["working_day"].values
        self.holiday = cal["holiday"].values
        self.temperature = _temperature(self.seed, self.dates)

        self.households = build_households(
            self.world_seed, self.scale, districts=None if districts is None else list(districts)
        )
        taxonomy = load_taxonomy("qingdao")
        self.categories: list[str] = list(taxonomy.categories.index)
        self.demo_expected = _demo_expected(
            self.world_seed, str(self.dates[0].date()), str(self.dates[-1].date()),
            tuple(self.households.district_names))
        self.grids = make_grids(self)

        hp = self.params.handling
        self.p_fix = np.array([hp.p_fix_for(c) for c in self.categories])
        self.delay = np.array([hp.delay_for(c) for c in self.categories], dtype=np.int64)
        self.departments = self._make_departments(taxonomy)
        #: Department (position in ``departments``) of each category, and each one's capacity.
        self.department_index = np.full(len(self.categories), -1, np.int64)
        for k, dept in enumerate(self.departments):
            self.department_index[dept.categories] = k
        self.department_capacity = np.array([d.capacity for d in self.departments], np.int64)

        names = list(PROCESSES) if processes is None else list(processes)
        unknown = [n for n in names if n not in PROCESSES]
        if unknown:
            raise ValueError(f"unknown processes {unknown}; have {list(PROCESSES)}")
        self.processes: list[Process] = [
            PROCESSES[n](self, getattr(self.params, n)) for n in PROCESSES if n in names
        ]
        #: Statuses whose case closes once its problem is gone (no ticket held).
        self._gone_status = np.zeros(256, bool)
        self._gone_status[[LATENT, OPEN, GAVE_UP]] = True
        self.process_by_name = {n: p for n, p in zip(
            [n for n in PROCESSES if n in names], self.processes, strict=True)}  # fmt: skip
        #: The processes' day streams (``streams.day_rng`` draws, set up once per run).
        self.day_streams = streams.DayStreams(
            self.seed, [p.process for p in self.processes], self.day_numbers)
        reporting = {k: v for p in self.processes for k, v in p.reporting_params().items()}
        n_proc = max(streams.INTERVENTION, *reporting) + 1
        self._rp = {k: np.zeros(n_proc) for k in ("report", "chase", "recall", "give_up", "end")}
        for key, rp in reporting.items():
            for k, arr in self._rp.items():
                arr[key] = getattr(rp, k)
        #: Experience domain (column of ``households.experience``) of each process key.
        self._domain = np.zeros(256, np.int64)
        self._domain[list(HOUSEHOLD_PROCESSES)] = np.array(HOUSEHOLD_PROCESSES) - 1
        self._domain[streams.BACKGROUND_QUIET] = streams.BACKGROUND - 1
        #: Rate multipliers of every process, by ``"<process>.<name>"`` (hooks, see ``Multiplier``).
        self.multipliers = {f"{n}.{k}": mult for n, p in self.process_by_name.items()
                            for k, mult in p.multipliers.items()}  # fmt: skip

        #: Named places of the seed's cases (``places.build_places``): name -> ``Place``.
        self.places = build_places(self)
        self.cases = Cases()
        shape = (len(self.dates), len(self.households.district_names), len(self.categories))
        #: Outputs (output, time, district, category); ``record[name]`` is a view of one output.
        self._record = np.zeros((len(OUTPUTS), *shape), dtype=np.int64)
        self._tally_offset = np.arange(len(OUTPUTS)) * self._record[0].size
        # Household processes with a bit in ``households.active``: a lookup by process key.
        self._has_bit = np.zeros(256, bool)
        self._has_bit[list(HOUSEHOLD_PROCESSES[:-1])] = True
        self._bit = (np.uint8(1) << (np.arange(256) % 8).astype(np.uint8)).astype(np.uint8)
        #: Processes whose successful visits change the world (``on_resolved`` overridden).
        self.resolvers = [p for p in self.processes
                          if type(p).on_resolved is not Process.on_resolved]  # fmt: skip
        # Weeks (Monday starts) of the run's days: calls per estate and week.
        monday = self.dates - pd.to_timedelta(self.dates.day_of_week, unit="D")
        self.weeks = pd.DatetimeIndex(monday.unique())
        self.week_of_day = self.weeks.get_indexer(monday)
        self.estate_calls = np.zeros((len(self.weeks), len(self.households.estates),
                                      len(self.categories)), dtype=np.int32)  # fmt: skip
        # Months of the run's days: calls per merchant and month (merchant attribution).
        first = self.dates.to_period("M").to_timestamp()
        self.months = pd.DatetimeIndex(first.unique())
        self.month_of_day = self.months.get_indexer(first)
        consumer = self.process_by_name.get("consumer")
        n_merchants = 0 if consumer is None else len(consumer.merchants)
        self.merchant_calls = np.zeros((len(self.months), n_merchants), dtype=np.int32)
        #: Cases absorbed today (index arrays, tallied at the end of the day).
        self._absorbed_today: list[np.ndarray] = []
        self.t = 0
        self.datacollector = mesa.DataCollector(model_reporters={
            "calls": lambda m: int(m.record["calls"][m.t - 1].sum()),
            "open_cases": lambda m: len(m.cases),
        })  # fmt: skip
        self.interventions: list[Intervention] = []
        self.attach_interventions(interventions)

    def attach_interventions(self, interventions: Sequence[Intervention]) -> None:
        """Set up ``interventions`` (copies, labels made unique for outputs and random
        streams, empty per-day records, ``initialize``), as the constructor does on day 0.

        Called by the constructor; also on a model that has run ``t`` days without
        interventions (a forked shared past), when none of them could have acted before.
        """
        if self.interventions:
            raise ValueError("attach_interventions: the model already has interventions")
        ivs = [copy.deepcopy(iv) for iv in interventions]
        seen: dict[str, int] = {}
        for iv in ivs:
            seen[iv.label] = seen.get(iv.label, 0) + 1
            if seen[iv.label] > 1:
                iv.label = f"{iv.label}#{seen[iv.label]}"
        self.interventions = ivs
        n = len(self.dates)
        #: Per (day, intervention): units treated and cost (``cost``: the daily total), and
        #: absorbed cases (by position in ``interventions``; -1 = none named).
        self.intervention_treated = np.zeros((n, len(ivs)), np.int64)
        self.intervention_cost = np.zeros((n, len(ivs)))
        self.absorbed_by = np.zeros((n, len(ivs)), np.int64)
        self._interceptors = [iv for iv in ivs
                              if type(iv).intercept is not Intervention.intercept]  # fmt: skip
        for k, iv in enumerate(ivs):
            iv.initialize(self, k)

    # ------------------------------------------------------------------ building
    def _make_departments(self, taxonomy) -> list[Department]:
        cats = taxonomy.categories
        hh_total = float(self.demo_expected["households"].sum())
        world_hh = float(len(self.households))
        expected = self.demo_expected.sum("district").transpose("time", "category").values
        load = np.empty(len(self.categories))
        for j in range(len(self.categories)):
            series = expected[:, j]
            on = series > 0
            load[j] = series[on].mean() if on.any() else 0.0
        load *= world_hh / hh_total
        out = []
        for name in dict.fromkeys(cats["department"]):
            idx = np.flatnonzero((cats["department"] == name).to_numpy())
            cap = int(np.ceil(self.params.handling.capacity_factor * load[idx].sum()))
            out.append(Department(self, name, idx, max(1, cap)))
        return out

    def estate_table(self) -> pd.DataFrame:
        """Estates as a table (index = estate id used by ``PipeFlushing``).

        Examples
        --------
        >>> m = CityModel(scale=0.001, start="2025-11-15", end="2025-11-15")
        >>> {"district", "households", "system_age"} <= set(m.estate_table().columns)
        True
        """
        e = self.households.estates
        return pd.DataFrame({
            "district": np.array(self.households.district_names)[e.district],
            "households": e.size, "build_year": e.build_year, "age": e.age,
            "system_age": e.system_age, "central_heating": e.central_heating,
            "floors": e.floors, "mean_clog": np.bincount(
                self.households.estate, weights=self.households.clog, minlength=len(e)) / e.size,
        })  # fmt: skip

    # ------------------------------------------------------------------ stepping
    def experience_update(self, idx: np.ndarray, satisfied: np.ndarray) -> None:
        """Move the experience of the households of cases ``idx`` by +1/-1 (in [-3, 3])."""
        c = self.cases
        who = c.hh[idx]
        ok = who >= 0
        if not ok.all():
            if not ok.any():
                return
            idx, who, satisfied = idx[ok], who[ok], satisfied[ok]
        exp = self.households.experience
        flat = who * exp.shape[1] + self._domain[c.process[idx]]  # (household, domain) cell
        delta = np.where(satisfied, 1, -1)
        if len(flat) > 1 and (len(flat) > 16 or len(set(flat.tolist())) < len(flat)):
            # the sum of the day's moves of each (household, domain)
            order = np.argsort(flat, kind="stable")
            flat = flat[order]
            start = np.concatenate(([True], flat[1:] != flat[:-1])).nonzero()[0]
            if len(start) < len(flat):
                flat, delta = flat[start], np.add.reduceat(delta[order], start)
            else:
                delta = delta[order]
        view = exp.reshape(-1)
        moved = view[flat] + delta  # int64
        np.maximum(moved, -3, out=moved)
        np.minimum(moved, 3, out=moved)
        view[flat] = moved

    def _set_bits(self, hh: np.ndarray, process: np.ndarray, on: bool) -> None:
        if len(hh) == 0:
            return
        ok = (hh >= 0) & self._has_bit[process]
        if not ok.any():
            return
        bits = self._bit[process[ok]]
        if on:
            np.bitwise_or.at(self.households.active, hh[ok], bits)
        else:
            np.bitwise_and.at(self.households.active, hh[ok], ~bits)

    def _tally(self, t: int, sets: Sequence[np.ndarray]) -> None:
        """Count the cases of each index array in ``sets`` (one per ``OUTPUTS``, in order) by
        (district, category) into the day's record."""
        lens = [len(x) for x in sets]
        if sum(lens) == 0:
            return
        c = self.cases
        rec = self._record  # (output, time, district, category), C order
        idx = np.concatenate(sets)
        flat = c.district[idx].astype(np.int64) * rec.shape[3] + c.category[idx]
        flat += np.repeat(self._tally_offset + t * rec[0, 0].size, lens)
        np.add.at(rec.reshape(-1), flat, 1)

    def absorb(self, idx: np.ndarray, *, by: Intervention | None = None,
               effect: bool = False) -> None:  # fmt: skip
        """Close latent cases ``idx`` before anyone calls: an intervention dealt with them.

        They are counted in ``absorbed`` (day, district, category) and, when ``by`` is one of
        the model's interventions, in ``absorbed_by``; they never become calls. With
        ``effect`` the process's ``on_resolved`` runs as after a successful visit (heating:
        the flat is flushed; neighbours: the pair's tension is reset).

        Raises
        ------
        ValueError
            When a case is not latent (already called in, closed or absorbed): such a case
            would be counted twice.

        Examples
        --------
        >>> m = CityModel(scale=0.001, start="2025-11-15", end="2025-11-16")
        >>> m.step()
        >>> latent = (m.cases.status == 0).nonzero()[0][:2]
        >>> m.absorb(latent)
        >>> m.absorb(latent)
        Traceback (most recent call last):
        ...
        ValueError: absorb: 2 of 2 cases are not latent (called in, closed or absorbed already)
        """
        idx = np.asarray(idx, dtype=np.int64)
        if len(idx) == 0:
            return
        c = self.cases
        bad = (c.status[idx] != LATENT) | ~c.active[idx]
        if bad.any() or len(np.unique(idx)) < len(idx):
            n_bad = max(int(bad.sum()), len(idx) - len(np.unique(idx)))
            raise ValueError(f"absorb: {n_bad} of {len(idx)} cases are not latent (called in, "
                             "closed or absorbed already)")  # fmt: skip
        if effect:
            for proc in self.resolvers:
                sel = idx[c.process[idx] == proc.process]
                if len(sel):
                    proc.on_resolved(sel)
        c.status[idx] = CLOSED
        c.active[idx] = False
        self._absorbed_today.append(idx)
        if by is not None:
            k = getattr(by, "slot_", None)
            if k is None or self.interventions[k] is not by:  # the model works on copies
                raise ValueError(f"absorb: {by!r} is not one of the model's interventions "
                                 "(the model works on copies: use the one it passes you)")
            self.absorbed_by[self.t, k] += len(idx)

    def latent_open(self) -> np.ndarray:
        """Cases latent now (nobody called, not absorbed, problem still there), counted by
        (district, category).

        Examples
        --------
        >>> m = CityModel(scale=0.001, start="2025-11-15", end="2025-11-16")
        >>> m.run()
        >>> m.latent_open().shape == (10, len(m.categories))
        True
        """
        c = self.cases
        out = np.zeros(self._record.shape[2:], np.int64)
        sel = (c.status == LATENT) & c.active
        np.add.at(out, (c.district[sel], c.category[sel]), 1)
        return out

    @property
    def initial_latent(self) -> np.ndarray:
        """The latent stock the run started with (district, category): quiet background
        problems from before the first day (``processes.background``)."""
        bg = self.process_by_name.get("background")
        if bg is None:
            return np.zeros(self._record.shape[2:], np.int64)
        out = np.zeros(self._record.shape[2:], np.int64)
        out[:, bg.cat_index] = bg.initial_latent
        return out

    @property
    def cost(self) -> np.ndarray:
        """Total intervention cost per day (the sum of ``intervention_cost`` over interventions)."""
        return self.intervention_cost.sum(axis=1)

    @property
    def record(self) -> dict[str, np.ndarray]:
        """Outputs by name, each ``(time, district, category)``: views of one array (built on
        access, so a ``copy.deepcopy`` of a running model keeps recording into its own copy)."""
        return {k: self._record[i] for i, k in enumerate(OUTPUTS)}

    def step(self) -> None:
        """Simulate one day."""
        t = self.t
        if t >= len(self.dates):
            raise RuntimeError("the run is over (all days simulated)")
        day = int(self.day_numbers[t])
        if t == 0:  # the keyed streams' tables for all the run's days, in one pass
            streams.prepare_days(self.seed, self.day_numbers)
        c = self.cases
        self._absorbed_today = []
        for iv in self.interventions:
            iv.step(self, t)

        n_before = len(c)
        new: list[dict] = []
        for proc in self.processes:
            x = proc.occur(t)
            if x is not None:
                new.extend([x] if isinstance(x, dict) else x)
        c.add(*new)
        new_idx = np.arange(n_before, len(c))
        self._set_bits(c.hh[new_idx], c.process[new_idx], True)
        if t == 0 and len(new_idx):  # the initial latent stock is not a new problem
            new_idx = new_idx[c.onset[new_idx] >= day]

        for iv in self._interceptors:  # intercept: new cases absorbed before anyone calls
            fresh = new_idx[c.status[new_idx] == LATENT]
            if len(fresh):
                self.absorb(np.asarray(iv.intercept(self, t, fresh), np.int64), by=iv)

        for proc in self.processes:
            proc.end(t)
        first, repeat = streams_report(self, day)
        first_idx = first.nonzero()[0]
        repeat_idx = repeat.nonzero()[0]
        called = (first | repeat).nonzero()[0]
        who = c.hh[called]
        mine = who >= 0
        if mine.any():
            week = int(self.week_of_day[t])
            flat = self.households.estate[who[mine]].astype(np.int64) * len(self.categories)
            flat += c.category[called[mine]]
            flat += week * self.estate_calls[0].size
            np.add.at(self.estate_calls.reshape(-1), flat, 1)
        if self.merchant_calls.shape[1]:
            cons = called[c.process[called] == streams.CONSUMER]
            if len(cons):
                np.add.at(self.merchant_calls[int(self.month_of_day[t])], c.src[cons], 1)

        live = c.active.nonzero()[0]
        if len(live):
            proc_ids = c.process[live]
            u = streams.keyed_uniform(self.seed, proc_ids, day, c.uid[live], streams.SELF_END)
            c.active[live[u < self._rp["end"][proc_ids]]] = False

        done, resolved, satisfied = handle_all(self, t)
        gone = ~c.active & self._gone_status[c.status]
        unreported = (gone & (c.status == LATENT)).nonzero()[0]
        absorbed = (np.concatenate(self._absorbed_today) if self._absorbed_today
                    else np.zeros(0, np.int64))  # fmt: skip
        sets = {"problems": new_idx, "calls": called, "repeat_calls": repeat_idx,
                "reported": first_idx, "resolved": resolved, "rated": done,
                "satisfied": satisfied, "absorbed": absorbed,
                "unreported": unreported}  # fmt: skip
        self._tally(t, [sets[k] for k in OUTPUTS])

        c.status[gone] = CLOSED
        closed = (c.status == CLOSED).nonzero()[0]
        self._set_bits(c.hh[closed], c.process[closed], False)
        c.compact()
        self.t += 1
        self.datacollector.collect(self)

    def run(self) -> None:
        """Step through every remaining day."""
        while self.t < len(self.dates):
            self.step()


def streams_report(model: CityModel, day: int) -> tuple[np.ndarray, np.ndarray]:
    """The reporting step with the model's per-process parameters."""
    rp = model._rp
    return report(model.cases, model.seed, day, rp["report"], rp["chase"], rp["recall"],
                  rp["give_up"])  # fmt: skip
