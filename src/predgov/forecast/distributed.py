"""Forecasts over blocks of series, one after the other or on a ``dask.distributed`` cluster.

:func:`forecast_blocked` fits a copy of a forecaster to each block of whole categories
(:func:`predgov.warn.distributed.plan_blocks`) and puts the forecasts back in the cube's order:
``forecast_blocked(model, counts, h)`` equals ``model.fit(counts).predict(h)`` whenever the
model pools nothing across blocks.

What the default forecaster (:class:`~predgov.forecast.nbglm.NBGLM`) pools, and how blocks
keep it exact:

* within a category (exact with blocks of whole categories): the Spring Festival effects
  (``festival_pool``: fitted on the category's total, a prior for its series) and the
  predictive dispersion's shrinkage (``dispersion_pool``: towards the category's);
* over *all* series, reduced across blocks (map, reduce, map again):

  - ``level_window="auto"`` and ``level_by="auto"``: the local level with the smallest mean
    rolling-origin error over all series. Every block fits its GLM once and reports, per
    candidate level, the sum of its series' losses and their number
    (:meth:`~predgov.forecast.level.LocalLevelMixin.level_stats`); the sums over blocks give
    the whole cube's means, the choice (:func:`~predgov.forecast.level.pooled_level_choice`:
    spans, then day types at the best span, a second reduce) goes back to every block, which
    redoes only its level and dispersion
    (:meth:`~predgov.forecast.level.LocalLevelMixin.set_pooled`);
  - ``calibrate=True``: the PIT shares, series and cells of the chosen level's forecasts are
    summed over blocks, and every block recalibrates its quantile levels on the sums;
* not reducible: ``dispersion_pool=None`` (one group of all series) and pooling groups that
  span blocks (:func:`global_pooling` names them; ``strict=True`` refuses them).

The block models stay where they were fitted (on the workers with dask; a model holds its
block's counts, so it is about as large as the block) until they predict; only candidate
statistics, choices and the forecasts travel. The serial backend keeps every block's model
in memory for the reduce (about the cube) when the model reduces anything, and one block at a
time otherwise. Sums over blocks add in another order than one process' sums: the forecasts
equal one process' to rounding (rtol 1e-9), the choices and whole-number quantiles exactly
unless two candidates tie to the last bits.

Examples
--------
>>> import numpy as np, pandas as pd, xarray as xr
>>> from predgov.forecast.nbglm import NBGLM
>>> t = pd.date_range("2023-01-02", periods=120, freq="D")
>>> rng = np.random.default_rng(0)
>>> da = xr.DataArray(rng.poisson(6.0, (120, 2, 2)), dims=("time", "district", "category"),
...                   coords={"time": t, "category": ["a", "b"]}, attrs={"freq": "D"})
>>> global_pooling(NBGLM(), da)
[]
>>> blocked = forecast_blocked(NBGLM(), da, 7, block_series=2)
>>> one = NBGLM().fit(da).predict(7)
>>> bool(np.allclose(blocked["mean"], one["mean"], rtol=1e-9))
True
>>> bool((blocked["quantiles"] == one["quantiles"]).all())
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
from predgov.forecast.level import pooled_level_choice, sum_stats
from predgov.parallel import (
    BACKENDS,
    DEFAULT_BLOCK_SERIES,
    BlockTask,
    dask_client,
    map_blocks,
    plan_blocks,
    run_block,
)

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
    """What ``model`` pools over series of different blocks (cut along ``pool``) that
    :func:`forecast_blocked` cannot reduce, in words; empty when a blocked forecast equals the
    forecast of the whole cube.

    Only :class:`~predgov.forecast.nbglm.NBGLM` pools across series among the forecasters;
    every other forecaster models each series alone.

    Examples
    --------
    >>> from predgov.forecast.nbglm import NBGLM
    >>> da = xr.DataArray(np.zeros((30, 2)), dims=("time", "category"))
    >>> global_pooling(NBGLM(), da)  # level, day types, recalibration: reduced over blocks
    []
    >>> global_pooling(NBGLM(dispersion_pool=None), da)[0].split(":")[0]
    'dispersion_pool=None'
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
    disp = model.dispersion_pool
    if disp is not False and not (disp and _keeps_whole(da, disp, dim)):
        out.append(f"dispersion_pool={disp!r}: its groups span blocks cut along {dim!r}")
    fest = model.festival_pool
    if fest and fest in da.coords and not _keeps_whole(da, fest, dim):
        out.append(f"festival_pool={fest!r}: its groups span blocks cut along {dim!r}")
    return out


def _reduces(model: Forecaster) -> bool:
    """True when ``model`` makes choices over all series that blocks must reduce (the
    default NBGLM: the level's span and day types among candidates, the recalibration)."""
    from predgov.forecast.nbglm import NBGLM

    if not isinstance(model, NBGLM):
        return False
    lw, dw = model.level_window, model.daytype_window
    several = isinstance(lw, str) or np.ndim(lw) == 1
    several |= model.level_by == "auto" or isinstance(dw, str) or np.ndim(dw) == 1
    return bool(model.calibrate or several)


def _fit_block(block: xr.DataArray, model: Forecaster, regressors: Any) -> Forecaster:
    """A copy of ``model`` fitted to ``block``, its level left to :meth:`set_pooled` (the
    block's own choice would be thrown away)."""
    fitted = copy.deepcopy(model)
    fitted._defer_pooled = True
    return fitted.fit(block, regressors)


def _candidates(model: Any, after: Any) -> list:
    return model.level_candidates(after)


def _level_stats(model: Any, cands: list) -> dict:
    return model.level_stats(cands)


def _set_level(model: Any, level: tuple[int, str]) -> Any:
    return model.set_pooled(level=level)  # the same model, changed (idempotent)


def _pit_stats(model: Any) -> Any:
    return model.pooled_stats_["pit"]


def _predict_block(model: Any, pit: Any, horizon: int, future: Any) -> xr.Dataset:
    if pit is not None:
        model.set_pooled(pit=pit)
    return model.predict(horizon, future) if future is not None else model.predict(horizon)


class _SerialBlocks:
    """Fitted block models in this process."""

    def __init__(self, tasks: list[BlockTask]) -> None:
        self.models = [run_block(t) for t in tasks]

    def call(self, fn: Any, *args: Any) -> list[Any]:
        return [fn(m, *args) for m in self.models]

    def update(self, fn: Any, *args: Any) -> None:
        self.models = self.call(fn, *args)


class _DaskBlocks:
    """Fitted block models kept on the workers of a dask.distributed cluster (futures); only
    arguments and results travel."""

    def __init__(self, client: Any, tasks: list[BlockTask]) -> None:
        import os

        self.client = client
        self.token = os.urandom(4).hex()
        self.step = 0
        # the blocks go to the workers as data (spread over them), not inside the task graph
        self.models = self._submit(run_block, client.scatter(tasks, hash=False))

    def _submit(self, fn: Any, items: list[Any], *args: Any) -> list[Any]:
        self.step += 1
        name = getattr(fn, "__name__", "task").strip("_")
        return [self.client.submit(fn, item, *args, pure=False,
                                   key=f"predgov-forecast-{name}-{self.step}-{i}-{self.token}")
                for i, item in enumerate(items)]  # fmt: skip

    def call(self, fn: Any, *args: Any) -> list[Any]:
        return list(self.client.gather(self._submit(fn, self.models, *args)))

    def update(self, fn: Any, *args: Any) -> None:
        self.models = self._submit(fn, self.models, *args)


def _pooled_rounds(blocks: Any, model: Any, horizon: int, future: Any) -> list[xr.Dataset]:
    """Choose the level on statistics summed over blocks, set it on every block, recalibrate
    on PIT statistics summed over blocks, predict."""
    first = blocks.call(_candidates, None)[0]
    cache: dict = {}

    def candidates_of(after: Any) -> list:
        return first if after is None else blocks.call(_candidates, after)[0]

    def stats_of(cands: list) -> dict:
        todo = [c for c in cands if c not in cache]
        if todo:
            cache.update(sum_stats(blocks.call(_level_stats, todo)))
        return {c: cache[c] for c in cands}

    level = pooled_level_choice(candidates_of, stats_of)
    blocks.update(_set_level, level)
    pit = sum_stats(blocks.call(_pit_stats)) if model.calibrate else None
    return blocks.call(_predict_block, pit, horizon, future)


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
        Refuse a model that pools over series of different blocks in a way blocks cannot
        reduce (:func:`global_pooling`) with a ValueError naming what pools; False: fit it per
        block anyway (a warning says the result differs from one process;
        ``attrs["blocked_pooling"]`` names why). What the default forecaster chooses on all
        series (its local level, its recalibration) is reduced over blocks: see the module
        notes.

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
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    dim, blocks = plan_blocks(da, pool, block_series)
    parts = [da if dim is None else da.isel({dim: idx}) for idx in blocks]
    if _reduces(model):
        fits = [BlockTask(b, _fit_block, dict(model=model, regressors=regressors))
                for b in parts]  # fmt: skip
        if backend == "serial":
            outs = _pooled_rounds(_SerialBlocks(fits), model, int(horizon), future_regressors)
        else:
            with dask_client(scheduler, n_workers, processes=processes) as client:
                outs = _pooled_rounds(_DaskBlocks(client, fits), model, int(horizon),
                                      future_regressors)  # fmt: skip
    else:  # nothing to reduce: fit and predict block by block
        kwargs = dict(model=model, horizon=int(horizon), regressors=regressors,
                      future=future_regressors)  # fmt: skip
        tasks = [BlockTask(b, _fit_predict, kwargs) for b in parts]
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
