"""The three-panel impact figure: what each panel draws (against the estimate's own numbers),
labels in both languages, small counts never drawn at their value, reproducible files."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from predgov.impact import estimate
from predgov.viz import save_figure
from predgov.viz.impact_figures import NEEDED, impact_figure, method_label


@pytest.fixture(scope="module")
def est() -> xr.Dataset:
    """A real estimate: 6 weekly NB-ish series, unit ``u0`` loses 40 % from week 40."""
    rng = np.random.default_rng(3)
    t = pd.date_range("2024-01-01", periods=60, freq="W-MON")
    season = 1 + 0.3 * np.sin(2 * np.pi * np.arange(60) / 52)
    lam = 40 * season[:, None] * rng.uniform(0.7, 1.3, 6)[None, :]
    lam[40:, 0] *= 0.6
    counts = xr.DataArray(rng.poisson(lam), dims=("time", "estate"),
                          coords={"time": t, "estate": [f"u{i}" for i in range(6)]})
    counts["time"].attrs["freq"] = "W-MON"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimate(counts, treated=["u0"], start=t[40], method="its")


def _line(ax, label: str):
    return next(ln for ln in ax.get_lines() if ln.get_label() == label)


def test_the_panels_draw_the_estimate(est):
    fig = impact_figure(est, lang="en", date="2025-03-01")
    ax1, ax2, ax3 = fig.axes
    assert [ax.get_title(loc="left") for ax in fig.axes] == [
        "Observed and counterfactual calls", "Pointwise effect", "Cumulative effect"]
    observed = est["observed"].sum("estate").values
    np.testing.assert_allclose(_line(ax1, "observed calls").get_ydata(), observed)
    cf = _line(ax1, "counterfactual (expected without the action)").get_ydata()
    np.testing.assert_allclose(cf, est["counterfactual"].sum("estate").values)
    # the pointwise effect is observed minus counterfactual
    np.testing.assert_allclose(ax2.get_lines()[0].get_ydata(), observed - cf)
    # the cumulative effect starts at the first treated week and ends at the total effect
    cum = ax3.get_lines()[0]
    assert pd.Timestamp(cum.get_xdata()[0]) == pd.Timestamp(est["time"].values[40])
    assert cum.get_ydata()[-1] == pytest.approx(float(est["total_effect"]))
    assert cum.get_ydata()[-1] == pytest.approx((observed - cf)[40:].sum())
    # the band of the cumulative effect ends at the total's interval
    band = ax3.collections[0].get_paths()[0].vertices[:, 1]
    assert np.isclose(band, float(est["total_effect_lo"])).any()
    assert np.isclose(band, float(est["total_effect_hi"])).any()
    headline = fig.get_suptitle()
    total = float(est["total_effect"])
    assert f"total effect {total:+,.0f} calls (90 % interval" in headline
    assert "interrupted time series" in headline
    assert "naive" in headline and "(not an effect estimate)" in headline
    plt.close(fig)


@pytest.mark.parametrize("lang", ["zh", "both"])
def test_labels_in_chinese(est, lang):
    fig = impact_figure(est, lang=lang, date="2025-03-01")
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles[0].startswith("实际来电与反事实") and "累计效果" in titles[2]
    assert ("Cumulative effect" in titles[2]) == (lang == "both")
    assert "总效果" in fig.get_suptitle() and "不是效果估计" in fig.get_suptitle()
    assert "中断时间序列" in fig.get_suptitle()
    plt.close(fig)


def test_small_counts_are_not_drawn_at_their_value(est):
    """Weeks with 1..4 observed calls: a grey tick at min_count, no counterfactual or effect
    there, and the cumulative effect stops before the first such post week."""
    small = est.copy(deep=True)
    obs = small["observed"].values
    obs[[5, 45], 0] = [3.0, 2.0]
    fig = impact_figure(small, lang="en", date="2025-03-01", min_count=5)
    ax1, ax2, ax3 = fig.axes
    drawn = _line(ax1, "observed calls").get_ydata()
    assert np.isnan(drawn[[5, 45]]).all() and np.isfinite(np.delete(drawn, [5, 45])).all()
    tick = _line(ax1, "<5 (withheld)")
    assert tick.get_ydata().tolist() == [5.0, 5.0]
    cf = _line(ax1, "counterfactual (expected without the action)").get_ydata()
    assert np.isnan(cf[[5, 45]]).all()
    assert np.isnan(ax2.get_lines()[0].get_ydata()[[5, 45]]).all()
    cum = ax3.get_lines()[0]
    assert len(cum.get_ydata()) == 5  # weeks 40..44
    assert any("withheld" in t.get_text() for t in ax3.texts)
    # nothing on any panel sits at a withheld value
    for ax in (ax1, ax2):
        for line in ax.get_lines():
            y = np.asarray(line.get_ydata(), dtype=float)
            if len(y) == len(drawn):
                assert not np.isin(y[[5, 45]], [3.0, 2.0]).any()
    plt.close(fig)


def test_missing_variables_are_named(est):
    with pytest.raises(ValueError, match=r"lacks \['effect_pooled'\]"):
        impact_figure(est.drop_vars("effect_pooled"))
    assert "post" in NEEDED


def test_method_label():
    assert method_label("did", "en") == "difference in differences"
    assert method_label("synth", "both") == "合成控制 synthetic control"
    assert method_label("auto:its", "zh") == "中断时间序列"


def test_files_are_reproducible(est, tmp_path):
    paths = []
    for i in range(2):
        fig = impact_figure(est, lang="both", date="2025-03-01", source="test")
        paths.append(save_figure(fig, tmp_path / f"r{i}" / "impact", formats=("png", "pdf"),
                                 dpi=50))  # fmt: skip
        plt.close(fig)
    for a, b in zip(*paths, strict=True):
        assert a.read_bytes() == b.read_bytes()
