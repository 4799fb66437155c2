"""Interrupted time series: a counterfactual forecast of each treated unit (CausalImpact-style,
for counts).

Per treated unit, an NB2 log-linear GLM (:func:`predgov.stats.irls`, dispersion by moments) is
fitted on the unit's own pre-period only, with an intercept, a linear trend (by default only
without untreated units and when the pre-period spans a year: a unit's own slope extrapolated
over a long post-period turns one good or bad year into a trend), yearly Fourier terms (when the
pre-period spans a year), day-of-week indicators (daily data),
the covariates (standardised; e.g. temperature) and, when there are untreated units, the log of
their total (the untreated comparison series, which carries shocks shared by the city). The fit
is projected over the whole period. The treated units' values on and after their start are set
to NaN before the fit, so they cannot enter it (no look-ahead). With an exposure (households,
residents; :func:`predgov.impact.estimate`'s ``exposure=``), its log is the offset of each
treated unit's model (the model is one of calls per household) and the comparison series is the
untreated units' calls per unit of exposure.

Intervals: coefficients drawn from their asymptotic normal distribution, then NB counts, jointly
over time, so cumulative totals get joint predictive intervals.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from predgov.impact._common import Counterfactual, draws_from_coef, time_design, yearly_harmonics
from predgov.impact._inputs import Panel
from predgov.stats import irls

#: Ridge precision on every column but the intercept: a normal prior of sd 1.4 on log-scale
#: coefficients of unit-amplitude columns (Fourier pairs, standardised covariates, years of
#: trend). Busy series do not notice it; sparse ones (a summer of zeros separates a season
#: term, whose coefficient and variance would otherwise run off) stay finite.
RIDGE = 0.5


def comparison_series(panel: Panel) -> np.ndarray | None:
    """``log(1 + total of the never-treated units)`` (minus the log of their total exposure when
    there is one) centred on its pre-period mean, ``(T,)``, or None without untreated units (or
    when they are all zero)."""
    ctrl = panel.control_idx
    if ctrl.size == 0:
        return None
    total = panel.values[:, ctrl].sum(axis=1)
    if total[: panel.first_start()].sum() <= 0:
        return None
    z = np.log1p(total)
    if panel.exposure is not None:
        z = z - np.log(panel.exposure[:, ctrl].sum(axis=1))
    return z - z[: panel.first_start()].mean()


def its_design(panel: Panel, *, trend: Any = "auto", harmonics: Any = "auto",
               comparison: bool = True) -> tuple[np.ndarray, list[str]]:  # fmt: skip
    """The design ``(T, p)`` of the counterfactual forecast and its column names."""
    n_pre = panel.first_start()
    ppy = {"D": 365.25, "W-MON": 365.25 / 7, "MS": 12.0}[panel.freq]
    z = comparison_series(panel) if comparison else None
    # a unit's own trend is extrapolated over the whole post-period and turns a unit's good or
    # bad last year into a slope; with a comparison series the city's trend comes through it
    use_trend = bool(trend) if trend != "auto" else (z is None and n_pre >= 0.9 * ppy)
    X, names = time_design(panel.times, panel.freq, panel.times[n_pre], trend=use_trend,
                           harmonics=yearly_harmonics(n_pre, panel.freq, harmonics),
                           weekly=True)  # fmt: skip
    if panel.X_cov.shape[1]:
        X = np.column_stack([X, panel.X_cov])
        names += list(panel.cov_names)
    if z is not None:
        X = np.column_stack([X, z])
        names.append("log_comparison")
    return X, names


def fit_its(panel: Panel, *, n_draws: int, rng: np.random.Generator, trend: Any = "auto",
            harmonics: Any = "auto", comparison: bool = True) -> Counterfactual:  # fmt: skip
    """Counterfactual forecast of every treated unit of ``panel`` (see the module docstring).

    Examples
    --------
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> t = pd.date_range("2023-01-02", periods=120, freq="W-MON")
    >>> y = rng.poisson(20.0, (120, 1)).astype(float)
    >>> p = Panel(y, t, "W-MON", "estate", np.array(["a"]), np.array([True]), np.array([100]),
    ...           np.zeros((120, 0)))
    >>> cf = fit_its(p, n_draws=50, rng=rng)
    >>> cf.mean.shape, cf.draws.shape, bool(abs(cf.mean[110, 0] - 20.0) < 4.0)
    ((120, 1), (50, 120, 1), True)
    """
    X, names = its_design(panel, trend=trend, harmonics=harmonics, comparison=comparison)
    k_idx = panel.treated_idx
    Y = panel.values[:, k_idx].astype(np.float64).copy()
    post = panel.post_mask()[:, k_idx]
    Y[post] = np.nan  # the treated periods never enter the fit
    penalty = np.full(X.shape[1], RIDGE)
    penalty[0] = 0.0
    off = panel.log_exposure(k_idx)
    fit = irls(X, Y, alpha="moments", penalty=penalty, covariance=True, max_iter=50, tol=1e-8,
               offset=off)  # fmt: skip
    eta = X @ fit.coef.T + (0.0 if off is None else off)
    mean = np.exp(np.clip(eta, -30.0, 25.0))
    draws = draws_from_coef(X, fit.coef, fit.cov, fit.alpha, n_draws, rng, offset=off)
    info = {
        "design": names,
        "dispersion": [round(float(a), 4) for a in fit.alpha],
        "converged": bool(fit.converged.all()),
        "trend": "trend" in names,
        "harmonics": sum(n.startswith("year_cos") for n in names),
        "exposure_offset": off is not None,
    }
    return Counterfactual(mean=mean, draws=draws, info=info)


__all__ = ["comparison_series", "fit_its", "its_design"]
