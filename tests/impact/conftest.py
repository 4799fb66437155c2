"""Synthetic NB panels with a planted effect for the impact tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
import xarray as xr


@dataclass
class Planted:
    counts: xr.DataArray
    treated: list[str]
    start: pd.Timestamp
    true_total: float  # expected effect over the post-period and treated units (mean scale)


def planted(seed: int, *, effect: float = 0.5, T: int = 156, U: int = 12, K: int = 3,
            start: int = 130, freq: str = "W-MON", alpha: float = 0.1, amp: float = 0.4,
            shock_sd: float = 0.1, level: tuple[float, float] = (20.0, 40.0)) -> Planted:
    """NB counts of ``U`` estates with a yearly season and city-wide shocks; the first ``K``
    estates' means are multiplied by ``effect`` from period ``start`` on."""
    rng = np.random.default_rng(seed)
    t = pd.date_range("2022-01-03", periods=T, freq=freq)
    per_year = {"D": 365.25, "W-MON": 365.25 / 7, "MS": 12.0}[freq]
    lev = rng.uniform(*level, U)
    season = 1.0 + amp * np.cos(2 * np.pi * np.arange(T) / per_year)
    shock = np.exp(rng.normal(0.0, shock_sd, T))
    mu0 = lev[None, :] * (season * shock)[:, None]
    mu = mu0.copy()
    mu[start:, :K] *= effect
    lam = rng.gamma(1.0 / alpha, mu * alpha) if alpha > 0 else mu
    y = rng.poisson(lam).astype(float)
    names = [f"e{i:02d}" for i in range(U)]
    da = xr.DataArray(y, dims=("time", "estate"), coords={"time": t, "estate": names},
                      name="counts", attrs={"units": "requests"})  # fmt: skip
    true = float((mu[start:, :K] - mu0[start:, :K]).sum())
    return Planted(da, names[:K], t[start], true)


@pytest.fixture
def make_planted():
    return planted
