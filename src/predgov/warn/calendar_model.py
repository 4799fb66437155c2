"""The calendar-aware expected-count model as a run that can be extended period by period.

:class:`CalendarModel` holds the batched NB fits (:mod:`predgov.warn.batchfit`) on the design of
:mod:`predgov.warn.design` and the period-by-period online state (:mod:`predgov.warn.online`)
of one run over the counts, with the default windows and strides of that run (:data:`REFIT`,
:data:`FEEDBACK_MAX`, ...). :func:`predgov.warn.expected.expected_counts` builds one and returns
its outputs (the model itself is documented there); :class:`predgov.warn.monitor.Monitor`
keeps one and extends it by a day at a time (:meth:`CalendarModel.extend`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from predgov.stats.glm import Design, single_thread
from predgov.stats.nb import size_from_alpha
from predgov.warn._common import periods_per_year, resolve_range
from predgov.warn.batchfit import fit_block
from predgov.warn.design import DEVIATION_SCALE, MIN_HISTORY, design, prior_group
from predgov.warn.online import LEVEL_PRIOR, YOUNG_LEVEL_PRIOR, OnlineCalibration

__all__ = [
    "CALIBRATION_FEEDBACK", "CALIBRATION_PRIOR", "CALIBRATION_WINDOW", "DISPERSIONS",
    "DISPERSION_WINDOW", "FEEDBACK_MAX", "LEVEL_WINDOW", "REFIT", "YOUNG_FEEDBACK_MAX",
    "CalendarModel",
]  # fmt: skip

#: Default refit stride (periods).
REFIT = {"D": 7, "W-MON": 1, "MS": 1}
#: Default level-correction and dispersion windows (periods).
LEVEL_WINDOW = {"D": 28, "W-MON": 8, "MS": 4}
DISPERSION_WINDOW = {"D": 182, "W-MON": 52, "MS": 24}
#: Dispersion modes of :func:`~predgov.warn.expected.expected_counts` (the first is the default).
DISPERSIONS = ("calibrated", "fit", "errors")
#: Past periods of standardised errors behind the self-calibration, and its prior weight.
CALIBRATION_WINDOW = {"D": 365, "W-MON": 104, "MS": 36}
CALIBRATION_PRIOR = {"D": 56.0, "W-MON": 16.0, "MS": 8.0}
#: Longest block of periods the outbreak feedback leaves out before accepting it as a new level.
FEEDBACK_MAX = {"D": 28, "W-MON": 6, "MS": 3}
#: ... in a series' first year: before the yearly terms exist a season's rise looks like an
#: outbreak to the feedback, and while it is left out the level lags it (expected counts at
#: about half the true mean where the first-year false alarms fell). Measured on the synthetic
#: family (benchmarks/calibration.py, daily members, 28 / 14 / 7 days): first-year false
#: alarms per series-year on strongly seasonal series 5.8 -> 3.0 -> 2.2, trends 2.4 -> 2.3 ->
#: 2.0, the later years unchanged. 7 days also cost the demo city (a second synthetic set) one
#: of its 8 month-long "trend" anomalies and one of 23 spikes in the scored years (the first
#: year's released blocks enter later fits), 14 days none: 14 it is. Weekly / monthly: not
#: measured, kept.
YOUNG_FEEDBACK_MAX = {"D": 14, "W-MON": 6, "MS": 3}
#: Threshold of the second, more sensitive feedback CUSUM whose runs are left out of the
#: self-calibration only (``calibration_feedback``; None: the flags of ``feedback`` only).
#: Weekly / monthly: not measured, off.
CALIBRATION_FEEDBACK: dict[str, float | None] = {"D": 6.0, "W-MON": None, "MS": None}


class CalendarModel:
    """The run of :func:`~predgov.warn.expected.expected_counts` kept alive, so that it can be
    extended a period at a time (:meth:`extend`) with the values a run on the longer counts
    gives.

    Built on ``values`` (``T`` periods) it holds the batched fits and the online state after
    period ``T - 1``; with ``next_time`` it also predicts period ``T`` (:meth:`next_row`), and
    :meth:`extend` records that period's counts and predicts the one after (one batched GLM
    refit when it is a refit origin). Parameters as
    :func:`~predgov.warn.expected.expected_counts`.

    Examples
    --------
    >>> t = np.arange("2023-01-01", "2023-04-01", dtype="datetime64[D]")
    >>> y = np.random.default_rng(0).poisson(6.0, (len(t), 2)).astype(float)
    >>> m = CalendarModel(y[:-2], t[:-2], "D", next_time=t[-2])
    >>> m.extend(y[-2], t[-1])
    False
    >>> from predgov.warn.expected import expected_counts
    >>> full = expected_counts(y, t, "D")
    >>> bool(np.allclose(m.next_row()["expected"], full["expected"][-1], rtol=1e-9))
    True
    """

    def __init__(self, values: np.ndarray, time: np.ndarray, freq: str, *,
                 next_time: Any = None, **kw: Any) -> None:  # fmt: skip
        self.kw = dict(kw)
        self.freq = freq
        self._build(np.asarray(values, dtype=np.float64), np.asarray(time), next_time)

    def _build(self, x: np.ndarray, time: np.ndarray, next_time: Any) -> None:
        kw, freq = self.kw, self.freq
        T, S = x.shape
        self.time = time
        refit, min_history = kw.get("refit"), kw.get("min_history")
        level_window, dispersion_window = kw.get("level_window"), kw.get("dispersion_window")
        self.refit = int(REFIT[freq] if refit is None else refit)
        self.n_min = n_min = int(MIN_HISTORY[freq] if min_history is None else min_history)
        n_level = int(LEVEL_WINDOW[freq] if level_window is None else level_window)
        n_disp = int(DISPERSION_WINDOW[freq] if dispersion_window is None else dispersion_window)
        self.guard = int(kw.get("guard", 0))
        self.max_history = kw.get("max_history")
        self.reweight = kw.get("reweight", 2.58)
        self.max_iter = int(kw.get("max_iter", 25))
        self.exclude = bool(kw.get("exclude", True))
        self.feedback = kw.get("feedback", 8.0)
        start, end = kw.get("start"), kw.get("end")
        dispersion = kw.get("dispersion", "calibrated")
        if dispersion not in DISPERSIONS:
            raise ValueError(f"dispersion must be one of {DISPERSIONS}, got {dispersion!r}")
        self.dispersion = dispersion
        self._set_design(time, next_time)

        i0, i1 = resolve_range(time, start, end)
        first = max(n_min, i0 - n_disp - n_level if start is not None else 0)
        groups = kw.get("groups")
        groups = np.arange(S) if groups is None else np.asarray(groups).ravel()
        if groups.shape != (S,):
            raise ValueError(f"groups needs one id per series ({S}), got shape {groups.shape}")
        _, gid = np.unique(groups, return_inverse=True)
        self.gid = gid
        self.G = G = int(gid.max()) + 1 if S else 0
        member = np.zeros((S, G))
        member[np.arange(S), gid] = 1.0
        self.member = member
        self.pooled = G < S
        self.S = S
        self.xg = self.group_totals(x) if self.pooled else None
        self.states: dict[str, np.ndarray | None] = {"g": None, "s": None}
        self.last: dict[str, Any] | None = None  # the latest fit, for predicting later rows
        level_prior = kw.get("level_prior", LEVEL_PRIOR)
        young_level_prior = kw.get("young_level_prior", YOUNG_LEVEL_PRIOR)
        feedback_max, young_feedback_max = kw.get("feedback_max"), kw.get("young_feedback_max")
        self.online = OnlineCalibration(
            x, n_level, level_prior, int(kw.get("level_guard", 0)), n_disp, self.reweight,
            self.feedback, kw.get("feedback_delta", 2.0), kw.get("feedback_dispersion", True),
            int(FEEDBACK_MAX[freq] if feedback_max is None else feedback_max),
            calibrate=dispersion == "calibrated", n_cal=int(CALIBRATION_WINDOW[freq]),
            cal_prior=CALIBRATION_PRIOR[freq], year=round(periods_per_year(freq)),
            young_prior=level_prior if young_level_prior is None else young_level_prior,
            young_feedback_max=int(YOUNG_FEEDBACK_MAX[freq] if young_feedback_max is None
                                   else young_feedback_max),
            calibration_feedback=self._calibration_feedback(
                kw.get("calibration_feedback", "default")),
        )  # fmt: skip
        self.first_origin = first
        self.T = T
        self.incremental = start is None and end is None
        self.__dict__.pop("_pending", None)
        with single_thread():
            for t0 in range(first, i1, self.refit):
                self.online.advance(t0)
                self.last = self._fit(t0)
                self._predict_rows(t0, min(t0 + self.refit, T))
            self.online.advance(T)
        if next_time is not None:
            self._prepare_next()

    def _calibration_feedback(self, value: Any) -> float | None:
        """Threshold of the calibration feedback CUSUM: ``value`` a number, None (off) or
        "default" (:data:`CALIBRATION_FEEDBACK` of the frequency); always off unless
        ``dispersion="calibrated"`` with the outbreak feedback on."""
        if isinstance(value, str) and value != "default":
            raise ValueError(f"calibration_feedback must be a number, None or 'default', "
                             f"got {value!r}")  # fmt: skip
        if self.dispersion != "calibrated" or self.feedback is None or value is None:
            return None
        return CALIBRATION_FEEDBACK.get(self.freq) if value == "default" else float(value)

    def _set_design(self, time: np.ndarray, next_time: Any) -> None:
        kw = self.kw
        self._next_time = next_time
        full = time if next_time is None else np.append(
            np.asarray(time, dtype="datetime64[ns]"), np.datetime64(next_time, "ns"))
        X, names, prior = design(
            full, self.freq, city=kw.get("city"), regressors=kw.get("regressors"),
            harmonics=kw.get("harmonics"), interactions=kw.get("interactions", True),
            reference_rows=self.n_min,
        )  # fmt: skip
        self.X, self.names = X, names
        self.penalty = np.where(np.isfinite(prior), 1.0 / np.square(prior), 0.0)
        dev_prior = np.array([DEVIATION_SCALE.get(prior_group(nm), math.inf) for nm in names])
        dev_prior[0] = math.inf
        dev_cols = np.array([prior_group(nm) in DEVIATION_SCALE for nm in names])
        dev_cols[0] = True
        self.dev_cols = dev_cols
        self.yearly_cols = np.array([prior_group(nm) == "fourier" for nm in names])
        self.dev_penalty = np.where(np.isfinite(dev_prior), 1.0 / np.square(dev_prior), 0.0)

    def group_totals(self, xs: np.ndarray) -> np.ndarray:
        """Group totals: observed where any member is, scaled up for unobserved members."""
        member = self.member
        obs = ~np.isnan(xs)
        n_obs_g = obs.astype(np.float64) @ member
        with np.errstate(invalid="ignore", divide="ignore"):
            tot = np.where(obs, xs, 0.0) @ member * (member.sum(0) / n_obs_g)
        return np.where(n_obs_g > 0, tot, np.nan)

    def _fit(self, t0: int) -> dict[str, Any] | None:
        """The batched fit at refit origin ``t0`` (rows before ``t0 - guard``); None: no fit
        (too little history, no series fitted)."""
        X, S, n_min = self.X, self.S, self.n_min
        hi = t0 - self.guard
        lo = 0 if self.max_history is None else max(0, hi - int(self.max_history))
        if hi - lo < n_min:
            return None
        rows = slice(lo, hi)
        x_fit = self.online.x_fit
        keep = np.any(X[rows] != 0, axis=0)
        if hi - lo < round(periods_per_year(self.freq)):  # yearly terms need a year of history
            keep &= ~self.yearly_cols
        keep[0] = True
        Xk = X[rows][:, keep]
        opts = dict(n_min=n_min, reweight=self.reweight, max_iter=self.max_iter,
                    exclude=self.exclude)  # fmt: skip
        rec: dict[str, Any] = {"keep": keep}
        if self.pooled:
            gid = self.gid
            dev_keep = keep & self.dev_cols
            xg_rows = (self.group_totals(x_fit[rows]) if self.feedback is not None
                       else self.xg[rows])  # fmt: skip
            res_g = fit_block(Design(Xk), xg_rows, self.penalty[keep], None, self.states, "g",
                              keep=keep, **opts)  # fmt: skip
            if res_g is None:
                return None
            bg, okg, _ = res_g
            off_fit = np.full((hi - lo, S), np.nan)
            bgs = np.zeros((self.G, Xk.shape[1]))
            bgs[okg] = bg
            bgs[:, 0] = 0.0  # the series' own intercept replaces the group's
            has = okg[gid]
            off_fit[:, has] = (Xk @ bgs.T)[:, gid[has]]
            res = fit_block(Design(X[rows][:, dev_keep]), x_fit[rows],
                            self.dev_penalty[dev_keep], off_fit, self.states, "s",
                            keep=dev_keep, **opts)  # fmt: skip
            rec.update(dev_keep=dev_keep, bgs=bgs, has=has)
        else:
            res = fit_block(Design(Xk), x_fit[rows], self.penalty[keep], None, self.states, "s",
                            keep=keep, **opts)  # fmt: skip
        if res is None:
            return None
        bs, ok, inv = res
        rec.update(bs=bs, cols=np.flatnonzero(ok), inv=inv)
        return rec

    def _predict_rows(self, a: int, b: int) -> None:
        """Raw means and fitted 1/size of rows ``a .. b - 1`` from the latest fit."""
        rec = self.last
        if rec is None or b <= a:
            return
        X, keep, bs, cols = self.X, rec["keep"], rec["bs"], rec["cols"]
        Xp = X[a:b][:, keep]
        if self.pooled:
            gid, has = self.gid, rec["has"]
            off_pred = np.full((b - a, self.S), np.nan)
            off_pred[:, has] = (Xp @ rec["bgs"].T)[:, gid[has]]
            eta = X[a:b][:, rec["dev_keep"]] @ bs.T + off_pred[:, cols]
        else:
            eta = Xp @ bs.T
        self.online.mu_raw[a:b, cols] = np.exp(np.clip(eta, -30.0, 20.0))
        self.online.inv_fit[a:b, cols] = rec["inv"]

    def _prepare_next(self) -> None:
        """Raw mean of period ``T`` (a refit when it is an origin) and its online values."""
        t = self.T
        self.online.reserve(t + 1)
        if t >= self.first_origin and (t - self.first_origin) % self.refit == 0:
            with single_thread():
                self.last = self._fit(t)
        self._predict_rows(t, t + 1)
        self._pending = self.online._predict(t)

    def next_row(self) -> dict[str, np.ndarray]:
        """``expected``, ``size``, ``persist`` of period ``T`` (as
        :func:`~predgov.warn.expected.expected_counts` on the counts extended by it), one value
        per series."""
        t, on = self.T, self.online
        mu0, size = on.mu0[t], on.size[t]
        if self.dispersion == "fit":
            size = np.where(np.isfinite(mu0), size_from_alpha(on.inv_fit[t]), np.nan)
        elif self.dispersion == "calibrated":
            mu0, size = on.mu_cal[t], on.size_cal[t]
        return {"expected": mu0.copy(), "size": size.copy(), "persist": on.persist[t].copy()}

    def extend(self, y: np.ndarray, next_time: Any) -> bool:
        """Record period ``T``'s counts ``y`` (NaN = unobserved) and predict the period after,
        ``next_time``: the values :func:`~predgov.warn.expected.expected_counts` gives on the
        longer counts.

        Returns True when the past had to be rerun: the design of earlier periods changed
        with the new one (a holiday block is named by its most common holiday, so the day
        after 除夕 can rename it), and so may every later output."""
        if not self.incremental:
            raise ValueError("extend needs a model fitted without start= / end=")
        t = self.T
        if not hasattr(self, "_pending"):
            raise RuntimeError("extend needs the model built with next_time=")
        y = np.asarray(y, dtype=np.float64).reshape(self.S)
        on = self.online
        on.observe(t, y, self._pending)
        if self.xg is not None:
            self.xg = np.concatenate([self.xg, self.group_totals(y[None])])
        self.T = t + 1
        time = np.append(np.asarray(self.time, dtype="datetime64[ns]"),
                         np.datetime64(self._next_time, "ns"))  # fmt: skip
        old_X, old_names = self.X, self.names
        self._set_design(time, next_time)
        if self.names != old_names or not np.array_equal(self.X[: t + 1], old_X[: t + 1]):
            # the calendar of past periods changed (a holiday block that runs on): the
            # longer run differs before t, so rebuild it
            self._build(on.x[: t + 1].copy(), time, next_time)
            return True
        self.time = time
        self._prepare_next()
        return False

    def outputs(self) -> dict[str, np.ndarray]:
        """:func:`~predgov.warn.expected.expected_counts`' output over the periods before ``T``."""
        on, T = self.online, self.T
        mu0, size = on.mu0[:T], on.size[:T]
        fitted = size_from_alpha(on.inv_fit[:T])
        fitted = np.where(np.isfinite(mu0), fitted, np.nan)
        chosen = {"fit": fitted, "errors": size, "calibrated": on.size_cal[:T]}[self.dispersion]
        expected = on.mu_cal[:T] if self.dispersion == "calibrated" else mu0
        return {
            "expected": expected, "size": chosen, "fitted_size": fitted, "error_size": size,
            "flagged": on.flag[:T], "model_expected": mu0, "persist": on.persist[:T],
        }  # fmt: skip
