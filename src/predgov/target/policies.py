"""Targeting policies: which units an intervention treats first (issue 10 §3).

A policy is any object with ``select(model, t, unit) -> np.ndarray``: unit indices, highest
priority first, decided at the start of day index ``t`` of a ``predgov.sim.CityModel``.
``unit`` is one of :data:`UNITS`. Every policy here except :class:`Oracle` decides from
:func:`predgov.target.observation.observe` alone (calls recorded before day ``t``, public
registers, calendar, climatology), so its decision cannot depend on the model's latent state
(``tests/target/test_leakage.py``). Parameters go to ``__init__`` (the scikit-learn habit); a
decision is deterministic given what the policy may see and its ``seed``.

* :class:`Reactive`: no preemptive targets (接诉即办, the baseline);
* :class:`Random`: a random order from a keyed stream (run seed, :data:`POLICY`, day, unit);
* :class:`HistoryHotspot`: last season's calls per household of each estate (the seed's
  practice: the heating company analysed last season's 44,000 calls), raw or shrunk;
* :class:`HouseholdRisk`: an empirical-Bayes gamma–Poisson rate per covariate cell of the
  registers (district, estate age, heating-system age, central heating, and "边角顶底" flat
  position when calls per household are recorded), :func:`predgov.target.shrink_rates`;
* :class:`ForecastDriven`: ``predgov.forecast.make_forecaster`` fitted on the observed cube,
  next season's district forecast shared out by each estate's share of history;
* :class:`Oracle`: the true latent risk (clogging, tension, merchant quality, source
  intensity, latent cases): an **upper bound**, never a default.

Scores and units. A policy scores households (expected calls per household) or, for units
that are not made of households (``merchant``, ``source``), those units directly. Estates,
grids and districts get the sum over their households and are ranked by it per household
(``per_household=True``, the default: treatment costs per household, so the most calls per
household is the most calls per unit cost), or by the sum; a neighbour ``pair`` gets its
complainant's score. Ties go to the lower index; every unit is listed (units scoring 0
last), so the intervention's budget decides how far down the list it goes.

Random numbers: ``streams.keyed_uniform(run seed, streams.INTERVENTION, day, hash_key(
policy seed, unit kind, unit), POLICY)``; :data:`POLICY` = 48 is a purpose id that
``predgov.sim.streams`` does not use (its purposes are 1..12, and ids below 16 are kept for
it), so a policy's draws are independent of every process and intervention draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from predgov.target.observation import LOOKAHEAD_DAYS, Observation, observe, register
from predgov.target.shrink import shrink_rates
from predgov.target.treatment import treatment_list

#: Units a policy may be asked for.
UNITS = ("household", "estate", "grid", "district", "merchant", "source", "pair")
#: Purpose id of the policies' keyed draws (not used by ``predgov.sim.streams``).
POLICY = 48
#: Heating season of Qingdao (``conf/city/qingdao.yaml``), the default history window.
HEATING_SEASON = ("11-15", "04-05")


def _check_unit(unit: str, allowed: Sequence[str] = UNITS) -> str:
    if unit not in allowed:
        raise ValueError(f"unit must be one of {list(allowed)}, got {unit!r}")
    return unit


def n_units(model: Any, unit: str) -> int:
    """Number of units of a kind in ``model`` (registers: counts, never latent state); the
    policies' units only (:data:`UNITS`). The count itself is the interventions' one,
    :func:`predgov.sim.interventions.base.n_units`.

    Examples
    --------
    >>> from predgov.sim.model import CityModel
    >>> m = CityModel(scale=0.001, start="2025-11-15", end="2025-11-15")
    >>> n_units(m, "district"), n_units(m, "household") == len(m.households)
    (10, True)
    """
    from predgov.sim.interventions.base import n_units as count

    _check_unit(unit)
    return count(model, unit)


def rank(score: np.ndarray) -> np.ndarray:
    """Indices by decreasing score, ties by increasing index.

    Examples
    --------
    >>> rank(np.array([1.0, 3.0, 1.0, 0.0])).tolist()
    [1, 0, 2, 3]
    """
    score = np.asarray(score, dtype=np.float64)
    return np.lexsort((np.arange(len(score)), -score)).astype(np.int64)


def from_households(obs: Observation, unit: str, score: np.ndarray, per_household: bool = True,
                    model: Any = None) -> np.ndarray:  # fmt: skip
    """Rank ``unit`` from a score per household (expected calls), see the module docstring.

    ``model`` is needed only for ``unit="pair"`` (the neighbour pairs' complainants).

    Examples
    --------
    >>> from predgov.sim.model import CityModel
    >>> m = CityModel(scale=0.001, start="2025-11-15", end="2025-11-15")
    >>> obs = observe(m, 0)
    >>> s = (obs.households["district"].values == 3).astype(float)
    >>> int(from_households(obs, "district", s)[0])
    3
    """
    return _rank_units(obs.households, obs.estates.sizes["estate"], obs.counts.sizes["district"],
                       unit, score, per_household, model)  # fmt: skip


def _rank_units(h: Any, n_estates: int, n_districts: int, unit: str, score: np.ndarray,
                per_household: bool, model: Any) -> np.ndarray:  # fmt: skip
    """:func:`from_households` on the household register ``h`` (no calls needed)."""
    score = np.asarray(score, dtype=np.float64)
    if unit == "household":
        return rank(score)
    if unit == "pair":
        nb = getattr(model, "process_by_name", {}).get("neighbour")
        if nb is None:
            return np.zeros(0, np.int64)
        return rank(score[nb.complainant])
    n = {"estate": n_estates, "district": n_districts,
         "grid": int(h["grid"].max()) + 1 if h.sizes["household"] else 0}.get(unit)
    if n is None:
        raise ValueError(f"unit {unit!r}: this policy scores households; it cannot rank "
                         f"{unit}s (use estate, grid, district, household or pair)")  # fmt: skip
    of = h[unit].values
    total = np.bincount(of, weights=score, minlength=n)
    if per_household:
        size = np.bincount(of, minlength=n)
        total = np.divide(total, size, out=np.zeros(n), where=size > 0)
    return rank(total)


def _categories(obs: Observation, category: str | Sequence[str] | None) -> list[str]:
    have = obs.categories
    wanted = have if category is None else [category] if isinstance(category, str) else list(
        category)  # fmt: skip
    unknown = [c for c in wanted if c not in have]
    if unknown or not wanted:
        raise ValueError(f"category: unknown {unknown or wanted!r}; the cube has {have}")
    return list(wanted)


class Policy:
    """Base class: ``select(model, t, unit)`` from ``observe(model, t)``.

    Subclasses implement ``scores(model, obs, unit)`` (a score per household, or per unit
    for units not made of households) or override ``select``.
    """

    #: True only for policies that read latent state (upper bounds, never defaults).
    upper_bound: ClassVar[bool] = False
    #: Units the policy ranks.
    units: ClassVar[tuple[str, ...]] = ("household", "estate", "grid", "district", "pair")

    per_household: bool = True

    def select(self, model: Any, t: int, unit: str) -> np.ndarray:
        """Unit indices, highest priority first, decided at the start of day index ``t``."""
        _check_unit(unit, self.units)
        return self.decide(observe(model, t), unit, model)

    def decide(self, obs: Observation, unit: str, model: Any = None) -> np.ndarray:
        """Unit indices, highest priority first, from an observation (``model`` only for
        ``unit="pair"``)."""
        _check_unit(unit, self.units)
        return from_households(obs, unit, self.household_scores(obs), self.per_household,
                               model)  # fmt: skip

    def household_scores(self, obs: Observation) -> np.ndarray:
        """Expected calls (or any score) per household."""
        raise NotImplementedError

    def __call__(self, model: Any, t: int, unit: str = "household") -> np.ndarray:
        return self.select(model, t, unit)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_"))
        return f"{type(self).__name__}({params})"


class Reactive(Policy):
    """No preemptive targets (接诉即办): the hotline only answers calls.

    Examples
    --------
    >>> Reactive().select(None, 0, "estate").tolist()
    []
    """

    units = UNITS

    def select(self, model: Any, t: int, unit: str) -> np.ndarray:
        _check_unit(unit, self.units)
        return np.zeros(0, np.int64)


class Random(Policy):
    """Every unit in a random order, from a keyed stream (common random numbers).

    The order is ``argsort`` of ``streams.keyed_uniform(run seed, INTERVENTION, day of t,
    hash_key(seed, unit kind, unit), POLICY)``: a function of the run seed, this policy's
    ``seed``, the decision day and the unit kind only; never ``np.random``'s global state or
    ``model.rng``.

    Parameters
    ----------
    seed
        The policy's own seed (another seed gives another order on the same run).

    Examples
    --------
    >>> from predgov.sim.model import CityModel
    >>> m = CityModel(scale=0.001, start="2025-11-15", end="2025-11-15")
    >>> a = Random().select(m, 0, "estate")
    >>> b = Random().select(m, 0, "estate")
    >>> bool((a == b).all()), sorted(a.tolist()) == list(range(len(a)))
    (True, True)
    """

    units = UNITS

    def __init__(self, seed: int = 0) -> None:
        self.seed = int(seed)

    def select(self, model: Any, t: int, unit: str) -> np.ndarray:
        from predgov.sim import streams  # here: predgov.sim may import predgov.target

        _check_unit(unit, self.units)
        n = n_units(model, unit)
        if n == 0:
            return np.zeros(0, np.int64)
        day = int(model.day_numbers[0]) + int(t)
        key = streams.hash_key(self.seed, UNITS.index(unit), np.arange(n, dtype=np.int64))
        u = streams.keyed_uniform(model.seed, streams.INTERVENTION, day, np.atleast_1d(key),
                                  POLICY)  # fmt: skip
        return np.argsort(u, kind="stable").astype(np.int64)


def _estate_history(obs: Observation, category: list[str], season: Any, shrink: bool,
                    who: str) -> np.ndarray:  # fmt: skip
    """Expected calls per estate next season from the observed weekly estate calls
    (``treatment_list``'s history expectation: raw persistence or shrunk per household)."""
    n = obs.estates.sizes["estate"]
    ec = obs.estate_calls.sel(category=category).rename(week="time")
    if ec.sizes["time"] == 0:
        return np.zeros(n)
    try:
        tl = treatment_list(ec, budget=1.0, cost=1.0, efficacy=1.0, unit="estate",
                            category=category, season=season, shrink=shrink,
                            exposure="households" if shrink else None)  # fmt: skip
    except ValueError as err:
        raise ValueError(f"{who}: {err}; give the run a burn-in of at least one season "
                         "before the decision, or pass season=None (all history)") from None
    out = tl["expected_calls"].sortby("estate").values
    return np.nan_to_num(out.astype(np.float64), nan=0.0)


class HistoryHotspot(Policy):
    """Last season's calls per household of each estate: the seed's practice (冬病夏治).

    The heating company analysed last season's calls to find trouble-prone estates
    (SEED_BRIEF.md case 1). Expected calls of an estate are its calls in the ``season`` window
    of the observed weekly estate calls (``treatment_list``: persistence, or with ``shrink``
    the empirical-Bayes rate per household); a household gets its estate's calls per household
    (households' own calls when the model records them, see ``observation``). Raw history
    favours estates that were unlucky last season (regression to the mean).

    Parameters
    ----------
    category
        Category code(s) whose calls count (default ``"heating"``; None for all).
    season
        History window (``treatment_list``'s forms): ``("MM-DD", "MM-DD")`` for the last
        complete occurrence of a season, dates, or None for all history before ``t``.
        Default: the last complete heating season.
    shrink
        Shrink estate rates towards the city mean (default False: raw, the seed's practice).
    per_household
        Rank estates, grids, districts by calls per household (default) or by total calls.

    ``unit="merchant"`` (末位淘汰: the merchants most complained about) ranks merchants on the
    consumer-dispute calls attributed to them in the observed months (``category=
    "consumer_dispute"``; ``season`` None or a window the run covers, e.g. the tourist season
    ``("07-01", "08-31")``).

    Examples
    --------
    >>> HistoryHotspot().season
    ('11-15', '04-05')
    """

    def __init__(self, category: str | Sequence[str] | None = "heating",
                 season: Any = HEATING_SEASON, shrink: bool = False,
                 per_household: bool = True) -> None:  # fmt: skip
        self.category = category
        self.season = season
        self.shrink = bool(shrink)
        self.per_household = bool(per_household)

    units = ("household", "estate", "grid", "district", "pair", "merchant")

    def decide(self, obs: Observation, unit: str, model: Any = None) -> np.ndarray:
        if unit != "merchant":
            return super().decide(obs, unit, model)
        if self.category != "consumer_dispute" or obs.merchant_calls is None:
            raise ValueError("HistoryHotspot ranks merchants with category='consumer_dispute' "
                             "on the calls attributed to merchants (model.merchant_calls)")
        mc = obs.merchant_calls.rename(month="time")
        if mc.sizes["time"] == 0:
            return rank(np.zeros(mc.sizes["merchant"]))
        try:
            tl = treatment_list(mc, budget=1.0, cost=1.0, efficacy=1.0, unit="merchant",
                                season=self.season, shrink=self.shrink)  # fmt: skip
        except ValueError as err:
            raise ValueError(f"HistoryHotspot: {err}; pass season=None (all history) or a "
                             "window the run covers") from None
        expected = tl["expected_calls"].sortby("merchant").values.astype(np.float64)
        return rank(np.nan_to_num(expected, nan=0.0))

    def household_scores(self, obs: Observation) -> np.ndarray:
        cats = _categories(obs, self.category)
        if obs.household_calls is not None and self.season is None:
            return obs.household_calls.sel(category=cats).sum("category").values.astype(float)
        est = _estate_history(obs, cats, self.season, self.shrink, type(self).__name__)
        size = obs.estates["households"].values.astype(np.float64)
        return (est / np.maximum(size, 1))[obs.households["estate"].values]


def _age_band(age: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    return np.searchsorted(np.asarray(edges, dtype=np.float64), age, side="right")


class HouseholdRisk(Policy):
    """A count model on observable covariates: empirical-Bayes rates per covariate cell.

    Cells are combinations of district, estate age band, heating-system age band and central
    heating, and, when the observation holds calls per household, the "边角顶底" flags (edge,
    corner, top, bottom: SEED_BRIEF.md case 1 found trouble-prone flats by them). Each cell's
    rate (calls per household over the history window) is shrunk towards the city mean by
    :func:`predgov.target.shrink_rates` (gamma–Poisson, exposure = households), so a thin cell
    borrows from the rest. A household's score is its cell's rate; its own history is not used
    (that is :class:`HistoryHotspot`). Without calls per household (today's ``CityModel``) the
    flags cannot be learnt from estate totals: their relative risks come from
    ``position_risk`` (an assumption the caller states; default none, all 1).

    Parameters
    ----------
    category
        Category code(s) (default ``"heating"``).
    season
        History window of the estate calls (as :class:`HistoryHotspot`); calls per household
        are cumulative (all history).
    age_edges, system_age_edges
        Band edges (years) of estate age and heating-system age.
    position_risk
        Relative risk per flag (``{"edge": 1.3, "top": 1.5, ...}``, multiplied for flats
        with several flags) used when calls per household are not observed.
    per_household
        See :class:`HistoryHotspot`.

    Examples
    --------
    >>> HouseholdRisk().age_edges
    (10.0, 20.0, 30.0)
    """

    def __init__(self, category: str | Sequence[str] | None = "heating",
                 season: Any = HEATING_SEASON, age_edges: Sequence[float] = (10.0, 20.0, 30.0),
                 system_age_edges: Sequence[float] = (10.0, 20.0, 30.0),
                 position_risk: dict[str, float] | None = None,
                 per_household: bool = True) -> None:  # fmt: skip
        self.category = category
        self.season = season
        self.age_edges = tuple(float(x) for x in age_edges)
        self.system_age_edges = tuple(float(x) for x in system_age_edges)
        self.position_risk = dict(position_risk or {})
        bad = [k for k in self.position_risk if k not in ("edge", "corner", "top", "bottom")]
        if bad:
            raise ValueError(f"position_risk: unknown flags {bad} (edge, corner, top, bottom)")
        self.per_household = bool(per_household)

    def _cells(self, obs: Observation, with_flags: bool) -> np.ndarray:
        e, h = obs.estates, obs.households
        parts = [e["district_index"].values, _age_band(e["age"].values, self.age_edges),
                 _age_band(e["system_age"].values, self.system_age_edges),
                 e["central_heating"].values.astype(np.int64)]  # fmt: skip
        est_of = h["estate"].values
        cols = [p[est_of] for p in parts]
        if with_flags:
            cols += [h[f].values.astype(np.int64) for f in ("edge", "corner", "top", "bottom")]
        table = pd.DataFrame(np.stack(cols, axis=1))
        return table.groupby(list(table.columns), sort=True).ngroup().to_numpy()

    def household_scores(self, obs: Observation) -> np.ndarray:
        cats = _categories(obs, self.category)
        with_flags = obs.household_calls is not None
        cell = self._cells(obs, with_flags)
        n_cells = int(cell.max()) + 1 if len(cell) else 0
        exposure = np.bincount(cell, minlength=n_cells).astype(np.float64)
        if with_flags:
            y = obs.household_calls.sel(category=cats).sum("category").values.astype(float)
        else:
            est = obs.estate_calls.sel(category=cats)
            if est.sizes["week"] == 0:
                return np.zeros(obs.households.sizes["household"])
            est_calls = _estate_history(obs, cats, self.season, False, type(self).__name__)
            size = obs.estates["households"].values.astype(np.float64)
            y = (est_calls / np.maximum(size, 1))[obs.households["estate"].values]
        calls = np.bincount(cell, weights=y, minlength=n_cells)
        rate = shrink_rates(calls, exposure).rate
        score = rate[cell]
        if not with_flags:
            for flag, rr in self.position_risk.items():
                score = np.where(obs.households[flag].values, score * float(rr), score)
        return score


class ForecastDriven(Policy):
    """Next season's forecast of each district, shared out by each estate's share of history.

    ``predgov.forecast.make_forecaster(model_name)`` is fitted on the observed daily calls of
    ``category`` per district (days before ``t``) with the calendar and the temperature
    normals as regressors (never the run's weather), and predicts ``horizon`` days. An
    estate's expected calls are the district's forecast total times the estate's share of the
    district's observed estate calls (plus ``prior`` calls spread over the district's
    households in proportion to size, so estates without history are not zero).

    Parameters
    ----------
    category
        One category code (default ``"heating"``).
    horizon
        Days forecast after ``t`` (default 240: a summer decision covers the next heating
        season).
    model_name
        Name for ``predgov.forecast.make_forecaster`` (default ``"default"``).
    prior
        Pseudo-calls per district spread by households.
    per_household
        See :class:`HistoryHotspot`.
    forecaster_params
        Keyword arguments of the forecaster.

    Examples
    --------
    >>> ForecastDriven().horizon
    240
    """

    def __init__(self, category: str = "heating", horizon: int = 240,
                 model_name: str = "default", prior: float = 1.0, per_household: bool = True,
                 forecaster_params: dict[str, Any] | None = None) -> None:  # fmt: skip
        if not isinstance(category, str):
            raise ValueError(f"category must be one category code, got {category!r}")
        if not 1 <= int(horizon) <= LOOKAHEAD_DAYS:
            raise ValueError(f"horizon must be 1..{LOOKAHEAD_DAYS} days (the calendar an "
                             f"observation holds), got {horizon!r}")
        self.category = category
        self.horizon = int(horizon)
        self.model_name = model_name
        self.prior = float(prior)
        self.per_household = bool(per_household)
        self.forecaster_params = dict(forecaster_params or {})

    def district_forecast(self, obs: Observation) -> np.ndarray:
        """Forecast calls per district over the ``horizon`` days from ``t``."""
        from predgov.forecast import make_forecaster

        counts = obs.counts.sel(category=self.category)
        n_d = counts.sizes["district"]
        if counts.sizes["time"] < 14:
            return np.zeros(n_d)
        reg = obs.calendar.assign(temperature=obs.climate)
        reg = reg[[v for v in reg.data_vars if reg[v].dims == ("time",)]]
        fc = make_forecaster(self.model_name, **self.forecaster_params)
        fc.fit(counts, regressors=reg)
        pred = fc.predict(self.horizon, regressors=reg)
        mean = pred["mean"].transpose("time", "district").sel(district=counts["district"])
        return np.nan_to_num(mean.sum("time").values.astype(np.float64), nan=0.0)

    def household_scores(self, obs: Observation) -> np.ndarray:
        _categories(obs, self.category)
        est = obs.estates
        d_of = est["district_index"].values
        size = est["households"].values.astype(np.float64)
        calls = obs.estate_calls.sel(category=self.category).sum("week").values.astype(float)
        n_d = obs.counts.sizes["district"]
        d_size = np.bincount(d_of, weights=size, minlength=n_d)
        weight = calls + self.prior * size / np.maximum(d_size, 1)[d_of]
        share = weight / np.maximum(np.bincount(d_of, weights=weight, minlength=n_d), 1e-300)[d_of]
        expected = share * self.district_forecast(obs)[d_of]
        return (expected / np.maximum(size, 1))[obs.households["estate"].values]


class Oracle(Policy):
    """The true latent risk: an **upper bound** on targeting, never a default.

    Reads the model's latent state, which no hotline sees, to rank units by the risk a
    treatment can act on:

    * ``heating``: the clogging part of each household's hazard, ``a_d / xbar_d * pos_h *
      clog_h ** clog_power`` x its household multiplier (outside the heating season with the
      coming season's year of sludge added), which flushing removes; the system part
      (air locks, pressure tests) is left out;
    * ``neighbour_dispute``: per pair, tension decayed to day ``t`` plus one x the pair's
      event rate (a household: the sum over pairs it complains in);
    * ``consumer_dispute``: per merchant ``(1 - quality) ** 2`` x its multiplier;
    * noise categories: per source its intensity x multipliers; per household the estate's
      current exposure in the category;
    * other (background) categories: latent (never called-in) cases per household.

    Parameters
    ----------
    category
        One category code (default ``"heating"``).
    per_household
        See :class:`HistoryHotspot`.

    Examples
    --------
    >>> Oracle.upper_bound
    True
    """

    upper_bound = True
    units = UNITS

    def __init__(self, category: str = "heating", per_household: bool = True) -> None:
        self.category = category
        self.per_household = bool(per_household)

    def select(self, model: Any, t: int, unit: str) -> np.ndarray:
        _check_unit(unit, self.units)
        procs = model.process_by_name
        cat = self.category
        if unit == "merchant":
            if cat != "consumer_dispute" or "consumer" not in procs:
                raise ValueError("Oracle ranks merchants for category 'consumer_dispute' only")
            con = procs["consumer"]
            q = con.merchants.quality
            return rank((1 - q) ** 2 * con.multipliers["merchant"].values)
        if unit == "source":
            if not cat.startswith("noise") or "noise" not in procs:
                raise ValueError("Oracle ranks sources for noise categories only")
            nz = procs["noise"]
            src = nz.sources
            mine = np.array([c == cat for c in np.array(nz.categories)[nz.source_cat[src.kind]]])
            w = src.intensity * nz.multipliers["intensity"].values * mine
            return rank(w)
        if unit == "pair" and cat == "neighbour_dispute" and "neighbour" in procs:
            return rank(self._pair_risk(model, t))
        estates, households = register(model)  # the registers only: no need for observe()
        return _rank_units(households, estates.sizes["estate"],
                           len(model.households.district_names), unit,
                           self.oracle_scores(model, t), self.per_household, model)  # fmt: skip

    def _pair_risk(self, model: Any, t: int) -> np.ndarray:
        nb = model.process_by_name["neighbour"]
        day = int(model.day_numbers[0]) + int(t)
        decayed = nb.tension * np.exp(-nb.params.decay * np.maximum(day - nb.last_event, 0))
        rate = nb.rates.mean(axis=0)[nb.kind] * nb.multipliers["pair"].values
        return (decayed + 1.0) * rate

    def oracle_scores(self, model: Any, t: int) -> np.ndarray:
        """The latent risk per household at day index ``t`` (see the class docstring)."""
        procs = model.process_by_name
        hh = model.households
        cat = self.category
        if cat == "heating" and "heating" in procs:
            ht = procs["heating"]
            p = ht.params
            clog = hh.clog.astype(np.float64)
            if t < len(model.dates) and not model.in_heating_season[t]:
                clog = 1 - (1 - clog) * np.exp(-hh.clog_rate.astype(np.float64))
            level = ht.level_clog.max(axis=0)[hh.district]
            mult = ht.multipliers["household"].values
            return ht.central * level * ht.pos * clog ** p.clog_power * mult
        if cat == "neighbour_dispute" and "neighbour" in procs:
            nb = procs["neighbour"]
            return np.bincount(nb.complainant, weights=self._pair_risk(model, t),
                               minlength=len(hh))  # fmt: skip
        if cat.startswith("noise") and "noise" in procs:
            nz = procs["noise"]
            c = list(nz.categories).index(cat)
            return nz.cur_exposure[hh.estate, c] * hh.occupants
        from predgov.sim.cases import LATENT  # here: predgov.sim may import predgov.target

        c = model.cases
        j = model.categories.index(cat)
        sel = (c.status == LATENT) & c.active & (c.category == j) & (c.hh >= 0)
        return np.bincount(c.hh[sel], minlength=len(hh)).astype(np.float64)


__all__ = [
    "POLICY",
    "UNITS",
    "ForecastDriven",
    "HistoryHotspot",
    "HouseholdRisk",
    "Oracle",
    "Policy",
    "Random",
    "Reactive",
    "from_households",
    "n_units",
    "rank",
]
