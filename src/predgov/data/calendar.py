"""Calendar regressors over ``time``: public holidays, make-up working days, seasons, weather.

``calendar(time, city)`` returns an ``xr.Dataset`` over the same ``time`` axis as a cube
(DESIGN.md, "The cube"): daily booleans, or for weekly (``"W-MON"``) and monthly (``"MS"``) axes
the fraction of the period's days that have the property.

Holidays come from the ``holidays`` package. For China (``"CN"``) it also knows the make-up
working days (调休): weekend days the State Council turns into working days to bridge a holiday
block. Those decrees are published a year at a time, so a ``holidays`` release only knows the
years up to its release; for a later year ``calendar`` warns and uses the statutory holidays
computed by rule without make-up days (``undecreed="raise"`` refuses instead). (Release that
first lists them: 0.61 for 2025, 0.85 for 2026; 0.64 fixed make-up days that move across a
year boundary, vacanza/holidays#2196.)

The Spring Festival (春节) moves between 21 January and 20 February, so yearly seasonality cannot
follow it: :func:`spring_festival_shares` gives windows around it (days before and after the
lunar new year) for models of Chinese series.
"""

from __future__ import annotations

import datetime as dt
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

import holidays
import numpy as np
import pandas as pd
import xarray as xr
import yaml

from predgov.data.freq import (
    FREQS,
    check_freq,
    check_regular,
    days_of,
    period_start,
    resolve_freq,
    time_frame,
)
from predgov.paths import conf_dir

#: Countries whose working days are set by yearly decree (make-up weekend workdays). For these a
#: year counts as covered only when the ``holidays`` release lists at least one make-up day in it.
DECREED_WORKDAY_COUNTRIES = ("CN",)

#: Windows around the lunar new year (days relative to 春节 day 1, inclusive): the run-up
#: (migrant workers travel home, sites close), the holiday week, and the return.
SPRING_FESTIVAL_WINDOWS: tuple[tuple[int, int], ...] = (
    (-40, -21), (-20, -11), (-10, -1), (0, 6), (7, 15), (16, 30),
)  # fmt: skip

_FROM_CITY: Any = "from-city"  # sentinel: take the value from conf/city/<city>.yaml

_DAILY_VARS = (
    "holiday",
    "makeup_workday",
    "working_day",
    "weekend",
    "heating_season",
    "tourist_season",
)

_ATTRS = {
    "holiday": {"long_name": "statutory public holiday (day off by law or decree)"},
    "makeup_workday": {"long_name": "make-up working day (调休): a weekend day worked by decree"},
    "working_day": {"long_name": "working day (weekday not a holiday, or a make-up workday)"},
    "weekend": {"long_name": "Saturday or Sunday"},
    "heating_season": {"long_name": "inside the city's district-heating season"},
    "tourist_season": {"long_name": "inside the city's tourist peak season"},
    "holiday_name": {"long_name": "name of the public holiday ('' when none)"},
}


@lru_cache(maxsize=16)
def available_cities() -> list[str]:
    """Names of the cities with a ``conf/city/<city>.yaml``.

    Examples
    --------
    >>> "qingdao" in available_cities()
    True
    """
    return sorted(p.stem for p in (conf_dir() / "city").glob("*.yaml"))


def city_config(city: str) -> dict[str, Any]:
    """Settings of a city from ``conf/city/<city>.yaml`` (country, seasons, timezone).

    Examples
    --------
    >>> city_config("qingdao")["heating_season"]
    ['11-15', '04-05']
    """
    path = conf_dir() / "city" / f"{city}.yaml"
    if not path.is_file():
        raise FileNotFoundError(
            f"no city configuration {city!r} ({path}); have {available_cities()}")
    with Path(path).open(encoding="utf-8") as fh:
        return dict(yaml.safe_load(fh) or {})


# --------------------------------------------------------------------------- the time axis


def _as_index(time: Any) -> tuple[pd.DatetimeIndex, str | None]:
    """Turn the accepted ``time`` inputs into a naive DatetimeIndex and a declared freq."""
    declared: str | None = None
    if isinstance(time, tuple):
        if len(time) != 3:
            raise ValueError(f"a time tuple must be (start, end, freq), got {len(time)} items")
        start, end, declared = time
        check_freq(declared)
        index = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq=declared)
        if len(index) == 0:
            raise ValueError(f"no {declared!r} period starts between {start} and {end}")
    elif isinstance(time, xr.Dataset | xr.DataArray):
        if "time" not in time.coords:
            raise ValueError(f"need a 'time' coordinate, got coords {list(time.coords)}")
        coord = time["time"]
        declared = coord.attrs.get("freq") or time.attrs.get("freq")
        index = pd.DatetimeIndex(np.atleast_1d(coord.values))
    elif isinstance(time, pd.DatetimeIndex):
        index = time
        if time.freq is not None and time.freqstr in FREQS:
            declared = time.freqstr
    else:
        raise TypeError(
            "time must be a pandas DatetimeIndex, an xarray object with a 'time' coordinate, or a "
            f"(start, end, freq) tuple; got {type(time).__name__}"
        )
    if index.tz is not None:
        raise ValueError(
            "the time axis must be naive local time (the cube's convention); convert with "
            "index.tz_convert(<city timezone>).tz_localize(None)"
        )
    index = pd.DatetimeIndex(index.values.astype("datetime64[ns]"), name="time")
    return index, declared


# --------------------------------------------------------------------------- daily pieces


def _season_mask(days: pd.DatetimeIndex, season: tuple[str, str] | None, name: str) -> np.ndarray:
    """True on days inside ``(start, end)`` given as "MM-DD" (inclusive, may wrap new year)."""
    if season is None:
        return np.zeros(len(days), dtype=bool)
    if len(season) != 2:
        raise ValueError(f"{name} must be (start, end) as 'MM-DD', got {season!r}")
    keys = []
    for value in season:
        try:
            month, day = (int(x) for x in str(value).split("-"))
            dt.date(2024, month, day)  # a leap year, so "02-29" is allowed
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be (start, end) as 'MM-DD', got {season!r}") from None
        keys.append(month * 100 + day)
    start, end = keys
    md = days.month.to_numpy() * 100 + days.day.to_numpy()
    if start <= end:
        return (md >= start) & (md <= end)
    return (md >= start) | (md <= end)  # wraps over the new year (heating: 11-15..04-05)


@lru_cache(maxsize=256)
def _lists_makeup_days(country: str, year: int) -> bool:
    h = holidays.country_holidays(country, years=year)
    return any(d.year == year for d in getattr(h, "weekend_workdays", set()))


def _covered_years(country: str, years: list[int]) -> tuple[list[int], list[int]]:
    """Years of ``years`` the ``holidays`` release does not cover for ``country``: outside its
    range, and (countries with decreed make-up workdays) without any make-up day listed."""
    try:
        probe = holidays.country_holidays(country)
    except NotImplementedError:
        raise ValueError(f"the holidays package has no country {country!r}") from None
    first = getattr(probe, "start_year", 1)
    last = getattr(probe, "end_year", 9999)
    bad = [y for y in years if not first <= y <= last]
    undecreed = []
    if country in DECREED_WORKDAY_COUNTRIES:
        undecreed = [y for y in years if y not in bad and not _lists_makeup_days(country, y)]
    return sorted(bad), undecreed


def _holiday_days(
    days: pd.DatetimeIndex, country: str | None, language: str | None, undecreed: str = "warn"
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """Daily (holiday, makeup_workday, holiday_name) for ``country`` (None: no holidays), and
    the years whose make-up workdays are not decreed yet (see :func:`calendar`)."""
    n = len(days)
    if undecreed not in ("warn", "raise"):
        raise ValueError(f"undecreed must be 'warn' or 'raise', got {undecreed!r}")
    if country is None:
        return np.zeros(n, bool), np.zeros(n, bool), np.full(n, "", dtype=object), []
    years = sorted(set(days.year.tolist()))
    bad, pending = _covered_years(country, years)
    if pending and undecreed == "raise":
        bad = sorted(bad + pending)
    if bad:
        extra = (
            " (its make-up working days are decreed a year at a time; a newer release may list "
            "them, or pass undecreed='warn' to use the statutory holidays alone)"
            if set(bad) & set(pending)
            else ""
        )
        raise ValueError(
            f"holidays {holidays.__version__} does not cover {country} for years {bad}{extra}"
        )
    if pending:
        warnings.warn(
            f"holidays {holidays.__version__} lists no make-up working days (调休) for "
            f"{country} in {pending}: they are decreed a year at a time. Those years get the "
            "statutory holidays by rule only (no make-up workdays, no bridging days off); "
            "recorded in attrs['undecreed_years']. A newer holidays release may list them.",
            UserWarning,
            stacklevel=3,
        )
    # Always name the language: without it ``holidays`` follows the process locale, which would
    # make holiday_name (and files written from it) differ between machines.
    language = language or getattr(holidays.country_holidays(country), "default_language", None)
    kwargs = {"language": language} if language else {}
    # One year either side so decrees that move a workday across new year are loaded too.
    h = holidays.country_holidays(country, years=range(years[0] - 1, years[-1] + 2), **kwargs)
    dates = [d.date() for d in days]
    names = np.array([h.get(d) or "" for d in dates], dtype=object)
    holiday = names != ""
    workdays = getattr(h, "weekend_workdays", set())
    makeup = np.array([d in workdays for d in dates], dtype=bool)
    return holiday, makeup, names, pending


def _weather_daily(weather: Any, days: pd.DatetimeIndex) -> pd.DataFrame:
    """Numeric weather columns as daily means on ``days`` (days without data stay NaN)."""
    frame = time_frame(weather, what="weather")
    numeric = frame.select_dtypes(include="number")
    if numeric.shape[1] == 0:
        raise ValueError(f"weather has no numeric columns (got {list(frame.columns)})")
    clash = [c for c in numeric.columns if c in (*_DAILY_VARS, "holiday_name")]
    if clash:
        raise ValueError(f"weather columns {clash} clash with calendar variables")
    numeric = numeric.astype("float64")
    daily = numeric.groupby(numeric.index.floor("D")).mean()
    return daily.reindex(days)


# --------------------------------------------------------------------------- public function


def calendar(
    time: Any,
    city: str | None = "qingdao",
    *,
    country: str | None = _FROM_CITY,
    heating_season: tuple[str, str] | None = _FROM_CITY,
    tourist_season: tuple[str, str] | None = _FROM_CITY,
    weather: Any = None,
    language: str | None = None,
    undecreed: str = "warn",
) -> xr.Dataset:
    """Calendar regressors for a cube's time axis.

    Parameters
    ----------
    time
        The axis: a ``pd.DatetimeIndex``; an xarray object with a ``time`` coordinate (its
        ``attrs["freq"]`` is used when present); or ``(start, end, freq)``. ``freq`` is ``"D"``,
        ``"W-MON"`` (weeks labelled by their Monday, Monday..Sunday) or ``"MS"`` (months); when
        not declared it is read off the index.
    city
        City whose ``conf/city/<city>.yaml`` gives the defaults below; None for no defaults.
    country
        ISO code for the ``holidays`` package (``"CN"``, ``"US"``, ...). Defaults to the city's;
        None means no holidays (all False) and no make-up days.
    heating_season, tourist_season
        ``("MM-DD", "MM-DD")`` inclusive, wrapping over the new year when start > end; default
        the city's (Qingdao: heating 11-15..04-05, tourist 07-01..08-31); None for no season.
    weather
        Optional ``xr.Dataset``/``DataArray`` or ``pd.DataFrame`` over time with numeric columns
        (e.g. ``temperature``). Aligned to days (sub-daily values averaged), then averaged over
        each period. Periods without any data stay NaN and are listed in ``attrs``.
    language
        Language of ``holiday_name`` (``holidays`` codes, e.g. ``"en_US"``); default the country's.
    undecreed
        Years in which a country that decrees its make-up workdays a year at a time (China) has
        none listed yet — typically next year, when forecasting past December: ``"warn"``
        (default) uses the statutory holidays the ``holidays`` package computes by rule, without
        make-up workdays or bridging days off, warns, and lists the years in
        ``attrs["undecreed_years"]``; ``"raise"`` raises a ValueError.

    Returns
    -------
    xr.Dataset
        Over ``time``: ``holiday``, ``makeup_workday``, ``working_day``, ``weekend``,
        ``heating_season``, ``tourist_season`` (bool for daily axes; for weekly and monthly axes
        float64 fractions of the period's days), ``holiday_name`` (daily only), and any weather
        variables. ``holiday`` marks the days the ``holidays`` package lists (statutory days and
        the weekdays given off by decree); an ordinary Saturday or Sunday inside a holiday block
        is not a holiday but is not a working day either, so use ``~working_day`` for "day off".

    Raises
    ------
    ValueError
        Irregular or unsupported time axis, bad season strings, or a year outside the
        ``holidays`` release's range (or, with ``undecreed="raise"``, a year without decreed
        make-up workdays).

    Examples
    --------
    >>> cal = calendar(("2025-01-25", "2025-01-29", "D"))
    >>> cal["makeup_workday"].values.tolist()
    [False, True, False, False, False]
    >>> str(cal["holiday_name"].values[-1])
    '春节'
    >>> calendar(("2025-01-27", "2025-02-03", "W-MON"))["holiday"].values.round(3).tolist()
    [0.571, 0.286]
    """
    index, declared = _as_index(time)
    freq = resolve_freq(index, declared)
    check_regular(index, freq)

    conf: dict[str, Any] = city_config(city) if city is not None else {}
    if country is _FROM_CITY:
        country = conf.get("country")
    if heating_season is _FROM_CITY:
        heating_season = conf.get("heating_season")
    if tourist_season is _FROM_CITY:
        tourist_season = conf.get("tourist_season")
    if country is not None:
        country = str(country).upper()

    days = days_of(index, freq)
    holiday, makeup, names, pending = _holiday_days(days, country, language, undecreed)
    weekend = days.day_of_week.to_numpy() >= 5
    makeup &= weekend  # by definition a make-up day is a weekend day worked
    daily: dict[str, np.ndarray] = {
        "holiday": holiday,
        "makeup_workday": makeup,
        "working_day": (~weekend & ~holiday) | makeup,
        "weekend": weekend,
        "heating_season": _season_mask(days, heating_season, "heating_season"),
        "tourist_season": _season_mask(days, tourist_season, "tourist_season"),
    }

    coords = {"time": ("time", index.values, {"long_name": "start of the period", "freq": freq})}
    data: dict[str, tuple] = {}
    if freq == "D":
        for k, v in daily.items():
            data[k] = ("time", v.astype(bool), dict(_ATTRS[k]))
        data["holiday_name"] = ("time", names.astype(str), dict(_ATTRS["holiday_name"]))
    else:
        period = period_start(days, freq)
        frame = pd.DataFrame({k: v.astype("float64") for k, v in daily.items()})
        means = frame.groupby(period, sort=True).mean().reindex(index.values)
        for k in daily:
            attrs = dict(_ATTRS[k])
            attrs["long_name"] = "fraction of days: " + attrs["long_name"]
            attrs["units"] = "1"
            data[k] = ("time", means[k].to_numpy(), attrs)

    attrs: dict[str, Any] = {
        "title": "predgov calendar regressors",
        "Conventions": "CF-1.8",
        "city": city if city is not None else "none",
        "country": country if country is not None else "none",
        "freq": freq,
        "holidays_version": holidays.__version__,
        "heating_season": "..".join(heating_season) if heating_season else "none",
        "tourist_season": "..".join(tourist_season) if tourist_season else "none",
    }
    if pending:
        attrs["undecreed_years"] = ", ".join(str(y) for y in pending)
    if conf.get("timezone"):
        attrs["timezone"] = conf["timezone"]

    if weather is not None:
        if isinstance(weather, xr.DataArray):
            if weather.name is None:
                raise ValueError("a weather DataArray needs a name (e.g. 'temperature')")
            weather = weather.to_dataset()
        wdaily = _weather_daily(weather, days)
        if freq == "D":
            wper = wdaily
        else:
            period = period_start(days, freq)
            wper = wdaily.groupby(period, sort=True).mean().reindex(index.values)
        missing = []
        for col in wper.columns:
            values = wper[col].to_numpy(dtype="float64")
            n_missing = int(np.isnan(values).sum())
            var_attrs: dict[str, Any] = {"long_name": f"{col} (period mean of daily means)"}
            if isinstance(weather, xr.Dataset) and col in weather:
                var_attrs.update(
                    {k: v for k, v in weather[col].attrs.items() if k in ("units", "long_name")}
                )
            var_attrs["missing_periods"] = n_missing
            data[str(col)] = ("time", values, var_attrs)
            if n_missing:
                missing.append(f"{col}: {n_missing} of {len(index)} periods have no data (NaN)")
        attrs["weather_missing"] = "; ".join(missing) if missing else "none"
        attrs["weather_note"] = "weather is aligned, never filled: missing periods stay NaN"

    return xr.Dataset(data, coords=coords, attrs=attrs)


@lru_cache(maxsize=64)
def lunar_new_year(year: int) -> pd.Timestamp:
    """Chinese New Year's Day (春节 day 1) of ``year``, from the ``holidays`` lunar calendar.

    Examples
    --------
    >>> str(lunar_new_year(2024).date()), str(lunar_new_year(2025).date())
    ('2024-02-10', '2025-01-29')
    """
    h = holidays.country_holidays("CN", years=year, language="zh_CN")
    return pd.Timestamp(min(h.get_named("春节", lookup="exact")))


def days_from_lunar_new_year(days: Any) -> np.ndarray:
    """Signed days from the nearest lunar new year (春节 day 1) for each day.

    Examples
    --------
    >>> days_from_lunar_new_year(pd.to_datetime(["2024-02-08", "2024-02-10", "2024-03-01"]))
    array([-2,  0, 20])
    """
    days = pd.DatetimeIndex(days).normalize()
    rel = np.full(len(days), 10_000, dtype=np.int64)
    if not len(days):
        return rel
    for year in range(days.min().year - 1, days.max().year + 2):
        delta = ((days - lunar_new_year(year)) / pd.Timedelta(days=1)).to_numpy().astype(np.int64)
        rel = np.where(np.abs(delta) < np.abs(rel), delta, rel)
    return rel


def spring_festival_shares(
    time: Any, freq: str = "D", windows: tuple[tuple[int, int], ...] = SPRING_FESTIVAL_WINDOWS
) -> np.ndarray:
    """Share of each period's days inside each window around the lunar new year.

    Daily data: 0/1 indicators; weekly (``"W-MON"``) and monthly (``"MS"``) periods: the
    fraction of their days in the window (the daily indicators averaged over the period).

    Parameters
    ----------
    time
        Period starts of a regular axis of frequency ``freq``.
    freq
        ``"D"``, ``"W-MON"`` or ``"MS"``.
    windows
        ``(first, last)`` days relative to 春节 day 1, inclusive.

    Returns
    -------
    np.ndarray
        ``(len(time), len(windows))`` float64.

    Examples
    --------
    >>> weeks = pd.date_range("2024-02-05", periods=2, freq="W-MON")  # 春节: Sat 2024-02-10
    >>> (spring_festival_shares(weeks, "W-MON", ((-10, -1), (0, 6))) * 7).round().tolist()
    [[5.0, 2.0], [0.0, 5.0]]
    """
    check_freq(freq)
    index = pd.DatetimeIndex(time)
    n = len(index)
    if n == 0:
        return np.zeros((0, len(windows)))
    if freq == "D":
        days, period = index, np.arange(n)
    else:
        days = days_of(index, freq)
        period = np.searchsorted(index.values, days.values, side="right") - 1
    rel = days_from_lunar_new_year(days)
    length = np.maximum(np.bincount(period, minlength=n), 1).astype(float)
    out = np.empty((n, len(windows)))
    for j, (lo, hi) in enumerate(windows):
        inside = ((rel >= lo) & (rel <= hi)).astype(float)
        out[:, j] = np.bincount(period, weights=inside, minlength=n) / length
    return out


def is_chinese_calendar(regressors: Any) -> bool:
    """Whether regressors are a Chinese calendar: ``attrs["country"] == "CN"`` (from
    :func:`calendar`) or a ``holiday_name`` variable naming 春节 / Spring Festival.

    Examples
    --------
    >>> t = pd.date_range("2024-02-01", periods=3, freq="D")
    >>> is_chinese_calendar(calendar(t, "qingdao")), is_chinese_calendar(None)
    (True, False)
    """
    if regressors is None:
        return False
    attrs = getattr(regressors, "attrs", {}) or {}
    if attrs.get("country") == "CN":
        return True
    try:
        names = regressors["holiday_name"]
    except (KeyError, TypeError, IndexError):
        return False
    text = np.asarray(names).astype(str)
    return bool(np.char.find(text, "春节").max(initial=-1) >= 0
                or np.char.find(text, "Spring Festival").max(initial=-1) >= 0)  # fmt: skip
