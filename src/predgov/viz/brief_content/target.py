"""The target section: the off-season treatment list."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from predgov.data.suppress import complementary_mask
from predgov.viz.brief_content._run import (
    WITHHELD,
    Run,
    _small,
    _source,
    count_text,
    fmt_int,
)
from predgov.viz.brief_model import Bi, Section, Table


def _expected_from_zh(text: str) -> str:
    """Chinese wording of the target stage's ``expected_from`` attribute (written in English by
    :func:`predgov.target.treatment_list`); unknown text is returned as it is.

    Examples
    --------
    >>> _expected_from_zh("forecast nb_glm (fit origin 2024-12-31T00:00:00)")
    '预测（模型 nb_glm，拟合截至 2024-12-31）'
    >>> _expected_from_zh("history, raw (persistence: next season as the last)")
    '历史来电（未收缩：下一季按上一季）'
    """
    m = re.fullmatch(r"forecast (.+) \(fit origin ([0-9-]{10})[^)]*\)", text)
    if m:
        return f"预测（模型 {m.group(1)}，拟合截至 {m.group(2)}）"
    if text.startswith("history, empirical-Bayes"):
        return "历史来电，经验贝叶斯收缩（伽马-泊松，矩估计）"
    if text.startswith("history, raw"):
        return "历史来电（未收缩：下一季按上一季）"
    return text


def _efficacy_zh(text: str) -> str:
    """Chinese wording of the target stage's ``efficacy`` attribute.

    Examples
    --------
    >>> _efficacy_zh("0.3 for every unit"), _efficacy_zh("per unit, 0.2..0.4")
    ('各单位均为 0.3', '按单位 0.2..0.4')
    """
    m = re.fullmatch(r"(\S+) for every unit", text)
    if m:
        return f"各单位均为 {m.group(1)}"
    m = re.fullmatch(r"per unit, (\S+)", text)
    return f"按单位 {m.group(1)}" if m else text


def target_section(run: Run, date: str) -> Section | Bi:
    """The off-season treatment list: top units, expected calls averted, cost."""
    path = run.file("target/treatment_table.csv")
    if path is None:
        return Bi("淡季治理清单：本次运行无 target/（target.enabled=false）",
                  "treatment list: no target/ in this run (target.enabled=false)")
    table = pd.read_csv(path, dtype={"suppressed": str}).fillna({"suppressed": ""})
    attrs: dict[str, Any] = {}
    if run.file("target/treatment_list.nc") is not None:
        with xr.open_dataset(run.path / "target/treatment_list.nc") as ds:
            attrs = dict(ds.attrs)
    unit = str(attrs.get("unit", table.columns[0]))
    m = run.min_count
    counts = [c for c in ("history_calls", "expected_calls", "calls_averted",
                          "calls_averted_low", "calls_averted_high") if c in table.columns]
    # Our own rule on top of the stage's: expected values of 1..4 calls are printed as <5 too,
    # and a second cell of a column holding one such cell is withheld (the totals are printed).
    hidden = complementary_mask(table[counts].astype(float), m, lines="columns")
    csv_hidden = table["suppressed"].str.split(";")
    cost_units = str(attrs.get("cost_units", ""))
    # the config's default label is English; a user's own units (CNY, 元) print as given
    units_zh = "成本单位" if cost_units == "cost units" else cost_units
    sec = Section("target", Bi("淡季治理清单（冬病夏治）", "Off-season treatment list"))
    category = run.category(str(attrs.get("category", "")))
    window = str(attrs.get("target_window", ""))
    budget = attrs.get("budget")
    n_in = int(attrs.get("n_within_budget", table.get("within_budget", pd.Series()).sum()))
    total_cost = float(attrs.get("total_cost", np.nan))
    averted = float(attrs.get("total_calls_averted", np.nan))
    funded_hidden = bool(hidden.loc[table.get("within_budget", False) == True, "calls_averted"]  # noqa: E712
                         .any()) if "calls_averted" in hidden else False  # fmt: skip
    averted_text = WITHHELD if funded_hidden and n_in == 1 else count_text(averted, m)
    if budget is not None and math.isfinite(float(budget)):
        sec.paragraphs.append(Bi(
            f"类别 {category.zh}，目标时段 {window}：预算 {fmt_int(float(budget))} {units_zh} "
            f"可覆盖 {len(table)} 个单位中的前 {n_in} 个（花费 {fmt_int(total_cost)} "
            f"{units_zh}），预计减少约 {averted_text} 件来电。",
            f"Category {category.en}, target window {window}: a budget of "
            f"{fmt_int(float(budget))} {cost_units} funds the first {n_in} of {len(table)} "
            f"units (cost {fmt_int(total_cost)} {cost_units}), expected to avert about "
            f"{averted_text} calls.",
        ))  # fmt: skip
    eff_source = str(attrs.get("efficacy_source", ""))
    if eff_source:
        sec.notes.append(Bi(
            f"假定效果 {_efficacy_zh(str(attrs.get('efficacy', '')))}（来源：{eff_source}）；"
            f"预期来电依据：{_expected_from_zh(str(attrs.get('expected_from', '')))}。",
            f"Assumed efficacy {attrs.get('efficacy', '')} (source: {eff_source}); expected "
            f"calls from: {attrs.get('expected_from', '')}.",
        ))  # fmt: skip
    en_col = f"{unit}_label_en" if f"{unit}_label_en" in table.columns else None

    def cell(i: int, col: str) -> str:
        if col in csv_hidden.iloc[i]:
            return WITHHELD
        value = float(table[col].iloc[i])
        if hidden[col].iloc[i]:
            return f"<{m}" if _small(value, m) else WITHHELD
        return count_text(value, m)

    header = [Bi("序", "#"), Bi("单位", "Unit"), Bi("上季来电", "Last season"),
              Bi("预期来电", "Expected"), Bi("可减少（区间）", "Averted (band)"),
              Bi(f"成本 {units_zh}", f"Cost {cost_units}"),
              Bi("累计成本", "Cumulative"), Bi("预算内", "In budget")]
    rows: list[list[str | Bi]] = []
    for i in range(min(run.max_rows, len(table))):
        name = str(table[unit].iloc[i])
        label: str | Bi = Bi(name, str(table[en_col].iloc[i])) if en_col else name
        within = bool(table["within_budget"].iloc[i]) if "within_budget" in table else False
        rows.append([
            str(table["rank"].iloc[i]) if "rank" in table else str(i + 1), label,
            cell(i, "history_calls") if "history_calls" in table else "–",
            cell(i, "expected_calls") if "expected_calls" in table else "–",
            f"{cell(i, 'calls_averted')} ({cell(i, 'calls_averted_low')}–"
            f"{cell(i, 'calls_averted_high')})" if "calls_averted_low" in table else
            cell(i, "calls_averted"),
            fmt_int(float(table["cost"].iloc[i])) if "cost" in table else "–",
            fmt_int(float(table["cumulative_cost"].iloc[i])) if "cumulative_cost" in table else "–",
            Bi("是", "yes") if within else Bi("否", "no"),
        ])  # fmt: skip
    sec.tables.append(Table(header, rows, ["R", "L", "R", "R", "R", "R", "R", "L"],
                            [0.35, 1.6, 0.9, 0.9, 1.3, 1.1, 1.1, 0.7], len(table),
                            "target/treatment_table.csv"))  # fmt: skip
    sec.source = _source(["target/treatment_table.csv", "target/treatment_list.nc"], date)
    return sec
