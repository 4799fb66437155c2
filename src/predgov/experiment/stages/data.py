"""Data stage: demo city or a records file → cube, ingest report, summary table and heatmap.

For a records file the console gets one warning line (logger ``"predgov"``) per thing a user
should know about the ingest: rows outside the study period (with the span kept), malformed
rows, imprecise ids, districts / categories the tables do not know (top labels, as published:
scrubbed, rare ones generalised, counts below ``viz.min_count`` as ``<n``), personal text
scrubbed and rare labels generalised. The ingest report written to the run directory is the
published form (:meth:`~predgov.data.report.IngestReport.published`).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import xarray as xr

from predgov.data.cube import to_cube, write_cube
from predgov.experiment.config import DemoCityConfig, FileDataConfig, VizConfig

if TYPE_CHECKING:
    from predgov.data.report import IngestReport

log = logging.getLogger("predgov")

_HEATMAP_TITLE = {
    "zh": "各区各类诉求总量",
    "en": "Requests by district and category",
    "both": "各区各类诉求总量 · Requests by district and category",
}


@dataclass
class DataStageResult:
    """What the data stage hands on: the cube, its ingest report, and input files by role.

    ``report`` and ``report_text`` are the published forms (small counts suppressed);
    ``ingest`` is the exact :class:`~predgov.data.report.IngestReport` of a records file.
    """

    cube: xr.Dataset
    report_text: str
    report: dict[str, object]
    records: pd.DataFrame | None = None
    ingest: IngestReport | None = None


def load_data(cfg: DemoCityConfig | FileDataConfig, min_count: int = 5) -> DataStageResult:
    """Run the data stage: demo city or records file → cube (nothing written).

    ``min_count`` is the small-cell threshold (``viz.min_count``): rarer unknown labels are
    generalised at ingest and smaller counts are suppressed in the published report.
    """
    if isinstance(cfg, DemoCityConfig):
        return _load_demo(cfg)
    return _load_file(cfg, min_count)


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


def _load_file(cfg: FileDataConfig, min_count: int = 5) -> DataStageResult:
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
        study_period=cfg.study_period,
        min_label_rows=min_count,
    )
    log_ingest(result.report, min_count)
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
        report_text=result.report.to_text(min_count=min_count)
        + ("\n" + partial_line if partial_line else ""),
        report={**result.report.published(min_count), **partial_report(cube)},
        records=result.records,
        ingest=result.report,
    )


def _top(counts: dict[str, int], min_count: int, limit: int = 5) -> str:
    """The largest counts as ``label (n)``, small ones suppressed as in the published report
    (:func:`~predgov.data.report.suppress_counts`)."""
    from predgov.data.report import suppress_counts

    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = suppress_counts(dict(items[:limit]), min_count)
    more = f", ... {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(f"{k} ({v})" for k, v in shown.items()) + more


def _rows(n: int, min_count: int) -> str:
    """A row count for the console, suppressed like the published report."""
    from predgov.data.report import suppress_counts

    value = suppress_counts({"n": n}, min_count)["n"]
    return f"{value:,}" if isinstance(value, int) else value


def ingest_messages(report: IngestReport, min_count: int = 5) -> list[str]:
    """One line per thing a user should know about an ingest (empty when all is plain).

    Labels are as the records hold them (scrubbed, rare ones generalised); counts that map
    onto table cells show as ``<min_count`` when small, like the published tables.

    Examples
    --------
    >>> from predgov.data.report import IngestReport
    >>> r = IngestReport(source="x.csv", rows_read=100, rows_accepted=99, rows_rejected=1,
    ...                  districts="qingdao", unmapped_districts={"高新区": 40, "青岛市": 2},
    ...                  study_period={"mode": "auto", "start": "2022-01-01",
    ...                                "end": "2024-12-31"})
    >>> r.rejected_by_reason["outside_study_period"] = 1
    >>> for line in ingest_messages(r): print(line)
    x.csv: 1 row outside the study period 2022-01-01 .. 2024-12-31 left out (far from the dense span of received dates; set data.period_start / data.period_end to choose the period)
    x.csv: 42 rows (2 names) with a district the district table qingdao does not know, kept as their own series: 高新区 (40), 青岛市 (<5)
    """  # noqa: E501
    src = report.source
    by = report.rejected_by_reason
    warn = report.warnings
    lines = []

    def plural(n: int, word: str) -> str:
        return f"{n:,} {word}{'' if n == 1 else 's'}"

    outside = by.get("outside_study_period", 0)
    if outside:
        sp = report.study_period
        lines.append(
            f"{src}: {plural(outside, 'row')} outside the study period {sp.get('start')} .. "
            f"{sp.get('end')} left out (far from the dense span of received dates; set "
            "data.period_start / data.period_end to choose the period)"
        )
    if by.get("time_out_of_range", 0):
        lines.append(
            f"{src}: {plural(by['time_out_of_range'], 'row')} rejected with a received time "
            "outside the period read (data.period_start / data.period_end) or outside "
            "1990 .. tomorrow"
        )
    if by.get("duplicate_report", 0):
        lines.append(
            f"{src}: {plural(by['duplicate_report'], 'row')} the source marks as duplicate "
            "reports of an earlier request rejected (counted as duplicate_report)"
        )
    if by.get("malformed_row", 0):
        lines.append(
            f"{src}: {plural(by['malformed_row'], 'malformed row')} rejected (an unbalanced "
            "quote or a wrong number of fields; see ingest_report.txt)"
        )
    if warn.get("imprecise_record_id", 0):
        lines.append(
            f"{src}: {plural(warn['imprecise_record_id'], 'row')} with an id that lost digits "
            "(a number of 16+ digits stored as a float / in scientific notation): kept, id "
            "left empty, not checked for duplicates; store ids as text"
        )
    for what, counts, table in (
        ("district", report.unmapped_districts, report.districts and "district table"),
        ("category", report.unmapped_categories, report.taxonomy and "taxonomy"),
    ):
        if counts and table:
            name = report.districts if what == "district" else report.taxonomy
            total = sum(counts.values())
            lines.append(
                f"{src}: {_rows(total, min_count)} rows ({plural(len(counts), 'name')}) with a "
                f"{what} the {table} {name} does not know, kept as their own series: "
                f"{_top(counts, min_count)}"
            )
    if warn.get("scrubbed_personal_text", 0):
        fields = ", ".join(f"{k} {v:,}" for k, v in report.scrubbed.items())
        lines.append(
            f"{src}: personal text (phone / ID number / e-mail / name) removed from "
            f"{plural(warn['scrubbed_personal_text'], 'row')} ({fields})"
        )
    if warn.get("generalised_rare_label", 0):
        fields = ", ".join(report.generalised)
        lines.append(
            f"{src}: {_rows(warn['generalised_rare_label'], min_count)} rows hold a label no "
            f"table knows and fewer than {min_count} rows share ({fields}): shown as "
            "'其他/other (unmapped)'"
        )
    told = {"imprecise_record_id", "scrubbed_personal_text", "generalised_rare_label"}
    for kind, n in warn.items():
        if kind not in told and n:
            lines.append(f"{src}: {_rows(n, min_count)} rows kept with warning '{kind}' "
                         "(ingest_report.txt)")
    return lines


def log_ingest(report: IngestReport, min_count: int = 5) -> None:
    """Write :func:`ingest_messages` to the console (logger ``"predgov"``, level WARNING)."""
    for line in ingest_messages(report, min_count):
        log.warning("%s", line)


def summary_table(cube: xr.Dataset, min_count: int) -> pd.DataFrame:
    """Total requests per series (one row per district × category), ready for CSV.

    Plain integers in ``requests``; a withheld total is empty, with ``suppressed`` naming the
    column (``"requests"``; empty for a published or not-observed row). Withheld are totals of
    1..``min_count``-1 and, for a district × category cube, their complementary cells
    (:func:`predgov.viz.suppress.complementary_mask`), so no withheld total follows from a
    district, category or city total by subtraction. With one series dim the complement
    protects the grand total. A series never observed has an empty total and no flag.

    Examples
    --------
    >>> cube = xr.Dataset({"counts": (("time", "district", "category"),
    ...                               [[[3, 20, 50], [40, 30, 60]]])},
    ...                   coords={"district": ["a", "b"], "category": ["x", "y", "z"]})
    >>> summary_table(cube, 5)
                       requests suppressed
    district category
    a        x             <NA>   requests
             y             <NA>   requests
             z               50
    b        x             <NA>   requests
             y             <NA>   requests
             z               60
    """
    import numpy as np

    from predgov.viz.suppress import SUPPRESSED_COLUMN, complementary_mask

    counts = cube["counts"]
    series_dims = [d for d in counts.dims if d != "time"]
    totals = counts.sum("time", skipna=True, min_count=1).transpose(*series_dims)
    frame = totals.to_series().rename("requests").to_frame()
    if len(series_dims) == 2:
        wide = complementary_mask(totals.to_pandas(), min_count)
        mask = wide.stack(future_stack=True).reindex(frame.index)
    else:
        mask = complementary_mask(frame, min_count, lines="columns")["requests"]
    mask = mask.to_numpy(dtype=bool)
    frame["requests"] = frame["requests"].round().astype("Int64").mask(mask)
    frame[SUPPRESSED_COLUMN] = np.where(mask, "requests", "")
    return frame



def run_data_stage(
    cfg: DemoCityConfig | FileDataConfig, viz: VizConfig, run_dir: Path
) -> tuple[DataStageResult, dict[str, Path]]:
    """Load the data, write the cube, ingest report, records, summary table and heatmap."""
    from predgov.viz import district_category_heatmap

    data = load_data(cfg, viz.min_count)
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
