"""Early warning on a grid-level city: score the newest day of 25,000 series (issue 14).

A synthetic grid-level city (``--series`` daily series, default 25,000 = 2,500 grid cells x 10
categories, ``--days`` days, default 3 years, seeded): negative-binomial counts whose mean is
a per-series level (log-uniform 0.3-60 a day) times its category's weekly and yearly cycle
(random phase per category), with an NB size per category from 1 to Poisson, and outbreaks
on the newest day in 1 % of the series. The default daily detector (NB CUSUM on the calendar
baseline, pooled by category) is run three ways, in one process or on a ``dask.distributed``
LocalCluster (``--backend dask --workers N``), in blocks of whole categories
(``--block-series``):

1. :meth:`predgov.warn.monitor.Monitor.fit` on every day but the newest: baselines, thresholds
   and CUSUM states of all series for the newest day (timed: ``fit_seconds``);
2. :meth:`~predgov.warn.monitor.Monitor.score` of the newest day for all series (timed:
   ``warn_day_seconds``, best of ``--repeat``);
3. the baseline it is compared with: ``detect`` rerun on the whole cube including the newest
   day (:func:`predgov.warn.distributed.detect_blocked`, same blocks and cluster; timed:
   ``detect_seconds``), keeping its newest day, which must equal the monitor's (printed: the
   largest difference and the alarm agreement);
4. :meth:`~predgov.warn.monitor.Monitor.advance` with the newest day: the state for the day
   after, without rerunning the past (timed: ``advance_seconds``), checked against
   :meth:`~predgov.warn.monitor.Monitor.fit` on the whole cube (printed: the largest
   difference of the state, ``advance_max_diff``; skipped with ``--no-check``); then advanced
   through the following week on simulated days (each day's counts drawn from its expected
   value, seeded) to time the weekly GLM refit day (``advance_refit_seconds``, the slowest
   day of the week) and the other days (``advance_plain_seconds``, their median).

Peak memory: the largest resident set of this process (``resource.getrusage``) plus, with
dask, the largest resident set of each worker, summed (an upper bound on the total at any
moment).

Run::

    nice -n 10 .venv/bin/python benchmarks/warn_scale.py                     # full size
    .venv/bin/python benchmarks/warn_scale.py --series 300 --days 150       # seconds

The last line is ``RESULT warn_day_seconds=... detect_seconds=... peak_gb=...
day_vs_full_ratio=... advance_seconds=... advance_refit_seconds=... advance_plain_seconds=...
advance_vs_fit_ratio=...`` (``day_vs_full_ratio`` = warn_day_seconds / detect_seconds,
``advance_vs_fit_ratio`` = advance_refit_seconds / fit_seconds: the slowest day's advance
against the full fit it replaces).
"""

from __future__ import annotations

import os

# One BLAS thread per process: blocks are small batched solves (threads only add overhead),
# and the parallelism is across blocks. Set before numpy.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from contextlib import nullcontext  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import xarray as xr  # noqa: E402

N_CATEGORIES = 10
#: NB size of each category (1e8: Poisson).
CATEGORY_SIZE = (1.0, 2.0, 3.0, 5.0, 8.0, 10.0, 20.0, 50.0, 1e8, 1e8)


def city_cube(n_series: int, days: int, seed: int = 0) -> xr.DataArray:
    """Counts ``(time, grid, category)`` of a synthetic grid-level city (see the module).

    Examples
    --------
    >>> da = city_cube(20, 30, seed=1)
    >>> da.dims, da.shape, da.attrs["freq"]
    (('time', 'grid', 'category'), (30, 2, 10), 'D')
    """
    if n_series % N_CATEGORIES or n_series < N_CATEGORIES:
        raise ValueError(f"--series must be a positive multiple of {N_CATEGORIES}")
    rng = np.random.default_rng(seed)
    n_grid = n_series // N_CATEGORIES
    time_ = pd.date_range("2022-01-03", periods=days, freq="D")
    d = np.arange(days, dtype=np.float64)[:, None]
    weekly = rng.uniform(0.05, 0.4, N_CATEGORIES)
    yearly = rng.uniform(0.1, 0.6, N_CATEGORIES)
    phase_w = rng.uniform(0, 2 * np.pi, N_CATEGORIES)
    phase_y = rng.uniform(0, 2 * np.pi, N_CATEGORIES)
    shape = np.exp(weekly * np.cos(2 * np.pi * d / 7 + phase_w)
                   + yearly * np.cos(2 * np.pi * d / 365.25 + phase_y))  # fmt: skip
    level = np.exp(rng.uniform(np.log(0.3), np.log(60.0), (n_grid, N_CATEGORIES)))
    size = np.asarray(CATEGORY_SIZE)[None, None, :]
    counts = np.empty((days, n_grid, N_CATEGORIES), dtype=np.int64)
    for i in range(0, days, 64):  # by time blocks: the float temporaries stay small
        mu = shape[i : i + 64, None, :] * level[None]
        counts[i : i + 64] = rng.negative_binomial(size, size / (size + mu))
    hit = rng.random((n_grid, N_CATEGORIES)) < 0.01  # outbreaks on the newest day
    sd = np.sqrt(mu[-1] + mu[-1] ** 2 / size[0])
    counts[-1] += np.where(hit, np.ceil(5 * sd + 3).astype(np.int64), 0)
    return xr.DataArray(
        counts, dims=("time", "grid", "category"),
        coords={"time": time_, "grid": [f"g{i:05d}" for i in range(n_grid)],
                "category": [f"c{j}" for j in range(N_CATEGORIES)]},
        attrs={"freq": "D", "units": "requests"}, name="counts",
    )  # fmt: skip


def _peak_gb(client: Any = None) -> float:
    """Largest resident set of this process (+ each dask worker's, summed), in GB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB on Linux
    if client is None:
        return own

    def worker_peak() -> float:
        import resource as r

        return r.getrusage(r.RUSAGE_SELF).ru_maxrss / 1e6

    return own + float(sum(client.run(worker_peak).values()))


def run(
    series: int, days: int, seed: int = 0, backend: str = "serial", workers: int = 2,
    block_series: int = 2500, repeat: int = 3, out: Any = sys.stdout, check: bool = True,
) -> dict[str, float]:  # fmt: skip
    """The benchmark; prints a report and returns its numbers."""
    from predgov.parallel import dask_client
    from predgov.warn.distributed import detect_blocked
    from predgov.warn.monitor import Monitor

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    t0 = time.perf_counter()
    cube = city_cube(series, days, seed)
    say(f"cube: {series:,} series x {days} days ({cube.nbytes / 1e9:.2f} GB int64), "
        f"generated in {time.perf_counter() - t0:.1f} s; backend={backend}"
        + (f" ({workers} workers)" if backend == "dask" else "")
        + f", blocks of <= {block_series} series (whole categories)")  # fmt: skip
    past, newest = cube.isel(time=slice(0, -1)), cube.isel(time=-1)
    ctx = dask_client(None, workers) if backend == "dask" else nullcontext(None)
    with ctx as client:
        opts = dict(block_series=block_series, backend=backend, scheduler=client)
        t0 = time.perf_counter()
        mon = Monitor(**opts).fit(past)
        fit_s = time.perf_counter() - t0
        say(f"1. Monitor.fit (baselines + CUSUM state for {str(mon.next_time_)[:10]}): "
            f"{fit_s:.1f} s")  # fmt: skip
        times = []
        for _ in range(max(1, repeat)):
            t0 = time.perf_counter()
            day = mon.score(newest)
            times.append(time.perf_counter() - t0)
        day_s = min(times)
        n_alarm = int(day["alarm"].sum())
        say(f"2. Monitor.score, newest day, all series: {day_s:.4f} s (best of {len(times)}); "
            f"{n_alarm} alarms")  # fmt: skip
        t0 = time.perf_counter()
        parts = detect_blocked(cube, "default", reduce=lambda ds: ds.isel(time=[-1]), **opts)
        full = xr.concat(parts, dim="category").sel(category=cube["category"])
        detect_s = time.perf_counter() - t0
        diff = 0.0
        for var in ("score", "threshold", "expected", "upper"):
            a = full[var].transpose(*day[var].dims).values
            b = day[var].values
            both = np.isfinite(a) & np.isfinite(b)
            if (np.isfinite(a) != np.isfinite(b)).any():
                diff = float("inf")
            elif both.any():
                diff = max(diff, float(np.max(np.abs(a[both] - b[both]))))
        ref_alarm = full["alarm"].transpose(*day["alarm"].dims).values
        agree = bool((ref_alarm == day["alarm"].values).all())
        say(f"3. baseline: detect rerun on the whole cube (blocked, same cluster) to score the "
            f"newest day: {detect_s:.1f} s; the monitor's day equals it: max |diff| {diff:.2e}, "
            f"alarms identical: {agree}")  # fmt: skip
        adv = _advance(mon, cube, newest, opts, check, seed, say)
        peak = _peak_gb(client)
    ratio = day_s / detect_s
    say(f"newest day: monitor {day_s:.4f} s vs rerunning detect {detect_s:.1f} s "
        f"({detect_s / day_s:,.0f}x faster); peak memory {peak:.2f} GB")  # fmt: skip
    adv_ratio = adv["advance_refit_seconds"] / fit_s
    say(f"advance: {adv['advance_seconds']:.2f} s for the day after the newest, "
        f"{adv['advance_plain_seconds']:.2f} s a plain day, {adv['advance_refit_seconds']:.2f} s "
        f"the refit day, vs Monitor.fit {fit_s:.1f} s (refit day / fit = {adv_ratio:.3f})")
    say(f"RESULT warn_day_seconds={day_s:.4f} detect_seconds={detect_s:.1f} peak_gb={peak:.2f} "
        f"day_vs_full_ratio={ratio:.2e} advance_seconds={adv['advance_seconds']:.3f} "
        f"advance_refit_seconds={adv['advance_refit_seconds']:.3f} "
        f"advance_plain_seconds={adv['advance_plain_seconds']:.3f} "
        f"advance_vs_fit_ratio={adv_ratio:.2e}")  # fmt: skip
    return {"warn_day_seconds": day_s, "detect_seconds": detect_s, "fit_seconds": fit_s,
            "peak_gb": peak, "day_vs_full_ratio": ratio, "max_diff": diff,
            "alarms_agree": float(agree), "n_alarm": float(n_alarm),
            "advance_vs_fit_ratio": adv_ratio, **adv}  # fmt: skip


def _advance(mon: Any, cube: xr.DataArray, newest: xr.DataArray, opts: dict[str, Any],
             check: bool, seed: int, say: Any) -> dict[str, float]:  # fmt: skip
    """Step 4: advance with the newest day (checked against a fit on the whole cube), then
    a week of simulated days; timings and the check's largest difference."""
    from predgov.warn.monitor import Monitor

    t0 = time.perf_counter()
    mon.advance(newest)
    first_s = time.perf_counter() - t0
    diff = float("nan")
    if check:
        ref = Monitor(**opts).fit(cube).state_
        diff = 0.0
        for var in ref.data_vars:
            a, b = ref[var].values, mon.state_[var].transpose(*ref[var].dims).values
            if (np.isfinite(a) != np.isfinite(b)).any():
                diff = float("inf")
            elif np.isfinite(a).any():
                ok = np.isfinite(a)
                rel = np.abs(a[ok] - b[ok]) / np.maximum(np.abs(a[ok]), 1e-300)
                diff = max(diff, float(rel.max()))
    say(f"4. Monitor.advance with the newest day: {first_s:.2f} s; equals Monitor.fit on the "
        f"whole cube: max relative diff {diff:.2e}")  # fmt: skip
    rng = np.random.default_rng(seed + 1)
    times = []
    for _ in range(7):  # a week: one weekly refit day among them
        mu = np.nan_to_num(mon.state_["expected"].values, nan=0.0)
        y = xr.DataArray(rng.poisson(mu).astype(float), dims=mon.dims_,
                         coords={k: c for k, c in mon.state_.coords.items()})  # fmt: skip
        t0 = time.perf_counter()
        mon.advance(y)
        times.append(time.perf_counter() - t0)
    say("   a week of simulated days: " + ", ".join(f"{x:.2f}" for x in times) + " s")
    return {"advance_seconds": first_s, "advance_refit_seconds": max(times),
            "advance_plain_seconds": float(np.median(times)), "advance_max_diff": diff}


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=25_000)
    parser.add_argument("--days", type=int, default=1096, help="days, the newest included")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", choices=("serial", "dask"), default="serial")
    parser.add_argument("--workers", type=int, default=2, help="dask LocalCluster workers")
    parser.add_argument("--block-series", type=int, default=2500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-check", action="store_true",
                        help="skip checking advance against a fit on the whole cube")
    args = parser.parse_args(argv)
    return run(args.series, args.days, args.seed, args.backend, args.workers, args.block_series,
               args.repeat, check=not args.no_check)  # fmt: skip


if __name__ == "__main__":
    main()
