"""Impact validation: the impact estimators against the agent-based city's ground truth.

For each validation case of ``predgov.impact.validation`` (``flush_warm``, ``flush_cold``:
pre-season pipe flushing of the oldest heating systems before a warm / cold winter;
``noise_ban``: the 青铁公园里 night-work ban from 1 July; ``flush_rtm``: flushing the estates
with last season's most calls, regression to the mean) and each seed, the city is run twice
with the same seed (common random numbers): the true effect is the paired difference, summed
over the treated estates and the post-period. Each method of ``predgov.impact.estimate`` sees
the treated world's weekly calls per estate, the treated estates, the start and the weekly
temperature covariates, never the baseline world.

Printed per case x method over the seeds: ``bias`` = mean(estimate - true) / |mean true|,
``cov90`` = share of seeds whose 90 % interval holds the true total, ``rel_width`` = mean
interval width / |mean true|, ``rmse`` relative, ``naive_bias`` = the raw year-on-year
(heating) or H2 - H1 (noise) comparison's bias on the same scale, and seconds per estimate.
A plain reference row, ``ratio_ref`` (pooled difference in differences on the treated and
untreated totals with a Poisson interval: not a predgov method), shows what a simple estimator
gets on each case. Then the anchor: ``bsts-causalimpact`` (CausalImpact, a Gaussian local-level
BSTS with spike-and-slab regression) on the treated estates' weekly total with the untreated
total and the covariates as controls; CausalPy's ITS is not run (it needs PyMC, PyTensor and
numba and an MCMC fit per estimate). Last, the seed's heating setting
(``validation.seed_setting``): ≈ 3,000 households of old estates flushed (at scale), warm vs
cold winter: the raw YoY, the estimate and the truth.

Run::

    .venv/bin/python benchmarks/impact_validation.py            # 50 seeds per case
    .venv/bin/python benchmarks/impact_validation.py --quick    # smoke: 2 seeds, its + auto

The last line is ``RESULT cov90_min=<min over cases of the default method's coverage>
bias_max=<max over cases of its |bias|> naive_bias=<max over cases of |naive bias|>
seconds_per_estimate=<mean seconds per estimate of the default method>``.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from predgov.impact.validation import (  # noqa: E402
    CASES,
    ValidationCase,
    evaluate,
    make_case,
    score,
    seed_setting,
)

METHODS = ("its", "did", "synth", "auto")
DEFAULT_METHOD = "auto"


def causalimpact_anchor(case: ValidationCase, level: float = 0.9, niter: int = 1000
                        ) -> dict[str, Any]:  # fmt: skip
    """``bsts-causalimpact`` on the case: response = the treated estates' weekly total,
    controls = the untreated estates' total and the weekly covariates (none enter when they
    are constant). Returns the same row as ``validation.evaluate``."""
    from causal_impact import CausalImpact

    treated = case.is_treated
    y = case.counts.where(treated, 0).sum("estate").to_series().astype(float)
    frame = pd.DataFrame({"y": y,
                          "untreated": case.counts.where(~treated, 0).sum("estate").to_series()})
    for name, var in case.covariates.data_vars.items():
        s = var.to_series()
        if s.std() > 0:
            frame[name] = s.values
    frame = frame.astype(float)
    t = frame.index
    first = int(np.searchsorted(t, case.start))
    row: dict[str, Any] = {"case": case.name, "seed": case.seed, "method": "causalimpact",
                           "true": case.true_total, "naive": case.naive_effect,
                           "counterfactual": case.counterfactual_total}  # fmt: skip
    t0 = time.perf_counter()
    try:
        ci = CausalImpact(frame, [t[0], t[first - 1]], [t[first], t[-1]],
                          model_args={"niter": niter, "seed": int(case.seed)},
                          alpha=1 - level)  # fmt: skip
        inf = ci.inferences
        est = float(inf["cumulative_effect"].iloc[-1])
        lo = float(inf["cumulative_effect_lower"].iloc[-1])
        hi = float(inf["cumulative_effect_upper"].iloc[-1])
        err = ""
    except Exception as exc:  # an anchor that fails is reported, not fatal
        est = lo = hi = math.nan
        err = f"{type(exc).__name__}: {exc}"
    row.update(estimate=est, lo=lo, hi=hi, covered=bool(lo <= row["true"] <= hi),
               naive_est=math.nan, seconds=time.perf_counter() - t0,
               method_used="causalimpact", error=err)  # fmt: skip
    return row


def reference_ratio(case: ValidationCase, level: float = 0.9) -> dict[str, Any]:
    """A plain reference, not a method of predgov: pooled difference in differences on group
    totals, counterfactual = the untreated estates' post-period calls x (treated / untreated
    calls in the pre-period). Interval: Poisson noise of the four totals (delta method on the
    log ratio), a floor any count method should beat. Returns the row of ``evaluate``."""
    from scipy.stats import norm

    t0 = time.perf_counter()
    post, treated = case.post, case.is_treated
    tot = {(p, g): float(case.counts.where((post if p else ~post)
                                           & (treated if g else ~treated), 0).sum())
           for p in (0, 1) for g in (0, 1)}  # fmt: skip
    row: dict[str, Any] = {"case": case.name, "seed": case.seed, "method": "ratio_ref",
                           "true": case.true_total, "naive": case.naive_effect,
                           "counterfactual": case.counterfactual_total, "naive_est": math.nan,
                           "method_used": "ratio_ref", "error": ""}  # fmt: skip
    if min(tot[0, 1], tot[0, 0], tot[1, 0]) <= 0:
        row.update(estimate=math.nan, lo=math.nan, hi=math.nan, covered=False,
                   seconds=time.perf_counter() - t0, error="empty group total")
        return row
    cf = tot[1, 0] * tot[0, 1] / tot[0, 0]
    sd_log = math.sqrt(1 / tot[1, 0] + 1 / tot[0, 1] + 1 / tot[0, 0])
    z = norm.ppf(0.5 + level / 2)
    obs = tot[1, 1]
    # counterfactual uncertainty (log scale) plus the Poisson noise of the observed total
    sd = math.sqrt((cf * sd_log) ** 2 + cf)
    est = obs - cf
    row.update(estimate=est, lo=est - z * sd, hi=est + z * sd,
               covered=bool(est - z * sd <= case.true_total <= est + z * sd),
               seconds=time.perf_counter() - t0)  # fmt: skip
    return row


class EstimateTimeout(Exception):
    """An estimate ran longer than ``--timeout`` seconds."""


def _timed_evaluate(case: ValidationCase, method: str, timeout: float) -> dict[str, Any]:
    """``evaluate`` that gives up after ``timeout`` seconds (SIGALRM; 0 = no limit): the
    estimate is scored as failed with the error ``EstimateTimeout``."""
    if not timeout or not hasattr(signal, "SIGALRM"):
        return evaluate(case, method)

    def stop(signum: int, frame: Any) -> None:
        raise EstimateTimeout(f"no answer within {timeout:g} s")

    old = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    t0 = time.perf_counter()
    try:
        return evaluate(case, method)  # evaluate turns the exception into an error row
    except EstimateTimeout as exc:  # raised outside the estimator call
        return {"case": case.name, "seed": case.seed, "method": method,
                "true": case.true_total, "naive": case.naive_effect,
                "counterfactual": case.counterfactual_total, "estimate": math.nan,
                "lo": math.nan, "hi": math.nan, "covered": False, "naive_est": math.nan,
                "seconds": time.perf_counter() - t0, "method_used": "",
                "error": f"EstimateTimeout: {exc}"}  # fmt: skip
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def evaluate_methods(case: ValidationCase, methods: Sequence[str], reuse: bool = True,
                     timeout: float = 0.0) -> list[dict[str, Any]]:  # fmt: skip
    """``validation.evaluate`` of each method on ``case`` (each at most ``timeout`` seconds).
    With ``reuse``, "auto" runs first and the explicit method it picked is not run again:
    ``estimate(method="auto")`` is that method's fit with the same seed (the choice draws no
    random numbers), so the row is copied (``reused`` = True)."""
    order = sorted(methods, key=lambda m: m != "auto") if reuse else list(methods)
    done: dict[str, dict[str, Any]] = {}
    for m in order:
        auto = done.get("auto")
        if (reuse and auto is not None and not auto["error"]
                and auto["method_used"] == m):  # fmt: skip
            done[m] = {**auto, "method": m, "reused": True}
        else:
            done[m] = {**_timed_evaluate(case, m, timeout), "reused": False}
    return [done[m] for m in methods]


def _anchor_available() -> str:
    """'' when ``bsts-causalimpact`` imports, else why not."""
    try:
        import causal_impact  # noqa: F401
    except ImportError as exc:
        return (f"bsts-causalimpact not installed ({exc}); install the bench extra: "
                "pip install 'predgov[bench]'")  # fmt: skip
    return ""


def _fmt_table(df: pd.DataFrame) -> str:
    cols = ["case", "method", "seeds", "failed", "true_mean", "estimate_mean", "bias", "rmse",
            "cov90", "rel_width", "interval_scale", "naive_bias", "seconds"]  # fmt: skip
    df = df.rename(columns={"coverage": "cov90"})[cols]
    with pd.option_context("display.width", 160, "display.max_columns", 20,
                           "display.float_format", "{:.3f}".format):
        return df.to_string(index=False)


def seed_section(seeds: Sequence[int], scale: float, method: str, timeout: float = 0.0
                 ) -> None:  # fmt: skip
    """The seed's heating setting: warm vs cold winter, raw YoY vs estimate vs truth."""
    print(f"\nthe seed's setting: flush ~3,000 households of old estates (x scale {scale}: "
          f"鲁瑞苑 first, then the oldest heating systems; whole estates), then a warm or cold "
          f"winter (+/-2.5 degC); {len(seeds)} seeds; estimator '{method}' on the treated "
          "estates")  # fmt: skip
    rows = []
    for winter in ("warm", "cold"):
        for s in seeds:
            out = seed_setting(s, winter=winter, scale=scale)
            case = out["case"]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = _timed_evaluate(case, method, timeout)
            before = case.window_total(case.counts, case.naive_before)
            rows.append({
                "winter": winter, "seed": s, "households": out["households_flushed"],
                "city_households": out["households_city"],
                "city_yoy": out["city_yoy"], "city_true": out["city_true_relative"],
                "before": before, "naive": case.naive_effect, "true": r["true"],
                "cf": case.counterfactual_total, "est": r["estimate"], "lo": r["lo"],
                "hi": r["hi"], "covered": r["covered"],
            })  # fmt: skip
    df = pd.DataFrame(rows)
    for winter, g in df.groupby("winter", sort=False):
        obs = g["cf"] + g["true"]  # the treated estates' calls in the post-period
        print(f"  {winter} winter: flushing {int(g['households'].iloc[0])} of "
              f"{int(g['city_households'].iloc[0])} households; the raw city-wide YoY claims "
              f"{100 * g['city_yoy'].mean():+.1f} % heating calls, the truth city-wide is "
              f"{100 * g['city_true'].mean():+.2f} %; on the treated estates (sums over seeds) "
              f"raw YoY {100 * g['naive'].sum() / g['before'].sum():+.1f} %, estimate "
              f"{100 * g['est'].sum() / (obs - g['est']).sum():+.1f} %, truth "
              f"{100 * g['true'].sum() / g['cf'].sum():+.1f} %; calls per seed: raw YoY "
              f"{g['naive'].mean():+.1f}, estimate {g['est'].mean():+.1f} (90 % interval "
              f"{g['lo'].mean():+.1f}..{g['hi'].mean():+.1f} on average), truth "
              f"{g['true'].mean():+.1f} (of {g['cf'].mean():.1f} calls without flushing); "
              f"interval covers the truth in {g['covered'].mean():.0%} of seeds")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=50, help="seeds per case")
    p.add_argument("--scale", type=float, default=0.01, help="fraction of the city simulated")
    p.add_argument("--cases", default=",".join(CASES), help=f"of {list(CASES)}")
    p.add_argument("--methods", default=",".join(METHODS), help=f"of {list(METHODS)}")
    p.add_argument("--default-method", default=DEFAULT_METHOD,
                   help="the method the RESULT line scores")
    p.add_argument("--no-anchor", action="store_true", help="skip bsts-causalimpact")
    p.add_argument("--timeout", type=float, default=120.0,
                   help="seconds one estimate may take before it counts as failed (0: none)")
    p.add_argument("--max-minutes", type=float, default=0.0,
                   help="stop starting new seeds after this many minutes (0: no limit)")
    p.add_argument("--no-reuse", action="store_true",
                   help="run every method even when 'auto' already ran it")
    p.add_argument("--seed-case", action="store_true",
                   help="run the seed-setting section also with --quick")
    p.add_argument("--seed-case-seeds", type=int, default=10,
                   help="seeds of the seed-setting section (0: skip it)")
    p.add_argument("--quick", action="store_true",
                   help="smoke: 2 seeds, scale 0.005, methods its and auto, timeout 30 s, no "
                   "seed section")
    a = p.parse_args(argv)
    if a.quick:
        a.seeds, a.scale, a.timeout = min(a.seeds, 2), 0.005, min(a.timeout or 30.0, 30.0)
        if a.methods == ",".join(METHODS):
            a.methods = f"its,{a.default_method}" if a.default_method != "its" else "its"
    cases = [c.strip() for c in a.cases.split(",")]
    methods = list(dict.fromkeys(m.strip() for m in a.methods.split(",")))
    bad = [c for c in cases if c not in CASES] + [m for m in methods if m not in METHODS]
    if bad:
        p.error(f"unknown cases/methods {bad}; cases {list(CASES)}, methods {list(METHODS)}")
    if a.default_method not in methods:
        p.error(f"--default-method {a.default_method!r} is not among --methods {methods}")
    if a.seeds < 1:
        p.error("--seeds must be >= 1")
    anchor_note = "skipped (--no-anchor)" if a.no_anchor else _anchor_available()
    use_anchor = not anchor_note
    seeds = list(range(a.seeds))
    print(f"impact validation: cases {cases}, methods {methods} (default '{a.default_method}'), "
          f"{len(seeds)} seeds per case, scale {a.scale}, anchor "
          f"{'bsts-causalimpact' if use_anchor else anchor_note}; {os.cpu_count()} cores")

    rows: list[dict[str, Any]] = []
    gen_seconds = 0.0
    t_all = time.perf_counter()
    facts: dict[str, list[dict[str, float]]] = {c: [] for c in cases}
    done_seeds = 0
    for s in seeds:
        if a.max_minutes and time.perf_counter() - t_all > 60 * a.max_minutes:
            print(f"time budget (--max-minutes {a.max_minutes:g}) spent: stopped after "
                  f"{done_seeds} seeds per case")  # fmt: skip
            break
        done_seeds += 1
        for name in cases:
            t0 = time.perf_counter()
            case = make_case(name, s, scale=a.scale)
            gen_seconds += time.perf_counter() - t0
            facts[name].append({
                "estates": case.counts.sizes["estate"], "treated": len(case.treated),
                "true": case.true_total, "counterfactual": case.counterfactual_total,
                "naive_rel": case.naive_relative, "spill": case.spillover_total})  # fmt: skip
            with warnings.catch_warnings():  # the estimators' checks warn (RTM, pre-trend)
                warnings.simplefilter("ignore")
                rows.extend(evaluate_methods(case, methods, reuse=not a.no_reuse,
                                             timeout=a.timeout))  # fmt: skip
            rows.append(reference_ratio(case))
            if use_anchor:
                rows.append(causalimpact_anchor(case))
    total_seconds = time.perf_counter() - t_all

    print(f"\ncases ({gen_seconds:.1f} s to simulate {len(cases) * done_seeds} paired runs; "
          f"{total_seconds:.1f} s in all):")
    for name in cases:
        f = pd.DataFrame(facts[name])
        true_rel = f["true"].sum() / f["counterfactual"].sum()
        print(f"  {name}: {f['treated'].iloc[0]} treated of {f['estates'].iloc[0]} estates; true "
              f"effect {f['true'].mean():.1f} calls per seed (10-90 %: "
              f"{f['true'].quantile(0.1):.0f}..{f['true'].quantile(0.9):.0f}), "
              f"{100 * true_rel:+.1f} % of the counterfactual; raw comparison claims "
              f"{100 * f['naive_rel'].mean():+.1f} %; spillover on untreated estates "
              f"{f['spill'].mean():.1f}")  # fmt: skip

    df = pd.DataFrame(rows)
    table = score(df)
    print("\nper case and method (bias, rmse, rel_width relative to |mean true effect|):")
    print(_fmt_table(table))
    errors = df[df["error"].fillna("") != ""]
    if len(errors):
        print(f"\nestimator errors ({len(errors)} estimates):")
        for (c, m), g in errors.groupby(["case", "method"], sort=False):
            print(f"  {c} / {m}: {len(g)} x {g['error'].iloc[0][:160]}")
    if "method_used" in df:
        auto = df[(df["method"] == "auto") & (df["error"].fillna("") == "")]
        if len(auto):
            picks = auto.groupby("case", sort=False)["method_used"].agg(
                lambda s: ", ".join(f"{k} {v}" for k, v in s.value_counts().items()))
            print("\n'auto' picked: " + "; ".join(f"{c}: {v}" for c, v in picks.items()))

    if not use_anchor:
        print(f"\nanchor bsts-causalimpact: {anchor_note}")
    else:
        comp = table[table["method"].isin([a.default_method, "causalimpact", "ratio_ref"])]
        comp = comp.pivot(index="case", columns="method",
                          values=["bias", "coverage", "rel_width"]).reindex(cases)
        print(f"\nanchor: predgov '{a.default_method}' vs bsts-causalimpact on the same cases "
              "(CausalImpact: treated total ~ untreated total + covariates, Gaussian BSTS) and "
              "ratio_ref (pooled DiD on group totals, Poisson interval):")
        with pd.option_context("display.width", 160, "display.float_format", "{:.3f}".format):
            print(comp.to_string())

    if (not a.quick or a.seed_case) and a.seed_case_seeds > 0:
        seed_section(list(range(a.seed_case_seeds if not a.quick else 2)),
                     0.05 if not a.quick else 0.005, a.default_method, a.timeout)

    mine = table[table["method"] == a.default_method]
    result = {
        "cov90_min": float(mine["coverage"].min()),
        "bias_max": float(mine["bias"].abs().max()),
        "naive_bias": float(table.groupby("case")["naive_bias"].first().abs().max()),
        "seconds_per_estimate": float(df.loc[df["method"] == a.default_method,
                                             "seconds"].mean()),
    }  # fmt: skip
    print(f"\ntargets (issue 12): coverage >= 0.85 in every case: "
          f"{'met' if result['cov90_min'] >= 0.85 else 'MISSED'}; |bias| <= 0.10: "
          f"{'met' if result['bias_max'] <= 0.10 else 'MISSED'}")
    print("RESULT " + " ".join(f"{k}={v:.3f}" for k, v in result.items()))
    return result


if __name__ == "__main__":
    main()
