"""Records → cube: counts of requests per period and series, as an ``xr.Dataset``.

The cube is the hand-over format between every stage (DESIGN.md, "The cube"): variable
``counts(time, district, category)`` with ``units="requests"``, a complete regular ``time`` axis
(``attrs["freq"]`` one of ``"D"``, ``"W-MON"``, ``"MS"``), and coordinates on ``category`` for the
hierarchy (``parent``, ``department``, ``label_zh``, ``label_en``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from predgov.data.freq import FREQ_NAMES, FREQS, check_freq, period_last_day, period_start
from predgov.data.taxonomy import DistrictTable, Taxonomy, load_districts, load_taxonomy

# FREQS, check_freq and period_start live in :mod:`predgov.data.freq` (the time contract) and
# are still importable from here.

#: What to do with edge weeks/months the source covers only in part: ``"mask"`` their counts
#: (NaN: not fully observed, and a part-week total would read as a collapse) or ``"keep"`` the
#: partial totals. Either way they are listed in ``attrs["partial_periods"]``.
PARTIAL = ("mask", "keep")


def _check_partial(partial: str) -> str:
    if partial not in PARTIAL:
        raise ValueError(f"partial must be one of {PARTIAL}, got {partial!r}")
    return partial


def _apply_partial(cube: xr.Dataset, labels: list[str], partial: str) -> xr.Dataset:
    """Mask (NaN) the ``counts`` of the partly covered periods ``labels`` when ``partial`` is
    "mask"; record the policy and the requests in those periods in the attrs."""
    counts = cube["counts"]
    idx = pd.DatetimeIndex(cube["time"].values).get_indexer(pd.DatetimeIndex(labels))
    in_partial = int(np.nansum(counts.values[idx])) if len(idx) else 0
    if partial == "mask" and len(idx):
        values = counts.values.astype("float64")
        values[idx] = np.nan
        cube = cube.copy()
        cube["counts"] = counts.copy(data=values)
    cube.attrs.update(partial_policy=partial, requests_in_partial_periods=in_partial)
    return cube


def counts_of(obj: xr.Dataset | xr.DataArray) -> xr.DataArray:
    """The ``counts`` DataArray of a cube: a Dataset's ``counts`` variable, or the DataArray itself.

    Nothing is copied or checked beyond that: dims, frequency and values are the caller's to
    validate.

    Parameters
    ----------
    obj
        A cube ``xr.Dataset`` with a ``counts`` data variable, or a counts ``xr.DataArray``.

    Returns
    -------
    xr.DataArray
        ``obj["counts"]`` for a Dataset, ``obj`` itself for a DataArray.

    Raises
    ------
    ValueError
        If ``obj`` is a Dataset without a ``counts`` data variable (the message lists the
        variables it has).
    TypeError
        If ``obj`` is neither an ``xr.Dataset`` nor an ``xr.DataArray``.

    Examples
    --------
    >>> ds = xr.Dataset({"counts": ("time", [3, 0, 5])})
    >>> counts_of(ds).values.tolist()
    [3, 0, 5]
    >>> da = ds["counts"]
    >>> counts_of(da) is da
    True
    >>> counts_of(ds.rename({"counts": "n"}))
    Traceback (most recent call last):
    ...
    ValueError: cube Dataset has no 'counts' variable; has ['n']
    """
    if isinstance(obj, xr.Dataset):
        if "counts" not in obj.data_vars:
            raise ValueError(
                f"cube Dataset has no 'counts' variable; has {sorted(map(str, obj.data_vars))}"
            )
        return obj["counts"]
    if isinstance(obj, xr.DataArray):
        return obj
    raise TypeError(f"expected a cube Dataset or its counts DataArray, got {type(obj).__name__}")


def time_axis(start: object, end: object, freq: str) -> pd.DatetimeIndex:
    """Complete regular axis of period labels covering ``start``..``end`` (inclusive).

    Examples
    --------
    >>> time_axis("2023-01-01", "2023-01-10", "W-MON").strftime("%Y-%m-%d").tolist()
    ['2022-12-26', '2023-01-02', '2023-01-09']
    """
    first, last = period_start(np.array([pd.Timestamp(start), pd.Timestamp(end)]), freq)
    axis = pd.date_range(first, last, freq=freq, name="time")
    return pd.DatetimeIndex(axis.values.astype("datetime64[ns]"), name="time")


def _local_naive(received: pd.Series, timezone: str | None) -> np.ndarray:
    """Wall-clock local times as naive datetime64[ns] (the cube's time is local)."""
    if not pd.api.types.is_datetime64_any_dtype(received):
        raise ValueError(f"records['received_at'] must be datetimes, got dtype {received.dtype}")
    tz = getattr(received.dt, "tz", None)
    if tz is not None and timezone is not None:
        received = received.dt.tz_convert(timezone)
    if tz is not None:
        received = received.dt.tz_localize(None)
    return received.to_numpy(dtype="datetime64[ns]")


def _ordered_labels(
    values: pd.Series, known: Sequence[str], declared: Sequence[str] | None
) -> list:
    """Labels of a dim: declared ones (all kept), else observed ones in reference-table order."""
    observed = set(values.unique())
    if declared is not None:
        extra = sorted(observed - set(declared))
        if extra:
            raise ValueError(
                f"records hold {values.name} values {extra[:10]} that the declared list lacks"
            )
        return list(declared)
    known_set = set(known)
    return [k for k in known if k in observed] + sorted(observed - known_set)


def _as_taxonomy(taxonomy: Taxonomy | str | None) -> Taxonomy | None:
    return load_taxonomy(taxonomy) if isinstance(taxonomy, str) else taxonomy


def _as_districts(districts: DistrictTable | str | None) -> DistrictTable | None:
    return load_districts(districts) if isinstance(districts, str) else districts


def to_cube(
    records: pd.DataFrame,
    freq: str = "D",
    by: Sequence[str] = ("district", "category"),
    *,
    taxonomy: Taxonomy | str | None = "qingdao",
    districts: DistrictTable | str | None = None,
    period: tuple[object, object] | None = None,
    labels: dict[str, Sequence[str]] | None = None,
    timezone: str | None = None,
    source: str | None = None,
    partial: str = "mask",
) -> xr.Dataset:
    """Count records per period and series into a cube.

    Parameters
    ----------
    records
        Canonical records (``read_records(...).records``): ``received_at`` (tz-aware, or naive
        local time) and the columns named in ``by``.
    freq
        ``"D"`` (days), ``"W-MON"`` (weeks labelled by Monday) or ``"MS"`` (months).
    by
        Series dims after ``time``, each a records column: ``("district", "category")`` by
        default; ``("category",)`` for a city-level cube; ``"grid"`` or ``"subcategory"`` for
        finer cubes (a ``subcategory`` dim gets a ``category`` coordinate, a ``grid`` dim a
        ``district`` coordinate).
    taxonomy
        Taxonomy (or its name) for the category coordinates and order; None for raw labels.
    districts
        District table (or city name) for district coordinates and order; None for raw labels.
    period
        ``(first, last)`` times the source covered; periods in it without records count 0.
        Defaults to the first and last record. Records outside it raise a ValueError (no
        silent loss).
    labels
        Declared labels per dim (e.g. ``{"district": [...]}``): every one gets a series, zeros
        where no records; a record whose label is not declared raises a ValueError.
    timezone
        Convert tz-aware times to this zone before taking the local date.
    source
        Text for ``attrs["source"]``.
    partial
        Weekly/monthly cubes: an edge period the covered span (``period``, or the first to the
        last record) only partly overlaps is listed in ``attrs["partial_periods"]`` and, with
        ``"mask"`` (default), not observed (NaN; its requests are counted in
        ``attrs["requests_in_partial_periods"]``); ``"keep"`` keeps its partial total.

    Returns
    -------
    xr.Dataset
        ``counts`` (``units="requests"``) over ``("time", *by)``: int64, or float64 when a
        partial period is masked.

    Examples
    --------
    >>> recs = pd.DataFrame({
    ...     "received_at": pd.to_datetime(["2024-11-15 08:00", "2024-11-15 09:00",
    ...                                    "2024-11-17 10:00"]).tz_localize("Asia/Shanghai"),
    ...     "district": ["市南", "市南", "市北"],
    ...     "category": ["heating", "heating", "noise_social"]})
    >>> cube = to_cube(recs, districts="qingdao")
    >>> cube["counts"].sizes
    Frozen({'time': 3, 'district': 2, 'category': 2})
    >>> int(cube["counts"].sum())
    3
    >>> cube["counts"].sel(district="市南", category="heating").values.tolist()
    [2, 0, 0]
    """
    check_freq(freq)
    _check_partial(partial)
    by = tuple(by)
    if not by or len(set(by)) != len(by):
        raise ValueError(f"by must name one or more distinct record columns, got {by!r}")
    required = ["received_at", *by]
    if "subcategory" in by and "category" not in by:
        required.append("category")
    if "grid" in by and "district" not in by:
        required.append("district")
    missing = [c for c in required if c not in records.columns]
    if missing:
        raise ValueError(f"records lack columns {missing} needed for by={by}")
    if len(records) == 0:
        raise ValueError("no records to count: the cube would be empty")
    for col in required[1:]:
        n_missing = int(records[col].isna().sum())
        if n_missing:
            raise ValueError(
                f"{n_missing} records have no {col!r}; read_records rejects such rows, "
                "pass its .records"
            )
    times = _local_naive(records["received_at"], timezone)
    if np.isnat(times).any():
        raise ValueError(f"{int(np.isnat(times).sum())} records have no received_at time")

    first, last = (times.min(), times.max()) if period is None else map(pd.Timestamp, period)
    if period is not None:
        outside = (times < np.datetime64(first)) | (
            times >= np.datetime64(pd.Timestamp(last).normalize() + pd.Timedelta(days=1))
        )
        if outside.any():
            raise ValueError(
                f"{int(outside.sum())} records fall outside the declared period {period}"
            )
    axis = time_axis(first, last, freq)
    labels = dict(labels or {})
    tax = _as_taxonomy(taxonomy)
    dtab = _as_districts(districts)

    frame = pd.DataFrame({col: records[col].astype(str).to_numpy() for col in by})
    if "subcategory" in by and "category" not in by:
        frame = _qualify_subcategories(frame, records["category"].astype(str).to_numpy())

    indices, dim_labels = [], {}
    t_idx = axis.get_indexer(period_start(times, freq))
    indices.append(t_idx)
    for col in by:
        reference: Sequence[str] = ()
        if col == "category" and tax is not None:
            reference = list(tax.categories.index)
        elif col == "district" and dtab is not None:
            reference = dtab.names
        dim_labels[col] = _ordered_labels(frame[col].rename(col), reference, labels.get(col))
        indices.append(pd.Index(dim_labels[col]).get_indexer(frame[col]))

    shape = (len(axis), *(len(dim_labels[c]) for c in by))
    flat = np.ravel_multi_index(tuple(indices), shape)
    counts = np.bincount(flat, minlength=int(np.prod(shape))).reshape(shape).astype(np.int64)

    coords: dict[str, object] = {"time": axis, **{c: dim_labels[c] for c in by}}
    if "category" in by and tax is not None:
        coords.update(tax.coords(dim_labels["category"]))
    if "district" in by and dtab is not None:
        coords.update(dtab.coords(dim_labels["district"]))
    if "subcategory" in by and "category" not in by:
        parent_of = dict(zip(frame["subcategory"], records["category"].astype(str), strict=True))
        coords["category"] = ("subcategory", [parent_of[s] for s in dim_labels["subcategory"]])
    if "grid" in by and "district" not in by:
        district_of = dict(zip(frame["grid"], records["district"].astype(str), strict=True))
        coords["district"] = ("grid", [district_of[g] for g in dim_labels["grid"]])

    cube = xr.Dataset({"counts": (("time", *by), counts)}, coords=coords)
    tz = getattr(records["received_at"].dt, "tz", None)
    edges = _partial_edges(axis, times.min(), times.max(), freq, period)
    cube = _annotate(
        cube,
        freq,
        source=source or "hotline records",
        timezone=str(timezone or tz or "local"),
        n_records=len(records),
        partial=edges,
    )
    return _apply_partial(cube, edges, partial)


def _qualify_subcategories(frame: pd.DataFrame, category: np.ndarray) -> pd.DataFrame:
    """Make subcategory labels unique across categories ("category/subcategory" when shared)."""
    pairs = pd.DataFrame({"sub": frame["subcategory"], "cat": category})
    shared = pairs.drop_duplicates().groupby("sub")["cat"].nunique()
    shared = set(shared[shared > 1].index)
    frame = frame.copy()
    mask = frame["subcategory"].isin(shared).to_numpy()
    frame.loc[mask, "subcategory"] = category[mask] + "/" + frame.loc[mask, "subcategory"]
    return frame


def _partial_edges(axis, t_min, t_max, freq, period) -> list[str]:
    """Labels of edge periods that the covered span only partly overlaps (weeks, months)."""
    if freq == "D":
        return []
    lo = pd.Timestamp(period[0] if period else t_min).normalize()
    hi = pd.Timestamp(period[1] if period else t_max).normalize()
    out = []
    if axis[0] < lo:
        out.append(str(axis[0].date()))
    if hi < period_last_day(axis[-1], freq) and str(axis[-1].date()) not in out:
        out.append(str(axis[-1].date()))
    return out


def _annotate(
    cube: xr.Dataset,
    freq: str,
    *,
    source: str,
    timezone: str,
    n_records: int,
    partial: list[str],
) -> xr.Dataset:
    cube["counts"].attrs.update(
        long_name="hotline requests received in the period", units="requests"
    )
    cube["time"].attrs.update(
        long_name=f"start of the {FREQ_NAMES[freq]} (local time)", freq=freq
    )
    cube.attrs.update(
        title="predgov request cube",
        Conventions="CF-1.8",
        source=source,
        freq=freq,
        timezone=timezone,
        records_counted=n_records,
        partial_periods=", ".join(partial) if partial else "none",
    )
    return cube


# --------------------------------------------------------------------------- aggregation helpers


def rollup(cube: xr.Dataset | xr.DataArray, dim: str, coord: str) -> xr.Dataset | xr.DataArray:
    """Sum ``dim`` into the groups named by its coordinate ``coord`` (NaN stays NaN).

    The result's dim is called ``coord``. Used for subcategory→category, grid→district and
    category→parent.

    Examples
    --------
    >>> da = xr.DataArray([[1, 2, 3]], dims=("time", "grid"),
    ...                   coords={"grid": ["a", "b", "c"], "district": ("grid", ["x", "x", "y"])})
    >>> rollup(da, "grid", "district").values.tolist()
    [[3, 3]]
    """
    if dim not in cube.dims:
        raise ValueError(f"cannot roll up {dim!r}: dims are {tuple(cube.dims)}")
    if coord not in cube.coords or cube.coords[coord].dims != (dim,):
        raise ValueError(f"{dim!r} has no coordinate {coord!r} to group by")
    order = list(dict.fromkeys(cube.coords[coord].values.tolist()))
    dropped = [
        name
        for name, c in cube.coords.items()
        if dim in c.dims and name not in (dim, coord)
    ]
    grouped = cube.drop_vars(dropped).groupby(coord).sum(dim, skipna=False).sel({coord: order})
    # groupby puts the group dim first; restore each variable's original dim order.
    if isinstance(cube, xr.DataArray):
        return grouped.transpose(*[coord if d == dim else d for d in cube.dims])
    for name, var in cube.data_vars.items():
        if dim in var.dims:
            grouped[name] = grouped[name].transpose(*[coord if d == dim else d for d in var.dims])
    return grouped


def to_city(cube: xr.Dataset, name: str = "city") -> xr.Dataset:
    """Sum districts into the city total; keeps a ``district`` dim of length one named ``name``.

    A period with any district not observed (NaN) is not observed for the city either.

    Examples
    --------
    >>> ds = xr.Dataset({"counts": (("time", "district"), [[1, 2], [3, 4]])},
    ...                 coords={"district": ["a", "b"]})
    >>> to_city(ds)["counts"].values.ravel().tolist()
    [3, 7]
    """
    if "district" not in cube.dims:
        raise ValueError(f"cube has no 'district' dim: {tuple(cube.dims)}")
    district_coords = [n for n, c in cube.coords.items() if "district" in c.dims]
    total = cube.drop_vars(district_coords).sum("district", skipna=False, keep_attrs=True)
    return total.expand_dims(district=[name]).transpose("time", "district", ...)


def to_parent(cube: xr.Dataset, taxonomy: Taxonomy | str | None = None) -> xr.Dataset:
    """Sum categories into their parent classes (``category`` dim of parent codes).

    Labels of the parent classes come from ``taxonomy`` when given.

    Examples
    --------
    >>> ds = xr.Dataset({"counts": (("time", "category"), [[1, 2, 4]])},
    ...                 coords={"category": ["heating", "gas", "parking"],
    ...                         "parent": ("category", ["utilities", "utilities", "transport"])})
    >>> to_parent(ds)["counts"].values.tolist()
    [[3, 4]]
    """
    rolled = rollup(cube, "category", "parent").rename(parent="category")
    tax = _as_taxonomy(taxonomy)
    if tax is not None:
        codes = [str(c) for c in rolled["category"].values]
        coords = tax.coords(codes)
        rolled = rolled.assign_coords(
            parent=("category", codes),
            label_zh=coords["label_zh"],
            label_en=coords["label_en"],
        )
    return rolled


def resample_counts(cube: xr.Dataset, freq: str, partial: str = "mask") -> xr.Dataset:
    """Sum a daily (or weekly) cube into coarser periods: ``"W-MON"`` or ``"MS"``.

    A period with any unobserved (NaN) day is NaN. Edge periods only partly covered by the
    source are listed in ``attrs["partial_periods"]`` and, with ``partial="mask"`` (default),
    not observed (NaN; their requests in ``attrs["requests_in_partial_periods"]``);
    ``partial="keep"`` keeps the days they have.

    Examples
    --------
    >>> ds = xr.Dataset({"counts": ("time", np.ones(14, dtype="int64"))},
    ...                 coords={"time": pd.date_range("2024-01-01", periods=14)})
    >>> ds["time"].attrs["freq"] = "D"
    >>> resample_counts(ds, "W-MON")["counts"].values.tolist()
    [7, 7]
    """
    check_freq(freq)
    _check_partial(partial)
    source_freq = cube["time"].attrs.get("freq", cube.attrs.get("freq"))
    if source_freq is None:
        raise ValueError("cube time axis has no attrs['freq']; cannot tell its period")
    order = {f: i for i, f in enumerate(FREQS)}
    if order[freq] < order[source_freq] or (source_freq, freq) == ("W-MON", "MS"):
        raise ValueError(f"cannot resample a {source_freq!r} cube to {freq!r}")
    if freq == source_freq:
        return cube
    labels = period_start(cube["time"].values, freq)
    non_time = [n for n, c in cube.coords.items() if "time" in c.dims and n != "time"]
    out = (
        cube.drop_vars(non_time)
        .assign_coords(period=("time", labels))
        .groupby("period")
        .sum("time", skipna=False, keep_attrs=True)
        .rename(period="time")
    )
    t0, t1 = pd.Timestamp(cube["time"].values[0]), pd.Timestamp(cube["time"].values[-1])
    last_day = period_last_day(t1, source_freq)
    axis = pd.DatetimeIndex(out["time"].values)
    edges = _partial_edges(axis, t0, last_day, freq, None)
    out["time"].attrs.update(long_name=f"start of the {FREQ_NAMES[freq]} (local time)", freq=freq)
    out.attrs.update(cube.attrs)
    out.attrs.update(freq=freq, partial_periods=", ".join(edges) if edges else "none")
    return _apply_partial(out, edges, partial)


# --------------------------------------------------------------------------- files


def write_cube(cube: xr.Dataset, path) -> None:
    """Write a cube to netCDF-4 (compressed, CF attributes) so that ``read_cube`` restores it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> ds = xr.Dataset({"counts": ("time", np.arange(3))},
    ...                 coords={"time": pd.date_range("2024-01-01", periods=3)})
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "cube.nc"
    >>> write_cube(ds, p)
    >>> xr.testing.assert_identical(read_cube(p), ds)
    """
    encoding = {
        name: {"zlib": True, "complevel": 4}
        for name, var in cube.data_vars.items()
        if var.dtype.kind in "iufb"
    }
    cube.to_netcdf(path, engine="netcdf4", format="NETCDF4", encoding=encoding)


def read_cube(path) -> xr.Dataset:
    """Read a cube written by :func:`write_cube` fully into memory (the file is closed)."""
    with xr.open_dataset(path, engine="netcdf4") as ds:
        cube = ds.load()
    for var in cube.variables.values():
        var.encoding = {}
    return cube
