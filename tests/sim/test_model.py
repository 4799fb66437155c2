import mesa
import numpy as np
import pytest

from predgov.sim import CityModel, Department, Grid
from predgov.sim.cases import CLOSED


@pytest.fixture(scope="module")
def model():
    m = CityModel(scale=0.004, start="2025-10-20", end="2026-01-10")
    m.run()
    return m


def test_mesa_structure(model):
    assert isinstance(model, mesa.Model)
    grids = model.agents_by_type[Grid]
    assert sum(g.n_households for g in grids) == len(model.households)
    depts = model.agents_by_type[Department]
    assert len(depts) == len({d.name for d in depts}) >= 10
    assert all(d.capacity >= 1 for d in depts)
    assert len(model.datacollector.get_model_vars_dataframe()) == len(model.dates)


def test_invariants(model):
    r = model.record
    for v in r.values():
        assert (v >= 0).all()
    total = {k: v.sum(axis=0) for k, v in r.items()}
    assert (total["calls"] >= total["reported"]).all()  # calls >= distinct reported problems
    assert (total["calls"] == total["reported"] + total["repeat_calls"]).all()
    assert (total["resolved"] <= total["reported"]).all()
    assert (total["satisfied"] <= total["rated"]).all()
    assert (total["reported"] <= total["problems"] + model.initial_latent).all()
    cum = {k: v.sum(axis=(1, 2)).cumsum() for k, v in r.items()}
    assert (cum["resolved"] <= cum["reported"]).all()


def test_every_problem_is_accounted_for(model):
    # problems + the initial latent stock = absorbed + reported + unreported + still latent
    total = {k: v.sum(axis=0) for k, v in model.record.items()}
    assert model.initial_latent.sum() > 0  # quiet background problems from before the run
    np.testing.assert_array_equal(
        total["problems"] + model.initial_latent,
        total["absorbed"] + total["reported"] + total["unreported"] + model.latent_open())
    assert total["unreported"].sum() > 0


def test_state_stays_valid(model):
    hh = model.households
    assert ((hh.clog >= 0) & (hh.clog <= 1)).all()
    assert ((hh.experience >= -3) & (hh.experience <= 3)).all()
    assert (hh.experience != 0).any()
    c = model.cases
    assert (c.status != CLOSED).all()
    assert (c.n_calls >= 0).all()
    # the household "open problem" bits match the open cases
    mine = (c.hh >= 0) & (c.process <= 4)
    bits = np.zeros(len(hh), np.uint8)
    np.bitwise_or.at(bits, c.hh[mine], (1 << c.process[mine].astype(np.uint8)).astype(np.uint8))
    np.testing.assert_array_equal(bits, hh.active)


def test_all_processes_produce_calls(model):
    totals = model.record["calls"].sum(axis=(0, 1))
    names = ("heating", "neighbour_dispute", "consumer_dispute", "noise_social")
    assert (totals[[model.categories.index(c) for c in names]] > 0).all()


def test_step_after_end_raises():
    m = CityModel(scale=0.001, start="2025-11-15", end="2025-11-15")
    m.run()
    with pytest.raises(RuntimeError, match="over"):
        m.step()


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown processes"):
        CityModel(scale=0.001, start="2025-11-15", end="2025-11-15", processes=["weather"])
    with pytest.raises(ValueError, match="before start"):
        CityModel(scale=0.001, start="2025-11-15", end="2025-11-14")


def test_a_deep_copy_of_a_running_model_keeps_recording():
    """A copy made mid-run (policies and tests copy models) records its own days."""
    import copy

    model = CityModel(scale=0.002, start="2025-11-10", end="2025-12-20", seed=1)
    for _ in range(10):
        model.step()
    twin = copy.deepcopy(model)
    for _ in range(10):
        model.step()
        twin.step()
    np.testing.assert_array_equal(twin.record["problems"], model.record["problems"])
    assert twin.record["problems"][10:20].sum() > 0
