"""Background: every category no other process produces, at the demo city's levels.

Level
    ``mu[t, d, c]`` = the demo city's noise-free ``expected`` (``predgov.data.demo_city`` with
    the *world* seed, no outbreaks) x the world's households in district ``d`` / the table's
    households, divided by ``calls_per_problem`` (1.1: the repeat calls the handling step adds
    on average, so that calls match the demo volumes): the expected *reported* problems.
Two kinds of problem
    *Prompt* problems (a burst pipe, a blocked road) are called in on their first day
    (``report`` = 50/day, ``end`` 0.05/day). *Quiet* problems (an online medical-insurance
    payment that fails, a land-rights question, old wiring in a left-behind child's home:
    SEED_BRIEF.md case 3) wait: reported at ``quiet_reporting.report`` (0.02/day) x the
    household's reporting propensity, ending by themselves at ``quiet_reporting.end``
    (0.01/day). They form the latent stock of "not-yet-reported problems" (未诉) that proactive
    visits can find; they run under their own stream key (``streams.BACKGROUND_QUIET``).
    ``quiet_share`` (0.15) of the *reported* background problems are quiet ones, so quiet
    problems occur at ``quiet_share * mu / P_d``, ``P_d`` = the mean over the district's
    households of the chance that a quiet problem is ever reported, ``q / (1 - (1 - q) *
    (1 - end))`` with ``q = 1 - exp(-report * propensity)``: the reported volume stays at the
    demo city's level (quiet reports lag by weeks). With the defaults a household of
    propensity 1 reports about two thirds of its quiet problems, one of 平度 (0.55) about half;
    a rural town of 15,422 households holds a latent quiet stock of about 40-55.
Occurrence
    New problems per (day, district, category) and kind ~ Poisson(``mu * G`` x the kind's
    share), ``G ~ Gamma(size, 1/size)`` (one per cell and day from the day stream: negative
    binomial, ``size`` 20, as the demo city's over-dispersion), drawn by keyed arrivals
    (``processes.base``). Each is given to a uniform household of the district (purpose
    PLACE); prompt ones have propensity 1, quiet ones the household's propensity. Case
    ``uid = hash(BACKGROUND, day, candidate key)``.
Initial stock
    On the run's first day, before occurrence, the latent quiet stock a run that had been going
    for ever would hold: per cell Poisson(``lambda_quiet(0) x E[w]``), ``w_h = a_h / (1 - a_h)``,
    ``a_h = (1 - q_h) (1 - end)`` (the chance of staying latent one more day), on households
    drawn in proportion to ``w_h`` (keyed thinning under the quiet stream key on the first
    day; case ``uid = hash(BACKGROUND_QUIET, day, candidate key)``), onset the day before
    the run. Counted in ``initial_latent`` (not in ``problems``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from predgov.sim import streams
from predgov.sim.cases import new_cases
from predgov.sim.processes.base import Process, ProcessParams, keyed_arrivals, uniform_index

#: Categories produced by the explicit processes; the rest are background.
EXPLICIT = ("heating", "neighbour_dispute", "consumer_dispute", "noise_traffic",
            "noise_construction", "noise_social")  # fmt: skip


@dataclass(frozen=True)
class BackgroundParams:
    """Parameters of the background process.

    Examples
    --------
    >>> BackgroundParams().size, BackgroundParams().quiet_reporting.report
    (20.0, 0.02)
    """

    size: float = 20.0
    calls_per_problem: float = 1.1
    quiet_share: float = 0.15
    reporting: ProcessParams = field(
        default_factory=lambda: ProcessParams(report=50.0, recall=0.35, end=0.05)
    )
    quiet_reporting: ProcessParams = field(
        default_factory=lambda: ProcessParams(report=0.02, recall=0.35, end=0.01)
    )


def quiet_report_chance(propensity: np.ndarray, p: BackgroundParams) -> np.ndarray:
    """Chance that a quiet problem of a household of ``propensity`` is ever reported.

    Examples
    --------
    >>> quiet_report_chance(np.array([1.0, 0.55]), BackgroundParams()).round(2).tolist()
    [0.67, 0.53]
    """
    q = -np.expm1(-p.quiet_reporting.report * np.asarray(propensity, np.float64))
    return q / (1 - (1 - q) * (1 - p.quiet_reporting.end))


def quiet_stay_weight(propensity: np.ndarray, p: BackgroundParams) -> np.ndarray:
    """``a / (1 - a)``, ``a`` = the chance a quiet problem stays latent one more day: the
    expected stock per unit occurrence rate (see the module docstring).

    Examples
    --------
    >>> float(quiet_stay_weight(np.array([1.0]), BackgroundParams())[0].round(1))
    32.8
    """
    q = -np.expm1(-p.quiet_reporting.report * np.asarray(propensity, np.float64))
    a = (1 - q) * (1 - p.quiet_reporting.end)
    return a / (1 - a)


class Background(Process):
    """Remaining categories drawn at the demo city's expected levels."""

    process = streams.BACKGROUND
    quiet_process = streams.BACKGROUND_QUIET

    def __init__(self, model, params: BackgroundParams | None = None) -> None:
        self.categories = tuple(c for c in model.categories if c not in EXPLICIT)
        super().__init__(model)
        self.params = p = params or BackgroundParams()
        if not 0 <= p.quiet_share <= 1:
            raise ValueError(f"background.quiet_share must be in [0, 1], got {p.quiet_share}")
        hh = model.households
        expected = model.demo_expected.sel(category=list(self.categories))
        expected = expected.transpose("time", "district", "category").values
        table_hh = model.demo_expected["households"].values.astype(np.float64)
        world_hh = (hh.district_stop - hh.district_start).astype(np.float64)
        self.mu = expected * (world_hh / table_hh)[None, :, None] / p.calls_per_problem
        n_d = len(world_hh)
        n_hh = np.maximum(world_hh, 1)
        chance = quiet_report_chance(hh.propensity, p)
        self.quiet_chance = np.bincount(hh.district, weights=chance, minlength=n_d) / n_hh
        weight = quiet_stay_weight(hh.propensity, p)
        self.stay_mean = np.bincount(hh.district, weights=weight, minlength=n_d) / n_hh
        self.stay_max = float(weight.max()) if len(weight) else 1.0
        # Per (district, category) cell: the share of each kind (prompt, quiet) in mu * G.
        quiet = p.quiet_share / np.where(self.quiet_chance > 0, self.quiet_chance, 1.0)
        self.kind_factor = np.concatenate([np.full(n_d, 1 - p.quiet_share), quiet])
        n_cells = self.mu[0].size
        self._cells = np.arange(n_cells)
        self._n_cat = self.mu.shape[2]
        self._unit_key = np.arange(2 * n_cells)  # prompt cells, then quiet cells
        self.initial_latent = np.zeros(self.mu.shape[1:], np.int64)

    def reporting_params(self) -> dict[int, ProcessParams]:
        """Prompt and quiet problems report by their own parameters."""
        return {self.process: self.params.reporting,
                self.quiet_process: self.params.quiet_reporting}  # fmt: skip

    def _cases(self, key: int, day: int, onset: int, unit: np.ndarray, uid: np.ndarray,
               who: np.ndarray) -> list[dict[str, Any]]:  # fmt: skip
        """Case blocks (prompt, quiet) of candidates on ``unit`` cells given to ``who``; case
        uid ``hash(key, day, candidate uid)``."""
        hh = self.model.households
        n_cells = len(self._cells)
        quiet = unit >= n_cells
        cell = unit % n_cells
        d, c = np.divmod(cell, self._n_cat)
        out = []
        for is_quiet in (False, True):
            k = (quiet == is_quiet).nonzero()[0]
            if len(k) == 0:
                continue
            w = who[k]
            out.append(new_cases(
                broadcast=False, uid=streams.hash_key(key, day, uid[k]),
                process=self.quiet_process if is_quiet else self.process,
                category=self.cat_index[c[k]], district=d[k], hh=w, onset=onset,
                patience=hh.patience[w], propensity=hh.propensity[w] if is_quiet else 1.0,
            ))  # fmt: skip
        return out

    def _household(self, d: np.ndarray, u: np.ndarray) -> np.ndarray:
        hh = self.model.households
        return hh.district_start[d] + uniform_index(u, hh.district_stop[d] - hh.district_start[d])

    def initial_stock(self, t: int) -> list[dict[str, Any]]:
        """The quiet latent stock at the start of the run (see the module docstring)."""
        m, p = self.model, self.params
        day = int(m.day_numbers[t])
        n_cells = len(self._cells)
        lam_q = (self.mu[t] * self.kind_factor[len(self.kind_factor) // 2:, None]).ravel()
        lam = lam_q * self.stay_max
        unit, uid = keyed_arrivals(m.seed, self.quiet_process, day, self._unit_key[:n_cells],
                                   lam)  # fmt: skip
        if len(unit) == 0:
            return []
        d = unit // self._n_cat
        who = self._household(d, streams.keyed_uniform(m.seed, self.quiet_process, day, uid,
                                                       streams.PLACE))  # fmt: skip
        u = streams.keyed_uniform(m.seed, self.quiet_process, day, uid, streams.ACCEPT)
        ok = u * self.stay_max < quiet_stay_weight(m.households.propensity[who], p)
        unit, uid, who = unit[ok], uid[ok], who[ok]
        np.add.at(self.initial_latent.reshape(-1), unit, 1)
        return self._cases(self.quiet_process, day, day - 1, unit + n_cells, uid, who)

    def occur(self, t: int) -> list[dict[str, Any]] | None:
        m, p = self.model, self.params
        day = int(m.day_numbers[t])
        out = self.initial_stock(t) if t == 0 else []
        rng = m.day_streams.rng(self.process, day)
        mu = self.mu[t]
        g = rng.gamma(p.size, 1.0 / p.size, mu.shape)
        lam = (mu * g)[None, :, :] * self.kind_factor.reshape(2, -1)[:, :, None]
        unit, uid = keyed_arrivals(m.seed, self.process, day, self._unit_key, lam.ravel())
        if len(unit):
            d = (unit % len(self._cells)) // self._n_cat
            who = self._household(d, streams.keyed_uniform(m.seed, self.process, day, uid,
                                                           streams.PLACE))  # fmt: skip
            out += self._cases(self.process, day, day, unit, uid, who)
        return out or None
