"""Ground truth for the impact estimators: paired runs of the agent-based city (issue 12).

A *validation case* is one seed of a scenario run twice with the same seed (common random
numbers, as ``predgov.sim.experiment.run_experiment`` runs a baseline and an arm): once
without and once with an intervention. Both runs share every draw of the processes, so they
are identical before the intervention starts, and the true effect of the intervention is their
difference, per unit and week:

    true_effect = counts(treated world) - counts(baseline world).

The estimator sees only what an analyst would: the treated world's cube (weekly calls per
estate, ``estate_calls``), the treated estates, the start date and weather covariates; the
baseline world is the answer key. Cases (issue 12, "Validation on ground truth"):

``flush_warm``, ``flush_cold``
    ``PipeFlushing`` (冬病夏治, SEED_BRIEF.md case 1) of the estates with the oldest heating
    systems (up to ``share`` of the centrally heated households), 1 Sep - 31 Oct 2025, before
    a winter whose temperature is shifted by +``shift`` / -``shift`` °C (1 Nov 2025 - 30 Apr
    2026, ``ShiftedWinterCity``): a warm winter alone cuts heating calls, a cold one raises
    them, so the raw year-on-year change mixes weather and treatment.
``noise_ban``
    ``SourceControl`` (night-work ban and intensity cuts, the 青铁公园里 task force,
    SEED_BRIEF.md case 4) of the noise sources reaching 青铁公园里 from 1 July 2025; treated
    units are every estate within the noise radius of a controlled source (their exposure
    falls). The seed's "49 in H1 -> 15 in H2" is the naive first-half vs second-half figure,
    which mixes the ban with the summer peak of noise.
``flush_rtm``
    ``PipeFlushing`` of the estates with the most heating calls per household in the
    2024-25 season (the seed's practice of mining last season's 44,000 calls), natural weather:
    estates picked on a high season fall back by themselves (regression to the mean).

Every case covers one heating season (or a full year for noise) before the start and the
season (half-year) after it, weekly, each week Monday-Sunday inside the run. Only the
case's own process runs (``processes=("heating",)`` or ``("noise",)``; ``processes=None`` runs
the whole city, about ten times slower): the other processes never touch these calls.

``seed_setting`` applies the same machinery to the seed's heating story (≈ 3,000 households of
old estates flushed, warm or cold next winter) and gives the city-wide raw YoY next to the
truth.

Examples
--------
>>> case = make_case("flush_warm", seed=0, scale=0.005)
>>> case.counts.dims, case.counts.sizes["time"] > 52
(('time', 'estate'), True)
>>> bool((case.true_effect.sel(time=slice(None, "2025-08-31")) == 0).all())
True
>>> case.true_total < 0
True
"""

from __future__ import annotations

import math
import time as _time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from predgov.data.calendar import calendar
from predgov.sim.interventions import Intervention, PipeFlushing, SourceControl
from predgov.sim.interventions.sources import sources_reaching
from predgov.sim.model import CityModel
from predgov.sim.scenario import simulate

#: Case names, in the benchmark's order.
CASES = ("flush_warm", "flush_cold", "noise_ban", "flush_rtm")
#: Flushing window (the off-season before the 2025-26 heating season).
FLUSH_START, FLUSH_END = "2025-09-01", "2025-10-31"
#: Runs of the heating cases: Monday 2 Sep 2024 (before the 2024-25 season) to Sunday 5 Apr
#: 2026 (the 2025-26 season's last day).
HEATING_RUN = ("2024-09-02", "2026-04-05")
#: Heating seasons (Mondays of the weeks holding their days) for the raw year-on-year figure.
SEASON_BEFORE = ("2024-11-11", "2025-03-31")
SEASON_AFTER = ("2025-11-10", "2026-03-30")
#: The weather shift of the warm / cold winter cases.
WINTER = ("2025-11-01", "2026-04-30")
#: Noise: the ban starts on 1 Jul 2025; the run covers a year before and the half-year after.
BAN_START = "2025-07-01"
NOISE_RUN = ("2024-07-01", "2025-12-28")
#: First half (Mondays 30 Dec 2024 .. 23 Jun 2025) and second half (30 Jun .. 22 Dec 2025).
HALF_BEFORE = ("2024-12-30", "2025-06-23")
HALF_AFTER = ("2025-06-30", "2025-12-22")
#: Cost of flushing one household (yuan; as in ``benchmarks/policy_sweep.py``).
UNIT_COST = 200.0
#: Households the heating company reached at 鲁瑞苑 (SEED_BRIEF.md case 1, full city).
SEED_HOUSEHOLDS = 3_000


class ShiftedWinterCity(CityModel):
    """``CityModel`` whose daily temperature is shifted by ``temperature_shift`` °C on the days
    ``shift_start..shift_end`` (a warm or cold winter); everything else is ``CityModel``.

    The shift is applied to the run seed's weather before the processes are built, so the
    heating hazard (``processes.heating``: ``1 + gamma * max(0, t0 - T)``) sees it, and the
    output's ``temperature`` coordinate records it.

    Examples
    --------
    >>> m = ShiftedWinterCity(temperature_shift=3.0, shift_start="2025-11-16",
    ...                       scale=0.001, start="2025-11-15", end="2025-11-16",
    ...                       processes=["heating"])
    >>> ref = CityModel(scale=0.001, start="2025-11-15", end="2025-11-16", processes=["heating"])
    >>> (m.temperature - ref.temperature).round(6).tolist()
    [0.0, 3.0]
    """

    def __init__(self, *, temperature_shift: float = 0.0, shift_start: object = None,
                 shift_end: object = None, **kwargs: Any) -> None:  # fmt: skip
        if not math.isfinite(float(temperature_shift)):
            raise ValueError(f"temperature_shift must be a finite number, got {temperature_shift}")
        self._shift = (float(temperature_shift),
                       None if shift_start is None else pd.Timestamp(shift_start),
                       None if shift_end is None else pd.Timestamp(shift_end))  # fmt: skip
        super().__init__(**kwargs)

    @property
    def temperature(self) -> np.ndarray:
        """Daily mean temperature (°C), shifted on the winter's days."""
        return self._temperature

    @temperature.setter
    def temperature(self, value: np.ndarray) -> None:
        shift, lo, hi = self._shift
        on = np.ones(len(self.dates), bool)
        if lo is not None:
            on &= self.dates >= lo
        if hi is not None:
            on &= self.dates <= hi
        self._temperature = np.asarray(value, np.float64) + shift * on


@dataclass(frozen=True)
class ValidationCase:
    """One seed of a validation scenario: what the estimator sees and the answer key.

    Attributes
    ----------
    name, seed
        Case name (``CASES``) and run seed.
    counts
        Observed cube of the treated world: weekly calls ``(time, estate)`` (``time`` = the
        Monday starting the week; every week lies inside the run), with the estates'
        ``households`` as a coordinate (an exposure a rate model may use).
    baseline
        The same cube in the world without the intervention (same seed: common random numbers).
    treated
        Labels (``estate`` coordinate values) of the treated estates.
    start
        First treated period: the Monday of the week holding the intervention's first day.
    covariates
        Weekly covariates over ``time`` that the intervention cannot change: ``temperature``
        (mean °C), ``heating_season`` (share of the week's days in the heating season) and
        ``cold`` (mean over the week of ``max(0, 10 - T)`` on heating-season days: heating
        degree-days at base 10 °C).
    naive_before, naive_after
        First and last Monday of the two windows of the raw comparison (year on year for
        heating, first vs second half for noise).
    info
        What was done (intervention, targeting, scenario), for the report.
    """

    name: str
    seed: int
    counts: xr.DataArray
    baseline: xr.DataArray
    treated: np.ndarray
    start: pd.Timestamp
    covariates: xr.Dataset
    naive_before: tuple[str, str]
    naive_after: tuple[str, str]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def true_effect(self) -> xr.DataArray:
        """Paired difference treated - baseline world, per week and estate (calls)."""
        out = self.counts - self.baseline
        out.attrs = {"long_name": "true effect: treated minus baseline world (same seed)",
                     "units": "requests"}  # fmt: skip
        return out

    @property
    def post(self) -> xr.DataArray:
        """Weeks from ``start`` on (bool over ``time``)."""
        return self.counts["time"] >= np.datetime64(self.start)

    @property
    def is_treated(self) -> xr.DataArray:
        """Treated estates (bool over ``estate``)."""
        return self.counts["estate"].isin(self.treated)

    @property
    def true_total(self) -> float:
        """True effect summed over the post-period and the treated estates (calls)."""
        return float(self.true_effect.where(self.post & self.is_treated, 0).sum())

    @property
    def spillover_total(self) -> float:
        """True effect on the *untreated* estates over the post-period (through shared
        departments, or exposure the treated set does not cover); small when the treated set
        is right."""
        return float(self.true_effect.where(self.post & ~self.is_treated, 0).sum())

    @property
    def counterfactual_total(self) -> float:
        """Baseline-world calls of the treated estates over the post-period."""
        return float(self.baseline.where(self.post & self.is_treated, 0).sum())

    def window_total(self, cube: xr.DataArray, window: tuple[str, str]) -> float:
        """Calls of the treated estates in ``cube`` over the weeks of ``window`` (Mondays)."""
        return float(cube.sel(time=slice(*window)).where(self.is_treated, 0).sum())

    @property
    def naive_effect(self) -> float:
        """The raw comparison on the treated estates, in calls: after-window total minus
        before-window total (year on year for heating, H2 - H1 for noise)."""
        return (self.window_total(self.counts, self.naive_after)
                - self.window_total(self.counts, self.naive_before))  # fmt: skip

    @property
    def naive_relative(self) -> float:
        """The raw comparison as a relative change (what the seed's articles report)."""
        before = self.window_total(self.counts, self.naive_before)
        return self.naive_effect / before if before else math.nan

    def to_dataset(self) -> xr.Dataset:
        """The case as one Dataset (cubes, true effect, treated mask, covariates, totals)."""
        ds = xr.Dataset({"counts": self.counts, "baseline": self.baseline,
                         "true_effect": self.true_effect, "treated": self.is_treated,
                         **self.covariates.data_vars})  # fmt: skip
        ds.attrs = {"case": self.name, "seed": self.seed, "start": str(self.start.date()),
                    "true_total": self.true_total, "naive_effect": self.naive_effect,
                    **{k: str(v) for k, v in self.info.items()}}  # fmt: skip
        return ds


# ---------------------------------------------------------------------- building blocks
def paired_runs(scenario: dict[str, Any], interventions: Sequence[Intervention], seed: int,
                model_class: type[CityModel] = CityModel
                ) -> tuple[xr.Dataset, xr.Dataset]:  # fmt: skip
    """The baseline and the treated run of one seed (the same seed: common random numbers).

    This is one seed of ``predgov.sim.experiment.run_experiment``'s design (its baseline and
    one arm); done here directly so that a case can choose its targets from the baseline's
    pre-period (the two runs are identical before the start) and keep ``estate_calls``.

    Examples
    --------
    >>> base, treat = paired_runs({"scale": 0.001, "start": "2025-11-15",
    ...                            "end": "2025-11-20"}, [], seed=1)
    >>> bool((base["estate_calls"] == treat["estate_calls"]).all())
    True
    """
    base = simulate(model_class, seed=int(seed), **scenario)
    treat = simulate(model_class, seed=int(seed), interventions=list(interventions), **scenario)
    return base, treat


def weekly_covariates(temperature: xr.DataArray) -> xr.Dataset:
    """Weekly covariates from a daily temperature series (see ``ValidationCase.covariates``).

    Weeks start on Monday; the series should start on a Monday and end on a Sunday.

    Examples
    --------
    >>> days = pd.date_range("2025-11-10", "2025-11-23")
    >>> cov = weekly_covariates(xr.DataArray(np.full(14, 4.0), coords={"time": days},
    ...                                      dims="time"))
    >>> cov["heating_season"].values.round(3).tolist(), cov["cold"].values.round(3).tolist()
    ([0.286, 1.0], [1.714, 6.0])
    """
    days = pd.DatetimeIndex(temperature["time"].values)
    season = calendar((days[0], days[-1], "D"), "qingdao")["heating_season"].values
    temp = np.asarray(temperature.values, np.float64)
    cold = np.where(season, np.maximum(0.0, 10.0 - temp), 0.0)
    monday = days - pd.to_timedelta(days.day_of_week, unit="D")
    frame = pd.DataFrame({"temperature": temp, "heating_season": season.astype(float),
                          "cold": cold}, index=monday).groupby(level=0).mean()  # fmt: skip
    frame.index.name = "time"
    ds = xr.Dataset.from_dataframe(frame)
    ds["temperature"].attrs = {"long_name": "weekly mean temperature", "units": "degC"}
    ds["heating_season"].attrs = {"long_name": "share of the week's days in the heating season",
                                  "units": "1"}  # fmt: skip
    ds["cold"].attrs = {"long_name": "mean of max(0, 10 - T) over the week, heating-season "
                        "days only (heating degree-days, base 10 degC)", "units": "degC"}
    return ds


def _weekly(run: xr.Dataset, categories: Sequence[str], estates: np.ndarray) -> xr.DataArray:
    """Weekly calls per estate of ``categories`` (summed), weeks fully inside the run."""
    cube = run["estate_calls"].sel(category=list(categories)).sum("category")
    cube = cube.isel(estate=estates).astype(np.int64).rename(week="time")
    days = pd.DatetimeIndex(run["time"].values)
    full = (cube["time"] >= np.datetime64(days[0])) & (
        cube["time"] + np.timedelta64(6, "D") <= np.datetime64(days[-1]))
    cube = cube.sel(time=full)
    households = cube["estate_households"].values
    cube = cube.drop_vars([c for c in cube.coords if c not in ("time", "estate")])
    cube = cube.assign_coords(households=("estate", households, {
        "long_name": "households of the estate (exposure)", "units": "households"}))
    cube.attrs = {"long_name": f"weekly calls by the estate's households ({', '.join(categories)})",
                  "units": "requests", "freq": "W-MON"}  # fmt: skip
    cube["time"].attrs = {"long_name": "first day (Monday) of the week"}
    return cube


def _monday(day: object) -> pd.Timestamp:
    d = pd.Timestamp(day)
    return d - pd.Timedelta(days=d.day_of_week)


def _up_to_share(order: np.ndarray, sizes: np.ndarray, target: float) -> np.ndarray:
    """The first estates of ``order`` until their households reach ``target`` (at least one)."""
    cum = np.cumsum(sizes[order])
    k = int(np.searchsorted(cum, target, side="left")) + 1
    return order[: max(1, min(k, len(order)))]


def _check(seed: int, scale: float, share: float | None = None) -> None:
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed}")
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    if share is not None and not 0 < share < 1:
        raise ValueError(f"share must be in (0, 1), got {share}")


# ---------------------------------------------------------------------- the cases
def flushing_case(seed: int, *, winter: str = "normal", select: str = "oldest",
                  scale: float = 0.01, share: float = 0.2, shift: float = 2.5,
                  efficacy: float = 0.3, world_seed: int = 0,
                  processes: Sequence[str] | None = ("heating",),
                  estates: Sequence[int] | None = None, name: str | None = None,
                  ) -> ValidationCase:  # fmt: skip
    """Pre-season pipe flushing (1 Sep - 31 Oct 2025) evaluated on the 2025-26 heating season.

    Parameters
    ----------
    seed
        Run seed (weather and every draw).
    winter
        "warm" (+``shift`` °C from 1 Nov 2025 to 30 Apr 2026), "cold" (-``shift``) or
        "normal" (the seed's own weather).
    select
        "oldest": estates with the oldest heating systems (a register: no selection on
        calls); "history": the most heating calls per household in the 2024-25 season
        (regression to the mean); ignored when ``estates`` is given.
    scale
        Fraction of the city simulated.
    share
        Treated households as a share of the centrally heated households.
    efficacy
        ``PipeFlushing`` efficacy (share of a flat's clogging removed); 0.3 by default, below
        the catalogue's 0.9, so the effect (about -35 % of the treated estates' calls) is of
        the seed's order and the confounders (weather, regression to the mean) weigh.
    world_seed, processes
        ``CityModel`` arguments (default: the heating process alone).
    estates
        Flush these estates (indices) instead of selecting.
    name
        Case name (default from ``winter`` and ``select``).

    Returns
    -------
    ValidationCase
        Units: the centrally heated estates; ``counts`` = weekly heating calls.

    Examples
    --------
    >>> case = flushing_case(3, winter="cold", scale=0.005)
    >>> case.name, len(case.treated) >= 1, case.start.date().isoformat()
    ('flush_cold', True, '2025-09-01')
    """
    _check(seed, scale, share)
    if winter not in ("warm", "cold", "normal"):
        raise ValueError(f"winter must be 'warm', 'cold' or 'normal', got {winter!r}")
    if select not in ("oldest", "history"):
        raise ValueError(f"select must be 'oldest' or 'history', got {select!r}")
    temp_shift = {"warm": shift, "cold": -shift, "normal": 0.0}[winter]
    scenario: dict[str, Any] = {
        "scale": scale, "start": HEATING_RUN[0], "end": HEATING_RUN[1], "world_seed": world_seed,
        "processes": None if processes is None else list(processes),
        "temperature_shift": temp_shift, "shift_start": WINTER[0], "shift_end": WINTER[1]}
    table = CityModel(scale=scale, world_seed=world_seed, start=HEATING_RUN[0],
                      end=HEATING_RUN[0], processes=["heating"]).estate_table()  # fmt: skip
    heated = np.flatnonzero(table["central_heating"].to_numpy())
    sizes = table["households"].to_numpy()
    target = share * sizes[heated].sum()

    base = None
    if estates is not None:
        chosen = np.asarray(estates, np.int64)
        bad = chosen[~np.isin(chosen, heated)]
        if len(bad):
            raise ValueError(f"estates {bad.tolist()} have no central heating (nothing to flush)")
        how = "given"
    elif select == "oldest":
        age = table["system_age"].to_numpy()[heated]
        chosen = _up_to_share(heated[np.lexsort((heated, -age))], sizes, target)
        how = f"oldest heating systems, {share:.0%} of heated households"
    else:  # last season's calls per household: needs the baseline's pre-period
        base = simulate(ShiftedWinterCity, seed=int(seed), **scenario)
        last = base["estate_calls"].sel(category="heating", week=slice(*SEASON_BEFORE))
        rate = last.sum("week").values[heated] / sizes[heated]
        chosen = _up_to_share(heated[np.lexsort((heated, -rate))], sizes, target)
        how = f"most heating calls per household in 2024-25, {share:.0%} of heated households"
    n_hh = int(sizes[chosen].sum())
    days = len(pd.date_range(FLUSH_START, FLUSH_END))
    flush = PipeFlushing(estates=chosen.tolist(), start=FLUSH_START, end=FLUSH_END,
                         capacity=math.ceil(n_hh / (days - 14)), unit_cost=UNIT_COST,
                         efficacy=efficacy)  # fmt: skip
    if base is None:
        base = simulate(ShiftedWinterCity, seed=int(seed), **scenario)
    treat = simulate(ShiftedWinterCity, seed=int(seed), interventions=[flush], **scenario)
    counts = _weekly(treat, ["heating"], heated)
    baseline = _weekly(base, ["heating"], heated)
    cov = weekly_covariates(treat["temperature"]).sel(time=counts["time"])
    label = name or {("oldest", "warm"): "flush_warm", ("oldest", "cold"): "flush_cold",
                     ("history", "normal"): "flush_rtm"}.get((select, winter),
                                                              f"flush_{select}_{winter}")
    return ValidationCase(
        name=label, seed=int(seed), counts=counts, baseline=baseline,
        treated=np.sort(chosen), start=_monday(FLUSH_START), covariates=cov,
        naive_before=SEASON_BEFORE, naive_after=SEASON_AFTER,
        info={"intervention": "PipeFlushing", "targeting": how, "households": n_hh,
              "estates_treated": len(chosen), "estates": len(heated), "scale": scale,
              "winter_shift_degC": temp_shift, "efficacy": efficacy,
              "naive": "heating calls 2025-26 season minus 2024-25 season (year on year)"},
    )  # fmt: skip


def noise_ban_case(seed: int, *, scale: float = 0.01, world_seed: int = 0,
                   processes: Sequence[str] | None = ("noise",)) -> ValidationCase:
    """The 青铁公园里 night-work ban and intensity cuts (``SourceControl``) from 1 July 2025.

    Units: estates with any noise exposure; treated: the estates within the noise radius of a
    controlled source (``SourceControl``'s default targets: every source reaching 青铁公园里).
    ``counts`` = weekly noise calls (traffic, construction and social noise summed).

    Examples
    --------
    >>> case = noise_ban_case(0, scale=0.005)
    >>> case.start.date().isoformat(), case.info["naive"].startswith("noise calls")
    ('2025-06-30', True)
    """
    _check(seed, scale)
    scenario: dict[str, Any] = {"scale": scale, "start": NOISE_RUN[0], "end": NOISE_RUN[1],
                                "world_seed": world_seed,
                                "processes": None if processes is None else list(processes)}
    m = CityModel(scale=scale, world_seed=world_seed, start=NOISE_RUN[0], end=NOISE_RUN[0],
                  processes=["noise"])  # fmt: skip
    if "青铁公园里" not in m.places:
        raise ValueError("the city has no 青铁公园里 (西海岸新区 is not simulated)")
    noise = m.process_by_name["noise"]
    sources = sources_reaching(m, m.places["青铁公园里"].estates)
    hit = np.unique(noise.pair_estate[np.isin(noise.pair_source, sources)])
    exposed = np.flatnonzero(noise.base_exposure.sum(axis=1) > 0)
    ban = SourceControl(sources=sources.tolist(), start=BAN_START, end=BAN_START)
    base, treat = paired_runs(scenario, [ban], seed)
    cats = list(noise.categories)
    counts = _weekly(treat, cats, exposed)
    baseline = _weekly(base, cats, exposed)
    cov = weekly_covariates(treat["temperature"]).sel(time=counts["time"])
    return ValidationCase(
        name="noise_ban", seed=int(seed), counts=counts, baseline=baseline,
        treated=np.intersect1d(hit, exposed), start=_monday(BAN_START), covariates=cov,
        naive_before=HALF_BEFORE, naive_after=HALF_AFTER,
        info={"intervention": "SourceControl (night-work ban, intensity cuts)",
              "targeting": f"{len(sources)} sources reaching 青铁公园里", "scale": scale,
              "estates_treated": len(np.intersect1d(hit, exposed)), "estates": len(exposed),
              "naive": "noise calls Jul-Dec 2025 minus Jan-Jun 2025 (H2 - H1)"},
    )  # fmt: skip


#: Case name -> builder ``(seed, scale=...) -> ValidationCase``.
BUILDERS: dict[str, Callable[..., ValidationCase]] = {
    "flush_warm": lambda seed, **kw: flushing_case(seed, winter="warm", select="oldest", **kw),
    "flush_cold": lambda seed, **kw: flushing_case(seed, winter="cold", select="oldest", **kw),
    "noise_ban": noise_ban_case,
    "flush_rtm": lambda seed, **kw: flushing_case(seed, winter="normal", select="history", **kw),
}


def make_case(name: str, seed: int, **kwargs: Any) -> ValidationCase:
    """The validation case ``name`` (one of ``CASES``) for ``seed``; ``kwargs`` go to its
    builder (``scale``, ``world_seed``, ``processes``...).

    Examples
    --------
    >>> make_case("flush_hot", 0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown case 'flush_hot'; choose from ['flush_warm', 'flush_cold', ...]
    """
    if name not in BUILDERS:
        raise ValueError(f"unknown case {name!r}; choose from {list(CASES)}")
    return BUILDERS[name](seed, **kwargs)


def seed_setting(seed: int, *, winter: str = "warm", scale: float = 0.02, shift: float = 2.5,
                 households: int = SEED_HOUSEHOLDS, efficacy: float = 0.9,
                 world_seed: int = 0) -> dict[str, Any]:
    """The seed's heating story: flush ≈ ``households`` x ``scale`` households of old estates
    (鲁瑞苑 first, then the oldest heating systems; whole estates, so at least one estate)
    before a warm or cold winter (±``shift`` °C), with ``PipeFlushing``'s default efficacy 0.9.

    Returns the case and the figures an official would be shown: the city-wide raw YoY change
    of heating calls (what "−42.31 % year on year" measures), the treated estates' raw YoY, and
    the true effect (paired difference) on the treated estates and city-wide.

    Examples
    --------
    >>> out = seed_setting(0, winter="cold", scale=0.005)
    >>> out["case"].name, out["city_true_effect"] <= 0
    ('seed_cold', True)
    """
    _check(seed, scale)
    m = CityModel(scale=scale, world_seed=world_seed, start=HEATING_RUN[0], end=HEATING_RUN[0],
                  processes=["heating"])  # fmt: skip
    table = m.estate_table()
    heated = table["central_heating"].to_numpy()
    place = m.places.get("鲁瑞苑")
    first = [] if place is None else [int(e) for e in place.estates if heated[e]]
    rest = [int(e) for e in np.lexsort((table.index, -table["system_age"].to_numpy()))
            if heated[e] and int(e) not in first]  # fmt: skip
    order = np.array(first + rest, np.int64)
    chosen = _up_to_share(order, table["households"].to_numpy(), households * scale)
    # keep the scenario's share of households: 1 estate can exceed households * scale
    case = flushing_case(seed, winter=winter, scale=scale, shift=shift, world_seed=world_seed,
                         estates=chosen.tolist(), efficacy=efficacy,
                         name=f"seed_{winter}")  # fmt: skip
    city_now = float(case.counts.sel(time=slice(*SEASON_AFTER)).sum())
    city_before = float(case.counts.sel(time=slice(*SEASON_BEFORE)).sum())
    city_base = float(case.baseline.sel(time=slice(*SEASON_AFTER)).sum())
    return {
        "case": case,
        "households_flushed": int(case.info["households"]),
        "households_city": len(m.households),
        "city_yoy": (city_now - city_before) / city_before if city_before else math.nan,
        "city_true_effect": float(case.true_effect.where(case.post, 0).sum()),
        "city_true_relative": (city_now - city_base) / city_base if city_base else math.nan,
        "treated_yoy": case.naive_relative,
        "treated_true_effect": case.true_total,
        "treated_true_relative": (case.true_total / case.counterfactual_total
                                  if case.counterfactual_total else math.nan),
    }  # fmt: skip


# ---------------------------------------------------------------------- evaluation
def evaluate(case: ValidationCase, method: str = "auto", *, level: float = 0.9,
             estimator: Callable[..., xr.Dataset] | None = None) -> dict[str, Any]:
    """Run an estimator on a case and score it against the truth.

    Parameters
    ----------
    case
        A ``ValidationCase``.
    method
        Passed to the estimator (``predgov.impact.estimate``'s "auto", "its", "did", "synth").
    level
        Interval level.
    estimator
        ``estimate(counts, treated=, start=, method=, covariates=, level=, unit_dim=, seed=,
        exposure=) -> Dataset`` with scalar ``total_effect``, ``total_effect_lo``,
        ``total_effect_hi`` (default ``predgov.impact.estimate``).

    Returns
    -------
    dict
        ``case``, ``seed``, ``method``, ``true``, ``estimate``, ``lo``, ``hi``, ``covered``,
        ``naive`` (the case's raw comparison), ``naive_est`` (the estimator's own
        ``naive_effect`` when it gives one), ``counterfactual`` (baseline calls of the
        treated units), ``seconds``, ``method_used`` (the estimator's ``attrs["method"]``),
        ``interval_scale`` (its ``attrs["interval_scale"]``: the placebo-in-time widening, NaN
        when absent) and ``error`` (the message when the estimator raised; numbers are NaN
        then).
    """
    if estimator is None:
        from predgov.impact import estimate as estimator  # type: ignore[no-redef]
    row: dict[str, Any] = {"case": case.name, "seed": case.seed, "method": method,
                           "true": case.true_total, "naive": case.naive_effect,
                           "counterfactual": case.counterfactual_total}  # fmt: skip
    t0 = _time.perf_counter()
    try:
        res = estimator(case.counts, treated=case.treated, start=case.start, method=method,
                        covariates=case.covariates, level=level, unit_dim="estate",
                        seed=case.seed, exposure="households")  # fmt: skip
    except Exception as err:  # scored as a miss, reported by the benchmark
        row.update(estimate=math.nan, lo=math.nan, hi=math.nan, covered=False,
                   naive_est=math.nan, seconds=_time.perf_counter() - t0, method_used="",
                   interval_scale=math.nan, error=f"{type(err).__name__}: {err}")  # fmt: skip
        return row
    seconds = _time.perf_counter() - t0
    est, lo, hi = (float(res[k]) for k in ("total_effect", "total_effect_lo",
                                           "total_effect_hi"))  # fmt: skip
    scale = res.attrs.get("interval_scale", math.nan)
    row.update(estimate=est, lo=lo, hi=hi, covered=bool(lo <= row["true"] <= hi),
               naive_est=float(res["naive_effect"]) if "naive_effect" in res else math.nan,
               seconds=seconds, method_used=str(res.attrs.get("method", method)), error="",
               interval_scale=float(np.mean(scale)))  # fmt: skip
    return row


def score(rows: pd.DataFrame | Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Per case x method: bias, coverage, width and the raw comparison's bias over seeds.

    ``bias`` = mean(estimate - true) / |mean(true)| (relative to the true total);
    ``coverage`` = share of seeds whose interval holds the true total; ``width`` = mean
    interval width in calls and ``rel_width`` relative to |mean(true)|; ``naive_bias`` =
    mean(naive - true) / |mean(true)|; ``rmse`` relative likewise; ``seconds`` = mean seconds
    per estimate; ``failed`` = seeds where the estimator raised.

    Examples
    --------
    >>> rows = [{"case": "c", "method": "m", "seed": s, "true": -10.0, "estimate": e,
    ...          "lo": e - 5, "hi": e + 5, "naive": -20.0, "seconds": 0.1, "error": ""}
    ...         for s, e in enumerate([-12.0, -9.0])]
    >>> s = score(rows).iloc[0]
    >>> [round(float(s[k]), 3) for k in ("bias", "coverage", "naive_bias", "width")]
    [-0.05, 1.0, -1.0, 10.0]
    """
    df = pd.DataFrame(list(rows) if not isinstance(rows, pd.DataFrame) else rows)
    if df.empty:
        raise ValueError("score: no rows")
    out = []
    for (case, method), g in df.groupby(["case", "method"], sort=False):
        ok = g["error"].fillna("") == "" if "error" in g else pd.Series(True, g.index)
        scale = abs(g["true"].mean())
        scale = scale if scale > 0 else math.nan
        good = g[ok]
        err = good["estimate"] - good["true"]
        covered = (g["lo"] <= g["true"]) & (g["true"] <= g["hi"])
        out.append({
            "case": case, "method": method, "seeds": len(g), "failed": int((~ok).sum()),
            "true_mean": g["true"].mean(), "estimate_mean": good["estimate"].mean(),
            "bias": err.mean() / scale, "rmse": math.sqrt((err**2).mean()) / scale
            if len(err) else math.nan,
            "coverage": covered.mean(), "width": (good["hi"] - good["lo"]).mean(),
            "rel_width": (good["hi"] - good["lo"]).mean() / scale,
            "naive_bias": (g["naive"] - g["true"]).mean() / scale,
            "seconds": g["seconds"].mean(),
            "interval_scale": good["interval_scale"].mean() if "interval_scale" in good
            else math.nan,
        })  # fmt: skip
    return pd.DataFrame(out)
