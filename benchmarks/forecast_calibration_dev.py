"""Development check of the default forecaster's calibration and accuracy (issue 14 §2-3).

A small companion of ``benchmarks/calibration.py`` for choosing the forecaster's dispersion
and recalibration: the same rolling-origin design (the last ``--origins`` non-overlapping
windows of 28 days / 8 weeks / 3 months, refitted at each origin) through
:func:`predgov.forecast.backtest.backtest`, on the synthetic family
(:mod:`predgov.data.synthetic_family`, where choices are made) and, with ``--real``, on the real
sets in ``../shared/data/`` (held out: reported, never tuned on). Prints per member / set the
central 50 / 80 / 95 % coverage, MASE of the mean (``mase``) and of the median (``mase_med``, the
point absolute error elicits, see :mod:`predgov.forecast.metrics`), and the pooled figures::

    RESULT cov80_min=… cov80_max=… cov95_min=… cov95_max=… cov80_real_pooled=… cov95_real_pooled=…

Beside each empirical coverage ``covNN`` the *nominal mass* ``massNN``: the mean probability the
model's own predictive negative binomial (:meth:`predgov.forecast.nbglm.NBGLM.
predict_distribution`) gives the intervals it issued, over the same scored cells (series that
fell back to TSB or a flat mean have no NB and are left out of it; ``nb_share`` says how many
cells remain). A count's interval is a set of whole numbers and cannot hold exactly 80 %: on a
series with 94 % zero days every interval containing 0 holds at least 0.94, so its coverage is
to be read against its mass (the randomised-PIT view of Czado, Gneiting & Held 2009,
Biometrics 65), not against 0.80. ``pit80`` / ``pit95`` are that view itself: the expected
share of the randomised PIT inside the central band
(:func:`predgov.forecast.metrics.pit_coverage`), exactly the level for a calibrated forecaster
whatever the discreteness. ``covNN`` keeps its meaning (share of observed
counts with ``lo <= y <= hi``) and is what the targets judge.

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
from predgov.forecast.metrics import interval_bounds, pit_coverage, point_forecast
from predgov.forecast.nbglm import NBGLM
from predgov.stats.nb import nb_cdf

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


#: Interval masses recorded by :class:`_MassRecorder`, by fit origin.
_MASSES: dict[str, xr.Dataset] = {}


class _MassRecorder(NBGLM):
    """The default model, recording at each forecast the predictive mass of its issued central
    intervals (``mass50`` / ``mass80`` / ``mass95``, NaN for series without an NB) by origin."""

    def predict(self, horizon: int, regressors: xr.Dataset | None = None) -> xr.Dataset:
        fc = super().predict(horizon, regressors)
        dist = self.predict_distribution(horizon, regressors)
        mean = dist["mean"].values
        size = np.where(np.isfinite(dist["size"].values), dist["size"].values, np.inf)
        nb = np.isfinite(dist["size"].values)
        out = xr.Dataset(coords=dist["mean"].coords)
        for level in (0.5, 0.8, 0.95):
            lo, hi = interval_bounds(fc["quantiles"], level)
            lo, hi = np.ceil(lo.values - 1e-9), np.floor(hi.values + 1e-9)
            mass = nb_cdf(hi, mean, size) - np.where(lo > 0, nb_cdf(lo - 1, mean, size), 0.0)
            out[f"mass{round(level * 100)}"] = (dist["mean"].dims, np.where(nb, mass, np.nan))
        out["nb_mean"] = (dist["mean"].dims, np.where(nb, mean, np.nan))
        out["nb_size"] = (dist["mean"].dims, np.where(nb, size, np.nan))
        # the PIT band each issued interval stands for (recalibrated levels, if any)
        out.attrs["bands"] = {level: self.interval_band(level) for level in (0.8, 0.95)}
        _MASSES[str(fc.attrs["fit_origin"])] = out
        return fc


def _mean_mass(errors: xr.Dataset) -> dict[str, float]:
    """Mean recorded mass over the scored cells (observed actuals) of the backtest ``errors``,
    and the randomised-PIT coverage (``pit80``, ``pit95``) over the same cells."""
    sums: dict[str, list[float]] = {}
    n_nb = n_all = 0
    for o in errors["origin"].values:
        rec = _MASSES.get(pd.Timestamp(o).isoformat())
        if rec is None:
            continue
        act = errors["actual"].sel(origin=o)
        rec = rec.rename(time="lead").assign_coords(lead=act["lead"].values)
        rec = rec.transpose(*act.dims)
        seen = act.notnull().values
        for name in ("mass50", "mass80", "mass95"):
            m = rec[name].values
            ok = seen & np.isfinite(m)
            sums.setdefault(name, []).extend(m[ok].tolist())
        ok = seen & np.isfinite(rec["nb_mean"].values)
        y = np.round(act.values[ok])
        for level in (0.8, 0.95):
            pit = pit_coverage(y, rec["nb_mean"].values[ok], rec["nb_size"].values[ok],
                               band=rec.attrs["bands"][level])  # fmt: skip
            sums.setdefault(f"pit{round(level * 100)}", []).extend(pit.tolist())
        n_nb += int((seen & np.isfinite(rec["mass80"].values)).sum())
        n_all += int(seen.sum())
    out = {k: float(np.mean(v)) if v else math.nan for k, v in sums.items()}
    out["nb_share"] = n_nb / n_all if n_all else math.nan
    return out


def score(counts: xr.DataArray, reg: Any, n_origins: int, params: dict[str, Any],
          model: str = "default") -> dict[str, float]:  # fmt: skip
    """Coverage (50/80/95), MASE, cell count and (default model) the issued intervals' mean
    nominal mass of ``model`` over the last ``n_origins`` non-overlapping windows."""
    freq = counts["time"].attrs.get("freq") or counts.attrs.get("freq")
    h = HORIZON[freq]
    record = model == "default" and isinstance(make_forecaster(model), NBGLM)
    est = _MassRecorder(**params) if record else make_forecaster(model, **params)
    _MASSES.clear()
    res = backtest(est, counts, h, n_origins=n_origins, regressors=reg)
    s = res.scores.loc[("all", "all")]
    e = res.errors
    n = int(np.isfinite(e["actual"].values).sum())
    ok = e["actual"].notnull() & e["scale"].notnull()
    med = (abs(point_forecast(e, "median") - e["actual"]) / e["scale"]).where(ok)
    out = {"cov50": s["cov50"], "cov80": s["cov80"], "cov95": s["cov95"], "mase": s["mase"],
           "mase_med": float(med.mean(["origin", "lead"]).mean()), "n": n}  # fmt: skip
    if record:
        mass = _mean_mass(e)
        out.update({k: mass.get(k, math.nan) for k in ("mass50", "mass80", "mass95", "pit80",
                                                        "pit95", "nb_share")})  # fmt: skip
    return out


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
    for lv in ("cov80", "cov95", "mass80", "mass95", "pit80", "pit95"):
        rr = [rows[n] for n in real if math.isfinite(rows[n].get(lv, math.nan))]
        n_tot = sum(r["n"] for r in rr)
        out[f"{lv}_real_pooled"] = (sum(r[lv] * r["n"] for r in rr) / n_tot) if n_tot else math.nan
    if real:
        rest = [rows[n] for n in real if n != "boston"]
        n_tot = sum(r["n"] for r in rest)
        out["cov80_real_pooled_without_boston"] = (
            sum(r["cov80"] * r["n"] for r in rest) / n_tot if n_tot else math.nan)
    if fam:
        out["mase_family_mean"] = float(np.mean([r["mase"] for r in fam]))
        out["mase_med_family_mean"] = float(np.mean([r["mase_med"] for r in fam]))
    print(f"runtime {time.perf_counter() - tic:.0f} s")
    print("RESULT " + " ".join(f"{k}={v:.3f}" for k, v in out.items()))
    sys.stdout.flush()
    return {"rows": rows, **out}


if __name__ == "__main__":
    main()
