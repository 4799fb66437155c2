"""From an estimator's counterfactual draws to the effect Dataset of :func:`estimate`.

Every interval is a quantile of the joint predictive draws of the counterfactual: pointwise
bounds per period, and the cumulative, pooled and total bounds from the draws' sums (not from
sums of pointwise bounds). ``effect = observed - counterfactual``: negative when calls were
prevented.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from predgov.data.freq import year_lag
from predgov.impact._common import Counterfactual
from predgov.impact._inputs import Panel


def scale_draws(cf: Counterfactual, scale: float) -> np.ndarray:
    """The draws widened around the counterfactual mean by ``scale`` (1: unchanged), >= 0."""
    if scale == 1.0:
        return cf.draws
    out = cf.mean[None].astype(np.float32) + np.float32(scale) * (cf.draws - cf.mean[None])
    return np.maximum(out, 0.0, dtype=np.float32)


def naive_comparison(panel: Panel) -> tuple[float, float, str]:
    """The raw comparison officials quote, summed over the treated units: year on year (the
    post-period against the same periods a year earlier) when the data reach back, else before
    vs after (the post-period against as many periods just before the start).

    Returns the difference, the relative difference and the kind.
    """
    lag = year_lag(panel.freq)
    T = panel.n_times
    idx = panel.treated_idx
    yoy = all(panel.start_idx[u] - lag >= 0 and T - panel.start_idx[u] <= lag for u in idx)
    after = before = 0.0
    for u in idx:
        s = int(panel.start_idx[u])
        h = T - s
        y = panel.values[:, u]
        after += float(y[s:].sum())
        if yoy:
            before += float(y[s - lag : T - lag].sum())
        else:
            lo = max(0, s - h)
            before += float(y[lo:s].sum()) * h / (s - lo)
    kind = "year_on_year" if yoy else "before_after"
    rel = (after - before) / before if before > 0 else float("nan")
    return after - before, rel, kind


def _q(a: np.ndarray, level: float, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(a, [tail, 1.0 - tail], axis=axis)
    return lo, hi


def assemble(panel: Panel, cf: Counterfactual, *, level: float, scale: float, method: str,
             units_attr: str, attrs: dict[str, Any]) -> xr.Dataset:  # fmt: skip
    """The effect Dataset for one category (see :func:`predgov.impact.estimate`)."""
    idx = panel.treated_idx
    obs = panel.values[:, idx]
    post = panel.post_mask()[:, idx]
    draws = scale_draws(cf, scale)  # float32: (n, T, K) can be large for daily cubes
    mean = cf.mean
    cf_lo, cf_hi = _q(draws, level)
    eff = obs - mean
    # running cumulative effect over each unit's post-period (0 before the start)
    obs_cum = np.cumsum(np.where(post, obs, 0.0), axis=0)
    mean_cum = np.cumsum(np.where(post, mean, 0.0), axis=0)
    draw_cum = np.cumsum(np.where(post[None], draws, np.float32(0.0)), axis=1, dtype=np.float64)
    dc_lo, dc_hi = _q(draw_cum, level)
    # pooled over treated units: per period (all units), running sum over post cells
    pooled_draw = draws.sum(axis=2)
    pd_lo, pd_hi = _q(pooled_draw, level)
    pooled_cum = draw_cum.sum(axis=2)
    pc_lo, pc_hi = _q(pooled_cum, level)
    # per-unit totals over the post-period, relative effect, and the grand total
    tot_obs = obs_cum[-1]
    tot_mean = mean_cum[-1]
    tot_draw = draw_cum[:, -1, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = tot_obs / tot_mean - 1.0
        rel_draw = tot_obs[None] / tot_draw - 1.0
    rel_lo, rel_hi = _q(np.where(np.isfinite(rel_draw), rel_draw, np.nan), level)
    grand_draw = tot_draw.sum(axis=1)
    g_lo, g_hi = _q(grand_draw, level)
    grand = float(tot_obs.sum() - tot_mean.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        grel_draw = tot_obs.sum() / grand_draw - 1.0
    gr_lo, gr_hi = _q(grel_draw, level)
    naive, naive_rel, naive_kind = naive_comparison(panel)

    ud = panel.unit_dim
    coords = {"time": panel.times.values, ud: panel.units[idx]}
    TU = ("time", ud)
    pct = f"{round(100 * level)} %"
    u = {"units": units_attr}

    def var(dims: tuple, data: Any, long_name: str, units: dict | None = None) -> xr.Variable:
        return xr.Variable(dims, np.asarray(data), attrs={"long_name": long_name,
                                                          **(u if units is None else units)})

    ds = xr.Dataset(
        {
            "observed": var(TU, obs, "observed counts"),
            "counterfactual": var(TU, mean, "counterfactual mean: counts expected without the "
                                  "action"),
            "counterfactual_lo": var(TU, cf_lo, f"lower {pct} predictive bound of the "
                                     "counterfactual counts"),
            "counterfactual_hi": var(TU, cf_hi, f"upper {pct} predictive bound of the "
                                     "counterfactual counts"),
            "effect": var(TU, eff, "effect: observed minus counterfactual (negative: calls "
                          "prevented)"),
            "effect_lo": var(TU, obs - cf_hi, f"lower {pct} bound of the effect"),
            "effect_hi": var(TU, obs - cf_lo, f"upper {pct} bound of the effect"),
            "cumulative_effect": var(TU, obs_cum - mean_cum, "cumulative effect since the unit's "
                                     "start (0 before it)"),
            "cumulative_effect_lo": var(TU, obs_cum - dc_hi, f"lower {pct} joint bound of the "
                                        "cumulative effect"),
            "cumulative_effect_hi": var(TU, obs_cum - dc_lo, f"upper {pct} joint bound of the "
                                        "cumulative effect"),
            "effect_pooled": var(("time",), eff.sum(axis=1), "effect summed over treated units"),
            "effect_pooled_lo": var(("time",), obs.sum(axis=1) - pd_hi,
                                    f"lower {pct} joint bound of the pooled effect"),
            "effect_pooled_hi": var(("time",), obs.sum(axis=1) - pd_lo,
                                    f"upper {pct} joint bound of the pooled effect"),
            "cumulative_effect_pooled": var(("time",), (obs_cum - mean_cum).sum(axis=1),
                                            "cumulative effect summed over treated units"),
            "cumulative_effect_pooled_lo": var(("time",), obs_cum.sum(axis=1) - pc_hi,
                                               f"lower {pct} joint bound"),
            "cumulative_effect_pooled_hi": var(("time",), obs_cum.sum(axis=1) - pc_lo,
                                               f"upper {pct} joint bound"),
            "relative_effect": var((ud,), rel, "effect over the post-period relative to the "
                                   "counterfactual total", {"units": "1"}),
            "relative_effect_lo": var((ud,), rel_lo, f"lower {pct} bound", {"units": "1"}),
            "relative_effect_hi": var((ud,), rel_hi, f"upper {pct} bound", {"units": "1"}),
            "total_effect": var((), grand, "total effect over the post-period and all treated "
                                "units (negative: calls prevented)"),
            "total_effect_lo": var((), tot_obs.sum() - g_hi, f"lower {pct} joint bound of the "
                                   "total effect"),
            "total_effect_hi": var((), tot_obs.sum() - g_lo, f"upper {pct} joint bound of the "
                                   "total effect"),
            "total_relative_effect": var((), tot_obs.sum() / tot_mean.sum() - 1.0,
                                         "total effect relative to the counterfactual total",
                                         {"units": "1"}),
            "total_relative_effect_lo": var((), gr_lo, f"lower {pct} bound", {"units": "1"}),
            "total_relative_effect_hi": var((), gr_hi, f"upper {pct} bound", {"units": "1"}),
            "naive_effect": xr.Variable((), naive, attrs={
                "long_name": f"naive comparison ({naive_kind.replace('_', ' ')} difference of "
                             "the treated units' totals), NOT an effect estimate",
                "units": units_attr, "kind": naive_kind}),
            "naive_relative_effect": xr.Variable((), naive_rel, attrs={
                "long_name": f"naive comparison ({naive_kind.replace('_', ' ')}), relative; NOT "
                             "an effect estimate", "units": "1", "kind": naive_kind}),
            "post": xr.Variable(TU, post, attrs={"long_name": "period on or after the unit's "
                                                 "start"}),
        },
        coords=coords,
    )
    for name, da in cf.extra.items():
        ds[name] = da
    ds.attrs.update(attrs)
    ds.attrs.update({"method": method, "level": float(level), "interval_scale": float(scale)})
    return ds
