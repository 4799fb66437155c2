"""predgov.target: where to act before the season — the off-season treatment list.

* :func:`treatment_list`: ranked units with expected calls averted, cost and the cumulative
  budget (greedy knapsack on calls averted per unit cost), from a real or simulated cube and
  optionally a forecast; history rates shrunk towards the group mean by default;
* :func:`treatment_table`: the same list as a publishable table (small counts withheld);
* :func:`shrink_rates`: the empirical-Bayes gamma–Poisson shrinkage it uses;
* :func:`season_window`: which periods a season window ("last heating season") covers.

Targeting policies inside the simulation (issue 10 §3) are planned here too.
"""

from predgov.target.publish import treatment_table
from predgov.target.shrink import Shrunk, shrink_rates
from predgov.target.treatment import treatment_list
from predgov.target.window import Window, season_window

__all__ = [
    "Shrunk",
    "Window",
    "season_window",
    "shrink_rates",
    "treatment_list",
    "treatment_table",
]
