"""Data stage: demo city or a records file → cube, ingest report, summary table and heatmap."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import xarray as xr

from predgov.data.cube import to_cube, write_cube
from predgov.experiment.config import DemoCityConfig, FileDataConfig, VizConfig

_HEATMAP_TITLE = {
    "zh": "各区各类诉求总量",
    "en": "Requests by district and category",
    "both": "各区各类诉求总量 · Requests by district and category",
}


@dataclass
class DataStageResult:
    """What the data stage hands on: the cube, its ingest report, and input files by role."""

    cube: xr.Dataset
    report_text: str
    report: dict[str, object]
    records: pd.DataFrame | None = None
    inputs: dict[str, Path] = field(default_factory=dict)


def load_data(cfg: DemoCityConfig | FileDataConfig) -> DataStageResult:
    """Run the data stage: demo city or records file → cube (nothing written)."""
    if isinstance(cfg, DemoCityConfig):
        return _load_demo(cfg)
    return _load_file(cfg)


def _load_demo(cfg: DemoCityConfig) -> DataStageResult:
    from predgov.data.cube import resample_counts
    from predgov.data.demo import demo_city

    city = demo_city(seed=cfg.seed, start=cfg.start, end=cfg.end, anomalies=cfg.anomalies,
                     scale=cfg.scale)
    by = list(cfg.cube.by)
    if by != ["district", "category"]:
        if "grid" in by or "subcategory" in by:
            raise ValueError(f"the demo city has district x category series only, not by={by}")
        city = city[["counts"]]
        if by == ["category"]:
            city = city["counts"].sum("district", keep_attrs=True).to_dataset()
        elif by == ["district"]:
            city = city["counts"].sum("category", keep_attrs=True).to_dataset()
        else:
            city = city.transpose("time", *by)
    if cfg.cube.freq != "D":
        cube = resample_counts(city, cfg.cube.freq, partial=cfg.cube.partial)
    else:
        cube = city
    total = int(cube["counts"].sum())
    report = {
        "source": f"predgov demo city (synthetic, seed={cfg.seed})",
        "records_ingested": 0,
        "requests_in_cube": total,
        "period": [cfg.start, cfg.end],
        **partial_report(cube),
        "note": "synthetic counts are generated directly as a cube; no records were read",
    }
    text = (
        f"source: {report['source']}\nperiod: {cfg.start} .. {cfg.end}\n"
        f"requests in cube: {total:,}\n{partial_text(cube)}{report['note']}\n"
    )
    return DataStageResult(cube=cube, report_text=text, report=report)


def partial_report(cube: xr.Dataset) -> dict[str, object]:
    """The cube's partly covered edge periods (weeks/months) and what was done with them."""
    periods = cube.attrs.get("partial_periods", "none")
    if periods in (None, "none", ""):
        return {}
    return {
        "partial_periods": str(periods),
        "partial_policy": str(cube.attrs.get("partial_policy", "keep")),
        "requests_in_partial_periods": int(cube.attrs.get("requests_in_partial_periods", 0)),
    }


def partial_text(cube: xr.Dataset) -> str:
    """One report line on the partly covered edge periods, or "" when there are none."""
    info = partial_report(cube)
    if not info:
        return ""
    what = ("masked (not observed)" if info["partial_policy"] == "mask"
            else "kept as partial totals")  # fmt: skip
    return (f"partly covered edge periods {info['partial_periods']}: {what}; "
            f"{info['requests_in_partial_periods']:,} requests in them\n")  # fmt: skip


def _load_file(cfg: FileDataConfig) -> DataStageResult:
    from predgov.data.presets import get_preset
    from predgov.data.records import read_records

    key = os.environ.get(cfg.key_env) if cfg.pseudonymise else None
    period = (cfg.period_start, cfg.period_end) if cfg.period_start else None
    result = read_records(
        cfg.path,
        preset=cfg.preset,
        mapping=dict(cfg.mapping) or None,
        timezone=cfg.timezone,
        pseudonymise=cfg.pseudonymise,
        key=key,
        strict=cfg.strict,
        period=period,
    )
    preset = get_preset(cfg.preset) if cfg.preset else None
    cube = to_cube(
        result.records,
        freq=cfg.cube.freq,
        by=cfg.cube.by,
        taxonomy=getattr(preset, "taxonomy", None),
        districts=getattr(preset, "districts", None),
        period=period,
        source=f"hotline records from {Path(cfg.path).name}",
        partial=cfg.cube.partial,
    )
    partial_line = partial_text(cube)
    return DataStageResult(
        cube=cube,
        report_text=str(result.report) + ("\n" + partial_line if partial_line else ""),
        report={**result.report.to_dict(), **partial_report(cube)},
        records=result.records,
        inputs={"records": Path(cfg.path)},
    )


def summary_table(cube: xr.Dataset, min_count: int) -> pd.DataFrame:
    """Totals per district (rows) and category (columns), small cells suppressed as "<n"."""
    from predgov.viz import format_table

    counts = cube["counts"]
    series_dims = [d for d in counts.dims if d != "time"]
    totals = counts.sum("time", skipna=True, min_count=1)
    if len(series_dims) == 1:
        frame = totals.to_series().to_frame(name="total")
    else:
        frame = totals.transpose(*series_dims[:2]).to_pandas()
    return format_table(frame, min_count=min_count)



def run_data_stage(
    cfg: DemoCityConfig | FileDataConfig, viz: VizConfig, run_dir: Path
) -> tuple[DataStageResult, dict[str, Path]]:
    """Load the data, write the cube, ingest report, records, summary table and heatmap."""
    from predgov.viz import district_category_heatmap

    data = load_data(cfg)
    out: dict[str, Path] = {}
    out["cube"] = run_dir / "cube.nc"
    write_cube(data.cube, out["cube"])
    out["ingest_report"] = run_dir / "ingest_report.json"
    out["ingest_report"].write_text(
        json.dumps(data.report, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n",
        encoding="utf-8",
    )
    out["ingest_report_text"] = run_dir / "ingest_report.txt"
    out["ingest_report_text"].write_text(data.report_text, encoding="utf-8")
    if data.records is not None:
        out["records"] = run_dir / "records.parquet"
        data.records.to_parquet(out["records"], index=False)

    tables = run_dir / "tables"
    tables.mkdir(exist_ok=True)
    out["summary_table"] = tables / "totals_by_district_category.csv"
    summary_table(data.cube, viz.min_count).to_csv(out["summary_table"], encoding="utf-8")

    if {"district", "category"} <= set(data.cube["counts"].dims):
        fig = district_category_heatmap(
            data.cube,
            lang=viz.lang,
            min_count=viz.min_count,
            title=_HEATMAP_TITLE[viz.lang],
            source=data.cube.attrs.get("source", ""),
            date=figure_date(viz, data.cube),
        )
        out.update(save_and_close(fig, run_dir / "figures" / "summary_heatmap", viz))
    return data, out


def figure_date(viz: VizConfig, cube: xr.Dataset) -> str:
    """Date on figures: the configured one, else the cube's last period (reproducible)."""
    return viz.date or str(pd.Timestamp(cube["time"].values[-1]).date())


def save_and_close(fig, stem: Path, viz: VizConfig) -> dict[str, Path]:
    """Save a figure in the configured formats, close it, return the paths by role."""
    import matplotlib.pyplot as plt

    from predgov.viz import save_figure

    paths = save_figure(fig, stem, formats=tuple(viz.formats), dpi=viz.dpi)
    plt.close(fig)
    return {f"{stem.name}_{p.suffix.lstrip('.')}": p for p in paths}


def place_calendar(
    cfg: DemoCityConfig | FileDataConfig, index: pd.DatetimeIndex
) -> xr.Dataset | None:
    """Calendar regressors of the data's place over ``index``; None when no place is set."""
    from predgov.data.calendar import calendar

    if cfg.city is None and cfg.country is None:
        return None
    if cfg.city is None:
        return calendar(index, city=None, country=cfg.country)
    return calendar(index, city=cfg.city, country=cfg.country)
