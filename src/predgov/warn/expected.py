"""Calendar-aware expected counts for the detectors, refitted on the past only (no look-ahead).

:func:`expected_counts` gives, for every period ``t`` and series, the in-control mean ``mu0`` and
a negative-binomial size ``r`` computed from data strictly before ``t``. The detectors
(:func:`~predgov.warn.cusum.nb_cusum`, :func:`~predgov.warn.exceedance.exceedance`) use it with
``baseline="calendar"``.

Model, per series (all series share the design and are fitted together by batched IRLS)::

    y[t] ~ NB(mu[t], size r),   log mu[t] = x[t] @ beta

with ``x[t]`` (:func:`design`):

* intercept and a linear trend (years);
* day of week (daily data);
* yearly Fourier terms (``harmonics`` pairs);
* calendar regressors when a calendar is known (``city=`` or a calendar Dataset passed as
  ``regressors=``, see :func:`predgov.data.calendar.calendar`): ``holiday``, ``makeup_workday``,
  non-working day, every season indicator (``heating_season``, ``tourist_season``) with its onset
  windows (days 0-6, 7-13, 14-27 of the season), one indicator per named holiday block (the run
  of days off around 春节, 国庆节, ...), and for Chinese calendars windows around the Spring
  Festival (lunar new year: days -40..-21, -20..-11, -10..-1, +7..+15, +16..+30);
* exogenous regressors: other numeric variables of ``regressors`` (e.g. ``temperature``), raw
  and multiplied by each season indicator. They are *observed* values of the day scored:
  legitimate, since a day is scored after it ends.

Every coefficient but the intercept has a Gaussian prior (ridge), so rare effects (a holiday seen
once) shrink towards 0 instead of over-fitting.

Fitting (:func:`expected_counts`): every ``refit`` periods at origin ``t0`` the model is fitted on
rows ``t0 - max_history .. t0 - guard - 1`` and predicts ``t0 .. t0 + refit - 1``. Past outbreaks
are down-weighted as in Noufaily et al. (2013): after a first fit, periods whose Anscombe
residual exceeds ``reweight`` (2.58) are left out (``exclude=True``; ``False``: weight ``s^-2``
as Noufaily) and the model is refitted, so an outbreak does not inflate its own baseline.

Pooling (``groups=``, e.g. one id per category): the full model is fitted to each group's total
(large counts: a precise calendar shape), then each series gets that shape as an offset plus its
own intercept and small, strongly shrunk deviations (trend, weekday, calendar, seasons,
exogenous: :data:`DEVIATION_SCALE`). On the demo city this halves the error of ``mu0``.

Recent-level correction: the prediction is multiplied by a shrunken ratio of observed to
predicted counts over the last ``level_window`` periods (out-of-sample predictions, periods with
a standardised residual above ``reweight`` left out), ``(sum y + k m) / (sum mu + k m)`` with
``k = level_prior`` (:data:`LEVEL_PRIOR` = 56 pseudo-periods at the mean prediction ``m``; it
was 28). With the feedback the model itself tracks the level, and the stronger shrinkage keeps
the correction from chasing noise and the first days of an outbreak: on the demo city the
default CUSUM's detection within 3 days rises from 0.792 to 0.813 at 1 false alarm /
series-year (0.805-0.813 for 40-112 pseudo-periods). Per-category pooled dispersion (1/size
shrunk towards the moment estimate of the series' group) and a Huber-winsorised level ratio
were measured too and left out: +0.003-0.005 alone, nothing on top of this prior.

Online outbreak feedback (``feedback=8.0``, default; None: off): an internal NB CUSUM (shift
``feedback_delta`` = 2 SDs, reset at ``feedback``) runs day by day on the model's own mean and
size. When it crosses ``feedback``, every day of its current positive run is flagged and, from
the next period on, left out of the refits (and of the group totals of the pooled fit), the
level correction and the error dispersion. Flags only use data up to the flagging day (no
look-ahead); the decision threshold of the detector is not involved, so a threshold sweep stays
valid. On the demo city this removes the +6% outbreak contamination of ``mu0`` (observed /
expected on outbreak-free days 0.947 -> 0.998) and, with ``dispersion="fit"``, raises the
default CUSUM's detection within 3 days from 0.688 to 0.792 at 1 false alarm / series-year.

After a series' first year the feedback CUSUM is *held* at its threshold when it crosses it
(not reset to 0), so every later day of the same excess that raises it is flagged too, and a
second CUSUM on the same increments with the lower threshold :data:`CALIBRATION_FEEDBACK` (6
daily) leaves its runs out of the self-calibration below (not of the refits or the level, which
must follow a new level). Both only where the expected count is at least 1
(:data:`~predgov.warn.online.CAL_FEEDBACK_MIN_MEAN`). Measured on the synthetic family
(``benchmarks/calibration.py``, seeds 1-2, never the reporting seed 0 or the real sets; daily
members with a mean >= 1): with 3-SD outbreaks every 45-90 days the feedback at 8, reset on
crossing, flagged 28-72 % of the outbreak days and the rest inflated the predictive SD at the
next outbreak by 4-15 % and its mean by 0-12 %; fitting on the outbreak-free copy would have
raised the detection of sustained 3-SD shifts within 3 days from 0.718 to 0.821 at the same
false alarms (1.35 per series-year). Holding took it to 0.747; the calibration feedback to
0.778 at 1.43 false alarms, and to 0.765 at 1.26 with the daily margin lowered from 0.7 to
0.6 for the spread it removes from outbreak-free series (:data:`predgov.warn.cusum.FA_MARGIN`;
first-year false alarms 1.42 -> 1.26). In the first year neither applies: there they raised
the false alarms (demo city, year one: 2.1 -> 2.3 holding, 2.5 with the calibration
feedback).

Release of long excesses (``feedback_max``, default 28 days / 6 weeks / 3 months): a block of
flagged periods longer than that is a new level (a season starting, a lasting shift), not an
outbreak. The whole block is used again and flagging pauses for ``feedback_max`` periods. In a
series' first year the block is shorter (``young_feedback_max``, 14 days): before the yearly
terms exist, a season's rise is flagged, and while it is left out the level lags it.
Before this, a rise the model lagged behind (a season in the first year, before yearly terms
exist) was flagged, left out of the refits and the level, and so never learnt: on Poisson
series of 30-1,000 a day two of twelve series drifted to a third of their level and the default
CUSUM raised 11 false alarms per series-year.

Dispersion (``dispersion="calibrated"``, default since issue 14): the model's mean ``mu`` and
fitted NB size give each period a standardised one-step error ``z = (y - mu) / sd`` (capped at
:data:`ZS_CAP`). Each period's mean and size are then corrected by the mean ``m`` and mean
square ``v`` of the series' own past ``z`` (last :data:`CALIBRATION_WINDOW` periods, flagged
periods left out, shrunk towards 0 and 1 with :data:`CALIBRATION_PRIOR` pseudo-periods):
``mu' = mu x (sum y + k a) / (sum mu + k a)`` over the same periods (``a`` their mean ``mu``, ``k``
the prior) and ``var' = (v - m^2) sd^2``, read as an NB size. This is the predictive
distribution the default CUSUM's thresholds come from (:mod:`predgov.warn.arl`); it corrects
what the in-sample fit misses: the error of estimating the mean, and the bias of leaving large
residuals out of the fit on heavy-tailed series (NB size 1-2: means 10-20 % low and sizes too
large with ``"fit"``). In a series' first year its mean is also off in a way that persists
from day to day (the level lags a season before the yearly terms exist, a trend, the first
weeks' estimate), which an NB of independent days does not describe and a CUSUM accumulates:
``persist`` is that error's variance (in predictive SDs squared), the lag-1 autocovariance of
the same errors (winsorised at :data:`PERSIST_CAP`), shrunk towards ``1 / n`` (the variance of
a mean from ``n`` periods of history); the default CUSUM raises its thresholds for it
(:func:`predgov.warn.arl.persistent_threshold`). On the synthetic family this took the
first-year false alarms per series-year from 9.3 to 5.8 (strongly seasonal), 3.8 to 2.0
(Poisson 30-1,000 a day), 3.2 to 2.4 (trends), with the later years unchanged; the POD of
3-SD outbreaks in the first year fell from 0.63 to 0.53.

``dispersion="fit"``: ``1/size`` is the in-sample NB estimate of the last fit (flagged and >
``reweight`` periods left out). ``dispersion="errors"``: the larger of that and the moments of
the past out-of-sample errors over ``dispersion_window`` periods (errors above ``reweight`` SDs
winsorised), so ``size`` includes the error of estimating ``mu0``; it was the default before
the feedback (0.711 instead of 0.792 with it: outbreak tails the feedback misses inflate the
error moments).

Code: the design matrix in :mod:`predgov.warn.design`, the batched NB fits in
:mod:`predgov.warn.batchfit`, the period-by-period level, dispersion, self-calibration and
feedback in :mod:`predgov.warn.online`; this module runs them (:func:`expected_counts`) and
re-exports their public names. :class:`CalendarModel` is that run kept alive: extended by one
period (:meth:`CalendarModel.extend`: that period's online step, and one batched refit on a
refit origin) it gives what :func:`expected_counts` gives on the longer counts, which is how
:class:`predgov.warn.monitor.Monitor` moves from one day to the next.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from predgov.stats.glm import Design, single_thread
from predgov.stats.nb import size_from_alpha
from predgov.warn._common import periods_per_year, resolve_range
from predgov.warn.batchfit import anscombe, fit_block
from predgov.warn.design import (
    CALENDAR_VARS,
    DEVIATION_SCALE,
    HARMONICS,
    MIN_HISTORY,
    ONSET_WINDOWS,
    PRIOR_SCALE,
    SEASON_VARS,
    design,
    prior_group,
)
from predgov.warn.online import (
    LEVEL_PRIOR,
    PERSIST_CAP,
    YEAR_PERIODS,
    YOUNG_LEVEL_PRIOR,
    ZS_CAP,
    OnlineCalibration,
)

__all__ = [
    "CALENDAR_VARS", "CALIBRATION_FEEDBACK", "CALIBRATION_PRIOR", "CALIBRATION_WINDOW",
    "DEVIATION_SCALE",
    "DISPERSIONS", "DISPERSION_WINDOW", "FEEDBACK_MAX", "HARMONICS", "LEVEL_PRIOR",
    "LEVEL_WINDOW", "MIN_HISTORY", "ONSET_WINDOWS", "PERSIST_CAP", "PRIOR_SCALE", "REFIT",
    "SEASON_VARS", "YEAR_PERIODS", "YOUNG_FEEDBACK_MAX", "YOUNG_LEVEL_PRIOR", "ZS_CAP",
    "CalendarModel", "anscombe", "design", "expected_counts",
]  # fmt: skip

#: Default refit stride (periods).
REFIT = {"D": 7, "W-MON": 1, "MS": 1}
#: Default level-correction and dispersion windows (periods).
LEVEL_WINDOW = {"D": 28, "W-MON": 8, "MS": 4}
DISPERSION_WINDOW = {"D": 182, "W-MON": 52, "MS": 24}
#: Dispersion modes of :func:`expected_counts` (the first is the default).
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


def expected_counts(
    values: np.ndarray,
    time: np.ndarray,
    freq: str,
    *,
    city: str | None = None,
    regressors: Any = None,
    harmonics: int | None = None,
    interactions: bool = True,
    refit: int | None = None,
    max_history: int | None = None,
    min_history: int | None = None,
    guard: int = 0,
    reweight: float | None = 2.58,
    level_window: int | None = None,
    level_prior: float = LEVEL_PRIOR,
    young_level_prior: float | None = YOUNG_LEVEL_PRIOR,
    level_guard: int = 0,
    dispersion_window: int | None = None,
    max_iter: int = 25,
    groups: np.ndarray | None = None,
    exclude: bool = True,
    dispersion: str = "calibrated",
    feedback: float | None = 8.0,
    feedback_delta: float = 2.0,
    feedback_dispersion: bool = True,
    feedback_max: int | None = None,
    young_feedback_max: int | None = None,
    calibration_feedback: float | str | None = "default",
    start: object = None,
    end: object = None,
    return_state: bool = False,
) -> dict[str, Any]:
    """In-control means and NB sizes of every series, each from data before its period only.

    Parameters
    ----------
    values, time, freq
        ``values[time, series]`` (NaN = not observed), time stamps, frequency.
    city, regressors, harmonics, interactions
        The design, see :func:`design`. Neither ``city`` nor ``regressors``: trend, weekday and
        yearly Fourier terms only.
    refit
        Refit every ``refit`` periods (default :data:`REFIT`: weekly for daily data).
    max_history
        Fit on at most this many past periods (default: all).
    min_history
        Periods of history before the first prediction (default :data:`MIN_HISTORY`).
    guard
        Most recent periods before a refit origin left out of the fit.
    reweight, exclude
        Anscombe-residual threshold of the outbreak down-weighting (None: off); leave those
        periods out (True) or weight them ``s^-2`` (False, Noufaily).
    level_window, level_prior, level_guard
        Recent-level correction over this many periods (0: off), shrunk towards 1 with
        ``level_prior`` pseudo-periods, leaving out the last ``level_guard`` periods;
        ``young_level_prior`` in a series' first year (:data:`YOUNG_LEVEL_PRIOR`; None: the
        same as ``level_prior``).
    dispersion
        "fit" (default) or "errors", see the module docstring.
    dispersion_window
        Past periods of out-of-sample errors used for the NB size.
    feedback, feedback_delta, feedback_dispersion
        Online outbreak feedback (None: off): an internal NB CUSUM (shift ``feedback_delta``
        SDs, capped at ``feedback``) runs on the model's own output, day by day; when it
        exceeds ``feedback`` the days of its current positive run are flagged and, from the
        next period on, left out of the refits, the level correction and (if
        ``feedback_dispersion``) the dispersion. See the module docstring.
    feedback_max, young_feedback_max
        Longest block of flagged periods (consecutive, gaps of up to 2 periods bridged) left
        out (default :data:`FEEDBACK_MAX`: 28 days, 6 weeks, 3 months; in a series' first
        year :data:`YOUNG_FEEDBACK_MAX`: 14 days). A longer excess is a new level, not an
        outbreak: the whole block is released (used again), and the series is not flagged for
        another such span while the model catches up.
    groups
        One group id per series: series of a group share their calendar shape. The model is
        first fitted to each group's total, then each series gets that shape as an offset plus
        its own intercept and small deviations (priors :data:`DEVIATION_SCALE`). None: every
        series alone (its own full model).
    start, end
        Only periods from ``start`` (minus a warm-up of ``dispersion_window`` periods) to
        ``end`` are predicted; others are NaN.
    return_state
        Also return the run as ``"state"``, a :class:`CalendarModel` that can be extended a
        period at a time (:meth:`CalendarModel.extend`).

    Returns
    -------
    dict
        ``expected`` (mu0) and ``size`` arrays like ``values``; ``fitted_size`` (the in-sample
        NB size of the last fit, per row), ``error_size`` (the "errors" size), ``flagged``
        (periods flagged by the feedback, as known at the end of the data) and ``persist``
        (with ``dispersion="calibrated"``: the variance of the mean's persistent error, in
        predictive SDs squared, see :func:`predgov.warn.arl.persistent_threshold`).

    Examples
    --------
    >>> t = np.arange("2023-01-01", "2023-06-01", dtype="datetime64[D]")
    >>> y = np.full((len(t), 2), 6.0)
    >>> out = expected_counts(y, t, "D")
    >>> bool(np.allclose(out["expected"][-1], 6.0, rtol=0.02))
    True
    """
    model = CalendarModel(
        values, time, freq, city=city, regressors=regressors, harmonics=harmonics,
        interactions=interactions, refit=refit, max_history=max_history,
        min_history=min_history, guard=guard, reweight=reweight, level_window=level_window,
        level_prior=level_prior, young_level_prior=young_level_prior, level_guard=level_guard,
        dispersion_window=dispersion_window, max_iter=max_iter, groups=groups, exclude=exclude,
        dispersion=dispersion, feedback=feedback, feedback_delta=feedback_delta,
        feedback_dispersion=feedback_dispersion, feedback_max=feedback_max,
        young_feedback_max=young_feedback_max, calibration_feedback=calibration_feedback,
        start=start, end=end,
    )  # fmt: skip
    out = model.outputs()
    if return_state:
        out["state"] = model
    return out


class CalendarModel:
    """The run of :func:`expected_counts` kept alive, so that it can be extended a period at a
    time (:meth:`extend`) with the values a run on the longer counts gives.

    Built on ``values`` (``T`` periods) it holds the batched fits and the online state after
    period ``T - 1``; with ``next_time`` it also predicts period ``T`` (:meth:`next_row`), and
    :meth:`extend` records that period's counts and predicts the one after (one batched GLM
    refit when it is a refit origin). Parameters as :func:`expected_counts`.

    Examples
    --------
    >>> t = np.arange("2023-01-01", "2023-04-01", dtype="datetime64[D]")
    >>> y = np.random.default_rng(0).poisson(6.0, (len(t), 2)).astype(float)
    >>> m = CalendarModel(y[:-2], t[:-2], "D", next_time=t[-2])
    >>> m.extend(y[-2], t[-1])
    False
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
        """``expected``, ``size``, ``persist`` of period ``T`` (as :func:`expected_counts`
        on the counts extended by it), one value per series."""
        t, on = self.T, self.online
        mu0, size = on.mu0[t], on.size[t]
        if self.dispersion == "fit":
            size = np.where(np.isfinite(mu0), size_from_alpha(on.inv_fit[t]), np.nan)
        elif self.dispersion == "calibrated":
            mu0, size = on.mu_cal[t], on.size_cal[t]
        return {"expected": mu0.copy(), "size": size.copy(), "persist": on.persist[t].copy()}

    def extend(self, y: np.ndarray, next_time: Any) -> bool:
        """Record period ``T``'s counts ``y`` (NaN = unobserved) and predict the period after,
        ``next_time``: the values :func:`expected_counts` gives on the longer counts.

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
        """:func:`expected_counts`' output over the periods before ``T``."""
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
