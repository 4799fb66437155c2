"""Synthetic control for counts: each treated unit as a convex combination of untreated donors,
with placebo-in-space intervals.

Counts of units of different sizes are matched in shape: every series is divided by its
pre-period mean, summed into bins of ``bin`` periods (weeks for daily data) to damp day-to-day
noise, and the weights ``w`` (on the simplex: ``w >= 0``, ``sum w = 1``) minimise the squared
pre-period distance of the treated unit's shape from the donors' (:func:`simplex_weights`, NNLS
with a heavily weighted sum-to-one row, then renormalised). The counterfactual is the treated
unit's pre-period mean times the weighted donor shapes.

Intervals by placebo in space: every donor in turn plays the treated unit (same start, the
other donors as its donors); its post-period observed / synthetic ratio is what the method gets
wrong when nothing happened. When the treated unit is busier than the donors (a pooled total),
the placebos are random groups of donors of about the treated unit's pre-period total
(:data:`N_PLACEBO` of them), so their noise is on its scale. Draw ``i`` scales the
counterfactual by one placebo's ratio and adds NB observation noise (dispersion of the treated
unit's pre-period residuals).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import optimize

from predgov.impact._common import Counterfactual, nb_draws
from predgov.impact._inputs import Panel
from predgov.stats import nb_alpha

#: Default periods per bin when fitting weights: a week of days; weeks and months as they are.
BIN = {"D": 7, "W-MON": 1, "MS": 1}
#: Placebo groups per treated unit (when placebos are groups of donors; single donors: each once).
N_PLACEBO = 40
#: Weight of the sum-to-one row relative to the data rows.
_SUM_WEIGHT = 1e3


def simplex_weights(donors: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Weights ``w >= 0``, ``sum w = 1`` minimising ``||donors @ w - target||^2``.

    Examples
    --------
    >>> D = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> simplex_weights(D, np.array([0.25, 0.75, 1.0])).round(3).tolist()
    [0.25, 0.75]
    """
    donors = np.asarray(donors, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if donors.ndim != 2 or donors.shape[0] != target.shape[0]:
        raise ValueError(f"donors must be (periods, donors) matching target, got {donors.shape} "
                         f"and {target.shape}")  # fmt: skip
    J = donors.shape[1]
    if J == 0:
        raise ValueError("synthetic control needs at least one donor")
    scale = max(float(np.abs(donors).max()), 1e-12)
    A = np.vstack([donors, np.full((1, J), _SUM_WEIGHT * scale)])
    b = np.concatenate([target, [_SUM_WEIGHT * scale]])
    w, _ = optimize.nnls(A, b, maxiter=50 * J)
    total = w.sum()
    return w / total if total > 0 else np.full(J, 1.0 / J)


def _binned(x: np.ndarray, bin_: int) -> np.ndarray:
    n = (x.shape[0] // bin_) * bin_
    if n == 0:
        return x
    # bins end at the last period (the start), so the latest data are a full bin
    return x[x.shape[0] - n :].reshape(n // bin_, bin_, *x.shape[1:]).sum(axis=1)


def synth_one(y: np.ndarray, donors: np.ndarray, start: int, bin_: int
              ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Weights and counterfactual mean ``(T,)`` of one unit ``y (T,)`` from ``donors (T, J)``."""
    pre_y = max(y[:start].mean(), 0.5 / start)  # no counts before: half a count over the period
    pre_d = donors[:start].mean(axis=0)
    shape_d = donors / np.maximum(pre_d, 1e-12)[None, :]
    shape_y = y / max(pre_y, 1e-12)
    w = simplex_weights(_binned(shape_d[:start], bin_), _binned(shape_y[:start], bin_))
    return w, pre_y * (shape_d @ w)


def fit_synth(panel: Panel, *, n_draws: int, rng: np.random.Generator,
              bin: int | None = None) -> Counterfactual:  # fmt: skip
    """Synthetic control of every treated unit of ``panel`` (module docstring).

    Examples
    --------
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> t = pd.date_range("2023-01-02", periods=60, freq="W-MON")
    >>> y = rng.poisson(30.0, (60, 8)).astype(float)
    >>> p = Panel(y, t, "W-MON", "estate", np.arange(8), np.arange(8) < 1,
    ...           np.where(np.arange(8) < 1, 40, 60), np.zeros((60, 0)))
    >>> cf = fit_synth(p, n_draws=100, rng=rng)
    >>> w = cf.extra["weights"]
    >>> bool(np.isclose(float(w.sum()), 1.0)), bool((w >= 0).all()), w.dims
    (True, True, ('estate', 'donor'))
    """
    y = panel.values
    T = panel.n_times
    bin_ = int(bin or BIN[panel.freq])
    donors = panel.control_idx[y[: panel.first_start(), panel.control_idx].sum(axis=0) > 0]
    if donors.size < 2:
        raise ValueError(f"synthetic control needs at least 2 untreated units with pre-period "
                         f"counts as donors, got {donors.size}")  # fmt: skip
    k_idx = panel.treated_idx
    mean = np.empty((T, k_idx.size))
    weights = np.empty((k_idx.size, donors.size))
    for j, u in enumerate(k_idx):
        weights[j], mean[:, j] = synth_one(y[:, u], y[:, donors], int(panel.start_idx[u]), bin_)
    # placebo in space: donors as fake treated units, in groups whose pre-period total matches
    # the treated unit's (a pooled or busy treated unit is compared with as busy a placebo)
    ratios = np.ones((N_PLACEBO, k_idx.size))
    pre_tot = y[: panel.first_start(), donors].sum(axis=0)
    for j, u in enumerate(k_idx):
        s = int(panel.start_idx[u])
        m = int(np.clip(round(y[:s, u].sum() / max(np.median(pre_tot), 1e-9)), 1,
                        max(1, donors.size // 2)))  # fmt: skip
        groups = ([np.array([i]) for i in range(donors.size)] if m == 1 else
                  [rng.choice(donors.size, m, replace=False) for _ in range(N_PLACEBO)])
        r = []
        for grp in groups:
            fake = y[:, donors[grp]].sum(axis=1)
            rest = np.delete(donors, grp)
            _, cf_d = synth_one(fake, y[:, rest], s, bin_)
            tot = cf_d[s:].sum()
            r.append(fake[s:].sum() / tot if tot > 0 else 1.0)
        ratios[:, j] = np.resize(np.asarray(r), N_PLACEBO)
    pre = np.arange(T)[:, None] < panel.start_idx[None, k_idx]
    alpha = nb_alpha(np.where(pre, y[:, k_idx], np.nan), mean, n_params=donors.size)
    pick = rng.permutation(np.resize(np.arange(N_PLACEBO), n_draws))
    post = ~pre
    draws = np.empty((n_draws, T, k_idx.size), dtype=np.float32)
    for d in range(n_draws):
        mu = np.where(post, mean * ratios[pick[d]][None, :], mean)
        draws[d] = nb_draws(mu, alpha, rng)
    w_da = xr.DataArray(weights, dims=(panel.unit_dim, "donor"),
                        coords={panel.unit_dim: panel.units[k_idx], "donor": panel.units[donors]},
                        attrs={"long_name": "synthetic-control weight of each donor (on the "
                               "simplex)", "units": "1"})  # fmt: skip
    pre_fit = float(np.sqrt(np.mean((y[:, k_idx][pre] - mean[pre]) ** 2)))
    info = {"donors": int(donors.size), "pre_rmse": round(pre_fit, 4),
            "placebo_ratio_sd": round(float(np.std(np.log(np.maximum(ratios, 1e-9)))), 4),
            "dispersion": [round(float(v), 4) for v in alpha]}  # fmt: skip
    return Counterfactual(mean=mean, draws=draws, extra={"weights": w_da}, info=info)
