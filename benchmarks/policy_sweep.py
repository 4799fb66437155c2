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

Engine (``--engine forked``, the default): every run of a seed is the reactive city until the
flushing starts (1 Sep; common random numbers, and interventions draw only from their own
streams), so the burn-in past (15 Nov - 31 Aug, 290 of the 507 days) is simulated *once per
seed*, copied (``copy_model``) and continued by the baseline and by each arm x budget; each
policy decides once per seed on that shared past (its decision cannot depend on the budget),
so ``ForecastDriven`` fits once per seed, not once per run. One job per seed on ``--n-jobs``
processes. The Dataset is identical, byte for byte, to ``run_experiment``'s (``--engine
runner``: every run from day 0, with its backends and resumable ``--store``), which
``tests/sim/test_sim_benchmark.py`` checks for all five policies.

Prints the wall time of the sweep (burn-in pasts + every continued run) and its CPU time, the
calls averted per arm and budget (mean over seeds with the 95 % bootstrap interval; median and
10-90 % band), cost per averted call, the CRN ratio (how many more seeds an unpaired design,
independent baseline and arm runs, would need for the same standard error of the calls
averted) and the targeting sanity check at the middle budget (random < history hotspot <=
oracle, household risk >= random).

Run::

    nice -n 10 .venv/bin/python benchmarks/policy_sweep.py  # full: scale 0.1, 5 budgets x 20 seeds
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
import copy  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from typing import Any  # noqa: E402

import joblib  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import xarray as xr  # noqa: E402

from predgov.sim import CityModel  # noqa: E402
from predgov.sim.experiment import DEFAULT_OUTPUTS, compare, reduce_run, run_experiment  # noqa: E402
from predgov.sim.experiment.arms import make_arm  # noqa: E402
from predgov.sim.experiment.store import assemble, experiment_attrs  # noqa: E402
from predgov.sim.interventions import Intervention  # noqa: E402
from predgov.sim.interventions.base import resolve_targets  # noqa: E402
from predgov.sim.scenario import to_dataset  # noqa: E402

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

# ---------------------------------------------------------------------------------------------
# The forked sweep: one simulation of the shared past per seed, every arm continues from a copy.


def _first_day(model: CityModel, iv: Intervention) -> int:
    """Day index of the first day ``iv`` can act (its ``start``; 0 without one)."""
    return 0 if iv.start is None else int(model.dates.searchsorted(iv.start))


def _forkable(iv: Intervention) -> bool:
    """Whether ``iv`` does nothing at all before its ``start``: no daily upkeep nor intercept
    of its own (both run every day, active or not)."""
    return (type(iv).daily is Intervention.daily
            and type(iv).intercept is Intervention.intercept)  # fmt: skip


def fork_day(model: CityModel, arms: Sequence[Sequence[Intervention]]) -> int:
    """The last day index up to which every arm's run equals the baseline: the earliest
    ``start`` of any intervention (0 when one acts every day, see ``_forkable``)."""
    days = [_first_day(model, iv) if _forkable(iv) else 0 for ivs in arms for iv in ivs]
    return min(days, default=len(model.dates))


def attach(model: CityModel, interventions: Sequence[Intervention]) -> CityModel:
    """Give a model that has run ``model.t`` days without interventions the interventions of
    an arm, as ``CityModel(interventions=...)`` would have set them up on day 0 (copies with
    unique labels, empty records, ``initialize``). Only valid when none of them could have
    acted before day ``model.t`` (``fork_day``).

    Examples
    --------
    >>> from predgov.sim import NullIntervention
    >>> m = CityModel(scale=0.001, start="2025-11-15", end="2025-11-17")
    >>> m.step()
    >>> attach(m, [NullIntervention(start="2025-11-16")]).interventions[0].start_t_
    1
    """
    if model.interventions:
        raise ValueError("attach: the model already has interventions")
    late = [iv.label for iv in interventions
            if not _forkable(iv) or _first_day(model, iv) < model.t]  # fmt: skip
    if late:
        raise ValueError(f"attach: {late} could have acted before day {model.t}")
    model.attach_interventions(interventions)
    return model


def copy_model(model: CityModel) -> CityModel:
    """An independent copy of a running model (``copy.deepcopy``; ``Cases.__deepcopy__``
    keeps the case table's columns views of the copied table, so the copy's run does not
    drift from the original's).

    Examples
    --------
    >>> m = CityModel(scale=0.001, start="2025-11-15", end="2025-11-17")
    >>> m.step()
    >>> c = copy_model(m).cases
    >>> bool(np.shares_memory(c.status, c._data)), bool(np.shares_memory(c._data, m.cases._data))
    (True, False)
    """
    return copy.deepcopy(model)


def _decide_once(model: CityModel, ivs: list[Intervention], cache: dict) -> None:
    """Replace the targeting policy of an arm's first intervention by its decision, made once
    per (policy, unit) on the shared past: the decision the policy makes inside the run when
    the intervention starts on the fork day (no trigger, no retargeting; later interventions
    of the arm could see the first one's effect, so they decide inside the run)."""
    if not ivs:
        return
    iv = ivs[0]
    rule = iv.targeting
    if (not hasattr(rule, "select") or iv.trigger is not None or iv.retarget_every is not None
            or _first_day(model, iv) != model.t):  # fmt: skip
        return
    key = (type(rule).__module__, type(rule).__qualname__, repr(rule), iv.unit)
    if key not in cache:
        cache[key] = resolve_targets(rule, model, model.t, iv.unit)
    iv.targeting = cache[key]


class _SeedTask:
    """Every run of one seed: the shared past once, then the baseline and each arm from a copy."""

    def __init__(self, scenario: dict[str, Any], outputs: tuple[str, ...],
                 sum_over: tuple[str, ...]) -> None:  # fmt: skip
        self.scenario, self.outputs, self.sum_over = scenario, outputs, sum_over

    def __call__(self, seed: int, plan: list[tuple[str, float, tuple[Intervention, ...]]]
                 ) -> tuple[dict[tuple[str, float] | None, xr.Dataset], float]:  # fmt: skip
        """The runs of ``seed`` (key None: the baseline) and the CPU seconds they took."""
        cpu = time.process_time()
        past = CityModel(seed=seed, **self.scenario)
        t_fork = fork_day(past, [ivs for _, _, ivs in plan])
        while past.t < t_fork:
            past.step()
        out = {}
        base = copy_model(past)
        base.run()
        out[None] = reduce_run(to_dataset(base), self.outputs, self.sum_over)
        decisions: dict = {}
        for policy, budget, ivs in plan:
            ivs = [copy.deepcopy(iv) for iv in ivs]
            _decide_once(past, ivs, decisions)
            run = attach(copy_model(past), ivs)
            run.run()
            out[policy, budget] = reduce_run(to_dataset(run), self.outputs, self.sum_over)
        return out, time.process_time() - cpu


def forked_experiment(
    scenario: dict[str, Any],
    arms: dict[str, Callable],
    budgets: Sequence[float],
    seeds: Sequence[int],
    *,
    baseline: str = "reactive",
    n_jobs: int = 1,
    outputs: Sequence[str] = DEFAULT_OUTPUTS,
    sum_over: Sequence[str] = (),
    timings: dict[str, Any] | None = None,
) -> xr.Dataset:
    """``run_experiment(scenario, arms, budgets, seeds, ...)`` (serial, no store), computed with
    the days before the first intervention starts simulated once per seed.

    Every run of a seed equals the baseline until its interventions start (common random
    numbers; interventions draw only from their own streams), so the shared past is simulated
    once, copied (``copy.deepcopy``) and continued by the baseline and by each arm; a targeting
    policy that decides on the fork day decides once per seed (its decision depends on the
    shared past only, not on the budget). One job per seed (joblib, ``n_jobs`` processes).
    The Dataset is identical to ``run_experiment``'s (``tests/sim/test_sim_benchmark.py``).
    A ``timings`` dict gets ``cpu_seconds`` per seed (CPU time of the process that ran it).
    """
    budgets = [float(b) for b in budgets]
    plans = {s: [(name, b, tuple(make(b, s))) for name, make in arms.items() for b in budgets]
             for s in seeds}  # fmt: skip
    task = _SeedTask(dict(scenario), tuple(outputs), tuple(sum_over))
    if n_jobs == 1 or len(seeds) == 1:
        results = [task(s, plans[s]) for s in seeds]
    else:
        results = joblib.Parallel(n_jobs=n_jobs)(joblib.delayed(task)(s, plans[s]) for s in seeds)
    done = {s: runs for s, (runs, _) in zip(seeds, results, strict=True)}
    if timings is not None:
        timings["cpu_seconds"] = [cpu for _, cpu in results]
    described = json.dumps(dict(scenario), sort_keys=True, default=repr, ensure_ascii=False)

    def get(p: str, b: float, s: int) -> xr.Dataset:
        return done[s][None if p == baseline else (p, b)]

    return assemble(get, [baseline, *arms], budgets, list(seeds),
                    experiment_attrs(baseline, described))  # fmt: skip


OUTPUTS = ("calls", "problems", "repeat_calls", "rated", "satisfied", "intervention_cost_total")


def sanity(averted: dict[str, float]) -> tuple[bool, str]:
    """Targeting sanity at one budget: random < history <= oracle, household risk >= random
    (arms left out are skipped).

    Examples
    --------
    >>> sanity({"random": 1.0, "history": 3.0, "oracle": 4.0, "risk": 2.0})[0]
    True
    >>> sanity({"random": 1.0, "history": 5.0, "oracle": 4.0})
    (False, 'random < history: True; history <= oracle: False')
    """
    checks = [("random", "<", "history"), ("history", "<=", "oracle"), ("risk", ">=", "random")]
    parts, ok = [], True
    for a, op, b in checks:
        if a in averted and b in averted:
            x, y = averted[a], averted[b]
            holds = bool({"<": x < y, "<=": x <= y, ">=": x >= y}[op])
            ok &= holds
            parts.append(f"{a} {op} {b}: {holds}")
    return ok, "; ".join(parts)


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=0.1)
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--budgets", default="0.05,0.1,0.2,0.3,0.4",
                   help="shares of the heated households flushed")
    p.add_argument("--year", type=int, default=2025, help="the season starts in this year")
    p.add_argument("--end", default=None, help="last simulated day (default the season's end)")
    p.add_argument("--engine", default="forked", choices=["forked", "runner"],
                   help="forked: the shared past once per seed (default); runner: "
                        "run_experiment, every run from day 0")  # fmt: skip
    p.add_argument("--backend", default="joblib", choices=["serial", "joblib", "dask"],
                   help="runner engine only (forked: joblib, serial with --n-jobs 1)")
    p.add_argument("--n-jobs", type=int, default=2)
    p.add_argument("--store", default=None, help="resumable store directory (runner engine)")
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
    if a.store and a.engine == "forked":
        p.error("--store needs --engine runner")
    flush_start, flush_end = f"{a.year}-{FLUSH_START}", f"{a.year}-{FLUSH_END}"
    burn_in = f"{a.year - 1}-{SEASON_START}"  # the season whose calls the policies see
    end = a.end or f"{a.year + 1}-{SEASON_END}"
    scenario = {"scale": a.scale, "start": burn_in, "end": end}
    window = (f"{a.year}-{SEASON_START}", end)
    heated = heated_households(a.scale, 0)
    budgets = [share * heated * UNIT_COST for share in shares]  # yuan
    days = len(pd.date_range(flush_start, flush_end))
    n_jobs = 1 if a.backend == "serial" else a.n_jobs
    print(f"heating_prep: scale {a.scale} ({heated} heated households), {burn_in}..{end} "
          f"(burn-in season, flushing {flush_start}..{flush_end}, evaluated {window[0]}.."
          f"{end}), budgets {shares} of the heated households, {len(seeds)} seeds, arms "
          f"{names}, engine {a.engine} ({a.backend if a.engine == 'runner' else 'joblib'} "
          f"n_jobs={n_jobs}) on {os.cpu_count()} cores")  # fmt: skip

    t0 = time.perf_counter()
    timings: dict[str, Any] = {}
    arms = make_arms(flush_start, flush_end, math.ceil(heated / days), names)
    if a.engine == "forked":
        ds = forked_experiment(scenario, arms, budgets, seeds, n_jobs=n_jobs, outputs=OUTPUTS,
                               sum_over=("district",), timings=timings)  # fmt: skip
    else:
        ds = run_experiment(scenario, arms, budgets, seeds, backend=a.backend, n_jobs=n_jobs,
                            store=a.store, sum_over=("district",), outputs=OUTPUTS)  # fmt: skip
    seconds = time.perf_counter() - t0
    runs = len(seeds) * (1 + len(arms) * len(budgets))
    print(f"sweep: {seconds:.1f} s wall for {runs} runs ({seconds / runs:.2f} s a run)")
    if timings:
        cpu = timings["cpu_seconds"]
        print(f"CPU: {sum(cpu):.0f} s over all seeds ({np.mean(cpu):.1f} s a seed of "
              f"{1 + len(arms) * len(budgets)} runs): {sum(cpu) / n_jobs:.0f} s of wall on "
              f"{n_jobs} free cores; the rest of the wall time is waiting for shared cores")
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
    table.index = table.index.set_levels([f"{b:.0%}" for b in table.index.levels[1]], level=1)
    base = float(ds["calls"].sel(policy="reactive").isel(budget=0)
                 .sel(time=slice(*window)).sum(["time", "category"]).mean())  # fmt: skip
    print(f"calls in the season, reactive city (mean over seeds): {base:.0f}; budget = share "
          f"of the heated households flushed ({UNIT_COST:.0f} yuan each); calls averted: mean "
          "(95 % bootstrap CI), median (10-90 % band) over seeds; cost per averted call "
          "(yuan); crn_ratio: seeds an unpaired design needs per paired seed")  # fmt: skip
    with pd.option_context("display.width", 140, "display.max_columns", 20,
                           "display.float_format", "{:.1f}".format):
        print(table)
    mid = shares[len(shares) // 2]
    at_mid = eff.sel(budget=mid)
    crn = float(np.median(at_mid["crn_ratio"].values))
    averted = {p: float(at_mid["calls_averted_mean"].sel(policy=p)) for p in arms}
    print(f"middle budget {mid:.0%}: CRN ratio per arm "
          f"{ {p: round(float(at_mid['crn_ratio'].sel(policy=p)), 1) for p in arms} }; "
          f"median {crn:.1f} (target >= 10)")  # fmt: skip
    ok, detail = sanity(averted)
    print(f"targeting sanity at {mid:.0%} (mean calls averted): {detail} -> "
          f"{'holds' if ok else 'DOES NOT HOLD'}")  # fmt: skip
    result = {"sweep_seconds": seconds, "crn_ratio": crn,
              **{f"{p}_averted": averted.get(p, math.nan) for p in ARMS}}
    print("RESULT " + " ".join(f"{k}={v:.1f}" for k, v in result.items()))
    return result


if __name__ == "__main__":
    main()
