"""A seeded family of synthetic count series for calibration benchmarks (issue 14 §2).

Each *member* of the family is a group of series drawn from one generating process; the
calibration harness (``benchmarks/calibration.py``) measures forecast coverage and detector
false alarms on every member, so a method is judged on many kinds of series at once instead of
being tuned on one. The members span:

* distributions from Poisson through negative binomial with size 1 (NB2: ``var = mu + mu^2/r``);
* levels from 0.3 to 1,000 counts per period (log-uniform within a member's range);
* weekly (daily data) and yearly cycles with a random phase per series;
* log-linear trends, one level shift per series, holidays (a calendar shared by the member's
  series, each holiday with its own multiplier), intermittent (zero-inflated) series;
* a weekly profile that drifts (``d_weekly_drift``): the weekend's contrast with the working
  days follows a yearly path (311 noise and street complaints rise on summer weekends; the
  phase is random per series, so it is not tied to any one city's summer) plus a slow random
  walk, so that no fixed weekly pattern fits the whole history;
* daily, weekly (``W-MON``) and monthly (``MS``) frequencies.

:func:`generate` draws one member (an ``xr.Dataset``), :func:`family` the whole family (a
dict by member name). Everything comes from ``numpy.random.SeedSequence(seed, spawn_key=...)``
keyed by the member's name: the same seed gives the same series, and adding a member does not
change the others.

Returned Dataset (one member)::

    counts(time, series)   int64 counts, attrs units="requests"
    expected(time, series) the true mean of each period (zero-inflation included)
    size(series)           effective NB size of the series around ``expected`` (moments;
                           what :func:`predgov.warn.evaluate.inject_outbreaks` sizes SDs by)
    holiday(time)          1 on the member's holidays (all zero when it has none)
    series coords: member, level (mean of expected), nb_size (inf = Poisson), zero_prob,
                   weekly_amp, yearly_amp, trend (log change per year), shift (log),
                   shift_time, weekend_sd (sd over time of the drifting weekend contrast)
    attrs: freq, seed, member, description
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import xarray as xr

from predgov.data.freq import check_freq, periods_per_year

__all__ = ["FAMILY", "Member", "family", "generate", "member_names"]


@dataclass(frozen=True)
class Member:
    """One generating process of the family.

    Attributes
    ----------
    name
        Short name (also keys the random stream).
    description
        One line for tables.
    freq
        "D", "W-MON" or "MS".
    n_series
        Series drawn.
    years
        Length of every series in years (whole periods, starting 2021-01-04, a Monday).
    level
        Range of the mean count per period (log-uniform per series).
    size
        Range of the NB size (log-uniform per series); None: Poisson.
    weekly, yearly
        Ranges of the amplitudes (log scale) of the weekly cycle (daily data only) and the
        yearly cycle, each with a random phase per series.
    trend
        Standard deviation of the log-linear trend per year.
    shift
        Range of the absolute log size of one level shift per series (up or down at random,
        in the middle 80 % of the series); (0, 0): none.
    holidays
        Holidays per year: random dates drawn once per member (the same every year, shared by
        its series), each with a multiplier ``exp(N(0, 0.5))``.
    zero_prob
        Range of the probability that a period is an extra zero (intermittent series); the
        non-zero part is scaled so the mean stays ``level``.
    weekend_drift
        Daily data: range of the amplitude (log scale) of the yearly cycle of the weekend's
        contrast: Saturdays and Sundays get ``log_mu += c(t)`` (Fridays ``c(t) / 2``, the
        night into Saturday), ``c(t) = c0 + a cos(2 pi (t - phase)) + w(t)`` with ``c0`` from
        ``weekend_base``, ``a`` from this range, a random phase and ``w`` a Gaussian random walk
        with daily sd ``weekend_walk``; (0, 0): none. Its draws come from a stream of their own
        (the member's stream is not shifted).
    weekend_base
        Range of the mean weekend contrast ``c0`` (log scale; may be negative).
    weekend_walk
        Daily sd of the random walk of the weekend contrast (log scale).
    """

    name: str
    description: str
    freq: str = "D"
    n_series: int = 12
    years: float = 3.0
    level: tuple[float, float] = (1.0, 30.0)
    size: tuple[float, float] | None = (5.0, 50.0)
    weekly: tuple[float, float] = (0.0, 0.2)
    yearly: tuple[float, float] = (0.0, 0.3)
    trend: float = 0.0
    shift: tuple[float, float] = (0.0, 0.0)
    holidays: int = 0
    zero_prob: tuple[float, float] = (0.0, 0.0)
    extra: dict = field(default_factory=dict)
    weekend_drift: tuple[float, float] = (0.0, 0.0)
    weekend_base: tuple[float, float] = (0.0, 0.0)
    weekend_walk: float = 0.0


#: The family (order = the harness's table order).
FAMILY: tuple[Member, ...] = (
    Member("d_pois_sparse", "daily Poisson, 0.3-1 a day", level=(0.3, 1.0), size=None),
    Member("d_pois_mid", "daily Poisson, 1-30 a day", level=(1.0, 30.0), size=None),
    Member("d_pois_high", "daily Poisson, 30-1,000 a day", level=(30.0, 1000.0), size=None),
    Member("d_nb_sparse", "daily NB size 2-10, 0.3-1 a day", level=(0.3, 1.0), size=(2.0, 10.0)),
    Member("d_nb_mid", "daily NB size 3-30, 1-30 a day", level=(1.0, 30.0), size=(3.0, 30.0)),
    Member("d_nb_high", "daily NB size 5-50, 30-1,000 a day", level=(30.0, 1000.0),
           size=(5.0, 50.0)),
    Member("d_nb_size1", "daily NB size 1-2, 1-100 a day", level=(1.0, 100.0), size=(1.0, 2.0)),
    Member("d_seasonal", "daily NB, strong weekly and yearly cycles", level=(3.0, 300.0),
           size=(5.0, 30.0), weekly=(0.2, 0.4), yearly=(0.4, 0.8)),
    Member("d_trend", "daily NB, trends of about 30 % a year", level=(2.0, 200.0),
           size=(5.0, 30.0), trend=0.3),
    Member("d_shift", "daily NB, one level shift of 20-50 %", level=(2.0, 200.0),
           size=(5.0, 30.0), shift=(0.2, 0.5)),
    Member("d_holiday", "daily NB, 10 holidays a year", level=(2.0, 200.0), size=(5.0, 30.0),
           holidays=10),
    Member("d_intermittent", "daily NB, 30-70 % extra zeros, 0.3-3 a day", level=(0.3, 3.0),
           size=(2.0, 10.0), zero_prob=(0.3, 0.7)),
    Member("w_nb", "weekly NB, 5-1,000 a week, yearly cycle", freq="W-MON", years=4.0,
           level=(5.0, 1000.0), size=(3.0, 50.0), yearly=(0.1, 0.5)),
    Member("m_nb", "monthly NB, 20-1,000 a month, yearly cycle", freq="MS", years=6.0,
           level=(20.0, 1000.0), size=(5.0, 50.0), yearly=(0.1, 0.5)),
    # Last: adding it left every member above unchanged (its draws are its own).
    Member("d_weekly_drift", "daily NB, weekend contrast drifting with the season, 5-200 a day",
           level=(5.0, 200.0), size=(5.0, 30.0), weekly=(0.0, 0.15), yearly=(0.1, 0.4),
           weekend_drift=(0.15, 0.35), weekend_base=(-0.1, 0.5), weekend_walk=0.01),
)


def member_names(freq: str | None = None) -> list[str]:
    """Names of the family's members (of one frequency if given).

    Examples
    --------
    >>> member_names("MS")
    ['m_nb']
    """
    return [m.name for m in FAMILY if freq is None or m.freq == freq]


def _member(name: str | Member) -> Member:
    if isinstance(name, Member):
        return name
    for m in FAMILY:
        if m.name == name:
            return m
    raise ValueError(f"unknown family member {name!r}; choose from {member_names()}")


def _log_uniform(rng: np.random.Generator, lo_hi: tuple[float, float], n: int) -> np.ndarray:
    lo, hi = lo_hi
    if lo <= 0 or hi < lo:
        raise ValueError(f"need 0 < low <= high, got {lo_hi}")
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n))


def generate(
    member: str | Member,
    seed: int = 0,
    *,
    n_series: int | None = None,
    years: float | None = None,
) -> xr.Dataset:
    """Draw the series of one family member.

    Parameters
    ----------
    member
        A name from :data:`FAMILY` or a :class:`Member`.
    seed
        Seed; the member's name keys its own stream.
    n_series, years
        Override the member's number of series and length.

    Returns
    -------
    xr.Dataset
        See the module docstring.

    Examples
    --------
    >>> ds = generate("d_nb_mid", seed=1, n_series=3, years=0.5)
    >>> ds["counts"].dims, ds.sizes["series"], ds.attrs["freq"]
    (('time', 'series'), 3, 'D')
    >>> bool((generate("d_nb_mid", seed=1, n_series=3, years=0.5)["counts"] == ds["counts"]).all())
    True
    """
    m = _member(member)
    if n_series is not None or years is not None:
        m = replace(m, n_series=int(n_series or m.n_series), years=float(years or m.years))
    freq = check_freq(m.freq)
    if m.n_series < 1 or m.years <= 0:
        raise ValueError(f"need n_series >= 1 and years > 0, got {m.n_series}, {m.years}")
    key = zlib.crc32(m.name.encode())
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(key,)))
    ppy = periods_per_year(freq)
    T = max(2, round(m.years * ppy))
    time = pd.date_range("2021-01-04", periods=T, freq=freq)
    S = m.n_series
    # time in years at the middle of each period
    days = (time - time[0]).days.to_numpy(float) + {"D": 0.5, "W-MON": 3.5, "MS": 15.0}[freq]
    years_t = days / 365.25

    level = _log_uniform(rng, m.level, S)
    log_mu = np.zeros((T, S))
    weekly_amp = rng.uniform(*m.weekly, S) if freq == "D" else np.zeros(S)
    if freq == "D":
        dow = time.day_of_week.to_numpy()
        phase = rng.uniform(0.0, 7.0, S)
        log_mu += weekly_amp * np.cos(2 * np.pi * (dow[:, None] - phase) / 7.0)
    yearly_amp = rng.uniform(*m.yearly, S)
    yphase = rng.uniform(0.0, 1.0, S)
    log_mu += yearly_amp * np.cos(2 * np.pi * (years_t[:, None] - yphase))
    trend = rng.normal(0.0, m.trend, S) if m.trend > 0 else np.zeros(S)
    log_mu += trend * (years_t[:, None] - years_t.mean())
    shift = np.zeros(S)
    shift_time = np.full(S, np.datetime64("NaT", "ns"))
    if m.shift[1] > 0:
        shift = rng.uniform(*m.shift, S) * rng.choice([-1.0, 1.0], S)
        at = rng.integers(int(0.1 * T), int(0.9 * T), S)
        log_mu += np.where(np.arange(T)[:, None] >= at, shift, 0.0)
        shift_time = time.values[at].astype("datetime64[ns]")
    holiday = np.zeros(T)
    if m.holidays and freq == "D":
        doy = rng.choice(np.arange(1, 366), size=m.holidays, replace=False)
        effect = np.exp(rng.normal(0.0, 0.5, m.holidays))
        mult = np.ones(T)
        for d, e in zip(doy, effect, strict=True):
            on = time.day_of_year.to_numpy() == d
            holiday[on] = 1.0
            mult[on] = e
        log_mu += np.log(mult)[:, None]
    weekend_contrast = np.zeros((T, S))
    if m.weekend_drift[1] > 0 and freq == "D":
        # A stream of its own: the member's draws above and below are not shifted.
        wrng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(key, 1)))
        base = wrng.uniform(*m.weekend_base, S)
        amp = wrng.uniform(*m.weekend_drift, S)
        wphase = wrng.uniform(0.0, 1.0, S)
        walk = np.cumsum(wrng.normal(0.0, m.weekend_walk, (T, S)), axis=0)
        weekend_contrast = (base + amp * np.cos(2 * np.pi * (years_t[:, None] - wphase))
                            + walk - walk.mean(axis=0))  # fmt: skip
        dow = time.day_of_week.to_numpy()
        share = np.select([dow >= 5, dow == 4], [1.0, 0.5], 0.0)
        log_mu += share[:, None] * weekend_contrast
    # normalise so the series' mean over time is its level (before zero-inflation)
    log_mu -= np.log(np.exp(log_mu).mean(0))
    mu = level * np.exp(log_mu)
    zero_prob = rng.uniform(*m.zero_prob, S) if m.zero_prob[1] > 0 else np.zeros(S)
    nonzero_mu = mu / (1.0 - zero_prob)
    if m.size is None:
        r = np.full(S, np.inf)
        draws = rng.poisson(nonzero_mu)
    else:
        r = _log_uniform(rng, m.size, S)
        draws = rng.negative_binomial(r, r / (r + nonzero_mu))
    zero = rng.random((T, S)) < zero_prob
    counts = np.where(zero, 0, draws).astype(np.int64)
    # effective size of the marginal around its mean: var = mu + mu^2 / size
    var_nz = nonzero_mu + np.where(np.isinf(r), 0.0, nonzero_mu**2 / np.where(np.isinf(r), 1, r))
    ex2 = (1 - zero_prob) * (var_nz + nonzero_mu**2)
    var = ex2 - mu**2
    excess = (var - mu).sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        eff = np.where(excess > 0, (mu**2).sum(0) / excess, np.inf)
    eff = np.minimum(eff, 1e8)
    series = [f"{m.name}_{i:02d}" for i in range(S)]
    ds = xr.Dataset(
        {
            "counts": (("time", "series"), counts, {"units": "requests"}),
            "expected": (("time", "series"), mu, {"long_name": "true mean", "units": "requests"}),
            "size": ("series", eff, {"long_name": "effective NB size around expected"}),
            "holiday": ("time", holiday, {"long_name": "holiday of the member's calendar"}),
        },
        coords={
            "time": time.values.astype("datetime64[ns]"),
            "series": series,
            "member": ("series", [m.name] * S),
            "level": ("series", mu.mean(0)),
            "nb_size": ("series", r),
            "zero_prob": ("series", zero_prob),
            "weekly_amp": ("series", weekly_amp),
            "yearly_amp": ("series", yearly_amp),
            "trend": ("series", trend),
            "shift": ("series", shift),
            "shift_time": ("series", shift_time),
            "weekend_sd": ("series", weekend_contrast.std(axis=0)),
        },
        attrs={"freq": freq, "seed": int(seed), "member": m.name, "description": m.description},
    )
    return ds


def family(
    seed: int = 0,
    *,
    names: list[str] | None = None,
    n_series: int | None = None,
    years: float | None = None,
) -> dict[str, xr.Dataset]:
    """Every member (or those in ``names``) drawn with :func:`generate`, by name.

    Examples
    --------
    >>> fam = family(0, names=["d_pois_mid", "m_nb"], n_series=2)
    >>> {k: v.attrs["freq"] for k, v in fam.items()}
    {'d_pois_mid': 'D', 'm_nb': 'MS'}
    """
    chosen = [m.name for m in FAMILY] if names is None else list(names)
    return {n: generate(n, seed, n_series=n_series, years=years) for n in chosen}
