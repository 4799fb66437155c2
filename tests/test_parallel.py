"""predgov.parallel: the one dask helper and the blocks of series."""

from __future__ import annotations

import numpy as np
import pytest

from predgov import parallel
from predgov.parallel import (
    close_dask_clients,
    dask_client,
    dask_map,
    map_blocks,
    series_blocks,
    shared_client,
)


def test_series_blocks_never_split_a_group():
    groups = np.array(["a", "b", "a", "c", "b", "c", "c", "d"])
    blocks = series_blocks(groups, block_series=3)
    assert sorted(np.concatenate(blocks).tolist()) == list(range(8))
    for b in blocks:
        for g in set(groups[b]):
            assert set(np.flatnonzero(groups == g)) <= set(b.tolist())
    assert [b.tolist() for b in blocks] == [[0, 2], [1, 4], [3, 5, 6], [7]]
    # a group larger than a block is a block of its own
    assert [b.tolist() for b in series_blocks([0, 0, 0, 1], 2)] == [[0, 1, 2], [3]]
    with pytest.raises(ValueError, match="block_series"):
        series_blocks([0], 0)


def _square(x: int) -> int:
    return x * x


def test_dask_map_keeps_order_and_names_tasks():
    assert dask_map(_square, [3, 1, 2], n_workers=2, processes=False, keys=["x", "y", "z"]) == [
        9, 1, 4]  # fmt: skip
    assert dask_map(_square, []) == []


def test_map_blocks_serial_equals_dask():
    blocks = [np.arange(3), np.arange(5)]
    serial = map_blocks(np.sum, blocks)
    on_dask = map_blocks(np.sum, blocks, backend="dask", n_workers=2, processes=False)
    assert serial == on_dask == [3, 10]
    with pytest.raises(ValueError, match="backend"):
        map_blocks(np.sum, blocks, backend="ray")


def test_client_given_is_not_closed_and_address_is_used():
    with dask_client(None, 1, processes=False) as client:
        with dask_client(client) as same:
            assert same is client
        assert client.status == "running"
        address = client.scheduler.address
        assert dask_map(_square, [4], scheduler=address) == [16]
        assert client.status == "running"
    assert client.status == "closed"
    with pytest.raises(TypeError, match="scheduler must be"):
        with dask_client(42):
            pass


def test_shared_client_is_reused_until_closed():
    a = shared_client(None, 1, processes=False)
    assert shared_client(None, 1, processes=False) is a
    close_dask_clients()
    assert a.status == "closed" and not parallel._CLIENTS


def test_n_local_workers():
    assert parallel.n_local_workers(3) == 3
    with pytest.raises(ValueError, match="n_workers"):
        parallel.n_local_workers(0)


def test_clients_leave_the_global_dask_scheduler_alone(tmp_path):
    # predgov's clients are private: opening and closing them in any order (a shared client
    # outliving a per-job one) must not change dask's default scheduler, which xarray's
    # to_netcdf consults (it failed with "no Client active" after such a sequence).
    import dask
    import xarray as xr

    from predgov.parallel import close_dask_clients, dask_client, shared_client

    before = dask.config.get("scheduler", None)
    with dask_client(None, 1, processes=False):
        shared = shared_client(None, 1, processes=False)
        assert dask.config.get("scheduler", None) == before
    assert shared.status == "running"
    close_dask_clients()
    assert dask.config.get("scheduler", None) == before
    xr.Dataset({"x": ("t", [1, 2])}).to_netcdf(tmp_path / "x.nc")  # no distributed lookup
