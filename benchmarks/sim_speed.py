"""Speed of the simulation: fast model vs one-agent-per-household reference, and city scale.

1. *Town*: the same 20,000-household town (all ten districts at scale 20,000 / 3.73 M) run by
   ``CityModel`` and by ``ReferenceCityModel`` over the same whole year (default 2025-07-01 to
   2026-06-30: 365 days, both heating seasons' ends, the tourist season and the quiet months).
   Each side runs ``--repeat`` times (default 3; at least 3 in the full run) and the *median*
   is kept. Throughput is household-days per second of stepping (``run()``; building the town
   is timed separately) in CPU seconds of this (single-threaded) process
   (``time.process_time``), so helpers sharing the cores do not move it; wall seconds are
   printed beside it. ``speedup`` = fast over reference throughput on the same town and days.
   (Over the old 61-day window the fast side ran 0.03-0.06 s and the ratio moved 70x-131x
   between quiet runs; over a year it runs about 0.25 s CPU.)
2. *Qingdao scale*: ``run_scenario({"scale": 1.0})`` (3.73 million households, 365 days from
   2025-07-01, all processes, reactive handling) in a fresh child process (this script with
   ``--child``) on one core: wall time of build + run + Dataset, and the child's peak resident
   memory from
   ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (the whole process: interpreter, imports,
   the city and the output). Prints the season's heating calls and satisfaction rate.
3. *Parallel = serial*: four seeds of a small city with ``n_jobs=2`` (joblib) and ``n_jobs=1``
   give identical Datasets.

Run::

    .venv/bin/python benchmarks/sim_speed.py            # full (a few minutes: the reference
                                                        # model runs a year three times)
    .venv/bin/python benchmarks/sim_speed.py --quick    # seconds, for a smoke test

The last line is ``RESULT speedup=<fast over reference> qingdao_seconds=<s> peak_gb=<GB>
heating_calls=<heating calls in one reactive Qingdao-scale season>``.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

#: Qingdao's households in the district table (3.73 million).
QINGDAO_HOUSEHOLDS = 3_730_000
TOWN_HOUSEHOLDS = 20_000


def town_throughput(
    model_class: type, *, scale: float, start: str, end: str, repeat: int = 3
) -> dict[str, float]:
    """Household-days per CPU second of ``model_class(...).run()``: the median of ``repeat``
    runs (CPU time of this process, ``time.process_time``; wall time is reported too).

    Returns ``households``, ``days``, ``build_s`` (median wall seconds to build), ``run_s``
    (median wall seconds of ``run()``), ``cpu_s`` (median CPU seconds of ``run()``),
    ``hh_days_per_s`` (households x days / ``cpu_s``) and ``runs`` (how many).

    Examples
    --------
    >>> from predgov.sim import CityModel
    >>> r = town_throughput(CityModel, scale=0.0005, start="2025-11-15", end="2025-11-17",
    ...                     repeat=1)
    >>> r["households"] > 0 and r["days"] == 3 and r["hh_days_per_s"] > 0
    True
    """
    walls, cpus, builds = [], [], []
    households = days = 0
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        model = model_class(scale=scale, start=start, end=end)
        t1, c1 = time.perf_counter(), time.process_time()
        model.run()
        t2, c2 = time.perf_counter(), time.process_time()
        builds.append(t1 - t0)
        walls.append(t2 - t1)
        cpus.append(c2 - c1)
        households, days = len(model.households), len(model.dates)
    cpu = float(statistics.median(cpus))
    return {"households": households, "days": days, "build_s": statistics.median(builds),
            "run_s": statistics.median(walls), "cpu_s": cpu,
            "hh_days_per_s": households * days / cpu, "runs": len(cpus)}  # fmt: skip


def city_run(scale: float, start: str, end: str) -> dict[str, float]:
    """One reactive season at ``scale``: seconds, peak RSS (GB) and heating calls.

    Meant for a fresh child process (``ru_maxrss`` is the process's peak; Linux: KiB).

    Examples
    --------
    >>> r = city_run(0.0005, "2025-11-15", "2025-11-16")
    >>> sorted(r)
    ['heating_calls', 'households', 'peak_gb', 'satisfaction', 'seconds']
    """
    from predgov.sim import run_scenario

    t0 = time.perf_counter()
    ds = run_scenario({"scale": scale, "start": start, "end": end, "seed": 0})
    seconds = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "peak_gb": peak_kib * 1024 / 1e9,
            "heating_calls": int(ds["counts"].sel(category="heating").sum()),
            "satisfaction": float(ds.attrs["satisfaction_rate"]),
            "households": int(ds.attrs["households"])}  # fmt: skip


def city_run_in_child(scale: float, start: str, end: str) -> dict[str, float]:
    """``city_run`` in a fresh Python process (this script with ``--child``), so its peak
    memory is its own."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(scale), start, end]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def parallel_equals_serial(cfg: dict[str, Any], seeds: Sequence[int]) -> dict[str, float]:
    """Run ``seeds`` serially and with two joblib workers; are the Datasets identical?

    Examples
    --------
    >>> r = parallel_equals_serial({"scale": 0.0005, "start": "2025-11-15",
    ...                             "end": "2025-11-16"}, [0, 1])
    >>> r["identical"]
    True
    """
    from predgov.sim import run_scenario

    t0 = time.perf_counter()
    serial = run_scenario(cfg, seeds=list(seeds), n_jobs=1)
    t1 = time.perf_counter()
    parallel = run_scenario(cfg, seeds=list(seeds), n_jobs=2)
    t2 = time.perf_counter()
    return {"identical": bool(serial.identical(parallel)), "serial_s": t1 - t0,
            "parallel_s": t2 - t1}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    """Run the benchmark and print the report (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs per model in the town comparison (median; at least 3)")
    ap.add_argument("--start", default="2025-07-01", help="town window start")
    ap.add_argument("--end", default="2026-06-30", help="town window end (>= 365 days)")
    args = ap.parse_args(argv)

    from predgov.sim import CityModel, ReferenceCityModel

    if args.quick:
        town_scale, city_scale, repeat = 0.0005, 0.002, 3
        window, city_window = ("2025-11-14", "2025-11-18"), ("2025-11-10", "2025-12-10")
    else:
        town_scale, city_scale = TOWN_HOUSEHOLDS / QINGDAO_HOUSEHOLDS, 1.0
        repeat = max(3, args.repeat)
        window, city_window = (args.start, args.end), ("2025-07-01", "2026-06-30")
        n_days = (date.fromisoformat(args.end) - date.fromisoformat(args.start)).days + 1
        if n_days < 365:
            ap.error(f"the town window has {n_days} days; give at least 365")

    print(f"== 1. town: scale {town_scale:.6f}, {window[0]} to {window[1]}, median of {repeat} "
          "runs per model", flush=True)  # fmt: skip
    ref = town_throughput(ReferenceCityModel, scale=town_scale, start=window[0],
                          end=window[1], repeat=repeat)  # fmt: skip
    fast = town_throughput(CityModel, scale=town_scale, start=window[0], end=window[1],
                           repeat=repeat)  # fmt: skip
    for name, r in (("reference", ref), ("fast", fast)):
        print(f"{name:9s} {r['households']:>7,d} households x {r['days']:>3d} days: build "
              f"{r['build_s']:6.2f} s, run {r['cpu_s']:8.3f} s CPU ({r['run_s']:8.3f} s wall), "
              f"{r['hh_days_per_s'] / 1e6:8.3f} M household-days per CPU second")  # fmt: skip
    speedup = fast["hh_days_per_s"] / ref["hh_days_per_s"]
    print(f"speedup (fast / reference, same town, same {ref['days']} days, medians of CPU "
          f"time): {speedup:.0f}x (target >= 100x)", flush=True)  # fmt: skip

    print(f"== 2. city: scale {city_scale}, {city_window[0]} to {city_window[1]}, all "
          "processes, reactive, one core, fresh child process", flush=True)  # fmt: skip
    city = city_run_in_child(city_scale, *city_window)
    print(f"households {city['households']:,d}; wall {city['seconds']:.1f} s (target <= 60); "
          f"peak RSS {city['peak_gb']:.2f} GB (ru_maxrss of the child, target <= 4); heating "
          f"calls {city['heating_calls']:,d} (target ~44,000); satisfaction "
          f"{city['satisfaction']:.1%}", flush=True)  # fmt: skip

    print("== 3. parallel (joblib, 2 workers) = serial", flush=True)
    cfg = {"scale": 0.0005 if args.quick else 0.005, "start": "2025-11-01", "end": "2025-12-31"}
    par = parallel_equals_serial(cfg, [0, 1] if args.quick else [0, 1, 2, 3])
    print(f"identical: {par['identical']}; serial {par['serial_s']:.1f} s, parallel "
          f"{par['parallel_s']:.1f} s")  # fmt: skip
    if not par["identical"]:
        raise SystemExit("parallel runs differ from serial runs")

    print(f"RESULT speedup={speedup:.0f} qingdao_seconds={city['seconds']:.1f} "
          f"peak_gb={city['peak_gb']:.2f} heating_calls={city['heating_calls']}")  # fmt: skip
    return {"speedup": speedup, **city}


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:  # city_run_in_child: one run, JSON on the last line
        print(json.dumps(city_run(float(sys.argv[2]), sys.argv[3], sys.argv[4])))
    else:
        main(sys.argv[1:])
