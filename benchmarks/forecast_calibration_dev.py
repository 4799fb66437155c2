"""Development check of the default forecaster's calibration and accuracy (issue 14 §2-3).

A small companion of ``benchmarks/calibration.py`` for choosing the forecaster's dispersion
and recalibration: the same rolling-origin design (the last ``--origins`` non-overlapping
windows of 28 days / 8 weeks / 3 months, refitted at each origin) through
:func:`predgov.forecast.backtest.backtest`, on the synthetic family
(:mod:`predgov.data.synthetic_family`, where choices are made) and, with ``--real``, on the real
sets in ``../shared/data/`` (held out: reported, never tuned on). Prints per member / set the
central 50 / 80 / 95 % coverage and MASE, and the pooled figures::

    RESULT cov80_min=… cov80_max=… cov95_min=… cov95_max=… cov80_real_pooled=… cov95_real_pooled=…

``--params '{"calibrate": false}'`` passes constructor parameters to the default model.

Run: ``python benchmarks/forecast_calibration_dev.py [--real] [--members a,b]``. Never reads
``shared/holdout``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from predgov.data.synthetic_family import FAMILY, generate
from predgov.forecast import make_forecaster
from predgov.forecast.backtest import backtest

HORIZON = {"D": 28, "W-MON": 8, "MS": 3}


def real_sets() -> dict[str, tuple[xr.DataArray, xr.Dataset | None]]:
    """The real daily sets with US holidays: Brooklyn noise (1 series, 2023), Chicago sanitation
    by category (10) and by ward (50), 2011-2014, Boston heat by district x type, 2011-2018."""
    from predgov import paths
    from predgov.data.calendar import calendar
    from predgov.data.cube import to_cube
    from predgov.data.records import read_records

    def cal(da: xr.DataArray) -> xr.Dataset:
        return calendar(da["time"], city=None, country="US")[["holiday"]]

    def panel(frame: pd.DataFrame, by: str, col: str, dim: str) -> xr.DataArray:
        p = frame.groupby(["date", by])[col].sum().unstack(by).asfreq("D")
        da = xr.DataArray(p.to_numpy(float), dims=("time", dim),
                          coords={"time": p.index.values.astype("datetime64[ns]"),
                                  dim: [str(c) for c in p.columns]})  # fmt: skip
        da["time"].attrs["freq"] = "D"
        return da

    out = {}
    rec = read_records(paths.shared_data_file(paths.BROOKLYN_NOISE),
                       preset="nyc311_brooklyn_noise").records  # fmt: skip
    da = to_cube(rec, freq="D", taxonomy="nyc311")["counts"]
    out["brooklyn"] = (da, cal(da))
    frame = pd.read_csv(paths.shared_data_file(paths.CHICAGO_SANITATION_DAILY),
                        parse_dates=["date"])  # fmt: skip
    col = "n_unique" if "n_unique" in frame else "n_requests"
    for by, name, dim in (("category", "chicago_category", "category"),
                          ("ward", "chicago_ward", "district")):  # fmt: skip
        da = panel(frame, by, col, dim)
        out[name] = (da, cal(da))
    frame = pd.read_csv(paths.shared_data_file(paths.BOSTON_HEAT_DAILY), parse_dates=["date"])
    frame["series"] = frame["city_council_district"].astype(str) + " · " + frame["type"]
    da = panel(frame, "series", "n_requests", "series")
    out["boston"] = (da, cal(da))
    return out


def family_sets(names: Sequence[str], seed: int) -> dict[str, tuple[xr.DataArray, Any]]:
    """Family members as counts (float, freq on ``time``) and holiday regressors."""
    out = {}
    members = {m.name: m for m in FAMILY}
    for n in names:
        ds = generate(n, seed)
        da = ds["counts"].astype(float)
        da["time"].attrs["freq"] = ds.attrs["freq"]
        out[n] = (da, ds[["holiday"]] if members[n].holidays else None)
    return out


def score(counts: xr.DataArray, reg: Any, n_origins: int, params: dict[str, Any],
          model: str = "default") -> dict[str, float]:  # fmt: skip
    """Coverage (50/80/95), MASE and cell count of ``model`` over the last ``n_origins``
    non-overlapping windows."""
    freq = counts["time"].attrs.get("freq") or counts.attrs.get("freq")
    h = HORIZON[freq]
    res = backtest(make_forecaster(model, **params), counts, h, n_origins=n_origins,
                   regressors=reg)  # fmt: skip
    s = res.scores.loc[("all", "all")]
    e = res.errors
    n = int(np.isfinite(e["actual"].values).sum())
    return {"cov50": s["cov50"], "cov80": s["cov80"], "cov95": s["cov95"], "mase": s["mase"],
            "n": n}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", default="", help="comma-separated family members")
    parser.add_argument("--no-family", action="store_true")
    parser.add_argument("--real", action="store_true", help="also the real sets (held out)")
    parser.add_argument("--origins", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--params", default="{}", help="JSON constructor parameters")
    parser.add_argument("--model", default="default")
    args = parser.parse_args(argv)
    params = json.loads(args.params)
    tic = time.perf_counter()
    rows: dict[str, dict[str, float]] = {}
    names = [m for m in args.members.split(",") if m] or [m.name for m in FAMILY]
    sets: dict[str, tuple[xr.DataArray, Any]] = {}
    if not args.no_family:
        sets.update(family_sets(names, args.seed))
    real: list[str] = []
    if args.real:
        r = real_sets()
        real = list(r)
        sets.update(r)
    for name, (da, reg) in sets.items():
        t0 = time.perf_counter()
        rows[name] = score(da, reg, args.origins, params, args.model)
        rows[name]["sec"] = time.perf_counter() - t0
        print(f"{name:18s} " + " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                                        for k, v in rows[name].items()), flush=True)  # fmt: skip
    fam = [rows[n] for n in rows if n not in real]
    out = {}
    for lv in ("cov80", "cov95"):
        vals = [r[lv] for r in fam if math.isfinite(r[lv])]
        out[f"{lv}_min"] = min(vals) if vals else math.nan
        out[f"{lv}_max"] = max(vals) if vals else math.nan
    for lv in ("cov80", "cov95"):
        rr = [rows[n] for n in real]
        n_tot = sum(r["n"] for r in rr)
        out[f"{lv}_real_pooled"] = (sum(r[lv] * r["n"] for r in rr) / n_tot) if n_tot else math.nan
    if fam:
        out["mase_family_mean"] = float(np.mean([r["mase"] for r in fam]))
    print(f"runtime {time.perf_counter() - tic:.0f} s")
    print("RESULT " + " ".join(f"{k}={v:.3f}" for k, v in out.items()))
    sys.stdout.flush()
    return {"rows": rows, **out}


if __name__ == "__main__":
    main()
