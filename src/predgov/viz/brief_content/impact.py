"""The impact section: calls a past action prevented."""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from predgov.viz.brief_content._run import (
    Run,
    _date,
    _labels,
    _pct,
    _png_file,
    _small,
    _source,
    fmt_int,
)
from predgov.viz.brief_model import Bi, Caution, Section

# --------------------------------------------------------------------------- impact

#: Scalars of impact/impact.nc (predgov.impact stage).
IMPACT_VARS = ("total_effect", "total_effect_lo", "total_effect_hi", "naive_effect")


def impact_section(run: Run, date: str) -> Section | Bi:
    """What a past action prevented, with the naive year-on-year figure only as a caution.

    ``impact/impact.nc`` (``predgov.impact.estimate``) holds ``total_effect`` = observed minus
    counterfactual calls (negative: calls prevented) with its joint interval; the brief prints
    calls prevented, ``-total_effect``, with the interval turned round.
    """
    path = run.file("impact/impact.nc")
    if path is None:
        return Bi("过往行动效果：本次运行无 impact/impact.nc", "impact: no impact/impact.nc")
    with xr.open_dataset(path) as ds:
        values = {k: float(ds[k].values) for k in (*IMPACT_VARS, "total_relative_effect",
                                                   "naive_relative_effect")
                  if k in ds and ds[k].size == 1}  # fmt: skip
        kind = str(ds["naive_effect"].attrs.get("kind", "")) if "naive_effect" in ds else ""
        attrs = {k: v for k, v in ds.attrs.items() if isinstance(v, str | int | float)}
        unit = str(attrs.get("unit", ""))
        units = [str(u) for u in ds[unit].values] if unit and unit in ds.coords else []
        start = ""
        if "post" in ds and "time" in ds["post"].dims:
            post = ds["post"].any([d for d in ds["post"].dims if d != "time"])
            if bool(post.any()):
                start = _date(ds["time"].values[int(np.argmax(post.values))])
        end = _date(ds["time"].values[-1]) if "time" in ds.coords and ds.sizes["time"] else ""
    m = run.min_count
    sec = Section("impact", Bi("过往行动：避免了多少来电", "Past action: calls it prevented"))
    nan = float("nan")
    prevented = -values.get("total_effect", nan)
    lo, hi = -values.get("total_effect_hi", nan), -values.get("total_effect_lo", nan)
    try:
        level_text = f"{float(attrs.get('level', 0.9)):.0%}"
    except (TypeError, ValueError):
        level_text = "90%"
    method = str(attrs.get("method", ""))

    def calls(v: float) -> str:
        # Calls prevented are a count: its size, not its sign, meets the threshold.
        if not math.isfinite(v):
            return "–"
        return f"<{m}" if _small(abs(v), m) else fmt_int(v)

    cube = run.cube()
    names = _labels(cube, unit) if cube is not None and unit == "district" else {}
    named = [names.get(u, Bi(u, u)) for u in units]
    shown_units = "、".join(u.zh for u in named[:5]) + (
        f" 等 {len(units)} 个" if len(units) > 5 else "")  # fmt: skip
    shown_en = ", ".join(u.en for u in named[:5]) + (
        f" and {len(units) - 5} more" if len(units) > 5 else "")  # fmt: skip
    rel = values.get("total_relative_effect", nan)
    rel_small = any(_small(abs(v), m) for v in (prevented, lo, hi) if math.isfinite(v))
    rel_ok = math.isfinite(rel) and not rel_small
    rel_zh = (f"，比无行动时{'少' if rel < 0 else '多'} {abs(rel):.0%}") if rel_ok else ""
    rel_en = (f", {abs(rel):.0%} {'fewer' if rel < 0 else 'more'} than without the action"
              if rel_ok else "")  # fmt: skip
    codes = str(attrs.get("categories", ""))
    cat = run.category(codes) if codes and codes != "all" else Bi("全部", "all")
    sec.paragraphs.append(Bi(
        f"行动对象 {shown_units or '?'}（{cat.zh}类来电），{start} 至 {end}："
        f"估计避免了 {calls(prevented)} 件来电（{level_text} 区间 {calls(lo)} 至 {calls(hi)}"
        f"{rel_zh}）" + (f"，方法 {method}" if method else "") + "。",
        f"Action on {shown_en or '?'} ({cat.en} calls), {start} to {end}: estimated "
        f"{calls(prevented)} calls prevented ({level_text} interval {calls(lo)} to {calls(hi)}"
        f"{rel_en})" + (f", method {method}" if method else "") + ".",
    ))  # fmt: skip
    naive = values.get("naive_effect")
    if naive is not None:
        how = {"year_on_year": Bi("同比", "year-on-year"),
               "before_after": Bi("前后对比", "before/after")}.get(kind, Bi("简单对比", "naive"))
        naive_rel = values.get("naive_relative_effect", nan)
        small = _small(abs(naive), m)
        pct = f"，{_pct(naive_rel)}" if math.isfinite(naive_rel) and not small else ""
        pct_en = f" ({_pct(naive_rel)})" if pct else ""
        sec.cautions.append(Caution(Bi(
            f"注意：简单{how.zh}变化为 {calls(naive)} 件{pct}——这不是效果估计：它把行动与天气、"
            "趋势和均值回归混在一起，仅供对照。",
            f"Caution: the naive {how.en} change is {calls(naive)} calls{pct_en}. It is not an "
            "effect estimate: it mixes the action with weather, trend and regression to the "
            "mean; shown for comparison only.",
        )))  # fmt: skip
    figure = run.file("impact/figures/impact.png")
    if figure is not None:
        sec.figures.append(_png_file(figure, Bi("观测与反事实来电", "Observed and counterfactual "
                                                                  "calls")))  # fmt: skip
    files = ["impact/impact.nc"] + (["impact/figures/impact.png"] if figure else [])
    sec.source = _source(files, end or date)  # the last period the estimate covers
    return sec
