"""The default forecaster over blocks of series on dask.distributed, against one process.

The synthetic grid-level city of ``benchmarks/warn_scale.py`` (``--series`` daily series of
``--days`` days, 10 categories, seeded) is forecast ``--horizon`` days ahead by the default
:class:`predgov.forecast.nbglm.NBGLM` (its local level's span and day types chosen, and its
quantile levels recalibrated, on all series: blocks reduce these choices' statistics, see
:mod:`predgov.forecast.distributed`), three ways:

1. one process: ``model.fit(counts).predict(horizon)`` (the baseline);
2. :func:`predgov.forecast.distributed.forecast_blocked`, blocks of whole categories, serially;
3. the same on a dask.distributed LocalCluster of ``--workers`` workers.

It prints the times, the largest relative difference of the blocked forecasts from the
one-process ones (they must be equal to rounding) and the peak resident memory of this
process (``resource.getrusage``; the serial blocked run keeps every block's model, about
the cube, for the reduce), and the share of the quantiles that differ (must be 0).

Run::

    nice -n 10 .venv/bin/python benchmarks/forecast_scale.py --series 25000
    .venv/bin/python benchmarks/forecast_scale.py --series 200 --days 400     # seconds

The last line is ``RESULT one_process_seconds=... blocked_serial_seconds=...
blocked_dask_seconds=... dask_speedup=... max_rel_diff=... quantiles_differ=...
peak_gb=...``.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402


def _warn_scale() -> Any:
    """benchmarks/warn_scale.py as a module (its synthetic city)."""
    path = Path(__file__).resolve().parent / "warn_scale.py"
    spec = importlib.util.spec_from_file_location("warn_scale", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.abs(a - b) / np.maximum(np.abs(a), 1e-12)
    return float(np.nanmax(d)) if d.size else 0.0


def run(series: int, days: int, horizon: int = 28, seed: int = 0, workers: int = 2,
        block_series: int = 2500, out: Any = sys.stdout) -> dict[str, float]:  # fmt: skip
    """The benchmark; prints a report and returns its numbers."""
    from predgov.forecast.distributed import forecast_blocked
    from predgov.forecast.nbglm import NBGLM

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    cube = _warn_scale().city_cube(series, days, seed)
    model = NBGLM()
    say(f"cube: {series:,} series x {days} days; NBGLM() (defaults), horizon {horizon}; "
        f"blocks of <= {block_series} series")  # fmt: skip
    t0 = time.perf_counter()
    fitted = NBGLM().fit(cube)
    one = fitted.predict(horizon)
    one_s = time.perf_counter() - t0
    say(f"1. one process: {one_s:.1f} s (level span {fitted.level_span_}, "
        f"{fitted.path_mode_}; recalibrated {fitted.recalibrated_})")  # fmt: skip
    del fitted
    t0 = time.perf_counter()
    serial = forecast_blocked(model, cube, horizon, block_series=block_series)
    serial_s = time.perf_counter() - t0
    say(f"2. blocked, serial: {serial_s:.1f} s")
    results = [serial]
    dask_s = float("nan")
    if workers > 0:  # 0: no cluster (the smoke test)
        t0 = time.perf_counter()
        results.append(forecast_blocked(model, cube, horizon, block_series=block_series,
                                        backend="dask", n_workers=workers))  # fmt: skip
        dask_s = time.perf_counter() - t0
        say(f"3. blocked, dask LocalCluster ({workers} workers, start-up included): "
            f"{dask_s:.1f} s")  # fmt: skip
    diff = max(_rel_diff(one[v].values, res[v].values)
               for res in results for v in ("mean", "quantiles"))  # fmt: skip
    q_diff = max(float((one["quantiles"].values != res["quantiles"].values).mean())
                 for res in results)  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    say(f"blocked forecasts vs one process: max relative difference {diff:.2e}, share of "
        f"quantiles that differ {q_diff:.2e}; dask "
        f"{one_s / dask_s:.2f}x the one-process speed; peak memory {peak:.2f} GB")  # fmt: skip
    say(f"RESULT one_process_seconds={one_s:.1f} blocked_serial_seconds={serial_s:.1f} "
        f"blocked_dask_seconds={dask_s:.1f} dask_speedup={one_s / dask_s:.2f} "
        f"max_rel_diff={diff:.1e} quantiles_differ={q_diff:.1e} peak_gb={peak:.2f}")  # fmt: skip
    return {"one_process_seconds": one_s, "blocked_serial_seconds": serial_s,
            "blocked_dask_seconds": dask_s, "max_rel_diff": diff, "quantiles_differ": q_diff,
            "peak_gb": peak}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=25_000)
    parser.add_argument("--days", type=int, default=1096)
    parser.add_argument("--horizon", type=int, default=28)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="0: no dask run")
    parser.add_argument("--block-series", type=int, default=2500)
    args = parser.parse_args(argv)
    return run(args.series, args.days, args.horizon, args.seed, args.workers,
               args.block_series)  # fmt: skip


if __name__ == "__main__":
    main()
