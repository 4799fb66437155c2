"""What every estimator hands back (:class:`Counterfactual`) and the shared pieces: NB
simulation of predictive draws and the time design (trend, yearly Fourier terms, day of week).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from predgov.data.freq import periods_per_year
from predgov.forecast.nbglm import fourier_terms
from predgov.impact._inputs import Panel

#: Predictive draws simulated per estimate unless ``n_draws`` says otherwise.
N_DRAWS = 500


@dataclass
class Counterfactual:
    """An estimator's answer for the treated units ``K`` of a panel.

    ``mean (T, K)``: the counterfactual mean (what the treated units would have had without the
    action); ``draws (n, T, K)``: joint predictive draws of the counterfactual counts (parameter
    uncertainty and observation noise), from which every interval is taken; ``extra``: further
    output variables (event study, weights); ``info``: what goes into ``attrs["checks"]``.
    """

    mean: np.ndarray
    draws: np.ndarray
    extra: dict[str, xr.DataArray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


def nb_draws(mu: np.ndarray, alpha: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """NB2 counts with means ``mu (..., K)`` and dispersions ``alpha (K,)`` (0: Poisson), drawn
    as a gamma–Poisson mixture.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = nb_draws(np.full((20000, 1), 10.0), np.array([0.5]), rng)
    >>> round(float(y.mean()), 0), round(float(y.var() / 10.0 - 1.0) / 10.0, 1)
    (10.0, 0.5)
    """
    mu = np.maximum(np.asarray(mu, dtype=np.float64), 0.0)
    a = np.broadcast_to(np.asarray(alpha, dtype=np.float64), mu.shape[-1:])
    a = np.broadcast_to(a, mu.shape)
    pos = a > 1e-10
    lam = mu.copy()
    if pos.any():
        shape = 1.0 / a[pos]
        lam[pos] = rng.gamma(shape, mu[pos] / shape)
    return rng.poisson(lam).astype(np.float32)


def yearly_harmonics(n_pre: int, freq: str, requested: Any = "auto") -> int:
    """Yearly Fourier pairs for a pre-period of ``n_pre`` periods: with ``"auto"``, none under
    0.9 years (a season cannot be told from a level shift), one under 1.9 years (one season seen
    once: more pairs fit its noise, and the placebo windows then widen the intervals), then 3
    (daily, weekly) or 2 (monthly).

    Examples
    --------
    >>> yearly_harmonics(200, "D"), yearly_harmonics(400, "D"), yearly_harmonics(800, "D")
    (0, 1, 3)
    """
    if requested != "auto":
        return int(requested)
    years = n_pre / periods_per_year(freq)
    if years < 0.9:
        return 0
    if years < 1.9:
        return 1
    return 2 if freq == "MS" else 3


def time_design(times: pd.DatetimeIndex, freq: str, origin: pd.Timestamp, *, trend: bool,
                harmonics: int, weekly: bool) -> tuple[np.ndarray, list[str]]:  # fmt: skip
    """Intercept, linear trend (years since ``origin``), yearly Fourier pairs and day-of-week
    indicators (daily data), with column names.

    Examples
    --------
    >>> t = pd.date_range("2024-01-01", periods=10, freq="D")
    >>> X, names = time_design(t, "D", t[5], trend=True, harmonics=1, weekly=True)
    >>> X.shape, names[:4]
    ((10, 10), ['intercept', 'trend', 'year_cos1', 'year_sin1'])
    """
    n = len(times)
    cols = [np.ones((n, 1))]
    names = ["intercept"]
    if trend:
        years = (times - origin) / pd.Timedelta(days=365.25)
        cols.append(np.asarray(years, dtype=np.float64)[:, None])
        names.append("trend")
    if harmonics > 0:
        cols.append(fourier_terms(times, 365.25, harmonics))
        for k in range(1, harmonics + 1):
            names += [f"year_cos{k}", f"year_sin{k}"]
    if weekly and freq == "D":
        dow = np.asarray(times.day_of_week)
        cols.append((dow[:, None] == np.arange(1, 7)[None, :]).astype(np.float64))
        names += [f"dow{d}" for d in range(1, 7)]
    return np.column_stack(cols), names


def draws_from_coef(X: np.ndarray, coef: np.ndarray, cov: np.ndarray, alpha: np.ndarray,
                    n_draws: int, rng: np.random.Generator, offset: np.ndarray | None = None
                    ) -> np.ndarray:  # fmt: skip
    """Predictive count draws ``(n, T, K)`` of a log-linear NB model: coefficients drawn from
    ``N(coef[k], cov[k])`` (parameter uncertainty), then NB counts (observation noise)."""
    K, p = coef.shape
    out = np.empty((n_draws, X.shape[0], K), dtype=np.float32)
    for k in range(K):
        c = 0.5 * (cov[k] + cov[k].T)
        try:
            L = np.linalg.cholesky(c + 1e-12 * np.eye(p))
        except np.linalg.LinAlgError:
            w, V = np.linalg.eigh(c)
            L = V * np.sqrt(np.clip(w, 0.0, None))
        beta = coef[k] + rng.standard_normal((n_draws, p)) @ L.T
        eta = beta @ X.T
        if offset is not None:
            eta = eta + offset[:, k][None, :]
        mu = np.exp(np.clip(eta, -30.0, 25.0))
        out[:, :, k] = nb_draws(mu[..., None], alpha[k : k + 1], rng)[..., 0]
    return out


def pooled_panel(panel: Panel) -> Panel:
    """``panel`` with its treated units summed into one unit ``"pooled"`` (first column), the
    untreated units as they are. The treated units must share one start."""
    k, c = panel.treated_idx, panel.control_idx
    starts = np.unique(panel.start_idx[k])
    if starts.size != 1:
        raise ValueError("pooling needs one start shared by all treated units")
    values = np.column_stack([panel.values[:, k].sum(axis=1), panel.values[:, c]])
    units = np.concatenate([np.array(["pooled"], dtype=object), panel.units[c].astype(object)])
    treated = np.zeros(1 + c.size, dtype=bool)
    treated[0] = True
    start_idx = np.concatenate([starts, panel.start_idx[c]])
    exposure = None if panel.exposure is None else np.column_stack(
        [panel.exposure[:, k].sum(axis=1), panel.exposure[:, c]])
    return Panel(values, panel.times, panel.freq, panel.unit_dim, units, treated, start_idx,
                 panel.X_cov, panel.cov_names, exposure)  # fmt: skip


def pre_shares(panel: Panel) -> np.ndarray:
    """Each treated unit's share of the treated units' pre-period counts (equal when none; by
    exposure when there are no counts but an exposure)."""
    k = panel.treated_idx
    first = panel.first_start()
    tot = panel.values[:first, k].sum(axis=0)
    if tot.sum() > 0:
        return tot / tot.sum()
    if panel.exposure is not None:
        e = panel.exposure[:first, k].sum(axis=0)
        return e / e.sum()
    return np.full(k.size, 1.0 / k.size)


def unpool(cf: Counterfactual, shares: np.ndarray, unit_dim: str) -> Counterfactual:
    """The pooled counterfactual allocated to the treated units by their pre-period shares."""
    mean = cf.mean[:, :1] * shares[None, :]
    draws = (cf.draws[:, :, :1] * shares[None, None, :].astype(np.float32)).astype(np.float32)
    extra = {k: (v.isel({unit_dim: 0}, drop=True) if unit_dim in v.dims else v)
             for k, v in cf.extra.items()}  # fmt: skip
    return Counterfactual(mean=mean, draws=draws, extra=extra,
                          info={**cf.info, "pooled": True})  # fmt: skip
