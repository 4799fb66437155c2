"""Difference in differences for counts: Poisson two-way fixed effects, imputation form, and
an event study of leads and lags.

The counterfactual is ``mu[t, u] = exp(a[u] + g[t])`` with the unit levels ``a`` and time
effects ``g`` fitted on the untreated cells only (never-treated units, and treated units before
their start), then imputed on the treated cells — the imputation form of two-way fixed-effects
DiD (Borusyak, Jaravel & Spiess 2024), here with the Poisson (pseudo-)likelihood (Wooldridge
2023). It handles staggered starts and effects that vary over time without the "forbidden
comparisons" of a single treated x post coefficient, and the treated cells never enter the
counterfactual (no look-ahead). ``b = log(observed / counterfactual)`` over the treated cells is
the rate ratio reported in the checks.

The Poisson fixed-effects score equations make every parameter the log of observed over expected
counts on its cells, so :func:`fit_poisson_fe` alternates closed-form updates (thousands of time
effects would not fit a dense IRLS design); blocks of nearly collinear coefficients (a treated
unit's level and its event-study terms) are solved jointly by :func:`predgov.stats.irls`.
Poisson QMLE is consistent under overdispersion; the inference is not Poisson:

* parameter uncertainty by bootstrap over the untreated units (resampled with replacement; the
  time effects are re-estimated), plus the treated units' own level ``a[u]`` (normal, NB
  variance);
* observation noise: NB counts with the dispersion of the treated units' pre-period residuals
  (:func:`predgov.stats.nb_alpha`).

The event study (fitted on all cells) has one coefficient per bin of ``bin`` periods relative to the
start (the bin before the start is the reference, the outer bins collect the rest), so
pre-trends show as non-zero leads. It is returned as ``event_study`` (rate ratio - 1) over
``rel_period`` with 90 % bounds from the Poisson information scaled by the Pearson dispersion.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import stats

from predgov.impact._common import Counterfactual, nb_draws
from predgov.impact._inputs import Panel
from predgov.stats import Design, irls, nb_alpha

#: Default periods per event-study bin: a week of days, four weeks, one month.
BIN = {"D": 7, "W-MON": 4, "MS": 1}
#: Most leads and lags (bins) in the event study; the outer bins collect the rest.
MAX_LEADS, MAX_LAGS = 8, 12
_TINY = 1e-300


def fit_poisson_fe(y: np.ndarray, groups: np.ndarray, n_groups: int, *, a: np.ndarray | None = None,
                   g: np.ndarray | None = None, c: np.ndarray | None = None,
                   mask: np.ndarray | None = None, max_iter: int = 500, tol: float = 1e-8,
                   covariance: bool = False) -> tuple[np.ndarray, ...]:  # fmt: skip
    """Poisson MLE of ``log mu[t, u] = a[u] + g[t] + c[groups[t, u]]`` (``groups`` -1: no term).

    Block coordinate ascent: the time effects ``g`` and the levels of units without group terms
    are closed-form (log observed over expected counts); the levels and group effects of the
    units with group terms (nearly collinear with each other) are solved jointly by
    :func:`predgov.stats.irls` with ``g`` as offset. Returns ``a (U,)``, ``g (T,)`` (mean 0),
    ``c (n_groups,)``; ``a``, ``g``, ``c`` given are starting values. ``mask (T, U)``: the
    cells that enter the fit (default all). With ``covariance``, also the covariance of ``c``
    (inverse information of the block given ``g``, times the Pearson dispersion of its cells).

    Examples
    --------
    >>> y = np.array([[10.0, 20.0], [12.0, 24.0], [11.0, 11.0]])
    >>> grp = np.array([[-1, -1], [-1, -1], [-1, 0]])
    >>> a, g, c = fit_poisson_fe(y, grp, 1)
    >>> round(float(np.exp(c[0])), 3)  # unit 2 has half its expected count in period 3
    0.5
    """
    T = y.shape[0]
    m = np.ones(y.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    y = np.where(m, y, 0.0)
    a = np.log(np.maximum(y.mean(axis=0), _TINY)) if a is None else a.copy()
    g = np.zeros(T) if g is None else g.copy()
    c = np.zeros(n_groups) if c is None else c.copy()
    has = groups >= 0
    bu = np.flatnonzero(has.any(axis=0))
    free = np.flatnonzero(~has.any(axis=0))
    nb = bu.size
    gflat = groups[:, bu].T.reshape(-1)
    X = np.zeros((nb * T, nb + n_groups))
    X[np.arange(nb * T), np.repeat(np.arange(nb), T)] = 1.0
    on = gflat >= 0
    X[np.flatnonzero(on), nb + gflat[on]] = 1.0
    design = Design(X)
    Yb = np.where(m, y, np.nan)[:, bu].T.reshape(-1, 1)
    ysum_u = y.sum(axis=0)
    ysum_t = y.sum(axis=1)
    log_y_u = np.log(np.maximum(ysum_u, _TINY))
    log_y_t = np.log(np.maximum(ysum_t, _TINY))
    for _ in range(max_iter):
        a[free] = log_y_u[free] - np.log(np.maximum(np.exp(g) @ m[:, free], _TINY))
        if nb:
            fit = irls(design, Yb, offset=np.tile(g, nb), start=np.concatenate([a[bu], c])[None],
                       max_iter=50, tol=1e-10)  # fmt: skip
            a[bu] = fit.coef[0, :nb]
            c = fit.coef[0, nb:]
        ce = np.where(has, np.exp(c)[np.where(has, groups, 0)], 1.0) if n_groups else 1.0
        g_new = log_y_t - np.log(np.maximum((m * ce * np.exp(a)[None, :]).sum(axis=1), _TINY))
        shift = float(np.mean(g_new))  # identification: mean time effect 0
        g_new -= shift
        a += shift
        change = float(np.max(np.abs(g_new - g)))
        g = g_new
        if change < tol:
            break
    if not covariance:
        return a, g, c
    fit = irls(design, Yb, offset=np.tile(g, nb), start=np.concatenate([a[bu], c])[None],
               max_iter=1, covariance=True)  # fmt: skip
    mu = fit.mean[:, 0]
    ok = ~np.isnan(Yb[:, 0])
    phi = float(np.sum((Yb[ok, 0] - mu[ok]) ** 2 / np.maximum(mu[ok], 1e-12)))
    phi = max(phi / max(int(ok.sum()) - design.n_columns, 1), 1.0)
    return a, g, c, fit.cov[0, nb:, nb:] * phi


def event_groups(panel: Panel, bin_: int) -> tuple[np.ndarray, np.ndarray]:
    """Event-time bin of every treated cell ``(T, U)`` (-1 for untreated units and for the
    reference bin just before the start) and the bins' relative periods (first period of each
    bin relative to the start)."""
    T = panel.n_times
    first = panel.first_start()
    n_leads = min(MAX_LEADS, max(1, first // bin_))
    post_len = int(max(T - panel.start_idx[panel.treated]))
    n_lags = min(MAX_LAGS, max(1, -(-post_len // bin_)))
    rel = np.arange(T)[:, None] - panel.start_idx[None, :]
    k = np.floor_divide(rel, bin_)
    k = np.clip(k, -n_leads, n_lags - 1)
    labels = np.concatenate([np.arange(-n_leads, -1), np.arange(0, n_lags)])
    pos = {int(v): i for i, v in enumerate(labels)}
    grp = np.vectorize(lambda v: pos.get(int(v), -1))(k)
    grp[:, ~panel.treated] = -1
    return grp, labels * bin_


def fit_did(panel: Panel, *, n_draws: int, rng: np.random.Generator, n_boot: int = 100,
            bin: int | None = None, event_study: bool = True
            ) -> Counterfactual:  # fmt: skip
    """Two-way fixed-effects Poisson DiD of the treated units of ``panel`` (module docstring).

    Examples
    --------
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> t = pd.date_range("2023-01-02", periods=60, freq="W-MON")
    >>> y = rng.poisson(30.0, (60, 8)).astype(float)
    >>> y[40:, :2] = rng.poisson(15.0, (20, 2))
    >>> p = Panel(y, t, "W-MON", "estate", np.arange(8), np.arange(8) < 2,
    ...           np.where(np.arange(8) < 2, 40, 60), np.zeros((60, 0)))
    >>> cf = fit_did(p, n_draws=100, rng=rng, n_boot=50)
    >>> bool(abs(cf.mean[40:].mean() - 30.0) < 3.0), cf.extra["event_study"].dims
    (True, ('rel_period',))
    """
    y = panel.values
    T, U = y.shape
    post = panel.post_mask() & panel.treated[None, :]
    none = np.full((T, U), -1)
    pre_cells = ~post
    # units without counts in their untreated cells carry no information (a = -inf); a treated
    # one gets the level of half a count over its pre-period (it had fewer than one)
    live = np.where(pre_cells, y, 0.0).sum(axis=0) > 0
    if live.sum() < 2 or not live[~panel.treated].any():
        raise ValueError("difference in differences needs untreated units with counts")
    a, g, _ = fit_poisson_fe(y[:, live], none[:, live], 0, mask=pre_cells[:, live])
    a_full = np.full(U, -np.inf)
    a_full[live] = a
    dead = np.flatnonzero(~live & panel.treated)
    if dead.size:
        exposure = (np.exp(g)[:, None] * pre_cells[:, dead]).sum(axis=0)
        a_full[dead] = np.log(0.5 / np.maximum(exposure, _TINY))
    k_idx = panel.treated_idx
    base = np.exp(g[:, None] + a_full[None, k_idx])  # counterfactual mean of treated units
    post_k = post[:, k_idx]

    def log_ratio(mu: np.ndarray) -> float:
        return float(np.log(max(y[:, k_idx][post_k].sum(), 0.5) / mu[post_k].sum()))

    b_hat = log_ratio(base)
    # event study
    bin_ = int(bin or BIN[panel.freq])
    grp, rel = event_groups(panel, bin_)
    event_study = event_study and bool((live & panel.treated).any())
    if event_study:
        _, _, es, es_cov = fit_poisson_fe(y[:, live], grp[:, live], rel.size, a=a, g=g,
                                          covariance=True)  # fmt: skip
    # bootstrap over untreated units: time effects re-estimated, treated units kept
    ctrl = np.flatnonzero(live & ~panel.treated)
    keep_t = np.flatnonzero(live & panel.treated)
    dead_pos = np.isin(k_idx, dead)
    b_boot = np.empty(n_boot)
    g_boot = np.empty((n_boot, T))
    a_boot = np.empty((n_boot, k_idx.size))
    for i in range(n_boot):
        pick = np.concatenate([keep_t, rng.choice(ctrl, ctrl.size, replace=True)])
        ab, gb, _ = fit_poisson_fe(y[:, pick], none[:, pick], 0, a=a_full[pick], g=g,
                                   mask=pre_cells[:, pick], tol=1e-6)  # fmt: skip
        # the treated units' counterfactual under this replicate: a[u] + g[t]
        a_k = a_full[k_idx].copy()
        a_k[~dead_pos] = ab[: keep_t.size]
        b_boot[i] = log_ratio(np.exp(gb[:, None] + a_k[None, :]))
        g_boot[i] = gb
        a_boot[i] = a_k
    # treated units' level uncertainty and observation noise
    pre = ~post_k
    alpha = nb_alpha(np.where(pre, y[:, k_idx], np.nan), base)
    pre_mu = np.where(pre, base, 0.0).sum(axis=0)
    sd_a = np.sqrt((1.0 + alpha * pre_mu / np.maximum(pre.sum(axis=0), 1)) / np.maximum(pre_mu,
                                                                                         1e-9))
    draws = np.empty((n_draws, T, k_idx.size), dtype=np.float32)
    reps = rng.permutation(np.resize(np.arange(n_boot), n_draws))
    for d in range(n_draws):
        r = reps[d]
        mu = np.exp(g_boot[r][:, None] + a_boot[r][None, :]
                    + sd_a[None, :] * rng.standard_normal(k_idx.size)[None, :])  # fmt: skip
        draws[d] = nb_draws(mu, alpha, rng)
    info = {
        "rate_ratio": round(float(np.exp(b_hat)), 4),
        "rate_ratio_90": [round(float(v), 4) for v in np.exp(np.quantile(b_boot, [0.05, 0.95]))],
        "n_boot": int(n_boot),
        "dispersion": [round(float(v), 4) for v in alpha],
    }
    if not event_study:
        return Counterfactual(mean=base, draws=draws, info=info)
    half = stats.norm.ppf(0.95) * np.sqrt(np.clip(np.diagonal(es_cov), 0.0, None))
    lo, hi = es - half, np.minimum(es + half, 50.0)  # exp(50): no bound at all
    es_da = xr.Dataset(
        {
            "event_study": ("rel_period", np.expm1(es)),
            "event_study_lo": ("rel_period", np.expm1(lo)),
            "event_study_hi": ("rel_period", np.expm1(hi)),
        },
        coords={"rel_period": rel},
    )
    es_da["event_study"].attrs = {"long_name": "event study: rate ratio - 1 of the treated units "
                                  "by periods since the start (bin before the start = 0)",
                                  "units": "1", "bin_periods": bin_}  # fmt: skip
    for v in ("event_study_lo", "event_study_hi"):
        es_da[v].attrs = {"long_name": "90 % bound of the event study (Poisson information "
                          "times the Pearson dispersion)", "units": "1"}  # fmt: skip
    info["leads_max_abs"] = round(float(np.max(np.abs(np.expm1(es[rel < 0])), initial=0.0)), 4)
    extra = {k: es_da[k] for k in es_da.data_vars}
    return Counterfactual(mean=base, draws=draws, extra=extra, info=info)
