"""Forecasts over blocks of series, one after the other or on a ``dask.distributed`` cluster.

:func:`forecast_blocked` fits a copy of a forecaster to each block of whole categories
(:func:`predgov.warn.distributed.plan_blocks`) and puts the forecasts back in the cube's order:
``forecast_blocked(model, counts, h)`` equals ``model.fit(counts).predict(h)`` whenever the
model pools nothing across blocks.

What the default forecaster (:class:`~predgov.forecast.nbglm.NBGLM`) pools, and where:

* within a category (kept exact by blocks of whole categories): the Spring Festival effects
  (``festival_pool``: fitted on the category's total, a prior for its series) and the
  predictive dispersion's shrinkage (``dispersion_pool``: towards the category's);
* over *all* series (not exact per block; :func:`global_pooling` names them):

  - ``level_window="auto"``: the local level's span is the one with the smallest mean
    rolling-origin error over all series;
  - ``level_by="auto"`` (daily data): the day-type levels are kept or not by the same mean;
  - ``calibrate=True``: the quantile levels are recalibrated on PIT shares summed over all
    series;
  - ``dispersion_pool`` None (or a cube without that coordinate): one group of all series.

So with its defaults the forecaster is not block-separable: each block would choose its own
span and its own recalibration. :func:`forecast_blocked` refuses it (``strict=True``) and says
which settings pool globally; with fixed settings (e.g. ``NBGLM(level_window=28,
level_by="shared", calibrate=False)``) it is exact. Exactness for the defaults needs the
forecaster to let a driver reduce those statistics across blocks (the span / mode losses as
sums and counts over series, the PIT shares, series and cells) and to take the reduced
choices back: see the report of issue 14.

Examples
--------
>>> import numpy as np, pandas as pd, xarray as xr
>>> from predgov.forecast.nbglm import NBGLM
>>> t = pd.date_range("2023-01-02", periods=120, freq="D")
>>> rng = np.random.default_rng(0)
>>> da = xr.DataArray(rng.poisson(6.0, (120, 2, 2)), dims=("time", "district", "category"),
...                   coords={"time": t, "category": ["a", "b"]}, attrs={"freq": "D"})
>>> global_pooling(NBGLM(), da)[0].split(":")[0]
"level_window='auto'"
>>> model = NBGLM(level_window=28, level_by="shared", calibrate=False)
>>> blocked = forecast_blocked(model, da, 7, block_series=2)
>>> one = model.fit(da).predict(7)
>>> bool(np.allclose(blocked["mean"], one["mean"], rtol=1e-9))
True
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np
import xarray as xr

from predgov.data.cube import counts_of as as_counts
from predgov.forecast.base import Forecaster
from predgov.parallel import DEFAULT_BLOCK_SERIES, BlockTask, map_blocks, plan_blocks, run_block

__all__ = ["forecast_blocked", "global_pooling"]


def _keeps_whole(counts: xr.DataArray, coord: Any, dim: str | None) -> bool:
    """True when grouping by ``coord`` never crosses blocks cut along ``dim``."""
    if dim is None:
        return True
    if coord == dim:
        return True
    if coord in counts.coords:
        return tuple(counts[coord].dims) == (dim,)
    return False


def global_pooling(model: Forecaster, counts: xr.Dataset | xr.DataArray,
                   pool: str | None = "category") -> list[str]:  # fmt: skip
    """What ``model`` pools over series of different blocks (cut along ``pool``), in words;
    empty when a blocked fit equals the fit of the whole cube.

    Only :class:`~predgov.forecast.nbglm.NBGLM` pools across series among the forecasters;
    every other forecaster models each series alone.

    Examples
    --------
    >>> from predgov.forecast.nbglm import NBGLM
    >>> da = xr.DataArray(np.zeros((30, 2)), dims=("time", "category"))
    >>> global_pooling(NBGLM(level_window=28, level_by="shared", calibrate=False), da)
    []
    """
    from predgov.forecast.nbglm import NBGLM

    if not isinstance(model, NBGLM):
        return []
    da = as_counts(counts)
    dims = [d for d in da.dims if d != "time"]
    if not dims:
        return []
    dim = pool if pool in dims else max(dims, key=lambda d: da.sizes[d])
    out = []
    if model.level_window == "auto":
        out.append("level_window='auto': the level's span is chosen by the mean rolling-origin "
                   "error over all series")  # fmt: skip
    freq = str(da.attrs.get("freq", "D"))
    if model.level_by == "auto" and freq == "D":
        out.append("level_by='auto': day-type levels are kept or not by the mean error over "
                   "all series")  # fmt: skip
    if model.calibrate:
        out.append("calibrate=True: quantile levels recalibrated on PIT shares summed over all "
                   "series")  # fmt: skip
    disp = model.dispersion_pool
    if disp is not False and not (disp and _keeps_whole(da, disp, dim)):
        out.append(f"dispersion_pool={disp!r}: its groups span blocks cut along {dim!r}")
    fest = model.festival_pool
    if fest and fest in da.coords and not _keeps_whole(da, fest, dim):
        out.append(f"festival_pool={fest!r}: its groups span blocks cut along {dim!r}")
    return out


def _fit_predict(block: xr.DataArray, model: Forecaster, horizon: int, regressors: Any,
                 future: Any) -> xr.Dataset:  # fmt: skip
    fitted = copy.deepcopy(model).fit(block, regressors)
    return fitted.predict(horizon, future) if future is not None else fitted.predict(horizon)


def forecast_blocked(
    model: Forecaster,
    counts: xr.Dataset | xr.DataArray,
    horizon: int,
    regressors: Any = None,
    future_regressors: Any = None,
    *,
    pool: str | None = "category",
    block_series: int = DEFAULT_BLOCK_SERIES,
    backend: str = "serial",
    scheduler: Any = None,
    n_workers: int | None = -1,
    processes: bool = True,
    strict: bool = True,
) -> xr.Dataset:
    """``model.fit(counts, regressors).predict(horizon, future_regressors)`` over blocks.

    Parameters
    ----------
    model
        An unfitted forecaster (copied for each block; the argument is not changed).
    counts, horizon, regressors, future_regressors
        As for ``fit`` and ``predict`` (regressors are over time and go to every block).
    pool, block_series
        Blocks are whole values of the ``pool`` dim, up to ``block_series`` series each.
    backend, scheduler, n_workers, processes
        ``"serial"`` or ``"dask"`` (:func:`predgov.parallel.map_blocks`).
    strict
        Refuse a model that pools over series of different blocks (:func:`global_pooling`)
        with a ValueError naming what pools; False: fit it per block anyway (a warning says
        the result differs from one process; ``attrs["blocked_pooling"]`` names why).

    Returns
    -------
    xr.Dataset
        The forecast of the whole cube (series in the cube's order, ``n_fallback`` summed).
    """
    da = as_counts(counts)
    reasons = global_pooling(model, da, pool)
    if reasons and strict:
        raise ValueError(
            f"{type(model).__name__} pools over all series, so blocks would not give the "
            f"forecast of one process: {'; '.join(reasons)}. Fix these settings, or pass "
            "strict=False to accept per-block choices"
        )
    if reasons:
        warnings.warn("blocked forecast differs from one process: " + "; ".join(reasons),
                      UserWarning, stacklevel=2)  # fmt: skip
    dim, blocks = plan_blocks(da, pool, block_series)
    kwargs = dict(model=model, horizon=int(horizon), regressors=regressors,
                  future=future_regressors)  # fmt: skip
    tasks = [BlockTask(da if dim is None else da.isel({dim: idx}), _fit_predict, kwargs)
             for idx in blocks]  # fmt: skip
    outs = map_blocks(run_block, tasks, backend=backend, scheduler=scheduler,
                      n_workers=n_workers, processes=processes,
                      name="predgov-forecast")  # fmt: skip
    if dim is None:
        return outs[0]
    attrs = dict(outs[0].attrs)
    attrs["n_fallback"] = int(sum(int(o.attrs.get("n_fallback", 0)) for o in outs))
    if reasons:
        attrs["blocked_pooling"] = "; ".join(reasons)
    order = np.argsort(np.concatenate(blocks), kind="stable")
    bare = [o.drop_attrs(deep=False) for o in outs]
    ds = xr.concat(bare, dim=dim, data_vars="all", coords="different", compat="identical",
                   join="exact")  # fmt: skip
    ds = ds.isel({dim: order})
    for var in ds.data_vars:
        ds[var].attrs = dict(outs[0][var].attrs)
    ds.attrs = attrs
    return ds
