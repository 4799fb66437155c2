"""Design matrix of the calendar-aware expected-count model (:mod:`predgov.warn.expected`).

:func:`design` builds the columns (intercept, trend, weekday, yearly Fourier terms, calendar,
seasons with onset windows, holiday blocks, Spring Festival windows, exogenous regressors and
their season interactions) and the prior SD of each (ridge); :func:`prior_group` names the
prior group of a column (the pooled fit's deviations use it). The model itself is described in
:mod:`predgov.warn.expected`.
"""

from __future__ import annotations

import math
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
from predgov.warn._common import weekly_cycle

__all__ = [
    "CALENDAR_VARS", "DEVIATION_SCALE", "HARMONICS", "MIN_HISTORY", "ONSET_WINDOWS",
    "PRIOR_SCALE", "SEASON_VARS", "design", "prior_group",
]  # fmt: skip

#: Calendar indicator variables with a special meaning (everything else numeric is exogenous).
CALENDAR_VARS = ("holiday", "makeup_workday", "working_day", "weekend")
#: Season indicators get onset windows (days since the season started).
SEASON_VARS = ("heating_season", "tourist_season")
#: Onset windows of a season, days since its first day (inclusive ranges).
ONSET_WINDOWS = ((0, 6), (7, 13), (14, 27))
#: Default yearly Fourier pairs per frequency.
HARMONICS = {"D": 6, "W-MON": 4, "MS": 3}
#: Default history needed before the first prediction (periods).
MIN_HISTORY = {"D": 56, "W-MON": 26, "MS": 12}

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
            # the most common name; ties go to the first named (not to the set's order,
            # which changes with the string hash seed from run to run)
            key = max(dict.fromkeys(keys), key=keys.count)
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


def prior_group(name: str) -> str:
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
