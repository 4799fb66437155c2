"""Negative-binomial GLM for every series at once: the recommended default forecaster.

Model, per series ``s`` and period ``t``::

    y[t, s] ~ NB(mean = mu[t, s], variance = mu + alpha[s] * mu**2)
    log mu[t, s] = offset[t] + x[t] @ beta[s] + log L[s]

with a design ``x[t]`` shared by all series: an intercept, a linear trend (years from the fit
origin), Fourier terms of the week (daily data) and of the year, and calendar regressors
(holiday, make-up workday, heating and tourist season, weather, ...; whatever numeric variables
the ``regressors`` Dataset has, see :func:`predgov.forecast.base.default_regressor_names`).
Monthly data get ``log(days in month)`` as offset.

Because the design is shared, the penalised IRLS (Fisher scoring; :func:`predgov.stats.glm.irls`,
the one solver of the package) of all series runs as matrix products: ``X'WX`` for a block of
series is one GEMM of the (time, P(P+1)/2) products of design columns with the (time, series)
weights (formed from the design's structure, :class:`predgov.stats.glm.Design` with
``structured=True``: indicator columns summed over their own periods, products of Fourier
terms of one cycle as harmonics; a third of the multiply-adds), and the normal equations are
solved batched with ``numpy.linalg.solve``. Cost per
series is constant (blocks of ``chunk_size`` series), so time
grows linearly with the number of series.

* Coefficients other than the intercept have Gaussian priors (ridge penalties): ``1 /
  prior_scale**2`` on the log scale, as Prophet's ``seasonality_prior_scale``.
* ``alpha`` per series by moments, ``sum((y - mu)**2 - mu) / sum(mu**2)`` with a
  degrees-of-freedom correction (:func:`predgov.stats.nb.nb_alpha`), alternating with the
  coefficient updates (the IRLS weights).
* Local level: the ratio of exponentially weighted sums of observed and fitted counts (span
  ``level_window``: weights with the mean age of an unweighted window that long), shrunk
  towards 1 on the log scale by its sampling variance against a prior sd
  ``level_prior_scale``, multiplies the forecast. With ``level_window="auto"`` the span is
  chosen among a few candidates by the error of the forecasts it would have made inside the
  training data (rolling origins, leads up to 4 weeks for daily data; one span for all series,
  also over blocks of series: :mod:`predgov.forecast.distributed` reduces its statistics).
* Series without yearly terms (under ``min_years_yearly``, or ``yearly_harmonics=0``) leave
  their whole season to the level, which the prior sd 0.1 held back (a lasting 1.5-fold
  rise of a series of 5 a day moved it 41 % of the way on the log scale, 88 % with the prior
  below: ``tests/forecast/test_level_prior.py``). Their level's prior variance is their own
  (``level_adaptive_prior``, empirical Bayes: the mean square of the raw log level less its
  sampling variance, :func:`predgov.forecast.rolling._adaptive_prior`), at least
  ``level_prior_scale**2``; series with yearly terms keep the fixed prior. Measured (median
  MASE, 8 rolling origins of 28 days, ``benchmarks/forecast_calibration_dev.py``'s scoring):
  the 13 daily family members cut to one year, seeds 0-3, mean 0.761 -> 0.744 (d_seasonal
  0.978 -> 0.803, its 80 % coverage 0.751 -> 0.791; no member worse by more than 0.001);
  cut to 1.6 years with w_nb, 0.756 -> 0.743 (worst d_intermittent +0.002); the real
  Chicago (category, ward) and Boston sets cut to single years (12 cuts, held out) 0.662 ->
  0.639, every cut better; per short series against AutoETS (4 origins) the geometric mean
  ratio 1.022 -> 0.983. Full-length
  family members (seeds 0, 1), the demo city, Chicago and Boston are unchanged (yearly
  terms); Brooklyn (2023 only) 0.594 -> 0.599 over 8 origins, 1.008 -> 1.007 x AutoETS over
  4 origins of ``forecast_skill.py`` (0.782 x the best peer over its default 8). (The level's
  prior is estimated on the whole training stretch, as the GLM's coefficients are, so the
  in-training rolling origins see it too.)
* Day types (daily data, ``level_by``): rest days (weekends and holidays, not make-up
  workdays) and working days may each get their own level — the shared level times the day
  type's own exponentially weighted ratio, shrunk towards it — so that the weekday/weekend
  contrast can drift with the season (NYC noise: weekends 2.3x weekdays in June, 1.5x in
  November) when there is too little history for yearly terms. ``"auto"`` chooses shared or
  per-day-type with the span, by the same in-training rolling-origin error.
  Optionally the day types' deviations from the shared level get their own span and prior sd
  (e.g. ``daytype_window=28``: at most 28 days, ``daytype_prior_scale=0.3``, three times the
  shared level's 0.1): the weekly profile's weekend/weekday contrast then adapts faster than
  the level, as Holt-Winters' seasonal states do. Off by default (None, None: the deviations
  share the level's span and prior), because its gain on the synthetic family is within the
  noise and vanished on the seeds run last. Measured on the synthetic family
  (:mod:`predgov.data.synthetic_family`, whose member ``d_weekly_drift`` has a weekend
  contrast drifting with the season and a random walk; 8 rolling origins of 28 days): the
  mean absolute error of the forecast mean against the true mean, relative to the level, on
  ``d_weekly_drift`` 0.0887 / 0.0954 / 0.0981 / 0.0983 -> 0.0877 / 0.0895 / 0.0951 / 0.0977
  (seeds 0-3), identical on d_nb_mid, d_seasonal, d_shift, d_holiday, d_nb_high; the
  median-point MASE of ``benchmarks/forecast_calibration_dev.py`` on it 0.686 / 0.702 /
  0.681 / 0.687 -> 0.679 / 0.693 / 0.680 / 0.687, every other member within 0.003 and 80 %
  coverage within 0.003. The wider prior alone (deviation span = the level's) did not help
  (0.0951 -> 0.0952); an "auto" choice among 14 / 28 days / the level's span always took 28
  and cost a fifth more fit time; projecting the deviation's drift (``d_14 + 0.5 (d_14 -
  d_56)``, Holt-like) made it worse (MASE 0.689 at seed 0). Held out: on the real Brooklyn
  noise series (2023, 8 origins) the median-point MASE went from 0.594 to 0.603 (its Sunday
  over-forecast is Sunday's own, not the weekend's: mean error Saturday +7.0 -> +5.1,
  Sunday +19.4 -> +17.6 over 4 origins, while Wednesday-Friday worsened), the other real
  sets are unchanged. ``daytype_window=None, daytype_prior_scale=None`` is the model before.
  Seven per-weekday states instead (an exponentially weighted ratio per weekday, shrunk,
  tried as a correction on top of the forecast) chased noise on every member tried
  (d_pois_high 0.603 -> 0.661 with a 28-day span and sd 0.3, 0.614 with 112 days and sd 0.1;
  d_weekly_drift 0.679 -> 0.708 / 0.685) and on Brooklyn (0.603 -> 0.621 / 0.614).
* Predictive dispersion from those rolling-origin forecasts, not from in-sample residuals: per
  series and lead ``h`` by moments of the forecast errors, summarised as ``alpha0 + slope * h``
  (growing with the lead as the level ages), separately for rest days and working days
  (daily data; rest days' volume depends more on weather and events). Interval width thus
  reflects the error of real forecasts, including the level's, and not slow seasonal movement
  the level follows.
  Each series' dispersion is then shrunk towards its group's (``dispersion_pool``, default
  the category) on the log scale by empirical Bayes (:mod:`predgov.forecast.dispersion`):
  short or sparse series borrow from their group, long busy ones keep their own.
  ``dispersion_level=True`` lets it follow the forecast's level as well, ``alpha * (mean /
  ref)**g`` (NB2 at ``g = 0``, NB1-like at ``g = -1``), ``g`` per series from the rolling-origin
  errors above and below its mean level, shrunk to its group's. Off by default, chosen on the
  synthetic family (:mod:`predgov.data.synthetic_family`, all 14 members, seeds 0 and 1, 8
  rolling origins, ``benchmarks/forecast_calibration_dev.py``): the summed absolute error of
  the 50/80/95 % coverages was 0.0495 with NB2 and 0.0486 with it, within noise. On the real
  sets (held out) it moved the pooled 80 % coverage from 0.865 to 0.862 (Brooklyn 0.888 ->
  0.897): the real sets' over-coverage is not a level effect.
* Quantile recalibration (``calibrate=True``), only where it helps held-out forecasts (it is
  fitted on the earlier half of the rolling origins and kept only when it brings the later
  half's PITs nearer uniform by more than their sampling noise; ``recalibrated_``): the PITs
  of the same rolling-origin forecasts
  give, for each requested level, the NB level whose quantile the errors actually fall below
  at that rate (averaged over series; blended with the nominal level when few forecasts were
  scored). Hotline counts' day-to-day shocks are multiplicative (log-symmetric), which the
  gamma-mixed NB does not match in its tails; the recalibration fixes the resulting
  over-coverage of central intervals.
* Daily ``holiday`` regressors are split into holidays on weekdays and on weekends
  (``split_holidays``): the weekly pattern already has the weekend's rest.
* Yearly seasonality and the trend are used only for series observed over at least two years
  (``"auto"``); shorter series get a level, the weekly pattern and the regressors.
* Chinese calendars (daily data): windows around the Spring Festival (40 days before to 30
  after 春节), which moves between 21 January and 20 February so that yearly Fourier terms
  cannot follow it. Their effects are estimated on category totals and each series' shrunk
  towards its category's (``festival_pool``); a category keeps them only if they forecast a
  left-out festival of its total better than no windows (leave-one-festival-out). Per-series
  estimates from two or three festivals fit noise, and a window can take weather for the
  festival (heating's cold spells fall in the same weeks). On the demo city, 5 origins around
  春节 2024, 3 seeds: MASE 0.776 / 0.794 / 0.778 without the windows, 0.760 / 0.778 / 0.765
  with them (construction 0.81 -> 0.52), versus 0.786 / 0.792 / 0.787 with per-series
  estimates. Like the yearly terms, they need two years of data.
* Predictive quantiles are negative-binomial quantiles of the forecast mean. By default each
  central interval is the whole-number range whose probability is nearest its nominal content
  (:mod:`predgov.forecast.intervals`): a count's intervals are sets of whole numbers, and on
  series of about one count a period the continuous mid-distribution or integer quantiles give
  the larger set, so 80 % intervals covered 0.87-0.90 of held-out days on the real Chicago
  sanitation series (50 wards, 10 categories) although the dispersion was right.
  :meth:`NBGLM.predict_distribution` returns the NB itself (mean and size): the probability it
  gives an issued interval is the interval's nominal mass, the figure to read a sparse
  series' coverage against.
* Two point forecasts: ``mean`` (the NB mean, the Bayes act under squared error: RMSSE) and
  the median, the ``0.5`` quantile (an integer quantile of the predictive NB, the Bayes act
  under absolute error: MASE; Gneiting 2011, see :mod:`predgov.forecast.metrics`). On skewed or
  sparse counts they differ (Boston heat, 94 % zero days: median 0), and MASE should score the
  median (:func:`predgov.forecast.metrics.point_forecast`).

Series with no observations, all zeros or shorter than one season fall back to a flat mean
forecast; series with fewer than ``min_nonzero`` non-zero periods use :class:`~predgov.forecast.
baselines.TSB`; a fit that does not converge to finite values falls back too. Each records its
reason in ``fallback``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from predgov.data.calendar import SPRING_FESTIVAL_WINDOWS, is_chinese_calendar
from predgov.data.freq import (
    PERIODS_PER_YEAR,
    future_times,
    season_length,
    unstack_series,
)
from predgov.forecast.base import (
    DEFAULT_QUANTILES,
    FIT_FAILED,
    Forecaster,
    series_status,
    simple_fallback,
)
from predgov.forecast.baselines import TSB
from predgov.forecast.design import ETA_MAX as _ETA_MAX
from predgov.forecast.design import ETA_MIN as _ETA_MIN
from predgov.forecast.design import (
    day_class,
    fourier_terms,
    glm_design,
    period_offset,
    split_holidays,
)
from predgov.forecast.festival import pooled_festival
from predgov.forecast.intervals import interval_quantiles
from predgov.forecast.level import LocalLevelMixin
from predgov.forecast.rolling import _level_factor
from predgov.stats.glm import Design, irls, single_thread
from predgov.stats.nb import (
    MAX_DISPERSION,
    nb_quantiles,
    size_from_alpha,
)

__all__ = ["NBGLM", "fourier_terms"]

class NBGLM(LocalLevelMixin, Forecaster):
    """Negative-binomial GLM with Fourier seasonality, calendar regressors and a local level.

    Parameters
    ----------
    weekly_harmonics
        Fourier pairs of the weekly cycle (daily data only; 3 fits any weekday pattern).
    yearly_harmonics
        Fourier pairs of the yearly cycle; ``"auto"``: 10 for daily and weekly data, 5 for
        monthly data; 0 switches it off.
    trend
        ``"auto"`` (a linear trend for series observed over at least two years), True or False.
    min_years_yearly
        Observed span (years) a series needs for yearly seasonality and the trend.
    level_window
        Span (periods) of the exponentially weighted local level; ``"auto"`` chooses among
        :data:`predgov.forecast.level.AUTO_SPANS` (14-112 days, 4-32 weeks, 3-12 months) by
        rolling-origin error inside the training data, a sequence of spans among those; 0
        switches the level adjustment off. (Adding a 7-day span to the daily candidates left
        the synthetic family unchanged, mean MASE 0.737 either way, and made the real
        Brooklyn series worse over 8 origins, 0.595 -> 0.606: not adopted.)
    level_prior_scale
        Prior sd of the log level adjustment: how far recent weeks may move the forecast.
    level_by
        Daily data: ``"daytype"`` runs a separate level for rest days (weekends and holidays,
        minus make-up workdays) and working days, each shrunk towards the shared level, so that
        the contrast between them can drift with the season; ``"shared"`` one level for all
        days; ``"auto"`` chooses between the two with the span (rolling-origin error inside the
        training data). Weekly and monthly data always use one level.
    daytype_window
        Daily data, day-type levels: span (days) of each day type's exponentially weighted
        deviation from the shared level (the weekly profile's adaptive part, as Holt-Winters'
        seasonal states: the weekend/weekday contrast re-estimated from recent days). A span:
        the longest it may be (``min(level span, daytype_window)``); None: the shared level's
        span; ``"auto"``: chosen among that span and :data:`predgov.forecast.level.
        DAYTYPE_SPANS` (14, 28 days) by the same in-training rolling-origin error; a sequence:
        candidate spans chosen likewise. ``daytype_span_`` records the span used.
    daytype_prior_scale
        Prior sd (log scale) of a day type's deviation from the shared level; None (default):
        ``level_prior_scale``. Measured with ``daytype_window`` on the synthetic family and not
        adopted as the default (see the module notes).
    level_adaptive_prior
        Series without yearly terms: the level's prior variance is the series' own (how far
        its raw log level wanders, less sampling noise), at least ``level_prior_scale**2``,
        so that the level can carry the season the GLM lacks; False: the fixed prior for all
        (see the module notes).
    split_holidays
        Daily data: separate effects for a ``holiday`` regressor on weekdays and on weekends.
    spring_festival
        Effects of the windows around the lunar new year
        (:data:`predgov.data.calendar.SPRING_FESTIVAL_WINDOWS`: 40 days before to 30 after
        春节; for weekly and monthly data the share of each period's days in each window).
        ``"auto"``: daily data with a Chinese calendar as regressors
        (:func:`predgov.data.calendar.is_chinese_calendar`); True / False: always / never.
        Only series with yearly seasonality (observed over ``min_years_yearly``) get them:
        without yearly terms a window would take the season's shape as its effect. Weekly and
        monthly data leave them out under "auto": on the weekly demo city around 春节 2024 they
        cut the construction category's MASE from 1.48 to 0.59 but raised the overall MASE
        from 0.897 to 0.906 (heating 1.73 -> 3.08: its windows pass the left-out-festival
        check on weekly totals and still forecast badly).
    festival_pool
        Series coordinate (default ``"category"``) whose groups share their festival effects:
        the effects are estimated on each group's total (summed over its series: large
        counts, precise), kept only if they forecast a left-out festival of the total better
        than no windows (``festival_groups_`` records the decision), and each series' effects
        are shrunk towards its group's (prior sd ``festival_deviation_scale``). None, or a
        layout without the coordinate: each series estimates its own, unchecked (prior sd
        ``regressor_prior_scale``).
    festival_deviation_scale
        Prior sd of a series' festival effects around its group's (log scale).
    calibrate
        Recalibrate the predictive quantile levels on rolling-origin forecasts inside the
        training data (see the module notes).
    dispersion_pool
        Series coordinate (default ``"category"``) whose groups share a prior for the
        predictive dispersion: each series' is shrunk towards its group's on the log scale
        (empirical Bayes, :mod:`predgov.forecast.dispersion`), the less the more forecast
        errors it has. None or a layout without the coordinate: one group of all series;
        False: no shrinkage.
    dispersion_level
        Let the predictive dispersion follow the forecast's level: ``alpha * (mean / ref)**g``
        with ``ref`` the series' mean level and ``g`` estimated from the rolling-origin errors
        above and below it (:func:`predgov.forecast.rolling._oos_level_exponent`; ``g = 0`` is
        the NB2 default, ``g = -1`` NB1-like), shrunk towards its ``dispersion_pool`` group's
        (:func:`predgov.forecast.dispersion.shrink_normal`). Off by default: on the synthetic
        family it did not bring held-out coverage nearer nominal (see the module notes).
    seasonality_prior_scale, regressor_prior_scale, trend_prior_scale
        Prior sd of the Fourier coefficients, of the regressor coefficients (regressors are
        standardised unless 0/1) and of the trend slope (log scale per year).
    regressor_names
        Regressor variables to use; default all suitable variables of ``regressors``.
    min_nonzero
        Series with fewer non-zero periods use TSB instead.
    max_iter, tol
        IRLS iterations and convergence tolerance on coefficients.
    chunk_size
        Series per block (memory per block ~ 10 x time x chunk_size x 8 bytes).
    quantile_method
        ``"interval"`` (the default: each central interval is the whole-number range whose
        probability is nearest its nominal content, :func:`predgov.forecast.intervals.
        interval_quantiles`, so that 80 % intervals of counts of about one a period cover about
        80 %, not the 90 % of the larger range; levels outside a central pair, the median,
        are integer quantiles: the point forecast for absolute-error scores), ``"mid"``
        (continuous mid-distribution quantiles) or ``"integer"`` (``scipy.stats.nbinom.ppf``).
    quantiles
        Quantile levels of the forecast.

    Examples
    --------
    >>> import xarray as xr
    >>> t = pd.date_range("2023-01-02", periods=140, freq="D")
    >>> rng = np.random.default_rng(0)
    >>> y = rng.poisson(np.tile([8, 8, 8, 8, 8, 3, 3], 20)[:, None], (140, 2))
    >>> da = xr.DataArray(y, coords={"time": t, "s": ["a", "b"]}, dims=("time", "s"))
    >>> fc = NBGLM().fit(da).predict(7)
    >>> truth = np.array([8, 8, 8, 8, 8, 3, 3])
    >>> bool((np.abs(fc["mean"].values / truth[:, None] - 1) < 0.2).all())
    True
    >>> fc["quantiles"].dims
    ('time', 's', 'quantile')
    """

    name: ClassVar[str] = "nb_glm"
    uses_regressors: ClassVar[bool] = True

    def __init__(
        self,
        weekly_harmonics: int = 3,
        yearly_harmonics: int | str = "auto",
        trend: bool | str = "auto",
        min_years_yearly: float = 2.0,
        level_window: int | str | tuple[int, ...] = "auto",
        level_prior_scale: float = 0.1,
        level_by: str = "auto",
        daytype_window: int | str | tuple[int, ...] | None = None,
        daytype_prior_scale: float | None = None,
        level_adaptive_prior: bool = True,
        split_holidays: bool = True,
        spring_festival: bool | str = "auto",
        festival_pool: str | None = "category",
        festival_deviation_scale: float = 0.1,
        calibrate: bool = True,
        dispersion_pool: str | bool | None = "category",
        dispersion_level: bool = False,
        seasonality_prior_scale: float = 1.0,
        regressor_prior_scale: float = 1.0,
        trend_prior_scale: float = 0.2,
        regressor_names: list[str] | None = None,
        min_nonzero: int = 5,
        max_iter: int = 30,
        tol: float = 1e-4,
        chunk_size: int = 256,
        quantile_method: str = "interval",
        quantiles: tuple[float, ...] = DEFAULT_QUANTILES,
    ) -> None:
        self.weekly_harmonics = weekly_harmonics
        self.yearly_harmonics = yearly_harmonics
        self.trend = trend
        self.min_years_yearly = min_years_yearly
        self.level_window = level_window
        self.level_prior_scale = level_prior_scale
        self.level_by = level_by
        self.daytype_window = daytype_window
        self.daytype_prior_scale = daytype_prior_scale
        self.level_adaptive_prior = level_adaptive_prior
        self.split_holidays = split_holidays
        self.spring_festival = spring_festival
        self.festival_pool = festival_pool
        self.festival_deviation_scale = festival_deviation_scale
        self.calibrate = calibrate
        self.dispersion_pool = dispersion_pool
        self.dispersion_level = dispersion_level
        self.seasonality_prior_scale = seasonality_prior_scale
        self.regressor_prior_scale = regressor_prior_scale
        self.trend_prior_scale = trend_prior_scale
        self.regressor_names = regressor_names
        self.min_nonzero = min_nonzero
        self.max_iter = max_iter
        self.tol = tol
        self.chunk_size = chunk_size
        self.quantile_method = quantile_method
        self.quantiles = quantiles

    # ------------------------------------------------------------------ design
    def _n_yearly(self) -> int:
        if self.yearly_harmonics == "auto":
            return 5 if self.freq_ == "MS" else 10
        k = int(self.yearly_harmonics)
        if self.freq_ == "MS":
            k = min(k, 5)
        return max(k, 0)

    def fit(
        self, counts: xr.DataArray | xr.Dataset, regressors: xr.Dataset | None = None
    ) -> NBGLM:
        """Fit all series (see :meth:`Forecaster.fit`); decides the Spring Festival terms."""
        if self.spring_festival not in (True, False, "auto"):
            raise ValueError(
                f"spring_festival must be True, False or 'auto', got {self.spring_festival!r}"
            )
        if self.quantile_method not in ("interval", "mid", "integer"):
            raise ValueError("quantile_method must be 'interval', 'mid' or 'integer', got "
                             f"{self.quantile_method!r}")  # fmt: skip
        if not (float(self.festival_deviation_scale) > 0):
            raise ValueError("festival_deviation_scale must be > 0, got "
                             f"{self.festival_deviation_scale!r}")  # fmt: skip
        self._chinese_calendar = is_chinese_calendar(regressors)
        super().fit(counts, regressors)
        return self

    def _design(self, times: pd.DatetimeIndex, X: np.ndarray | None) -> np.ndarray:
        """Design matrix (:func:`predgov.forecast.design.glm_design`) of ``times``."""
        return glm_design(times, self.origin_time_, self.freq_, int(self.weekly_harmonics),
                          self.n_yearly_, self.use_festival_, X, self.reg_center_,
                          self.reg_scale_)  # fmt: skip

    def _expand_regressors(
        self, times: pd.DatetimeIndex, X: np.ndarray | None
    ) -> np.ndarray | None:
        """Daily data with ``split_holidays``: ``holiday`` split into holidays on weekdays and
        on weekends (:func:`predgov.forecast.design.split_holidays`)."""
        if not self.split_holidays or self.freq_ != "D":
            return X
        return split_holidays(times, X, self.regressor_names_)

    def _offset(self, times: pd.DatetimeIndex) -> np.ndarray:
        return period_offset(times, self.freq_)

    def _day_class(self, times: pd.DatetimeIndex, X: np.ndarray | None) -> np.ndarray:
        """Day type per period (:func:`predgov.forecast.design.day_class`)."""
        return day_class(times, self.freq_, X, self.regressor_names_)

    # ------------------------------------------------------------------ fit
    def _fit(self, values: np.ndarray, X: np.ndarray | None) -> None:
        # Many small matrix products and solves: BLAS threads only add overhead (demo city on
        # a shared 2-core machine: fit + predict 0.66-1.0 s with two threads, 0.2 s with one).
        with single_thread():
            self._fit_glm(values, X)

    def _fit_glm(self, values: np.ndarray, X: np.ndarray | None) -> None:
        self.use_festival_ = bool(self.spring_festival is True or (
            self.spring_festival == "auto" and self.freq_ == "D"
            and getattr(self, "_chinese_calendar", False)))  # fmt: skip
        self._train_values = values
        T, S = values.shape
        times = self.train_time_
        self.train_class_ = self._day_class(times, X)
        X = self._expand_regressors(times, X)
        self.origin_time_ = np.datetime64(self.fit_origin_, "ns")
        self.n_yearly_ = self._n_yearly()
        if X is not None and X.shape[1]:
            center = np.nanmean(np.where(np.isnan(X), np.nan, X), axis=0)
            center = np.nan_to_num(center, nan=0.0)
            binary = np.all(np.isin(np.nan_to_num(X, nan=0.0), (0.0, 1.0)), axis=0)
            scale = np.nanstd(X, axis=0)
            scale = np.where(binary | ~(scale > 0), 1.0, scale)
            self.reg_center_ = np.where(binary, 0.0, center)
            self.reg_scale_ = scale
        else:
            self.reg_center_ = np.zeros(0)
            self.reg_scale_ = np.ones(0)
        D = self._design(times, X)
        off = self._offset(times)
        P = D.shape[1]
        n_w = 2 * int(self.weekly_harmonics) if self.freq_ == "D" else 0
        n_y = 2 * self.n_yearly_
        n_f = len(SPRING_FESTIVAL_WINDOWS) if self.use_festival_ else 0
        n_r = P - 2 - n_w - n_y - n_f
        groups = np.array(["intercept", "trend"] + ["weekly"] * n_w + ["yearly"] * n_y
                          + ["festival"] * n_f + ["regressor"] * n_r)  # fmt: skip
        self.columns_ = groups
        lam = np.zeros(P)
        lam[groups == "trend"] = 1.0 / self.trend_prior_scale**2
        lam[(groups == "weekly") | (groups == "yearly")] = 1.0 / self.seasonality_prior_scale**2
        lam[(groups == "regressor") | (groups == "festival")] = 1.0 / self.regressor_prior_scale**2

        # Which series are modelled, and with which parts.
        status = series_status(values, season_length(self.freq_))
        observed = ~np.isnan(values)
        n_pos = (values > 0).sum(axis=0)
        intermittent = (status == "") & (n_pos < self.min_nonzero)
        status[intermittent] = f"fewer than {self.min_nonzero} non-zero periods (TSB)"
        first = np.where(observed.any(axis=0), observed.argmax(axis=0), T)
        last = np.where(observed.any(axis=0), T - 1 - observed[::-1].argmax(axis=0), -1)
        span_years = (last - first + 1) / PERIODS_PER_YEAR[self.freq_]
        long_enough = span_years >= self.min_years_yearly - 1e-9
        if self.trend == "auto":
            use_trend = long_enough
        else:
            use_trend = np.full(S, bool(self.trend))
        use_yearly = long_enough
        lam_s = np.broadcast_to(lam, (S, P)).copy()
        lam_s[~use_trend[:, None] & (groups == "trend")[None, :]] = 1e10
        lam_s[~use_yearly[:, None] & (groups == "yearly")[None, :]] = 1e10
        # Festival windows need the yearly terms: without them (under two years) a window seen
        # once or twice would take the season's shape (heating peaks in January) as its effect.
        lam_s[~use_yearly[:, None] & (groups == "festival")[None, :]] = 1e10
        # Regressors constant over a series' observed periods cannot be estimated for it.
        fit = np.flatnonzero(status == "")
        beta = np.zeros((S, P))
        alpha = np.zeros(S)
        converged = np.zeros(S, dtype=bool)
        # X'WX from the design's structure (indicators, Fourier runs); shared by every block
        design = Design(D, structured=True)
        # Festival effects pooled over groups of series: estimated on the group totals, then
        # the prior mean of each series' effects.
        prior_mean = np.zeros((S, P))
        pooled = np.zeros(S, dtype=bool)
        self.festival_groups_: dict[str, bool] = {}
        if n_f:
            prior_mean, pooled, off_f = self._pooled_festival(values, fit, design, off, lam,
                                                              groups)  # fmt: skip
            pooled &= use_yearly
            lam_s[np.ix_(pooled, groups == "festival")] = 1.0 / self.festival_deviation_scale**2
            lam_s[np.ix_(off_f, groups == "festival")] = 1e10
        self.festival_pooled_ = pooled
        step = max(int(self.chunk_size), 1)
        for start in range(0, len(fit), step):
            idx = fit[start : start + step]
            b, a, ok = self._irls(values[:, idx], design, off, lam_s[idx], prior_mean[idx])
            beta[idx], alpha[idx], converged[idx] = b, a, ok
        failed = (status == "") & ~(converged & np.isfinite(beta).all(axis=1) & np.isfinite(alpha))
        status[failed] = FIT_FAILED
        self.fallback_ = status
        self.coef_ = beta
        self.alpha_ = alpha
        self.use_yearly_ = use_yearly
        self.use_trend_ = use_trend
        # Local level and predictive dispersion from rolling-origin forecasts in training.
        n_params = (lam_s < 1e9).sum(axis=1).astype(float) - n_f * pooled  # pooled: not free
        self._local_level(values, D, off, beta, alpha, n_params)  # level_, alpha0_, ...
        self.max_observed_ = np.nan_to_num(np.nanmax(np.where(observed, values, -np.inf),
                                                     axis=0), nan=0.0, neginf=0.0)  # fmt: skip
        # Intermittent series: TSB.
        if intermittent.any():
            tsb = TSB(quantiles=tuple(self.levels_))
            tsb.freq_ = self.freq_
            tsb.levels_ = self.levels_
            tsb._fit(values[:, intermittent], None)
            self.tsb_ = tsb
        else:
            self.tsb_ = None
        self.intermittent_ = intermittent

    def _irls(
        self,
        Y: np.ndarray,
        D: Design,
        off: np.ndarray,
        lam: np.ndarray,
        prior_mean: np.ndarray | None = None,
        init: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Penalised NB IRLS (:func:`predgov.stats.glm.irls`) for a block of series sharing the
        design ``D``: ridge ``lam`` (per series and column) around ``prior_mean`` (default 0),
        the dispersion by moments after two Poisson steps, started from ``init`` (default: the
        prior mean with the intercept at the log mean count). Series still moving slowly after
        ``max_iter`` are accepted when their coefficients are finite."""
        S, P = Y.shape[1], D.n_columns
        M = ~np.isnan(Y)
        mean = np.where(M, Y, 0.0).sum(axis=0) / np.maximum(M.sum(axis=0), 1)
        b0 = np.zeros((S, P)) if prior_mean is None else prior_mean
        beta = b0.copy()
        beta[:, 0] = np.log(mean + 0.1)
        if init is not None:
            beta = np.where(np.isfinite(init), init, beta)
        fit = irls(D, Y, alpha="moments", offset=off, penalty=lam, prior_mean=b0, start=beta,
                   max_iter=int(self.max_iter), tol=self.tol, min_iter=3,
                   eta_bounds=(_ETA_MIN, _ETA_MAX), single_precision=True)  # fmt: skip
        return fit.coef, fit.alpha, fit.converged | np.isfinite(fit.coef).all(axis=1)

    def _pooled_festival(
        self, values: np.ndarray, fit: np.ndarray, design: Design, off: np.ndarray,
        lam: np.ndarray, groups: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
        """Festival effects pooled over ``festival_pool`` groups
        (:func:`predgov.forecast.festival.pooled_festival`); records ``festival_groups_``."""
        labels = self.layout_.values_of(self.festival_pool) if self.festival_pool else None
        mean, pooled, none, self.festival_groups_ = pooled_festival(
            values, fit, design, off, lam, groups, labels, self.freq_,
            float(self.min_years_yearly), self._irls)  # fmt: skip
        return mean, pooled, none

    # ------------------------------------------------------------------ predict
    def _nb_forecast(self, horizon: int, X: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Mean and NB size (``inf``: Poisson) of every series' predictive distribution,
        ``(series, horizon)`` each, before the fallbacks."""
        future = future_times(self.fit_origin_, self.freq_, horizon)
        cls = self._day_class(future, X)
        D = self._design(future, self._expand_regressors(future, X))
        off = self._offset(future)
        beta = np.nan_to_num(self.coef_)
        eta = np.clip(D @ beta.T + off[:, None], _ETA_MIN, _ETA_MAX)  # (H, S)
        mean = (np.exp(eta) * self.level_[cls]).T  # (S, H)
        cap = 5.0 * self.max_observed_ + 5.0
        mean = np.minimum(mean, cap[:, None])
        # Dispersion of h-step forecasts, from the rolling-origin errors inside the training data.
        lead = np.arange(1, horizon + 1, dtype=float)
        alpha_h = self.alpha0_[cls].T + self.alpha_slope_[cls].T * lead[None, :]
        if self.dispersion_level:
            alpha_h = alpha_h * _level_factor(mean.T, self.dispersion_exponent_,
                                              self.dispersion_ref_).T  # fmt: skip
        alpha_h = np.clip(alpha_h, 0.0, MAX_DISPERSION)
        return mean, size_from_alpha(alpha_h, np.inf)

    def predict_distribution(
        self, horizon: int, regressors: xr.Dataset | None = None
    ) -> xr.Dataset:
        """The predictive negative binomial behind :meth:`predict`: ``mean`` and ``size``
        (``inf``: Poisson; variance ``mean + mean**2 / size``) over ``(time, <series dims>)``.

        Series that fell back (``fallback`` not ``""``: a flat mean, TSB) have no NB: their
        ``size`` is NaN and their ``mean`` the fallback's. The quantiles of :meth:`predict` are
        this distribution's at the recalibrated levels ``calibrated_levels_``, so the
        probability it gives an issued interval (:func:`predgov.stats.nb.nb_cdf`) is the
        interval's nominal mass: what its empirical coverage is to be read against on sparse
        counts, where no whole-number interval holds exactly 80 %.

        Examples
        --------
        >>> t = pd.date_range("2023-01-02", periods=140, freq="D")
        >>> y = np.random.default_rng(1).poisson(5.0, (140, 2))
        >>> da = xr.DataArray(y, coords={"time": t, "s": ["a", "b"]}, dims=("time", "s"))
        >>> d = NBGLM().fit(da).predict_distribution(7)
        >>> sorted(d.data_vars), d["mean"].dims, bool((d["size"] > 0).all())
        (['fallback', 'mean', 'size'], ('time', 's'), True)
        """
        horizon, future, X = self._future(horizon, regressors)
        fc = self._output(*self._predict(horizon, X), future)
        _, size = self._nb_forecast(horizon, X)
        size = np.where((self.fallback_ != "")[:, None], np.nan, size)
        dims, arr = unstack_series(size.T, self.layout_, ("time",))
        out = fc[["mean", "fallback"]].copy()
        out["size"] = xr.DataArray(arr, dims=dims, coords=fc["mean"].coords,
                                   attrs={"long_name": "negative-binomial size (inf: Poisson)"})
        return out

    def interval_band(self, level: float) -> tuple[float, float]:
        """The levels of :meth:`predict_distribution` that the issued central ``level``
        interval was asked at: its two quantiles' recalibrated levels (``calibrated_levels_``;
        the nominal ``(1 -+ level) / 2`` without recalibration). The randomised-PIT band the
        interval stands for (:func:`predgov.forecast.metrics.pit_coverage`'s ``band``).

        Examples
        --------
        >>> t = pd.date_range("2023-01-02", periods=140, freq="D")
        >>> y = np.random.default_rng(1).poisson(5.0, (140, 2))
        >>> da = xr.DataArray(y, coords={"time": t, "s": ["a", "b"]}, dims=("time", "s"))
        >>> NBGLM(calibrate=False).fit(da).interval_band(0.8)
        (0.1, 0.9)
        """
        wanted = np.round([(1 - level) / 2, (1 + level) / 2], 6)
        have = np.round(np.asarray(self.levels_, dtype="float64"), 6)
        missing = [float(w) for w in wanted if w not in have]
        if missing:
            raise ValueError(f"the {level:g} interval needs quantile levels {missing}, which "
                             f"this model does not issue (quantiles={list(self.levels_)})")
        lv = np.asarray(self.calibrated_levels_, dtype="float64")
        lo, hi = (float(lv[np.flatnonzero(have == w)[0]]) for w in wanted)
        return lo, hi

    def _predict(self, horizon: int, X: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        with single_thread():  # small products, as in the fit
            return self._predict_nb(horizon, X)

    def _predict_nb(self, horizon: int, X: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        mean, size = self._nb_forecast(horizon, X)
        if self.quantile_method == "interval":
            # Levels outside a central pair (the median) get integer quantiles: for a count the
            # Bayes act under the pinball (for 0.5: absolute) loss is a whole number.
            quant = interval_quantiles(mean, size, self.calibrated_levels_, self.levels_,
                                       method="integer")  # fmt: skip
        else:
            quant = nb_quantiles(mean, size, self.calibrated_levels_, self.quantile_method)
        # Fallbacks.
        status = self.fallback_
        simple = (status != "") & ~self.intermittent_
        if simple.any():
            fm, fq = simple_fallback(self._train_values[:, simple], horizon, self.levels_)
            mean[simple], quant[simple] = fm, fq
        if self.tsb_ is not None:
            tm, tq = self.tsb_._predict(horizon, None)
            mean[self.intermittent_], quant[self.intermittent_] = tm, tq
        return mean, quant

    # ------------------------------------------------------------------ inspection
    def coefficients(self) -> dict[str, Any]:
        """Fitted coefficients by group (arrays over series) and the dispersions.

        ``alpha`` is the in-sample dispersion of the GLM fit; ``alpha0`` and ``alpha_slope``
        the predictive one, ``alpha0 + alpha_slope * lead``, and ``level`` the local level, each
        with rows for working days (0) and rest days (1) (equal rows for weekly and monthly
        data, and for ``level`` when the shared level was chosen). With ``split_holidays`` (daily
        data) the regressor columns are the regressors in order, ``holiday`` meaning holidays
        on weekdays, then holidays on weekends last. ``festival`` has one column per Spring
        Festival window (none without them).
        """
        self._check_fitted()
        out: dict[str, Any] = {}
        for g in ("intercept", "trend", "weekly", "yearly", "festival", "regressor"):
            out[g] = self.coef_[:, self.columns_ == g]
        out["alpha"] = self.alpha_
        out["alpha0"] = self.alpha0_
        out["alpha_slope"] = self.alpha_slope_
        out["level"] = self.level_
        return out
