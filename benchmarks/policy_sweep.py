"""Policy sweep: ``heating_prep`` (冬病夏治) at 1/10 of Qingdao, policy × budget × seed.

Pre-season pipe flushing (``PipeFlushing``, 1 Sep - 31 Oct, 200 yuan a household) of whole
estates chosen by a targeting rule, up to a budget given as a share of the heated households;
evaluated on the heating season that follows (15 Nov - 5 Apr, Qingdao's season) against the
reactive city with the same seed (``predgov.sim.experiment``: baseline once per seed, common
random numbers, paired differences of season totals).

Arms (PROVISIONAL: plain estate lists built here until ``predgov.target``'s policies land; the
lead then swaps in ``Random``, ``HistoryHotspot``, ``HouseholdRisk``, ``Oracle``):

* ``random``: heated estates in a random order (a generator keyed by the run seed);
* ``history``: heated estates by last season's heating calls per household, from a burn-in
  baseline run of the previous season (15 Nov 2024 - 5 Apr 2025) with the same seed — what
  the hotline recorded, no latent state;
* ``oracle``: heated estates by their true mean clogging (latent state: an upper bound);
* ``risk`` (household risk model): not built yet, reported as ``nan``.

Each arm fills the budget greedily in its order (an estate that would overshoot is skipped).

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
risk_averted=nan``.
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

from predgov.sim import CityModel, PipeFlushing, run_scenario  # noqa: E402
from predgov.sim.experiment import compare, run_experiment  # noqa: E402

FLUSH_START, FLUSH_END = "09-01", "10-31"
#: Qingdao's heating season (conf/city/qingdao.yaml).
SEASON_START, SEASON_END = "11-15", "04-05"
#: Cost of flushing one household's radiators (yuan; an assumption, as in PipeFlushing's doc).
UNIT_COST = 200.0
#: Key of the random arm's generator (with the run seed): independent of the model's streams.
RANDOM_KEY = 0x52414E44


def estate_frame(scale: float, world_seed: int) -> pd.DataFrame:
    """Heated estates of the city: households and true mean clogging (world state)."""
    est = CityModel(scale=scale, world_seed=world_seed, start="2025-09-01",
                    end="2025-09-01").estate_table()  # fmt: skip
    return est[est["central_heating"]]


def fill(order: Sequence[int], size: pd.Series, target: float) -> list[int]:
    """Estates in ``order`` while their households fit in ``target`` (greedy, skipping
    estates that would overshoot).

    Examples
    --------
    >>> fill([2, 0, 1], pd.Series([5, 3, 4]), 7)
    [2, 1]
    """
    chosen, used = [], 0
    for e in order:
        if used + size[e] <= target:
            chosen.append(int(e))
            used += int(size[e])
    return chosen


def burn_in_history(scenario: dict, seeds: Sequence[int], year: int, n_jobs: int
                    ) -> dict[int, pd.Series]:  # fmt: skip
    """Heating calls per estate in the previous season, per seed (baseline runs)."""
    prev = {**scenario, "start": f"{year - 1}-{SEASON_START}", "end": f"{year}-{SEASON_END}"}
    ds = run_scenario(prev, seeds=list(seeds), n_jobs=n_jobs)
    calls = ds["estate_calls"].sel(category="heating").sum("week")
    return {int(s): calls.sel(seed=s).to_series() for s in seeds}


def make_arms(est: pd.DataFrame, history: dict[int, pd.Series], start: str, end: str
              ) -> dict[str, Callable]:  # fmt: skip
    """The provisional targeting rules as experiment arms ``(budget, seed) -> [PipeFlushing]``."""
    heated = est.index.to_numpy()
    size = est["households"]
    total = float(size.sum())
    days = len(pd.date_range(start, end))

    def flushing(order: Sequence[int], budget: float) -> list[PipeFlushing]:
        target = budget * total
        return [PipeFlushing(fill(order, size, target), start=start, end=end,
                             capacity_per_day=math.ceil(target / days), unit_cost=UNIT_COST)]

    def random(budget: float, seed: int) -> list[PipeFlushing]:
        rng = np.random.default_rng([seed, RANDOM_KEY])
        return flushing(rng.permutation(heated), budget)

    def history_hotspot(budget: float, seed: int) -> list[PipeFlushing]:
        rate = history[seed].reindex(heated).to_numpy() / size.to_numpy()
        return flushing(heated[np.argsort(-rate, kind="stable")], budget)

    def oracle(budget: float, seed: int) -> list[PipeFlushing]:
        return flushing(heated[np.argsort(-est["mean_clog"].to_numpy(), kind="stable")], budget)

    return {"random": random, "history": history_hotspot, "oracle": oracle}


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
    p.add_argument("--quick", action="store_true",
                   help="scale 0.01, 3 budgets x 6 seeds, season to 31 Dec")
    a = p.parse_args(argv)
    if a.quick:
        a.scale, a.seeds, a.budgets, a.end = 0.01, 6, "0.1,0.2,0.4", f"{a.year}-12-31"
    budgets = [float(b) for b in a.budgets.split(",")]
    seeds = list(range(a.seeds))
    start, flush_end = f"{a.year}-{FLUSH_START}", f"{a.year}-{FLUSH_END}"
    end = a.end or f"{a.year + 1}-{SEASON_END}"
    scenario = {"scale": a.scale, "start": start, "end": end}
    window = (f"{a.year}-{SEASON_START}", end)
    est = estate_frame(a.scale, 0)
    print(f"heating_prep: scale {a.scale} ({len(est)} heated estates, "
          f"{int(est['households'].sum())} heated households), {start}..{end}, "
          f"budgets {budgets} (share of heated households), {len(seeds)} seeds, "
          f"{a.backend} n_jobs={a.n_jobs} on {os.cpu_count()} cores")  # fmt: skip

    t0 = time.perf_counter()
    history = burn_in_history({"scale": a.scale}, seeds, a.year, a.n_jobs)
    t_burn = time.perf_counter() - t0
    arms = make_arms(est, history, start, flush_end)
    ds = run_experiment(scenario, arms, budgets, seeds, backend=a.backend, n_jobs=a.n_jobs,
                        store=a.store, sum_over=("district",),
                        outputs=("calls", "problems", "repeat_calls", "rated", "satisfied",
                                 "intervention_cost"))  # fmt: skip
    seconds = time.perf_counter() - t0
    runs = len(seeds) * (2 + len(arms) * len(budgets))
    print(f"sweep: {seconds:.1f} s for {runs} runs (burn-in {t_burn:.1f} s)")

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
    mid = budgets[len(budgets) // 2]
    at_mid = eff.sel(budget=mid)
    crn = float(np.median(at_mid["crn_ratio"].values))
    averted = {p: float(at_mid["calls_averted_mean"].sel(policy=p)) for p in arms}
    print(f"middle budget {mid}: CRN ratio per arm "
          f"{ {p: round(float(at_mid['crn_ratio'].sel(policy=p)), 1) for p in arms} }; "
          "risk arm not built yet (nan)")  # fmt: skip
    result = {"sweep_seconds": seconds, "crn_ratio": crn,
              **{f"{p}_averted": v for p, v in averted.items()}, "risk_averted": math.nan}
    print("RESULT " + " ".join(f"{k}={v:.1f}" for k, v in result.items()))
    return result


if __name__ == "__main__":
    main()
