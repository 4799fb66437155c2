"""Checks that travel with every estimate: pre-trend test and regression-to-the-mean check.

* :func:`pre_trend`: do the treated units drift against the untreated ones before the start?
  A Poisson/NB log-linear fit (:func:`predgov.stats.irls`) of the treated units' pre-period
  total with the untreated total as offset and a linear trend; Wald test of the trend.
* :func:`rtm_check`: were the treated units picked for high counts in the last season before
  the start (the seed's practice)? Then part of any fall is regression to the mean, and
  :func:`predgov.impact.estimate` adjusts: by empirical Bayes (:func:`eb_window_values`) when
  the treated units are the top of that season's counts (a selection on the counts
  themselves), else with untreated units matched on them (:func:`rtm_comparison_units`).
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
#: A flagged selection whose treated units sit above (nearly) all untreated units in the
#: selection window — the share of (treated, untreated) pairs ranked that way, ties counting
#: half, is at least this on the rate or the count scale — reproduces a "top of last season"
#: cut: the treated set is then a function of the window's counts, which empirical Bayes
#: corrects exactly (:func:`eb_window_values`). Picks on something else that only goes with
#: high counts (old heating systems) overlap the untreated units: on the agent-based city
#: (``benchmarks/impact_validation.py``, 50 seeds) the oldest-systems picks reached at most
#: 0.90, the picks on last season's calls per household 1.00 in every seed.
SHARP_SEPARATION = 0.95


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
    separation: float = 0.5
    sharp: bool = False

    def as_dict(self) -> dict:
        return {"window": self.window, "treated_mean_rank": round(self.mean_rank, 3),
                "treated_level_over_untreated_median": round(self.level_ratio, 3),
                "selected_on_high_counts": self.selected_high,
                "threshold_level": round(self.threshold, 4),
                "separation": round(self.separation, 3),
                "selected_on_the_counts": self.sharp}  # fmt: skip


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


def separation(level: np.ndarray, treated: np.ndarray) -> float:
    """Share of (treated, untreated) pairs in which the treated unit has the higher ``level``
    (ties count half): 1 when the treated units are exactly the top of ``level``.

    Examples
    --------
    >>> separation(np.array([5.0, 4.0, 4.0, 1.0]), np.array([True, True, False, False]))
    0.875
    """
    a = level[treated][:, None]
    b = level[~treated][None, :]
    if a.size == 0 or b.size == 0:
        return 0.5
    return float(np.mean((a > b) + 0.5 * (a == b)))


def rtm_check(panel: Panel, rank: float = RTM_RANK) -> RTMCheck:
    """Percentile ranks (share of all units with a lower level) of the treated units in the
    selection window; ``selected_high`` when their mean rank is at least ``rank`` and there are
    untreated units to compare with. ``sharp`` when, besides, the treated units are (nearly)
    the top of the window's levels (:func:`separation` >= :data:`SHARP_SEPARATION` on rates or
    on counts): selected on the counts themselves.

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
    first = panel.first_start()
    sep = separation(level, panel.treated)
    if panel.exposure is not None:  # a rule on counts, not rates, is a selection on the counts too
        sep = max(sep, separation(panel.values[first - window : first].mean(axis=0),
                                  panel.treated))  # fmt: skip
    return RTMCheck(window=int(window), mean_rank=mean_rank, level_ratio=ratio,
                    selected_high=selected, threshold=float(level[panel.treated].min()),
                    separation=sep, sharp=bool(selected and sep >= SHARP_SEPARATION))  # fmt: skip


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


def gamma_prior(y: np.ndarray, E: np.ndarray) -> tuple[float, float]:
    """Mean ``m`` and shape ``k`` of the gamma distribution of the units' true rates, by
    moments (Hauer's empirical Bayes; the unbiased moment estimator for rates with unequal
    exposures): ``y (U,)`` counts over ``E (U,)`` exposures; the between-unit variance
    ``v = m**2 / k`` is the exposure-weighted spread of the observed rates minus their Poisson
    noise (floored at ``1e-12 * m**2``: no spread beyond the noise, every unit shrunk to ``m``).

    Examples
    --------
    >>> m, k = gamma_prior(np.array([10.0, 20.0, 30.0, 60.0]), np.full(4, 10.0))
    >>> round(m, 3), round(k, 3)
    (3.0, 2.061)
    """
    m = float(y.sum() / E.sum())
    if m <= 0:
        return 0.0, math.inf
    r = y / E
    num = float(np.sum(E * (r - m) ** 2) - (y.size - 1) * m)
    den = float(E.sum() - np.sum(E**2) / E.sum())
    v = max(num / den, 1e-12 * m**2) if den > 0 else 1e-12 * m**2
    return m, m**2 / v


def eb_window_values(panel: Panel, n_draws: int = 0, rng: np.random.Generator | None = None
                     ) -> tuple[np.ndarray, np.ndarray | None, dict]:  # fmt: skip
    """The counts with every unit's selection window set to its empirical-Bayes level: the
    regression-to-the-mean correction when the units were selected on that window's counts.

    A rule that picks the units with the most counts (per household) in a window makes the
    window's counts biased (up for the picked units, down for the others); the posterior mean
    of a unit's rate given its counts is not, because it conditions on the very counts the rule
    looked at (Hauer's before-after method; selection on the data is ignorable given the data).
    Every unit's true rate is taken from one gamma distribution (:func:`gamma_prior` over all
    units' pre-period rates: counts over exposure summed over the periods before the first
    start, or over the number of periods without an exposure); a unit's posterior mean rate is
    ``(k + y[u]) / (k / m + E[u])``. Only the selection window (:func:`selection_levels`) is
    replaced: its counts are scaled so that their total is the posterior mean times the
    window's exposure (a unit without counts there gets that total spread like the city's
    window counts); periods before the window were not looked at by the rule and stay as
    observed, as does the post-period. Every unit is corrected, treated or not: the untreated
    units were selected *low* and regress up, which ``did``'s time effects and ``its``'s
    comparison series would otherwise read as a city-wide rise.

    The gamma distribution is itself estimated (from a few dozen units, its spread is not
    known well), and an error in it moves every treated unit's correction the same way: with
    ``n_draws``, the units are resampled with replacement ``n_draws`` times, the distribution
    refitted and the corrected pre-period levels recomputed; each replicate gives the factor
    by which the treated units' corrected pre-period total, relative to the untreated units'
    (the scale on which ``did``, ``its`` with its comparison series and ``synth`` carry a
    level into the post-period), differs from the estimate's. The caller multiplies the
    counterfactual draws by these factors (the units' own posterior spread is in the methods'
    level uncertainty already).

    Returns the corrected ``(T, U)`` values (floats), the factors ``(n_draws,)`` (None when
    ``n_draws`` is 0) and a record.

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
    >>> adj, _, rec = eb_window_values(p)
    >>> bool(adj[:40, tr].sum() < y[:40, tr].sum()), bool(adj[:40, ~tr].sum() > y[:40, ~tr].sum())
    (True, True)
    >>> bool(np.allclose(adj[40:], y[40:])), round(float(adj[:40].sum() / y[:40].sum()), 3)
    (True, 1.0)
    """
    first = panel.first_start()
    _, window = selection_levels(panel)
    win = slice(first - window, first)
    vals = np.asarray(panel.values, dtype=np.float64)
    y = vals[:first].sum(axis=0)
    ones = np.ones_like(vals[:first])
    E_t = panel.exposure[:first] if panel.exposure is not None else ones
    E = E_t.sum(axis=0)
    E_win = E_t[win].sum(axis=0)
    m, k = gamma_prior(y, E)
    k_idx = panel.treated_idx
    c_idx = panel.control_idx
    if m <= 0 or y[c_idx].sum() <= 0:  # no reference population to learn the spread from
        ones = np.ones(n_draws) if n_draws else None
        return vals.copy(), ones, {"method": "empirical_bayes",
                                   "note": "no counts in the untreated units' pre-period"}
    y_win = vals[win].sum(axis=0)

    def targets(m_: float, k_: float) -> np.ndarray:
        # expected window total at the posterior mean rate (k = inf: every unit at m)
        post = (k_ + y) / (k_ / m_ + E) if math.isfinite(k_) else np.full(y.size, m_)
        return post * E_win

    def level_ratio(t: np.ndarray) -> float:  # corrected pre-period totals, treated / untreated
        pre = y - y_win + t
        return float(pre[k_idx].sum() / max(pre[c_idx].sum(), 1e-300))

    target = targets(m, k)
    factors = None
    if n_draws:
        gen = rng if rng is not None else np.random.default_rng(0)
        base = level_ratio(target)
        factors = np.ones(n_draws)
        if c_idx.size and base > 0:
            for b in range(n_draws):
                pick = gen.integers(0, y.size, y.size)
                mb, kb = gamma_prior(y[pick], E[pick])
                if mb > 0:
                    factors[b] = level_ratio(targets(mb, kb)) / base
    out = vals.copy()
    city = vals[win].sum(axis=1)
    shape = city / city.sum() if city.sum() > 0 else np.full(window, 1.0 / window)
    has = y_win > 0
    out[win, :] = np.where(has[None, :], vals[win] * (target / np.where(has, y_win, 1.0))[None, :],
                           target[None, :] * shape[:, None])  # fmt: skip
    rec = {"method": "empirical_bayes", "mean_rate": round(m, 6),
           "between_unit_cv": round(1.0 / math.sqrt(k), 4) if math.isfinite(k) else 0.0,
           "treated_window_ratio": round(float(target[k_idx].sum() / max(y_win[k_idx].sum(),
                                                                         1e-300)), 4),
           "untreated_window_ratio": round(float(target[c_idx].sum()
                                                 / max(y_win[c_idx].sum(), 1e-300)), 4)
           if c_idx.size else None}  # fmt: skip
    if factors is not None:
        rec["prior_factor_90"] = [round(float(v), 4) for v in np.quantile(factors, [0.05, 0.95])]
    return out, factors, rec
