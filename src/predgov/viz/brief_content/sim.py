"""The simulation section: what simulated preemptive work buys."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr

from predgov.data.suppress import small_cell_mask
from predgov.viz.brief_content._run import (
    WITHHELD,
    Run,
    _png,
    _source,
    fmt_int,
)
from predgov.viz.brief_model import Bi, Figure, Section, Table
from predgov.viz.policy_figures import POLICY_LABELS


def sim_section(run: Run, date: str) -> Section | Bi:
    """What simulated preemptive work buys: calls averted with bands per policy and budget."""
    path = run.file("sim/effects.csv")
    if path is None:
        if run.file("sim/season_by_category.csv") is not None:
            return Bi("政策模拟：本次只模拟了被动处置的一季（sim/season_by_category.csv），"
                      "未比较先办政策（见 +experiment=heating_prep）",
                      "simulation: this run simulated one reactive season only "
                      "(sim/season_by_category.csv), no preemptive policy compared "
                      "(see +experiment=heating_prep)")  # fmt: skip
        return Bi("政策模拟：本次运行无 sim/effects.csv", "simulation: no sim/effects.csv")
    eff = pd.read_csv(path, comment="#")
    attrs: dict[str, Any] = {}
    if run.file("sim/experiment.nc") is not None:
        with xr.open_dataset(run.path / "sim/experiment.nc") as ds:
            attrs = dict(ds.attrs)
    m = run.min_count
    sec = Section("sim", Bi("模拟：先办能换来什么", "Simulation: what preemptive work buys"))
    window = str(attrs.get("window", "")) or _effects_window(path)
    scale = attrs.get("scale")
    scale_zh = f"按全市户数的 1/{round(1 / float(scale)):,} 模拟" if scale else "模拟城市"
    scale_en = f"1/{round(1 / float(scale)):,} of the households" if scale else "simulated city"
    interventions = _interventions(attrs)
    counts = ["calls_averted_median", "calls_averted_p10", "calls_averted_p90"]
    hidden = small_cell_mask(eff[counts].astype(float), m)
    row_hidden = hidden.any(axis=1)
    best = eff[(eff["policy"] != "oracle") & ~row_hidden]
    if len(best):
        top_budget = best["budget"].max()
        at = best[best["budget"] == top_budget].sort_values("calls_averted_median").iloc[-1]
        oracle = eff[(eff["policy"] == "oracle") & (eff["budget"] == top_budget) & ~row_hidden]
        upper = fmt_int(oracle["calls_averted_median"].iloc[0]) if len(oracle) else ""
        orc = f"；全知上限为 {upper} 件" if upper else ""
        orc_en = f"; the oracle upper bound averts {upper}" if upper else ""
        name = POLICY_LABELS.get(str(at["policy"]), (str(at["policy"]),) * 2)
        sec.paragraphs.append(Bi(
            f"{interventions.zh}，评估期 {window}（{scale_zh}，{int(at['seeds'])} 个随机种子，"
            f"与同种子的被动处置城市配对比较）。预算 {fmt_int(top_budget)} 时，"
            f"{name[0]}策略减少 {fmt_int(at['calls_averted_median'])} 件来电"
            f"（10–90%：{fmt_int(at['calls_averted_p10'])}–{fmt_int(at['calls_averted_p90'])}），"
            f"每减少一件成本 {fmt_int(at['cost_per_averted_call'])}{orc}。",
            f"{interventions.en}, evaluated over {window} ({scale_en}, {int(at['seeds'])} seeds, "
            f"paired with the reactive city of the same seed). At a budget of "
            f"{fmt_int(top_budget)}, {name[1]} averts {fmt_int(at['calls_averted_median'])} calls "
            f"(10–90 %: {fmt_int(at['calls_averted_p10'])}–{fmt_int(at['calls_averted_p90'])}) "
            f"at {fmt_int(at['cost_per_averted_call'])} per averted call{orc_en}.",
        ))  # fmt: skip
    header = [Bi("策略", "Policy"), Bi("预算", "Budget"), Bi("减少来电（中位数）", "Calls averted"),
              Bi("10–90% 区间", "10–90 % band"), Bi("每件成本", "Cost per call"),
              Bi("95% 置信区间", "95 % CI")]
    rows: list[list[str | Bi]] = []
    for i, row in eff.head(run.max_rows).iterrows():
        zh, en = POLICY_LABELS.get(str(row["policy"]), (str(row["policy"]),) * 2)

        def c(col: str, i: int = i, row: pd.Series = row) -> str:
            return f"<{m}" if hidden[col].loc[i] else fmt_int(row[col])

        cost_hidden = row_hidden.loc[i]
        rows.append([
            Bi(zh, en), fmt_int(row["budget"]), c("calls_averted_median"),
            f"{c('calls_averted_p10')}–{c('calls_averted_p90')}",
            WITHHELD if cost_hidden else _money(row["cost_per_averted_call"]),
            WITHHELD if cost_hidden else (f"{_money(row['cost_per_averted_call_ci_lo'])}–"
                                          f"{_money(row['cost_per_averted_call_ci_hi'])}"),
        ])  # fmt: skip
    if eff["budget"].nunique() > 1 and (~row_hidden).any():
        sec.figures.append(_sim_figure(eff[~row_hidden], run))
    sec.tables.append(Table(header, rows, ["L", "R", "R", "R", "R", "R"],
                            [1.6, 1.0, 1.1, 1.0, 1.0, 1.3], len(eff), "sim/effects.csv"))
    oracle_run = bool((eff["policy"] == "oracle").any())
    sec.notes.append(Bi(
        "模拟数据，非真实工单；"
        + ("全知上限读取模型内部状态，只作上界参照；" if oracle_run else "")
        + f"来电数为模拟规模下的数量，1–{m - 1} 件以 <{m} 标出。",
        "Simulated, not real records; " + ("the oracle reads the model's hidden state and is an "
                                           "upper bound only; " if oracle_run else "")
        + f"calls are at the simulation's scale; 1–{m - 1} shows as <{m}.",
    ))  # fmt: skip
    # The date of these numbers: the end of the simulated window they cover.
    sim_date = window.split("..")[-1] if ".." in window else date
    sec.source = _source(["sim/effects.csv"] + (["sim/experiment.nc"] if attrs else []),
                         sim_date)  # fmt: skip
    return sec


def _effects_window(path: Path) -> str:
    """The evaluation window named in effects.csv's comment line ("effects over A..B")."""
    with open(path, encoding="utf-8") as fh:
        first = fh.readline()
    found = re.search(r"over (\d{4}-\d{2}-\d{2}\.\.\d{4}-\d{2}-\d{2})", first)
    return found.group(1) if found else "?"


def _sim_figure(eff: pd.DataFrame, run: Run) -> Figure:
    """Calls averted (median, 10–90 % band over seeds) against the budget, one line per policy.

    Only rows with no withheld cell are passed in, so no small count is drawn.
    """
    from predgov.viz.style import OKABE_ITO, briefing_style

    lang = run.lang
    width_mm, height_mm = 150.0, 52.0
    with briefing_style():
        fig, ax = plt.subplots(figsize=(width_mm / 25.4, height_mm / 25.4), layout="constrained")
        for k, (policy, part) in enumerate(eff.groupby("policy", sort=False)):
            part = part.sort_values("budget")
            zh, en = POLICY_LABELS.get(str(policy), (str(policy),) * 2)
            color = "#555555" if policy == "oracle" else OKABE_ITO[k % len(OKABE_ITO)]
            style = "--" if policy == "oracle" else "-"
            ax.fill_between(part["budget"], part["calls_averted_p10"], part["calls_averted_p90"],
                            color=color, alpha=0.15, linewidth=0)
            ax.plot(part["budget"], part["calls_averted_median"], style, marker="o", ms=3,
                    color=color, lw=1.4, label=Bi(zh, en).pick(lang, " "))
        budgets = np.sort(eff["budget"].unique())
        ax.set_xticks(budgets, [fmt_int(b) for b in budgets], fontsize=7)
        ax.tick_params(labelsize=7)
        ax.set_xlabel(Bi("预算", "budget").pick(lang, " "), fontsize=7)
        ax.set_ylabel(Bi("减少来电", "calls averted").pick(lang, "\n"), fontsize=7)
        ax.axhline(0, color="#999999", lw=0.6)
        ax.legend(fontsize=6.5, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
        png = _png(fig)
    return Figure(png, width_mm, height_mm,
                  Bi("各策略减少的来电（中位数与 10–90% 区间）随预算",
                     "Calls averted per policy against the budget (median, 10–90 % band)"))


def _money(value: float) -> str:
    return "–" if not math.isfinite(float(value)) else fmt_int(value)


def _interventions(attrs: dict[str, Any]) -> Bi:
    try:
        spec = json.loads(str(attrs.get("interventions", "{}")))
    except json.JSONDecodeError:
        spec = {}
    if not spec:
        return Bi("先办措施", "Preemptive interventions")
    parts_zh, parts_en = [], []
    for name, item in spec.items():
        when = f"{item.get('start', '')}–{item.get('end') or ''}".strip("–")
        cost = item.get("unit_cost")
        # PipeFlushing targets estates but pays (and counts capacity) per household
        unit = "household" if item.get("kind") == "PipeFlushing" else item.get("unit", "unit")
        unit_zh = {"household": "户", "estate": "小区", "grid": "网格"}.get(unit, unit)
        parts_zh.append(f"{name}（{when}，每{unit_zh} {fmt_int(cost) if cost else '?'}）")
        parts_en.append(f"{name} ({when}, {fmt_int(cost) if cost else '?'} per {unit})")
    return Bi("措施：" + "，".join(parts_zh), "Intervention: " + ", ".join(parts_en))
