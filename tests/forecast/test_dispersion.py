"""Empirical-Bayes shrinkage of the predictive dispersion (predgov.forecast.dispersion)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from predgov.forecast.dispersion import alpha_variance, shrink_dispersion
from predgov.stats.nb import nb_alpha


@settings(max_examples=60, deadline=None)
@given(
    alpha=st.lists(st.floats(-0.5, 5.0), min_size=3, max_size=12),
    n=st.lists(st.integers(5, 5000), min_size=12, max_size=12),
    mean=st.floats(0.2, 500.0),
)
def test_shrunk_lies_between_estimate_and_group_centre(alpha, n, mean):
    a = np.asarray(alpha)
    nn = np.asarray(n[: a.size], dtype=float)
    out = shrink_dispersion(a, np.full(a.size, mean), nn)
    # The centre is a precision-weighted mean of the estimates, clipped at 0.
    lo_c, hi_c = max(a.min(), 0.0), max(a.max(), 0.0)
    assert np.all(out >= np.minimum(np.clip(a, 0, None), lo_c) - 1e-9)
    assert np.all(out <= np.maximum(np.clip(a, 0, None), hi_c) + 1e-9)
    # Series with as many errors move by the same share towards one centre: order is kept.
    same = nn == nn[0]
    order = np.argsort(a[same], kind="stable")
    assert np.all(np.diff(out[same][order]) >= -1e-9)


def test_more_errors_less_shrinkage():
    a = np.array([0.05, 0.1, 0.2, 0.4, 1.6])
    pulled = []
    for n in (10, 100, 1000, 10000):
        out = shrink_dispersion(a, np.full(5, 20.0), np.full(5, n))
        pulled.append(abs(out[-1] - a[-1]))
    assert all(np.diff(pulled) < 0)


def test_shrinkage_reduces_error_on_short_series_of_one_true_dispersion():
    """40 short NB series (60 days, mean 5, true alpha 0.25): the shrunk estimates are nearer
    the truth (mean squared log error) than the moment estimates themselves."""
    rng = np.random.default_rng(5)
    alpha, mean, n = 0.25, 5.0, 60
    y = rng.negative_binomial(1 / alpha, (1 / alpha) / (1 / alpha + mean), (n, 40))
    raw = nb_alpha(y.astype(float), np.full(y.shape, mean))
    out = shrink_dispersion(raw, np.full(40, mean), np.full(40, n))
    err = lambda a: float(np.mean((a - alpha) ** 2))  # noqa: E731
    assert err(out) < 0.5 * err(raw)
    # The sampling variance the shrinkage assumes matches the estimates' spread.
    assert 0.5 < np.var(raw) / alpha_variance(alpha, mean, n) < 2.0


def test_groups_shrink_apart_and_singletons_pool():
    a = np.array([0.05, 0.06, 0.04, 1.0, 1.2, 0.9, 0.3])
    groups = np.array(["x", "x", "x", "y", "y", "y", "z"])
    out = shrink_dispersion(a, np.full(7, 10.0), np.full(7, 30), groups=groups)
    assert out[:3].max() < 0.1 and out[3:6].min() > 0.5  # each towards its own group
    alone = shrink_dispersion(a, np.full(7, 10.0), np.full(7, 30), groups=np.arange(7))
    pooled = shrink_dispersion(a, np.full(7, 10.0), np.full(7, 30))
    np.testing.assert_allclose(alone, pooled)  # singletons form one group together


def test_nbglm_shrinks_its_predictive_dispersion():
    """Default NBGLM on 30 short NB series of one true dispersion (0.2): the predictive
    dispersions it keeps are nearer each other and the truth than its raw per-series ones;
    ``dispersion_pool=False`` keeps the raw ones."""
    import pandas as pd
    import xarray as xr

    from predgov.forecast import NBGLM

    rng = np.random.default_rng(2)
    mu = np.exp(rng.uniform(np.log(3.0), np.log(30.0), 30))
    y = rng.negative_binomial(5.0, 5.0 / (5.0 + mu), (150, 30)).astype(float)
    t = pd.date_range("2023-01-02", periods=150, freq="D")
    da = xr.DataArray(y, coords={"time": t, "s": np.arange(30)}, dims=("time", "s"))
    da["time"].attrs["freq"] = "D"
    m = NBGLM(level_window=28, level_by="shared").fit(da)
    raw, kept = m.alpha0_raw_[0], m.alpha0_[0]
    err = lambda a: float(np.mean((a - 0.2) ** 2))  # noqa: E731
    assert np.std(kept) < np.std(raw)
    assert err(kept) < err(raw)
    off = NBGLM(level_window=28, level_by="shared", dispersion_pool=False).fit(da)
    np.testing.assert_allclose(off.alpha0_[0], raw)
