"""Early-warning quality: every detector on daily demo-city series with injected outbreaks.

Design (see :mod:`predgov.warn.evaluate` for the definitions):

* **Calibration**: each detector's threshold is set to at most ``--budget`` (1) false alarm
  periods per series-year on an *outbreak-free* demo city (``demo_city(seed=1,
  anomalies=False)``), evaluated over its last two years (the first year is history only).
* **Detection**: a *different* outbreak-free city (``seed=2``) gets outbreaks injected
  (``inject_outbreaks(seed=3)``): every 45-90 days per series with a mean of at least 1 a
  day, size ``k`` baseline SDs (``k = 3``) in each day of a lognormal duration (median 4 days)
  ("per_period" sizing). Reported: ``pod`` (alarm within the first 3 days), ``pod_any``,
  ``fa`` and ``fa_runs`` per series-year, median / p90 delay (days), ``ppv``.
* ``nb_cusum`` and ``exceedance`` use the calendar-aware expected counts
  (:mod:`predgov.warn.expected`) with the Qingdao calendar (``city="qingdao"``) and each city's
  own observed ``temperature``; ``nb_cusum_level`` is the CUSUM on the rolling level x weekday
  baseline (the previous default), calibrated the same way.
* A second table uses the Noufaily / ``sts_creation`` sizing ("total": ``k`` SDs of extra
  counts *in all*, lognormal delays, ``k = 5``) at the same thresholds.
* **Brooklyn** (real NYC 311 residential noise 2023, one daily series, no injection): false
  alarms per series-year at the demo-calibrated thresholds, scored from 2023-03-01; then 20
  replicate copies with injected outbreaks (per-period sizing, ``k = 3``, baseline from a
  centred smoother) for the POD on real data. Farrington needs a year of history: n/a there.

* **Weekly** (``--no-weekly`` skips it): the same two outbreak-free cities summed to Monday
  weeks (``resample_counts``), thresholds calibrated to the same budget on seed 1 and scored
  from 2023-01-02 (Farrington, the weekly default, needs a year of history). Outbreaks keep
  the daily design's share of outbreak periods (about 6 %): ``k`` SDs of the *weekly* count in
  each week of a lognormal duration with median 1 week, every 13-26 weeks; detected = an alarm
  in the outbreak's first 2 weeks (``within=2``), alarms up to 1 week after its end are not
  false (``tail=1``). Also printed: the weekly default's false alarms by calendar month on the
  outbreak-free test city (do they bunch at season onsets, e.g. heating from 15 November?).

* ``default_own``: the default at its *own* per-cell thresholds (no calibration on the
  training city: each cell's threshold gives 1 false alarm per series-year under the
  baseline's self-calibrated predictive distribution, :mod:`predgov.warn.arl`).

This setup (the city's calendar and observed temperature passed to the calendar-aware
detectors) is the one the ``predgov`` command gives ``detect`` (``experiment/stages/warn.py``):
what users meet. Notebook 03's section 4 used to leave calendar and temperature out, which is
why it ranked the default worst there (POD 0.022); it now passes both. Whether the default's
false-alarm rate holds on series nobody tuned on is ``benchmarks/calibration.py``'s question.

Ends with ``RESULT pod=… fa=… delay=… c2_pod=… c2_fa=…`` for the default daily detector and
EARS C2 on the demo city with the **per-period** sizing (k = 3 SD extra on every outbreak day),
not the Noufaily "total" sizing. Brooklyn gets the US holiday calendar (no seasons, no weather).
Run: ``python benchmarks/warn_quality.py``
(about 75 s on 2 cores). Never reads ``shared/holdout``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd

from predgov.data.demo import demo_city
from predgov.warn import DEFAULT, DETECTORS
from predgov.warn.evaluate import (
    calibrate,
    demo_baseline,
    evaluate,
    inject_outbreaks,
    run,
    smooth_baseline,
)

COLUMNS = ["threshold", "fa_train", "pod", "pod_any", "fa", "fa_runs", "delay_median",
           "delay_p90", "ppv", "n_outbreaks"]  # fmt: skip


def _city(seed: int, small: bool):
    if small:
        return demo_city(
            seed=seed, anomalies=False, start="2022-01-01", end="2023-12-31",
            districts=["市南", "平度"], categories=["parking", "consumer_dispute"],
        )  # fmt: skip
    return demo_city(seed=seed, anomalies=False)


def _brooklyn():
    from predgov.data import read_records
    from predgov.data.cube import to_cube
    from predgov.paths import BROOKLYN_NOISE, shared_data_file

    try:
        path = shared_data_file(BROOKLYN_NOISE)
    except FileNotFoundError:
        return None
    records = read_records(path, preset="nyc311_brooklyn_noise").records
    return to_cube(records, freq="D", taxonomy="nyc311")


def _us_calendar(cube):
    """US public holidays over the Brooklyn cube's time axis (no seasons, no weather)."""
    from predgov.data.calendar import calendar

    try:
        return calendar(cube, None, country="US")
    except ValueError:  # pragma: no cover - holidays release without those years
        return None


def _weekly_city(seed: int, small: bool):
    """Outbreak-free demo city summed to Monday weeks (counts and expected counts)."""
    from predgov.data.cube import resample_counts

    city = _city(seed, small)
    return resample_counts(city[["counts", "expected"]], "W-MON")


def weekly_section(methods: Sequence[str], budget: float, k: float, small: bool = False
                   ) -> tuple[pd.DataFrame, pd.Series]:  # fmt: skip
    """Weekly detectors: calibrated on one outbreak-free weekly city, scored on another with
    injected outbreaks; and the weekly default's false alarms by month (no outbreaks)."""
    start = "2023-01-02"
    train, test_city = _weekly_city(1, small), _weekly_city(2, small)
    base = demo_baseline(test_city)
    test, table = inject_outbreaks(base, seed=3, k=k, start=start, duration=1.0, gap=(13, 26))
    result = evaluate(methods, train, test, table, fa_budget=budget, start=start,
                      city="qingdao", within=2, tail=1)  # fmt: skip
    default = DEFAULT["W-MON"][0]
    clean = run(base, default, start=start, city="qingdao")
    h = calibrate(run(train, default, start=start, city="qingdao"), budget)
    months = pd.DatetimeIndex(base["time"].values).month
    by_month = pd.Series(clean.alarms(h).sum(axis=1), index=months).groupby(level=0).sum()
    by_month.index.name = "month"
    print(
        f"\nDemo city, weekly (W-MON), {test['counts'].shape[1:]} series, outbreaks k={k:g} SD "
        f"of the weekly count per week, {len(table)} outbreaks; detected = alarm within 2 "
        f"weeks; thresholds calibrated to {budget:g} false alarm/series-year; default = {default}"
    )
    print(result[COLUMNS].round(3).to_string())
    print(f"{default} false alarms by month on the outbreak-free weekly city (threshold "
          f"{h:.3f}, {clean.false_alarm_rate(h):.3f} per series-year): "
          + " ".join(f"{m}:{int(n)}" for m, n in by_month.items()))  # fmt: skip
    return result, by_month


def main(argv: Sequence[str] | None = None, *, small: bool = False) -> dict[str, pd.DataFrame]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=1.0, help="false alarms per series-year")
    parser.add_argument("--k", type=float, default=3.0, help="outbreak size in baseline SDs")
    parser.add_argument("--methods", default=",".join(DETECTORS))
    parser.add_argument("--no-brooklyn", action="store_true")
    parser.add_argument("--no-weekly", action="store_true")
    args = parser.parse_args(argv)
    methods = [m for m in args.methods.split(",") if m]
    default = DEFAULT["D"][0]
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    tic = time.perf_counter()

    start = "2023-01-01"
    train = _city(1, small)
    test_city = _city(2, small)
    base = demo_baseline(test_city)
    # Calendar-aware detectors get the Qingdao calendar and each city's observed temperature.
    model = dict(
        city="qingdao", train_regressors=train[["temperature"]],
        test_regressors=test_city[["temperature"]],
    )  # fmt: skip
    test, table = inject_outbreaks(base, seed=3, k=args.k, start=start)
    result = evaluate(methods, train, test, table, fa_budget=args.budget, start=start, **model)
    if "nb_cusum" in methods:  # the default at its own thresholds (no calibration on seed 1)
        own = evaluate(["default"], None, test, table, fa_budget=None, start=start, **model)
        result = pd.concat([result, own.rename(index={"default": "default_own"})])
    level = {"params": {"nb_cusum": {"baseline": "level"}}}
    if "nb_cusum" in methods:  # the previous default: rolling level x weekday baseline
        old = evaluate(["nb_cusum"], train, test, table, fa_budget=args.budget, start=start,
                       **level)  # fmt: skip
        result = pd.concat([result, old.rename(index={"nb_cusum": "nb_cusum_level"})])
    print(
        f"Demo city, daily, {test['counts'].shape[1:]} series, outbreaks k={args.k:g} SD per "
        f"day (per_period sizing), {len(table)} outbreaks; thresholds calibrated to "
        f"{args.budget:g} false alarm/series-year on an outbreak-free city; default = {default}"
    )
    print(result[COLUMNS].round(3).to_string())
    thresholds = result["threshold"].to_dict()

    test_t, table_t = inject_outbreaks(base, seed=4, k=5.0, sizing="total", start=start)
    total = evaluate(methods, None, test_t, table_t, thresholds=thresholds, start=start, **model)
    if "nb_cusum" in methods:
        old = evaluate(["nb_cusum"], None, test_t, table_t, start=start, **level,
                       thresholds={"nb_cusum": thresholds["nb_cusum_level"]})  # fmt: skip
        total = pd.concat([total, old.rename(index={"nb_cusum": "nb_cusum_level"})])
    print(f"\nSame thresholds, Noufaily 'total' sizing (k=5 SD in all, lognormal delays), "
          f"{len(table_t)} outbreaks")  # fmt: skip
    print(total[COLUMNS[2:]].round(3).to_string())

    out = {"demo": result, "demo_total": total}
    cube = None if (args.no_brooklyn or small) else _brooklyn()
    if cube is not None:
        bk_start = "2023-03-01"
        bk_cal = _us_calendar(cube)
        rows = {}
        variants = {m: (m, {}) for m in methods}
        if "nb_cusum" in methods:
            variants["nb_cusum_level"] = ("nb_cusum", {"baseline": "level"})
        for m, (method, extra) in variants.items():
            scored = run(cube, method, start=bk_start, regressors=bk_cal, **extra)
            h = thresholds[m]
            fa = scored.false_alarm_rate(h) if np.isfinite(scored.raw["score"]).any() else np.nan
            h_real = calibrate(scored, args.budget) if np.isfinite(fa) else np.nan
            rows[m] = {"fa_at_demo_threshold": fa, "threshold_for_budget": h_real}
        real = pd.DataFrame(rows).T
        bbase = smooth_baseline(cube)
        btest, btable = inject_outbreaks(bbase, seed=5, k=args.k, start="2023-03-15",
                                         gap=(25, 40), replicates=20)  # fmt: skip
        bres = evaluate(
            methods, None, btest, btable, thresholds=thresholds, start=bk_start,
            test_regressors=bk_cal,
        )  # fmt: skip
        if "nb_cusum" in methods:
            bold = evaluate(["nb_cusum"], None, btest, btable, start=bk_start, **level,
                            thresholds={"nb_cusum": thresholds["nb_cusum_level"]})  # fmt: skip
            bres = pd.concat([bres, bold.rename(index={"nb_cusum": "nb_cusum_level"})])
        real = real.join(bres[["pod", "pod_any", "delay_median", "fa", "ppv"]]
                         .rename(columns={"fa": "fa_injected"}))  # fmt: skip
        print(f"\nBrooklyn residential noise 2023 (real, 1 series, from {bk_start}): false alarms "
              f"per series-year at the demo thresholds; POD on 20 injected replicates "
              f"({len(btable)} outbreaks, k={args.k:g} SD per day)")  # fmt: skip
        print(real.round(3).to_string())
        out["brooklyn"] = real

    if not args.no_weekly:
        out["weekly"], out["weekly_fa_by_month"] = weekly_section(
            methods, args.budget, args.k, small
        )

    d, c2 = result.loc[default], result.loc["ears_c2"] if "ears_c2" in result.index else None
    print(f"\nruntime {time.perf_counter() - tic:.0f} s")
    line = f"RESULT pod={d['pod']:.3f} fa={d['fa']:.3f} delay={d['delay_median']:.1f}"
    if c2 is not None:
        line += f" c2_pod={c2['pod']:.3f} c2_fa={c2['fa']:.3f}"
    print(line)
    sys.stdout.flush()
    return out


if __name__ == "__main__":
    main()
