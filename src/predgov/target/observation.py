"""What a hotline sees on a decision day: the only input of the targeting policies.

:func:`observe` cuts an :class:`Observation` out of a running simulation (``predgov.sim.
CityModel``) at decision day index ``t`` (the decision is made at the start of day ``t``,
before anything happens that day):

* ``counts(time, district, category)``: calls recorded on days ``0..t-1`` (every call, first or
  repeat, as a hotline export counts tickets: the model's ``record["calls"]``);
* ``estate_calls(week, estate, category)``: calls by each estate's households in the weeks
  that ended before day ``t`` (calls carry addresses, so the hotline knows the estate); a week
  still running on day ``t`` is left out;
* ``merchant_calls(month, merchant)``: calls about consumer disputes with each merchant in the
  calendar months that ended before day ``t`` (when the model records them, else None);
* ``household_calls(household, category)``: only when the model records calls per household
  (attribute ``household_calls``, cumulative counts up to the model's current day) *and* the
  model stands at day ``t``; otherwise None. Today's ``CityModel`` does not record them;
* ``estates``: the public asset register per estate (district, build year, age, heating-system
  age, central heating, floors, households, first household);
* ``households``: the register per flat (estate, district, grid and the "边角顶底" flags
  ``edge``, ``corner``, ``top``, ``bottom``);
* ``calendar``: :func:`predgov.data.calendar.calendar` (Qingdao) over the run's days and the
  year after day ``t`` (holidays, working days, heating and tourist seasons are published in
  advance);
* ``climate``: the demo city's temperature *normals* by day of the year over the same days
  (``predgov.data.demo``), never the run's actual (future) weather.

Never latent state: no clogging, tension, merchant quality, source intensity, open or latent
cases, multipliers or the run's temperature. ``tests/target/test_leakage.py`` shuffles all of
them and checks that the observation (and every non-oracle policy's decision) is unchanged.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from predgov.data.calendar import calendar
from predgov.data.demo import _temperature_climate

#: Days of calendar and climatology given after the decision day (published in advance).
LOOKAHEAD_DAYS = 366


@dataclass(frozen=True)
class Observation:
    """What the hotline knows at the start of decision day ``t`` (see the module docstring).

    Every field is an xarray object with named dims; ``household_calls`` may be None.
    """

    t: int
    """Decision day index (days since the run's first day)."""
    date: pd.Timestamp
    """Decision date."""
    counts: xr.DataArray
    """Calls per (time, district, category) on days before ``date``."""
    estate_calls: xr.DataArray
    """Calls per (week, estate, category) in weeks ended before ``date``."""
    estates: xr.Dataset
    """Asset register over ``estate``."""
    households: xr.Dataset
    """Flat register over ``household``."""
    calendar: xr.Dataset
    """Calendar over ``time`` (run start to a year after ``date``)."""
    climate: xr.DataArray
    """Temperature normals (°C) over the calendar's ``time``."""
    household_calls: xr.DataArray | None = None
    """Calls per (household, category) before ``date`` when the model records them."""
    merchant_calls: xr.DataArray | None = None
    """Consumer-dispute calls per (month, merchant) in months ended before ``date``."""

    @property
    def categories(self) -> list[str]:
        """Category codes of the cube."""
        return [str(c) for c in self.counts["category"].values]


@functools.lru_cache(maxsize=32)
def _calendar_days(start: str, end: str) -> xr.Dataset:
    """Qingdao calendar (cached: many decisions share their days). Treat as read-only.

    Years whose make-up workdays are not decreed yet get the statutory holidays by rule (the
    calendar lists them in ``attrs["undecreed_years"]``); its warning is not repeated here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return calendar((pd.Timestamp(start), pd.Timestamp(end), "D"), "qingdao")


def _grid_of(grid_start: np.ndarray, n: int) -> np.ndarray:
    """Grid index of every household (grids are runs of consecutive households)."""
    return (np.searchsorted(grid_start, np.arange(n), side="right") - 1).astype(np.int64)


def register(model: Any) -> tuple[xr.Dataset, xr.Dataset]:
    """The public asset registers of ``model``: ``(estates, households)``, as in
    :class:`Observation` (no calls, no latent state). Cheap next to :func:`observe`: what a
    policy needs when it only maps household scores to its units (:class:`~predgov.target.
    policies.Oracle`).

    Examples
    --------
    >>> from predgov.sim.model import CityModel
    >>> m = CityModel(scale=0.001, start="2025-11-10", end="2025-11-12")
    >>> estates, households = register(m)
    >>> estates.sizes["estate"] == len(m.households.estates), "grid" in households
    (True, True)
    """
    from predgov.sim.households import BOTTOM, CORNER, EDGE, TOP  # here: sim may import target

    hh = model.households
    est = hh.estates
    dnames = np.array(hh.district_names, dtype=str)
    estates = xr.Dataset(
        {"district": ("estate", dnames[est.district]),
         "district_index": ("estate", est.district.astype(np.int64)),
         "build_year": ("estate", est.build_year.astype(np.int64)),
         "age": ("estate", est.age.astype(np.float64), {"units": "years"}),
         "system_age": ("estate", est.system_age.astype(np.float64), {"units": "years"}),
         "central_heating": ("estate", est.central_heating.astype(bool)),
         "floors": ("estate", est.floors.astype(np.int64)),
         "households": ("estate", est.size.astype(np.int64)),
         "first_household": ("estate", est.start.astype(np.int64))},
        coords={"estate": np.arange(len(est), dtype=np.int64)},
    )  # fmt: skip
    flags = hh.flags
    households = xr.Dataset(
        {"estate": ("household", hh.estate.astype(np.int64)),
         "district": ("household", hh.district.astype(np.int64)),
         "grid": ("household", _grid_of(hh.grid_start, len(hh))),
         **{name: ("household", (flags & bit) != 0) for name, bit in (
             ("edge", EDGE), ("corner", CORNER), ("top", TOP), ("bottom", BOTTOM))}},
        coords={"household": np.arange(len(hh), dtype=np.int64)},
    )  # fmt: skip
    return estates, households


def observe(model: Any, t: int) -> Observation:
    """The observation of ``model`` (a ``predgov.sim.CityModel``) at decision day index ``t``.

    Parameters
    ----------
    model
        A model that has simulated at least ``t`` days (``model.t >= t``).
    t
        Decision day index, ``0 <= t <= len(model.dates)``: calls of days ``< t`` are known.

    Returns
    -------
    Observation

    Raises
    ------
    ValueError
        When ``t`` is outside the run or the model has not yet simulated day ``t - 1``.

    Examples
    --------
    >>> from predgov.sim.model import CityModel
    >>> m = CityModel(scale=0.001, start="2025-11-10", end="2025-11-30")
    >>> for _ in range(15):
    ...     m.step()
    >>> obs = observe(m, 15)
    >>> obs.counts.sizes["time"], str(obs.date.date())
    (15, '2025-11-25')
    >>> obs.estate_calls.sizes["week"]  # weeks starting 10 and 17 November ended before the 25th
    2
    >>> sorted(obs.households.data_vars)[:3]
    ['bottom', 'corner', 'district']
    """
    n_days = len(model.dates)
    if isinstance(t, bool) or not isinstance(t, int | np.integer) or not 0 <= t <= n_days:
        raise ValueError(f"t must be a day index in 0..{n_days}, got {t!r}")
    t = int(t)
    if t > model.t:
        raise ValueError(f"t={t}: the model has simulated only {model.t} days, so calls up to "
                         f"day {t - 1} are not known yet")  # fmt: skip
    hh = model.households
    est = hh.estates
    dnames = np.array(hh.district_names, dtype=str)
    cats = np.array(model.categories, dtype=str)
    date = pd.Timestamp(model.dates[0]) + pd.Timedelta(days=t)
    days = model.dates[:t]

    counts = xr.DataArray(
        np.array(model.record["calls"][:t], dtype=np.int64),
        dims=("time", "district", "category"),
        coords={"time": ("time", days.values.astype("datetime64[ns]"), {"freq": "D"}),
                "district": dnames, "category": cats},
        name="counts", attrs={"units": "requests", "freq": "D",
                              "long_name": "calls recorded before the decision day"},
    )  # fmt: skip

    weeks = pd.DatetimeIndex(model.weeks)
    done = int(np.sum(weeks + pd.Timedelta(days=7) <= date))
    estate_calls = xr.DataArray(
        np.array(model.estate_calls[:done], dtype=np.int64),
        dims=("week", "estate", "category"),
        coords={"week": ("week", weeks[:done].values.astype("datetime64[ns]"), {"freq": "W-MON"}),
                "estate": np.arange(len(est), dtype=np.int64), "category": cats,
                "households": ("estate", est.size.astype(np.int64))},
        name="estate_calls", attrs={"units": "requests", "freq": "W-MON", "long_name": (
            "calls by the estate's households in weeks (Monday..Sunday) ended before the "
            "decision day")},
    )  # fmt: skip

    estates, households = register(model)

    last = max(pd.Timestamp(model.dates[-1]), date + pd.Timedelta(days=LOOKAHEAD_DAYS))
    cal = _calendar_days(str(pd.Timestamp(model.dates[0]).date()), str(last.date()))
    doy = pd.DatetimeIndex(cal["time"].values).day_of_year.to_numpy().astype(float)
    climate = xr.DataArray(
        _temperature_climate(doy), dims="time", coords={"time": cal["time"].values},
        name="temperature", attrs={"units": "degC",
                                   "long_name": "temperature normal by day of the year"},
    )  # fmt: skip

    household_calls = None
    raw = getattr(model, "household_calls", None)
    if raw is not None and model.t == t:
        arr = np.asarray(raw)
        if arr.shape == (len(hh), len(cats)):
            household_calls = xr.DataArray(
                arr.astype(np.int64), dims=("household", "category"),
                coords={"household": np.arange(len(hh), dtype=np.int64), "category": cats},
                name="household_calls", attrs={"units": "requests"},
            )  # fmt: skip
    merchant_calls = None
    raw, months = getattr(model, "merchant_calls", None), getattr(model, "months", None)
    if raw is not None and months is not None:
        months = pd.DatetimeIndex(months)
        done = int(np.sum(months + pd.offsets.MonthBegin(1) <= date))
        merchant_calls = xr.DataArray(
            np.array(raw[:done], dtype=np.int64), dims=("month", "merchant"),
            coords={"month": ("month", months[:done].values.astype("datetime64[ns]"),
                              {"freq": "MS"}),
                    "merchant": np.arange(np.shape(raw)[1], dtype=np.int64)},
            name="merchant_calls", attrs={"units": "requests", "freq": "MS"},
        )  # fmt: skip
    return Observation(t=t, date=date, counts=counts, estate_calls=estate_calls,
                       estates=estates, households=households, calendar=cal, climate=climate,
                       household_calls=household_calls,
                       merchant_calls=merchant_calls)  # fmt: skip
