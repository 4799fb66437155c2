"""A synthetic Qingdao-like city: daily hotline counts with known dynamics and known outbreaks.

``demo_city(seed)`` returns a cube (DESIGN.md, "The cube") that every notebook, test and the
default run use when no real data is given. It is a statistical generator, not a simulation:

* expected counts per (day, district, category) = level x weekday/holiday factor x seasonal
  factor x special effects x slow trend; heating is driven by a generated daily temperature;
* observed counts are negative-binomial around that mean (over-dispersed, as 311 data are);
* outbreaks ("anomalies") are injected as in Noufaily et al. (2013) / R ``surveillance::
  sts_creation``: size k x baseline SD, spread over a lognormal duration; their ground truth is
  stored in the same Dataset on dim ``anomaly``.

Randomness comes from ``numpy.random.SeedSequence(seed)`` keyed by process (and by series for
levels and noise), so switching anomalies off, or taking a subset of districts and categories,
leaves every other draw unchanged.

Every number below is illustrative unless its comment names a source: the only published
figures for the setting are in SEED_BRIEF.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import holidays
import numpy as np
import pandas as pd
import xarray as xr

from predgov.data.calendar import calendar, city_config, lunar_new_year
from predgov.data.taxonomy import load_districts, load_taxonomy

#: Version of the generator; bump when the same seed would give different numbers.
GENERATOR_VERSION = "1.0"

#: Heating complaints in one heating season city-wide: "4.4万" in SEED_BRIEF.md (case 1).
HEATING_CALLS_PER_SEASON = 44_000

# Process keys of the random streams (SeedSequence spawn keys). Never renumber.
_LEVELS, _TEMPERATURE, _COUNTS, _ANOMALIES = 1, 2, 3, 4

# Mean building age in years per district (illustrative: the old core 市南/市北 was mostly built
# before 1995; 崂山, 西海岸新区, 城阳, 即墨 grew after 2005; county-level cities in between).
BUILDING_AGE = {
    "市南": 34.0, "市北": 31.0, "李沧": 24.0, "崂山": 15.0, "西海岸新区": 14.0,
    "城阳": 16.0, "即墨": 15.0, "胶州": 18.0, "平度": 21.0, "莱西": 22.0,
}  # fmt: skip
_DEFAULT_BUILDING_AGE = 20.0

# Share of households on central (district) heating: urban districts nearly all; in the
# county-level cities many village homes heat with stoves (illustrative).
_HEATING_COVERAGE = {True: 1.0, False: 0.45}

# Daily temperature, °C: Qingdao climate normals are about -1 °C in January and 25-26 °C in
# August (China Meteorological Administration normals, order of magnitude); AR(1) weather noise.
_T_MEAN, _T_AMP, _T_PEAK_DOY = 12.5, 13.5, 213
_T_PHI, _T_SD = 0.8, 1.8  # stationary SD = 1.8 / sqrt(1 - 0.64) = 3.0 °C

# Heating calls: a peak while systems are filled and balanced at season start (SEED_BRIEF.md:
# calls "about filling and pressure tests"), then driven by cold: +8 % per °C below 10 °C.
_HEAT_START_AMP, _HEAT_START_DAYS = 2.0, 12.0
_HEAT_T0, _HEAT_GAMMA = 10.0, 0.08
_REFERENCE_SEASON = ("2023-11-15", "2024-04-05")  # calibration season (any full season works)
_TREND_REFERENCE = np.datetime64("2023-07-01", "ns")  # trends are 1 on this day


@dataclass(frozen=True)
class _Profile:
    """How one category behaves (rates per 10,000 households per day)."""

    rate: float
    urban: float = 1.0  # multiplier in urban districts
    rural: float = 1.0  # multiplier in county-level (rural) districts
    rest: float = 0.85  # multiplier on non-working days (weekends, days off by decree)
    holiday: float = 0.7  # multiplier on listed public holidays
    size: float = 25.0  # negative-binomial size r: variance = mu + mu^2 / r
    season: tuple[tuple[float, float, float], ...] = ()  # (amplitude, peak day-of-year, width)


# Illustrative levels: about 1,400 non-heating requests a day city-wide. Dispersion r 10-25 gives
# daily variance/mean of about 1.5-6 on busy series, the range 311 data show.
_PROFILES: dict[str, _Profile] = {
    "water_supply": _Profile(0.25, rest=0.9, holiday=0.85, season=((0.25, 200, 45),)),
    # Qingdao's rainy season is July-August.
    "drainage": _Profile(0.15, 1.1, 0.8, 0.9, 0.85, 15, ((0.9, 205, 25),)),
    "gas": _Profile(0.05, 1.2, 0.6, 0.9, 0.9, 25, ((0.4, 15, 50),)),
    "power": _Profile(0.12, 1.0, 1.1, 0.95, 0.9, 20, ((0.45, 205, 30), (0.2, 20, 30))),
    "noise_construction": _Profile(0.20, 1.0, 0.9, 0.8, 0.4, 15, ((0.3, 170, 80),)),
    # Windows open in summer (SEED_BRIEF.md case 4: noise), fireworks and parties on holidays.
    "noise_social": _Profile(0.35, 1.2, 0.8, 1.2, 1.3, 15, ((0.45, 205, 50),)),
    "noise_traffic": _Profile(0.06, 1.2, 0.7, 1.0, 1.0, 20, ((0.2, 200, 60),)),
    "air_pollution": _Profile(0.12, 1.0, 1.0, 1.0, 1.0, 20, ((0.3, 15, 45), (0.2, 200, 40))),
    "consumer_dispute": _Profile(0.30, 1.0, 0.7, 1.25, 1.3, 20),
    "food_safety": _Profile(0.06, 1.0, 0.9, 1.1, 1.1, 20, ((0.35, 210, 40),)),
    "property_mgmt": _Profile(0.60, 1.4, 0.6, 0.8, 0.6, 25, ((0.1, 320, 40),)),
    "housing_quality": _Profile(0.20, 1.1, 0.9, 0.8, 0.6, 20, ((0.45, 210, 25),)),
    # Rural neighbour disputes (SEED_BRIEF.md case 3, Pingdu).
    "neighbour_dispute": _Profile(0.18, 0.9, 1.3, 1.1, 0.9, 15, ((0.15, 200, 60),)),
    # Village affairs exist in the county-level cities; in urban districts they are rare (sparse).
    "village_affairs": _Profile(0.20, 0.05, 1.0, 0.6, 0.5, 10, ((0.25, 90, 30),)),
    "road_damage": _Profile(0.10, 1.1, 0.9, 0.8, 0.7, 20, ((0.3, 75, 25), (0.3, 205, 25))),
    "public_transit": _Profile(0.12, 1.3, 0.6, 0.9, 0.8, 25),
    "parking": _Profile(0.25, 1.5, 0.5, 1.1, 1.1, 25),
    "sanitation": _Profile(0.20, 1.0, 1.0, 1.0, 1.0, 20, ((0.25, 200, 50),)),
    "greenery": _Profile(0.05, 1.1, 0.8, 0.8, 0.7, 15, ((0.6, 165, 40),)),
    "public_order": _Profile(0.10, 1.0, 1.0, 1.15, 1.2, 20, ((0.2, 200, 60),)),
    "wage_arrears": _Profile(0.08, 0.9, 1.1, 0.5, 0.4, 10),
    # Resident medical insurance is renewed in the last months of the year.
    "medical_insurance": _Profile(0.06, 0.5, 1.4, 0.5, 0.4, 15, ((0.5, 340, 30),)),
}
_DEFAULT_PROFILE = _Profile(0.10)  # a category a future taxonomy adds
_HEATING_SIZE = 30.0

# Weekday profile of working days (Mon..Sun; Sat/Sun apply only to make-up workdays): backlog
# from the weekend arrives on Monday.
_WEEKDAY = np.array([1.10, 1.03, 1.0, 0.97, 0.92, 0.95, 0.95])

# Tourist season multipliers of consumer disputes (SEED_BRIEF.md case 2: Zhongshan Road in 市南;
# 崂山 scenic area and the West Coast beaches are illustrative).
_TOURIST_CONSUMER = {"市南": 3.0, "崂山": 2.0, "西海岸新区": 1.5, "市北": 1.3}
_TOURIST_PARKING = {"市南": 1.3, "崂山": 1.3}
_COMMERCIAL_CONSUMER = {"市南": 2.5, "市北": 1.2}  # shopping streets raise the base level
_NEW_CONSTRUCTION = {"西海岸新区": 1.6, "城阳": 1.5, "即墨": 1.4, "李沧": 1.2}
_GOLDEN_WEEK_CONSUMER = 1.8
_SPRING_FESTIVAL_CONSTRUCTION = 0.15  # sites close from ~10 days before to ~15 days after
_WAGE_ARREARS_PRE_CNY = 1.5  # +150 % at the New Year: migrant workers want pay before going home

_TREND_SD = 0.03  # log-growth per year: a few % per year per series
_LEVEL_SD = 0.25  # lognormal spread of series levels around the profile


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _circular_bump(doy: np.ndarray, peak: float, width: float) -> np.ndarray:
    d = np.abs(doy - peak)
    d = np.minimum(d, 365.25 - d)
    return np.exp(-0.5 * (d / width) ** 2)


def _temperature_climate(doy: np.ndarray) -> np.ndarray:
    return _T_MEAN + _T_AMP * np.cos(2 * np.pi * (doy - _T_PEAK_DOY) / 365.25)


def _temperature(seed: int, days: pd.DatetimeIndex) -> np.ndarray:
    rng = _rng(seed, _TEMPERATURE)
    shocks = rng.normal(0.0, _T_SD, len(days))
    noise = np.empty(len(days))
    level = rng.normal(0.0, _T_SD / math.sqrt(1 - _T_PHI**2))
    for i, e in enumerate(shocks):
        level = _T_PHI * level + e if i else level
        noise[i] = level
    return _temperature_climate(days.day_of_year.to_numpy()) + noise


def _expected_cold(doy: np.ndarray) -> np.ndarray:
    """E[max(0, T0 - T)] with T ~ Normal(climate, stationary SD): the calibration's cold term."""
    m = _temperature_climate(doy)
    s = _T_SD / math.sqrt(1 - _T_PHI**2)
    z = (_HEAT_T0 - m) / s
    cdf = 0.5 * (1 + np.vectorize(math.erf)(z / math.sqrt(2)))
    pdf = np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)
    return (_HEAT_T0 - m) * cdf + s * pdf


def _heating_shape(days: pd.DatetimeIndex, in_season: np.ndarray, cold: np.ndarray) -> np.ndarray:
    start_md = city_config("qingdao")["heating_season"][0]
    month, day = (int(x) for x in start_md.split("-"))
    years = days.year.to_numpy() - (
        (days.month.to_numpy() * 100 + days.day.to_numpy()) < month * 100 + day
    )
    starts = pd.to_datetime([f"{y}-{month:02d}-{day:02d}" for y in years])
    since = (days - starts).days.to_numpy()
    shape = (1 + _HEAT_START_AMP * np.exp(-since / _HEAT_START_DAYS)) * (1 + _HEAT_GAMMA * cold)
    return np.where(in_season, shape, 0.0)


def _off_blocks(working: np.ndarray, holiday: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) indices of runs of non-working days that contain a public holiday."""
    blocks, i, n = [], 0, len(working)
    while i < n:
        if working[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and not working[j + 1]:
            j += 1
        if holiday[i : j + 1].any():
            blocks.append((i, j))
        i = j + 1
    return blocks


def _category_factors(codes: list[str], days: pd.DatetimeIndex, cal: xr.Dataset) -> np.ndarray:
    """Calendar x season x special factors, shape (time, category), heating excluded."""
    n = len(days)
    doy = days.day_of_year.to_numpy().astype(float)
    dow = days.day_of_week.to_numpy()
    working = cal["working_day"].values
    holiday = cal["holiday"].values

    golden = np.zeros(n, bool)
    for a, b in _off_blocks(working, holiday):
        if any(d.month == 10 and d.day <= 8 for d in days[a : b + 1]):
            golden[a : b + 1] = True
    cny = [lunar_new_year(y) for y in range(days[0].year - 1, days[-1].year + 2)]
    to_cny = np.full(n, 10_000)  # days until the next Chinese New Year
    from_cny = np.full(n, 10_000)  # days since the last one
    for d0 in cny:
        delta = (days - d0).days.to_numpy()
        to_cny = np.where((delta <= 0) & (-delta < to_cny), -delta, to_cny)
        from_cny = np.where((delta >= 0) & (delta < from_cny), delta, from_cny)
    festival = (to_cny <= 10) | (from_cny <= 15)

    out = np.empty((n, len(codes)))
    for j, code in enumerate(codes):
        p = _PROFILES.get(code, _DEFAULT_PROFILE)
        f = np.where(working, _WEEKDAY[dow], p.rest)
        f = np.where(holiday, p.holiday, f)
        for amp, peak, width in p.season:
            f = f * (1 + amp * _circular_bump(doy, peak, width))
        if code == "consumer_dispute":
            f = f * np.where(golden, _GOLDEN_WEEK_CONSUMER, 1.0)
        elif code == "noise_construction":
            f = f * np.where(festival, _SPRING_FESTIVAL_CONSTRUCTION, 1.0)
        elif code == "wage_arrears":
            f = f * (1 + _WAGE_ARREARS_PRE_CNY * np.clip(1 - to_cny / 40, 0, 1))
        out[:, j] = f
    return out


def _check_subset(
    name: str, given: Sequence[str] | None, full: list[str]
) -> tuple[list[str], list[int]]:
    if given is None:
        return full, list(range(len(full)))
    if isinstance(given, str):
        given = [given]
    given = list(given)
    unknown = [g for g in given if g not in full]
    if unknown or not given or len(set(given)) != len(given):
        raise ValueError(f"{name} must be distinct names from {full}; got {given}")
    return given, [full.index(g) for g in given]


def _inject(
    seed: int,
    expected: np.ndarray,
    size_r: np.ndarray,
    days: pd.DatetimeIndex,
    n_anomalies: int,
) -> tuple[np.ndarray, list[dict]]:
    """Outbreaks per Noufaily et al. (2013): Poisson(k x baseline SD) extra calls, lognormal
    spread. Returns the extra counts (time, district, category) and the ground-truth rows."""
    rng = _rng(seed, _ANOMALIES)
    n_t = expected.shape[0]
    extra = np.zeros(expected.shape, dtype=np.int64)
    means = expected.mean(axis=0)
    eligible = np.argwhere(means >= 1.0)  # outbreaks on series with at least a call a day
    rows: list[dict] = []
    if len(eligible) == 0 or n_t < 14:
        return extra, rows
    for _ in range(n_anomalies * 20):  # bounded retries for outbreaks that fall off the data
        if len(rows) == n_anomalies:
            break
        d, c = eligible[rng.integers(len(eligible))]
        series = expected[:, d, c]
        kind = "spike" if rng.random() < 0.7 else "trend"
        if kind == "spike":
            k = int(rng.integers(2, 11))  # Noufaily: k = 1..10 baseline SDs
            duration = 7
        else:
            k = int(rng.integers(2, 7))
            duration = int(np.clip(round(rng.lognormal(np.log(30.0), 0.35)), 10, 90))
        candidates = np.flatnonzero(series[: n_t - 3] > 0.5)
        if len(candidates) == 0:
            continue
        t0 = int(candidates[rng.integers(len(candidates))])
        window = series[t0 : t0 + duration]
        mu = float(window.mean())
        sd = math.sqrt(mu + mu**2 / size_r[c])
        if kind == "spike":
            n = int(rng.poisson(k * sd))
            # sts_creation spreads outbreak cases by a lognormal delay after the start.
            offsets = np.floor(rng.lognormal(np.log(2.0), 0.6, n)).astype(np.int64)
        else:
            # A slow rise: k SDs of the window's total, cases increasing linearly over the window.
            n = int(rng.poisson(k * sd * math.sqrt(duration)))
            offsets = np.floor(duration * np.sqrt(rng.random(n))).astype(np.int64)
        t = t0 + offsets
        t = t[(t < n_t)]
        t = t[series[t] > 0]  # never outside the season of a seasonal service (heating)
        if len(t) == 0:
            continue
        add = np.bincount(t - t0, minlength=0)
        idx = np.flatnonzero(add)
        extra[t0 : t0 + len(add), d, c] += add
        rows.append(
            {
                "start": days[t0 + idx[0]],
                "end": days[t0 + idx[-1]],
                "district": int(d),
                "category": int(c),
                "size": int(add.sum()),
                "k": k,
                "kind": kind,
            }
        )
    rows.sort(key=lambda r: (r["start"], r["district"], r["category"]))
    return extra, rows


def demo_city(
    seed: int = 0,
    *,
    start: str = "2022-01-01",
    end: str = "2024-12-31",
    anomalies: bool = True,
    scale: float = 1.0,
    districts: Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    n_anomalies: int | None = None,
) -> xr.Dataset:
    """Generate a synthetic Qingdao-like city of daily hotline counts.

    Parameters
    ----------
    seed
        Seed of every random draw (``numpy.random.SeedSequence``). Same seed, same bytes.
    start, end
        First and last day (inclusive). Years must be covered by the ``holidays`` package (it
        knows China's make-up working days only up to its release).
    anomalies
        Inject outbreaks and store their ground truth on dim ``anomaly``. Switching them off
        leaves ``counts`` otherwise identical (separate random stream).
    scale
        Multiplies every expected count (heating: ``scale`` x 44,000 calls a season).
    districts, categories
        Subsets (names / codes of the Qingdao tables) for small fast test cities. A subset's
        ``expected``, ``temperature`` and outbreak-free counts equal the full city's for those
        series; the injected outbreaks differ.
    n_anomalies
        Number of outbreaks; default 15 a year (fewer for cities with under 40 series).

    Returns
    -------
    xr.Dataset
        ``counts(time, district, category)`` int64 requests, ``expected`` (same dims, float64:
        the noise-free mean without outbreaks), ``temperature(time)`` °C, and the outbreak table
        ``anomaly_start, anomaly_end, anomaly_district, anomaly_category, anomaly_size,
        anomaly_k, anomaly_kind`` over ``anomaly`` (length 0 without outbreaks). Coordinates on
        ``district``: ``district_label_en``, ``households``, ``building_age``; on ``category``:
        ``parent``, ``department``, ``label_zh``, ``label_en``.

    Examples
    --------
    >>> city = demo_city(seed=0, districts=["市南", "平度"], categories=["heating", "parking"])
    >>> city["counts"].dims
    ('time', 'district', 'category')
    >>> int(city["counts"].sel(time="2023-07-01", category="heating").sum())
    0
    >>> city.attrs["freq"]
    'D'
    """
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    days = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="D")
    if len(days) == 0:
        raise ValueError(f"end ({end}) is before start ({start})")
    days = pd.DatetimeIndex(days.values.astype("datetime64[ns]"), name="time")
    table = load_districts("qingdao")
    taxonomy = load_taxonomy("qingdao")
    all_districts = table.names
    all_codes = list(taxonomy.categories.index)
    dnames, d_idx = _check_subset("districts", districts, all_districts)
    codes, c_idx = _check_subset("categories", categories, all_codes)

    cal = calendar((days[0], days[-1], "D"), "qingdao")
    temperature = _temperature(seed, days)
    n_t = len(days)

    # ---- expected counts (time, district, category)
    households = np.array([table.table.loc[d, "households"] for d in dnames], dtype=float)
    urban = np.array([bool(table.table.loc[d, "urban"]) for d in dnames])
    ages = np.array([BUILDING_AGE.get(d, _DEFAULT_BUILDING_AGE) for d in dnames])
    factors = _category_factors(codes, days, cal)
    tourist = cal["tourist_season"].values
    years_from_ref = (days.values - _TREND_REFERENCE) / np.timedelta64(1, "D") / 365.25

    # Heating: share of the city's season total by households on central heating x building age.
    def heat_weight(name: str) -> float:
        row = table.table.loc[name]
        age = BUILDING_AGE.get(name, _DEFAULT_BUILDING_AGE)
        return float(row["households"]) * _HEATING_COVERAGE[bool(row["urban"])] * age / 20

    total_weight = sum(heat_weight(n) for n in all_districts)
    in_season = cal["heating_season"].values
    cold_now = np.maximum(0.0, _HEAT_T0 - temperature)
    heat_shape = _heating_shape(days, in_season, cold_now)
    ref_days = pd.date_range(*_REFERENCE_SEASON, freq="D")
    ref_shape = _heating_shape(
        ref_days, np.ones(len(ref_days), bool), _expected_cold(ref_days.day_of_year.to_numpy())
    )
    heat_per_weight = HEATING_CALLS_PER_SEASON / (total_weight * ref_shape.sum())

    expected = np.empty((n_t, len(dnames), len(codes)))
    size_r = np.empty(len(codes))
    for j, (code, cj) in enumerate(zip(codes, c_idx, strict=True)):
        p = _PROFILES.get(code, _DEFAULT_PROFILE)
        size_r[j] = _HEATING_SIZE if code == "heating" else p.size
        for i, (name, di) in enumerate(zip(dnames, d_idx, strict=True)):
            rng = _rng(seed, _LEVELS, di, cj)
            level_noise, beta = rng.lognormal(0.0, _LEVEL_SD), rng.normal(0.0, _TREND_SD)
            trend = np.exp(beta * years_from_ref)
            if code == "heating":
                expected[:, i, j] = heat_per_weight * heat_weight(name) * heat_shape * trend
                continue
            level = p.rate * households[i] / 1e4 * (p.urban if urban[i] else p.rural)
            mu = level * level_noise * factors[:, j] * trend
            if code == "consumer_dispute":
                mu = mu * _COMMERCIAL_CONSUMER.get(name, 1.0)
                mu = mu * np.where(tourist, _TOURIST_CONSUMER.get(name, 1.1), 1.0)
            elif code == "parking":
                mu = mu * np.where(tourist, _TOURIST_PARKING.get(name, 1.0), 1.0)
            elif code == "noise_construction":
                mu = mu * _NEW_CONSTRUCTION.get(name, 1.0)
            elif code == "water_supply":
                mu = mu * (1 + 0.15 * np.maximum(0.0, -3.0 - temperature))  # burst pipes
            expected[:, i, j] = mu
    expected *= scale

    # ---- negative-binomial counts, one keyed stream per series
    counts = np.empty(expected.shape, dtype=np.int64)
    for j, cj in enumerate(c_idx):
        r = size_r[j]
        for i, di in enumerate(d_idx):
            mu = expected[:, i, j]
            counts[:, i, j] = _rng(seed, _COUNTS, di, cj).negative_binomial(r, r / (r + mu))

    rows: list[dict] = []
    if anomalies:
        if n_anomalies is None:
            n_series = len(dnames) * len(codes)
            n_anomalies = max(1, round(15 * n_t / 365.25 * min(1.0, n_series / 40)))
        extra, rows = _inject(seed, expected, size_r, days, int(n_anomalies))
        counts += extra

    return _assemble(
        counts, expected, temperature, rows, days, dnames, codes, ages,
        seed=seed, anomalies=anomalies, scale=scale,
    )  # fmt: skip


def _assemble(
    counts: np.ndarray,
    expected: np.ndarray,
    temperature: np.ndarray,
    rows: list[dict],
    days: pd.DatetimeIndex,
    dnames: list[str],
    codes: list[str],
    ages: np.ndarray,
    *,
    seed: int,
    anomalies: bool,
    scale: float,
) -> xr.Dataset:
    table = load_districts("qingdao")
    taxonomy = load_taxonomy("qingdao")
    dims = ("time", "district", "category")
    n_a = len(rows)

    def col(key: str, dtype: str) -> np.ndarray:
        return np.array([r[key] for r in rows], dtype=dtype)

    data = {
        "counts": (dims, counts, {"long_name": "hotline requests received in the period",
                                  "units": "requests"}),
        "expected": (dims, expected, {"long_name": "noise-free expected requests without "
                                      "injected outbreaks", "units": "requests"}),
        "temperature": ("time", temperature, {"long_name": "daily mean air temperature "
                                              "(synthetic)", "units": "degC"}),
        "anomaly_start": ("anomaly", col("start", "datetime64[ns]"),
                          {"long_name": "first day with extra requests"}),
        "anomaly_end": ("anomaly", col("end", "datetime64[ns]"),
                        {"long_name": "last day with extra requests"}),
        "anomaly_district": ("anomaly", np.array([dnames[r["district"]] for r in rows], dtype=str),
                             {"long_name": "district of the outbreak"}),
        "anomaly_category": ("anomaly", np.array([codes[r["category"]] for r in rows], dtype=str),
                             {"long_name": "category of the outbreak"}),
        "anomaly_size": ("anomaly", col("size", "int64"),
                         {"long_name": "extra requests added to counts", "units": "requests"}),
        "anomaly_k": ("anomaly", col("k", "int64"),
                      {"long_name": "outbreak size in baseline standard deviations "
                       "(Noufaily et al. 2013)"}),
        "anomaly_kind": ("anomaly", np.array([r["kind"] for r in rows], dtype=str),
                         {"long_name": "spike (short outbreak) or trend (slow rise)"}),
    }  # fmt: skip
    coords = {
        "time": ("time", days.values, {"long_name": "start of the day (local time)", "freq": "D"}),
        "district": ("district", np.array(dnames, dtype=str)),
        "category": ("category", np.array(codes, dtype=str)),
        "anomaly": ("anomaly", np.arange(n_a, dtype=np.int64)),
        **{k: (dim, np.array(v)) for k, (dim, v) in table.coords(dnames).items()},
        "building_age": ("district", ages, {"long_name": "mean building age", "units": "years"}),
        **{k: (dim, np.array(v, dtype=str)) for k, (dim, v) in taxonomy.coords(codes).items()},
    }
    attrs = {
        "title": "predgov demo city: synthetic Qingdao-like daily hotline requests",
        "source": "predgov synthetic demo city",
        "note": "Synthetic data: not real Qingdao 12345 records. Levels are illustrative; the "
        "heating total per season is calibrated to 44,000 calls (SEED_BRIEF.md).",
        "Conventions": "CF-1.8",
        "city": "qingdao",
        "timezone": str(city_config("qingdao").get("timezone", "")),
        "freq": "D",
        "seed": int(seed),
        "generator": "predgov.data.demo.demo_city",
        "generator_version": GENERATOR_VERSION,
        "anomalies": int(bool(anomalies)),
        "scale": float(scale),
        "holidays_version": holidays.__version__,
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)
