"""Placebo-in-time calibration of the predictive intervals.

No library gives calibrated intervals on counts, so the estimator is re-run on windows of the
pre-period where the true effect is zero: the data are cut at the first start (nothing treated
enters), a fake start is placed ``h`` periods before each of a few fake ends, and the treated
units' cumulative counts over each fake window are compared with the estimator's joint
predictive interval. The empirical coverage is recorded; when it is below the nominal level the
predictive spread is widened by the smallest factor that brings it to nominal, shrunk towards 1
by the number of checks (:data:`SHRINK_CHECKS`; never narrowed, at most :data:`MAX_SCALE`), and
that factor is applied to the real estimate (``attrs["interval_scale"]``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from predgov.impact._common import Counterfactual
from predgov.impact._inputs import Panel

#: The widening factor never exceeds this (a placebo with a huge miss says the model is wrong,
#: which the recorded coverage then shows, rather than an unbounded interval).
MAX_SCALE = 5.0
#: The widening factor is shrunk towards 1 by ``checks / (checks + SHRINK_CHECKS)``.
SHRINK_CHECKS = 4


@dataclass(frozen=True)
class Calibration:
    """Outcome of :func:`placebo_in_time`: windows run, coverage before/after, scale."""

    n_windows: int
    n_checks: int
    horizon: int
    coverage: float
    coverage_scaled: float
    scale: float

    def as_dict(self) -> dict:
        return {"windows": self.n_windows, "checks": self.n_checks, "horizon": self.horizon,
                "coverage": round(self.coverage, 3),
                "coverage_after_scaling": round(self.coverage_scaled, 3),
                "scale": round(self.scale, 3)}  # fmt: skip


def placebo_windows(panel: Panel, n_windows: int, min_pre: int) -> tuple[int, list[int]]:
    """Fake horizon ``h`` and fake starts inside the pre-period (latest first)."""
    first = panel.first_start()
    post_len = int(max(panel.n_times - panel.start_idx[panel.treated]))
    h = max(1, min(post_len, (first - min_pre) // 2))
    starts = []
    end = first
    step = max(1, h // 2)
    while len(starts) < n_windows and end - h >= min_pre:
        starts.append(end - h)
        end -= step
    return h, starts


def placebo_in_time(panel: Panel, fit: Callable[[Panel], Counterfactual], *, level: float,
                    n_windows: int = 6, min_pre: int = 8) -> Calibration | None:  # fmt: skip
    """Coverage of the estimator's cumulative intervals on zero-effect pre-period windows.

    ``fit`` maps a panel to a :class:`Counterfactual`. Each window contributes one check per
    treated unit and one for the treated units' total (only the latter for pooled fits).
    Returns None when the pre-period is too short for a single window.
    """
    h, starts = placebo_windows(panel, n_windows, min_pre)
    if not starts:
        return None
    need: list[float] = []
    skipped = 0
    tail = (1.0 - level) / 2.0
    k = panel.treated_idx
    for s in starts:
        end = s + h
        sub = Panel(
            panel.values[:end], panel.times[:end], panel.freq, panel.unit_dim, panel.units,
            panel.treated, np.where(panel.treated, s, end), panel.X_cov[:end], panel.cov_names,
            None if panel.exposure is None else panel.exposure[:end])
        try:
            cf = fit(sub)
        except ValueError:  # e.g. no counts before an early fake start: no check there
            skipped += 1
            continue
        obs = panel.values[s:end][:, k].sum(axis=0)
        mean = cf.mean[s:end].sum(axis=0)
        dev = cf.draws[:, s:end, :].sum(axis=1) - mean[None]  # (n, K)
        # pooled fits allocate the total by pre-period shares: only the total is a forecast
        cases = [] if cf.info.get("pooled") else [(obs - mean, dev)]
        if len(k) > 1 or cf.info.get("pooled"):
            cases.append((np.atleast_1d(obs.sum() - mean.sum()), dev.sum(axis=1)[:, None]))
        for miss, d in cases:
            lo, hi = np.quantile(d, [tail, 1.0 - tail], axis=0)
            with np.errstate(divide="ignore", invalid="ignore"):
                r = np.where(miss >= 0, miss / np.maximum(hi, 1e-9),
                             miss / np.minimum(lo, -1e-9))  # fmt: skip
            need.extend(np.nan_to_num(r, nan=0.0, posinf=np.inf).tolist())
    if not need:
        return None
    arr = np.asarray(need)
    coverage = float(np.mean(arr <= 1.0))
    scale = 1.0
    if coverage < level:
        # the factor that brings the placebo coverage to nominal, shrunk towards 1 by the
        # number of checks (a few checks say little: one miss in four is not a 1.4x model)
        full = float(min(np.quantile(arr, level, method="higher"), MAX_SCALE))
        scale = 1.0 + (full - 1.0) * arr.size / (arr.size + SHRINK_CHECKS)
    return Calibration(n_windows=len(starts) - skipped, n_checks=int(arr.size), horizon=int(h),
                       coverage=coverage, coverage_scaled=float(np.mean(arr <= scale)),
                       scale=max(scale, 1.0))  # fmt: skip
