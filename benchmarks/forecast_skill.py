"""Forecast skill: SeasonalNaive, Prophet, statsforecast's AutoETS / AutoARIMA and the default.

Rolling-origin backtests on these data sets:

* the demo city (``demo_city(seed=0)``: 3 years daily, 10 districts × 23 categories), with the
  Qingdao calendar (holidays, make-up working days, heating and tourist seasons) as regressors;
* the real Brooklyn residential-noise 311 counts of 2023 (one daily series), with the US holiday
  calendar as regressors. The hourly temperature in the file is *not* used: in a backtest it
  would be a perfect weather forecast;
* every multi-year real set in ``../shared/data/``: Chicago sanitation 2011-2014 by category
  (10 series) and by ward (50), Boston heat 2011-2018 by council district x type (sparse), each
  with US holidays.

AutoETS and AutoARIMA (``statsforecast``, weekly season 7; a benchmark-only dependency, the
``bench`` extra) see the counts alone (no regressors; unobserved days as 0; AutoARIMA with
``approximation=True``, R ``auto.arima``'s default for series longer than 150, without which it
takes about 25 s per 4-year series here); their quantiles are
the bounds of their central prediction intervals (99, 95, 80, 67, 50 %) and the point forecast
as median, clipped at 0.

Every model is backtested on the same origins (``--origins`` windows of ``--horizon`` days, the
last ending on the last day of data; 8 by default, as the calibration harness, since issue 14's
fourth session: with 4 the Brooklyn ratio rests on four windows of one series, whose weekly
block bootstrap gives a 90 % interval of 0.87-1.20 around 1.007, and four-window blocks slid
back through the year give 0.75-1.05) and the same series. Printed per data set: MASE, scaled
pinball loss (M5 quantiles), 80 % interval coverage, and the ratios to SeasonalNaive; the last
lines are ``RESULT default_mase=… prophet_mase=… snaive_mase=… default_cov80=…`` averaged over
the data sets and ``RESULT mase_vs_best_peer=…``: the largest over the real sets of the
default's MASE divided by the best of AutoETS / AutoARIMA / Prophet (target <= 0.95), with
``demo_vs_prophet`` (target <= 1). Scores use the one-step naive scale from the first non-zero
training value (M5 convention), see :mod:`predgov.forecast.metrics`.

Point forecasts. MASE is an absolute-error score, whose Bayes act is the predictive median
(Gneiting 2011, "Making and evaluating point forecasts", JASA 106), so every model is scored on
its median: the 0.5 entry of its quantiles (``mase``; ``mase_of_mean`` beside it scores the
``mean`` output, as :func:`predgov.forecast.backtest.backtest`'s ``scores`` do). For AutoETS
and AutoARIMA (Gaussian predictive) the median is their point forecast, so their two columns
are equal; the default's median is an integer quantile of its predictive NB, Prophet's the
median of its samples, seasonal naive's its repeated value plus its past errors' median.
The ratios scored on the mean are printed beside the RESULT line.

Also printed (not in RESULT): the default model with and without its Spring Festival windows on
5 origins whose windows cover 春节 2024 on the demo city.

Run: ``python benchmarks/forecast_skill.py --prophet-districts 3`` (about 45 min on one core,
mostly AutoARIMA and Prophet; ``--prophet-districts`` gives every model fewer demo series;
``--cache DIR`` keeps the peers' backtests, which do not change when the default does;
``--sets`` chooses data sets). Never reads ``shared/holdout``.
"""

from __future__ import annotations

import argparse
import json
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
from predgov.forecast.base import Forecaster, simple_fallback
from predgov.forecast.metrics import interval_hit, point_forecast

MODELS = ("seasonal_naive", "prophet", "auto_ets", "auto_arima", "default")
#: Peers the default is compared with on the real sets (``mase_vs_best_peer``).
PEERS = ("auto_ets", "auto_arima", "prophet")
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


def real_panel(which: str, by: str) -> tuple[xr.DataArray, xr.Dataset]:
    """A multi-year real set's daily panel (``"chicago"`` by ``"category"`` or ``"ward"``,
    ``"boston"`` by council district x type) and the US holiday calendar; days the panel lacks
    are NaN (not observed)."""
    from predgov import paths

    if which == "chicago":
        frame = pd.read_csv(paths.shared_data_file(paths.CHICAGO_SANITATION_DAILY),
                            parse_dates=["date"])  # fmt: skip
        col = "n_unique" if "n_unique" in frame else "n_requests"
        dim = "category" if by == "category" else "district"
    else:
        frame = pd.read_csv(paths.shared_data_file(paths.BOSTON_HEAT_DAILY),
                            parse_dates=["date"])  # fmt: skip
        frame["series"] = frame["city_council_district"].astype(str) + " · " + frame["type"]
        col, by, dim = "n_requests", "series", "series"
    panel = frame.groupby(["date", by])[col].sum().unstack(by).asfreq("D")
    counts = xr.DataArray(panel.to_numpy(float), dims=("time", dim), name="counts",
                          coords={"time": panel.index.values.astype("datetime64[ns]"),
                                  dim: [str(c) for c in panel.columns]},
                          attrs={"units": "requests"})  # fmt: skip
    counts["time"].attrs["freq"] = "D"
    return counts, calendar(counts["time"], city=None, country="US")


class StatsForecastModel(Forecaster):
    """statsforecast's ``AutoETS`` or ``AutoARIMA`` (``model``) as a predgov forecaster.

    One model per series on its counts alone (regressors ignored; unobserved periods read as
    0); quantiles from the central prediction intervals at the levels the quantile pairs need
    (the median is the point forecast), clipped at 0. Series the model cannot fit (all zero,
    too short, an error) get :func:`~predgov.forecast.base.simple_fallback`.
    """

    name = "statsforecast"
    uses_regressors = False

    def __init__(self, model: str = "AutoETS", season_length: int = 7,
                 quantiles: tuple[float, ...] = (0.005, 0.025, 0.1, 0.165, 0.25, 0.5, 0.75,
                                                 0.835, 0.9, 0.975, 0.995)) -> None:  # fmt: skip
        self.model = model
        self.season_length = season_length
        self.quantiles = quantiles

    def _fit(self, values: np.ndarray, X: np.ndarray | None) -> None:
        self._train_values = values

    def _predict(self, horizon: int, X: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        import statsforecast.models as sfm

        levels = self.levels_
        lo = levels[levels < 0.5]
        def pct_of(q: float) -> float | int:  # statsforecast names columns by the level's str
            p = round(100 * abs(1 - 2 * q), 6)
            return int(p) if float(p).is_integer() else p

        pct = sorted({pct_of(q) for q in lo})
        y = np.nan_to_num(self._train_values, nan=0.0)
        S = y.shape[1]
        mean = np.zeros((S, horizon))
        quant = np.zeros((S, horizon, levels.size))
        failed = np.zeros(S, dtype=bool)
        for s in range(S):
            try:
                if not (y[:, s] > 0).any() or y.shape[0] < 2 * self.season_length + 2:
                    raise ValueError("nothing to fit")
                kw = {"approximation": True} if self.model == "AutoARIMA" else {}
                model = getattr(sfm, self.model)(season_length=self.season_length, **kw)
                out = model.forecast(y=y[:, s], h=horizon, level=pct)
                mean[s] = out["mean"]
                for j, q in enumerate(levels):
                    if abs(q - 0.5) < 1e-9:
                        quant[s, :, j] = out["mean"]
                        continue
                    key = f"lo-{pct_of(q)}" if q < 0.5 else f"hi-{pct_of(q)}"
                    quant[s, :, j] = out[key]
                if not (np.isfinite(mean[s]).all() and np.isfinite(quant[s]).all()):
                    raise ValueError("non-finite forecast")
            except Exception:  # any failure of the peer falls back
                failed[s] = True
        if failed.any():
            fm, fq = simple_fallback(self._train_values[:, failed], horizon, levels)
            mean[failed], quant[failed] = fm, fq
            self.fallback_[failed] = "fit failed"
        return np.maximum(mean, 0.0), np.maximum(quant, 0.0)


def make_models(names: Sequence[str] = MODELS, n_jobs: int = 1,
                default_params: Mapping[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """Unfitted forecasters by name (Prophet gets ``n_jobs`` and no progress bar;
    ``auto_ets`` / ``auto_arima`` are :class:`StatsForecastModel`; the default gets
    ``default_params``)."""
    out: dict[str, Any] = {}
    for name in names:
        if name == "default" and default_params:
            out[name] = make_forecaster(name, **default_params)
            continue
        if name in ("auto_ets", "auto_arima"):
            out[name] = StatsForecastModel("AutoETS" if name == "auto_ets" else "AutoARIMA")
            continue
        params: dict[str, Any] = {"n_jobs": n_jobs, "progress": False} if name == "prophet" else {}
        out[name] = make_forecaster(name, **params)
    return out


def run_models(
    counts: xr.DataArray,
    regressors: xr.Dataset | None,
    models: Mapping[str, Any],
    horizon: int,
    n_origins: int,
    cache: Any = None,
    key: str = "",
) -> dict[str, tuple[BacktestResult, float]]:
    """Backtest each model on the same origins; ``{name: (result, seconds)}``.

    With ``cache`` (a folder) the peers' results (every model but the default) are read from
    / written to ``<cache>/<key>_<model>_h<horizon>_o<origins>.nc``: they do not change when
    the default does.
    """
    from pathlib import Path

    out = {}
    for name, model in models.items():
        path = None
        if cache is not None and name != "default":
            safe = "".join(c if c.isalnum() else "_" for c in key)
            path = Path(cache) / f"{safe}_{name}_h{horizon}_o{n_origins}.nc"
            if path.exists():
                with xr.open_dataset(path) as ds:
                    errors = ds.load()
                errors.attrs["series_dims"] = list(errors.attrs["series_dims"].split(","))
                out[name] = (BacktestResult(errors), float(errors.attrs["seconds"]))
                continue
        start = time.perf_counter()
        result = backtest(model, counts, horizon, n_origins=n_origins, regressors=regressors)
        seconds = time.perf_counter() - start
        out[name] = (result, seconds)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            errors = result.errors.copy()
            errors.attrs = {k: (",".join(v) if isinstance(v, list) else v)
                            for k, v in errors.attrs.items()}  # fmt: skip
            errors.attrs["seconds"] = seconds
            errors.to_netcdf(path)
    return out


def point_mase(result: BacktestResult, point: str = "median") -> float:
    """MASE of a backtest's ``point`` forecast (:func:`predgov.forecast.metrics.point_forecast`),
    averaged as :class:`~predgov.forecast.backtest.BacktestResult` does: per series over the
    scored (origin, lead) cells, then over series."""
    e = result.errors
    ok = e["actual"].notnull() & e["scale"].notnull()
    cells = (abs(point_forecast(e, point) - e["actual"]) / e["scale"]).where(ok)
    per_series = cells.mean(["origin", "lead"], skipna=True)
    return float(per_series.mean(skipna=True))


def summary(results: Mapping[str, tuple[BacktestResult, float]],
            baseline: str = BASELINE) -> pd.DataFrame:
    """One row per model: MASE of the median (``mase``, the point absolute error elicits) and
    of the mean (``mase_of_mean``), scaled pinball, coverage, ratios to the baseline, time."""
    rows = {}
    base = results[baseline][0] if baseline in results else None
    for name, (res, seconds) in results.items():
        s = res.scores.loc[("all", "all")]
        row = {"mase": point_mase(res, "median"), "mase_of_mean": s["mase"], "spl": s["spl"],
               "cov80": s["cov80"], "cov95": s["cov95"], "rmsse": s["rmsse"],
               "n_series": int(s["n_series"])}
        if base is not None:
            rel = res.relative_to(base).loc[("all", "all")]
            row.update(mase_rel=row["mase"] / point_mase(base, "median"), spl_rel=rel["spl"])
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
    """The first ``RESULT`` line: scores averaged over the data sets."""
    def mean(model: str, col: str) -> float:
        return float(np.mean([t.loc[model, col] for t in tables.values() if model in t.index]))

    return (
        f"RESULT default_mase={mean('default', 'mase'):.4f} "
        f"prophet_mase={mean('prophet', 'mase'):.4f} "
        f"snaive_mase={mean('seasonal_naive', 'mase'):.4f} "
        f"default_cov80={mean('default', 'cov80'):.4f}"
    )


def peer_ratios(tables: Mapping[str, pd.DataFrame], real: Sequence[str],
                col: str = "mase") -> dict[str, float]:  # fmt: skip
    """The default's MASE (column ``col``) over the best peer's (AutoETS, AutoARIMA, Prophet)
    per real set."""
    out = {}
    for label in real:
        t = tables.get(label)
        if t is None:
            continue
        peers = [t.loc[p, col] for p in PEERS if p in t.index and np.isfinite(t.loc[p, col])]
        out[label] = float(t.loc["default", col] / min(peers)) if peers else float("nan")
    return out


#: Data sets by key: (label, real?, loader).
SETS = {
    "demo": ("demo city", False),
    "brooklyn": ("Brooklyn noise (real)", True),
    "chicago_category": ("Chicago sanitation by category (real)", True),
    "chicago_ward": ("Chicago sanitation by ward (real)", True),
    "boston": ("Boston heat by district x type (real)", True),
}


def load_set(key: str, seed: int, n_districts: int | None) -> tuple[xr.DataArray, xr.Dataset]:
    """Counts and regressors of one data set of :data:`SETS`."""
    if key == "demo":
        return demo_data(seed, n_districts)
    if key == "brooklyn":
        return brooklyn_data()
    if key.startswith("chicago"):
        return real_panel("chicago", key.split("_", 1)[1])
    return real_panel("boston", "series")


def main(argv: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--horizon", type=int, default=28, help="days ahead (default 28)")
    parser.add_argument("--origins", type=int, default=8, help="backtest origins (default 8)")
    parser.add_argument("--prophet-districts", type=int, default=None,
                        help="demo districts for all models (default all 10 = 230 series)")
    parser.add_argument("--jobs", type=int, default=1, help="Prophet worker processes")
    parser.add_argument("--seed", type=int, default=0, help="demo city seed")
    parser.add_argument("--sets", default=",".join(SETS), help=f"comma-separated, of {list(SETS)}")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated models")
    parser.add_argument("--cache", default=None, help="folder keeping the peers' backtests")
    parser.add_argument("--no-festival", action="store_true", help="skip the 春节 section")
    parser.add_argument("--params", default="{}",
                        help="JSON constructor parameters of the default model")  # fmt: skip
    args = parser.parse_args(argv)

    import logging
    import warnings

    for name in ("prophet", "cmdstanpy"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="statsforecast")

    pd.set_option("display.width", 140)
    pd.set_option("display.float_format", "{:.3f}".format)
    keys = [k for k in args.sets.split(",") if k]
    unknown = sorted(set(keys) - set(SETS))
    if unknown:
        raise SystemExit(f"unknown --sets {unknown}; choose from {list(SETS)}")
    names = [m for m in args.models.split(",") if m]
    if "default" not in names or BASELINE not in names:
        raise SystemExit(f"--models must include 'default' and {BASELINE!r}")
    tables = {}
    data = {}
    for key in keys:
        label = SETS[key][0]
        counts, reg = load_set(key, args.seed, args.prophet_districts)
        data[key] = (counts, reg)
        n_series = int(np.prod([counts.sizes[d] for d in counts.dims if d != "time"]))
        print(f"\n== {label}: {n_series} series, {counts.sizes['time']} days, "
              f"horizon {args.horizon}, {args.origins} origins ==", flush=True)
        cache_key = f"{key}_{args.seed}_{args.prophet_districts}"
        results = run_models(counts, reg, make_models(names, n_jobs=args.jobs,
                                                          default_params=json.loads(args.params)),
                             args.horizon,
                             args.origins, cache=args.cache, key=cache_key)  # fmt: skip
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
              f"-> {c['test_mean']:.3f}", flush=True)
        tables[label] = table
    if "demo" in data and not args.no_festival:
        demo_counts, demo_reg = data["demo"]
        print("\n== demo city around 春节 2024: origins " + ", ".join(FESTIVAL_ORIGINS)
              + f", horizon {args.horizon} (not in RESULT) ==")  # fmt: skip
        print(festival_section(demo_counts, demo_reg, horizon=args.horizon).to_string())
    print("\ntargets: default MASE <= 0.95 x best of AutoETS / AutoARIMA / Prophet on the real "
          "sets, <= Prophet on the demo city; default 80% coverage in [0.75, 0.85]")
    real = [SETS[k][0] for k in keys if SETS[k][1]]
    ratios = peer_ratios(tables, real)
    for label, r in ratios.items():
        t = tables[label]
        best = min((p for p in PEERS if p in t.index), key=lambda p: t.loc[p, "mase"])
        print(f"  {label}: default / best peer ({best}) MASE = {r:.3f}; "
              f"default cov80 = {t.loc['default', 'cov80']:.3f}")
    demo_ratio = float("nan")
    if "demo" in keys and "prophet" in tables["demo city"].index:
        t = tables["demo city"]
        demo_ratio = float(t.loc["default", "mase"] / t.loc["prophet", "mase"])
        print(f"  demo city: default / prophet MASE = {demo_ratio:.3f}")
    # The same ratios with every model scored on its mean (the point squared error elicits):
    # printed beside, so that the choice of point is in plain sight.
    ratios_m = peer_ratios(tables, real, "mase_of_mean")
    demo_m = float("nan")
    if "demo" in keys and "prophet" in tables["demo city"].index:
        t = tables["demo city"]
        demo_m = float(t.loc["default", "mase_of_mean"] / t.loc["prophet", "mase_of_mean"])
    print(result_line(tables))
    worst = max(ratios.values()) if ratios else float("nan")
    mean_r = float(np.mean(list(ratios.values()))) if ratios else float("nan")
    print("MASE scores each model's median (the 0.5 quantile: the Bayes act under absolute "
          "error, Gneiting 2011); for AutoETS / AutoARIMA it equals their mean. Scored on the "
          "mean instead: mase_vs_best_peer="
          f"{max(ratios_m.values()) if ratios_m else float('nan'):.3f} "
          + " ".join(f"[{k.split(' (')[0]}: {v:.3f}]" for k, v in ratios_m.items())
          + f" demo_vs_prophet={demo_m:.3f}")  # fmt: skip
    print(f"RESULT mase_vs_best_peer={worst:.3f} mase_vs_best_peer_mean={mean_r:.3f} "
          f"demo_vs_prophet={demo_ratio:.3f} point=median")
    return tables


if __name__ == "__main__":
    main(sys.argv[1:])
