"""Write notebooks/03_warning.ipynb (cells kept here so the notebook stays reviewable as code)."""

from _nb import code, md, write_notebook

cells = [
    md("""
        # 03 · Early warning: emerging rises in complaint counts

        **Question:** can an emerging problem be flagged from its first days of extra calls,
        how many real problems does the warning catch, how fast, and at what cost in false
        alarms?

        "Problems get found, warnings get sent": the hotline should notice an emerging problem
        (苗头性问题) — a burst pipe, a rogue merchant, a construction site working at night — from
        the first days of extra calls, not after the month-end report. A detector scores every day of
        every district × category series against what was expected *with only the data known that
        day* and raises an alarm when the excess is unlikely to be chance.

        1. run the default detector over the demo city and turn its alarms into an alert table;
        2. check it against the demo city's ground truth: an alert timeline for one injected anomaly and
           the alert board a duty officer would have seen that day;
        3. compare the detectors predgov offers;
        4. measure detection quality on a small city with injected outbreaks (probability of detection
           vs false alarms, as the threshold moves);
        5. check that the default's alarm rate holds on series it was not tuned on (the calibration
           harness's synthetic family);
        6. run on the real Brooklyn noise series, where there is no injected truth: how often does it
           alarm?
    """),
    code("""
        import time

        import matplotlib.pyplot as plt
        import numpy as np
        import pandas as pd

        from predgov.data import calendar, demo_city, read_records, to_cube
        from predgov.paths import BROOKLYN_NOISE, shared_data_file
        from predgov.viz import OKABE_ITO, add_source_line, briefing_style
        from predgov.viz.warn_figures import alert_board, alert_timeline
        from predgov.warn import DETECTORS, alerts, detect
        from predgov.warn.alerts import publishable
        from predgov.data.synthetic_family import generate
        from predgov.warn.evaluate import (demo_baseline, evaluate, inject_outbreaks, run, score_alarms,
                                           sweep)

        pd.set_option("display.width", 160)
        pd.set_option("display.max_colwidth", 80)
        DATE = "2024-12-31"  # the demo city's last day, printed on every source line
        SCORED_FROM = "2023-01-01"  # the first demo year is history only
    """),
    md("""
        ## 1. Detect on the demo city

        `detect(cube, method="default")` runs the recommended detector for the cube's frequency over
        every series at once. It returns, per day and series, a `score`, the `threshold` it is
        compared with, the `alarm` flag and the `expected` count the detector believed in.
        Passing the city (`city="qingdao"`: holidays, 调休 make-up days, heating and tourist
        seasons) and the observed temperature lets the expected counts anticipate calendar and
        weather effects instead of alarming on them.
    """),
    code("""
        city = demo_city(seed=0)
        source = city.attrs["source"]
        tic = time.perf_counter()
        weather = city[["temperature"]]
        alarms = detect(city, method="default", start=SCORED_FROM, city="qingdao", regressors=weather)
        seconds = time.perf_counter() - tic

        scored_days = city["counts"].sel(time=slice(SCORED_FROM, None)).notnull().sum().item()
        series_years = scored_days / 365.25
        n_alarm = int(alarms["alarm"].sum())
        print(f"default detector = {alarms.attrs['detector']} ({DETECTORS[alarms.attrs['detector']].description})")
        print(f"{alarms.sizes['district'] * alarms.sizes['category']} series scored from {SCORED_FROM} "
              f"in {seconds:.1f} s; {n_alarm} alarm days = {n_alarm / series_years:.1f} per series-year")
        alarms
    """),
    md("""
        ### The alert table

        Consecutive alarm days of a series form one alert; alerts of a parent class and its children in
        the same district are grouped into one row. Each alert gets a severity (how far above the
        expected level, and by how many requests) and a one-line explanation in Chinese and English.
        `publishable` hides counts below 5 before the table leaves the building.
    """),
    code("""
        table = alerts(alarms, city)
        print(len(table), "alerts;", table["severity"].value_counts().to_dict())
        shown = ["district", "label_en", "children", "start", "end", "observed", "expected", "ratio",
                 "severity", "explanation_zh"]
        publishable(table)[shown].head(12)
    """),
    md("""
        When one category alarms in many districts on the same day, the cause is usually city-wide — the
        start of the heating season, construction restarting after the Spring Festival, a holiday, the
        weather — not a local problem. Such waves are worth reading as one event. The days and
        categories with the most districts in alarm at once (two or more; since the baseline lets a
        series' first-year seasonal rise into its level after two weeks instead of four, the
        heating-season onset no longer sets off four districts at once):
    """),
    code("""
        per_day = alarms["alarm"].sum("district").to_series()
        waves = per_day[per_day >= 2].rename("districts in alarm").reset_index()
        waves["label_en"] = city["label_en"].to_series().reindex(waves["category"]).to_numpy()
        waves.sort_values(["districts in alarm", "time"], ascending=[False, True]).head(10)
    """),
    md("""
        ## 2. Against the ground truth

        The demo city carries a table of the anomalies injected into it (`anomaly_*` variables): where,
        when, how large (`anomaly_k`, in baseline standard deviations) and what kind (a short spike or a
        slow trend). For each one in the scored period: was there an alarm in that series while it ran,
        and after how many days?
    """),
    code("""
        truth = city[[v for v in city.data_vars if v.startswith("anomaly_")]].to_dataframe()
        truth.columns = [c.removeprefix("anomaly_") for c in truth.columns]
        truth = truth[truth["start"] >= SCORED_FROM].copy()


        def first_alarm(row, result=alarms):
            hit = result["alarm"].sel(district=row["district"], category=row["category"],
                                      time=slice(row["start"], row["end"])).to_series()
            return hit.index[hit.to_numpy()].min() if hit.any() else pd.NaT


        truth["first_alarm"] = truth.apply(first_alarm, axis=1)
        truth["delay_days"] = (truth["first_alarm"] - truth["start"]).dt.days
        truth["detected"] = truth["first_alarm"].notna()
        summary = truth.groupby("kind").agg(anomalies=("detected", "size"), detected=("detected", "mean"),
                                            median_delay_days=("delay_days", "median"))
        summary
    """),
    md("""
        ### Alert timeline of one injected anomaly

        The largest short spike in the scored period. Blue: observed counts; orange: the detector's
        expected level and the band up to where it alarms; red triangles: alarm days. The shaded
        window is the injected anomaly.
    """),
    code("""
        spikes = truth[truth["kind"] == "spike"]
        case = spikes.loc[spikes["k"].idxmax()] if not spikes.empty else truth.iloc[0]
        print(f"anomaly: {case['district']} · {case['category']}, {case['start']:%Y-%m-%d} .. "
              f"{case['end']:%Y-%m-%d}, {case['size']} extra requests ({case['k']} SD); "
              f"first alarm: {case['first_alarm']:%Y-%m-%d}" if case["detected"] else "not detected")
        fig = alert_timeline(city, alarms, district=case["district"], category=case["category"],
                             start=case["start"] - pd.Timedelta(days=35),
                             end=case["end"] + pd.Timedelta(days=20), source=source, date=DATE)
        ax = fig.axes[0]
        ax.axvspan(case["start"] - pd.Timedelta(hours=12), case["end"] + pd.Timedelta(hours=12),
                   color="0.5", alpha=0.15, lw=0)
        ax.annotate("injected anomaly", xy=(case["end"] + pd.Timedelta(hours=12), 1.0),
                    xycoords=("data", "axes fraction"), xytext=(3, -3), textcoords="offset points",
                    ha="left", va="top", fontsize=9, color="0.35")
        plt.show()
    """),
    md("""
        ### The alert board that day

        What the duty officer sees on the morning of the first alarm of that anomaly: every district ×
        category cell with the severity of the alert running that day (light grey = none), and the
        day's count under the mark. Columns are grouped by parent class.
    """),
    code("""
        board_day = case["first_alarm"] if case["detected"] else case["start"]
        fig = alert_board(alarms, city, day=board_day, source=source, date=DATE)
        plt.show()
        running = table[(table["start"] <= board_day) & (table["end"] >= board_day)]
        running[["district", "label_en", "children", "start", "severity", "explanation_en"]]
    """),
    md("""
        ## 3. Compare the detectors

        Every detector over the last demo year (two earlier years as history): how many alarm days and
        alerts per series-year it raises — the workload it creates — and how many of the injected
        anomalies it catches. A detector that catches everything by alarming every week is useless to
        an analyst; the trade-off is measured properly in section 4.
    """),
    code("""
        window = ("2024-01-01", "2024-12-31")
        obs_days = city["counts"].sel(time=slice(*window)).notnull().sum().item()
        years = obs_days / 365.25
        truth_year = truth[(truth["start"] >= window[0]) & (truth["start"] <= window[1])]
        rows = {}
        for method in ["default", *DETECTORS]:
            tic = time.perf_counter()
            result = detect(city, method=method, start=window[0], end=window[1],
                            city="qingdao", regressors=weather)
            runs = alerts(result, city, group_hierarchy=False)
            caught = truth_year.apply(first_alarm, axis=1, result=result).notna()
            rows[method] = {
                "detector": result.attrs["detector"],
                "alarm days / series-year": int(result["alarm"].sum()) / years,
                "alerts / series-year": len(runs) / years,
                "anomalies caught": f"{int(caught.sum())} of {len(caught)}",
                "seconds": time.perf_counter() - tic,
            }
        comparison = pd.DataFrame.from_dict(rows, orient="index")
        comparison.round(2)
    """),
    md("""
        ## 4. Detection quality: outbreaks injected into a small city

        To measure detection, the truth must be known. A small outbreak-free demo city (three districts
        × four categories, a different seed) gets outbreaks injected: every 45–90 days per series, each
        adding 3 baseline standard deviations a day for a few days. A threshold sweep then traces, for
        each detector, the probability of detecting an outbreak within 3 days (POD) against false alarm
        days per series-year. Up and to the left is better; the dashed line is a budget of one false
        alarm per series-year.

        Every detector gets what the `predgov` command gives it: the city's calendar
        (`city="qingdao"`) and the observed temperature. An earlier version of this notebook left
        both out; the default's expected counts then could not anticipate the heating season or
        cold spells, and at one false alarm per series-year it ranked worst (POD 0.02 against
        Farrington's 0.30). `benchmarks/warn_quality.py` passes both, as the pipeline does: that
        is the setup users meet.
    """),
    code("""
        small = dict(districts=["市南", "城阳", "平度"],
                     categories=["water_supply", "consumer_dispute", "parking", "sanitation"])
        test_city = demo_city(seed=2, anomalies=False, **small)
        base = demo_baseline(test_city)
        model = dict(city="qingdao", regressors=test_city[["temperature"]])
        test, outbreaks = inject_outbreaks(base, seed=3, k=3.0, gap=(45, 90), start=SCORED_FROM)
        print(len(outbreaks), "outbreaks injected into", len(small["districts"]) * len(small["categories"]),
              "series")

        methods = ["default", "ears_c2", "exceedance", "farrington"]
        curves = {}
        tic = time.perf_counter()
        for method in methods:
            scored = run(test, method, start=SCORED_FROM, **model)
            label = f"{method} ({scored.name})" if method == "default" else method
            curves[label] = sweep(scored, outbreaks, within=3)
        print(f"sweeps: {time.perf_counter() - tic:.1f} s")

        with briefing_style():
            fig, ax = plt.subplots(figsize=(8, 4.8))
            for (label, curve), color in zip(curves.items(), OKABE_ITO):
                c = curve[curve["fa"] > 0].sort_values("fa")
                ax.plot(c["fa"], c["pod"], marker="o", ms=3.5, lw=1.8, color=color, label=label)
            ax.axvline(1.0, color="0.4", ls="--", lw=1)
            ax.set_xscale("log")
            ax.set_xlabel("false alarm days per series-year (log scale)")
            ax.set_ylabel("share of outbreaks detected within 3 days")
            ax.set_ylim(0, 1)
            ax.set_title("Detection vs false alarms as the threshold moves")
            ax.legend(loc="lower right")
            add_source_line(fig, source, date=DATE)
            plt.show()
    """),
    md("""
        The curves compare detectors at *any* threshold. In operation a threshold must be fixed in
        advance: `evaluate` sets each detector's threshold on a separate outbreak-free city (seed 1) to
        at most one false alarm per series-year, then measures the injected city with it — the honest
        version of the dashed line. The last row is the default at its *own* thresholds, with no
        calibration on any city: one per day and series, from the baseline's predictive
        distribution (section 5).
    """),
    code("""
        train = demo_city(seed=1, anomalies=False, **small)
        quality = evaluate(methods, train, test, outbreaks, fa_budget=1.0, within=3, start=SCORED_FROM,
                           city="qingdao", train_regressors=train[["temperature"]],
                           test_regressors=test_city[["temperature"]])
        own = evaluate(["default"], None, test, outbreaks, fa_budget=None, within=3, start=SCORED_FROM,
                       city="qingdao", test_regressors=test_city[["temperature"]])
        quality = pd.concat([quality, own.rename(index={"default": "default, own thresholds"})])
        quality[["threshold", "fa_train", "pod", "pod_any", "fa", "delay_median", "delay_p90", "ppv",
                 "n_outbreaks"]].round(3)
    """),
    md("""
        ## 5. Calibrated by construction: series the package was not tuned on

        A threshold tuned on one city does not carry over: on over-dispersed series the old default
        (a fixed CUSUM threshold `h = 5.1` calibrated on the demo city) raised 2–11 false alarm
        days per series-year. The default now derives every day's threshold from its baseline's
        *predictive distribution*: the baseline (a calendar-aware negative-binomial GLM refitted
        weekly on the past, outbreaks it flags left out for up to four weeks) corrects its mean and
        dispersion by the series' own past standardised errors (self-calibration over the last
        year), and the CUSUM threshold is the one whose in-control average run length under that
        negative binomial gives the target number of false alarms per series-year (a Markov-chain
        computation, `predgov.warn.arl`). Past outbreaks are kept out of that self-calibration by
        a second, more sensitive feedback CUSUM (after a series' first year), and from the second
        year on its mean correction leaves out the first year's errors (made by a model without
        yearly terms, whose level lagged the season). The choice and its
        tuning constants (a margin of 0.6 for errors in the estimated mean, daily; the feedback
        thresholds) were made on a synthetic family of series
        (`predgov.data.synthetic_family`: Poisson through NB size 1, levels 0.3–1,000 a day,
        weekly and yearly cycles with random phase, trends, level shifts, holidays, intermittent
        series) — never on the real sets, which stay held out. A small version of the harness
        (`benchmarks/calibration.py`; four members, four series each, three years, scored from
        day 56, counted from a year and 20 days on):
    """),
    code("""
        members = ["d_pois_mid", "d_nb_size1", "d_seasonal", "d_pois_high"]
        tic = time.perf_counter()
        fam_rows = {}
        for name in members:
            ds = generate(name, seed=0, n_series=4, years=3.0)
            e0 = 385  # a year and 20 days of history
            clean = run(ds[["counts"]].assign_attrs(freq="D"), "default", start=ds["time"].values[56])
            none = pd.DataFrame({"series": [], "start": [], "end": []}, dtype=int)
            fa = score_alarms(clean.alarms(), none, observed=clean.observed, start=e0)["fa"]
            cube, table = inject_outbreaks(ds, seed=5, k=3.0, start=ds["time"].values[e0], min_mean=0.25)
            hit = run(cube, "default", start=ds["time"].values[e0])
            m = score_alarms(hit.alarms(), table, observed=hit.observed, start=e0, within=3)
            fam_rows[name] = {"false alarms / series-year": fa, "POD (sustained 3-SD shift, within 3 days)": m["pod"],
                              "median delay (days)": m["delay_median"], "outbreaks": m["n_outbreaks"]}
        family_table = pd.DataFrame.from_dict(fam_rows, orient="index")
        print(f"{time.perf_counter() - tic:.1f} s")

        with briefing_style():
            fig, ax = plt.subplots(figsize=(8, 3.6))
            ax.barh(family_table.index, family_table["false alarms / series-year"], color=OKABE_ITO[0])
            ax.axvspan(0.5, 1.5, color="0.85", zorder=0, lw=0)
            ax.axvline(1.0, color="0.4", ls="--", lw=1)
            ax.set_xlabel("false alarm days per series-year (target 1; band 0.5-1.5)")
            ax.set_title("Default detector at its own thresholds, outbreak-free synthetic series")
            add_source_line(fig, "predgov synthetic family (seed 0)", date=DATE)
            plt.show()
        family_table.round(2)
    """),
    md("""
        The full harness (`python benchmarks/calibration.py`: 14 members, 12 series each, plus the
        three real sets held out; its output is pasted in the closing note of issue 14) measured
        for the default, counted from a year and 20 days of history on:

        * false alarms per series-year **0.51–1.46 on every daily member with at least 1 request
          a day** (Poisson, NB size 1–50, 1–1,000 a day, strong cycles, trends, level shifts,
          holidays; 0.92 pooled), 0.39–0.81 on the sparse and intermittent ones. On other draws
          of the family (seeds 1–4, where the choices were made) pooled 1.02–1.25, but level
          shifts (up to 2.3: the baseline stays low for months after a lasting 20–50 % rise) and
          holidays of very different sizes given as one flag (up to 2.1) still exceed 1.5 on some
          draws; twelve series a member measure a member's rate to about ±0.2; the old fixed threshold
          (`h = 5.1`, tuned on the demo city) gave 0.6–11 on the same series;
        * outbreaks as the simulation literature defines them (Noufaily et al. 2013, R's
          `surveillance::sts_creation`: `Poisson(k × SD)` extra requests *in all*, spread over a
          log-normal number of days; detected if any alarm falls during the outbreak): 12 % of
          3-SD outbreaks detected (4–21 % by member), median delay 1 day. That is close to the
          ceiling: a CUSUM that is *told* every day's true mean and dispersion, at the same one
          false alarm per series-year, detects 18 %. On daily counts a 3-SD total excess is
          about one unusual day and cannot be told from noise at that false-alarm rate;
        * a sustained rise (3 SD *every* day for a median of 4 days, the SPC shift the table above
          uses): 75 % detected within 3 days (23–92 % by member), against 88 % for the oracle
          CUSUM; the gap is the cost of estimating the mean from the past (outbreak days the
          feedback misses still widen the next predictive distribution: fitted on the
          outbreak-free copy of the same series the detector reached 82 % against 72 % on
          seeds 1–2);
        * the first year is weaker: without yearly terms the baseline lags the season. The
          first-year threshold carries the uncertainty of a mean learnt from a short history
          (`warn.arl.persistent_threshold`), and in its first year a series' rises flagged as
          outbreaks are let into the level after two weeks instead of four: first-year false alarms
          on strongly seasonal series fell from 9 to 6 and then to 3 per series-year (0.4–2.1 on
          the other members); the real Brooklyn file (one year) shows 4.8;
        * weekly and monthly cubes default to Farrington-flexible with alpha = 1 / periods per year
          and a predictive negative-binomial threshold: 1.21 (weekly) and 1.03 (monthly) false
          alarm periods per series-year on the family's weekly and monthly members (at the usual
          alpha = 0.05 it was 3.5 a year weekly);
        * on series of hundreds a day, a mean error of a few percent that persists for weeks is a
          whole SD, which the run-length computation (independent days) does not see: a small draw
          of four series can show two or more false alarms per series-year on such series (the
          largest source, a second year corrected by the first year's errors, is removed).
    """),
    md("""
        ## 6. Real data: Brooklyn residential noise, 2023

        A real series has no injected truth, but it shows the detectors' false-alarm behaviour on data
        that was not made to fit their assumptions. Scoring starts in March (two months of history).
        Each alarm is a day an analyst would be asked to look at; the table says how many such days a
        year each detector would produce.
    """),
    code("""
        records = read_records(shared_data_file(BROOKLYN_NOISE), preset="nyc311_brooklyn_noise").records
        brooklyn = to_cube(records, freq="D", taxonomy="nyc311", period=("2023-01-01", "2023-12-31"),
                           source="NYC 311 (NYC Open Data)")
        bk_start = "2023-03-01"
        bk_years = brooklyn["counts"].sel(time=slice(bk_start, None)).notnull().sum().item() / 365.25
        bk_rows, bk_alarms = {}, {}
        for method in ["default", "ears_c2", "exceedance", "trend"]:
            result = detect(brooklyn, method=method, start=bk_start)
            bk_alarms[method] = result
            bk_rows[method] = {"detector": result.attrs["detector"],
                               "alarm days / year": int(result["alarm"].sum()) / bk_years,
                               "alerts / year": len(alerts(result, brooklyn)) / bk_years}
        pd.DataFrame.from_dict(bk_rows, orient="index").round(1)
    """),
    code("""
        bk_default = bk_alarms["default"]
        fig = alert_timeline(brooklyn, bk_default, district="BROOKLYN", category="Noise - Residential",
                             start=bk_start, source="NYC Open Data 311 (erm2-nwe9)", date="2023-12-31")
        plt.show()

        us = calendar(brooklyn["time"], city=None, country="US")["holiday_name"].to_series()
        bk_table = alerts(bk_default, brooklyn)
        bk_table["US holiday in the alert"] = [
            ", ".join(sorted({n for n in us.loc[s:e] if n})) for s, e in zip(bk_table["start"], bk_table["end"])
        ]
        publishable(bk_table)[["start", "end", "observed", "expected", "ratio", "severity",
                               "US holiday in the alert"]]
    """),
    md("""
        Alarms that fall on a public holiday (last column) are real rises, but expected ones: a
        calendar-aware expected level, or a rule that mutes known holiday effects, turns them from
        alerts into notes.

        ## What this means for early warning

        * The alert table and board are the daily product: a short list, ranked by severity, each row
          saying where, what and how far above normal.
        * The ground-truth check and the injected-outbreak curves say what the list can be trusted for:
          how many real problems it catches, how fast, and at what cost in false alarms.
        * City-wide waves and holiday alarms are the main sources of noise; reading them as one event,
          or muting known calendar effects, keeps the list short enough to act on.
    """),
]

write_notebook(cells, "03_warning.ipynb")
