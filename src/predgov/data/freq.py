"""The time contract every stage shares: frequencies, period arithmetic, series stacking,
regressor coercion.

A cube's time axis is regular at one of :data:`FREQS` — ``"D"`` (days), ``"W-MON"`` (weeks
labelled by their Monday) or ``"MS"`` (months labelled by their first day) — with naive local
midnights as labels, and ``attrs["freq"]`` saying which (:func:`freq_of` reads it, or infers it
from the labels with :func:`infer_freq`). Every other dimension is a series dimension: the
forecasters and detectors work on ``values[time, series]`` (:func:`stack`,
:func:`stack_series`) and rebuild the cube's dims afterwards. Regressors (calendar, weather)
are variables over ``time`` only (:func:`time_frame`, :func:`regressor_matrix`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

# --------------------------------------------------------------------------- frequencies

#: Frequencies of a cube's time axis (DESIGN.md, "The cube").
FREQS = ("D", "W-MON", "MS")
#: A period of each frequency in words.
FREQ_NAMES = {"D": "day", "W-MON": "week (Monday start)", "MS": "month"}
#: Periods per year of each frequency.
PERIODS_PER_YEAR = {"D": 365.25, "W-MON": 365.25 / 7, "MS": 12.0}
#: Seasonal periods in periods of the axis: daily data have a week and a year, weekly and monthly
#: data a year.
SEASONAL_PERIODS: dict[str, tuple[float, ...]] = {
    "D": (7.0, 365.25),
    "W-MON": (52.18,),
    "MS": (12.0,),
}
#: Lag of "the same period a year earlier" (daily: 52 weeks, the same weekday).
YEAR_LAG = {"D": 364, "W-MON": 52, "MS": 12}


def check_freq(freq: str) -> str:
    """Return ``freq`` if it is a cube frequency, else raise a ValueError naming the choices.

    Examples
    --------
    >>> check_freq("W-MON")
    'W-MON'
    """
    if freq not in FREQS:
        raise ValueError(f"freq must be one of {FREQS}, got {freq!r}")
    return freq


def periods_per_year(freq: str) -> float:
    """Number of periods in a year (365.25 days, 52.18 weeks or 12 months).

    Examples
    --------
    >>> periods_per_year("MS")
    12.0
    """
    return PERIODS_PER_YEAR[check_freq(freq)]


def period_days(freq: str) -> float:
    """Mean length of one period in days (1, 7 or 30.44).

    Examples
    --------
    >>> period_days("W-MON")
    7.0
    """
    return 365.25 / periods_per_year(freq)


def weekly_cycle(freq: str) -> int:
    """Length of the within-week cycle in periods: 7 for daily data, 0 (none) otherwise.

    Examples
    --------
    >>> weekly_cycle("D"), weekly_cycle("MS")
    (7, 0)
    """
    return 7 if check_freq(freq) == "D" else 0


def seasonal_periods(freq: str) -> tuple[float, ...]:
    """Seasonal periods (in periods of ``freq``), shortest first.

    Examples
    --------
    >>> seasonal_periods("D")
    (7.0, 365.25)
    >>> seasonal_periods("MS")
    (12.0,)
    """
    return SEASONAL_PERIODS[check_freq(freq)]


def season_length(freq: str) -> int:
    """Length of the shortest season as a whole number of periods (D: 7, W-MON: 52, MS: 12).

    Examples
    --------
    >>> [season_length(f) for f in FREQS]
    [7, 52, 12]
    """
    return round(seasonal_periods(freq)[0]) if freq != "W-MON" else 52


def year_lag(freq: str) -> int:
    """Lag, in periods, of "the same period a year earlier" (daily: 364 days, same weekday).

    Examples
    --------
    >>> [year_lag(f) for f in FREQS]
    [364, 52, 12]
    """
    return YEAR_LAG[check_freq(freq)]


# --------------------------------------------------------------------------- periods


def infer_freq(index: pd.DatetimeIndex) -> str | None:
    """The cube frequency of a regular index of midnights (``"D"``, ``"W-MON"``, ``"MS"``), or
    None (fewer than two labels, gaps, other steps or times of day). Not pandas' infer_freq,
    whose aliases change between versions.

    Examples
    --------
    >>> infer_freq(pd.date_range("2024-01-01", periods=3, freq="W-MON"))
    'W-MON'
    >>> infer_freq(pd.DatetimeIndex(["2024-01-01", "2024-03-01"])) is None
    True
    """
    index = pd.DatetimeIndex(index)
    if len(index) < 2 or index.hasnans:
        return None
    days = index.values.astype("datetime64[D]")
    if not (index.values == days.astype(index.values.dtype)).all():
        return None
    step = np.diff(days.astype(np.int64))
    if (step == 1).all():
        return "D"
    if (step == 7).all() and (index.day_of_week == 0).all():
        return "W-MON"
    months = days.astype("datetime64[M]")
    month_starts = (months.astype("datetime64[D]") == days).all()
    if month_starts and (np.diff(months.astype(np.int64)) == 1).all():
        return "MS"
    return None


def resolve_freq(index: pd.DatetimeIndex, declared: Any = None) -> str:
    """``declared`` (checked) or the frequency inferred from ``index``; ValueError when neither
    says.

    Examples
    --------
    >>> resolve_freq(pd.date_range("2024-01-01", periods=3, freq="MS"))
    'MS'
    """
    if declared:
        return check_freq(str(declared))
    freq = infer_freq(index)
    if freq is None:
        raise ValueError(
            "cannot tell the frequency of the time axis (need 2+ regular steps of a day, a week "
            f"starting Monday, or a month start): set attrs['freq'] to one of {FREQS}"
        )
    return freq


def check_regular(index: pd.DatetimeIndex, freq: str) -> None:
    """Raise a ValueError unless ``index`` is a complete regular axis of ``freq`` labels.

    Examples
    --------
    >>> check_regular(pd.DatetimeIndex(["2024-01-01", "2024-01-09"]), "W-MON")
    Traceback (most recent call last):
    ...
    ValueError: time axis is not a regular 'W-MON' axis (Mondays one week apart): starts \
2024-01-01 00:00:00, 2 steps
    """
    check_freq(freq)
    index = pd.DatetimeIndex(index)
    if len(index) == 0:
        raise ValueError("the time axis is empty")
    if index.hasnans:
        raise ValueError("the time axis contains NaT")
    expected = pd.date_range(index[0], periods=len(index), freq=freq).values.astype("M8[ns]")
    if not (expected == index.values.astype("datetime64[ns]")).all():
        hint = {"W-MON": "Mondays one week apart", "MS": "first days of consecutive months"}
        raise ValueError(
            f"time axis is not a regular {freq!r} axis"
            + (f" ({hint[freq]})" if freq in hint else " (consecutive midnights)")
            + f": starts {index[0]}, {len(index)} steps"
        )


def freq_of(obj: xr.Dataset | xr.DataArray, parent: xr.Dataset | None = None) -> str:
    """The frequency of a cube or counts array: ``attrs["freq"]`` of its ``time`` coordinate,
    of the object, or of ``parent`` (the Dataset it came from), else inferred from the labels.

    Examples
    --------
    >>> t = pd.date_range("2024-01-01", periods=5, freq="D")
    >>> freq_of(xr.DataArray(np.zeros(5), coords={"time": t}, dims="time"))
    'D'
    """
    if "time" not in obj.coords:
        raise ValueError(f"counts need a 'time' coordinate, got coords {list(obj.coords)}")
    declared = (
        obj["time"].attrs.get("freq")
        or obj.attrs.get("freq")
        or (parent.attrs.get("freq") if parent is not None else None)
    )
    return resolve_freq(pd.DatetimeIndex(np.atleast_1d(obj["time"].values)), declared)


def period_start(times: Any, freq: str) -> np.ndarray:
    """Label of the period each (naive, local) time falls in, as ``datetime64[ns]``.

    Days are labelled by their date, weeks by their Monday, months by their first day.

    Examples
    --------
    >>> t = np.array(["2023-01-01T23:59", "2023-01-02T00:00"], dtype="datetime64[ns]")
    >>> period_start(t, "W-MON").astype(str).tolist()
    ['2022-12-26T00:00:00.000000000', '2023-01-02T00:00:00.000000000']
    """
    check_freq(freq)
    days = np.asarray(times, dtype="datetime64[ns]").astype("datetime64[D]")
    if freq == "W-MON":
        # 1970-01-01 was a Thursday: (days since epoch + 3) % 7 is 0 on Mondays.
        days = days - ((days.astype(np.int64) + 3) % 7).astype("timedelta64[D]")
    elif freq == "MS":
        days = days.astype("datetime64[M]").astype("datetime64[D]")
    return days.astype("datetime64[ns]")


def period_last_day(label: Any, freq: str) -> pd.Timestamp:
    """The last day of the period starting at ``label``.

    Examples
    --------
    >>> str(period_last_day("2024-02-01", "MS").date()), str(period_last_day("2024-02-05",
    ...     "D").date())
    ('2024-02-29', '2024-02-05')
    """
    return pd.Timestamp(label) + pd.tseries.frequencies.to_offset(check_freq(freq)) - pd.Timedelta(
        days=1
    )


def days_of(index: pd.DatetimeIndex, freq: str) -> pd.DatetimeIndex:
    """Every day the periods of ``index`` (a regular ``freq`` axis) cover, named ``time``.

    Examples
    --------
    >>> len(days_of(pd.date_range("2024-02-05", periods=2, freq="W-MON"), "W-MON"))
    14
    """
    days = pd.date_range(index[0], period_last_day(index[-1], freq), freq="D")
    return pd.DatetimeIndex(days.values.astype("datetime64[ns]"), name="time")


def future_times(last: Any, freq: str, horizon: int) -> pd.DatetimeIndex:
    """The ``horizon`` period labels after ``last``.

    Examples
    --------
    >>> future_times("2024-01-29", "MS", 2).strftime("%Y-%m-%d").tolist()
    ['2024-02-01', '2024-03-01']
    >>> future_times("2024-12-30", "W-MON", 1).strftime("%Y-%m-%d").tolist()
    ['2025-01-06']
    """
    check_freq(freq)
    start = pd.Timestamp(last)
    idx = pd.date_range(start, periods=horizon + 1, freq=freq)
    if idx[0] == start:
        idx = idx[1:]
    else:  # ``last`` is not on the grid (a month mid-way): the next labels after it
        idx = idx[:horizon]
    return pd.DatetimeIndex(idx.values.astype("datetime64[ns]"), name="time")


# --------------------------------------------------------------------------- stacking series


@dataclass(frozen=True)
class SeriesLayout:
    """How the non-time dims of a counts array map to one ``series`` axis.

    ``dims``/``shape`` are the series dims in input order; ``coords`` every input coordinate
    without ``time``; ``labels`` a readable label per series ("市南/heating").
    """

    dims: tuple[str, ...]
    shape: tuple[int, ...]
    coords: dict[str, xr.Variable]

    @property
    def n_series(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    def labels(self) -> list[str]:
        """One "a/b" label per series, in stacking order."""
        if not self.dims:
            return ["series"]
        axes = [
            [str(v) for v in self.coords[d].values] if d in self.coords else
            [str(i) for i in range(n)]
            for d, n in zip(self.dims, self.shape, strict=True)
        ]  # fmt: skip
        grids = np.meshgrid(*[np.arange(n) for n in self.shape], indexing="ij")
        flat = [g.ravel() for g in grids]
        return ["/".join(axes[a][f[i]] for a, f in enumerate(flat)) for i in range(self.n_series)]

    def values_of(self, coord: str) -> np.ndarray | None:
        """The value of a series coordinate (e.g. ``category``) for every series, or None."""
        if coord not in self.coords:
            return None
        var = self.coords[coord]
        if not set(var.dims) <= set(self.dims):
            return None
        full = var.set_dims(dict(zip(self.dims, self.shape, strict=True)))
        return np.asarray(full.transpose(*self.dims).values).reshape(-1)

    def positions(self, dim: str) -> np.ndarray | None:
        """Each series' position along the series dim ``dim`` (None without that dim).

        Examples
        --------
        >>> da = xr.DataArray(np.zeros((3, 2, 2)), dims=("time", "district", "category"))
        >>> stack_series(da)[1].positions("category").tolist()
        [0, 1, 0, 1]
        """
        if dim not in self.dims:
            return None
        return np.indices(self.shape)[self.dims.index(dim)].reshape(-1)


def stack_series(counts: xr.DataArray) -> tuple[np.ndarray, SeriesLayout]:
    """Counts ``(time, ...)`` as a float64 array ``(time, series)`` (NaN kept) plus its layout
    (every non-time dim flattened into one series axis, C order).

    Examples
    --------
    >>> da = xr.DataArray(np.arange(12).reshape(3, 2, 2), dims=("time", "district", "category"))
    >>> values, layout = stack_series(da)
    >>> values.shape, layout.dims
    ((3, 4), ('district', 'category'))
    """
    if "time" not in counts.dims:
        raise ValueError(f"counts need a 'time' dim, got dims {counts.dims}")
    other = tuple(str(d) for d in counts.dims if d != "time")
    da = counts.transpose("time", *other)
    shape = tuple(int(da.sizes[d]) for d in other)
    values = np.asarray(da.values, dtype="float64").reshape(da.sizes["time"], -1)
    coords = {
        str(k): v.variable for k, v in da.coords.items() if "time" not in v.dims and k != "time"
    }
    return values, SeriesLayout(other, shape, coords)


def unstack_series(
    array: np.ndarray, layout: SeriesLayout, lead_dims: tuple[str, ...] = (),
    trail_dims: tuple[str, ...] = (),
) -> tuple[tuple[str, ...], np.ndarray]:  # fmt: skip
    """Reshape ``array`` with a series axis after ``lead_dims`` back to the series dims.

    Returns the dims tuple and the reshaped array, ready for ``xr.DataArray``.

    Examples
    --------
    >>> da = xr.DataArray(np.zeros((3, 2, 5)), dims=("time", "district", "category"))
    >>> _, layout = stack_series(da)
    >>> dims, arr = unstack_series(np.zeros((4, 10)), layout, ("time",))
    >>> dims, arr.shape
    (('time', 'district', 'category'), (4, 2, 5))
    """
    lead = array.shape[: len(lead_dims)]
    trail = array.shape[len(lead_dims) + 1 :]
    out = array.reshape((*lead, *layout.shape, *trail))
    return (*lead_dims, *layout.dims, *trail_dims), out


@dataclass(frozen=True)
class Stacked:
    """A counts DataArray flattened to ``values[time, series]`` and the recipe to rebuild it."""

    values: np.ndarray
    template: xr.DataArray
    layout: SeriesLayout

    @property
    def series_dims(self) -> tuple[str, ...]:
        return self.layout.dims

    @property
    def series_shape(self) -> tuple[int, ...]:
        return self.layout.shape

    def unstack(self, array: np.ndarray, name: str | None = None, attrs: dict | None = None):
        """Rebuild a DataArray with the template's dims and coords from ``array[time, series]``."""
        dims, arr = unstack_series(np.asarray(array), self.layout, ("time",))
        out = xr.DataArray(arr, dims=dims, coords=self.template.coords, name=name,
                           attrs=attrs or {})  # fmt: skip
        return out.transpose(*self.template.dims)

    def unstack_series(self, vector: np.ndarray, name: str | None = None) -> xr.DataArray:
        """A DataArray over the series dims (no time) from one value per series."""
        dims, arr = unstack_series(np.asarray(vector), self.layout)
        return xr.DataArray(arr, dims=dims, coords=self.layout.coords, name=name)

    def series_labels(self) -> list[str]:
        """One label per series, e.g. ``"市南/parking"`` (dim values joined by '/')."""
        if not self.series_dims:
            return [str(self.template.name or "series")]
        return self.layout.labels()


def stack(da: xr.DataArray) -> Stacked:
    """:func:`stack_series` keeping the DataArray, so results unstack to its dims and coords.

    Examples
    --------
    >>> da = xr.DataArray(np.arange(12).reshape(3, 2, 2), dims=("time", "district", "category"))
    >>> s = stack(da)
    >>> s.values.shape
    (3, 4)
    >>> bool((s.unstack(s.values) == da).all())
    True
    """
    values, layout = stack_series(da)
    return Stacked(values=values, template=da, layout=layout)


# --------------------------------------------------------------------------- regressors


def time_frame(obj: Any, index: pd.DatetimeIndex | None = None, what: str = "regressors"
               ) -> pd.DataFrame:  # fmt: skip
    """Variables over time as a DataFrame with a naive ``datetime64[ns]`` index.

    ``obj`` is an ``xr.Dataset`` (variables over ``('time',)`` only), a named ``xr.DataArray``,
    a DataFrame (indexed by time, or with a ``time`` / ``date`` column) or, with ``index``, a
    dict of arrays along it. With ``index`` the frame is reindexed to it (NaN where missing).
    ``what`` names the input in error messages.

    Examples
    --------
    >>> t = pd.date_range("2024-01-01", periods=3, freq="D")
    >>> ds = xr.Dataset({"temperature": ("time", [1.0, 2.0, 3.0])}, coords={"time": t})
    >>> time_frame(ds, t[1:].append(pd.DatetimeIndex(["2024-01-05"])))["temperature"].tolist()
    [2.0, 3.0, nan]
    """
    if isinstance(obj, xr.DataArray):
        if obj.name is None:
            raise ValueError(f"a {what} DataArray needs a name (e.g. 'temperature')")
        obj = obj.to_dataset()
    if isinstance(obj, xr.Dataset):
        if "time" not in obj.dims:
            raise ValueError(f"{what} need a 'time' dimension, got dims {tuple(obj.dims)}")
        bad = [v for v in obj.data_vars if obj[v].dims != ("time",)]
        if bad:
            raise ValueError(f"{what} variables must be over ('time',) only; {bad} are not")
        frame = obj.to_dataframe()
    elif isinstance(obj, pd.DataFrame):
        frame = obj
        if not isinstance(frame.index, pd.DatetimeIndex):
            for col in ("time", "date"):
                if col in frame.columns:
                    frame = frame.set_index(col)
                    break
    elif isinstance(obj, dict) and index is not None:
        frame = pd.DataFrame({k: np.asarray(v) for k, v in obj.items()}, index=index)
    else:
        raise TypeError(
            f"{what} must be an xarray Dataset/DataArray, a pandas DataFrame"
            + (" or a dict of arrays" if index is not None else "")
            + f", got {type(obj).__name__}"
        )
    frame = frame.copy()
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.index))
    if frame.index.tz is not None:
        raise ValueError(f"{what} times must be naive local time, like the cube's")
    frame.index = frame.index.astype("datetime64[ns]")
    if index is not None:
        frame = frame.reindex(pd.DatetimeIndex(np.asarray(index, dtype="datetime64[ns]")))
    return frame


def default_regressor_names(regressors: xr.Dataset, freq: str) -> list[str]:
    """Numeric/boolean variables over ``time`` only, minus ones a model's seasonality covers.

    ``weekend`` is always left out (the weekly seasonality of daily data and the constant share
    of weekend days in weeks make it redundant); so is ``working_day`` for daily data (it is
    weekend, holiday and make-up day combined). Weekly and monthly data keep ``working_day``
    (the share of working days differs between months).

    Examples
    --------
    >>> t = pd.date_range("2024-01-01", periods=3, freq="D")
    >>> ds = xr.Dataset({"holiday": ("time", [True, False, False]),
    ...                  "weekend": ("time", [False] * 3), "name": ("time", ["a", "", ""])},
    ...                 coords={"time": t})
    >>> default_regressor_names(ds, "D")
    ['holiday']
    """
    skip = {"weekend"} | ({"working_day"} if freq == "D" else set())
    names = []
    for name, var in regressors.data_vars.items():
        if var.dims != ("time",) or name in skip:
            continue
        if var.dtype == bool or np.issubdtype(var.dtype, np.number):
            names.append(str(name))
    return names


def regressor_matrix(
    regressors: xr.Dataset | None, times: pd.DatetimeIndex, names: list[str], what: str
) -> np.ndarray:
    """Values of ``names`` at ``times`` as a float64 array ``(time, len(names))`` (NaN kept).

    Raises a ValueError naming the missing periods or variables (``what``: "training periods",
    "forecast periods").

    Examples
    --------
    >>> t = pd.date_range("2024-01-01", periods=3, freq="D")
    >>> ds = xr.Dataset({"holiday": ("time", [True, False, False])}, coords={"time": t})
    >>> regressor_matrix(ds, t[1:], ["holiday"], "forecast periods").tolist()
    [[0.0], [0.0]]
    """
    if regressors is None:
        raise ValueError(
            f"this forecaster was fitted with regressors {names}: pass regressors covering the "
            f"{what} (e.g. predgov.data.calendar.calendar over it)"
        )
    if not isinstance(regressors, xr.Dataset):
        raise TypeError(f"regressors must be an xarray Dataset, got {type(regressors).__name__}")
    if "time" not in regressors.dims:
        raise ValueError("regressors need a 'time' dimension")
    missing = [n for n in names if n not in regressors]
    if missing:
        raise ValueError(f"regressors lack variables {missing} (have {list(regressors)})")
    have = pd.DatetimeIndex(regressors["time"].values)
    absent = times.difference(have)
    if len(absent):
        raise ValueError(
            f"regressors do not cover the {what}: {len(absent)} periods missing, first "
            f"{absent[0].date()} (regressors span {have.min().date()}..{have.max().date()})"
        )
    if not names:
        return np.zeros((len(times), 0))
    sub = regressors[names].sel(time=times)
    cols = []
    for n in names:
        var = sub[n]
        if var.dims != ("time",):
            raise ValueError(f"regressor {n!r} must be over ('time',) only, has dims {var.dims}")
        cols.append(np.asarray(var.values, dtype="float64"))
    return np.column_stack(cols)
