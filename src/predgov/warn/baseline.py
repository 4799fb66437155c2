"""Baselines of the detectors: in-control means and NB sizes of every cell, from the past only.

A detector that compares counts with what was expected (:func:`~predgov.warn.cusum.nb_cusum`,
:func:`~predgov.warn.exceedance.exceedance`, :func:`~predgov.warn.trend.trend`) takes its
expectation from here, the way a change-point search takes a pluggable cost:

* ``"level"``: :func:`one_step_forecast`, a recent level x a weekday profile (daily data) with
  the NB size from the forecast's own past errors;
* ``"calendar"``: :func:`predgov.warn.expected.expected_counts`, the calendar-aware NB GLM
  refitted on the past (the level baseline in a series' first year);
* a fitted :class:`Baseline` (e.g. a forecaster's one-step means): used as it is.

:func:`fit_baseline` returns a :class:`Baseline` for either name. Fitting the calendar model is
the expensive part of detection; a caller that scores the same counts with several detectors
passes one :class:`BaselineCache` (its own object: the library keeps no state between calls).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from predgov.data.freq import year_lag
from predgov.warn._common import (
    day_of_week,
    lagged_sum,
    periods_per_year,
    rolling_size,
    weekly_cycle,
)
from predgov.warn.expected import expected_counts

#: Default look-back of the level, per frequency (periods).
LEVEL_WINDOW = {"D": 28, "W-MON": 8, "MS": 4}
#: Default look-back of the weekday profile (days; daily data only).
WEEKDAY_WINDOW = 84
#: Default look-back of the dispersion estimate, per frequency (periods).
DISPERSION_WINDOW = {"D": 84, "W-MON": 26, "MS": 12}


def one_step_forecast(
    values: np.ndarray,
    time: np.ndarray,
    freq: str,
    *,
    level_window: int | None = None,
    weekday_window: int = WEEKDAY_WINDOW,
    dispersion_window: int | None = None,
    guard: int = 0,
    weekday_prior: float = 7.0,
    yearly: bool = False,
    yearly_halfwidth: int = 2,
    yearly_prior: float = 3.0,
    min_observed: int = 5,
) -> tuple[np.ndarray, np.ndarray]:
    """One-step-ahead negative-binomial forecast of every series, without look-ahead.

    The mean at ``t`` is ``level x weekday factor`` where the level is the weekday-adjusted mean
    of rows ``t-guard-level_window .. t-guard-1`` and the weekday factors (daily data only) are
    the shrunken weekday means of the last ``weekday_window`` days over their overall mean. The
    NB size comes from the method of moments on the forecast's errors over the last
    ``dispersion_window`` periods, so it includes the error of estimating the level.

    Parameters
    ----------
    values
        ``values[time, series]`` float counts, NaN = not observed.
    time
        The ``datetime64`` time stamps of the rows (for the weekday).
    freq
        "D", "W-MON" or "MS".
    level_window, weekday_window, dispersion_window
        Look-backs in periods (defaults :data:`LEVEL_WINDOW`, 84 days, :data:`DISPERSION_WINDOW`).
    guard
        Most recent periods left out of the level and weekday profile (a guard band).
    weekday_prior
        Pseudo-days pulling each weekday factor towards 1.
    min_observed
        Fewer observed periods in the level window: NaN forecast.

    Returns
    -------
    mean, size
        Arrays like ``values``; NaN where there is not enough history.

    Examples
    --------
    >>> t = np.arange("2024-01-01", "2024-03-01", dtype="datetime64[D]")
    >>> y = np.full((len(t), 1), 4.0)
    >>> mean, size = one_step_forecast(y, t, "D")
    >>> float(mean[-1, 0]), bool(size[-1, 0] >= 1e8)
    (4.0, True)
    """
    x = np.asarray(values, dtype=np.float64)
    n_level = int(level_window or LEVEL_WINDOW[freq])
    n_disp = int(dispersion_window or DISPERSION_WINDOW[freq])
    lag = int(guard) + 1
    cycle = weekly_cycle(freq)
    if cycle:
        dow = day_of_week(time)
        masked = [np.where((dow == d)[:, None], x, np.nan) for d in range(cycle)]

        def weekday_sums(n: int, at: int) -> tuple[np.ndarray, np.ndarray]:
            pairs = [lagged_sum(xd, n, at) for xd in masked]
            return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])

        sw, cw = weekday_sums(weekday_window, lag)  # (7, T, S)
        with np.errstate(invalid="ignore", divide="ignore"):
            overall = sw.sum(0) / cw.sum(0)
            prior = weekday_prior * overall
            factor = (sw + prior) / (cw * overall + prior)
            factor = factor / factor.mean(axis=0, keepdims=True)
            factor = np.where(np.isfinite(factor), factor, 1.0)
            sl, cl = weekday_sums(n_level, lag)
            level = sl.sum(0) / (cl * factor).sum(0)
            if yearly:
                # last year (52 weeks back): level at the same date / level of the window
                ya, na = weekday_sums(2 * yearly_halfwidth + 1, year_lag("D") - yearly_halfwidth)
                yb, nb = weekday_sums(n_level, year_lag("D") + lag)
                a = (ya / factor).sum(0)
                na_adj = na.sum(0)
                b = yb.sum(0) / (nb * factor).sum(0)
                ratio = (a + yearly_prior * b) / ((na_adj + yearly_prior) * b)
                ratio = np.where(np.isfinite(ratio) & (na_adj > 0), ratio, 1.0)
                level = level * ratio
        n_obs = cl.sum(0)
        today = factor[dow, np.arange(x.shape[0])]  # factor of each row's own weekday
        mean = level * today
    else:
        s, n_obs = lagged_sum(x, n_level, lag)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = s / n_obs
    mean = np.where(n_obs >= min_observed, mean, np.nan)

    # Dispersion by moments on past one-step errors: sum (y-mu)^2 = sum mu + sum mu^2 / size.
    size = size_from_errors(x, mean, n_disp, min_observed)
    size = np.where(np.isnan(mean), np.nan, size)
    return mean, size


def size_from_errors(
    x: np.ndarray, mu: np.ndarray, window: int, min_observed: int = 5
) -> np.ndarray:
    """NB size by moments on the past errors of one-step means ``mu`` over ``window`` periods
    (no look-ahead); Poisson where fewer than ``min_observed`` errors are known.

    Examples
    --------
    >>> x = np.array([0.0, 8.0, 0.0, 8.0, 0.0, 8.0, 4.0])[:, None]
    >>> round(float(size_from_errors(x, np.full(x.shape, 4.0), 6)[-1, 0]), 3)
    1.333
    """
    usable = np.isfinite(x) & np.isfinite(mu)
    return rolling_size(np.where(usable, (x - mu) ** 2, np.nan), np.where(usable, mu, np.nan),
                        np.where(usable, mu**2, np.nan), window, min_observed)  # fmt: skip


@dataclass(frozen=True)
class Baseline:
    """In-control means ``expected`` and NB sizes ``size`` of every cell ``[time, series]``,
    each made without look-ahead; ``kind`` says where they came from."""

    expected: np.ndarray
    size: np.ndarray
    kind: str = "given"
    #: Variance of the mean's persistent error (in predictive SDs squared) per cell, or None
    #: (the calendar model's self-calibration estimates it; thresholds then allow for it).
    persist: np.ndarray | None = None

    @classmethod
    def given(cls, values: np.ndarray, freq: str, expected: Any, size: Any = None) -> Baseline:
        """A baseline from a forecaster's one-step means (and sizes; default: from the means'
        past errors, :func:`size_from_errors`)."""
        x = np.asarray(values, dtype=np.float64)
        mu = np.broadcast_to(np.asarray(expected, dtype=np.float64), x.shape)
        r = size_from_errors(x, mu, DISPERSION_WINDOW[freq]) if size is None else size
        return cls(np.array(mu), np.array(np.broadcast_to(np.asarray(r, np.float64), x.shape)))


@dataclass
class BaselineCache:
    """Calendar baselines already fitted, by their inputs: an object the caller owns and passes
    to the detectors (e.g. one :func:`~predgov.warn.evaluate.evaluate` call scoring the same
    cube with two detectors). Keeps at most ``size`` fits, the oldest dropped first.

    Examples
    --------
    >>> cache = BaselineCache()
    >>> calls = []
    >>> fit = lambda: calls.append(1) or Baseline(np.zeros((1, 1)), np.ones((1, 1)))
    >>> _ = cache.get("k", fit); _ = cache.get("k", fit); len(calls)
    1
    """

    size: int = 4
    fits: dict[str, Baseline] = field(default_factory=dict)

    def get(self, key: str | None, fit: Any) -> Baseline:
        """The baseline stored under ``key``, else ``fit()`` stored (``key`` None: not cached)."""
        if key is not None and key in self.fits:
            return self.fits[key]
        out = fit()
        if key is not None:
            while len(self.fits) >= self.size:
                self.fits.pop(next(iter(self.fits)))
            self.fits[key] = out
        return out


def fit_baseline(
    x: np.ndarray,
    time: np.ndarray,
    freq: str,
    baseline: str | Baseline = "level",
    *,
    level_window: int | None = None,
    guard: int = 0,
    city: str | None = None,
    regressors: Any = None,
    groups: np.ndarray | None = None,
    model: dict[str, Any] | None = None,
    start: object = None,
    end: object = None,
    cache: BaselineCache | None = None,
    expected: Any = None,
    size: Any = None,
    young: str = "calendar",
) -> Baseline:
    """In-control means and NB sizes from the chosen baseline (a name, or a :class:`Baseline`);
    a forecaster's one-step means ``expected`` (and sizes ``size``), when given, win
    (:meth:`Baseline.given`).

    ``"calendar"`` in a series' first year (``young``): ``"calendar"`` (default) keeps the
    calendar model, which leaves its yearly terms out until a year of history exists and
    leaves flagged outbreaks out of its fit, level and dispersion; ``"level"`` falls back to
    the rolling level baseline there (the behaviour before issue 14: its NB size came from
    the errors of every past day, outbreaks included, so after an outbreak its alarm count
    jumped, e.g. from 10 to 219). ``cache`` (owned by the caller) keeps calendar fits between
    detectors scoring the same counts.

    Examples
    --------
    >>> t = np.arange("2024-01-01", "2024-03-01", dtype="datetime64[D]")
    >>> fit_baseline(np.full((len(t), 1), 4.0), t, "D").expected[-1, 0]
    np.float64(4.0)
    """
    if expected is not None:
        return Baseline.given(x, freq, expected, size)
    if isinstance(baseline, Baseline):
        return baseline
    if baseline == "level":
        mu, size = one_step_forecast(x, time, freq, level_window=level_window, guard=guard)
        return Baseline(mu, size, "level")
    if baseline != "calendar":
        raise ValueError(f"baseline must be 'level' or 'calendar', got {baseline!r}")
    opts = dict(model or {})
    if guard:
        opts.setdefault("guard", guard)

    def fit() -> Baseline:
        out = expected_counts(x, time, freq, city=city, regressors=regressors, groups=groups,
                              start=start, end=end, **opts)  # fmt: skip
        return Baseline(out["expected"], out["size"], "calendar", out.get("persist"))

    key = None
    if cache is not None:
        key = _cache_key(x, time, freq, city, regressors, groups, opts, start, end)
    fitted = (cache or BaselineCache()).get(key, fit)
    mu, size = fitted.expected.copy(), fitted.size.copy()
    persist = None if fitted.persist is None else fitted.persist.copy()
    if young not in ("calendar", "level"):
        raise ValueError(f"young must be 'calendar' or 'level', got {young!r}")
    first_year = _young(x, freq) if young == "level" else np.zeros(x.shape, bool)
    if first_year.any():
        mu_l, size_l = one_step_forecast(x, time, freq, level_window=level_window, guard=guard)
        mu = np.where(first_year, mu_l, mu)
        size = np.where(first_year, size_l, size)
        if persist is not None:
            persist = np.where(first_year, 0.0, persist)
    return Baseline(mu, size, "calendar", persist)


def baseline_forecast(
    x: np.ndarray, time: np.ndarray, freq: str, baseline: str | Baseline = "level", **kwargs: Any
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`fit_baseline` as a ``(expected, size)`` pair."""
    fitted = fit_baseline(x, time, freq, baseline, **kwargs)
    return fitted.expected, fitted.size


def _cache_key(x, time, freq, city, regressors, groups, opts, start, end) -> str | None:
    """A digest of everything the calendar fit depends on (None: regressors not hashable)."""
    h = hashlib.sha1()
    for part in (x, np.asarray(time, dtype="datetime64[ns]"), groups):
        if part is not None:
            h.update(np.ascontiguousarray(part).tobytes())
    h.update(repr((freq, city, sorted(opts.items()), str(start), str(end))).encode())
    if regressors is not None:
        if not hasattr(regressors, "to_dataframe"):
            return None
        h.update(regressors.to_dataframe().to_csv().encode())
    return h.hexdigest()


def _young(x: np.ndarray, freq: str) -> np.ndarray:
    """``[time, series]``: True where the series has less than a year of history."""
    year = round(periods_per_year(freq))
    observed = ~np.isnan(x)
    first = np.where(observed.any(0), observed.argmax(0), x.shape[0])
    return np.arange(x.shape[0])[:, None] - first[None, :] < year
