"""The reference model (one Mesa agent per household) against the fast model.

The agreement test runs both models over 30 seeds on the same small town (two districts,
~4,000 households, 33 days from just before the heating season starts) and compares per-seed
totals per category with Welch t-tests and a Bonferroni threshold (``agreement``). Occurrence
rates are raised (heating and noise x4, neighbour escalation x4, consumer disputes x3) so that
every process gives enough cases, and queues, chasing calls and failed visits matter; the
mechanics are the same at any rate.
"""

import dataclasses as dc

import mesa
import numpy as np
import pytest
import xarray as xr

from predgov.sim import ReferenceCityModel, SimParams, run_scenario
from predgov.sim.reference import HouseholdAgent, ReferenceDepartment, agreement

P = SimParams()
STRESS = dc.replace(
    P,
    heating=dc.replace(P.heating, rate=P.heating.rate * 4),
    noise=dc.replace(P.noise, rate_traffic=P.noise.rate_traffic * 4,
                     rate_construction=P.noise.rate_construction * 4,
                     rate_social=P.noise.rate_social * 4),
    neighbour=dc.replace(P.neighbour, escalate=P.neighbour.escalate * 4),
    consumer=dc.replace(P.consumer, dispute=P.consumer.dispute * 3),
)
TOWN = {"scale": 0.006, "districts": ["市南", "平度"], "start": "2025-11-08",
        "end": "2025-12-10", "params": STRESS}
SEEDS = list(range(30))
TINY = {"scale": 0.002, "districts": ["市南"], "start": "2025-11-12", "end": "2025-11-30"}


@pytest.fixture(scope="module")
def runs():
    fast = run_scenario(TOWN, seeds=SEEDS)
    ref = run_scenario(TOWN, seeds=SEEDS, model_class=ReferenceCityModel)
    return fast, ref


def test_reference_agrees_with_fast_model(runs):
    fast, ref = runs
    assert fast.attrs["households"] == ref.attrs["households"] > 3000
    table = agreement(fast, ref, alpha=0.01)
    tested = set(table.loc[table["variable"] == "counts", "category"])
    assert {"heating", "neighbour_dispute", "consumer_dispute", "noise_social",
            "property_mgmt"} <= tested
    assert len(table) > 50
    assert not table["reject"].any(), table[table["reject"]].to_string()
    # the daily means are not only statistically but also practically close
    heat = table.set_index(["variable", "category"]).loc[("counts", "heating")]
    assert heat["mean_a"] > 50 and abs(heat["mean_b"] / heat["mean_a"] - 1) < 0.15


def test_agreement_check_detects_a_changed_rate(runs):
    _, ref = runs
    wrong = dc.replace(STRESS, heating=dc.replace(STRESS.heating, rate=STRESS.heating.rate * 1.3))
    fast_wrong = run_scenario({**TOWN, "params": wrong}, seeds=SEEDS)
    table = agreement(fast_wrong, ref, alpha=0.01)
    flagged = table[table["reject"]]
    assert ("counts", "heating") in set(zip(flagged["variable"], flagged["category"], strict=True))
    assert set(flagged["category"]) == {"heating"}


def test_same_output_schema_as_fast_model(runs):
    fast, ref = runs
    assert set(fast.data_vars) == set(ref.data_vars)
    for v in fast.data_vars:
        assert fast[v].dims == ref[v].dims and fast[v].dtype == ref[v].dtype, v
    assert set(fast.coords) == set(ref.coords)
    xr.testing.assert_identical(fast["category"], ref["category"])
    assert ref.attrs["source"] == "predgov.sim.ReferenceCityModel"


def test_same_seed_same_output_and_seeds_differ():
    a = run_scenario({**TINY, "seed": 3}, model_class=ReferenceCityModel)
    b = run_scenario({**TINY, "seed": 3}, model_class=ReferenceCityModel)
    xr.testing.assert_identical(a, b)
    c = run_scenario({**TINY, "seed": 4}, model_class=ReferenceCityModel)
    assert not a["problems"].equals(c["problems"])


def test_invariants_and_mesa_structure():
    m = ReferenceCityModel(**{**TINY, "params": STRESS})
    m.run()
    assert isinstance(m, mesa.Model)
    assert len(m.agents_by_type[HouseholdAgent]) == len(m.households)
    assert len(m.agents_by_type[ReferenceDepartment]) >= 10
    r = {k: v.sum(axis=0) for k, v in m.record.items()}
    for v in m.record.values():
        assert (v >= 0).all()
    assert (r["calls"] == r["reported"] + r["repeat_calls"]).all()
    assert (r["resolved"] <= r["reported"]).all()
    # quiet background problems of the initial latent stock may be reported during the run
    assert (r["reported"] <= r["problems"] + m.initial_latent).all()
    assert (r["satisfied"] <= r["rated"]).all()
    hh = list(m.agents_by_type[HouseholdAgent])
    assert all(-3 <= e <= 3 for a in hh for e in a.experience)
    assert all(0 <= a.clog <= 1 for a in hh)
    # one open problem per household and explicit process at most
    for a in hh:
        procs = [pb.process for pb in a.problems if pb.process != 5]
        assert len(procs) == len(set(procs))
    assert len(m.datacollector.get_model_vars_dataframe()) == len(m.dates)


def test_refuses_big_towns_and_interventions():
    from predgov.sim import NullIntervention

    with pytest.raises(ValueError, match="max_households"):
        ReferenceCityModel(scale=0.01, start="2025-11-15", end="2025-11-15")
    with pytest.raises(ValueError, match="reactive"):
        ReferenceCityModel(**TINY, interventions=[NullIntervention()])


def test_agreement_handles_constant_samples():
    zeros = np.zeros((5, 1, 1, 1), np.int64)
    ds = xr.Dataset({"counts": (("seed", "time", "district", "category"), zeros)},
                    coords={"category": ["x"]})
    assert agreement(ds, ds, ["counts"]).empty
    ones = ds.copy(deep=True)
    ones["counts"][:] = 1
    assert agreement(ones, ones, ["counts"])["p"].iloc[0] == 1.0
    assert agreement(ones, ones + 1, ["counts"])["reject"].iloc[0]
