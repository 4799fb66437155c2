"""The shared design of :class:`~predgov.forecast.nbglm.NBGLM`: calendar columns, offsets and
day types, as plain functions of the periods (no fitted state).

* :func:`fourier_terms`: ``cos, sin`` pairs of a cycle (weekly, yearly);
* :func:`glm_design`: intercept, trend (years from the fit origin), weekly and yearly Fourier
  terms, Spring Festival window shares, standardised regressors;
* :func:`split_holidays`: a daily ``holiday`` regressor split into weekday and weekend holidays;
* :func:`period_offset`: ``log`` of a month's days over the mean month (monthly data);
* :func:`day_class`: rest days (weekends and holidays, minus make-up workdays) vs working days.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from predgov.data.calendar import SPRING_FESTIVAL_WINDOWS, spring_festival_shares

__all__ = [
    "ETA_MAX",
    "ETA_MIN",
    "day_class",
    "fourier_terms",
    "glm_design",
    "period_offset",
    "split_holidays",
]

#: Bounds of the linear predictor (log mean) of every fit and forecast.
ETA_MIN, ETA_MAX = -30.0, 25.0

_EPOCH = np.datetime64("1970-01-01", "ns")
_DAY = np.timedelta64(1, "D")


def fourier_terms(times: pd.DatetimeIndex, period_days: float, harmonics: int) -> np.ndarray:
    """Fourier columns ``cos, sin`` of ``2 pi k t / period`` (t in days since 1970), k=1..K.

    Examples
    --------
    >>> t = pd.date_range("2024-01-01", periods=7, freq="D")
    >>> fourier_terms(t, 7.0, 3).shape
    (7, 6)
    """
    days = (np.asarray(times.values, dtype="datetime64[ns]") - _EPOCH) / _DAY
    cols = []
    for k in range(1, harmonics + 1):
        arg = 2.0 * np.pi * k * days / period_days
        cols.append(np.cos(arg))
        cols.append(np.sin(arg))
    return np.column_stack(cols) if cols else np.zeros((len(times), 0))


def glm_design(
    times: pd.DatetimeIndex,
    origin: np.datetime64,
    freq: str,
    weekly_harmonics: int,
    yearly_harmonics: int,
    festival: bool,
    X: np.ndarray | None,
    center: np.ndarray,
    scale: np.ndarray,
) -> np.ndarray:
    """Design matrix: intercept, trend, weekly, yearly, Spring Festival windows, regressors.

    The trend is in years from ``origin``; weekly terms only for daily data; regressors ``X``
    (missing values at ``center``) enter as ``(X - center) / scale``.

    Examples
    --------
    >>> t = pd.date_range("2024-01-01", periods=10, freq="D")
    >>> D = glm_design(t, t[0].to_datetime64(), "D", 3, 0, False, None, np.zeros(0), np.ones(0))
    >>> D.shape, D[:, 0].tolist() == [1.0] * 10
    ((10, 8), True)
    """
    n = len(times)
    pos = (np.asarray(times.values, dtype="datetime64[ns]") - np.datetime64(origin, "ns")) / _DAY
    cols = [np.ones((n, 1)), (pos / 365.25)[:, None]]
    if freq == "D" and weekly_harmonics > 0:
        cols.append(fourier_terms(times, 7.0, int(weekly_harmonics)))
    if yearly_harmonics > 0:
        cols.append(fourier_terms(times, 365.25, int(yearly_harmonics)))
    if festival:
        cols.append(spring_festival_shares(times, freq, SPRING_FESTIVAL_WINDOWS))
    if X is not None and X.shape[1]:
        Xr = np.where(np.isnan(X), center, X)
        cols.append((Xr - center) / scale)
    return np.column_stack(cols).astype("float64")


def split_holidays(
    times: pd.DatetimeIndex, X: np.ndarray | None, names: Sequence[str]
) -> np.ndarray | None:
    """``X`` with its ``holiday`` column split: holidays on weekdays in place, holidays on
    weekends appended last (``X`` unchanged without a ``holiday`` column).

    A public holiday on a Saturday or Sunday changes less than one on a working weekday (the
    weekly pattern already has the weekend's rest), so the two get separate effects: one
    shared coefficient would carry the weekday holidays' effect onto weekend holidays.

    Examples
    --------
    >>> t = pd.date_range("2024-01-05", periods=3, freq="D")  # Fri, Sat, Sun
    >>> split_holidays(t, np.array([[1.0], [1.0], [0.0]]), ["holiday"]).tolist()
    [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]
    """
    names = list(names)
    if X is None or "holiday" not in names:
        return X
    j = names.index("holiday")
    weekend = np.asarray(times.day_of_week >= 5)
    hol = X[:, j]
    out = X.copy()
    out[:, j] = np.where(weekend, 0.0, hol)
    return np.column_stack([out, np.where(weekend, hol, 0.0)])


def period_offset(times: pd.DatetimeIndex, freq: str) -> np.ndarray:
    """Log offset per period: ``log(days in month / mean month)`` for monthly data, else 0.

    Examples
    --------
    >>> period_offset(pd.date_range("2023-02-01", periods=1, freq="MS"), "MS").round(3).tolist()
    [-0.083]
    """
    if freq != "MS":
        return np.zeros(len(times))
    return np.log(times.days_in_month.to_numpy() / (365.25 / 12))


def day_class(
    times: pd.DatetimeIndex, freq: str, X: np.ndarray | None, names: Sequence[str]
) -> np.ndarray:
    """Day type per period for the local level: 1 rest day, 0 working day (daily data).

    Rest days are weekends and ``holiday`` days, except ``makeup_workday`` days (调休).
    Other frequencies: all 0.

    Examples
    --------
    >>> t = pd.date_range("2024-01-05", periods=3, freq="D")  # Fri, Sat, Sun
    >>> day_class(t, "D", np.array([[1.0], [0.0], [0.0]]), ["holiday"]).tolist()
    [1, 1, 1]
    """
    if freq != "D":
        return np.zeros(len(times), dtype=np.intp)
    rest = np.asarray(times.day_of_week >= 5)
    names = list(names)
    if X is not None:
        if "holiday" in names:
            rest |= np.nan_to_num(X[:, names.index("holiday")], nan=0.0) > 0
        if "makeup_workday" in names:
            rest &= ~(np.nan_to_num(X[:, names.index("makeup_workday")], nan=0.0) > 0)
    return rest.astype(np.intp)
