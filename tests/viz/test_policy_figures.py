"""The effects figure of policy experiments: panels, labels in both languages, the oracle
drawn as an upper bound, and a clear error on input that is not ``compare`` output."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

from predgov.sim.experiment import compare
from predgov.viz.policy_figures import effects_figure, policy_label


def _effects(with_cost: bool = True) -> xr.Dataset:
    rng = np.random.default_rng(0)
    base = rng.poisson(50, size=(1, 2, 6, 10)).astype(float)
    arms = base - rng.integers(0, 4, size=(2, 2, 6, 10))  # random, oracle
    calls = np.concatenate([base, arms])
    data = {"calls": (("policy", "budget", "seed", "time"), calls)}
    if with_cost:
        cost = np.zeros_like(calls)
        cost[1:, :, :, 0] = [[100.0], [200.0]]
        data["intervention_cost_total"] = (("policy", "budget", "seed", "time"), cost)
    ds = xr.Dataset(data, coords={"policy": ["reactive", "random", "oracle"],
                                  "budget": [100.0, 200.0]})  # fmt: skip
    return compare(ds, n_boot=50)


def test_effects_figure_draws_each_policy_against_the_budget():
    eff = _effects()
    fig = effects_figure(eff, lang="en", date="2026-04-05", scale=0.05)
    ax, ax2 = fig.axes[:2]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["random", "oracle (upper bound)"]
    lines = [ln for ln in ax.get_lines() if ln.get_label() in ("random", "oracle (upper bound)")]
    np.testing.assert_allclose(lines[0].get_ydata(),
                               eff["calls_averted_median"].sel(policy="random").values)
    assert lines[1].get_linestyle() == "--"  # the oracle is an upper bound, drawn dashed
    assert [t.get_text() for t in ax.get_xticklabels()] == ["100", "200"]
    np.testing.assert_allclose(ax2.get_lines()[0].get_ydata(),
                               eff["cost_per_averted_call"].sel(policy="random").values)
    assert "1/20 of the households" in fig.get_suptitle()
    plt.close(fig)


@pytest.mark.parametrize("lang", ["zh", "both"])
def test_effects_figure_labels_in_chinese(lang):
    fig = effects_figure(_effects(), lang=lang, date="2026-04-05")
    title = fig.axes[0].get_title(loc="left")
    assert "避免的来电" in title and (("Calls averted" in title) == (lang == "both"))
    assert policy_label("oracle", lang).startswith("全知上限")
    plt.close(fig)


def test_effects_figure_without_costs_has_one_panel():
    fig = effects_figure(_effects(with_cost=False), lang="en", date="2026-04-05")
    assert len(fig.axes) == 1
    plt.close(fig)


def test_effects_figure_refuses_other_input():
    with pytest.raises(ValueError, match="calls_averted_median"):
        effects_figure(xr.Dataset(), lang="en")
