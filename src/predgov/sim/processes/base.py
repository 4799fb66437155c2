"""What every process shares: reporting parameters, the process interface, thinning draws.

A process has three jobs, called by the model in this order each day: ``occur`` (new latent
cases), ``end`` (problems that stop by themselves; the generic rule is a daily probability
``ProcessParams.end`` per active case, keyed uniform purpose SELF_END, applied by the model), and
``on_resolved`` (what a successful visit changes in the world). Reporting and handling are
shared (``predgov.sim.reporting``, ``predgov.sim.departments``).

Occurrence uses *thinning* so that common random numbers survive interventions: for a unit (grid
or estate) of ``n`` households and a per-household daily hazard bounded by ``h_max`` (a bound no
intervention can raise), the number of candidates is Poisson(``n * h_max``) from the process's
day stream; each candidate is a uniform household of the unit, accepted with probability
``h / h_max`` (its current hazard over the bound) when it has no open problem of this process.
This is an exact draw of the per-household Poisson process, and the number of draws never
depends on state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from predgov.sim.model import CityModel


@dataclass(frozen=True)
class ProcessParams:
    """Reporting behaviour shared by all processes (daily rates, see ``predgov.sim.reporting``).

    Examples
    --------
    >>> ProcessParams().report
    0.3
    """

    report: float = 0.3  # first-call hazard per day at propensity 1
    chase: float = 0.3  # chasing call per day once the wait exceeds patience
    recall: float = 0.4  # call again per day after a failed visit, once patience ran out
    give_up: float = 0.15  # stop calling per day after a failed visit (when not recalling)
    end: float = 0.05  # the problem stops by itself, per day


class Process:
    """Base class: one cause of complaints. Subclasses set ``process`` and ``categories``."""

    process: int = -1
    categories: tuple[str, ...] = ()
    params: Any

    def __init__(self, model: CityModel) -> None:
        self.model = model
        self.cat_index = np.array([model.categories.index(c) for c in self.categories])

    def occur(self, t: int) -> dict[str, Any] | list[dict[str, Any]] | None:
        """New latent cases on day index ``t``: columns for ``Cases.add`` (``new_cases``), or
        a list of such blocks (added in order), or None when there are none."""
        return None

    def end(self, t: int) -> None:
        """Process-specific ends of problems (beyond the generic daily probability)."""

    def on_resolved(self, idx: np.ndarray) -> None:
        """Effect of successful visits on cases ``idx`` (indices into ``model.cases``)."""


def thinning_candidates(
    rng: np.random.Generator, start: np.ndarray, n: np.ndarray, rate: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate households of units ``[start, start + n)`` at per-household rate ``rate``.

    Returns the household indices, their unit index and one acceptance uniform each; the draws
    depend only on ``n`` and ``rate`` (never on state).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> hh, unit, u = thinning_candidates(rng, np.array([0, 10]), np.array([10, 5]),
    ...                                   np.array([0.5, 0.0]))
    >>> bool(((hh >= 0) & (hh < 10)).all()), bool((unit == 0).all())
    (True, True)
    """
    counts = rng.poisson(n * rate)
    unit = np.repeat(np.arange(len(n)), counts)
    pos = np.floor(rng.random(len(unit)) * n[unit]).astype(np.int64)
    u = rng.random(len(unit))
    return start[unit] + pos, unit, u


def first_unique(hh: np.ndarray) -> np.ndarray:
    """Mask keeping the first occurrence of each household (one new problem per day).

    Examples
    --------
    >>> first_unique(np.array([3, 1, 3])).tolist()
    [True, True, False]
    """
    n = len(hh)
    if n < 2:
        return np.ones(n, bool)
    order = np.argsort(hh, kind="stable")  # equal keys keep their order: the first comes first
    sorted_hh = hh[order]
    first = np.empty(n, bool)
    first[0] = True
    np.not_equal(sorted_hh[1:], sorted_hh[:-1], out=first[1:])
    keep = np.empty(n, bool)
    keep[order] = first
    return keep
