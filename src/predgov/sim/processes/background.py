"""Background: every category no other process produces, at the demo city's levels.

Level
    ``mu[t, d, c]`` = the demo city's noise-free ``expected`` (``predgov.data.demo_city`` with
    the *world* seed, no outbreaks) x the world's households in district ``d`` / the table's
    households, divided by ``calls_per_problem`` (1.1: the repeat calls the handling step adds
    on average, so that calls match the demo volumes).
Occurrence
    New problems per (day, district, category) ~ Poisson(``mu * G``), ``G ~ Gamma(size,
    1/size)`` (negative binomial, ``size`` 20, as the demo city's over-dispersion). Each is
    given to a uniform household of the district (repeat calls then use its patience). Case
    ``uid = hash(BACKGROUND, day, district, category, k)``.
Reporting
    Background problems are drawn as reported problems: ``report`` = 50/day, so each is
    called in on its first day (their unreported share is not modelled); ``end`` 0.05/day.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from predgov.sim import streams
from predgov.sim.cases import new_cases
from predgov.sim.processes.base import Process, ProcessParams

#: Categories produced by the explicit processes; the rest are background.
EXPLICIT = ("heating", "neighbour_dispute", "consumer_dispute", "noise_traffic",
            "noise_construction", "noise_social")  # fmt: skip


@dataclass(frozen=True)
class BackgroundParams:
    """Parameters of the background process.

    Examples
    --------
    >>> BackgroundParams().size
    20.0
    """

    size: float = 20.0
    calls_per_problem: float = 1.1
    reporting: ProcessParams = field(
        default_factory=lambda: ProcessParams(report=50.0, recall=0.35, end=0.05)
    )


class Background(Process):
    """Remaining categories drawn at the demo city's expected levels."""

    process = streams.BACKGROUND

    def __init__(self, model, params: BackgroundParams | None = None) -> None:
        self.categories = tuple(c for c in model.categories if c not in EXPLICIT)
        super().__init__(model)
        self.params = p = params or BackgroundParams()
        hh = model.households
        expected = model.demo_expected.sel(category=list(self.categories))
        expected = expected.transpose("time", "district", "category").values
        table_hh = model.demo_expected["households"].values.astype(np.float64)
        world_hh = (hh.district_stop - hh.district_start).astype(np.float64)
        self.mu = expected * (world_hh / table_hh)[None, :, None] / p.calls_per_problem
        self._cells = np.arange(self.mu[0].size)  # (district, category) cells, flat

    def occur(self, t: int) -> dict[str, np.ndarray] | None:
        m, p = self.model, self.params
        hh = m.households
        day = int(m.day_numbers[t])
        rng = m.day_streams.rng(self.process, day)
        mu = self.mu[t]
        g = rng.gamma(p.size, 1.0 / p.size, mu.shape)
        counts = rng.poisson(mu * g).ravel()
        flat = np.repeat(self._cells, counts)
        d, c = np.divmod(flat, mu.shape[1])
        n_d = hh.district_stop[d] - hh.district_start[d]
        who = hh.district_start[d] + np.floor(rng.random(len(d)) * n_d).astype(np.int64)
        if len(who) == 0:
            return None
        return new_cases(
            broadcast=False,
            uid=streams.hash_key(self.process, day, flat, np.arange(len(flat))),
            process=self.process, category=self.cat_index[c], district=d, hh=who, onset=day,
            patience=hh.patience[who], propensity=1.0,
        )  # fmt: skip
