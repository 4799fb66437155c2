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

Release of long excesses (``feedback_max``, default 28 days / 6 weeks / 3 months): a block of
flagged periods longer than that is a new level (a season starting, a lasting shift), not an
outbreak. The whole block is used again and flagging pauses for ``feedback_max`` periods.
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
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from predgov.data.calendar import (
    SPRING_FESTIVAL_WINDOWS,
    calendar,
    is_chinese_calendar,
    spring_festival_shares,
)
from predgov.data.freq import time_frame
from predgov.stats.glm import Design, irls, single_thread
from predgov.stats.nb import (
    MAX_DISPERSION,
    POISSON_SIZE,
    moment_alpha,
    nb_alpha,
    nb_llr,
    size_from_alpha,
)
from predgov.warn._common import (
    periods_per_year,
    resolve_range,
    weekly_cycle,
)

#: Calendar indicator variables with a special meaning (everything else numeric is exogenous).
CALENDAR_VARS = ("holiday", "makeup_workday", "working_day", "weekend")
#: Season indicators get onset windows (days since the season started).
SEASON_VARS = ("heating_season", "tourist_season")
#: Onset windows of a season, days since its first day (inclusive ranges).
ONSET_WINDOWS = ((0, 6), (7, 13), (14, 27))
#: Default yearly Fourier pairs per frequency.
HARMONICS = {"D": 6, "W-MON": 4, "MS": 3}
#: Default refit stride (periods).
REFIT = {"D": 7, "W-MON": 1, "MS": 1}
#: Default history needed before the first prediction (periods).
MIN_HISTORY = {"D": 56, "W-MON": 26, "MS": 12}
#: Default level-correction and dispersion windows (periods).
LEVEL_WINDOW = {"D": 28, "W-MON": 8, "MS": 4}
DISPERSION_WINDOW = {"D": 182, "W-MON": 52, "MS": 24}
#: Pseudo-periods of the level prior in a series' first year, before the yearly terms exist:
#: the level must follow the season. On the synthetic family (benchmarks/calibration.py) the
#: default's false alarms in the first year fell from 8.7 to 3.3 per series-year on strongly
#: seasonal series and from 1.3 to 0.6 on Poisson series of 30-1,000 a day (56 -> 14).
YOUNG_LEVEL_PRIOR: float = 14.0
#: A year in days (the first-year rule of :data:`YOUNG_LEVEL_PRIOR`; weekly / monthly data
#: convert it with their period length).
YEAR_PERIODS: int = 365
#: Standardised errors are capped at this many SDs before they enter the self-calibration.
ZS_CAP = 8.0
#: ... and winsorised at this many SDs for the persistence of the mean's error (first year
#: only, see ``persist`` in :func:`expected_counts`). Chosen on the synthetic family among 1.5,
#: 2 and 8 (benchmarks/calibration.py; first-year false alarms vs. POD of 3-SD outbreaks).
PERSIST_CAP = 2.0
#: Dispersion modes of :func:`expected_counts` (the first is the default).
DISPERSIONS = ("calibrated", "fit", "errors")
#: Past periods of standardised errors behind the self-calibration, and its prior weight.
CALIBRATION_WINDOW = {"D": 365, "W-MON": 104, "MS": 36}
CALIBRATION_PRIOR = {"D": 56.0, "W-MON": 16.0, "MS": 8.0}
#: Longest block of periods the outbreak feedback leaves out before accepting it as a new level.
FEEDBACK_MAX = {"D": 28, "W-MON": 6, "MS": 3}
#: Pseudo-periods (at the predicted level) that shrink the recent-level ratio towards 1.
LEVEL_PRIOR = 56.0

#: Prior standard deviations (log scale, per unit of the column) by column group.
PRIOR_SCALE = {
    "trend": 0.3,
    "dow": 1.0,
    "fourier": 1.0,
    "calendar": 1.0,
    "season": 5.0,
    "onset": 1.0,
    "block": 1.0,
    "spring": 1.5,
    "exog": 0.5,
}
#: Prior SDs of a series' deviations from its group's shape (two-stage fit, ``groups=``).
DEVIATION_SCALE = {
    "trend": 0.05,
    "dow": 0.05,
    "calendar": 0.1,
    "season": 0.7,
    "exog": 0.05,
}


# ------------------------------------------------------------------------------ regressors
def _regressor_frame(regressors: Any, time: np.ndarray) -> pd.DataFrame:
    """Regressors as a DataFrame indexed like ``time`` (NaN where missing)."""
    index = pd.DatetimeIndex(np.asarray(time, dtype="datetime64[ns]"))
    if regressors is None:
        return pd.DataFrame(index=index)
    return time_frame(regressors, index)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) of every run of True."""
    out, i, n = [], 0, len(mask)
    while i < n:
        if not mask[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and mask[j + 1]:
            j += 1
        out.append((i, j))
        i = j + 1
    return out


def _holiday_key(name: str) -> str:
    """Holiday family of a ``holidays`` name: '国庆节（补假）' -> '国庆节'."""
    for sep in ("（", "(", " ("):
        name = name.split(sep)[0]
    return name.strip()


def design(
    time: np.ndarray,
    freq: str,
    *,
    city: str | None = None,
    regressors: Any = None,
    harmonics: int | None = None,
    interactions: bool = True,
    reference_rows: int | None = None,
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Design matrix of the expected-count model over ``time``.

    Parameters
    ----------
    time, freq
        Time stamps and cube frequency.
    city
        Build the calendar with :func:`predgov.data.calendar.calendar` for this city (its
        holidays, make-up workdays and seasons). Variables of ``regressors`` win over it.
    regressors
        ``xr.Dataset`` (over ``time``), DataFrame or dict of arrays: calendar variables
        (``holiday``, ``makeup_workday``, ``working_day``, season indicators, ``holiday_name``)
        and exogenous numeric regressors (e.g. ``temperature``), observed on the scored day.
    harmonics
        Yearly Fourier pairs (default :data:`HARMONICS`).
    interactions
        Also add every exogenous regressor multiplied by every season indicator.
    reference_rows
        Exogenous regressors are centred and scaled by their mean and SD over the first
        ``reference_rows`` rows (default :data:`MIN_HISTORY`), history for every prediction.

    Returns
    -------
    X, names, prior_scale
        ``X (time, p)``, column names, prior SD per column (``inf`` for the intercept).

    Examples
    --------
    >>> t = pd.date_range("2024-01-01", periods=14, freq="D").values
    >>> X, names, scale = design(t, "D", harmonics=1)
    >>> names[:3], X.shape
    (['intercept', 'trend', 'dow1'], (14, 10))
    """
    index = pd.DatetimeIndex(np.asarray(time, dtype="datetime64[ns]"))
    n = len(index)
    K = HARMONICS[freq] if harmonics is None else int(harmonics)
    cols: list[np.ndarray] = []
    names: list[str] = []
    scale: list[float] = []

    def add(col, name, group):
        col = np.asarray(col, dtype=np.float64)
        if not np.any(col != 0):
            return
        cols.append(col)
        names.append(name)
        scale.append(PRIOR_SCALE[group] if group else math.inf)

    days = (index.values - np.datetime64("2000-01-01", "ns")) / np.timedelta64(1, "D")
    years = days / 365.25
    add(np.ones(n), "intercept", None)
    add(years - years[0] if n else years, "trend", "trend")
    if weekly_cycle(freq):
        dow = index.day_of_week.to_numpy()
        for j in range(1, 7):
            add(dow == j, f"dow{j}", "dow")
    for k in range(1, K + 1):
        arg = 2 * np.pi * k * days / 365.25
        add(np.cos(arg), f"cos{k}", "fourier")
        add(np.sin(arg), f"sin{k}", "fourier")

    frame = _regressor_frame(regressors, index.values)
    country = None
    if city is not None:
        cal_ds = calendar((index[0], index[-1], freq), city)
        country = cal_ds.attrs.get("country")
        cal = cal_ds.to_dataframe()
        cal.index = index
        for c in cal.columns:
            if c not in frame.columns:
                frame[c] = cal[c]
    names_col = frame.pop("holiday_name") if "holiday_name" in frame.columns else None
    # Weekly/monthly: a Chinese calendar by its attrs (the city's calendar, or regressors from
    # calendar()); daily data recognise it by its holiday names below.
    chinese_calendar = country == "CN" or is_chinese_calendar(regressors)

    if "holiday" in frame:
        add(frame["holiday"].fillna(0).to_numpy(float), "holiday", "calendar")
    if "makeup_workday" in frame:
        add(frame["makeup_workday"].fillna(0).to_numpy(float), "makeup_workday", "calendar")
    if "working_day" in frame:
        add(1.0 - frame["working_day"].fillna(1).to_numpy(float), "non_working", "calendar")
    seasons = {}
    for var in [c for c in frame.columns if c.endswith("_season")]:
        s = frame[var].fillna(0).to_numpy(float)
        seasons[var] = s
        add(s, var, "season")
        if freq == "D":
            on = s > 0.5
            since = np.full(n, -1)
            for a, b in _runs(on):
                since[a : b + 1] = np.arange(b - a + 1)
            for lo, hi in ONSET_WINDOWS:
                add((since >= lo) & (since <= hi), f"{var}_onset{lo}_{hi}", "onset")

    if freq == "D" and names_col is not None and "working_day" in frame:
        off = frame["working_day"].fillna(1).to_numpy(float) < 0.5
        hol_names = names_col.fillna("").astype(str).to_numpy()
        blocks: dict[str, np.ndarray] = {}
        for a, b in _runs(off | (hol_names != "")):
            keys = [_holiday_key(x) for x in hol_names[a : b + 1] if x]
            keys = [k for k in keys if k and not k.startswith("休息日")]
            if not keys:
                continue
            key = max(set(keys), key=keys.count)
            blocks.setdefault(key, np.zeros(n))[a : b + 1] = 1.0
        for key in sorted(blocks):
            add(blocks[key], f"block_{key}", "block")
        daily_chinese = any("春节" in x for x in hol_names) or any(
            "Spring Festival" in x for x in hol_names
        )
    else:
        daily_chinese = False
    use_festival = daily_chinese if freq == "D" else chinese_calendar
    if use_festival:
        # Daily: 0/1 windows (for a calendar naming 春节); weekly / monthly: the share of each
        # period's days in each window. Yearly Fourier terms cannot follow the lunar date
        # (21 Jan - 20 Feb): without these, a festival dip is expected in the weeks of last
        # year's festival.
        shares = spring_festival_shares(index, freq, SPRING_FESTIVAL_WINDOWS)
        for j, (lo, hi) in enumerate(SPRING_FESTIVAL_WINDOWS):
            add(shares[:, j], f"spring_festival{lo}_{hi}", "spring")

    special = set(CALENDAR_VARS) | set(seasons)
    for var in frame.columns:
        if var in special or not pd.api.types.is_numeric_dtype(frame[var]):
            continue
        v = frame[var].to_numpy(float)
        if np.isnan(v).all():
            continue
        ref = v[: max(2, MIN_HISTORY[freq] if reference_rows is None else reference_rows)]
        centre = np.nanmean(ref) if np.isfinite(ref).any() else np.nanmean(v)
        spread = np.nanstd(ref) if np.isfinite(ref).sum() > 1 else 1.0
        spread = spread if spread > 0 else 1.0
        v = (np.where(np.isnan(v), centre, v) - centre) / spread
        add(v, var, "exog")
        if interactions:
            for sname, s in seasons.items():
                add(v * s, f"{var}_x_{sname}", "exog")
    X = np.column_stack(cols) if cols else np.zeros((n, 0))
    return X, names, np.asarray(scale)


# ------------------------------------------------------------------------------ fitting
def _nb_irls(
    X: Design,
    Y: np.ndarray,
    weight: np.ndarray,
    beta: np.ndarray,
    penalty: np.ndarray,
    inv_size: np.ndarray,
    max_iter: int,
    offset: np.ndarray | None = None,
    tol: float = 1e-5,
) -> tuple[np.ndarray, np.ndarray]:
    """Penalised NB IRLS (log link, known size ``1 / inv_size`` per series) for many series
    sharing a design (:func:`predgov.stats.glm.irls`); returns coefficients and means."""
    fit = irls(X, Y, alpha=inv_size, weights=weight, offset=offset, penalty=penalty, start=beta,
               max_iter=max_iter, tol=tol, eta_bounds=(-30.0, 20.0))  # fmt: skip
    return fit.coef, fit.mean


def anscombe(y: np.ndarray, mu: np.ndarray, inv_size: np.ndarray) -> np.ndarray:
    """Anscombe residual of a Poisson count scaled by the NB extra variance
    ``sqrt(1 + mu / size)`` (the Noufaily down-weighting statistic)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        s = 1.5 * (np.maximum(y, 0) ** (2.0 / 3.0) * mu ** (-1.0 / 6.0) - np.sqrt(mu))
        return s / np.sqrt(1.0 + mu * inv_size)


def _group_of(name: str) -> str:
    """Prior group of a design column name."""
    if name == "intercept":
        return "intercept"
    if name == "trend":
        return "trend"
    if name.startswith("dow"):
        return "dow"
    if name.startswith(("cos", "sin")):
        return "fourier"
    if "_onset" in name:
        return "onset"
    if name.startswith("block_"):
        return "block"
    if name.startswith("spring_festival"):
        return "spring"
    if name.endswith("_season"):
        return "season"
    if name in ("holiday", "makeup_workday", "non_working"):
        return "calendar"
    return "exog"


def _fit_block(
    Xk: Design,
    y: np.ndarray,
    penalty: np.ndarray,
    offset: np.ndarray | None,
    states: dict,
    key: str,
    *,
    keep: np.ndarray,
    n_min: int,
    reweight: float | None,
    max_iter: int,
    exclude: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Fit the columns ``keep`` to every column of ``y`` (NaN = unobserved) with warm starts
    from ``states[key]``; returns coefficients of the fitted series, which series and 1/size."""
    obs = ~np.isnan(y)
    if offset is not None:
        obs &= np.isfinite(offset)
    Y = np.where(obs, y, 0.0)
    w = obs.astype(np.float64)
    ok = (obs.sum(0) >= n_min // 2) & (Y.sum(0) > 0)
    if not ok.any():
        return None
    S, p_all = y.shape[1], keep.size
    pk = Xk.n_columns
    beta = np.zeros((S, pk))
    off = np.zeros(Y.shape) if offset is None else np.where(obs, offset, 0.0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        base = np.sum(w * np.exp(np.clip(off, -30, 20)), axis=0)
        beta[:, 0] = np.log((Y.sum(0) + 1e-3) / np.maximum(base, 1e-9))
    prev = states.get(key)
    if prev is not None and prev.shape == (S, p_all):
        warm = prev[:, keep]
        good = np.isfinite(warm).all(1)
        beta[good] = warm[good]
    Yk, wk, bk, ok_off = Y[:, ok], w[:, ok], beta[ok], off[:, ok]
    inv = np.zeros(Yk.shape[1])
    bk, mu = _nb_irls(Xk, Yk, wk, bk, penalty, inv, max_iter, ok_off)
    inv = nb_alpha(Yk, mu, weights=wk, n_params=pk)
    if reweight is not None:
        s = anscombe(Yk, mu, inv)
        down = 0.0 if exclude else 1.0 / np.square(s)
        wk = np.where((s > reweight) & (wk > 0), down, wk)
    bk, mu = _nb_irls(Xk, Yk, wk, bk, penalty, inv, max_iter, ok_off)
    inv = nb_alpha(Yk, mu, weights=wk, n_params=pk)
    full = np.full((S, p_all), np.nan) if prev is None or prev.shape != (S, p_all) else prev
    full[np.ix_(ok, keep)] = bk
    full[np.ix_(ok, ~keep)] = 0.0
    states[key] = full
    return bk, ok, inv


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
    start: object = None,
    end: object = None,
) -> dict[str, np.ndarray]:
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
    feedback_max
        Longest block of flagged periods (consecutive, gaps of up to 2 periods bridged) left
        out (default :data:`FEEDBACK_MAX`: 28 days, 6 weeks, 3 months). A longer excess is a
        new level, not an outbreak: the whole block is released (used again), and the series
        is not flagged for another ``feedback_max`` periods while the model catches up.
    groups
        One group id per series: series of a group share their calendar shape. The model is
        first fitted to each group's total, then each series gets that shape as an offset plus
        its own intercept and small deviations (priors :data:`DEVIATION_SCALE`). None: every
        series alone (its own full model).
    start, end
        Only periods from ``start`` (minus a warm-up of ``dispersion_window`` periods) to
        ``end`` are predicted; others are NaN.

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
    x = np.asarray(values, dtype=np.float64)
    T, S = x.shape
    refit = int(REFIT[freq] if refit is None else refit)
    n_min = int(MIN_HISTORY[freq] if min_history is None else min_history)
    n_level = int(LEVEL_WINDOW[freq] if level_window is None else level_window)
    n_disp = int(DISPERSION_WINDOW[freq] if dispersion_window is None else dispersion_window)
    X, names, prior = design(
        time, freq, city=city, regressors=regressors, harmonics=harmonics,
        interactions=interactions, reference_rows=n_min,
    )  # fmt: skip
    penalty = np.where(np.isfinite(prior), 1.0 / np.square(prior), 0.0)

    i0, i1 = resolve_range(time, start, end)
    first = max(n_min, i0 - n_disp - n_level if start is not None else 0)
    groups = np.arange(S) if groups is None else np.asarray(groups).ravel()
    if groups.shape != (S,):
        raise ValueError(f"groups needs one id per series ({S}), got shape {groups.shape}")
    _, gid = np.unique(groups, return_inverse=True)
    G = int(gid.max()) + 1 if S else 0
    member = np.zeros((S, G))
    member[np.arange(S), gid] = 1.0
    pooled = G < S

    # Group totals: observed where any member is, scaled up for unobserved members.
    def group_totals(xs: np.ndarray) -> np.ndarray:
        obs = ~np.isnan(xs)
        n_obs_g = obs.astype(np.float64) @ member
        with np.errstate(invalid="ignore", divide="ignore"):
            tot = np.where(obs, xs, 0.0) @ member * (member.sum(0) / n_obs_g)
        return np.where(n_obs_g > 0, tot, np.nan)

    xg = group_totals(x) if pooled else None
    dev_prior = np.array([DEVIATION_SCALE.get(_group_of(nm), math.inf) for nm in names])
    dev_prior[0] = math.inf
    dev_cols = np.array([_group_of(nm) in DEVIATION_SCALE for nm in names])
    yearly_cols = np.array([_group_of(nm) == "fourier" for nm in names])
    year = round(periods_per_year(freq))
    dev_cols[0] = True
    dev_penalty = np.where(np.isfinite(dev_prior), 1.0 / np.square(dev_prior), 0.0)
    states: dict[str, np.ndarray | None] = {"g": None, "s": None}
    if dispersion not in DISPERSIONS:
        raise ValueError(f"dispersion must be one of {DISPERSIONS}, got {dispersion!r}")
    online = _Online(
        x, n_level, level_prior, level_guard, n_disp, reweight, feedback, feedback_delta,
        feedback_dispersion, int(FEEDBACK_MAX[freq] if feedback_max is None else feedback_max),
        calibrate=dispersion == "calibrated", n_cal=int(CALIBRATION_WINDOW[freq]),
        cal_prior=CALIBRATION_PRIOR[freq], year=round(periods_per_year(freq)),
        young_prior=level_prior if young_level_prior is None else young_level_prior,
    )  # fmt: skip
    mu_raw = online.mu_raw
    with single_thread():
        for t0 in range(first, i1, refit):
            hi = t0 - guard
            lo = 0 if max_history is None else max(0, hi - int(max_history))
            online.advance(t0)
            if hi - lo < n_min:
                continue
            rows = slice(lo, hi)
            x_fit = online.x_fit
            keep = np.any(X[rows] != 0, axis=0)
            if hi - lo < year:  # yearly terms need a year of history, else they extrapolate
                keep &= ~yearly_cols
            keep[0] = True
            Xk = X[rows][:, keep]
            Xp = X[t0 : min(t0 + refit, T)][:, keep]
            fit = partial(
                _fit_block, Design(Xk), keep=keep, n_min=n_min, reweight=reweight,
                max_iter=max_iter, exclude=exclude,
            )  # fmt: skip
            ts = slice(t0, min(t0 + refit, T))
            if pooled:
                dev_keep = keep & dev_cols
                Xd = X[rows][:, dev_keep]
                fit_dev = partial(
                    _fit_block, Design(Xd), keep=dev_keep, n_min=n_min, reweight=reweight,
                    max_iter=max_iter, exclude=exclude,
                )  # fmt: skip
                xg_rows = group_totals(x_fit[rows]) if feedback is not None else xg[rows]
                res_g = fit(xg_rows, penalty[keep], None, states, "g")
                if res_g is None:
                    continue
                bg, okg, _ = res_g
                off_fit = np.full((hi - lo, S), np.nan)
                off_pred = np.full((Xp.shape[0], S), np.nan)
                bgs = np.zeros((G, Xk.shape[1]))
                bgs[okg] = bg
                bgs[:, 0] = 0.0  # the series' own intercept replaces the group's
                has = okg[gid]
                off_fit[:, has] = (Xk @ bgs.T)[:, gid[has]]
                off_pred[:, has] = (Xp @ bgs.T)[:, gid[has]]
                res = fit_dev(x_fit[rows], dev_penalty[dev_keep], off_fit, states, "s")
            else:
                off_pred = None
                res = fit(x_fit[rows], penalty[keep], None, states, "s")
            if res is None:
                continue
            bs, ok, inv = res
            cols = np.flatnonzero(ok)
            if off_pred is not None:
                eta = X[ts][:, dev_keep] @ bs.T + off_pred[:, cols]
            else:
                eta = Xp @ bs.T
            mu_raw[ts, cols] = np.exp(np.clip(eta, -30.0, 20.0))
            online.inv_fit[ts, cols] = inv
        online.advance(T)

    mu0, size = online.mu0, online.size
    fitted = size_from_alpha(online.inv_fit)
    fitted = np.where(np.isfinite(mu0), fitted, np.nan)
    chosen = {"fit": fitted, "errors": size, "calibrated": online.size_cal}[dispersion]
    if dispersion == "calibrated":
        mu0 = online.mu_cal
    return {
        "expected": mu0, "size": chosen, "fitted_size": fitted, "error_size": size,
        "flagged": online.flag, "model_expected": online.mu0, "persist": online.persist,
    }  # fmt: skip


class _Online:
    """Day-by-day state after the model's raw predictions: recent-level correction, NB size
    from past out-of-sample errors and the feedback flags, each period from the past only.

    ``advance(t)`` processes every period before ``t`` not yet processed; periods whose raw
    prediction is NaN stay NaN.
    """

    def __init__(self, x, n_level, level_prior, level_guard, n_disp, reweight, feedback,
                 feedback_delta, feedback_dispersion, feedback_max=28, calibrate=False,
                 n_cal=365, cal_prior=56.0, year=YEAR_PERIODS,
                 young_prior=YOUNG_LEVEL_PRIOR):  # fmt: skip
        T, S = x.shape
        self.x = x
        self.x_fit = x.copy() if feedback is not None else x  # flagged periods -> NaN
        self.mu_raw = np.full((T, S), np.nan)
        self.inv_fit = np.full((T, S), np.nan)
        self.mu0 = np.full((T, S), np.nan)
        self.size = np.full((T, S), np.nan)
        self.flag = np.zeros((T, S), dtype=bool)
        self.clean = np.zeros((T, S), dtype=bool)  # level-correction rows
        self.e2 = np.full((T, S), np.nan)  # winsorised squared errors (dispersion rows)
        self.n_level, self.level_prior, self.level_guard = n_level, level_prior, level_guard
        self.n_disp = n_disp
        self.cut = reweight if reweight is not None else np.inf
        self.feedback, self.delta = feedback, feedback_delta
        self.feedback_dispersion = feedback_dispersion
        self.state = np.zeros(S)
        self.run_start = np.full(S, -1)
        self.e2_kept = np.full((T, S), np.nan)  # errors of flagged periods, for a release
        self.feedback_max = int(feedback_max)
        self.block = np.full(S, -1)  # first period of the current block of flagged periods
        self.block_end = np.full(S, -10)
        self.quiet_until = np.full(S, -1)  # no flags before this period (after a release)
        self.calibrate, self.n_cal, self.cal_prior = calibrate, int(n_cal), float(cal_prior)
        # first year of each series (no yearly terms yet): the level follows faster
        observed = ~np.isnan(x)
        self.first = np.where(observed.any(0), observed.argmax(0), T)
        self.young_prior = float(young_prior)
        self.year = year
        self.zs = np.full((T, S), np.nan)  # standardised errors behind the self-calibration
        self.zs_kept = np.full((T, S), np.nan)
        self.mu_cal = np.full((T, S), np.nan)
        self.size_cal = np.full((T, S), np.nan)
        self.persist = np.full((T, S), np.nan)
        self.done = 0

    def advance(self, t_end: int) -> None:
        for t in range(self.done, t_end):
            self._step(t)
        self.done = max(self.done, t_end)

    def _step(self, t: int) -> None:
        raw = self.mu_raw[t]
        if not np.isfinite(raw).any():
            return
        x = self.x[t]
        inv = np.where(np.isfinite(self.inv_fit[t]), self.inv_fit[t], 0.0)
        usable = ~np.isnan(x) & np.isfinite(raw)
        # level: shrunken observed / predicted over recent clean periods
        mu = raw
        if self.n_level > 0:
            hi = t - self.level_guard
            lo = max(0, hi - self.n_level)
            if hi > lo:
                c = self.clean[lo:hi]
                sy = np.where(c, self.x[lo:hi], 0.0).sum(0)
                sm = np.where(c, self.mu_raw[lo:hi], 0.0).sum(0)
                k = c.sum(0)
                prior = np.where(t - self.first < self.year, self.young_prior, self.level_prior)
                with np.errstate(invalid="ignore", divide="ignore"):
                    avg = sm / np.maximum(k, 1.0)
                    ratio = (sy + prior * avg) / (sm + prior * avg)
                ratio = np.where(np.isfinite(ratio) & (k > 0), ratio, 1.0)
                mu = raw * ratio
        self.mu0[t] = mu
        # dispersion: moments of past out-of-sample errors
        lo = max(0, t - self.n_disp)
        e2 = self.e2[lo:t]
        ok = np.isfinite(e2)
        m = np.where(ok, self.mu0[lo:t], 0.0)
        a = np.where(ok, e2, 0.0).sum(0)
        b, c, k = m.sum(0), (m**2).sum(0), ok.sum(0)
        inv_oos = moment_alpha(a, b, c)
        r = size_from_alpha(np.where((k >= 28) & (c > 0), np.maximum(inv_oos, inv), inv))
        self.size[t] = np.where(np.isfinite(mu), r, np.nan)
        sd_fit = np.sqrt(mu * (1.0 + mu * inv))
        mu_fb, r_fb = mu, self.size[t]
        if self.calibrate:
            mu_fb, r_fb = self._calibrated(t, mu, sd_fit)
        # this period's error, for later periods
        z = anscombe(x, raw, inv)
        self.clean[t] = usable & ~(np.abs(z) > self.cut)
        with np.errstate(invalid="ignore", divide="ignore"):
            err = np.minimum(x - mu, self.cut * sd_fit)
            zs = np.clip((x - mu) / sd_fit, -ZS_CAP, ZS_CAP)
        self.e2[t] = np.where(usable & np.isfinite(mu), err**2, np.nan)
        self.zs[t] = np.where(usable & np.isfinite(mu) & (sd_fit > 0), zs, np.nan)
        if self.feedback is not None:
            self._feedback(t, x, mu_fb, r_fb, usable)

    def _calibrated(self, t: int, mu: np.ndarray, sd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Self-calibration: the mean and NB size of period ``t`` corrected by the mean ``m``
        and spread ``v`` of the series' own past standardised one-step errors ``(y - mu) / sd``
        (last ``n_cal`` periods, flagged ones left out, shrunk towards 0 and 1 with
        ``cal_prior`` pseudo-periods): ``mu' = mu x`` the shrunken ratio of observed to
        expected sums there, ``var' = (v - m^2) sd^2``."""
        lo = max(0, t - self.n_cal)
        zw = self.zs[lo:t]
        ok = np.isfinite(zw)
        n = ok.sum(0)
        s1 = np.where(ok, zw, 0.0).sum(0)
        s2 = np.where(ok, zw * zw, 0.0).sum(0)
        m = s1 / (n + self.cal_prior)
        v = np.maximum((s2 + self.cal_prior) / (n + self.cal_prior) - m * m, 0.25)
        # the mean as a ratio of sums (a mean of z would weight under-predicted periods, whose
        # sd is small, too much)
        sy = np.where(ok, self.x[lo:t], 0.0).sum(0)
        sm = np.where(ok, self.mu0[lo:t], 0.0).sum(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            avg = sm / np.maximum(n, 1)
            ratio = (sy + self.cal_prior * avg) / (sm + self.cal_prior * avg)
            ratio = np.where(np.isfinite(ratio) & (n > 0), ratio, 1.0)
            mu_c = np.maximum(mu * ratio, 0.5 * mu)
            alpha = np.clip((v * sd * sd - mu_c) / (mu_c * mu_c), 0.0, MAX_DISPERSION)
        r = size_from_alpha(alpha)
        self.mu_cal[t] = mu_c
        self.size_cal[t] = np.where(np.isfinite(mu_c), r, np.nan)
        # persistent error of the mean in the series' first year (no yearly terms yet: the
        # level lags a season, a trend, the first weeks' estimate): the lag-1 autocovariance
        # of the errors (winsorised at PERSIST_CAP SDs, so that outbreaks weigh less), shrunk
        # towards the variance of a mean estimated from the history so far, 1 / its length
        zc = np.clip(zw, -PERSIST_CAP, PERSIST_CAP)
        mc = np.where(ok, zc, 0.0).sum(0) / (n + self.cal_prior)
        pair = ok[1:] & ok[:-1]
        n_p = pair.sum(0)
        sp = np.where(pair, zc[1:] * zc[:-1], 0.0).sum(0)
        g0 = 1.0 / np.maximum(t - self.first + 1, 1)
        g = (sp + self.cal_prior * g0) / (n_p + self.cal_prior) - mc * mc
        g = np.where(t - self.first < self.year, g, 0.0)
        self.persist[t] = np.where(np.isfinite(mu_c), np.clip(g / v, 0.0, 1.0), np.nan)
        return mu_c, self.size_cal[t]

    def _feedback(self, t, x, mu, r, usable) -> None:
        mu_s = np.where(usable, mu, 1.0)
        r_s = np.where(usable, r, POISSON_SIZE)
        sd0 = np.sqrt(mu_s + mu_s**2 / r_s)
        a, c = nb_llr(mu_s, mu_s + self.delta * np.maximum(sd0, 0.5), r_s)
        llr = np.where(usable, a * np.where(usable, x, 0.0) + c, 0.0)
        new = np.maximum(0.0, self.state + llr)
        self.run_start = np.where(new <= 0, -1, np.where(self.state <= 0, t, self.run_start))
        hit = np.flatnonzero(usable & (new > self.feedback) & (self.run_start >= 0))
        self.state = np.where(new > self.feedback, 0.0, new)
        for s_ in hit:
            if t < self.quiet_until[s_]:
                continue
            first = int(self.run_start[s_])
            if first > self.block_end[s_] + 3:  # a new block (gaps of <= 2 periods bridged)
                self.block[s_] = first
            self.block_end[s_] = t
            if t - self.block[s_] + 1 > self.feedback_max:
                self._release(s_, int(self.block[s_]), t)
                continue
            rows = slice(first, t + 1)
            self.flag[rows, s_] = True
            self.clean[rows, s_] = False
            self.x_fit[rows, s_] = np.nan
            if self.feedback_dispersion:
                keep = np.isfinite(self.e2[rows, s_])
                self.e2_kept[rows, s_] = np.where(keep, self.e2[rows, s_], self.e2_kept[rows, s_])
                self.e2[rows, s_] = np.nan
            keep = np.isfinite(self.zs[rows, s_])
            self.zs_kept[rows, s_] = np.where(keep, self.zs[rows, s_], self.zs_kept[rows, s_])
            self.zs[rows, s_] = np.nan

    def _release(self, s_: int, first: int, last: int) -> None:
        """An excess longer than ``feedback_max`` periods: a new level, not an outbreak. Its
        periods are used again from the next period on, and flagging pauses for a while."""
        rows = slice(first, last + 1)
        self.flag[rows, s_] = False
        self.x_fit[rows, s_] = self.x[rows, s_]
        self.clean[rows, s_] = ~np.isnan(self.x[rows, s_]) & np.isfinite(self.mu_raw[rows, s_])
        if self.feedback_dispersion:
            kept = self.e2_kept[rows, s_]
            self.e2[rows, s_] = np.where(np.isfinite(kept), kept, self.e2[rows, s_])
        kept = self.zs_kept[rows, s_]
        self.zs[rows, s_] = np.where(np.isfinite(kept), kept, self.zs[rows, s_])
        self.block[s_], self.block_end[s_] = -1, -10
        self.quiet_until[s_] = last + 1 + self.feedback_max
