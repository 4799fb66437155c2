import dataclasses as dc

import numpy as np
import pytest
from scipy import stats

from predgov.sim import SimParams, run_scenario
from predgov.sim.calibrate import calibrate, get_param, nb_loglik, nb_size, set_param

TOWN = {"scale": 0.01, "districts": ["市南", "市北"], "start": "2025-11-10",
        "end": "2026-01-31", "processes": ["heating"]}
TRUE_RATE = 3 * SimParams().heating.rate


def _target(rate: float, seeds=(10, 11, 12)):
    """Observed cube simulated with a known rate (households = the simulated households)."""
    p = set_param(SimParams(), "heating.rate", rate)
    ds = run_scenario({**TOWN, "params": p}, seeds=list(seeds))
    counts = ds["counts"].sum("seed")  # three seeds' worth of a town: a 3x larger town
    return counts.assign_coords(households=3 * ds["sim_households"]).to_dataset(name="counts")


@pytest.fixture(scope="module")
def target():
    return _target(TRUE_RATE)


@pytest.mark.parametrize("method", ["ratio", "nelder-mead"])
def test_recovers_a_known_heating_rate(target, method):
    start = set_param(SimParams(), "heating.rate", 1.8 * TRUE_RATE)
    fit = calibrate({**TOWN, "params": start}, target, params=["heating.rate"], seeds=[0, 1],
                    method=method, ratio_steps=3 if method == "ratio" else 1, maxfev=12)
    assert fit.values["heating.rate"] == pytest.approx(TRUE_RATE, rel=0.1)
    assert fit.loglik > fit.loglik_start
    vol = fit.volume.loc["heating"]
    assert abs(vol["ratio"] - 1) < 0.1 and vol["simulated_start"] > 1.4 * vol["observed"]
    assert get_param(fit.params, "heating.rate") == fit.values["heating.rate"]
    assert fit.summary().loc["heating.rate", "ratio"] < 0.7
    shares = fit.district_shares.xs("heating", level="category")
    assert shares["observed"].sum() == pytest.approx(1.0)
    assert len(fit.history) >= 2


def test_repeat_share_term_and_reporting_parameter(target):
    fit = calibrate({**TOWN, "params": set_param(SimParams(), "heating.rate", TRUE_RATE)},
                    target, params={"heating.reporting.recall": (("heating",), 1.0)},
                    seeds=[0], ratio_steps=1, repeat_share={"heating": 0.1})
    assert fit.repeat_share.loc["heating", "observed"] == 0.1
    assert 0 < fit.repeat_share.loc["heating", "simulated"] < 1


def test_param_paths_and_errors(target):
    p = set_param(SimParams(), "consumer.reporting.end", 0.5)
    assert get_param(p, "consumer.reporting.end") == 0.5
    assert dc.replace(p, consumer=SimParams().consumer) == SimParams()
    with pytest.raises(KeyError, match="no parameter"):
        set_param(SimParams(), "heating.nope", 1.0)
    with pytest.raises(ValueError, match="method"):
        calibrate(TOWN, target, params=["heating.rate"], seeds=[0], method="annealing")
    with pytest.raises(ValueError, match="households"):
        calibrate(TOWN, target["counts"].drop_vars("households"), seeds=[0])


def test_nb_likelihood_matches_scipy_and_size_is_recovered():
    y, mu, size = np.array([0, 2, 7, 30]), np.array([1.0, 3.0, 5.0, 25.0]), 4.0
    p = size / (size + mu)
    assert nb_loglik(y, mu, size) == pytest.approx(stats.nbinom.logpmf(y, size, p).sum())
    rng = np.random.default_rng(1)
    mu = np.full(5000, 15.0)
    assert nb_size(rng.poisson(mu * rng.gamma(3.0, 1 / 3.0, mu.shape)), mu) == pytest.approx(
        3.0, rel=0.2)
