"""predgov.sim: agent-based city simulation of hotline complaints (DESIGN.md, "Simulation").

Households are numpy arrays held by grid agents; departments are Mesa agents; processes
(heating, neighbour disputes, consumer disputes, noise, background) separate occurrence from
reporting from handling; every draw comes from a (seed, process, day) keyed stream, so runs
with and without an intervention share their randomness.

Examples
--------
>>> ds = run_scenario({"scale": 0.001, "start": "2025-11-15", "end": "2025-11-16"})
>>> ds["counts"].attrs["units"]
'requests'
"""

from predgov.sim.departments import Department, HandlingParams
from predgov.sim.grids import Grid
from predgov.sim.households import Households, build_households
from predgov.sim.interventions import (
    AlertDispatch,
    CapacityBoost,
    Intervention,
    MediationNetwork,
    MerchantElimination,
    NullIntervention,
    PipeFlushing,
    ProactiveVisits,
    SourceControl,
)
from predgov.sim.model import PROCESSES, CityModel, SimParams
from predgov.sim.places import Place
from predgov.sim.processes.background import BackgroundParams
from predgov.sim.processes.base import Multiplier
from predgov.sim.processes.consumer import ConsumerParams
from predgov.sim.processes.heating import HeatingParams
from predgov.sim.processes.neighbour import NeighbourParams
from predgov.sim.processes.noise import NoiseParams
from predgov.sim.reference import ReferenceCityModel, simulate_reference
from predgov.sim.scenario import run_scenario, simulate, summarise, to_dataset

__all__ = [
    "PROCESSES",
    "AlertDispatch",
    "BackgroundParams",
    "CapacityBoost",
    "CityModel",
    "ConsumerParams",
    "Department",
    "Grid",
    "HandlingParams",
    "HeatingParams",
    "Households",
    "Intervention",
    "MediationNetwork",
    "MerchantElimination",
    "Multiplier",
    "NeighbourParams",
    "NoiseParams",
    "NullIntervention",
    "PipeFlushing",
    "Place",
    "ProactiveVisits",
    "ReferenceCityModel",
    "SimParams",
    "SourceControl",
    "build_households",
    "run_scenario",
    "simulate",
    "simulate_reference",
    "summarise",
    "to_dataset",
]
