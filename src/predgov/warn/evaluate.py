"""Measuring detection quality by injecting known outbreaks.

Baselines
    :func:`nb_baseline` draws negative-binomial series ``mu_t = exp(theta + beta t + yearly
    harmonic) x weekday profile`` as in the Noufaily et al. (2013) simulation design
    (``surveillance::sts_creation``); the demo city's ``expected`` is another baseline
    (:func:`demo_baseline`); a real series gives a third (:func:`smooth_baseline`).

Outbreaks (:func:`inject_outbreaks`)
    Outbreak starts are spread over each series with random gaps. Size is measured in baseline
    standard deviations ``sd_t = sqrt(mu_t + mu_t^2 / r)``, in one of two ways:

    * ``sizing="per_period"`` (default; the SPC "k-sigma shift"): every period of the outbreak
      gets ``Poisson(k x sd_t)`` extra counts, for a duration ``max(1, round(LogNormal(
      log(duration), duration_sdlog)))`` periods (median ``duration``, default 4);
    * ``sizing="total"`` (Noufaily et al. 2013 / ``surveillance::sts_creation``, the standard
      of the simulation literature and of ``benchmarks/calibration.py``): ``Poisson(k x sd)``
      extra counts in all (``sd`` at the start), each placed ``floor(LogNormal(0, 0.5))``
      periods after the start; Noufaily's POD is ``pod_any`` below.

Metrics (:func:`score_alarms`), on observed cells of the evaluation range
    * **pod**: share of outbreaks with an alarm in their first ``within`` periods (and before
      they end); **pod_any**: with an alarm at any time during the outbreak;
    * **delay**: periods from the start to the first alarm during the outbreak, in days
      (median and 90th percentile over detected outbreaks; 0 = alarm on the first day);
    * **fa**: false alarms per series-year = alarm periods outside every outbreak window
      ``start .. end + tail`` divided by observed series-years; **fa_runs** counts runs of
      consecutive false alarm periods instead (what an operator sees as separate alerts);
    * **ppv**: alarm periods inside an outbreak window / all alarm periods.

Calibration (:func:`calibrate`, :func:`evaluate`, :func:`calibrate_threshold`)
    A detector's threshold is set to the smallest value with at most ``fa_budget`` false
    alarms per series-year on *outbreak-free training series*; detection is then measured on
    *separate* series with injected outbreaks. Every random draw is seeded.
    :func:`calibrate_threshold` does the same on a place's own history, for use in
    operation: the default threshold comes from the synthetic demo city, and real series
    (NYC noise) are more irregular.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from predgov.stats.nb import moment_alpha, size_from_alpha
from predgov.warn._common import (
    as_counts,
    day_of_week,
    freq_of,
    period_days,
    periods_per_year,
    resolve_range,
    stack,
)
from predgov.warn.baseline import BaselineCache
from predgov.warn.cusum import cusum_path
from predgov.warn.detect import DETECTORS, prepare, run_detector

#: Hotline weekday profile (Mon..Sun) used by :func:`nb_baseline` (illustrative).
WEEKDAY_PROFILE = np.array([1.15, 1.05, 1.0, 1.0, 0.95, 0.9, 0.95])

OUTBREAK_COLUMNS = ["series", "label", "start", "end", "start_time", "end_time", "k", "size", "sd"]


# --------------------------------------------------------------------------------- baselines
def nb_baseline(
    n_series: int = 50,
    *,
    start: str = "2022-01-01",
    periods: int = 3 * 365,
    freq: str = "D",
    seed: int = 0,
    mean_range: tuple[float, float] = (1.0, 60.0),
    size_range: tuple[float, float] = (5.0, 30.0),
    trend_sd: float = 0.1,
    season_range: tuple[float, float] = (0.0, 0.5),
    weekday: bool = True,
) -> xr.Dataset:
    """Negative-binomial baseline series (Noufaily et al. 2013 design, plus a weekday cycle).

    ``mu_t = exp(theta + beta * years + a cos(2 pi (years - phase))) x weekday`` with, per
    series, ``exp(theta)`` log-uniform in ``mean_range``, ``beta ~ N(0, trend_sd)`` per year,
    ``a`` uniform in ``season_range`` and NB size ``r`` uniform in ``size_range``.

    Returns
    -------
    xr.Dataset
        ``counts(time, series)`` int64, ``expected(time, series)``, ``size(series)``; attrs
        ``freq`` and ``seed``.

    Examples
    --------
    >>> ds = nb_baseline(3, periods=30, seed=1)
    >>> ds["counts"].shape, ds.attrs["freq"]
    ((30, 3), 'D')
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(11,)))
    time = pd.date_range(start, periods=periods, freq=freq)
    years = np.arange(periods) / periods_per_year(freq)
    level = np.exp(rng.uniform(np.log(mean_range[0]), np.log(mean_range[1]), n_series))
    beta = rng.normal(0.0, trend_sd, n_series)
    amp = rng.uniform(*season_range, n_series)
    phase = rng.uniform(0.0, 1.0, n_series)
    size = rng.uniform(*size_range, n_series)
    log_mu = (
        np.log(level) + beta * years[:, None] + amp * np.cos(2 * np.pi * (years[:, None] - phase))
    )
    mu = np.exp(log_mu)
    if weekday and freq == "D":
        mu = mu * WEEKDAY_PROFILE[day_of_week(time.values)][:, None]
    counts = rng.negative_binomial(size, size / (size + mu))
    coords = {"time": time.values.astype("datetime64[ns]"), "series": np.arange(n_series)}
    return xr.Dataset(
        {
            "counts": (("time", "series"), counts.astype(np.int64), {"units": "requests"}),
            "expected": (("time", "series"), mu),
            "size": ("series", size),
        },
        coords=coords,
        attrs={"freq": freq, "seed": int(seed)},
    )


def nb_size_by_moments(counts: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Per-series NB size from counts around a known mean: ``sum mu^2 / (sum (y-mu)^2 - sum mu)``
    (large when the counts are not over-dispersed)."""
    y = np.asarray(counts, dtype=np.float64)
    mu = np.asarray(expected, dtype=np.float64)
    ok = np.isfinite(y) & np.isfinite(mu)
    a = np.where(ok, (y - mu) ** 2, 0.0).sum(0)
    b = np.where(ok, mu, 0.0).sum(0)
    c = np.where(ok, mu**2, 0.0).sum(0)
    return size_from_alpha(moment_alpha(a, b, c, lower=1e-4))


def demo_baseline(city: xr.Dataset) -> xr.Dataset:
    """Outbreak-free demo city as an injection baseline: ``counts``, ``expected`` and a
    per-series NB ``size`` estimated from the counts around ``expected``."""
    if city.sizes.get("anomaly", 0):
        raise ValueError("use demo_city(..., anomalies=False) as a baseline")
    counts = as_counts(city)
    size = nb_size_by_moments(stack(counts).values, stack(city["expected"]).values)
    out = xr.Dataset({"counts": counts, "expected": city["expected"]})
    out["size"] = stack(counts).unstack_series(size)
    out.attrs.update(freq=freq_of(city), seed=city.attrs.get("seed", -1))
    return out


def smooth_baseline(counts: xr.Dataset | xr.DataArray, window: int = 29) -> xr.Dataset:
    """A baseline for injecting into real series: centred rolling mean x weekday profile
    (uses the future; only for building test data, never inside a detector) and NB size."""
    da = as_counts(counts)
    freq = freq_of(counts)
    stacked = stack(da)
    y = stacked.values
    frame = pd.DataFrame(y)
    level = frame.rolling(window, center=True, min_periods=window // 3).mean().to_numpy()
    mu = level
    if freq == "D":
        dow = day_of_week(da["time"].values)
        ratio = np.ones((7, y.shape[1]))
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = y / level
            for d in range(7):
                ratio[d] = np.nanmean(rel[dow == d], axis=0)
        mu = level * ratio[dow]
    size = nb_size_by_moments(y, mu)
    out = xr.Dataset({"counts": da, "expected": stacked.unstack(mu)})
    out["size"] = stacked.unstack_series(size)
    out.attrs.update(freq=freq)
    return out


# --------------------------------------------------------------------------------- outbreaks
def inject_outbreaks(
    baseline: xr.Dataset,
    *,
    seed: int = 0,
    k: float | Sequence[float] = 3.0,
    sizing: str = "per_period",
    duration: float = 4.0,
    duration_sdlog: float = 0.5,
    gap: tuple[int, int] = (45, 90),
    start: object = None,
    end: object = None,
    min_mean: float = 1.0,
    replicates: int = 1,
) -> tuple[xr.Dataset, pd.DataFrame]:
    """Add outbreaks to baseline series; return the new cube and the ground-truth table.

    Parameters
    ----------
    baseline
        Dataset with ``counts``, ``expected`` (same dims) and ``size`` (NB size, broadcastable:
        per series), e.g. from :func:`nb_baseline` or :func:`demo_baseline`.
    seed
        Seed of every draw.
    k
        Outbreak size in baseline SDs; a sequence: drawn uniformly per outbreak.
    sizing
        "per_period" (``Poisson(k sd_t)`` extra in each period of a lognormal duration) or
        "total" (Noufaily: ``Poisson(k sd)`` extra in all, lognormal delays).
    duration, duration_sdlog
        Median and log-SD of the duration (periods) for "per_period".
    gap
        Range of periods between an outbreak's start and the next one's start in a series.
    start, end
        Outbreaks start inside this range only (e.g. after the detectors' burn-in).
    min_mean
        Series whose mean expected count in the range is below this get no outbreaks.
    replicates
        Copies of every series (new dim ``replicate``) with independent outbreaks: more
        outbreaks from few series (one real series).

    Returns
    -------
    cube, outbreaks
        ``counts`` with outbreaks (int64, NaN kept as float), and one row per outbreak:
        ``series`` (position in the stacked series order), ``label``, ``start``/``end``
        (row positions, inclusive), ``start_time``/``end_time``, ``k``, ``size`` (extra counts),
        ``sd``.

    Examples
    --------
    >>> base = nb_baseline(4, periods=200, seed=0)
    >>> cube, table = inject_outbreaks(base, seed=1, start="2022-03-01")
    >>> list(table.columns)[:4], bool((table["start"] >= 59).all())
    (['series', 'label', 'start', 'end'], True)
    """
    if sizing not in ("per_period", "total"):
        raise ValueError(f"sizing must be 'per_period' or 'total', got {sizing!r}")
    counts = as_counts(baseline)
    expected = baseline["expected"]
    size = baseline["size"]
    if replicates > 1:
        rep = xr.DataArray(np.arange(replicates), dims="replicate")
        counts = counts.expand_dims(replicate=rep).transpose("time", ...)
        expected = expected.expand_dims(replicate=rep).transpose("time", ...)
    size_full = size.broadcast_like(counts.isel(time=0, drop=True)).transpose(
        *[d for d in counts.dims if d != "time"]
    )
    stacked = stack(counts)
    y = stacked.values.copy()
    mu = stack(expected.broadcast_like(counts).transpose(*counts.dims)).values
    r = np.asarray(size_full.values, dtype=np.float64).reshape(-1)
    sd = np.sqrt(mu + mu**2 / r[None, :])
    time = np.asarray(counts["time"].values)
    i0, i1 = resolve_range(time, start, end)
    labels = stacked.series_labels()
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(12,)))
    ks = np.atleast_1d(np.asarray(k, dtype=np.float64))
    rows: list[dict[str, Any]] = []
    T = y.shape[0]
    for s in range(y.shape[1]):
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(mu[i0:i1, s]) if i1 > i0 else np.nan
        if not (mean >= min_mean):
            continue
        t = i0 + int(rng.integers(0, max(1, gap[0])))
        while t < i1:
            kk = float(ks[rng.integers(len(ks))])
            if not (mu[t, s] >= min_mean / 2):  # off-season (e.g. heating in summer): skip
                t += int(rng.integers(gap[0], gap[1] + 1))
                continue
            if sizing == "per_period":
                d = max(1, round(rng.lognormal(math.log(duration), duration_sdlog)))
                span = np.arange(t, min(t + d, T))
                extra = rng.poisson(kk * np.nan_to_num(sd[span, s]))
            else:
                n = rng.poisson(kk * np.nan_to_num(sd[t, s]))
                offsets = np.floor(rng.lognormal(0.0, 0.5, n)).astype(np.int64)
                extra = np.bincount(offsets, minlength=1)
                span = np.arange(t, min(t + len(extra), T))
                extra = extra[: len(span)]
            observed = ~np.isnan(y[span, s])
            y[span[observed], s] += extra[observed]
            last = span[-1]
            if sizing == "total" and extra.sum() > 0:
                last = span[np.flatnonzero(extra)[-1]]
            rows.append(
                {
                    "series": s,
                    "label": labels[s],
                    "start": int(t),
                    "end": int(last),
                    "start_time": pd.Timestamp(time[t]),
                    "end_time": pd.Timestamp(time[last]),
                    "k": kk,
                    "size": int(extra[observed].sum()),
                    "sd": float(sd[t, s]),
                }
            )
            t += int(rng.integers(gap[0], gap[1] + 1))
    out_counts = stacked.unstack(y if np.isnan(y).any() else y.astype(np.int64), name="counts")
    out_counts.attrs.update(counts.attrs)
    out_counts.attrs["freq"] = freq_of(baseline)
    cube = xr.Dataset({"counts": out_counts}, attrs={"freq": out_counts.attrs["freq"]})
    table = pd.DataFrame(rows, columns=OUTBREAK_COLUMNS)
    return cube, table


# ----------------------------------------------------------------------------------- metrics
def score_alarms(
    alarm: np.ndarray,
    outbreaks: pd.DataFrame,
    *,
    observed: np.ndarray | None = None,
    within: int = 3,
    tail: int = 3,
    start: int = 0,
    end: int | None = None,
    freq: str = "D",
) -> dict[str, float]:
    """Detection metrics of boolean alarms ``alarm[time, series]`` against known outbreaks.

    Parameters
    ----------
    alarm
        Alarms, stacked like the outbreak table's ``series`` positions.
    outbreaks
        Table with ``series``, ``start``, ``end`` (row positions, inclusive).
    observed
        Cells that count towards series-years (default: all).
    within
        An outbreak counts for ``pod`` when an alarm falls in its first ``within`` periods.
    tail
        Periods after an outbreak's end in which alarms are neither false nor true.
    start, end
        Evaluation rows ``start .. end-1``: alarms and series-years outside are ignored.
    freq
        Converts periods to days for delays and to years for ``fa``.

    Returns
    -------
    dict
        ``pod``, ``pod_any``, ``delay_median``, ``delay_p90`` (days), ``fa``, ``fa_runs`` (per
        series-year), ``ppv``, ``n_outbreaks``, ``series_years``, ``n_alarms``.

    Examples
    --------
    Two outbreaks (rows 10-13 and 30-31) in one 365-day series; alarms on rows 11 (delay 1),
    50 and 51 (one false run of two days):

    >>> alarm = np.zeros((365, 1), bool); alarm[[11, 50, 51], 0] = True
    >>> table = pd.DataFrame({"series": [0, 0], "start": [10, 30], "end": [13, 31]})
    >>> m = score_alarms(alarm, table)
    >>> m["pod"], round(m["fa"], 2), round(m["fa_runs"], 2), m["delay_median"], round(m["ppv"], 3)
    (0.5, 2.0, 1.0, 1.0, 0.333)
    """
    alarm = np.asarray(alarm, dtype=bool)
    T, S = alarm.shape
    end = T if end is None else int(end)
    inside = np.zeros(T, dtype=bool)
    inside[start:end] = True
    obs = np.ones((T, S), bool) if observed is None else np.asarray(observed, dtype=bool)
    obs = obs & inside[:, None]
    alarm = alarm & obs
    window = np.zeros((T, S), dtype=bool)
    delays: list[float] = []
    hits = []
    hits_any = []
    for row in outbreaks.itertuples(index=False):
        s, a, b = int(row.series), int(row.start), int(row.end)
        window[a : min(b + tail + 1, T), s] = True
        if not inside[a]:
            continue
        during = np.flatnonzero(alarm[a : b + 1, s])
        if len(during):
            first = int(during[0])
            delays.append(first * period_days(freq))
            hits_any.append(True)
            hits.append(first < within)
        else:
            hits_any.append(False)
            hits.append(False)
    years = obs.sum() / periods_per_year(freq)
    false = alarm & ~window
    run_starts = false & ~np.vstack([np.zeros((1, S), bool), false[:-1]])
    n_alarm = int(alarm.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "pod": float(np.mean(hits)) if hits else math.nan,
            "pod_any": float(np.mean(hits_any)) if hits_any else math.nan,
            "delay_median": float(np.median(delays)) if delays else math.nan,
            "delay_p90": float(np.percentile(delays, 90)) if delays else math.nan,
            "fa": float(false.sum() / years) if years > 0 else math.nan,
            "fa_runs": float(run_starts.sum() / years) if years > 0 else math.nan,
            "ppv": float((alarm & window).sum() / n_alarm) if n_alarm else math.nan,
            "n_outbreaks": len(hits),
            "series_years": float(years),
            "n_alarms": n_alarm,
        }


# ----------------------------------------------------------------------- scoring & calibration
@dataclass
class Scored:
    """One detector run on one cube, re-thresholdable without re-fitting.

    ``alarms(h)`` gives the alarms at score threshold ``h`` (the CUSUM is re-run with reset).
    """

    method: str
    name: str
    freq: str
    raw: dict[str, np.ndarray]
    observed: np.ndarray
    start: int
    end: int
    default_threshold: float

    def alarms(self, threshold: float | None = None) -> np.ndarray:
        if threshold is None:
            return self.raw["alarm"]
        if DETECTORS[self.name].path_dependent:
            valid = ~np.isnan(self.raw["score"])
            _, alarm = cusum_path(np.where(valid, self.raw["llr"], np.nan), float(threshold))
            return alarm & valid
        base = self.raw["threshold"]
        with np.errstate(invalid="ignore"):
            return (self.raw["score"] > threshold) & np.isfinite(base)

    def false_alarm_rate(self, threshold: float, outbreaks: pd.DataFrame | None = None) -> float:
        table = outbreaks if outbreaks is not None else _no_outbreaks()
        return score_alarms(
            self.alarms(threshold), table, observed=self.observed, start=self.start,
            end=self.end, freq=self.freq,
        )["fa"]  # fmt: skip


def run(
    counts: xr.Dataset | xr.DataArray,
    method: str,
    *,
    start: object = None,
    end: object = None,
    city: str | None = None,
    regressors: Any = None,
    pool: str | None = "category",
    cache: BaselineCache | None = None,
    **params: Any,
) -> Scored:
    """Run a detector for evaluation (keeps what a threshold sweep needs); ``city``,
    ``regressors``, ``pool`` and ``cache`` as for :func:`~predgov.warn.detect`."""
    prep = prepare(counts, method, params, city=city, regressors=regressors, pool=pool,
                   cache=cache)  # fmt: skip
    name, freq, stacked, time = prep.name, prep.freq, prep.stacked, prep.time
    raw = run_detector(name, stacked.values, time, freq, prep.call, start, end)
    i0, i1 = resolve_range(time, start, end)
    base = np.asarray(raw["threshold"])
    finite = base[np.isfinite(base)]
    return Scored(
        method=method,
        name=name,
        freq=freq,
        raw=raw,
        observed=~np.isnan(stacked.values),
        start=i0,
        end=i1,
        default_threshold=float(np.median(finite)) if finite.size else math.nan,
    )


def _no_outbreaks() -> pd.DataFrame:
    return pd.DataFrame({"series": [], "start": [], "end": []}, dtype=np.int64)


def calibrate(
    scored: Scored, fa_budget: float = 1.0, outbreaks: pd.DataFrame | None = None
) -> float:
    """Smallest threshold with at most ``fa_budget`` false alarms per series-year.

    For threshold-free scores this is an order statistic of the scores; for the CUSUM a
    bisection on ``h``.
    """
    table = outbreaks if outbreaks is not None else _no_outbreaks()
    if DETECTORS[scored.name].path_dependent:
        lo, hi = 0.0, 1.0
        while scored.false_alarm_rate(hi, table) > fa_budget and hi < 1e4:
            lo, hi = hi, hi * 2.0
        for _ in range(30):
            mid = 0.5 * (lo + hi)
            if scored.false_alarm_rate(mid, table) > fa_budget:
                lo = mid
            else:
                hi = mid
        return hi
    metrics_obs = scored.observed.copy()
    inside = np.zeros(metrics_obs.shape[0], bool)
    inside[scored.start : scored.end] = True
    metrics_obs &= inside[:, None]
    years = metrics_obs.sum() / periods_per_year(scored.freq)
    allowed = math.floor(fa_budget * years)
    window = np.zeros(metrics_obs.shape, bool)
    for row in table.itertuples(index=False):
        window[int(row.start) : int(row.end) + 4, int(row.series)] = True
    ok = metrics_obs & ~window & np.isfinite(scored.raw["threshold"])
    scores = np.sort(scored.raw["score"][ok & ~np.isnan(scored.raw["score"])])[::-1]
    if allowed >= len(scores):
        return float(scores[-1]) - 1e-9 if len(scores) else math.inf
    return float(scores[allowed])


def calibrate_threshold(
    counts: xr.Dataset | xr.DataArray,
    method: str = "default",
    fa_per_year: float = 1.0,
    *,
    start: object = None,
    end: object = None,
    city: str | None = None,
    regressors: Any = None,
    pool: str | None = "category",
    **params: Any,
) -> float:
    """Threshold with at most ``fa_per_year`` alarms per series-year on a place's own history.

    The detector runs over ``start..end`` of ``counts`` (earlier data serve as its history) and
    every alarm there counts as false, so real events in the stretch raise the threshold: the
    result is conservative, and a stretch without known incidents is the right input. Pass the
    result as ``detect(..., threshold=...)``. ``city``, ``regressors``, ``pool`` and
    ``params`` as for :func:`~predgov.warn.detect`.

    Examples
    --------
    >>> t = pd.date_range("2023-01-01", periods=400, freq="D")
    >>> y = np.random.default_rng(0).poisson(20.0, (400, 3))
    >>> da = xr.DataArray(y, coords={"time": t, "s": list("abc")}, dims=("time", "s"))
    >>> h = calibrate_threshold(da, "ears_c2", fa_per_year=2.0)
    >>> from predgov.warn import detect
    >>> n = int(detect(da, "ears_c2", threshold=h)["alarm"].sum())
    >>> n <= 2.0 * 3 * 400 / 365.25
    True
    """
    if not (np.isfinite(fa_per_year) and fa_per_year >= 0):
        raise ValueError(f"fa_per_year must be a finite number >= 0, got {fa_per_year!r}")
    scored = run(counts, method, start=start, end=end, city=city, regressors=regressors,
                 pool=pool, **params)  # fmt: skip
    observed = scored.observed[scored.start : scored.end]
    if not observed.any():
        raise ValueError("no observed periods to calibrate on in start..end")
    series_years = float(observed.sum()) / periods_per_year(scored.freq)
    if fa_per_year * series_years < 1:
        warnings.warn(
            f"the calibration stretch holds {series_years:.2f} series-years: at "
            f"{fa_per_year} alarms per series-year not one alarm is allowed, so the threshold "
            "is just above the largest score seen there, not a measured false-alarm rate; "
            "use a longer stretch",
            UserWarning,
            stacklevel=2,
        )
    return float(calibrate(scored, fa_per_year))


def evaluate(
    methods: Iterable[str],
    train: xr.Dataset | xr.DataArray | None,
    test: xr.Dataset | xr.DataArray,
    outbreaks: pd.DataFrame,
    *,
    fa_budget: float | None = 1.0,
    within: int = 3,
    tail: int = 3,
    start: object = None,
    end: object = None,
    params: dict[str, dict[str, Any]] | None = None,
    thresholds: dict[str, float] | None = None,
    city: str | None = None,
    train_regressors: Any = None,
    test_regressors: Any = None,
) -> pd.DataFrame:
    """Calibrate each detector on outbreak-free ``train`` and measure it on ``test``.

    Parameters
    ----------
    methods
        Detector names (as for :func:`~predgov.warn.detect`).
    train, test
        Outbreak-free training cube and the cube with injected ``outbreaks``.
    fa_budget
        False alarms per series-year allowed on ``train``; None: use each detector's default
        threshold.
    within, tail
        See :func:`score_alarms`.
    start, end
        Evaluation range (both cubes); earlier data are history only.
    params
        Extra parameters per method name.
    thresholds
        Fixed thresholds per method name (no calibration for those; ``train`` may be None).
    city, train_regressors, test_regressors
        Calendar and regressors (e.g. each city's ``temperature``) for detectors with an
        expected-count model, see :func:`~predgov.warn.detect`.

    Returns
    -------
    pd.DataFrame
        One row per method: ``threshold``, ``fa_train`` and the :func:`score_alarms` metrics on
        ``test``.
    """
    rows = []
    cache = BaselineCache()  # detectors with the calendar baseline share its fits on a cube
    for method in methods:
        extra = (params or {}).get(method, {})
        scored_test = run(
            test, method, start=start, end=end, city=city, regressors=test_regressors,
            cache=cache, **extra,
        )  # fmt: skip
        if thresholds is not None and method in thresholds:
            h = float(thresholds[method])
            fa_train = math.nan
        elif fa_budget is None or train is None:
            h = None  # each detector's own thresholds (per cell for the default CUSUM)
            fa_train = math.nan
        else:
            scored_train = run(
                train, method, start=start, end=end, city=city, regressors=train_regressors,
                cache=cache, **extra,
            )  # fmt: skip
            h = calibrate(scored_train, fa_budget)
            fa_train = scored_train.false_alarm_rate(h)
        m = score_alarms(
            scored_test.alarms(h), outbreaks, observed=scored_test.observed, within=within,
            tail=tail, start=scored_test.start, end=scored_test.end, freq=scored_test.freq,
        )  # fmt: skip
        if h is None:
            h = scored_test.default_threshold
        rows.append({"method": method, "threshold": h, "fa_train": fa_train, **m})
    return pd.DataFrame(rows).set_index("method")


def sweep(
    scored: Scored,
    outbreaks: pd.DataFrame,
    thresholds: Sequence[float] | None = None,
    *,
    within: int = 3,
    tail: int = 3,
) -> pd.DataFrame:
    """Trade-off curve of one detector run: metrics at each threshold (default: 15 values
    between the thresholds giving about 10 and 0.1 false alarms per series-year)."""
    if thresholds is None:
        lo = calibrate(scored, 10.0, outbreaks)
        hi = calibrate(scored, 0.1, outbreaks)
        thresholds = np.linspace(lo, hi, 15) if np.isfinite([lo, hi]).all() else [lo]
    rows = []
    for h in thresholds:
        m = score_alarms(
            scored.alarms(float(h)), outbreaks, observed=scored.observed, within=within,
            tail=tail, start=scored.start, end=scored.end, freq=scored.freq,
        )  # fmt: skip
        rows.append({"method": scored.method, "threshold": float(h), **m})
    return pd.DataFrame(rows)
