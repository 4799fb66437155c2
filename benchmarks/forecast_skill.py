"""Forecast skill: SeasonalNaive vs Prophet vs the default model, by rolling-origin backtest.

Two data sets:

* the demo city (``demo_city(seed=0)``: 3 years daily, 10 districts × 23 categories), with the
  Qingdao calendar (holidays, make-up working days, heating and tourist seasons) as regressors;
* the real Brooklyn residential-noise 311 counts of 2023 (one daily series), with the US holiday
  calendar as regressors. The hourly temperature in the file is *not* used: in a backtest it
  would be a perfect weather forecast.

Every model is backtested on the same origins (``--origins`` windows of ``--horizon`` days, the
last ending on the last day of data) and the same series. Printed per data set: MASE, scaled
pinball loss (M5 quantiles), 80 % interval coverage, and the ratios to SeasonalNaive; the last
line is ``RESULT default_mase=… prophet_mase=… snaive_mase=… default_cov80=…`` averaged over
the two data sets. Scores use the one-step naive scale from the first non-zero training value
(M5 convention), see :mod:`predgov.forecast.metrics`.

Also printed (not in RESULT): the default model with and without its Spring Festival windows on
5 origins whose windows cover 春节 2024 on the demo city.

Run: ``python benchmarks/forecast_skill.py`` (≈ 5 min on one core, mostly Prophet; use
``--prophet-districts 3`` to give Prophet — and, for a fair comparison, every model — fewer
demo series). Never reads ``shared/holdout``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from predgov.data.calendar import calendar
from predgov.forecast import make_forecaster
from predgov.forecast.backtest import BacktestResult, backtest
from predgov.forecast.metrics import interval_hit

MODELS = ("seasonal_naive", "prophet", "default")
#: Origins whose 28-day windows cover the demo city's Spring Festival 2024 (2024-02-10).
FESTIVAL_ORIGINS = ("2023-12-10", "2023-12-24", "2024-01-07", "2024-01-21", "2024-02-04")
BASELINE = "seasonal_naive"


def demo_data(seed: int = 0, n_districts: int | None = None) -> tuple[xr.DataArray, xr.Dataset]:
    """Demo-city counts (optionally ``n_districts`` evenly spaced districts) and calendar."""
    from predgov.data.demo import demo_city

    counts = demo_city(seed=seed)["counts"]
    if n_districts is not None and n_districts < counts.sizes["district"]:
        idx = np.unique(np.linspace(0, counts.sizes["district"] - 1, n_districts).round())
        counts = counts.isel(district=idx.astype(int))
    return counts, calendar(counts["time"], city="qingdao")


def brooklyn_data(path: Any = None) -> tuple[xr.DataArray, xr.Dataset]:
    """The real Brooklyn noise counts (daily, 2023) and the US holiday calendar."""
    from predgov import paths
    from predgov.data.cube import to_cube
    from predgov.data.records import read_records

    path = path or paths.shared_data_file(paths.BROOKLYN_NOISE)
    records = read_records(path, preset="nyc311_brooklyn_noise").records
    counts = to_cube(records, freq="D", taxonomy="nyc311")["counts"]
    return counts, calendar(counts["time"], city=None, country="US")


def make_models(names: Sequence[str] = MODELS, n_jobs: int = 1) -> dict[str, Any]:
    """Unfitted forecasters by name (Prophet gets ``n_jobs`` and no progress bar)."""
    out = {}
    for name in names:
        params: dict[str, Any] = {"n_jobs": n_jobs, "progress": False} if name == "prophet" else {}
        out[name] = make_forecaster(name, **params)
    return out


def run_models(
    counts: xr.DataArray,
    regressors: xr.Dataset | None,
    models: Mapping[str, Any],
    horizon: int,
    n_origins: int,
) -> dict[str, tuple[BacktestResult, float]]:
    """Backtest each model on the same origins; ``{name: (result, seconds)}``."""
    out = {}
    for name, model in models.items():
        start = time.perf_counter()
        result = backtest(model, counts, horizon, n_origins=n_origins, regressors=regressors)
        out[name] = (result, time.perf_counter() - start)
    return out


def summary(results: Mapping[str, tuple[BacktestResult, float]],
            baseline: str = BASELINE) -> pd.DataFrame:
    """One row per model: MASE, scaled pinball, 80 % coverage, ratios to the baseline, time."""
    rows = {}
    base = results[baseline][0] if baseline in results else None
    for name, (res, seconds) in results.items():
        s = res.scores.loc[("all", "all")]
        row = {"mase": s["mase"], "spl": s["spl"], "cov80": s["cov80"], "cov95": s["cov95"],
               "rmsse": s["rmsse"], "n_series": int(s["n_series"])}
        if base is not None:
            rel = res.relative_to(base).loc[("all", "all")]
            row.update(mase_rel=rel["mase"], spl_rel=rel["spl"])
        row["seconds"] = seconds
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def coverage_by_origin(result: BacktestResult, level: float = 0.8) -> pd.Series:
    """Share of the observed actuals inside the central ``level`` interval, per origin (all
    leads and series of that origin's window): how much the headline coverage moves from one
    window to the next."""
    e = result.errors
    hit = interval_hit(e["actual"], e["quantiles"], level)
    share = hit.mean([d for d in hit.dims if d != "origin"], skipna=True)
    return pd.Series(share.values, index=pd.DatetimeIndex(e["origin"].values), name=f"cov{level}")


def week_on_week_change(counts: xr.DataArray, first_test: Any) -> dict[str, float]:
    """``|log((y_t + 1) / (y_{t-7} + 1))|`` over all series, before and from ``first_test``:
    median and mean. A model-free measure of how turbulent the training and test stretches are
    (the central intervals of a test stretch calmer than training cover more than nominal)."""
    y = counts.transpose("time", ...).values.reshape(counts.sizes["time"], -1).astype(float)
    change = np.abs(np.log1p(y[7:]) - np.log1p(y[:-7]))
    times = pd.DatetimeIndex(counts["time"].values[7:])
    test = times >= pd.Timestamp(first_test)
    return {
        "train_median": float(np.nanmedian(change[~test])),
        "test_median": float(np.nanmedian(change[test])),
        "train_mean": float(np.nanmean(change[~test])),
        "test_mean": float(np.nanmean(change[test])),
    }


def festival_section(counts: xr.DataArray, regressors: xr.Dataset,
                     origins: Sequence[str] = FESTIVAL_ORIGINS, horizon: int = 28) -> pd.DataFrame:
    """The default model with and without its Spring Festival windows (and SeasonalNaive) on
    origins whose 28-day windows cover 春节 2024 (2024-02-10): overall MASE, pinball and 80 %
    coverage, and MASE of the two categories the demo city gives a festival effect."""
    models = {
        "seasonal_naive": make_forecaster("seasonal_naive"),
        "default, no festival windows": make_forecaster("default", spring_festival=False),
        "default": make_forecaster("default"),
    }
    rows = {}
    for name, model in models.items():
        res = backtest(model, counts, horizon, origins=list(origins), regressors=regressors)
        s = res.scores
        row = s.loc[("all", "all")][["mase", "spl", "cov80"]].to_dict()
        for cat in ("noise_construction", "wage_arrears"):
            if ("category", cat) in s.index:
                row[f"mase {cat}"] = s.loc[("category", cat), "mase"]
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def result_line(tables: Mapping[str, pd.DataFrame]) -> str:
    """The final ``RESULT`` line: scores averaged over the data sets."""
    def mean(model: str, col: str) -> float:
        return float(np.mean([t.loc[model, col] for t in tables.values()]))

    return (
        f"RESULT default_mase={mean('default', 'mase'):.4f} "
        f"prophet_mase={mean('prophet', 'mase'):.4f} "
        f"snaive_mase={mean('seasonal_naive', 'mase'):.4f} "
        f"default_cov80={mean('default', 'cov80'):.4f}"
    )


def main(argv: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--horizon", type=int, default=28, help="days ahead (default 28)")
    parser.add_argument("--origins", type=int, default=4, help="backtest origins (default 4)")
    parser.add_argument("--prophet-districts", type=int, default=None,
                        help="demo districts for all models (default all 10 = 230 series)")
    parser.add_argument("--jobs", type=int, default=1, help="Prophet worker processes")
    parser.add_argument("--seed", type=int, default=0, help="demo city seed")
    args = parser.parse_args(argv)

    import logging

    for name in ("prophet", "cmdstanpy"):
        logging.getLogger(name).setLevel(logging.ERROR)

    pd.set_option("display.width", 120)
    pd.set_option("display.float_format", "{:.3f}".format)
    data = {
        "demo city": demo_data(args.seed, args.prophet_districts),
        "Brooklyn noise (real)": brooklyn_data(),
    }
    tables = {}
    for label, (counts, reg) in data.items():
        n_series = int(np.prod([counts.sizes[d] for d in counts.dims if d != "time"]))
        print(f"\n== {label}: {n_series} series, {counts.sizes['time']} days, "
              f"horizon {args.horizon}, {args.origins} origins ==", flush=True)
        results = run_models(counts, reg, make_models(n_jobs=args.jobs), args.horizon,
                             args.origins)
        origins = pd.DatetimeIndex(results[BASELINE][0].errors["origin"].values)
        print("origins:", ", ".join(o.strftime("%Y-%m-%d") for o in origins))
        table = summary(results)
        print(table.to_string())
        print("80% coverage by origin (each a window of all leads and series):")
        for name, (res, _) in results.items():
            print(f"  {name:<15}" + " ".join(f"{v:.3f}" for v in coverage_by_origin(res)))
        c = week_on_week_change(counts, origins[0] + pd.Timedelta(days=1))
        print(f"week-on-week change |log ratio|, training -> test windows: median "
              f"{c['train_median']:.3f} -> {c['test_median']:.3f}, mean {c['train_mean']:.3f} "
              f"-> {c['test_mean']:.3f}")
        tables[label] = table
    demo_counts, demo_reg = data["demo city"]
    print("\n== demo city around 春节 2024: origins " + ", ".join(FESTIVAL_ORIGINS)
          + f", horizon {args.horizon} (not in RESULT) ==")  # fmt: skip
    print(festival_section(demo_counts, demo_reg, horizon=args.horizon).to_string())
    print("\ntargets: default <= prophet on MASE and pinball on both data sets; "
          "default 80% coverage in [0.75, 0.85]")
    for label, t in tables.items():
        ok = (t.loc["default", "mase"] <= t.loc["prophet", "mase"]
              and t.loc["default", "spl"] <= t.loc["prophet", "spl"])
        print(f"  {label}: default <= prophet on MASE and pinball: {ok}; "
              f"default cov80 = {t.loc['default', 'cov80']:.3f}")
    print(result_line(tables))
    return tables


if __name__ == "__main__":
    main(sys.argv[1:])
