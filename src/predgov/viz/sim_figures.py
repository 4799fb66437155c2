"""Figures of simulated seasons (``predgov.sim.run_scenario`` output) in the briefing style."""

from __future__ import annotations

import datetime as dt

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from predgov.viz.style import Lang, add_source_line, briefing_style, category_labels

_TITLE = {
    "zh": "模拟城市：每日诉求（被动处置）",
    "en": "Simulated city: daily requests under reactive handling",
    "both": "模拟城市每日诉求 · Simulated daily requests, reactive handling",
}


def sim_overview(
    ds: xr.Dataset,
    *,
    n_categories: int = 5,
    lang: Lang = "both",
    source: str | None = None,
    date: dt.date | str | None = None,
) -> Figure:
    """Daily calls of the busiest simulated categories, repeat calls and the city total.

    With a ``seed`` dim the lines are medians over seeds and the total has a 10–90 % band.

    Examples
    --------
    >>> from predgov.sim import run_scenario
    >>> ds = run_scenario({"scale": 0.001, "start": "2025-11-10", "end": "2025-11-20"})
    >>> fig = sim_overview(ds, date="2025-11-20")
    >>> len(fig.axes)
    2
    >>> plt.close(fig)
    """
    # 7-day centred means: at reduced scale the daily counts are small and noisy.
    calls = ds["counts"].sum("district").rolling(time=7, center=True, min_periods=1).mean()
    repeats = (
        ds["repeat_calls"].sum(["district", "category"])
        .rolling(time=7, center=True, min_periods=1).mean()
    )
    has_seed = "seed" in calls.dims
    totals = calls.sum("time").median("seed") if has_seed else calls.sum("time")
    top = totals["category"].values[np.argsort(-totals.values, kind="stable")[:n_categories]]
    labels = dict(zip(calls["category"].values, category_labels(calls, lang=lang), strict=True))
    time = calls["time"].values
    with briefing_style():
        fig, (ax, ax2) = plt.subplots(
            2, 1, figsize=(11, 6.5), sharex=True, height_ratios=[2, 1]
        )
        for cat in top:
            series = calls.sel(category=cat)
            series = series.median("seed") if has_seed else series
            ax.plot(time, series.values, lw=1.1, label=labels[cat])
        ax.set_ylabel("requests per day (7-day mean)")
        ax.set_title(_TITLE[lang], loc="left")
        ax.legend(ncols=2, fontsize="small", loc="upper left")
        total = calls.sum("category")
        rep = repeats
        if has_seed:
            lo, hi = total.quantile([0.1, 0.9], dim="seed").values
            ax2.fill_between(time, lo, hi, alpha=0.3, lw=0, label="10–90 % over seeds")
            total, rep = total.median("seed"), rep.median("seed")
        ax2.plot(time, total.values, lw=1.1, label="all requests · 全部诉求")
        ax2.plot(time, rep.values, lw=1.1, label="repeat calls · 重复来电")
        ax2.set_ylabel("per day (7-day mean)")
        ax2.legend(fontsize="small", loc="center left")
        add_source_line(fig, source or ds.attrs.get("source", "predgov simulation"), date=date)
    return fig
