"""predgov.target: where to act before the season — the off-season treatment list.

* :func:`treatment_list`: ranked units with expected calls averted, cost and the cumulative
  budget (greedy knapsack on calls averted per unit cost), from a real or simulated cube and
  optionally a forecast; history rates shrunk towards the group mean by default;
* :func:`treatment_table`: the same list as a publishable table (small counts withheld);
* :func:`shrink_rates`: the empirical-Bayes gamma–Poisson shrinkage it uses;
* :func:`season_window`: which periods a season window ("last heating season") covers;
* targeting policies inside the simulation (issue 10 §3, :mod:`predgov.target.policies`):
  :class:`Reactive`, :class:`Random`, :class:`HistoryHotspot`, :class:`HouseholdRisk`,
  :class:`ForecastDriven` and :class:`Oracle` (an upper bound), each deciding from
  :func:`observe` (what the hotline has seen: :class:`Observation`), never latent state.
"""

from predgov.target.observation import Observation, observe
from predgov.target.policies import (
    ForecastDriven,
    HistoryHotspot,
    HouseholdRisk,
    Oracle,
    Policy,
    Random,
    Reactive,
)
from predgov.target.publish import treatment_table
from predgov.target.shrink import Shrunk, shrink_rates
from predgov.target.treatment import treatment_list
from predgov.target.window import Window, season_window

__all__ = [
    "ForecastDriven",
    "HistoryHotspot",
    "HouseholdRisk",
    "Observation",
    "Oracle",
    "Policy",
    "Random",
    "Reactive",
    "Shrunk",
    "Window",
    "observe",
    "season_window",
    "shrink_rates",
    "treatment_list",
    "treatment_table",
]
