"""No leakage: targeting policies decide from what the hotline has seen, never latent state.

A small city runs through a heating season (burn-in: call history), then every non-oracle
policy decides on day ``t``. Shuffling every latent array of a deep copy (clogging, neighbour
tension, merchant quality, source intensity, the open and latent cases, households'
reporting propensity, patience and experience, the run's future weather) must leave their
decisions unchanged, while the oracle's (which reads them) change, so the test can fail. A
second test checks that ``observe`` holds nothing from day ``t`` on.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from predgov.sim.model import CityModel
from predgov.target.observation import observe
from predgov.target.policies import (
    ForecastDriven,
    HistoryHotspot,
    HouseholdRisk,
    Oracle,
    Random,
    Reactive,
)

DECISION = "2025-08-01"


def _run_to(days_after: int = 0) -> tuple[CityModel, int]:
    m = CityModel(scale=0.004, start="2024-11-01", end="2025-12-31", seed=3)
    t = int(np.flatnonzero(m.dates == pd.Timestamp(DECISION))[0])
    for _ in range(t + days_after):
        m.step()
    return m, t


@pytest.fixture(scope="module")
def city() -> tuple[CityModel, int]:
    m, t = _run_to()
    assert m.estate_calls[:, :, m.categories.index("heating")].sum() > 20  # history to go on
    return m, t


def _policies():
    return {
        "reactive": Reactive(),
        "random": Random(seed=5),
        "history": HistoryHotspot(),
        "history_shrunk": HistoryHotspot(shrink=True, season=None),
        "history_noise": HistoryHotspot(category="noise_social", season=None),
        "risk": HouseholdRisk(position_risk={"top": 1.5}),
        "forecast": ForecastDriven(horizon=200),
        "history_merchant": HistoryHotspot(category="consumer_dispute", season=None),
    }


UNITS = ("household", "estate", "grid", "district", "pair", "merchant")
#: Policies that rank merchants (on calls attributed to them).
MERCHANT_RANKERS = ("reactive", "random", "history_merchant")


def _decisions(m: CityModel, t: int) -> dict[tuple[str, str], np.ndarray]:
    out = {}
    for name, pol in _policies().items():
        for unit in UNITS:
            if unit in pol.units and (unit != "merchant" or name in MERCHANT_RANKERS):
                out[name, unit] = pol.select(m, t, unit)
    return out


def _oracles(m: CityModel, t: int) -> dict[str, np.ndarray]:
    return {
        "heating_household": Oracle().select(m, t, "household"),
        "heating_estate": Oracle().select(m, t, "estate"),
        "neighbour_pair": Oracle("neighbour_dispute").select(m, t, "pair"),
        "consumer_merchant": Oracle("consumer_dispute").select(m, t, "merchant"),
        "noise_source": Oracle("noise_traffic").select(m, t, "source"),
        "background_household": Oracle("water_supply").select(m, t, "household"),
    }


def _shuffle(a: np.ndarray, rng: np.random.Generator) -> None:
    """Permute ``a`` in place along its first axis (flattened for 1-d)."""
    if a.size > 1:
        a[...] = rng.permutation(a)


def _shuffle_latent(m: CityModel, t: int, rng: np.random.Generator) -> None:
    hh = m.households
    for arr in (hh.clog, hh.clog_rate, hh.propensity, hh.patience, hh.experience, hh.active):
        _shuffle(arr, rng)
    hh.estates.clog_rate[:] = rng.permutation(hh.estates.clog_rate)
    procs = m.process_by_name
    nb = procs["neighbour"]
    _shuffle(nb.tension, rng)
    _shuffle(nb.last_event, rng)
    _shuffle(procs["consumer"].merchants.quality, rng)
    nz = procs["noise"]
    _shuffle(nz.sources.intensity, rng)
    _shuffle(nz.cur_exposure, rng)
    c = m.cases
    for col in ("hh", "src", "status", "active", "onset", "n_calls", "category", "district",
                "propensity", "patience"):
        _shuffle(getattr(c, col), rng)
    # the run's weather from day t on, and what the processes derived from it
    for arr in (m.temperature, procs["heating"].cold, procs["heating"].level_clog,
                procs["heating"].level_system, procs["heating"].lam):
        _shuffle(arr[t:], rng)


def test_shuffling_latent_state_leaves_non_oracle_decisions_unchanged(city):
    m, t = city
    before = _decisions(m, t)
    oracle_before = _oracles(m, t)
    shuffled = copy.deepcopy(m)
    _shuffle_latent(shuffled, t, np.random.default_rng(0))
    after = _decisions(shuffled, t)
    assert before.keys() == after.keys() and len(before) >= 25
    for key, order in before.items():
        np.testing.assert_array_equal(order, after[key], err_msg=f"{key} leaked latent state")
    # non-trivial decisions: history differs from random and covers every unit
    assert len(before["history", "estate"]) == len(m.households.estates)
    assert not np.array_equal(before["history", "estate"], before["random", "estate"])
    assert len(before["reactive", "estate"]) == 0
    if m.merchant_calls[:, :].sum():  # merchants ranked on their calls, not in index order
        assert not np.array_equal(before["history_merchant", "merchant"],
                                  np.arange(len(before["history_merchant", "merchant"])))
    # the oracle reads latent state, so the same shuffle moves it: this test can fail
    oracle_after = _oracles(shuffled, t)
    for key, order in oracle_before.items():
        assert not np.array_equal(order, oracle_after[key]), f"oracle {key} did not move"


def test_observe_holds_nothing_from_the_decision_day_on(city):
    m, t = city
    obs = observe(m, t)
    later, _ = _run_to(days_after=40)  # the same city, gone on: new calls, new weeks
    obs_later = observe(later, t)
    assert obs.counts.sizes["time"] == t
    assert pd.Timestamp(obs.counts["time"].values[-1]) < pd.Timestamp(DECISION)
    weeks = pd.DatetimeIndex(obs.estate_calls["week"].values)
    assert (weeks + pd.Timedelta(days=7) <= pd.Timestamp(DECISION)).all()
    assert obs.counts.equals(obs_later.counts)
    assert obs.estate_calls.equals(obs_later.estate_calls)
    if obs.merchant_calls is not None:
        assert obs.merchant_calls.equals(obs_later.merchant_calls)
        months = pd.DatetimeIndex(obs.merchant_calls["month"].values)
        assert (months + pd.offsets.MonthBegin(1) <= pd.Timestamp(DECISION)).all()
    assert later.record["calls"][t:].sum() > 0  # there was something to leak
    # decisions at t are the same after the model ran on
    for name, pol in _policies().items():
        for unit in ("estate", "household"):
            np.testing.assert_array_equal(pol.select(m, t, unit), pol.select(later, t, unit),
                                          err_msg=f"{name} {unit} saw days after t")  # fmt: skip
    # the observation carries no weather of the run, only normals
    assert "temperature" not in obs.calendar
    assert not np.isin(m.temperature, obs.climate.values).any()


def test_observe_refuses_days_not_simulated_yet(city):
    m, t = city
    with pytest.raises(ValueError, match="simulated only"):
        observe(m, t + 1)
