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
    rule would look at."""
    first = panel.first_start()
    window = min(first, year_lag(panel.freq))
    return panel.values[first - window : first].mean(axis=0), window


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
    levels and regresses to the mean as they do. (The rule itself, say calls per household, is
    not in the counts; a plain "level above the lowest treated" cut would mix in every middling
    unit.) Returns their positions and the rule's name."""
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
    return out, "matched_on_selection_level"
