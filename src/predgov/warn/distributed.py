"""Early warning over blocks of series, one after the other or on a ``dask.distributed`` cluster.

:func:`detect_blocked` gives what :func:`predgov.warn.detect.detect` gives on the whole cube,
for cubes whose series do not fit one process's memory: the cube is cut along its pooling dim
(``pool``, default ``"category"``) into blocks of whole categories (:func:`plan_blocks`), each
block is detected on its own (serially, or on a cluster with :func:`predgov.parallel.map_blocks`)
and the results are put back in the cube's order.

Why this is exact: the one thing the detectors share across series is the calendar baseline's
pooling (:func:`predgov.warn.expected.expected_counts`, ``groups=``: a category's calendar
shape is fitted to the total of its series). A block holds every series of its categories, so
each group total, and everything fitted from it, is the one of the whole cube. Nothing pools
over all series: the design depends on the time axis only, the thresholds
(:func:`predgov.warn.arl.cusum_threshold`), the online level / dispersion / feedback state and
the quiet-series rule are per series, and the batched IRLS updates each series on its own. The
only cube-wide switch, "pooled" (some group has two or more series), is the same in every block
because every category of a dense cube has the same number of series. Without a pooling dim
(``pool=None`` or a cube without it) every series is its own group and any cut is exact; the
blocks are then cut along the largest series dim.

For a cube larger than memory, open it lazily (``xr.open_zarr(path)`` or
``xr.open_dataset(path, chunks={})``): each block is read where it runs. ``reduce=`` turns a
block's result into what the caller keeps (e.g. the alarms of the last week), so the full
result never has to exist in one process either.

Examples
--------
>>> import numpy as np, pandas as pd, xarray as xr
>>> t = pd.date_range("2024-01-01", periods=90, freq="D")
>>> rng = np.random.default_rng(0)
>>> da = xr.DataArray(rng.poisson(5.0, (90, 2, 3)), dims=("time", "district", "category"),
...                   coords={"time": t, "category": ["a", "b", "c"]}, attrs={"freq": "D"})
>>> plan_blocks(da, "category", block_series=4)
('category', [array([0, 1]), array([2])])
>>> one = detect(da, "ears_c2")
>>> xr.testing.assert_identical(detect_blocked(da, "ears_c2", block_series=4), one)
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from predgov.data.freq import SeriesLayout, stack_series
from predgov.parallel import DEFAULT_BLOCK_SERIES, BlockTask, map_blocks, plan_blocks, run_block
from predgov.warn._common import as_counts
from predgov.warn.detect import NoScoreWarning, detect

__all__ = ["BLOCK_SERIES", "detect_blocked", "plan_blocks"]

#: Default series per block (:data:`predgov.parallel.DEFAULT_BLOCK_SERIES`).
BLOCK_SERIES = DEFAULT_BLOCK_SERIES


def _detect_call(block: xr.DataArray, method: str, reduce: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoScoreWarning)
        ds = detect(block, method, **kwargs)
    warning = ds.attrs.get("warning")
    return (ds if reduce is None else reduce(ds)), warning


def detect_blocked(
    counts: xr.Dataset | xr.DataArray,
    method: str = "default",
    *,
    block_series: int = BLOCK_SERIES,
    backend: str = "serial",
    scheduler: Any = None,
    n_workers: int | None = -1,
    processes: bool = True,
    reduce: Callable[[xr.Dataset], Any] | None = None,
    start: object = None,
    end: object = None,
    city: str | None = None,
    regressors: Any = None,
    pool: str | None = "category",
    **params: Any,
) -> xr.Dataset | list[Any]:
    """:func:`~predgov.warn.detect.detect` over blocks of whole categories (see the module).

    Parameters
    ----------
    counts, method, start, end, city, regressors, pool, **params
        As for :func:`~predgov.warn.detect.detect` (``cache`` is not taken: each block fits
        its own baseline once). DataArray parameters (a forecaster's ``expected``) are cut
        like the counts.
    block_series
        Series per block (whole values of ``pool`` are never split).
    backend, scheduler, n_workers, processes
        ``"serial"`` or ``"dask"`` (:func:`predgov.parallel.map_blocks`; ``scheduler``: None for
        a LocalCluster of ``n_workers`` workers, or a scheduler address / Client).
    reduce
        None: the blocks' results are put back together into the Dataset ``detect`` returns on
        the whole cube. A function: applied to each block's result where it runs; the list of
        its returns (in block order, see :func:`plan_blocks`) is returned instead.

    Returns
    -------
    xr.Dataset or list
        What ``detect(counts, method, ...)`` returns (identical values and attrs), or the
        ``reduce`` results.
    """
    if "cache" in params:
        raise ValueError("detect_blocked takes no cache: each block fits its baseline once")
    da = as_counts(counts)
    kwargs: dict[str, Any] = dict(start=start, end=end, city=city, regressors=regressors,
                                  pool=pool)  # fmt: skip
    arrays = {k: v for k, v in params.items() if isinstance(v, xr.DataArray)}
    plain = {k: v for k, v in params.items() if k not in arrays}
    kwargs.update(plain)
    dim, blocks = plan_blocks(da, pool, block_series)
    tasks = []
    for idx in blocks:
        sub = da if dim is None else da.isel({dim: idx})
        extra = dict(kwargs)
        for k, v in arrays.items():
            extra[k] = v if dim is None or dim not in v.dims else v.isel({dim: idx})
        tasks.append(BlockTask(sub, _detect_call, {"method": method, "reduce": reduce, **extra}))
    results = map_blocks(run_block, tasks, backend=backend, scheduler=scheduler,
                         n_workers=n_workers, processes=processes,
                         name="predgov-detect")  # fmt: skip
    outs = [r[0] for r in results]
    nothing = [r[1] for r in results]
    if reduce is not None:
        return outs
    if dim is None:
        ds = outs[0]
    else:
        order = np.argsort(np.concatenate(blocks), kind="stable")
        attrs = {**outs[0].attrs, **_merged_attrs(da, outs)}
        bare = [o.drop_attrs(deep=False) for o in outs]
        ds = xr.concat(bare, dim=dim, data_vars="all", coords="different", compat="identical",
                       join="exact")  # fmt: skip
        ds = ds.isel({dim: order})
        ds.attrs = attrs
    if all(w is not None for w in nothing):
        warnings.warn(nothing[0], NoScoreWarning, stacklevel=2)
        ds.attrs["warning"] = nothing[0]
    else:
        ds.attrs.pop("warning", None)
    return ds


def _merged_attrs(da: xr.DataArray, outs: list[xr.Dataset]) -> dict[str, Any]:
    """``n_quiet_series`` and ``quiet_series`` of the whole cube (labels in its series order)."""
    quiet = set()
    for ds in outs:
        text = ds.attrs.get("quiet_series", "")
        quiet.update(x for x in text.split("; ") if x)
    labels = _layout(da).labels()
    ordered = [lab for lab in labels if lab in quiet]
    return {"n_quiet_series": len(ordered), "quiet_series": "; ".join(ordered)}


def _layout(da: xr.DataArray) -> SeriesLayout:
    """The series layout of ``da`` without reading its values (one time step is stacked)."""
    return stack_series(da.isel(time=slice(0, 1)))[1]
