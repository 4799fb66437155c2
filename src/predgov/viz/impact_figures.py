"""The classic three-panel impact figure in the briefing style (``predgov.impact.estimate``).

:func:`impact_figure` draws, summed over the treated units: (1) observed calls against the
counterfactual (what the model expects without the action) with its predictive band, (2) the
pointwise effect (observed − counterfactual; below zero = calls prevented) with its band, and
(3) the cumulative effect since the start with its joint band. A dashed line marks the first
treated period. The headline — total effect with its interval, beside the naive comparison
labelled as *not* an effect — is the subtitle.

Small cells: a period whose observed total is 1..min_count-1 is not drawn at its value
(``predgov.data.suppress``): the observed point becomes a grey "withheld" tick at
``min_count``, the counterfactual and the effect are left out there (observed = counterfactual
+ effect), and the cumulative effect stops at the first withheld post-period (its steps would
give the withheld value back).
"""

from __future__ import annotations

import datetime as dt

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from predgov.data.suppress import MIN_COUNT, small_cell_mask
from predgov.viz.style import Lang, _check_lang, add_source_line, briefing_style, date_axis

#: Variables of the estimate the figure needs.
NEEDED = ("observed", "counterfactual", "effect_pooled", "effect_pooled_lo", "effect_pooled_hi",
          "cumulative_effect_pooled", "cumulative_effect_pooled_lo",
          "cumulative_effect_pooled_hi", "post", "total_effect", "total_effect_lo",
          "total_effect_hi")  # fmt: skip

#: Method names in words (zh, en).
METHOD_LABELS: dict[str, tuple[str, str]] = {
    "its": ("中断时间序列", "interrupted time series"),
    "did": ("双重差分", "difference in differences"),
    "synth": ("合成控制", "synthetic control"),
}


def _text(zh: str, en: str, lang: str, sep: str = " · ") -> str:
    return zh if lang == "zh" else en if lang == "en" else f"{zh}{sep}{en}"


def method_label(method: str, lang: Lang = "both") -> str:
    """The estimator's name in words (the name itself when unknown; ``auto:its`` → its name).

    Examples
    --------
    >>> method_label("synth", "en"), method_label("auto:did", "zh"), method_label("x", "en")
    ('synthetic control', '双重差分', 'x')
    """
    _check_lang(lang)
    name = str(method).rsplit(":", 1)[-1]
    if name not in METHOD_LABELS:
        return str(method)
    zh, en = METHOD_LABELS[name]
    return _text(zh, en, lang, " ")


def _naive_text(est: xr.Dataset, lang: str) -> str:
    if "naive_effect" not in est:
        return ""
    value = float(est["naive_effect"])
    if not np.isfinite(value):
        return ""
    kind = str(est["naive_effect"].attrs.get("kind", "before_after"))
    zh_kind = "同比" if kind == "year_on_year" else "前后对比"
    en_kind = "year on year" if kind == "year_on_year" else "before vs after"
    return _text(f"简单{zh_kind}：{value:+,.0f}（不是效果估计）",
                 f"naive {en_kind}: {value:+,.0f} (not an effect estimate)", lang, "\n")


def impact_figure(
    est: xr.Dataset,
    lang: Lang = "both",
    date: dt.date | str | None = None,
    *,
    source: str = "predgov",
    min_count: int = MIN_COUNT,
    title: str | None = None,
) -> Figure:
    """Observed vs counterfactual, pointwise effect and cumulative effect, over treated units.

    Parameters
    ----------
    est
        The Dataset of :func:`predgov.impact.estimate`.
    lang
        Labels in ``"zh"``, ``"en"`` or ``"both"``.
    date
        Date on the source line (pass it for reproducible bytes).
    source
        Source line text.
    min_count
        Observed totals of 1..min_count-1 are withheld (see the module docstring).
    title
        Overrides the first panel's title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> t = pd.date_range("2025-01-06", periods=6, freq="W-MON")
    >>> post = np.array([0, 0, 0, 1, 1, 1], bool)
    >>> obs, cf = np.array([20., 22, 21, 12, 3, 11]), np.full(6, 21.0)
    >>> cum = np.cumsum(np.where(post, obs - cf, 0))
    >>> ds = xr.Dataset({"observed": (("time", "d"), obs[:, None]),
    ...     "counterfactual": (("time", "d"), cf[:, None]), "post": (("time", "d"), post[:, None]),
    ...     "effect_pooled": ("time", obs - cf), "effect_pooled_lo": ("time", obs - cf - 5),
    ...     "effect_pooled_hi": ("time", obs - cf + 5), "cumulative_effect_pooled": ("time", cum),
    ...     "cumulative_effect_pooled_lo": ("time", cum - 8),
    ...     "cumulative_effect_pooled_hi": ("time", cum + 8), "total_effect": -36.0,
    ...     "total_effect_lo": -44.0, "total_effect_hi": -28.0},
    ...     coords={"time": t, "d": ["a"]}, attrs={"method": "its", "level": 0.9})
    >>> fig = impact_figure(ds, lang="en", date="2025-02-10")
    >>> [ax.get_title(loc="left") for ax in fig.axes]
    ['Observed and counterfactual calls', 'Pointwise effect', 'Cumulative effect']
    >>> fig.axes[2].lines[0].get_ydata().tolist()  # stops before the withheld week (3 calls)
    [-9.0]
    >>> plt.close(fig)
    """
    _check_lang(lang)
    missing = [v for v in NEEDED if v not in est]
    if missing:
        raise ValueError(f"the estimate lacks {missing} (predgov.impact.estimate output)")
    unit = [d for d in est["observed"].dims if d != "time"]
    times = pd.DatetimeIndex(est["time"].values)
    observed = est["observed"].sum(unit).values.astype(float) if unit else \
        est["observed"].values.astype(float)  # fmt: skip
    counterfactual = est["counterfactual"].sum(unit).values.astype(float) if unit else \
        est["counterfactual"].values.astype(float)  # fmt: skip
    post = est["post"].astype(bool)
    post = (post.any(unit) if unit else post).values
    eff = est["effect_pooled"].values.astype(float)
    eff_lo = est["effect_pooled_lo"].values.astype(float)
    eff_hi = est["effect_pooled_hi"].values.astype(float)
    cf_lo, cf_hi = observed - eff_hi, observed - eff_lo
    withheld = np.asarray(small_cell_mask(pd.Series(observed), min_count), dtype=bool)
    shown = ~withheld

    def masked(values: np.ndarray) -> np.ndarray:
        return np.where(shown, values, np.nan)

    first = int(np.argmax(post)) if post.any() else len(times)
    cum = est["cumulative_effect_pooled"].values.astype(float)
    cum_lo = est["cumulative_effect_pooled_lo"].values.astype(float)
    cum_hi = est["cumulative_effect_pooled_hi"].values.astype(float)
    stop = len(times)
    late = np.flatnonzero(withheld & post)
    if late.size:
        stop = int(late[0])
    cum_idx = np.arange(first, stop)

    level = float(est.attrs.get("level", 0.9))
    pct = f"{round(100 * level)}"
    method = str(est.attrs.get("method", ""))
    total, lo, hi = (float(est[v]) for v in ("total_effect", "total_effect_lo",
                                             "total_effect_hi"))  # fmt: skip
    headline = _text(f"总效果 {total:+,.0f} 件（{pct}%区间 {lo:+,.0f} 至 {hi:+,.0f}），"
                     f"{method_label(method, 'zh')}",
                     f"total effect {total:+,.0f} calls ({pct} % interval {lo:+,.0f} to "
                     f"{hi:+,.0f}), {method_label(method, 'en')}", lang, "\n")  # fmt: skip
    naive = _naive_text(est, lang)

    with briefing_style():
        fig, axes = plt.subplots(3, 1, figsize=(9, 9), sharex=True)
        ax1, ax2, ax3 = axes
        ax1.fill_between(times, masked(cf_lo), masked(cf_hi), color="C0", alpha=0.2, lw=0,
                         label=_text(f"{pct}%预测区间", f"{pct} % predictive band", lang))
        ax1.plot(times, masked(counterfactual), "--", color="C0",
                 label=_text("反事实（无行动时的预期）", "counterfactual (expected without "
                             "the action)", lang))  # fmt: skip
        ax1.plot(times, masked(observed), color="0.1", lw=1.3,
                 label=_text("实际来电", "observed calls", lang))
        if withheld.any():
            ax1.plot(times[withheld], np.full(int(withheld.sum()), float(min_count)), "_",
                     color="0.6", ms=8, mew=2,
                     label=_text(f"<{min_count}（不公布）", f"<{min_count} (withheld)", lang))
        ax1.set_title(title or _text("实际来电与反事实", "Observed and counterfactual calls",
                                     lang), loc="left", fontsize=11)  # fmt: skip
        ax1.set_ylabel(_text("来电", "calls", lang))
        ax1.set_ylim(bottom=0)
        ax1.legend(fontsize=8, loc="upper left", alignment="left")

        ax2.fill_between(times, masked(eff_lo), masked(eff_hi), color="C3", alpha=0.2, lw=0)
        ax2.plot(times, masked(eff), color="C3", lw=1.2)
        ax2.axhline(0, color="0.6", lw=0.8)
        ax2.set_title(_text("逐期效果", "Pointwise effect", lang), loc="left", fontsize=11)
        ax2.set_ylabel(_text("实际−反事实\n负值=避免的来电", "observed − counterfactual\n"
                             "(< 0: calls prevented)", lang, "\n"), fontsize=9)

        if cum_idx.size:
            ax3.fill_between(times[cum_idx], cum_lo[cum_idx], cum_hi[cum_idx], color="C2",
                             alpha=0.2, lw=0)  # fmt: skip
            ax3.plot(times[cum_idx], cum[cum_idx], color="C2", lw=1.4)
        if stop < len(times):
            ax3.text(0.99, 0.05, _text("之后含不公布的小数值，不再绘制",
                                       "not drawn after a withheld small count", lang),
                     transform=ax3.transAxes, ha="right", fontsize=8, color="0.4")
        ax3.axhline(0, color="0.6", lw=0.8)
        ax3.set_title(_text("累计效果", "Cumulative effect", lang), loc="left", fontsize=11)
        ax3.set_ylabel(_text("累计效果", "cumulative effect", lang))
        for ax in axes:
            if first < len(times):
                ax.axvline(times[first], color="0.3", ls=":", lw=1)
        ax1.annotate(_text("行动开始", "action starts", lang), (times[min(first, len(times) - 1)],
                     1.0), xycoords=("data", "axes fraction"), xytext=(3, -2),
                     textcoords="offset points", va="top", fontsize=8, color="0.3")
        date_axis(ax3)
        note = headline + (f"\n{naive}" if naive else "")
        fig.suptitle(note, x=0.01, ha="left", fontsize=9, color="0.25")
        add_source_line(fig, source, date=date)
    return fig
