"""Figures of simulated seasons (``predgov.sim.run_scenario`` output) in the briefing style.

The simulated city starts with no open cases, so its first weeks (problems building up,
first calls before any repeat call) rise towards the steady level: a start-up ramp, not a
trend. :func:`sim_overview` shades those :data:`WARMUP_DAYS` days and says so, and states the
share of the city simulated (``attrs["scale"]``, e.g. 1/20 of Qingdao's households).
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from predgov.viz.style import (
    SOURCE_COLOR,
    Lang,
    add_source_line,
    briefing_style,
    category_labels,
    date_axis,
)

#: Days shaded as the model's start-up: the city starts without open cases and its daily
#: calls and repeat calls reach their steady level within about three weeks (measured on
#: ``run_scenario`` at scales 0.01–0.05); four weeks leave a margin.
WARMUP_DAYS = 28

_TITLE = {
    "zh": "模拟城市：每日诉求（被动处置）",
    "en": "Simulated city: daily requests under reactive handling",
    "both": "模拟城市每日诉求 · Simulated daily requests, reactive handling",
}


def _text(zh: str, en: str, lang: str, sep: str = " · ") -> str:
    return zh if lang == "zh" else en if lang == "en" else f"{zh}{sep}{en}"


def scale_text(scale: float, lang: Lang = "both") -> str:
    """The share of the city simulated, in words (a simple fraction when there is one).

    Examples
    --------
    >>> scale_text(0.05, "en"), scale_text(0.05, "zh")
    ('1/20 of the households', '按全市户数的1/20模拟')
    >>> scale_text(1.0, "en"), scale_text(0.37, "en")
    ('the whole city', '37% of the households')
    """
    scale = float(scale)
    if scale >= 1.0:
        return _text("全市规模", "the whole city", lang)
    frac = Fraction(scale).limit_denominator(1000)
    share = (
        f"1/{frac.denominator}"
        if frac.numerator == 1 and abs(float(frac) - scale) < 1e-9
        else f"{scale:.0%}"
    )
    return _text(f"按全市户数的{share}模拟", f"{share} of the households", lang)


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
    The title states the simulated share of the city; the first :data:`WARMUP_DAYS` days (the
    model's start-up) are shaded and labelled; dates carry the year.

    Examples
    --------
    >>> from predgov.sim import run_scenario
    >>> ds = run_scenario({"scale": 0.001, "start": "2025-11-10", "end": "2025-11-20"})
    >>> fig = sim_overview(ds, date="2025-11-20", lang="en")
    >>> len(fig.axes), "1/1000 of the households" in fig.axes[0].get_title(loc="left")
    (2, True)
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
    start = pd.Timestamp(time[0])
    warm_end = min(start + pd.Timedelta(days=WARMUP_DAYS), pd.Timestamp(time[-1]))
    title = _TITLE[lang]
    if "scale" in ds.attrs:
        title += f"\n{scale_text(ds.attrs['scale'], lang)}"
    per_day = _text("每日诉求（7日平均）", "requests per day (7-day mean)", lang, "\n")
    with briefing_style():
        fig, (ax, ax2) = plt.subplots(
            2, 1, figsize=(11, 6.5), sharex=True, height_ratios=[2, 1]
        )
        for axis in (ax, ax2):
            axis.axvspan(start, warm_end, color=SOURCE_COLOR, alpha=0.15, lw=0, zorder=0)
        ax.annotate(
            _text("模型启动期（非趋势）", "model start-up (not a trend)", lang),
            xy=(start, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -3),
            textcoords="offset points", ha="left", va="top", fontsize=8.5, color=SOURCE_COLOR,
        )  # fmt: skip
        for cat in top:
            series = calls.sel(category=cat)
            series = series.median("seed") if has_seed else series
            ax.plot(time, series.values, lw=1.1, label=labels[cat])
        ax.set_ylabel(per_day)
        ax.set_title(title, loc="left")
        ax.legend(ncols=2, fontsize="small", loc="upper right")
        total = calls.sum("category")
        rep = repeats
        if has_seed:
            lo, hi = total.quantile([0.1, 0.9], dim="seed").values
            ax2.fill_between(time, lo, hi, alpha=0.3, lw=0,
                             label=_text("各随机种子10–90%", "10–90 % over seeds", lang))
            total, rep = total.median("seed"), rep.median("seed")
        ax2.plot(time, total.values, lw=1.1, label=_text("全部诉求", "all requests", lang))
        ax2.plot(time, rep.values, lw=1.1, label=_text("重复来电", "repeat calls", lang))
        ax2.set_ylabel(_text("每日（7日平均）", "per day (7-day mean)", lang, "\n"))
        ax2.legend(fontsize="small", loc="center right")
        date_axis(ax2)
        add_source_line(fig, source or ds.attrs.get("source", "predgov simulation"), date=date)
    return fig
