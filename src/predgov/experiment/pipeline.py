"""Run the pipeline stages present so far from a validated config into a run directory.

Stages and where they write (inside the run directory):

* data → ``cube.nc``, ``ingest_report.{json,txt}``, ``records.parquet`` (file sources),
  ``tables/``, ``figures/summary_heatmap.*``;
* forecast → ``forecast/`` (``forecast.nc``, backtest scores, fan charts);
* warn → ``warn/`` (``alarms.nc``, ``alerts.csv``, alert board and timeline);
* sim → ``sim/`` (``sim.nc`` in the cube schema plus outcomes, season table, overview figure).

Every run also holds the resolved ``config.yaml`` and ``provenance.json``.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from predgov.experiment.config import PredgovConfig
from predgov.experiment.provenance import provenance, write_provenance
from predgov.experiment.stages.data import place_calendar, run_data_stage
from predgov.experiment.stages.forecast import cube_freq, future_axis, run_forecast_stage
from predgov.experiment.stages.sim import run_sim_stage
from predgov.experiment.stages.warn import run_warn_stage


def run_pipeline(cfg: PredgovConfig, raw_cfg: DictConfig, run_dir: str | Path) -> dict[str, Path]:
    """Run every enabled stage and write its outputs into ``run_dir``; return files by role."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {"config": run_dir / "config.yaml"}
    out["config"].write_text(OmegaConf.to_yaml(raw_cfg, resolve=True), encoding="utf-8")

    data, written = run_data_stage(cfg.data, cfg.viz, run_dir)
    out.update(written)
    cube = data.cube
    horizon = cfg.forecast.periods(cube_freq(cube))[0] if cfg.forecast.enabled else 0
    regressors = place_calendar(cfg.data, future_axis(cube, horizon))

    if cfg.forecast.enabled:
        out.update(run_forecast_stage(cfg.forecast, cube, regressors, cfg.viz,
                                      run_dir / "forecast"))
    if cfg.warn.enabled:
        out.update(run_warn_stage(cfg.warn, cube, regressors, cfg.viz, run_dir / "warn"))
    if cfg.sim.enabled:
        out.update(run_sim_stage(cfg.sim, cfg.policy, cfg.viz, run_dir / "sim"))

    out["provenance"] = write_provenance(
        provenance(seed=cfg.seed, inputs=data.inputs), run_dir / "provenance.json"
    )
    return out
