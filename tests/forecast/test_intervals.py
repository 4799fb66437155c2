"""Interval quantiles of counts (predgov.forecast.intervals) and the default's calibration."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from predgov.forecast import NBGLM
from predgov.forecast.intervals import central_pairs, interval_quantiles
from predgov.stats.nb import DEFAULT_QUANTILES, nb_quantiles

PAIRS = {0.5: (4, 6), 0.8: (2, 8), 0.95: (1, 9)}  # indices in DEFAULT_QUANTILES


def _draw(rng, lo, hi, size, n=20_000):
    mu = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
    if np.isinf(size):
        return mu, rng.poisson(mu)
    return mu, rng.negative_binomial(size, size / (size + mu))


def _coverage(y, q):
    return {lv: float(np.mean((y >= q[:, i]) & (y <= q[:, j]))) for lv, (i, j) in PAIRS.items()}


@pytest.mark.parametrize(
    ("lo", "hi", "size"),
    [(0.3, 1.0, np.inf), (1.0, 30.0, np.inf), (0.3, 1.0, 3.0), (1.0, 30.0, 5.0), (30, 1000, 10.0)],
)
def test_known_size_intervals_cover_nominal(lo, hi, size):
    """Draws from the very distribution: 80 % / 95 % intervals cover about 80 % / 95 %."""
    rng = np.random.default_rng(7)
    mu, y = _draw(rng, lo, hi, size)
    cov = _coverage(y, interval_quantiles(mu, size, DEFAULT_QUANTILES))
    assert abs(cov[0.8] - 0.8) < 0.04, cov
    assert abs(cov[0.95] - 0.95) < 0.02, cov


def test_mid_quantiles_over_cover_sparse_counts_and_interval_ones_do_not():
    """Regression: the old default (mid quantiles) covered about 0.92 at 80 % on means 0.3-1."""
    rng = np.random.default_rng(3)
    mu, y = _draw(rng, 0.3, 1.0, np.inf)
    old = _coverage(y, nb_quantiles(mu, np.inf, DEFAULT_QUANTILES, "mid"))[0.8]
    new = _coverage(y, interval_quantiles(mu, np.inf, DEFAULT_QUANTILES))[0.8]
    assert old > 0.9 and abs(new - 0.8) < 0.04


def test_interval_is_the_nearest_content_by_hand():
    # Poisson(1): P(0..1) = 0.7358 (|0.064| from 0.8) beats P(0..2) = 0.9197 (|0.12|).
    q = interval_quantiles(np.array([1.0]), np.inf, (0.1, 0.9))
    assert q.tolist() == [[0.0, 1.0]]
    assert stats.poisson.cdf(1, 1.0) == pytest.approx(0.7358, abs=1e-4)
    # Large counts: within one count of the integer quantiles.
    mu = np.array([500.0])
    q = interval_quantiles(mu, 20.0, DEFAULT_QUANTILES)
    k = nb_quantiles(mu, 20.0, DEFAULT_QUANTILES, "integer")
    assert np.abs(q - k).max() <= 1.0


@settings(max_examples=60, deadline=None)
@given(
    mu=st.floats(0.0, 2000.0, allow_nan=False),
    size=st.one_of(st.just(np.inf), st.floats(0.1, 1e4)),
)
def test_intervals_nested_and_sorted(mu, size):
    q = interval_quantiles(np.array([mu]), size, DEFAULT_QUANTILES)[0]
    assert np.all(np.diff(q) >= 0) and np.all(q >= 0)
    for (i_in, j_in), (i_out, j_out) in itertools.pairwise(central_pairs(DEFAULT_QUANTILES)):
        assert q[i_out] <= q[i_in] and q[j_out] >= q[j_in]


def test_central_pairs_innermost_first():
    assert central_pairs(DEFAULT_QUANTILES) == [(4, 6), (3, 7), (2, 8), (1, 9), (0, 10)]


def _nb_series(n_series, days, seed, size):
    rng = np.random.default_rng(seed)
    level = np.exp(rng.uniform(np.log(0.5), np.log(40.0), n_series))
    week = np.array([1.0, 1.0, 1.0, 1.0, 1.1, 0.7, 0.6])
    mu = level[None, :] * np.resize(week, days)[:, None]
    y = rng.negative_binomial(size, size / (size + mu))
    t = pd.date_range("2022-01-03", periods=days, freq="D")
    da = xr.DataArray(y.astype(float), coords={"time": t, "s": np.arange(n_series)},
                      dims=("time", "s"))  # fmt: skip
    da["time"].attrs["freq"] = "D"
    return da


def test_default_forecast_covers_nominal_on_known_nb_series():
    """Simulated NB series with known size 4: held-out 80 % intervals cover about 80 %."""
    da = _nb_series(60, 400 + 28, seed=11, size=4.0)
    train, test = da.isel(time=slice(0, 400)), da.isel(time=slice(400, None))
    fc = NBGLM(level_window=56, level_by="shared").fit(train).predict(28)
    q = fc["quantiles"].transpose("time", "s", "quantile").values
    y = test.values
    cov80 = float(np.mean((y >= q[..., 2]) & (y <= q[..., 8])))
    cov95 = float(np.mean((y >= q[..., 1]) & (y <= q[..., 9])))
    assert 0.74 < cov80 < 0.86, cov80
    assert 0.91 < cov95 < 0.98, cov95


def test_bad_quantile_method_is_refused():
    da = _nb_series(2, 60, seed=0, size=4.0)
    with pytest.raises(ValueError, match="quantile_method"):
        NBGLM(quantile_method="ppf").fit(da)


def _recalibrate(share_early, share_late, n_cells=(4000.0, 4000.0)):
    model = NBGLM()
    model.levels_ = np.asarray(DEFAULT_QUANTILES)
    model.freq_ = "D"
    n = np.asarray(n_cells)
    share = np.stack([share_early, share_late, (share_early * n[0] + share_late * n[1]) / n.sum()])
    return model._recalibration(share, 1, n), model.recalibrated_


def test_recalibration_kept_only_when_it_helps_held_out():
    from predgov.forecast.recalibration import PIT_GRID as _PIT_GRID

    calibrated = _PIT_GRID.copy()  # PITs uniform: share below u is u
    # Too narrow in both halves (PITs spread to the tails): the map helps the later half.
    too_narrow = stats.norm.cdf(stats.norm.ppf(_PIT_GRID) / 1.4)
    levels, used = _recalibrate(too_narrow, too_narrow)
    assert used and levels[2] < 0.1 and levels[8] > 0.9
    # Earlier half too narrow, later half calibrated: the map would hurt held out, not used.
    levels, used = _recalibrate(too_narrow, calibrated)
    assert not used and np.allclose(levels, DEFAULT_QUANTILES)
    # A gain within the sampling noise of few later cells is not enough either.
    slight = stats.norm.cdf(stats.norm.ppf(_PIT_GRID) / 1.03)
    _, used = _recalibrate(slight, slight, n_cells=(40.0, 40.0))
    assert not used
