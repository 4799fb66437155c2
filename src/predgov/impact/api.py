"""One door to the impact estimators: :func:`estimate`.

Category handling: counts with a ``category`` dim are estimated per category by default (each
category its own model; every output variable, the scalars included, gains a ``category`` dim);
``category="sum"`` sums the categories first, and ``category=<label>`` picks one (both leave no
``category`` dim).

Regression-to-the-mean adjustment (when :func:`~predgov.impact.checks.rtm_check` finds the
treated units in the upper tail of last season's counts), two ways. ``rtm="match"``: the same
method is run with untreated units "selected by the same rule" as fake treated units — as far
as the counts tell: untreated units matched to the treated ones on last season's level
(:func:`~predgov.impact.checks.rtm_comparison_units`, real treated units left out); whatever
effect it finds on them is regression to the mean plus noise, so the treated units'
counterfactual draws are multiplied by the fake units' draws of observed / counterfactual
(their fall carries over; its uncertainty too). The comparison units are left out of the
treated units' own fit, so their fall does not reach the counterfactual twice (through the
comparison series of ``its`` or the time effects of ``did``). With an ``exposure`` (households
per unit) the check ranks and the match pairs units on counts per household, the scale a "most
calls per household" rule selects on; without it, a rule on rates is matched on counts, which
does not reproduce it (large estates with ordinary rates stand in for small ones with high
rates, and do not regress).

``rtm="eb"`` adjusts by empirical Bayes instead (:func:`~predgov.impact.checks.eb_window_values`,
Hauer's before-after method): one gamma distribution of the units' true rates is fitted (by
moments) to all units' pre-period rates, and every unit's counts in the selection window are
set to its posterior mean rate times the window's exposure — the treated units' down, the
untreated units' (selected low) up — before the method is fitted; the uncertainty of the
fitted distribution (units resampled) widens the draws. It conditions on the counts the rule
looked at, so it is unbiased for a selection *on those counts*; but it assumes every unit's
rate comes from that one distribution: treated units picked on something that truly raises
their rate (old heating systems) are shrunk too, which biases the effect towards zero.

``rtm="auto"`` (the default) tells the two apart by the treated units' place in the selection
window (:func:`~predgov.impact.checks.rtm_check`'s ``sharp``): when they are the top of it —
at least 95 % of (treated, untreated) pairs ranked treated-higher on the window's rates or
counts, which a "most calls last season" rule gives exactly — the selection is on the counts
and empirical Bayes applies; when they are high but overlap the untreated units (a register
of old systems that goes with high counts), matching applies. Measured on the agent-based
city (``benchmarks/impact_validation.py``, 50 seeds, ``auto``): ``flush_rtm`` (picked on last
season's calls per household, separation 1.00 in every seed) bias -0.26 with matching, -0.03
with empirical Bayes (RMSE 0.99 -> 0.46, coverage 0.88 -> 0.92); the oldest-systems picks of
``flush_warm``/``flush_cold`` never reached a separation of 0.90, so they keep matching and
their figures are unchanged. (The 95 % threshold was set between those two, on these
cases.) Checked on data it was not tuned on: gamma-rate panels with a top-10 pick
(``tests/impact/test_rtm_known_answer.py``).

The ``auto`` rule (:func:`choose_method`): ``its`` with fewer than 3 untreated units; else
``did`` when at least 3 untreated units have a pre-period level within a factor 3 of the treated
units' and the pre-trend test passes (its time effects absorb what hits every unit alike —
weather, season, holidays — without modelling it; ``its`` must extrapolate the covariates'
effects from the pre-period, which one season identifies poorly, and ``did`` ignores
covariates); ``synth`` when there are at least 5 untreated units; ``its`` else. Measured on the
agent-based city's ground truth (``benchmarks/impact_validation.py``, 50 seeds per case:
flushing before a warm and a cold winter, a noise night ban, flushing selected on last season's
rates): ``did`` covered the true effect in 88-90 % of seeds in every case against 82-88 % for
``its``, with lower or equal RMSE. An earlier rule preferred ``its`` whenever covariates and a
year of pre-period were given; it under-adjusted for the weather (coverage 0.82 after a cold
winter).
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from predgov.impact._common import N_DRAWS, Counterfactual, pooled_panel, pre_shares, unpool
from predgov.impact._inputs import (
    Panel,
    check_counts,
    check_pre_period,
    choose_unit_dim,
    counts_array,
    covariate_matrix,
    exposure_matrix,
    start_attr,
    start_indices,
    treated_mask,
)
from predgov.impact._result import assemble
from predgov.impact.calibration import placebo_in_time
from predgov.impact.checks import (
    ImpactWarning,
    RegressionToMeanWarning,
    eb_window_values,
    pre_trend,
    rtm_check,
    rtm_comparison_units,
)
from predgov.impact.its import fit_its

METHODS = ("auto", "its", "did", "synth")
#: Fewest pre-period periods an estimate accepts.
MIN_PRE = 8
#: With ``pool="auto"``, treated units with a median pre-period mean below this many counts per
#: period are pooled (one model of their total): per-unit models of a few calls a year are
#: mostly noise and their coefficients run off (a summer of zeros separates a season term).
POOL_BELOW = 2.0
#: Regression-to-the-mean adjustments: ``"eb"`` empirical Bayes, ``"match"`` untreated units
#: selected by the same rule, ``"warn"`` none; ``"auto"``: ``"eb"`` when the treated units are
#: the top of the selection window's counts (``RTMCheck.sharp``), else ``"match"``.
RTM_MODES = ("auto", "eb", "match", "warn")


def _fitter(method: str, options: dict[str, Any]) -> Callable[..., Counterfactual]:
    if method == "its":
        allowed = {"trend", "harmonics", "comparison"}
        fit = fit_its
    elif method == "did":
        from predgov.impact.did import fit_did

        allowed = {"n_boot", "bin"}
        fit = fit_did
    elif method == "synth":
        from predgov.impact.synth import fit_synth

        allowed = {"bin"}
        fit = fit_synth
    else:  # pragma: no cover - checked at the door
        raise ValueError(method)
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise TypeError(f"method {method!r} takes no options {unknown} (it takes "
                        f"{sorted(allowed)})")  # fmt: skip
    return fit


def choose_method(panel: Panel) -> tuple[str, str]:
    """The method ``"auto"`` picks for ``panel`` and why (see the module docstring).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.date_range("2023-01-02", periods=30, freq="W-MON")
    >>> p = Panel(np.ones((30, 2)), t, "W-MON", "estate", np.array(["a", "b"]),
    ...           np.array([True, False]), np.array([20, 30]), np.zeros((30, 0)))
    >>> choose_method(p)[0]
    'its'
    """
    ctrl = panel.control_idx
    if ctrl.size < 3:
        return "its", f"{ctrl.size} untreated units (< 3): counterfactual forecast"
    first = panel.first_start()
    level = panel.values[:first].mean(axis=0)
    ref = float(np.median(level[panel.treated]))
    similar = int(np.sum((level[ctrl] >= ref / 3.0) & (level[ctrl] <= ref * 3.0)))
    trend = pre_trend(panel)
    if similar >= 3 and trend.get("ok", False):
        return "did", (f"{similar} untreated units within a factor 3 of the treated level and no "
                       "pre-trend")  # fmt: skip
    if ctrl.size >= 5:
        return "synth", f"{ctrl.size} untreated donors ({similar} at a similar level)"
    return "its", "few comparable untreated units"


def _rtm_adjust(panel: Panel, fake: np.ndarray, others: np.ndarray, cf: Counterfactual,
                post_k: np.ndarray, fit: Callable[[Panel], Counterfactual],
                rng: np.random.Generator) -> dict:  # fmt: skip
    """Multiply the post-period of ``cf`` (in place; ``post_k (T, K)``) by the observed /
    counterfactual ratio of the untreated units ``fake`` picked by the same rule, estimated
    with them as fake treated units against the untreated units ``others``."""
    units = np.concatenate([fake, others])
    sub = panel.subset(units)
    n_fake = fake.size
    sub.treated = np.arange(units.size) < n_fake
    sub.start_idx = np.where(sub.treated, panel.first_start(), panel.n_times)
    fcf = fit(sub)
    post = slice(panel.first_start(), panel.n_times)
    obs = sub.values[post, :n_fake].sum()
    draw_tot = fcf.draws[:, post, :].sum(axis=(1, 2)).astype(np.float64)
    mean_tot = float(fcf.mean[post].sum())
    if obs <= 0 or mean_tot <= 0:
        return {"adjusted": False, "note": "no counts in the comparison units' post-period"}
    ratio = float(obs / mean_tot)
    ratio_draws = obs / np.maximum(draw_tot, 1e-9)
    ratio_draws = ratio_draws[rng.permutation(ratio_draws.size)]
    cf.mean = np.where(post_k, cf.mean * ratio, cf.mean)
    cf.draws = np.where(post_k[None], cf.draws * ratio_draws[:, None, None],
                        cf.draws).astype(np.float32)  # fmt: skip
    return {"adjusted": True, "ratio": round(ratio, 4)}


def _pool_decision(panel: Panel, pool: Any) -> tuple[bool, str]:
    """Whether to fit the treated units' total instead of each unit (see :func:`estimate`)."""
    one_start = np.unique(panel.start_idx[panel.treated]).size == 1
    k = panel.treated_idx
    if pool is False or k.size == 1:
        return False, "no"
    if not one_start:
        if pool is True:
            raise ValueError("pool=True needs one start shared by all treated units")
        return False, "no (staggered starts)"
    if pool is True:
        return True, "yes (asked)"
    level = float(np.median(panel.values[: panel.first_start(), k].mean(axis=0)))
    if level < POOL_BELOW:
        return True, (f"yes: sparse treated units (median {level:.2f} counts per period < "
                      f"{POOL_BELOW:g}); unit-level figures are the pooled ones allocated by "
                      "pre-period shares")  # fmt: skip
    return False, f"no (median {level:.2f} counts per period)"


def _estimate_one(panel: Panel, method: str, *, level: float, seed: int, n_draws: int,
                  calibrate: bool, rtm: str, pool: Any, units_attr: str, attrs: dict,
                  options: dict) -> xr.Dataset:  # fmt: skip
    checks: dict[str, Any] = {}
    rtm_asked = rtm
    reason = "given"
    if method == "auto":
        method, reason = choose_method(panel)
    checks["method_choice"] = reason
    if panel.cov_names:
        checks["covariates"] = (panel.cov_names if method == "its" else
                                f"ignored by {method} (the untreated units carry shared shocks)")
    fitter = _fitter(method, options)
    rng = np.random.default_rng(seed)
    # placebo and comparison fits: no event study, fewer bootstrap replicates (DiD)
    aux = {"event_study": False, "n_boot": min(40, options.get("n_boot", 40))} if method == "did" \
        else {}  # fmt: skip

    def run(p: Panel, opts: dict) -> Counterfactual:
        if not pooling:
            return fitter(p, n_draws=n_draws, rng=rng, **opts)
        cf = fitter(pooled_panel(p), n_draws=n_draws, rng=rng, **opts)
        return unpool(cf, pre_shares(p), p.unit_dim)

    def fit(p: Panel) -> Counterfactual:  # the placebo and comparison fits
        return run(p, {**options, **aux})

    pooling, why = _pool_decision(panel, pool)
    checks["pooled"] = why

    checks["pre_trend"] = pre_trend(panel)
    if checks["pre_trend"].get("ok") is False:
        warnings.warn(f"treated and untreated units drift apart before the start (pre-trend "
                      f"p = {checks['pre_trend']['p_value']})", ImpactWarning, stacklevel=3)
    rc = rtm_check(panel)
    checks["regression_to_mean"] = rc.as_dict()
    main, fake, others = panel, None, None
    if rtm == "auto":
        rtm = "eb" if rc.sharp else "match"
    fitp = main  # the panel the method is fitted on (main with corrected values under "eb")
    eb_factors = None
    if rc.selected_high:
        msg = (f"the treated units were in the upper tail of the last {rc.window} periods' counts "
               f"(mean percentile rank {rc.mean_rank:.2f}): part of any fall is regression to "
               "the mean")  # fmt: skip
        if rtm == "match":
            fake, rule = rtm_comparison_units(panel)
            others = np.setdiff1d(panel.control_idx, fake)
            checks["regression_to_mean"].update(
                comparison_units=[str(u) for u in panel.units[fake]], comparison_rule=rule)
            if method != "its" and others.size < 3:
                checks["regression_to_mean"].update(
                    adjusted=False, note="fewer than 3 untreated units besides the comparison "
                    "units")  # fmt: skip
                fake = None
            else:
                # the comparison units leave the main fit: their fall must not reach the
                # counterfactual twice (through the comparison series or the time effects)
                main = panel.subset(np.concatenate([panel.treated_idx, others]))
        elif rtm == "eb":
            adj, eb_factors, rec = eb_window_values(panel, n_draws, rng)
            fitp = dataclasses.replace(panel, values=adj)
            checks["regression_to_mean"].update(adjusted="note" not in rec, **rec)
            msg += ("; adjusted by empirical Bayes (every unit's last-season level set to its "
                    f"posterior mean: treated x{rec['treated_window_ratio']:g}, untreated "
                    f"x{rec['untreated_window_ratio']:g})" if "note" not in rec
                    else f"; not adjusted ({rec['note']})")  # fmt: skip
        elif rtm == "warn":
            msg += "; not adjusted (rtm='warn')"
        if rtm != "warn" and rtm_asked == "auto":
            checks["regression_to_mean"]["rule"] = (
                "empirical Bayes: the treated units are the top of the window's counts"
                if rtm == "eb" else "matching: the treated units overlap the untreated ones "
                "in the window (picked on something that goes with high counts)")
    if fitp is panel and main is not panel:
        fitp = main
    cf = run(fitp, options)
    checks["model"] = cf.info
    if method == "its":
        # placebo and comparison fits use the real fit's design: on a shorter fake pre-period
        # "auto" would drop the season and the placebo misses would measure a weaker model
        aux.update({k: cf.info[k] for k in ("trend", "harmonics") if k not in options})
    if fake is not None:
        post_k = main.post_mask()[:, main.treated_idx]
        adj = _rtm_adjust(panel, fake, others, cf, post_k, fit, rng)
        checks["regression_to_mean"].update(adj)
        msg += ("; adjusted with untreated units matched on last season's level"
                if adj["adjusted"] else f"; not adjusted ({adj['note']})")
    elif rc.selected_high and rtm == "match":
        msg += f"; not adjusted ({checks['regression_to_mean']['note']})"
    if eb_factors is not None:
        # the uncertainty of the estimated gamma distribution: one factor per draw, shared by
        # every treated unit's post-period (see eb_window_values)
        post_k = main.post_mask()[:, main.treated_idx]
        f = eb_factors[rng.permutation(eb_factors.size)].astype(np.float32)
        cf.draws = np.where(post_k[None], cf.draws * f[:, None, None],
                            cf.draws).astype(np.float32)  # fmt: skip
    if rc.selected_high:
        warnings.warn(msg, RegressionToMeanWarning, stacklevel=3)
    scale = 1.0
    if calibrate:
        cal = placebo_in_time(fitp, fit, level=level, min_pre=MIN_PRE)
        if cal is None:
            checks["placebo_in_time"] = {"note": "pre-period too short for a placebo window"}
        else:
            checks["placebo_in_time"] = cal.as_dict()
            scale = cal.scale
    out = assemble(main, cf, level=level, scale=scale, method=method, units_attr=units_attr,
                   attrs=attrs)  # fmt: skip
    out.attrs["checks"] = json.dumps(checks, ensure_ascii=False)
    return out


def estimate(
    counts: xr.DataArray | xr.Dataset,
    treated: Any,
    start: Any,
    method: str = "auto",
    covariates: xr.Dataset | None = None,
    level: float = 0.9,
    unit_dim: str | None = None,
    seed: int = 0,
    *,
    category: str | None = None,
    n_draws: int = N_DRAWS,
    calibrate: bool = True,
    rtm: str = "auto",
    pool: bool | str = "auto",
    exposure: Any = None,
    **options: Any,
) -> xr.Dataset:
    """How many calls did an action change: observed minus a counterfactual, with joint
    predictive intervals.

    Parameters
    ----------
    counts
        Non-negative counts over ``time`` (a regular ``D``/``W-MON``/``MS`` axis) and one unit dim
        (``district``, ``grid``, ``estate``, ...), optionally ``category``; or a cube Dataset
        with a ``counts`` (or ``calls``) variable. No NaN.
    treated
        Labels of the treated units along the unit dim, or a boolean DataArray over it.
    start
        First treated day: one date, or a mapping / Series unit -> date (staggered starts).
    method
        ``"its"`` (counterfactual forecast), ``"did"`` (difference in differences with event
        study), ``"synth"`` (synthetic control) or ``"auto"`` (:func:`choose_method`).
    covariates
        Dataset over ``time`` (e.g. ``temperature``) not affected by the action (``its`` only).
    level
        Level of every interval (0.9: 5 % and 95 % bounds).
    unit_dim
        The unit dim (default: that of a boolean ``treated``, else the first non-time dim that
        is not ``category``).
    seed
        Seed of the numpy Generator all draws come from.
    category
        None: per category; ``"sum"``: categories summed; a label: that category only.
    n_draws
        Predictive draws per estimate.
    calibrate
        Placebo-in-time calibration of the intervals (:mod:`predgov.impact.calibration`).
    rtm
        What to do when the treated units were selected on high counts (rates with an
        ``exposure``) in the last season before the start: ``"auto"``: empirical Bayes when
        they are the top of that season's counts, else matching (see the module docstring);
        ``"match"``: untreated units matched on the selection window; ``"eb"``: empirical
        Bayes; ``"warn"``: only warn. Either way a :class:`RegressionToMeanWarning` is
        raised and the check is recorded in ``attrs["checks"]``.
    pool
        True: fit the treated units' total (one start needed) and allocate the counterfactual to
        the units by their pre-period shares; False: one model per treated unit; ``"auto"``:
        pool when the treated units are sparse (median pre-period mean below
        :data:`POOL_BELOW` counts per period). Totals are the same kind of estimate either way;
        pooled unit-level figures are allocations, not separate estimates.
    exposure
        What each unit's counts are proportional to (households, residents): the name of a
        coordinate of ``counts`` (e.g. ``"households"``) or a DataArray over the unit dim or
        ``(time, unit dim)``; positive. ``its`` uses its log as offset (a model of calls per
        household) and the comparison series becomes the untreated units' rate; the
        regression-to-the-mean check ranks and matches units on counts per unit of exposure
        (a "most calls per household" selection is then reproduced on the untreated units).
        ``did`` absorbs a constant exposure in the unit levels and ``synth`` works on counts:
        an exposure that varies over time is used by ``its`` only (warned otherwise).
    **options
        Method options: ``its``: ``trend`` (bool or "auto"), ``harmonics`` (yearly Fourier pairs
        or "auto"), ``comparison`` (use the untreated total as a regressor, default True);
        ``did``: ``n_boot``, ``bin`` (periods per event-study bin); ``synth``: ``bin``.

    Returns
    -------
    xr.Dataset
        Over ``time`` and the treated units: ``observed``, ``counterfactual`` (+ ``_lo``,
        ``_hi``), ``effect`` (+ bounds), ``cumulative_effect`` (running sum over each unit's
        post-period, + bounds), ``post``; over ``time``: ``effect_pooled`` and
        ``cumulative_effect_pooled`` (+ bounds); per unit: ``relative_effect`` (+ bounds);
        scalars ``total_effect`` (+ ``_lo``, ``_hi``), ``total_relative_effect`` (+ bounds),
        ``naive_effect`` and ``naive_relative_effect`` (the raw comparison, not an estimate);
        plus ``event_study`` (did) or ``weights`` (synth). Attrs ``method``, ``level``,
        ``start``, ``interval_scale`` and ``checks`` (JSON).

    Examples
    --------
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> t = pd.date_range("2022-01-03", periods=130, freq="W-MON")
    >>> y = rng.poisson(40.0, (130, 6)).astype(float)
    >>> y[104:, 0] = rng.poisson(20.0, 26)  # the action halves estate e0's calls
    >>> da = xr.DataArray(y, dims=("time", "estate"), coords={"time": t,
    ...                   "estate": [f"e{i}" for i in range(6)]}, attrs={"units": "requests"})
    >>> out = estimate(da, treated=["e0"], start=t[104], method="its", n_draws=200)
    >>> bool(out.total_effect_lo < -26 * 20 < out.total_effect_hi), out.attrs["method"]
    (True, 'its')
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if pool not in (True, False, "auto"):
        raise ValueError(f"pool must be True, False or 'auto', got {pool!r}")
    if rtm not in RTM_MODES:
        raise ValueError(f"rtm must be one of {RTM_MODES}, got {rtm!r}")
    if int(n_draws) < 20:
        raise ValueError(f"n_draws must be at least 20, got {n_draws!r}")
    da, freq = check_counts(counts_array(counts))
    ud = choose_unit_dim(da, unit_dim, treated)
    units_attr = str(da.attrs.get("units", "requests"))
    if "category" in da.dims:
        if category == "sum":
            da = da.sum("category", keep_attrs=True)
        elif category is not None:
            labels = [str(c) for c in da["category"].values]
            if str(category) not in labels:
                raise ValueError(f"category {category!r} not in counts (have {labels})")
            da = da.isel(category=labels.index(str(category)))
    elif category not in (None, "sum"):
        raise ValueError(f"category={category!r} given but counts have no 'category' dim")
    times = da.indexes["time"]
    units = np.asarray(da[ud].values)
    E = exposure_matrix(exposure, da, ud, times, units)
    if E is not None and method in ("did", "synth") and np.ptp(E, axis=0).max() > 0:
        warnings.warn(f"an exposure that varies over time is used by 'its' only; method "
                      f"{method!r} uses it for the regression-to-the-mean check alone",
                      ImpactWarning, stacklevel=2)  # fmt: skip
    da = da.drop_vars([c for c in da.coords if c not in da.dims and c != "category"])
    mask = treated_mask(treated, units, ud)
    starts = start_indices(start, times, units, mask, ud)
    check_pre_period(starts, mask, freq, times, MIN_PRE)
    first = int(starts[mask].min())
    pre = np.arange(len(times)) < first
    X_cov, cov_names = covariate_matrix(covariates, times, pre)
    if cov_names and method not in ("its", "auto"):
        warnings.warn(f"covariates are used by 'its' only; method {method!r} ignores them",
                      ImpactWarning, stacklevel=2)  # fmt: skip
    attrs = {"start": start_attr(start), "unit_dim": ud, "freq": freq,
             "covariates": ",".join(cov_names),
             "exposure": "" if E is None else (exposure if isinstance(exposure, str)
                                               else str(exposure.name or "exposure"))}  # fmt: skip

    def one(arr: xr.DataArray) -> xr.Dataset:
        values = np.asarray(arr.transpose("time", ud).values, dtype=np.float64)
        panel = Panel(values, times, freq, ud, units, mask, starts, X_cov, cov_names, E)
        return _estimate_one(panel, method, level=level, seed=seed, n_draws=int(n_draws),
                             calibrate=calibrate, rtm=rtm, pool=pool, units_attr=units_attr,
                             attrs=attrs,
                             options=options)  # fmt: skip

    if "category" in da.dims:
        cats = list(da["category"].values)
        parts = [one(da.sel(category=c)) for c in cats]
        checks = {str(c): json.loads(p.attrs["checks"]) for c, p in zip(cats, parts, strict=True)}
        methods = {p.attrs["method"] for p in parts}
        out = xr.concat(parts, dim=xr.DataArray(cats, dims="category", name="category"),
                        data_vars="all", coords="minimal", combine_attrs="drop_conflicts")
        out.attrs.update(attrs)
        out.attrs["method"] = ",".join(sorted(methods))
        out.attrs["level"] = float(level)
        out.attrs["checks"] = json.dumps(checks, ensure_ascii=False)
        out["interval_scale"] = ("category", [p.attrs["interval_scale"] for p in parts])
        return out
    out = one(da)
    if "category" in da.coords:
        out = out.assign_coords(category=da["category"])
    return out
