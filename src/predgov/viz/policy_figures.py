"""Figures of policy experiments (``predgov.sim.experiment.compare``) in the briefing style.

:func:`effects_figure` draws, per policy against the budget, the calls averted (the median of
the per-seed paired differences with the 10–90 % band over seeds) and the cost per averted
call (mean cost / mean calls averted, with its bootstrap interval). ``oracle`` reads the
model's latent state: it is drawn dashed and labelled as an upper bound.
"""

from __future__ import annotations

import datetime as dt

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from predgov.viz.sim_figures import scale_text
from predgov.viz.style import Lang, _check_lang, _join, add_source_line, briefing_style

#: Policy names in words (zh, en).
POLICY_LABELS: dict[str, tuple[str, str]] = {
    "reactive": ("被动处置", "reactive"),
    "random": ("随机", "random"),
    "history_hotspot": ("历史热点", "history hotspot"),
    "household_risk": ("住户风险模型", "household risk"),
    "forecast_driven": ("预测驱动", "forecast-driven"),
    "oracle": ("全知上限", "oracle (upper bound)"),
    "given": ("指定对象", "given targets"),
}


def policy_label(name: str, lang: Lang = "both") -> str:
    """A policy's name in words (the name itself when unknown).

    Examples
    --------
    >>> policy_label("history_hotspot", "en"), policy_label("oracle", "zh")
    ('history hotspot', '全知上限')
    >>> policy_label("my_rule", "both")
    'my_rule'
    """
    _check_lang(lang)
    zh, en = POLICY_LABELS.get(name, (name, name))
    return zh if lang == "zh" else en if lang == "en" else (en if zh == en else f"{zh} {en}")


def _text(zh: str, en: str, lang: str, sep: str = " · ") -> str:
    return zh if lang == "zh" else en if lang == "en" else f"{zh}{sep}{en}"


def _budget_axis(ax, budgets: np.ndarray, lang: str) -> None:
    """Ticks at the budgets run, with thousands separators."""
    ax.set_xticks(budgets, [f"{b:,.0f}" for b in budgets])
    ax.set_xlabel(_join("预算（每次运行总支出）", "budget (total spending per run)", lang))


def effects_figure(
    eff: xr.Dataset,
    lang: Lang = "both",
    date: dt.date | str | None = None,
    *,
    scale: float | None = None,
    source: str = "predgov simulation (synthetic city)",
) -> Figure:
    """Calls averted and cost per averted call, per policy against the budget.

    Parameters
    ----------
    eff
        ``predgov.sim.experiment.compare`` output: ``calls_averted_median``, ``_lo``, ``_hi``
        and, when the runs kept costs, ``cost_per_averted_call`` with ``_ci_lo``/``_ci_hi``.
    lang
        Labels in ``"zh"``, ``"en"`` or ``"both"``.
    date
        Date on the source line (pass it for reproducible bytes).
    scale
        Share of the city simulated, said in the subtitle.
    source
        Source line text.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from predgov.sim.experiment import compare
    >>> ds = xr.Dataset({"calls": (("policy", "budget", "seed", "time"),
    ...                            np.array([[[[9, 9]] * 3] * 2, [[[8, 9]] * 3, [[5, 6]] * 3]])),
    ...                  "intervention_cost_total": (("policy", "budget", "seed", "time"),
    ...                            np.array([[[[0, 0]] * 3] * 2, [[[10, 0]] * 3] * 2]))},
    ...                 coords={"policy": ["reactive", "random"], "budget": [10.0, 20.0]})
    >>> fig = effects_figure(compare(ds, n_boot=20), lang="en", date="2026-04-05")
    >>> [ax.get_title(loc="left") for ax in fig.axes][1]
    'Cost per averted call (ratio of means, 95 % CI)'
    >>> plt.close(fig)
    """
    _check_lang(lang)
    need = ("calls_averted_median", "calls_averted_lo", "calls_averted_hi")
    missing = [v for v in need if v not in eff]
    if missing:
        raise ValueError(f"effects need {missing} (predgov.sim.experiment.compare output)")
    budgets = eff["budget"].values.astype(float)
    policies = [str(p) for p in eff["policy"].values]
    has_cost = "cost_per_averted_call" in eff
    seeds = int(eff.sizes.get("seed", eff.attrs.get("seeds", 0)))
    with briefing_style():
        fig, axes = plt.subplots(1, 2 if has_cost else 1, figsize=(10, 4.4) if has_cost
                                 else (6, 4.4), squeeze=False)  # fmt: skip
        ax = axes[0, 0]
        for i, name in enumerate(policies):
            color = "0.35" if name == "oracle" else f"C{i}"
            style = "--" if name == "oracle" else "-"
            sel = eff.sel(policy=name)
            med = sel["calls_averted_median"].values
            ax.fill_between(budgets, sel["calls_averted_lo"].values,
                            sel["calls_averted_hi"].values, color=color, alpha=0.15, lw=0)
            ax.plot(budgets, med, style, marker="o", ms=4, color=color,
                    label=policy_label(name, lang))  # fmt: skip
        ax.axhline(0, color="0.6", lw=0.8)
        ax.set_title(_text("避免的来电（各种子配对差的中位数）",
                           "Calls averted (median of paired differences)", lang, "\n"),
                     loc="left", fontsize=11)  # fmt: skip
        ax.set_ylabel(_join("避免的来电", "calls averted", lang))
        _budget_axis(ax, budgets, lang)
        band = _text(f"阴影：{seeds}个随机种子的10–90%", f"shaded: 10–90 % over {seeds} seeds",
                     lang)  # fmt: skip
        ax.legend(title=band, fontsize=8, title_fontsize=8, loc="upper left",
                  alignment="left")  # fmt: skip
        if has_cost:
            ax2 = axes[0, 1]
            for i, name in enumerate(policies):
                color = "0.35" if name == "oracle" else f"C{i}"
                sel = eff.sel(policy=name)
                ratio = sel["cost_per_averted_call"].values.astype(float)
                lo = sel.get("cost_per_averted_call_ci_lo")
                hi = sel.get("cost_per_averted_call_ci_hi")
                if lo is not None and hi is not None:
                    ax2.fill_between(budgets, lo.values.astype(float), hi.values.astype(float),
                                     color=color, alpha=0.15, lw=0)  # fmt: skip
                ax2.plot(budgets, ratio, "--" if name == "oracle" else "-", marker="o", ms=4,
                         color=color, label=policy_label(name, lang))  # fmt: skip
            ax2.set_title(_text("每避免一个来电的成本（均值之比，95%置信区间）",
                                "Cost per averted call (ratio of means, 95 % CI)", lang, "\n"),
                          loc="left", fontsize=11)  # fmt: skip
            ax2.set_ylabel(_join("成本 / 避免的来电", "cost per averted call", lang))
            _budget_axis(ax2, budgets, lang)
            if np.isnan(eff["cost_per_averted_call"].values.astype(float)).all():
                ax2.text(0.5, 0.5, _text("无可计算值（未避免来电）", "nothing averted", lang),
                         transform=ax2.transAxes, ha="center", color="0.5")  # fmt: skip
        note = _text("与同种子被动处置城市配对比较", "paired with the reactive city, same seeds",
                     lang)  # fmt: skip
        if scale is not None:
            note += f" · {scale_text(scale, lang)}"
        fig.suptitle(note, x=0.01, ha="left", fontsize=9, color="0.35")
        add_source_line(fig, source, date=date)
    return fig
