"""Write notebooks/02_forecast.ipynb (cells kept here so the notebook stays reviewable as code)."""

from _nb import code, md, write_notebook

cells = [
    md("""
        # 02 · Forecasting complaint volumes

        **Question:** where and when will complaint volumes come next season, district by
        category, with what uncertainty — and how far can those forecasts be trusted?

        Off-season work (checking heating systems in summer, briefing merchants before the tourist
        season) only pays off if it is aimed at the districts and categories where complaints *will*
        come. This notebook forecasts every district × category series of the demo city with honest
        uncertainty and checks, by backtest, how far those forecasts can be trusted.

        1. fit the recommended model (`make_forecaster("default")`) on the whole demo city and forecast
           the coming months, with calendar regressors (holidays, 调休 make-up working days, heating and
           tourist seasons) that cover the forecast horizon too;
        2. fan charts of series that matter for targeting: heating where it is heaviest, consumer
           disputes in 市南 (tourist season) — hindcasts drawn against what really happened;
        3. a rolling-origin backtest: seasonal naive vs the default model vs Prophet, skill by lead time,
           and a district × category map of skill relative to the seasonal naive;
        4. reconciliation: making district, category and city forecasts add up (bottom-up vs MinT);
        5. the real Brooklyn residential-noise series: default model vs Prophet.
    """),
    code("""
        import time

        import matplotlib as mpl
        import matplotlib.pyplot as plt
        import numpy as np
        import pandas as pd

        from predgov.data import calendar, demo_city, read_records, to_cube
        from predgov.forecast import DEFAULT_QUANTILES, make_forecaster
        from predgov.forecast.backtest import backtest
        from predgov.forecast.reconcile import hierarchy_levels, incoherence, reconcile
        from predgov.paths import BROOKLYN_NOISE, shared_data_file
        from predgov.viz import add_source_line, briefing_style
        from predgov.viz.forecast_figures import fan_chart, relative_skill_map, skill_by_lead

        pd.set_option("display.width", 140)
        pd.set_option("display.float_format", "{:.3f}".format)
        DATE = "2024-12-31"  # the demo city's last day, printed on every source line
    """),
    md("""
        ## 1. Fit and forecast the demo city

        Every series is fitted at once. The calendar must cover the forecast horizon as well as the
        history — holidays and seasons are known in advance — so it is built over the extended time
        axis and split into a training part and a future part.
    """),
    code("""
        city = demo_city(seed=0)
        counts = city["counts"]
        source = city.attrs["source"]
        HORIZON = 120  # days: January to the end of April, past the end of the heating season

        last = pd.Timestamp(counts["time"].values[-1])
        future = pd.date_range(last + pd.Timedelta(days=1), periods=HORIZON, freq="D", name="time")
        cal = calendar(pd.DatetimeIndex(counts["time"].values).append(future), city="qingdao")
        cal_train, cal_future = cal.sel(time=counts["time"]), cal.sel(time=future)

        tic = time.perf_counter()
        model = make_forecaster("default").fit(counts, regressors=cal_train)
        forecast = model.predict(HORIZON, regressors=cal_future)
        n_series = counts.sizes["district"] * counts.sizes["category"]
        print(f"{forecast.attrs['model']}: {n_series} series fitted and forecast {HORIZON} days "
              f"in {time.perf_counter() - tic:.1f} s; origin {forecast.attrs['fit_origin'][:10]}")
        print("quantile levels:", list(DEFAULT_QUANTILES))
        print("series that fell back to a baseline:", int((forecast["fallback"] != "").sum()))
        forecast
    """),
    md("""
        The forecast is a Dataset like the cube: `mean` and `quantiles` over the future `time`, never
        negative. Summed over the horizon it says where the load will be. Heating is the largest
        seasonal service: below, the expected heating calls per district for the next four months,
        next to the same months a year earlier (a sum of means; interval of a sum is not the sum of
        intervals, so only the expected total is shown).
    """),
    code("""
        heat_next = forecast["mean"].sel(category="heating").sum("time")
        same_months = pd.DatetimeIndex(forecast["time"].values) - pd.DateOffset(years=1)
        heat_last = counts.sel(category="heating", time=counts["time"].isin(same_months)).sum("time")
        per_1000 = heat_next / city["households"] * 1000
        heat_table = pd.DataFrame({
            "district": city["district_label_en"].values,
            "forecast": heat_next.values.round(0),
            "same months last year": heat_last.values,
            "forecast per 1,000 households": per_1000.values.round(1),
        }, index=pd.Index(counts["district"].values, name="区")).sort_values(
            "forecast per 1,000 households", ascending=False)
        heat_table
    """),
    md("""
        ## 2. Fan charts

        A fan chart shows the median forecast with its 50/80/95 % intervals. To judge them, the first
        two are *hindcasts*: the model is fitted only on data up to an earlier origin, and the dots are
        what was then observed.

        **Heating before the season.** Fitted at the end of September — the off-season, when
        inspection crews can still be sent — for the district at the top of the table above (most
        heating calls per household). The start of the heating season comes from the Qingdao calendar;
        how many calls it brings, the model learns from the previous winters.
    """),
    code("""
        heat_district = str(heat_table.index[0])
        season = cal["heating_season"].to_series()
        starts = season.index[season.to_numpy() & ~season.shift(1, fill_value=True).to_numpy()]
        print("heating district:", heat_district, "·", heat_table.iloc[0]["district"])
        print("heating season starts:", ", ".join(starts.strftime("%Y-%m-%d")))


        def hindcast(origin, horizon, series=counts):
            \"\"\"Fit the default model on data up to origin; forecast the next horizon days.\"\"\"
            train = series.sel(time=slice(None, origin))
            times = pd.date_range(pd.Timestamp(origin) + pd.Timedelta(days=1), periods=horizon,
                                  freq="D", name="time")
            fitted = make_forecaster("default").fit(train, regressors=cal.sel(time=train["time"]))
            return fitted.predict(horizon, regressors=cal.sel(time=times))


        fc_autumn = hindcast("2024-09-30", 92)
        fig = fan_chart(counts, fc_autumn, district=heat_district, category="heating", actual=counts,
                        n_history=120, source=source, date=DATE)
        plt.show()
    """),
    md("""
        **Consumer disputes in 市南 before the tourist season.** 市南 holds the old town and the
        beaches, and its consumer disputes rise with the tourists. Fitted at the end of May, the
        forecast has to anticipate the rise from the tourist-season regressor and earlier summers.
    """),
    code("""
        disputes = counts.sel(district="市南", category="consumer_dispute", time=slice(None, "2024-05-31"))
        tourist = cal["tourist_season"].sel(time=disputes["time"])
        tourist_days = tourist.to_series().loc["2023"]
        tourist_days = tourist_days.index[tourist_days.to_numpy()]
        print(f"tourist season (calendar): {tourist_days[0]:%d %b} – {tourist_days[-1]:%d %b}; 市南 consumer "
              f"disputes per day before the origin: {float(disputes.where(tourist).mean()):.0f} in the "
              f"season vs {float(disputes.where(~tourist).mean()):.0f} outside it")
        fc_spring = hindcast("2024-05-31", 92)
        fig = fan_chart(counts, fc_spring, district="市南", category="consumer_dispute", actual=counts,
                        n_history=120, source=source, date=DATE)
        plt.show()

        window = fc_spring.sel(district="市南", category="consumer_dispute")
        observed = counts.sel(district="市南", category="consumer_dispute", time=window["time"])
        q = window["quantiles"]
        inside80 = ((observed >= q.sel(quantile=0.1)) & (observed <= q.sel(quantile=0.9))).mean()
        print(f"days inside the 80 % interval: {float(inside80):.0%}; "
              f"forecast total {float(window['mean'].sum()):.0f} vs observed {int(observed.sum())}")
    """),
    md("""
        **Construction noise across the Spring Festival.** Building sites close from about ten days
        before 春节 to two weeks after it, and the festival moves (10 February in 2024, 29 January in
        2025), so yearly seasonality cannot carry the dip. For daily data with a Chinese calendar the
        default model adds windows around 春节, estimates them on each category's city-wide total,
        and keeps them only for categories where they forecast a left-out festival of that total
        better than no windows (`festival_groups_`). Hindcast from 10 January 2024, with the windows
        and without them (`spring_festival=False`):
    """),
    code("""
        constr = counts.sel(category="noise_construction").sum("time")
        constr_district = str(constr["district"].values[int(constr.argmax())])
        train_cny = counts.sel(time=slice(None, "2024-01-10"))
        times_cny = pd.date_range("2024-01-11", periods=50, freq="D", name="time")
        kept = []
        for params, label in (({}, "with Spring Festival windows"),
                              ({"spring_festival": False}, "without them")):
            fitted = make_forecaster("default", **params).fit(
                train_cny, regressors=cal.sel(time=train_cny["time"]))
            fc_cny = fitted.predict(50, regressors=cal.sel(time=times_cny))
            kept = kept or [c for c, keep in fitted.festival_groups_.items() if keep]
            fig = fan_chart(counts, fc_cny, district=constr_district, category="noise_construction",
                            actual=counts, n_history=40, title=f"{constr_district} · construction "
                            f"noise, {label}", source=source, date=DATE)
            plt.show()
        print("categories that kept the windows:", ", ".join(kept))
    """),
    md("""
        **The coming winter.** The live forecast from the end of the data for the same heating series,
        through the end of the heating season.
    """),
    code("""
        print("heating season ends:", season.index[season.to_numpy()][-1].strftime("%Y-%m-%d"))
        fig = fan_chart(counts, forecast, district=heat_district, category="heating", n_history=90,
                        source=source, date=DATE)
        plt.show()
    """),
    md("""
        ## 3. Backtest: is the model better than a seasonal naive forecast, and than Prophet?

        A rolling-origin backtest refits each model at several origins, using only what was known then,
        and scores the next 28 days. Scores are scaled (MASE, scaled pinball loss over the quantiles)
        so that series of different size can be averaged; `cov80` is how often the observed value fell
        inside the 80 % interval (should be near 0.8). Prophet fits one model per series and is slow,
        so the three-way comparison runs on six series: two districts (urban 市南, rural 平度) × three
        categories.
    """),
    code("""
        subset = counts.sel(district=["市南", "平度"], category=["heating", "consumer_dispute", "parking"])
        contenders = {
            "seasonal_naive": make_forecaster("seasonal_naive"),
            "default": make_forecaster("default"),
            "prophet": make_forecaster("prophet", n_jobs=2, progress=False),
        }
        results, rows = {}, {}
        for name, forecaster in contenders.items():
            tic = time.perf_counter()
            res = backtest(forecaster, subset, horizon=28, n_origins=2, regressors=cal_train)
            seconds = time.perf_counter() - tic
            results[name] = res
            overall = res.scores.loc[("all", "all")]
            rel = res.relative_to(results["seasonal_naive"]).loc[("all", "all")]
            rows[name] = {"MASE": overall["mase"], "scaled pinball": overall["spl"],
                          "cov80": overall["cov80"], "MASE / naive": rel["mase"],
                          "pinball / naive": rel["spl"], "seconds": seconds}
        origins = pd.DatetimeIndex(results["default"].errors["origin"].values)
        print("origins:", ", ".join(origins.strftime("%Y-%m-%d")))
        skill = pd.DataFrame.from_dict(rows, orient="index")
        skill
    """),
    code("""
        d, p = skill.loc["default"], skill.loc["prophet"]
        print(f"default vs Prophet: MASE ratio {d['MASE'] / p['MASE']:.2f}, "
              f"pinball ratio {d['scaled pinball'] / p['scaled pinball']:.2f}, "
              f"{p['seconds'] / d['seconds']:.0f}x the time for Prophet")
        per_category = pd.DataFrame({
            name: res.relative_to(results["seasonal_naive"]).xs("category", level="by")["mase"]
            for name, res in results.items() if name != "seasonal_naive"
        })
        per_category.index.name = "MASE / naive, by category"
        per_category
    """),
    md("""
        Skill by lead time: how quickly does accuracy decay with the distance ahead? For planning a
        month out, the right-hand end of the lines matters.
    """),
    code("""
        fig = skill_by_lead(results, metric="mase", title="Six demo series, 2 origins",
                            source=source, date=DATE)
        plt.show()
    """),
    md("""
        ### Where does the default model help? All series, relative to the seasonal naive

        The fast models can be backtested on every series. The map shows, per district × category, the
        default model's MASE divided by the seasonal naive's: blue cells are where the model earns its
        keep, red where a naive "same as last week" would have done better. Series with tiny totals are
        suppressed (grey, `<5`).
    """),
    code("""
        tic = time.perf_counter()
        bt_naive = backtest(make_forecaster("seasonal_naive"), counts, horizon=28, n_origins=3)
        bt_default = backtest(make_forecaster("default"), counts, horizon=28, n_origins=3,
                              regressors=cal_train)
        print(f"backtests of {n_series} series x 3 origins: {time.perf_counter() - tic:.1f} s")
        print(bt_default.relative_to(bt_naive).loc[("all", "all"), ["mase", "spl", "cov80_err"]])
        scores = bt_default.series_scores(relative_to=bt_naive)
        better = float((scores["mase_rel"] < 1).mean())
        print(f"series where the default beats the naive on MASE: {better:.0%}")
        fig = relative_skill_map(scores, metric="mase", source=source, date=DATE)
        plt.show()
    """),
    md("""
        ## 4. Reconciliation: forecasts that add up

        District heads read district totals, the city reads the city total, departments read their
        categories. Forecasting each level separately gives numbers that do not add up. `reconcile`
        makes them coherent: **bottom-up** sums the district × category forecasts; **MinT (shrink)**
        combines all levels, weighting them by how well each forecasts (backtest errors), which can
        improve the bottom level too. Below, base forecasts for December 2024 made at 30 November at
        every level, then both reconciliations, scored against what happened.
    """),
    code("""
        origin, horizon = "2024-11-30", 31
        levels = hierarchy_levels(city)
        print({name: dict(ds["counts"].sizes) for name, ds in levels.items()})

        train_cal = cal.sel(time=slice(None, origin))
        target_times = pd.date_range("2024-12-01", periods=horizon, freq="D", name="time")
        base, residuals, actual = {}, {}, {}
        for name, level in levels.items():
            y = level["counts"]
            train = y.sel(time=slice(None, origin))
            base[name] = make_forecaster("default").fit(train, regressors=train_cal).predict(
                horizon, regressors=cal.sel(time=target_times))
            # backtest errors before the origin estimate how good each level's forecasts are
            residuals[name] = backtest(make_forecaster("default"), train, horizon=28, n_origins=3,
                                       regressors=train_cal).residuals()
            actual[name] = y.sel(time=target_times)

        bottom_up = reconcile(base["bottom"], "bottom_up")
        mint = reconcile(base, "mint_shrink", residuals=residuals)
        print(f"largest gap between an aggregate and the sum of its parts: base "
              f"{incoherence(base):.1f}, bottom-up {incoherence(bottom_up):.2g}, "
              f"MinT {incoherence(mint):.2g} requests/day")
    """),
    code("""
        def mae(fc, level):
            obs = actual[level].transpose(*fc["mean"].dims)
            return float(abs(fc["mean"] - obs).mean())


        coherence = pd.DataFrame({
            "base": {lv: mae(base[lv], lv) for lv in levels},
            "bottom-up": {lv: mae(bottom_up[lv], lv) for lv in levels},
            "MinT shrink": {lv: mae(mint[lv], lv) for lv in levels},
        })
        coherence.index.name = "MAE per node and day, Dec 2024"
        print("lowest error per level:", coherence.idxmin(axis=1).to_dict())
        coherence
    """),
    code("""
        city_level = {"base": base["city"], "bottom-up": bottom_up["city"], "MinT shrink": mint["city"]}
        obs_city = actual["city"].squeeze()
        with briefing_style():
            fig, ax = plt.subplots(figsize=(9, 4))
            ax.plot(obs_city["time"], obs_city, "o", color="0.3", ms=3, label="observed")
            for name, fc in city_level.items():
                ax.plot(fc["time"], fc["mean"].squeeze(), lw=1.6, label=name)
            ax.set_ylabel("requests per day")
            locator = mpl.dates.AutoDateLocator(minticks=4, maxticks=8)
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mpl.dates.ConciseDateFormatter(locator))
            ax.set_title("City total, December 2024: base vs reconciled forecasts")
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
            add_source_line(fig, source, date=DATE)
            plt.show()
    """),
    md("""
        ## 5. Real data: Brooklyn residential noise (NYC 311, 2023)

        One year of daily counts, with the US holiday calendar. With a single year there is no earlier
        summer to learn the yearly cycle from, which makes this a hard test for every model. The
        temperature in the file is not used: in a backtest it would be a perfect weather forecast.
    """),
    code("""
        records = read_records(shared_data_file(BROOKLYN_NOISE), preset="nyc311_brooklyn_noise").records
        brooklyn = to_cube(records, freq="D", taxonomy="nyc311", period=("2023-01-01", "2023-12-31"),
                           source="NYC 311 (NYC Open Data)")
        bk = brooklyn["counts"]
        bk_cal = calendar(bk["time"], city=None, country="US")

        bk_results, bk_rows = {}, {}
        for name in ("seasonal_naive", "default", "prophet"):
            params = {"n_jobs": 1, "progress": False} if name == "prophet" else {}
            tic = time.perf_counter()
            res = backtest(make_forecaster(name, **params), bk, horizon=28, n_origins=4,
                           regressors=bk_cal)
            bk_results[name] = res
            s = res.scores.loc[("all", "all")]
            rel = res.relative_to(bk_results["seasonal_naive"]).loc[("all", "all")]
            bk_rows[name] = {"MASE": s["mase"], "scaled pinball": s["spl"], "cov80": s["cov80"],
                             "MASE / naive": rel["mase"], "seconds": time.perf_counter() - tic}
        bk_skill = pd.DataFrame.from_dict(bk_rows, orient="index")
        d, p = bk_skill.loc["default"], bk_skill.loc["prophet"]
        print(f"default vs Prophet on Brooklyn: MASE ratio {d['MASE'] / p['MASE']:.2f}, "
              f"pinball ratio {d['scaled pinball'] / p['scaled pinball']:.2f}; "
              f"80 % coverage {d['cov80']:.2f} vs {p['cov80']:.2f}")
        bk_skill
    """),
    md("""
        The last backtest window side by side: the default model and Prophet, each fitted on the data
        up to the origin, against the observed counts.
    """),
    code("""
        last_origin = pd.Timestamp(bk_results["default"].errors["origin"].values[-1])
        bk_train = bk.sel(time=slice(None, last_origin))
        bk_future = bk["time"].values[bk["time"].values > np.datetime64(last_origin)]
        with briefing_style():
            fig, axes = plt.subplots(2, 1, figsize=(9, 8), sharex=True, sharey=True)
            for ax, name in zip(axes, ("default", "prophet")):
                params = {"n_jobs": 1, "progress": False} if name == "prophet" else {}
                m = make_forecaster(name, **params).fit(
                    bk_train, regressors=bk_cal.sel(time=bk_train["time"]))
                fc = m.predict(len(bk_future), regressors=bk_cal.sel(time=bk_future))
                fan_chart(bk, fc, actual=bk, n_history=90, ax=ax, title=f"{name} ({fc.attrs['model']})")
            add_source_line(fig, "NYC Open Data 311 (erm2-nwe9)", date="2023-12-31")
            plt.show()
    """),
    md("""
        ## What this means for targeting

        * The forecast Dataset gives, per district and category, expected volumes with intervals for
          the coming months: the heating table above is a ready ranking for pre-season inspections.
        * The backtest tables say how much to trust it and where: a cell that is red on the skill map
          is one where last week's count is as good a guide as the model.
        * Reconciled forecasts let the city, district and department views quote the same numbers.
    """),
]

write_notebook(cells, "02_forecast.ipynb")
