"""Running work beyond one process: the one ``dask.distributed`` helper, and blocks of series.

Every stage that scales out uses this module, so a scheduler address from the config means the
same thing everywhere:

* :func:`dask_client` (a context manager): a client for one job. ``scheduler`` is None (a
  ``LocalCluster`` of ``n_workers`` single-threaded workers, closed afterwards), an address
  such as ``"tcp://10.0.0.5:8786"`` (a client to that scheduler, closed afterwards; the
  cluster keeps running) or a ``distributed.Client`` (used as it is, left open).
* :func:`shared_client`: a client kept open and reused by later calls with the same
  arguments (Prophet fits many models in several rounds), closed by
  :func:`close_dask_clients` (also at interpreter exit).
* :func:`dask_map`: ``[fn(item) for item in items]`` on a cluster, results in input order.

The clients are made with ``set_as_default=False``: predgov passes its client explicitly, and
a client that set itself as dask's default scheduler would leave that setting behind when
clients are closed out of order (xarray's ``to_netcdf`` then asks for a closed cluster).
* :func:`series_blocks`: which series go together in a block, so that blocks never split a
  pooling group (all series of one category in one block), and :func:`map_blocks`, the
  serial / dask loop over blocks that :mod:`predgov.warn.distributed` and
  :mod:`predgov.forecast.distributed` share.

Examples
--------
>>> series_blocks(["a", "b", "a", "c", "b"], block_series=3)
[array([0, 2]), array([1, 4, 3])]
>>> dask_map(abs, [-1, 2, -3], scheduler=None, n_workers=1, processes=False)
[1, 2, 3]
"""

from __future__ import annotations

import atexit
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from predgov.data.cube import counts_of

__all__ = [
    "BACKENDS",
    "DEFAULT_BLOCK_SERIES",
    "BlockTask",
    "close_dask_clients",
    "dask_client",
    "dask_map",
    "map_blocks",
    "n_local_workers",
    "plan_blocks",
    "run_block",
    "series_blocks",
    "shared_client",
]

#: Where blocks run: one after the other in this process, or on a dask.distributed cluster.
BACKENDS = ("serial", "dask")

#: Default series per block (:func:`plan_blocks`): 2,000 daily series of 3 years are ~18 MB
#: per float array; the warn calendar baseline keeps about twenty such arrays while it runs.
DEFAULT_BLOCK_SERIES = 2000

_CLIENTS: dict[Any, Any] = {}


def n_local_workers(n_workers: int | None) -> int:
    """Workers of a local cluster: ``n_workers``, or every core for None / -1.

    Examples
    --------
    >>> n_local_workers(2)
    2
    >>> n_local_workers(-1) == (os.cpu_count() or 1)
    True
    """
    if n_workers is None or int(n_workers) == -1:
        return os.cpu_count() or 1
    if int(n_workers) < 1:
        raise ValueError(f"n_workers must be >= 1 or -1 (all cores), got {n_workers}")
    return int(n_workers)


def _local_cluster(n_workers: int | None, processes: bool) -> Any:
    """A LocalCluster of single-threaded workers that keep glibc's default allocator settings.

    dask's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` in the workers it spawns, which also
    fixes glibc's mmap threshold: every temporary array over 128 kB is then mapped and unmapped
    afresh, and the NB-GLM fit ran 2.1x slower in a worker process than in this one (2,500
    daily series of 3 years: 4.2 s against 2.0 s, one worker, nothing else running on it).
    """
    import dask
    from distributed import LocalCluster

    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {})
    env.pop("MALLOC_TRIM_THRESHOLD_", None)
    with dask.config.set({"distributed.nanny.pre-spawn-environ": env}):
        return LocalCluster(n_workers=n_local_workers(n_workers), threads_per_worker=1,
                            processes=processes, dashboard_address=":0",
                            silence_logs=logging.ERROR)  # fmt: skip


def _check_scheduler(scheduler: Any) -> None:
    from distributed import Client

    if scheduler is not None and not isinstance(scheduler, (str, Client)):
        raise TypeError(f"scheduler must be None, an address or a distributed.Client, "
                        f"not {type(scheduler).__name__}")  # fmt: skip


@contextmanager
def dask_client(
    scheduler: Any = None, n_workers: int | None = -1, *, processes: bool = True
) -> Iterator[Any]:
    """A ``distributed.Client`` for one job; what this call opened is closed afterwards.

    Parameters
    ----------
    scheduler
        None: a ``LocalCluster`` (``n_workers`` workers of one thread each); a scheduler
        address (str); or a running ``distributed.Client`` (not closed).
    n_workers
        Workers of the local cluster (-1: every core).
    processes
        Local workers as processes (True) or threads of this process (False: cheap, for tests).

    Examples
    --------
    >>> with dask_client(None, 1, processes=False) as client:
    ...     client.submit(sum, [1, 2]).result()
    3
    """
    from distributed import Client

    _check_scheduler(scheduler)
    if isinstance(scheduler, Client):
        yield scheduler
        return
    owned: list[Any] = []
    try:
        if scheduler is None:
            cluster = _local_cluster(n_workers, processes)
            owned.append(cluster)
            client = Client(cluster, set_as_default=False)
        else:
            client = Client(scheduler, set_as_default=False)
        owned.insert(0, client)
        yield client
    finally:
        for obj in owned:
            obj.close()


def shared_client(
    scheduler: str | None = None, n_workers: int | None = -1, *, processes: bool = True
) -> Any:
    """A client kept open and reused by later calls with the same arguments (closed by
    :func:`close_dask_clients`, which also runs at interpreter exit).

    Examples
    --------
    >>> c1 = shared_client(None, 1, processes=False)
    >>> c1 is shared_client(None, 1, processes=False)
    True
    >>> close_dask_clients()
    """
    from distributed import Client

    _check_scheduler(scheduler)
    key = scheduler or ("local", n_local_workers(n_workers), bool(processes))
    client = _CLIENTS.get(key)
    if client is not None and client.status == "running":
        return client
    client = (Client(scheduler, set_as_default=False) if scheduler
              else Client(_local_cluster(n_workers, processes), set_as_default=False))
    _CLIENTS[key] = client
    return client


@atexit.register
def close_dask_clients() -> None:
    """Close the clients (and local clusters) :func:`shared_client` opened."""
    for key, client in list(_CLIENTS.items()):
        try:
            cluster = client.cluster
            client.close()
            if cluster is not None and not isinstance(key, str):
                cluster.close()
        except Exception:  # shutting down anyway
            pass
        _CLIENTS.pop(key, None)


def dask_map(
    fn: Callable[[Any], Any],
    items: Sequence[Any],
    *,
    scheduler: Any = None,
    n_workers: int | None = -1,
    keys: Sequence[str] | None = None,
    processes: bool = True,
) -> list[Any]:
    """``[fn(item) for item in items]`` on a dask.distributed cluster, in input order.

    ``scheduler``, ``n_workers`` and ``processes`` as for :func:`dask_client`; ``keys`` names
    the tasks (unique; default: dask's).

    Examples
    --------
    >>> dask_map(len, ["ab", "c"], n_workers=1, processes=False)
    [2, 1]
    """
    items = list(items)
    if not items:
        return []
    with dask_client(scheduler, n_workers, processes=processes) as client:
        extra = {} if keys is None else {"key": list(keys)}
        futures = client.map(fn, items, pure=False, **extra)
        return list(client.gather(futures))


def series_blocks(groups: Sequence[Any] | np.ndarray, block_series: int) -> list[np.ndarray]:
    """Series indices per block: whole groups packed into blocks of at most ``block_series``
    series, in order of first appearance (a group larger than that is a block of its own).

    A block never splits a group, so everything a model pools within a group (a category's
    calendar shape, its dispersion prior) sees the same series as in one process.

    Examples
    --------
    >>> series_blocks([0, 0, 1, 1, 1, 2], block_series=2)
    [array([0, 1]), array([2, 3, 4]), array([5])]
    """
    if int(block_series) < 1:
        raise ValueError(f"block_series must be >= 1, got {block_series}")
    labels = np.asarray(groups).ravel()
    _, first, gid = np.unique(labels, return_index=True, return_inverse=True)
    blocks: list[np.ndarray] = []
    current: list[np.ndarray] = []
    n = 0
    for g in np.argsort(first, kind="stable"):
        members = np.flatnonzero(gid == g)
        if current and n + members.size > block_series:
            blocks.append(np.concatenate(current))
            current, n = [], 0
        current.append(members)
        n += members.size
    if current:
        blocks.append(np.concatenate(current))
    return blocks


def map_blocks(
    fn: Callable[[Any], Any],
    blocks: Sequence[Any],
    *,
    backend: str = "serial",
    scheduler: Any = None,
    n_workers: int | None = -1,
    processes: bool = True,
    name: str = "predgov-block",
) -> list[Any]:
    """``fn`` on every block, one after the other (``backend="serial"``) or on a
    dask.distributed cluster (``"dask"``, see :func:`dask_client`); results in block order.

    Examples
    --------
    >>> map_blocks(sum, [[1, 2], [3]], backend="serial")
    [3, 3]
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "serial":
        return [fn(b) for b in blocks]
    keys = [f"{name}-{i}-{os.urandom(4).hex()}" for i in range(len(blocks))]
    return dask_map(fn, blocks, scheduler=scheduler, n_workers=n_workers, keys=keys,
                    processes=processes)  # fmt: skip


def _series_dims(da: xr.DataArray) -> list[str]:
    return [str(d) for d in da.dims if d != "time"]


def plan_blocks(
    counts: xr.Dataset | xr.DataArray,
    pool: str | None = "category",
    block_series: int = DEFAULT_BLOCK_SERIES,
) -> tuple[str | None, list[np.ndarray]]:
    """The dim the cube is cut along and the positions along it of every block.

    With ``pool`` a dim of the counts, blocks are whole values of it (all series of a
    category), packed up to ``block_series`` series (a category with more series is a block of
    its own). Otherwise the cut is along the largest series dim. A cube of one series is one
    block (dim None).

    Examples
    --------
    >>> da = xr.DataArray(np.zeros((5, 3, 4)), dims=("time", "grid", "category"))
    >>> plan_blocks(da, "category", 6)
    ('category', [array([0, 1]), array([2, 3])])
    >>> plan_blocks(da, None, 8)
    ('category', [array([0, 1]), array([2, 3])])
    """
    da = counts_of(counts)
    dims = _series_dims(da)
    if not dims:
        return None, [np.arange(1)]
    dim = pool if pool in dims else max(dims, key=lambda d: da.sizes[d])
    per = int(np.prod([da.sizes[d] for d in dims if d != dim], dtype=np.int64))
    n = int(da.sizes[dim])
    labels = np.repeat(np.arange(n), per)
    blocks = series_blocks(labels, max(int(block_series), 1))
    return dim, [np.unique(b // per) for b in blocks]


@dataclass(frozen=True)
class BlockTask:
    """One block's work, as shipped to a worker: the block of counts (loaded there), the
    function run on it and its keyword arguments."""

    counts: xr.DataArray
    func: Callable[..., Any]
    kwargs: dict[str, Any]

    def __call__(self) -> Any:
        return self.func(self.counts.load(), **self.kwargs)


def run_block(task: BlockTask) -> Any:
    return task()
