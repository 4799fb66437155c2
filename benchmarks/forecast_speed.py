"""Speed of the default forecaster (NB-GLM) against Prophet, and its scaling with series.

1. Demo city (10 districts x 22 categories = 220 series, 3 years daily), 90-day horizon with the
   default 11 quantile levels and the Qingdao calendar as regressors: the default model on all
   220 series and ``ProphetForecaster(n_jobs=1)`` on the first ``--prophet-series`` series
   (Prophet's cost is the same for every series, so its throughput is measured on a subset).
2. The default model at 250, 2,500 and 25,000 grid-level series (dims ``grid`` x ``category``,
   10 categories; each district x category series of a demo city split over 25 grid cells by a
   multinomial draw, further demo cities supplying cells beyond one city's 2,500 series, so the
   series are alike at every size), printing seconds per series (best of ``--repeat`` for the
   two smaller sizes) and the process's peak resident memory (``resource.getrusage``
   ``ru_maxrss``: the whole process, input cube included, measured after the largest size).

Both models run on one core (BLAS threads limited to 1 unless the environment says otherwise).

Run::

    .venv/bin/python benchmarks/forecast_speed.py            # full (about 2 minutes)
    .venv/bin/python benchmarks/forecast_speed.py --quick    # seconds, for a smoke test

The last line is ``RESULT speedup=<default over prophet throughput> per_series_flat=<max/min
time per series across sizes> peak_gb=<GB at the largest size>``.
"""

from __future__ import annotations

import os

# One core for both models (Prophet runs with n_jobs=1): BLAS threads would also spin against
# the other processes of a shared machine and make small timings erratic. Set before numpy.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import xarray as xr  # noqa: E402

HORIZON = 90
N_CATEGORIES = 10
# Grid cells per district: a demo city then holds 10 x 25 = 250 cells x 10 categories = 2,500
# grid-level series of about a street's size (a district's series split 25 ways).
CELLS_PER_DISTRICT = 25


def demo_inputs(
    seed: int = 0, horizon: int = HORIZON, **subset: Any
) -> tuple[xr.DataArray, xr.Dataset]:
    """Training counts (demo city minus its last ``horizon`` days) and calendar regressors."""
    from predgov.data.calendar import calendar
    from predgov.data.demo import demo_city

    city = demo_city(seed=seed, **subset)
    counts = city["counts"]
    cal = calendar(counts, "qingdao")
    return counts.isel(time=slice(0, counts.sizes["time"] - horizon)), cal


def grid_cube(n_series: int, seed: int = 0, counts: xr.DataArray | None = None,
              cells_per_district: int = CELLS_PER_DISTRICT) -> xr.DataArray:  # fmt: skip
    """Grid-level counts ``(time, grid, category)`` with ``n_series`` series in all.

    Every size is built from grid cells of the same kind, so that time per series measures
    scaling in the number of series, not a change in how sparse the series are: each district x
    category series of a demo city is split over ``cells_per_district`` cells by a multinomial
    draw with Dirichlet(2) cell weights (``N_CATEGORIES`` categories); more cells than one city
    holds come from further demo cities (seeds ``seed + 1``, ...). ``grid`` has a ``district``
    coordinate.
    """
    n_cat = N_CATEGORIES if counts is None else min(N_CATEGORIES, counts.sizes["category"])
    if n_series % n_cat:
        raise ValueError(f"n_series must be a multiple of {n_cat}")
    n_cells = n_series // n_cat
    rng = np.random.default_rng(seed)
    blocks, owners, city_no = [], [], 0
    while sum(b.shape[1] for b in blocks) < n_cells:
        city = counts if (counts is not None and city_no == 0) else demo_inputs(seed + city_no)[0]
        city = city.isel(category=slice(0, n_cat)).transpose("time", "district", "category")
        values = city.values
        for d, name in enumerate(city["district"].values):
            block = np.zeros((values.shape[0], cells_per_district, n_cat), dtype=np.int64)
            for c in range(n_cat):
                w = rng.dirichlet(np.full(cells_per_district, 2.0))
                block[:, :, c] = rng.multinomial(values[:, d, c], w)
            blocks.append(block)
            owners += [str(name)] * cells_per_district
        city_no += 1
    out = np.concatenate(blocks, axis=1)[:, :n_cells]
    da = xr.DataArray(
        out,
        coords={
            "time": city["time"].values,
            "grid": [f"g{i:05d}" for i in range(n_cells)],
            "district": ("grid", np.array(owners[:n_cells])),
            "category": city["category"].values,
        },
        dims=("time", "grid", "category"),
        name="counts",
        attrs={"units": "requests"},
    )
    da["time"].attrs["freq"] = "D"
    return da


def time_forecast(model: Any, counts: xr.DataArray, regressors: xr.Dataset | None,
                  horizon: int = HORIZON) -> tuple[float, xr.Dataset]:  # fmt: skip
    """Seconds for ``fit`` + ``predict`` (with quantiles) and the forecast."""
    start = time.perf_counter()
    fc = model.fit(counts, regressors).predict(horizon, regressors)
    return time.perf_counter() - start, fc


def peak_rss_gb() -> float:
    """Peak resident set size of this process so far, GB (Linux reports KB)."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb * (1 if sys.platform != "darwin" else 1 / 1024) / 1024**2


def run(
    prophet_series: int = 20,
    sizes: Sequence[int] = (250, 2_500, 25_000),
    repeat: int = 3,
    seed: int = 0,
    subset: dict[str, Any] | None = None,
    uncertainty_samples: int = 1000,
    out: Any = print,
) -> dict[str, float]:
    """Run both parts; print a report through ``out``; return the RESULT figures."""
    from predgov.forecast import ProphetForecaster, make_forecaster

    counts, cal = demo_inputs(seed, **(subset or {}))
    n_all = int(np.prod([counts.sizes[d] for d in counts.dims if d != "time"]))
    out(f"demo city: {n_all} series x {counts.sizes['time']} days, horizon {HORIZON} days, "
        f"{len(make_forecaster('default').quantiles)} quantile levels")  # fmt: skip
    make_forecaster("default").fit(counts.isel(district=[0], category=[0]), cal)  # warm-up
    t_default = min(time_forecast(make_forecaster("default"), counts, cal)[0]
                    for _ in range(max(repeat, 1)))  # fmt: skip
    thr_default = n_all / t_default
    out(f"default (nb_glm), {n_all} series: {t_default:.2f} s -> {thr_default:,.1f} series/s "
        f"(best of {max(repeat, 1)})")  # fmt: skip

    flat = counts.stack(series=[d for d in counts.dims if d != "time"])
    n_p = min(prophet_series, n_all)
    sub = flat.isel(series=slice(0, n_p)).unstack("series")
    sub = sub.stack(s=[d for d in sub.dims if d != "time"]).dropna("s", how="all")
    sub = sub.reset_index("s", drop=True).assign_coords(s=np.arange(sub.sizes["s"]))
    sub["time"].attrs["freq"] = "D"
    prophet = ProphetForecaster(n_jobs=1, uncertainty_samples=uncertainty_samples, seed=seed)
    t_prophet, _ = time_forecast(prophet, sub, cal)
    thr_prophet = sub.sizes["s"] / t_prophet
    out(f"prophet (n_jobs=1, {uncertainty_samples} samples), first {sub.sizes['s']} series: "
        f"{t_prophet:.2f} s -> {thr_prophet:,.2f} series/s")  # fmt: skip
    speedup = thr_default / thr_prophet
    out(f"speedup (default over prophet throughput): {speedup:,.0f}x")

    per_series = []
    for k, n in enumerate(sizes):
        grid = grid_cube(n, seed=seed, counts=counts)
        reps = max(repeat, 1) if k < len(sizes) - 1 else 1
        secs = min(time_forecast(make_forecaster("default"), grid, cal)[0] for _ in range(reps))
        per_series.append(secs / n)
        out(f"grid level {n:>6,} series: {secs:7.2f} s, {1e3 * secs / n:.3f} ms/series"
            f" (best of {reps})")  # fmt: skip
        del grid
    ratio = max(per_series) / min(per_series)
    peak = peak_rss_gb()
    out(f"time per series max/min across sizes: {ratio:.2f}")
    out(f"peak memory: {peak:.2f} GB (ru_maxrss, whole process, after {sizes[-1]:,} series)")
    result = {"speedup": speedup, "per_series_flat": ratio, "peak_gb": peak}
    out(f"RESULT speedup={speedup:.0f} per_series_flat={ratio:.2f} peak_gb={peak:.2f}")
    return result


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prophet-series", type=int, default=20)
    parser.add_argument("--sizes", type=int, nargs="+", default=[250, 2_500, 25_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="tiny run (2 districts x 3 categories, sizes 30 60)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.quick:
        return run(prophet_series=2, sizes=(30, 60), repeat=1, seed=args.seed,
                   subset={"districts": ["市南", "平度"],
                           "categories": ["parking", "heating", "noise_social"]},
                   uncertainty_samples=50)  # fmt: skip
    return run(args.prophet_series, args.sizes, args.repeat, args.seed)


if __name__ == "__main__":
    pd.set_option("display.width", 120)
    main()
