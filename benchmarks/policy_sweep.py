"""Policy sweep: ``heating_prep`` (冬病夏治) at 1/10 of Qingdao, policy × budget × seed.

Pre-season pipe flushing (``PipeFlushing``, 1 Sep - 31 Oct, 200 yuan a household) of whole
estates chosen by a targeting rule, up to a budget given as a share of the heated households;
evaluated on the heating season that follows (15 Nov - 5 Apr, Qingdao's season) against the
reactive city with the same seed (``predgov.sim.experiment``: baseline once per seed, common
random numbers, paired differences of season totals).

Arms: the targeting policies of ``predgov.target.policies`` as the ``targeting=`` of
``PipeFlushing(unit="estate")`` (``predgov.sim.experiment.arms.make_arm``, the same builder as
the pipeline's experiment stage), deciding on 1 Sep from what the hotline recorded in the
burn-in season (15 Nov of the year before - 5 Apr), simulated in the same run:

* ``random``: estates in a random order (keyed stream of the run seed);
* ``history``: ``HistoryHotspot``, last season's heating calls per household of each estate;
* ``risk``: ``HouseholdRisk``, empirical-Bayes rates per covariate cell of the registers;
* ``forecast``: ``ForecastDriven``, the district forecast shared out by history;
* ``oracle``: ``Oracle``, true clogging (latent state: an upper bound).

Each arm flushes estates in its order until the budget (a share of the heated households x
200 yuan) is spent (``Intervention`` never spends beyond its budget).

Prints the wall time of the sweep (burn-in runs + every experiment run) on ``--n-jobs``
processes, the calls averted per arm and budget (mean over seeds with the 95 % bootstrap
interval; median and 10-90 % band), cost per averted call, and the CRN ratio: how many more
seeds an unpaired design (independent baseline and arm runs) would need for the same standard
error of the calls averted, at the middle budget.

Run::

    .venv/bin/python benchmarks/policy_sweep.py          # full: scale 0.1, 5 budgets x 20 seeds
    .venv/bin/python benchmarks/policy_sweep.py --quick  # scale 0.01, 3 x 6 seeds, to 31 Dec

The last line is ``RESULT sweep_seconds=<s> crn_ratio=<median over arms at the middle budget>
random_averted=<mean calls averted at the middle budget> history_averted=... oracle_averted=...
risk_averted=... forecast_averted=...`` (an arm left out with ``--arms`` is ``nan``).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from predgov.sim import CityModel  # noqa: E402
from predgov.sim.experiment import compare, run_experiment  # noqa: E402
from predgov.sim.experiment.arms import make_arm  # noqa: E402

FLUSH_START, FLUSH_END = "09-01", "10-31"
#: Qingdao's heating season (conf/city/qingdao.yaml).
SEASON_START, SEASON_END = "11-15", "04-05"
#: Cost of flushing one household's radiators (yuan; an assumption, as in PipeFlushing's doc).
UNIT_COST = 200.0


def heated_households(scale: float, world_seed: int) -> int:
    """Households of the centrally heated estates (the register, no latent state)."""
    est = CityModel(scale=scale, world_seed=world_seed, start="2025-09-01",
                    end="2025-09-01").estate_table()  # fmt: skip
    return int(est.loc[est["central_heating"], "households"].sum())


#: Benchmark arm name -> policy name (``predgov.sim.experiment.arms.POLICIES``).
ARMS = {"random": "random", "history": "history_hotspot", "oracle": "oracle",
        "risk": "household_risk", "forecast": "forecast_driven"}  # fmt: skip


def make_arms(start: str, end: str, capacity: int, names: Sequence[str]
              ) -> dict[str, Callable]:  # fmt: skip
    """The policies as experiment arms ``(budget in yuan, seed) -> [PipeFlushing]``."""
    spec = {"flushing": ("PipeFlushing", {"unit": "estate", "start": start, "end": end,
                                          "capacity": capacity, "unit_cost": UNIT_COST})}
    return {name: make_arm(ARMS[name], {"category": "heating"}, spec, strict=False)
            for name in names}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=0.1)
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--budgets", default="0.05,0.1,0.2,0.3,0.4",
                   help="shares of the heated households flushed")
    p.add_argument("--year", type=int, default=2025, help="the season starts in this year")
    p.add_argument("--end", default=None, help="last simulated day (default the season's end)")
    p.add_argument("--backend", default="joblib", choices=["serial", "joblib", "dask"])
    p.add_argument("--n-jobs", type=int, default=2)
    p.add_argument("--store", default=None, help="resumable store directory")
    p.add_argument("--arms", default=",".join(ARMS), help=f"of {list(ARMS)}")
    p.add_argument("--quick", action="store_true",
                   help="scale 0.01, 3 budgets x 6 seeds, season to 31 Dec")  # fmt: skip
    a = p.parse_args(argv)
    if a.quick:
        a.scale, a.seeds, a.budgets, a.end = 0.01, 6, "0.1,0.2,0.4", f"{a.year}-12-31"
    shares = [float(b) for b in a.budgets.split(",")]
    seeds = list(range(a.seeds))
    names = [n.strip() for n in a.arms.split(",")]
    bad = [n for n in names if n not in ARMS]
    if bad:
        p.error(f"--arms: unknown {bad}; choose from {list(ARMS)}")
    flush_start, flush_end = f"{a.year}-{FLUSH_START}", f"{a.year}-{FLUSH_END}"
    burn_in = f"{a.year - 1}-{SEASON_START}"  # the season whose calls the policies see
    end = a.end or f"{a.year + 1}-{SEASON_END}"
    scenario = {"scale": a.scale, "start": burn_in, "end": end}
    window = (f"{a.year}-{SEASON_START}", end)
    heated = heated_households(a.scale, 0)
    budgets = [share * heated * UNIT_COST for share in shares]  # yuan
    days = len(pd.date_range(flush_start, flush_end))
    print(f"heating_prep: scale {a.scale} ({heated} heated households), {burn_in}..{end} "
          f"(burn-in season, flushing {flush_start}..{flush_end}, evaluated {window[0]}.."
          f"{end}), budgets {shares} of the heated households, {len(seeds)} seeds, arms "
          f"{names}, {a.backend} n_jobs={a.n_jobs} on {os.cpu_count()} cores")  # fmt: skip

    t0 = time.perf_counter()
    arms = make_arms(flush_start, flush_end, math.ceil(heated / days), names)
    ds = run_experiment(scenario, arms, budgets, seeds, backend=a.backend, n_jobs=a.n_jobs,
                        store=a.store, sum_over=("district",),
                        outputs=("calls", "problems", "repeat_calls", "rated", "satisfied",
                                 "intervention_cost_total"))  # fmt: skip
    seconds = time.perf_counter() - t0
    runs = len(seeds) * (1 + len(arms) * len(budgets))
    print(f"sweep: {seconds:.1f} s for {runs} runs")
    ds = ds.assign_coords(budget=shares)  # report budgets as shares of the heated households

    eff = compare(ds, window=window)
    table = pd.DataFrame({
        "averted_mean": eff["calls_averted_mean"].to_series(),
        "ci_lo": eff["calls_averted_ci_lo"].to_series(),
        "ci_hi": eff["calls_averted_ci_hi"].to_series(),
        "median": eff["calls_averted_median"].to_series(),
        "p10": eff["calls_averted_lo"].to_series(),
        "p90": eff["calls_averted_hi"].to_series(),
        "cost_per_averted": eff["cost_per_averted_call"].to_series(),
        "crn_ratio": eff["crn_ratio"].to_series(),
    })  # fmt: skip
    base = float(ds["calls"].sel(policy="reactive").isel(budget=0)
                 .sel(time=slice(*window)).sum(["time", "category"]).mean())  # fmt: skip
    print(f"calls in the season, reactive city (mean over seeds): {base:.0f}")
    with pd.option_context("display.width", 140, "display.max_columns", 20,
                           "display.float_format", "{:.1f}".format):
        print(table)
    mid = shares[len(shares) // 2]
    at_mid = eff.sel(budget=mid)
    crn = float(np.median(at_mid["crn_ratio"].values))
    averted = {p: float(at_mid["calls_averted_mean"].sel(policy=p)) for p in arms}
    print(f"middle budget {mid}: CRN ratio per arm "
          f"{ {p: round(float(at_mid['crn_ratio'].sel(policy=p)), 1) for p in arms} }")
    result = {"sweep_seconds": seconds, "crn_ratio": crn,
              **{f"{p}_averted": averted.get(p, math.nan) for p in ARMS}}
    print("RESULT " + " ".join(f"{k}={v:.1f}" for k, v in result.items()))
    return result


if __name__ == "__main__":
    main()
