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
feedback in :mod:`predgov.warn.online`; the run of all three, with its default windows and
strides (:data:`REFIT`, :data:`FEEDBACK_MAX`, ...), in :mod:`predgov.warn.calendar_model`.
This module is the one-call front, :func:`expected_counts`, and re-exports their public names.
:class:`~predgov.warn.calendar_model.CalendarModel` is that run kept alive: extended by one
period (:meth:`~predgov.warn.calendar_model.CalendarModel.extend`: that period's online step,
and one batched refit on a refit origin) it gives what :func:`expected_counts` gives on the
longer counts, which is how :class:`predgov.warn.monitor.Monitor` moves from one day to the
next.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from predgov.warn.batchfit import anscombe
from predgov.warn.calendar_model import (
    CALIBRATION_FEEDBACK,
    CALIBRATION_PRIOR,
    CALIBRATION_WINDOW,
    DISPERSION_WINDOW,
    DISPERSIONS,
    FEEDBACK_MAX,
    LEVEL_WINDOW,
    REFIT,
    YOUNG_FEEDBACK_MAX,
    CalendarModel,
)
from predgov.warn.design import (
    CALENDAR_VARS,
    DEVIATION_SCALE,
    HARMONICS,
    MIN_HISTORY,
    ONSET_WINDOWS,
    PRIOR_SCALE,
    SEASON_VARS,
    design,
)
from predgov.warn.online import LEVEL_PRIOR, PERSIST_CAP, YEAR_PERIODS, YOUNG_LEVEL_PRIOR, ZS_CAP

__all__ = [
    "CALENDAR_VARS", "CALIBRATION_FEEDBACK", "CALIBRATION_PRIOR", "CALIBRATION_WINDOW",
    "DEVIATION_SCALE",
    "DISPERSIONS", "DISPERSION_WINDOW", "FEEDBACK_MAX", "HARMONICS", "LEVEL_PRIOR",
    "LEVEL_WINDOW", "MIN_HISTORY", "ONSET_WINDOWS", "PERSIST_CAP", "PRIOR_SCALE", "REFIT",
    "SEASON_VARS", "YEAR_PERIODS", "YOUNG_FEEDBACK_MAX", "YOUNG_LEVEL_PRIOR", "ZS_CAP",
    "CalendarModel", "anscombe", "design", "expected_counts",
]  # fmt: skip


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
        Also return the run as ``"state"``, a
        :class:`~predgov.warn.calendar_model.CalendarModel` that can be extended a period at
        a time (:meth:`~predgov.warn.calendar_model.CalendarModel.extend`).

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
