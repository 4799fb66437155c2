"""Checks at the door of :func:`predgov.impact.estimate`: counts, treated units, starts, covariates.

Everything the estimators need arrives as one :class:`Panel` of plain arrays (``values[time,
unit]`` for one category), so the estimators never see xarray and never re-check input.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from predgov.data.freq import check_regular, freq_of, time_frame

#: Names of the counts variable accepted when ``counts`` is a Dataset (the cube uses ``counts``).
COUNT_VARIABLES = ("counts", "calls")


@dataclass
class Panel:
    """One category's counts ``values (T, U)`` over all units, and who is treated from when.

    ``start_idx (U,)`` is the first treated period of each unit (``T`` for never-treated units,
    so ``t < start_idx[u]`` is the unit's pre-period); ``treated (U,)`` marks treated units.
    ``X_cov (T, c)`` holds the covariates (already standardised with pre-period moments).
    ``exposure (T, U)`` (or None): what each unit's counts are proportional to (households,
    residents); the count models take its log as offset and the regression-to-the-mean check
    ranks and matches units on counts per unit of exposure.
    """

    values: np.ndarray
    times: pd.DatetimeIndex
    freq: str
    unit_dim: str
    units: np.ndarray
    treated: np.ndarray
    start_idx: np.ndarray
    X_cov: np.ndarray
    cov_names: list[str] = field(default_factory=list)
    exposure: np.ndarray | None = None

    @property
    def n_times(self) -> int:
        return int(self.values.shape[0])

    @property
    def treated_idx(self) -> np.ndarray:
        return np.flatnonzero(self.treated)

    @property
    def control_idx(self) -> np.ndarray:
        return np.flatnonzero(~self.treated)

    def post_mask(self) -> np.ndarray:
        """``(T, U)`` True where a unit is treated (on or after its start)."""
        return np.arange(self.n_times)[:, None] >= self.start_idx[None, :]

    def first_start(self) -> int:
        return int(self.start_idx[self.treated].min())

    def subset(self, units: np.ndarray) -> Panel:
        """The panel restricted to the unit positions ``units`` (in that order)."""
        return Panel(self.values[:, units], self.times, self.freq, self.unit_dim,
                     self.units[units], self.treated[units], self.start_idx[units], self.X_cov,
                     self.cov_names,
                     None if self.exposure is None else self.exposure[:, units])  # fmt: skip

    def log_exposure(self, units: np.ndarray) -> np.ndarray | None:
        """``log(exposure)`` of the unit positions ``units``, ``(T, len(units))``, or None."""
        return None if self.exposure is None else np.log(self.exposure[:, units])


def counts_array(counts: Any) -> xr.DataArray:
    """The counts DataArray of ``counts`` (a DataArray, or a Dataset with ``counts``/``calls``).

    Examples
    --------
    >>> ds = xr.Dataset({"calls": ("time", [1, 2])})
    >>> counts_array(ds).name
    'calls'
    """
    if isinstance(counts, xr.Dataset):
        for name in COUNT_VARIABLES:
            if name in counts.data_vars:
                da = counts[name]
                if not da.attrs.get("freq") and counts.attrs.get("freq"):
                    da = da.assign_attrs(freq=counts.attrs["freq"])
                return da
        raise ValueError(
            f"counts Dataset has none of the variables {COUNT_VARIABLES}; has "
            f"{sorted(map(str, counts.data_vars))}"
        )
    if isinstance(counts, xr.DataArray):
        return counts
    raise TypeError(f"counts must be an xarray DataArray or a cube Dataset, got "
                    f"{type(counts).__name__}")  # fmt: skip


def check_counts(da: xr.DataArray) -> tuple[xr.DataArray, str]:
    """Check the time axis, the values (numeric, finite, non-negative) and return the frequency."""
    if "time" not in da.dims:
        raise ValueError(f"counts need a 'time' dimension, got dims {da.dims}")
    if not (np.issubdtype(da.dtype, np.number) or da.dtype == bool):
        raise TypeError(f"counts must be numeric, got dtype {da.dtype}")
    freq = freq_of(da)
    times = pd.DatetimeIndex(da["time"].values)
    check_regular(times, freq)
    values = np.asarray(da.transpose("time", ...).values, dtype=np.float64).reshape(len(times), -1)
    if np.isnan(values).any():
        first = times[int(np.flatnonzero(np.isnan(values).any(axis=1))[0])].date()
        raise ValueError(
            f"counts contain {int(np.isnan(values).sum())} missing values (NaN; first at {first}):"
            " the estimators need complete series; drop the partly observed periods (e.g. "
            "counts.dropna('time')) or fill them before estimating"
        )
    if np.isinf(values).any():
        raise ValueError("counts contain infinite values")
    if (values < 0).any():
        raise ValueError(f"counts must be non-negative; {int((values < 0).sum())} values are < 0 "
                         f"(min {values.min():g})")  # fmt: skip
    return da, freq


def choose_unit_dim(da: xr.DataArray, unit_dim: str | None, treated: Any) -> str:
    """The unit dim: ``unit_dim``, the dim of a boolean ``treated`` DataArray, or the first
    non-time dim other than ``category``."""
    others = [str(d) for d in da.dims if d not in ("time", "category")]
    if unit_dim is None and isinstance(treated, xr.DataArray) and treated.ndim == 1:
        unit_dim = str(treated.dims[0])
    if unit_dim is None:
        if not others:
            raise ValueError(f"counts need a unit dimension besides 'time' (and 'category'), got "
                             f"dims {da.dims}")  # fmt: skip
        unit_dim = others[0]
    if unit_dim not in da.dims or unit_dim in ("time", "category"):
        raise ValueError(f"unit_dim {unit_dim!r} is not a unit dimension of counts (dims "
                         f"{da.dims})")  # fmt: skip
    extra = [d for d in others if d != unit_dim]
    if extra:
        raise ValueError(
            f"counts have unit dims {extra} besides {unit_dim!r}: select or sum them first "
            f"(e.g. counts.sum({extra[0]!r}))"
        )
    return unit_dim


def treated_mask(treated: Any, units: np.ndarray, unit_dim: str) -> np.ndarray:
    """Boolean mask over ``units`` from labels or a boolean DataArray/Series/array."""
    labels = [str(u) for u in units]
    if isinstance(treated, xr.DataArray) and treated.dtype == bool:
        if treated.dims != (unit_dim,):
            raise ValueError(f"a boolean treated DataArray must be over ({unit_dim!r},), got "
                             f"{treated.dims}")  # fmt: skip
        aligned = treated.reindex({unit_dim: units}, fill_value=False)
        mask = np.asarray(aligned.values, dtype=bool)
    elif isinstance(treated, pd.Series) and treated.dtype == bool:
        mask = np.asarray(treated.reindex(units, fill_value=False).values, dtype=bool)
    elif isinstance(treated, np.ndarray) and treated.dtype == bool:
        if treated.shape != (len(units),):
            raise ValueError(f"a boolean treated array needs one value per {unit_dim} "
                             f"({len(units)}), got shape {treated.shape}")  # fmt: skip
        mask = treated.copy()
    else:
        if isinstance(treated, (str, int, np.integer)) or np.ndim(treated) == 0:
            treated = [treated]
        wanted = [str(t) for t in (treated.values if isinstance(treated, xr.DataArray)
                                   else treated)]  # fmt: skip
        unknown = [t for t in wanted if t not in labels]
        if unknown:
            raise ValueError(f"treated {unit_dim} labels {unknown} are not in counts (have "
                             f"{labels[:10]}{' ...' if len(labels) > 10 else ''})")  # fmt: skip
        mask = np.isin(labels, wanted)
    if not mask.any():
        raise ValueError("no treated units: treated selects none of the units")
    return mask


def start_indices(start: Any, times: pd.DatetimeIndex, units: np.ndarray, mask: np.ndarray,
                  unit_dim: str) -> np.ndarray:  # fmt: skip
    """First treated period per unit (``T`` for untreated units) from one date or a mapping."""
    T = len(times)
    out = np.full(len(units), T, dtype=np.int64)
    labels = [str(u) for u in units]
    if isinstance(start, xr.DataArray) and start.ndim == 1:
        start = pd.Series(start.values, index=[str(v) for v in start[start.dims[0]].values])
    if isinstance(start, (Mapping, pd.Series)):
        per = {str(k): v for k, v in dict(start).items()}
        missing = [labels[i] for i in np.flatnonzero(mask) if labels[i] not in per]
        if missing:
            raise ValueError(f"start gives no date for treated {unit_dim} {missing}")
        dates = {i: per[labels[i]] for i in np.flatnonzero(mask)}
    else:
        dates = {i: start for i in np.flatnonzero(mask)}
    for i, d in dates.items():
        try:
            ts = pd.Timestamp(d)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"start {d!r} of {labels[i]} is not a date") from exc
        if ts <= times[0] or ts > times[-1]:
            raise ValueError(
                f"start {ts.date()} of {unit_dim} {labels[i]} is outside the period "
                f"{times[0].date()}..{times[-1].date()} (it must leave a pre-period and a "
                "post-period)"
            )
        out[i] = int(np.searchsorted(times.values, np.datetime64(ts, "ns"), side="left"))
    return out


def check_pre_period(start_idx: np.ndarray, mask: np.ndarray, freq: str, times: pd.DatetimeIndex,
                     min_pre: int) -> None:  # fmt: skip
    first = int(start_idx[mask].min())
    if first < min_pre:
        raise ValueError(
            f"the pre-period is too short: {first} periods before the first start "
            f"{times[min(first, len(times) - 1)].date()} (need at least {min_pre} {freq!r} periods)"
        )


def covariate_matrix(covariates: Any, times: pd.DatetimeIndex, pre: np.ndarray
                     ) -> tuple[np.ndarray, list[str]]:  # fmt: skip
    """Covariates over ``times`` as ``(T, c)``, standardised with the pre-period's moments."""
    if covariates is None:
        return np.zeros((len(times), 0)), []
    frame = time_frame(covariates, what="covariates")
    names = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
             or pd.api.types.is_bool_dtype(frame[c])]  # fmt: skip
    if not names:
        raise ValueError(f"covariates have no numeric variables (have {list(frame.columns)})")
    frame = frame.reindex(times)
    X = frame[names].to_numpy(dtype=np.float64)
    if np.isnan(X).any():
        j = int(np.flatnonzero(np.isnan(X).any(axis=0))[0])
        t = int(np.flatnonzero(np.isnan(X[:, j]))[0])
        raise ValueError(f"covariate {names[j]!r} does not cover the period: missing at "
                         f"{times[t].date()} (and {int(np.isnan(X).sum()) - 1} more)")  # fmt: skip
    centre = X[pre].mean(axis=0)
    scale = X[pre].std(axis=0)
    keep = scale > 0
    X = (X[:, keep] - centre[keep]) / scale[keep]
    return X, [n for n, k in zip(names, keep, strict=True) if k]


def exposure_matrix(exposure: Any, da: xr.DataArray, unit_dim: str, times: pd.DatetimeIndex,
                    units: np.ndarray) -> np.ndarray | None:  # fmt: skip
    """``exposure`` as a positive ``(T, U)`` array aligned with ``times`` and ``units``.

    ``exposure`` is None, the name of a coordinate of the counts (e.g. ``"households"``), or a
    DataArray over ``(unit_dim,)`` or ``(time, unit_dim)`` covering every unit and period.

    Examples
    --------
    >>> da = xr.DataArray(np.zeros((3, 2)), dims=("time", "estate"),
    ...                   coords={"time": pd.date_range("2024-01-01", periods=3),
    ...                           "estate": ["a", "b"], "households": ("estate", [10, 40])})
    >>> exposure_matrix("households", da, "estate", da.indexes["time"], np.array(["a", "b"]))[0]
    array([10., 40.])
    """
    if exposure is None:
        return None
    if isinstance(exposure, str):
        if exposure not in da.coords:
            raise ValueError(f"exposure {exposure!r} is not a coordinate of counts (have "
                             f"{sorted(map(str, da.coords))})")  # fmt: skip
        exposure = da.coords[exposure]
    if not isinstance(exposure, xr.DataArray):
        raise TypeError(f"exposure must be None, a coordinate name or an xarray DataArray, got "
                        f"{type(exposure).__name__}")  # fmt: skip
    dims = set(map(str, exposure.dims))
    if unit_dim not in dims or not dims <= {"time", unit_dim}:
        raise ValueError(f"exposure must be over ({unit_dim!r},) or ('time', {unit_dim!r}), got "
                         f"dims {exposure.dims}")  # fmt: skip
    e = exposure.drop_vars([c for c in exposure.coords if c not in exposure.dims])
    if unit_dim in e.coords:
        have = {str(u) for u in e[unit_dim].values}
        missing = [str(u) for u in units if str(u) not in have]
        if missing:
            raise ValueError(f"exposure has no value for {unit_dim} {missing[:10]}")
        e = e.assign_coords({unit_dim: [str(u) for u in e[unit_dim].values]}).sel(
            {unit_dim: [str(u) for u in units]})
    elif e.sizes[unit_dim] != len(units):
        raise ValueError(f"exposure has {e.sizes[unit_dim]} {unit_dim} values, counts "
                         f"{len(units)}")  # fmt: skip
    if "time" in e.dims:
        if "time" in e.coords:
            e = e.reindex(time=times)
        elif e.sizes["time"] != len(times):
            raise ValueError(f"exposure has {e.sizes['time']} periods, counts {len(times)}")
        arr = np.asarray(e.transpose("time", unit_dim).values, dtype=np.float64)
    else:
        arr = np.tile(np.asarray(e.values, dtype=np.float64), (len(times), 1))
    if not np.isfinite(arr).all() or (arr <= 0).any():
        bad = int((~np.isfinite(arr) | (arr <= 0)).sum())
        raise ValueError(f"exposure must be positive and finite everywhere ({bad} values are "
                         "not, or periods of counts are missing from it)")  # fmt: skip
    return arr


def start_attr(start: Any) -> str:
    """``start`` as a string for attrs (one ISO date, or JSON of unit → date)."""
    if isinstance(start, xr.DataArray):
        start = pd.Series(start.values, index=start[start.dims[0]].values)
    if isinstance(start, (Mapping, pd.Series)):
        return json.dumps({str(k): str(pd.Timestamp(v).date()) for k, v in dict(start).items()})
    return str(pd.Timestamp(start).date())
