"""Warn stage: run the configured detector over every series, write alarms, alerts and figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from predgov.data.cube import write_cube
from predgov.experiment.config import VizConfig, WarnConfig
from predgov.experiment.stages.data import figure_date, save_and_close
from predgov.experiment.stages.forecast import cube_freq


def calibrate_on_history(cfg: WarnConfig, cube: xr.Dataset, params: dict) -> dict[str, Any]:
    """Threshold for ``cfg.calibrate_fa`` alarms per series-year on the cube's history up to
    ``cfg.calibrate_end`` (default: before the last ``recent_days`` days); see
    :func:`predgov.warn.calibrate_threshold`."""
    from predgov.experiment.config import ConfigError
    from predgov.warn import calibrate_threshold

    time = pd.DatetimeIndex(cube["time"].values)
    if cfg.calibrate_end is not None:
        end = pd.Timestamp(cfg.calibrate_end)
    else:
        end = time[-1] - pd.Timedelta(days=cfg.recent_days)
    if end < time[0]:
        raise ConfigError(
            f"invalid config value at 'warn.calibrate_end': the calibration stretch ends on "
            f"{end.date()}, before the data start on {time[0].date()}"
        )
    threshold = calibrate_threshold(cube, cfg.method, float(cfg.calibrate_fa), end=end, **params)
    return {
        "method": cfg.method,
        "threshold": threshold,
        "fa_per_year": float(cfg.calibrate_fa),
        "calibration_start": str(time[0].date()),
        "calibration_end": str(min(end, time[-1]).date()),
    }


#: History shown before and after the top alert on its timeline, by cube frequency.
TIMELINE_CONTEXT = {
    "D": (pd.Timedelta(days=60), pd.Timedelta(days=30)),
    "W-MON": (pd.DateOffset(weeks=16), pd.DateOffset(weeks=8)),
    "MS": (pd.DateOffset(months=12), pd.DateOffset(months=3)),
}


def run_warn_stage(
    cfg: WarnConfig,
    cube: xr.Dataset,
    regressors: xr.Dataset | None,
    viz: VizConfig,
    out_dir: Path,
) -> dict[str, Path]:
    """Write ``alarms.nc``, the alert tables (small cells suppressed) and the alert figures;
    with ``cfg.calibrate_fa`` also ``threshold.json`` (the threshold calibrated on the history)."""
    from predgov.viz.warn_figures import alert_board, alert_timeline
    from predgov.warn import detect
    from predgov.warn.alerts import alerts, publishable

    out_dir.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    params = dict(cfg.params)
    # The calendar of the place plus observed weather (known once the day is over) let the
    # expected counts anticipate holidays, seasons and cold spells instead of alarming on them.
    extra = [v for v in ("temperature",) if v in cube.data_vars and cube[v].dims == ("time",)]
    if regressors is not None:
        regressors = xr.merge([regressors.sel(time=cube["time"]), cube[extra]])
    elif extra:
        regressors = cube[extra]
    if regressors is not None:
        params.setdefault("regressors", regressors)
    calibration = None
    if cfg.calibrate_fa is not None:
        calibration = calibrate_on_history(cfg, cube, params)
        params["threshold"] = calibration["threshold"]
        out["threshold"] = out_dir / "threshold.json"
        out["threshold"].write_text(json.dumps(calibration, indent=2) + "\n", encoding="utf-8")
    if cfg.blocked:
        from predgov.parallel import DEFAULT_BLOCK_SERIES
        from predgov.warn.distributed import detect_blocked

        alarms = detect_blocked(cube, method=cfg.method,
                                block_series=cfg.block_series or DEFAULT_BLOCK_SERIES,
                                backend=cfg.backend, scheduler=cfg.scheduler,
                                n_workers=cfg.n_workers, **params)  # fmt: skip
    else:
        alarms = detect(cube, method=cfg.method, **params)
    if calibration is not None:
        alarms.attrs["calibrated_threshold"] = calibration["threshold"]
        alarms.attrs["calibration"] = json.dumps(calibration, sort_keys=True)
    out["alarms"] = out_dir / "alarms.nc"
    write_cube(alarms, out["alarms"])

    table = alerts(alarms, cube, max_gap=cfg.max_gap)
    # Machine-readable: plain numbers, withheld cells empty and named in `suppressed`.
    out["alerts"] = out_dir / "alerts.csv"
    publishable(table, min_count=viz.min_count, numbers=True).to_csv(out["alerts"], index=False)
    last = pd.Timestamp(cube["time"].values[-1])
    recent = table[pd.to_datetime(table["start"]) > last - pd.Timedelta(days=cfg.recent_days)]
    out["alerts_recent"] = out_dir / "alerts_recent.csv"
    publishable(recent, min_count=viz.min_count, numbers=True).to_csv(
        out["alerts_recent"], index=False
    )

    if not {"district", "category"} <= set(cube["counts"].dims):
        return out
    source, date = cube.attrs.get("source", ""), figure_date(viz, cube)
    day = pd.Timestamp(cfg.board_day) if cfg.board_day else last
    fig = alert_board(alarms, cube, day=day, lang=viz.lang, min_count=viz.min_count,
                      source=source, date=date)
    out.update(save_and_close(fig, out_dir / "figures" / "alert_board", viz))
    if len(table):
        top = timeline_alert(table, last, cfg.recent_days)
        category = timeline_category(top, cube)
        before, after = TIMELINE_CONTEXT.get(cube_freq(cube), TIMELINE_CONTEXT["D"])
        start = pd.Timestamp(top["start"]) - before
        end = min(pd.Timestamp(top["end"]) + after, last)
        fig = alert_timeline(cube, alarms, district=str(top["district"]), category=category,
                             lang=viz.lang, start=start, end=end, source=source, date=date,
                             min_count=viz.min_count, highlight=(top["start"], top["end"]))
        out.update(save_and_close(fig, out_dir / "figures" / "alert_timeline", viz))
    return out


def timeline_alert(table: pd.DataFrame, last: pd.Timestamp, recent_days: int) -> pd.Series:
    """The alert a briefing's timeline shows: the most severe of the alerts still running in
    the last ``recent_days`` days up to ``last`` (the latest among equals), else the most
    recent alert — never an old alert because it was the most severe of the whole history.

    Examples
    --------
    >>> t = pd.DataFrame({"severity": ["red", "amber", "yellow"],
    ...                   "start": pd.to_datetime(["2022-01-11", "2024-12-01", "2024-12-20"]),
    ...                   "end": pd.to_datetime(["2022-01-12", "2024-12-03", "2024-12-21"])})
    >>> str(timeline_alert(t, pd.Timestamp("2024-12-31"), 60)["start"].date())
    '2024-12-01'
    >>> str(timeline_alert(t, pd.Timestamp("2024-12-31"), 5)["start"].date())
    '2024-12-20'
    """
    from predgov.warn.alerts import SEVERITIES

    ends = pd.to_datetime(table["end"])
    recent = table[ends > last - pd.Timedelta(days=recent_days)]
    if recent.empty:
        return table.loc[ends.idxmax()]
    rank = recent["severity"].map({s: i for i, s in enumerate(SEVERITIES)})
    order = recent.assign(_rank=rank, _end=pd.to_datetime(recent["end"]))
    order = order.sort_values(["_rank", "_end"], ascending=[True, False], kind="stable")
    return recent.loc[order.index[0]]


def timeline_category(alert: pd.Series, cube: xr.Dataset) -> str:
    """The cube category to draw for an alert row: its own, or for an alert grouped under a
    parent class (``category`` is then the parent) its first child category."""
    categories = {str(c) for c in cube["category"].values}
    if str(alert["category"]) in categories:
        return str(alert["category"])
    children = [c.strip() for c in str(alert.get("children", "") or "").split(",")]
    found = [c for c in children if c in categories]
    if not found:
        raise ValueError(f"alert category {alert['category']!r} is not in the cube")
    return found[0]
