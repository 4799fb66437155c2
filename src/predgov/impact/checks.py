"""Checks that travel with every estimate: pre-trend test and regression-to-the-mean check.

* :func:`pre_trend`: do the treated units drift against the untreated ones before the start?
  A Poisson/NB log-linear fit (:func:`predgov.stats.irls`) of the treated units' pre-period
  total with the untreated total as offset and a linear trend; Wald test of the trend.
* :func:`rtm_check`: were the treated units picked for high counts in the last season before
  the start (the seed's practice)? Then part of any fall is regression to the mean, and
  :func:`predgov.impact.estimate` adjusts (see :func:`rtm_comparison_units`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from predgov.data.freq import year_lag
from predgov.impact._inputs import Panel
from predgov.stats import irls


class ImpactWarning(UserWarning):
    """A check of :func:`predgov.impact.estimate` found something the reader must know."""


class RegressionToMeanWarning(ImpactWarning):
    """The treated units were in the upper tail of last season's counts: part of any fall is
    regression to the mean, not the action."""


#: Treated units whose mean percentile rank in the selection window is at least this, and whose
#: mean level there is at least :data:`RTM_RATIO` times the untreated units' median, are taken
#: as selected on high counts (the ratio keeps units of one level, ranked by noise alone, from
#: being flagged).
RTM_RANK = 0.75
RTM_RATIO = 1.2


def pre_trend(panel: Panel) -> dict:
    """Trend of the treated units' pre-period total relative to the untreated total.

    Returns a dict with ``slope_per_year`` (log scale), ``p_value`` and ``ok`` (p >= 0.05), or a
    ``note`` when there are no untreated units.

    Examples
    --------
    >>> import pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> t = pd.date_range("2022-01-03", periods=104, freq="W-MON")
    >>> y = rng.poisson(30.0, (104, 4)).astype(float)
    >>> p = Panel(y, t, "W-MON", "estate", np.array(list("abcd")),
    ...           np.array([True, False, False, False]), np.array([80, 104, 104, 104]),
    ...           np.zeros((104, 0)))
    >>> pre_trend(p)["ok"]
    True
    """
    first = panel.first_start()
    ctrl = panel.control_idx
    if ctrl.size == 0:
        return {"note": "no untreated units: pre-trend not testable"}
    treated = panel.values[:first, panel.treated_idx].sum(axis=1)
    control = panel.values[:first, ctrl].sum(axis=1)
    if control.sum() <= 0 or treated.sum() <= 0:
        return {"note": "no counts in the pre-period: pre-trend not testable"}
    years = (panel.times[:first] - panel.times[first]).days.to_numpy() / 365.25
    X = np.column_stack([np.ones(first), years])
    fit = irls(X, treated[:, None], alpha="moments", offset=np.log(control + 0.5),
               covariance=True, max_iter=50)  # fmt: skip
    slope = float(fit.coef[0, 1])
    se = math.sqrt(max(float(fit.cov[0, 1, 1]), 1e-300))
    # residual autocorrelation makes the Wald test anti-conservative: inflate the standard error
    # by the lag-1 autocorrelation of the Pearson residuals (AR(1) variance factor)
    mu = fit.mean[:, 0]
    r = (treated - mu) / np.sqrt(mu + fit.alpha[0] * mu**2)
    rho = float(np.corrcoef(r[:-1], r[1:])[0, 1]) if first > 3 and r.std() > 0 else 0.0
    rho = min(max(rho, 0.0), 0.95)
    se *= math.sqrt((1.0 + rho) / (1.0 - rho))
    p = float(2.0 * stats.norm.sf(abs(slope) / se))
    return {"slope_per_year": round(slope, 4), "p_value": round(p, 4), "ok": bool(p >= 0.05)}


@dataclass(frozen=True)
class RTMCheck:
    """Selection-window ranks of the treated units and whether they look selected on high counts."""

    window: int
    mean_rank: float
    level_ratio: float
    selected_high: bool
    threshold: float

    def as_dict(self) -> dict:
        return {"window": self.window, "treated_mean_rank": round(self.mean_rank, 3),
                "treated_level_over_untreated_median": round(self.level_ratio, 3),
                "selected_on_high_counts": self.selected_high,
                "threshold_level": round(self.threshold, 4)}  # fmt: skip


def selection_levels(panel: Panel) -> tuple[np.ndarray, int]:
    """Mean count per period of every unit over the last season before the first start (the
    last year, or the whole pre-period when shorter): the window a "last season's high calls"
    rule would look at. With an exposure, counts per unit of exposure (calls per household):
    the rule a city applies to units of different sizes, and the one whose selection regresses
    to the mean."""
    first = panel.first_start()
    window = min(first, year_lag(panel.freq))
    level = panel.values[first - window : first].mean(axis=0)
    if panel.exposure is not None:
        level = level / panel.exposure[first - window : first].mean(axis=0)
    return level, window


def rtm_check(panel: Panel, rank: float = RTM_RANK) -> RTMCheck:
    """Percentile ranks (share of all units with a lower level) of the treated units in the
    selection window; ``selected_high`` when their mean rank is at least ``rank`` and there are
    untreated units to compare with.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.date_range("2023-01-02", periods=20, freq="W-MON")
    >>> y = np.tile(np.arange(1.0, 9.0) ** 2, (20, 1))
    >>> p = Panel(y, t, "W-MON", "estate", np.arange(8), np.arange(8) >= 6,
    ...           np.where(np.arange(8) >= 6, 15, 20), np.zeros((20, 0)))
    >>> rtm_check(p).selected_high
    True
    """
    level, window = selection_levels(panel)
    n = level.size
    order = np.argsort(np.argsort(level, kind="stable"), kind="stable")
    ranks = order / max(n - 1, 1)
    mean_rank = float(ranks[panel.treated].mean())
    ratio = float(level[panel.treated].mean() / max(np.median(level[~panel.treated]), 1e-12))
    selected = bool(panel.control_idx.size >= 2 and n >= 4 and mean_rank >= rank
                    and ratio >= RTM_RATIO)  # fmt: skip
    return RTMCheck(window=int(window), mean_rank=mean_rank, level_ratio=ratio,
                    selected_high=selected,
                    threshold=float(level[panel.treated].min()))  # fmt: skip


def rtm_comparison_units(panel: Panel, n_match: int = 2, n_min: int = 3
                         ) -> tuple[np.ndarray, str]:  # fmt: skip
    """Untreated units "selected by the same rule", as far as the counts tell: for every treated
    unit the ``n_match`` untreated units nearest to it in selection-window level (their union,
    at least ``n_min``), so the comparison group has the treated units' spread of last-season
    levels and regresses to the mean as they do. The levels are those of
    :func:`selection_levels`: with an exposure, rates (calls per household), so the match is on
    the selection rule's own scale; without one the rule is not in the counts and counts
    stand in. (A plain "level above the lowest treated" cut would mix in every middling unit.)
    Returns their positions and the rule's name."""
    level, _ = selection_levels(panel)
    ctrl = panel.control_idx
    picked: list[int] = []
    for u in panel.treated_idx:
        order = ctrl[np.argsort(np.abs(level[ctrl] - level[u]), kind="stable")]
        picked.extend(int(c) for c in order[:n_match])
    out = np.unique(np.asarray(picked, dtype=np.int64))
    if out.size < min(n_min, ctrl.size):
        top = ctrl[np.argsort(-level[ctrl], kind="stable")]
        out = np.unique(np.concatenate([out, top[: min(n_min, ctrl.size)]]))[: max(n_min, 1)]
    rule = "matched_on_selection_rate" if panel.exposure is not None else \
        "matched_on_selection_level"  # fmt: skip
    return out, rule


def eb_level_ratios(panel: Panel, n_draws: int = 0, rng: np.random.Generator | None = None
                    ) -> tuple[np.ndarray, np.ndarray | None, dict]:  # fmt: skip
    """Empirical-Bayes correction of the treated units' pre-period levels for regression to the
    mean (Hauer's before-after method for sites picked on high counts).

    Every unit's true rate is taken from one gamma distribution (all units, treated and not:
    the reference population), fitted by moments to the units' rates over the pre-period
    before the first start, ``r[u] = y[u] / E[u]`` (``E`` = exposure summed over the periods,
    or the number of periods without an exposure), net of the Poisson noise. The posterior
    mean of a unit's rate, ``(k + y[u]) / (k / m + E[u])`` (``m`` the mean rate, ``k = m**2 / v``
    with ``v`` the between-unit variance), is the level it would be expected to keep; selection
    on the counts does not bias it, as it conditions on them. Returns the ratio posterior mean /
    observed pre-period rate per treated unit (1 where a unit had no counts), with ``n_draws``
    draws ``(n, K)`` of it from the gamma posterior (its spread: the uncertainty of the
    shrunk level; None when ``n_draws`` is 0), and a record.

    Examples
    --------
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> y = rng.poisson(np.full((52, 40), 2.0)).astype(float)
    >>> top = np.argsort(-y.sum(axis=0))[:5]  # selected on high counts: all units alike
    >>> t = pd.date_range("2023-01-02", periods=52, freq="W-MON")
    >>> tr = np.isin(np.arange(40), top)
    >>> p = Panel(y, t, "W-MON", "estate", np.arange(40), tr, np.where(tr, 40, 52),
    ...           np.zeros((52, 0)))
    >>> r, _, _ = eb_level_ratios(p)
    >>> bool((r < 1.0).all() and (r > 0.8).all())
    True
    """
    first = panel.first_start()
    y = panel.values[:first].sum(axis=0)
    E = (panel.exposure[:first].sum(axis=0) if panel.exposure is not None
         else np.full(y.size, float(first)))  # fmt: skip
    m = float(y.sum() / E.sum())
    k_idx = panel.treated_idx
    if m <= 0:
        ones = np.ones((n_draws, k_idx.size)) if n_draws else None
        return np.ones(k_idx.size), ones, {"method": "empirical_bayes", "note": "no counts"}
    r = y / E
    # between-unit variance of the true rates: weighted spread of the observed rates minus the
    # Poisson noise (the unbiased moment estimator for rates with unequal exposures)
    num = float(np.sum(E * (r - m) ** 2) - (y.size - 1) * m)
    den = float(E.sum() - np.sum(E**2) / E.sum())
    v = max(num / den, 1e-12 * m**2) if den > 0 else 1e-12 * m**2
    k = m**2 / v
    post = (k + y[k_idx]) / (k / m + E[k_idx])
    ratio = np.where(y[k_idx] > 0, post / np.maximum(r[k_idx], 1e-300), 1.0)
    pooled = float(np.sum(post * E[k_idx]) / max(y[k_idx].sum(), 1e-300))
    draws = None
    if n_draws:
        gen = rng if rng is not None else np.random.default_rng(0)
        # posterior of the rate: gamma(k + y, k / m + E); relative spread around its mean
        shape = k + y[k_idx]
        draws = ratio[None, :] * gen.gamma(shape, 1.0 / shape, (n_draws, k_idx.size))
    return ratio, draws, {"method": "empirical_bayes", "mean_rate": round(m, 6),
                   "between_unit_cv": round(math.sqrt(v) / m, 4),
                   "ratio": round(pooled if y[k_idx].sum() > 0 else 1.0, 4)}  # fmt: skip
