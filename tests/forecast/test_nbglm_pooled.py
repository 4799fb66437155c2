"""NBGLM's pooled choices as sufficient statistics (``level_stats``, ``pooled_stats_``,
``set_pooled``): what lets blocks of series reduce them (predgov.forecast.distributed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from predgov.forecast.level import choose_level, pooled_level_choice, sum_stats
from predgov.forecast.nbglm import NBGLM


def cube(freq: str, T: int, seed: int = 0) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    t = pd.date_range("2021-01-04", periods=T, freq=freq)
    lev = np.exp(rng.normal(1.5, 1.0, (1, 3, 4)))
    d = np.arange(T)[:, None, None]
    mu = lev * np.exp(0.3 * np.sin(2 * np.pi * d / 7)
                      + 0.2 * np.cos(2 * np.pi * d / (365 if freq == "D" else 52)))  # fmt: skip
    y = rng.negative_binomial(4, 4 / (4 + mu)).astype(float)
    return xr.DataArray(y, dims=("time", "district", "category"),
                        coords={"time": t, "district": [f"d{i}" for i in range(3)],
                                "category": [f"c{i}" for i in range(4)]},
                        attrs={"freq": freq})  # fmt: skip


# NBGLM().fit(cube).predict(h) before the level's choice was split into sufficient statistics:
# the sum of the means (to rounding: another CPU's BLAS may differ in the last bits), the sum
# of the whole-number quantiles (exact), and the level chosen; with the level's fixed prior
# (``level_adaptive_prior=False``: the model of then; series under two years, "D" 500, have an
# adaptive one by default since).
BEFORE = {
    ("D", 500): (991.8896656991003, 12519.0, 56, "shared"),
    ("D", 800): (1054.7738513800023, 13353.0, 14, "daytype"),
    ("W-MON", 160): (325.4200184784584, 4254.0, 4, "shared"),
}


@pytest.mark.parametrize(("freq", "T"), list(BEFORE))
def test_one_process_unchanged(freq, T):
    m = NBGLM(level_adaptive_prior=False).fit(cube(freq, T))
    fc = m.predict(14 if freq == "D" else 4)
    mean_sum, q_sum, span, mode = BEFORE[freq, T]
    assert float(fc["mean"].sum()) == pytest.approx(mean_sum, rel=1e-9)
    assert float(fc["quantiles"].sum()) == q_sum
    assert (m.level_span_, m.path_mode_) == (span, mode)
    assert not np.asarray(fc["fallback"].values, dtype=str).any()


@pytest.fixture(scope="module")
def daily() -> xr.DataArray:
    return cube("D", 400, seed=3)


def test_level_stats_are_sums_over_series(daily):
    m = NBGLM().fit(daily)
    stats = m.level_stats()
    cands = m.level_candidates()
    assert set(cands) <= set(stats) and len(cands) == 4  # the four daily spans
    for c, (tot, n) in stats.items():
        loss = m._cand_loss[c]
        assert n == m.oos_ok_.sum() == 12
        assert tot == pytest.approx(np.nanmean(np.where(m.oos_ok_, loss, np.nan)) * n)
    # the choice on the statistics is the fitted one
    assert pooled_level_choice(m.level_candidates, m.level_stats) == (m.level_span_, m.path_mode_)
    # two halves' statistics sum to the whole's (series are scored one by one)
    halves = [NBGLM().fit(daily.isel(category=s)) for s in ([0, 1], [2, 3])]
    summed = sum_stats([h.level_stats(list(stats)) for h in halves])
    for c in stats:
        np.testing.assert_allclose(summed[c], stats[c], rtol=1e-9)
    # PIT statistics of the same level (each half chose its own) sum to the whole's
    level = (m.level_span_, m.path_mode_)
    share, n_series, cells = sum_stats([h.set_pooled(level=level).pooled_stats_["pit"]
                                        for h in halves])  # fmt: skip
    share1, n_series1, cells1 = m.pooled_stats_["pit"]
    assert n_series == n_series1 == 12
    np.testing.assert_allclose(share, share1, rtol=1e-9)
    np.testing.assert_allclose(cells, cells1, rtol=1e-12)


def test_set_pooled_equals_fitting_that_level(daily):
    """Setting another level redoes the level, dispersion and recalibration as a fit with
    that level fixed would, without refitting the GLM."""
    m = NBGLM().fit(daily)
    other = (14, "shared") if (m.level_span_, m.path_mode_) != (14, "shared") else (112, "shared")
    m.set_pooled(level=other)
    fixed = NBGLM(level_window=other[0], level_by="shared").fit(daily)
    assert (m.level_span_, m.path_mode_) == other
    a, b = m.predict(14), fixed.predict(14)
    np.testing.assert_array_equal(a["mean"].values, b["mean"].values)
    np.testing.assert_array_equal(a["quantiles"].values, b["quantiles"].values)
    np.testing.assert_array_equal(m.calibrated_levels_, fixed.calibrated_levels_)


def test_set_pooled_pit_recalibrates(daily):
    m = NBGLM().fit(daily)
    share = np.stack([m.pooled_stats_["pit"][0][0]] * 3)
    wide = np.tile(np.linspace(0.3, 0.7, share.shape[1]), (3, 1)) * 12  # PITs bunched: widen
    m.set_pooled(pit=(wide, 12, np.array([5e3, 5e3])))
    assert m.recalibrated_ and m.calibrated_levels_[0] < m.levels_[0]
    m.set_pooled(pit=(np.zeros((3, share.shape[1])), 0, np.zeros(2)))  # no series: nominal
    np.testing.assert_array_equal(m.calibrated_levels_, m.levels_)


def test_choose_level_ties_and_empty():
    c = [(14, "shared"), (28, "shared")]
    assert choose_level({c[0]: (2.0, 2.0), c[1]: (1.0, 1.0)}, c) == c[0]  # equal means: first
    assert choose_level({c[0]: (0.0, 0.0), c[1]: (0.0, 0.0)}, c) == c[0]  # nothing scored
    assert choose_level({c[0]: (3.0, 2.0), c[1]: (2.9, 2.0)}, c) == c[1]


def test_unfitted_model_says_so():
    with pytest.raises(Exception, match="fit"):
        NBGLM().level_stats()
