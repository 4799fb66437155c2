"""Intervention catalogue (issue 10, section 2): delivery, effect and targeting kept apart.

``base.Intervention`` does the delivery (dates or a trigger, capacity as a number, schedule or
callable, budget, compliance, delay, repeat visits, daily eligibility) and asks a targeting rule
(an object with ``select(model, t, unit)``, an array or a callable); each subclass is an effect,
with the seed figure it mirrors and its assumptions in its docstring:

* ``PipeFlushing`` (``flushing``): flush radiators by estate or household (冬病夏治, case 1);
* ``SourceControl`` (``sources``): night-work bans and intensity cuts on noise sources (the
  青铁公园里 task force, case 4);
* ``ProactiveVisits`` (``visits``): cadres visit households, find latent problems, defuse
  neighbour tension (田庄镇, case 3);
* ``MediationNetwork`` (``mediation``): on-the-spot mediation of member merchants' disputes
  (the 中山路 "1+6+N" network, case 2);
* ``MerchantElimination`` (``elimination``): merchants with the highest observed complaint
  counts leave or improve (末位淘汰, case 2);
* ``CapacityBoost`` (``capacity``): extra staff for a department over a period (case 1);
* ``AlertDispatch`` (``dispatch``): the live 日调度日分析 loop, ``predgov.warn.detect`` on the
  simulated calls, inspectors to alarmed district/category cells (case 1);
* ``NullIntervention`` (``base``): nothing (tests of common random numbers).

Examples
--------
>>> from predgov.sim import run_scenario
>>> ds = run_scenario({"scale": 0.001, "start": "2025-09-01", "end": "2025-09-03"},
...                   interventions=[PipeFlushing([0, 1], capacity=5, unit_cost=200.0)])
>>> ds["intervention_treated"].sum().item(), ds["intervention_cost"].sum().item()
(15, 3000.0)
"""

from predgov.sim.interventions.base import (
    UNITS,
    Intervention,
    NullIntervention,
    TargetingRule,
    draw_efficacy,
    n_units,
    resolve_targets,
)
from predgov.sim.interventions.capacity import CapacityBoost
from predgov.sim.interventions.dispatch import AlertDispatch
from predgov.sim.interventions.elimination import MerchantElimination
from predgov.sim.interventions.flushing import PipeFlushing
from predgov.sim.interventions.mediation import MediationNetwork
from predgov.sim.interventions.sources import SourceControl
from predgov.sim.interventions.visits import ProactiveVisits

__all__ = [
    "UNITS",
    "AlertDispatch",
    "CapacityBoost",
    "Intervention",
    "MediationNetwork",
    "MerchantElimination",
    "NullIntervention",
    "PipeFlushing",
    "ProactiveVisits",
    "SourceControl",
    "TargetingRule",
    "draw_efficacy",
    "n_units",
    "resolve_targets",
]
