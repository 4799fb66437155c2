"""Run the pipeline stages present so far from a validated config into a run directory.

Stages and where they write (inside the run directory):

* data → ``cube.nc``, ``ingest_report.{json,txt}``, ``records.parquet`` (file sources),
  ``tables/``, ``figures/summary_heatmap.*``;
* forecast → ``forecast/`` (``forecast.nc``, backtest scores, fan charts);
* target (off by default) → ``target/`` (``treatment_list.nc``, ``treatment_table.csv``: the
  off-season treatment list, on the forecast when it ran);
* warn → ``warn/`` (``alarms.nc``, ``alerts.csv``, alert board and timeline);
* sim → ``sim/`` (``sim.nc`` in the cube schema plus outcomes, season table, overview figure;
  with ``sim.interventions`` a policy experiment: ``experiment.nc``, ``effects.csv``,
  ``figures/effects.*``);
* impact (off by default) → ``impact/`` (``impact.nc``, ``impact.csv``, ``figures/impact.*``:
  the calls a past action prevented, on the cube or, with ``impact.source=sim``, on the
  simulated city);
* brief (last, after the stages and ``provenance.json``, when ``brief.enabled``) →
  ``brief.pdf``, ``brief.html`` (``predgov.viz.brief``).

Every run also holds the resolved ``config.yaml`` and ``provenance.json`` (the app adds
``status.json``, ``warnings.txt`` and the ``COMPLETE`` / ``FAILED`` marker). Input files are
hashed before any stage runs, and the run directory may never hold an input. Each stage logs a
``[i/n] stage: ...`` line when it starts and one with its duration when it ends (logger
``predgov.progress``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from predgov.data.cube import read_cube
from predgov.experiment.config import DemoCityConfig, PredgovConfig
from predgov.experiment.guard import check_run_dir
from predgov.experiment.provenance import input_hashes, provenance, write_provenance
from predgov.experiment.stages.data import place_calendar, run_data_stage
from predgov.experiment.stages.forecast import cube_freq, future_axis, run_forecast_stage
from predgov.experiment.stages.impact import run_impact_stage
from predgov.experiment.stages.sim import run_sim_stage
from predgov.experiment.stages.target import run_target_stage
from predgov.experiment.stages.warn import run_warn_stage
from predgov.experiment.status import RunStatus
from predgov.viz import brief as write_brief

progress_log = logging.getLogger("predgov.progress")
log = logging.getLogger("predgov")


class Progress:
    """Stage lines ``[i/n] name: what`` and ``[i/n] name done in 1.2 s (total 3.4 s)``.

    Examples
    --------
    >>> p = Progress(["data", "forecast"])
    >>> with p.stage("data", "demo city"):
    ...     pass
    >>> p.seconds["data"] >= 0
    True
    """

    def __init__(self, stages: list[str], status: RunStatus | None = None) -> None:
        self.stages = stages
        self.status = status
        self.seconds: dict[str, float] = {}
        self._t0 = time.monotonic()

    @contextmanager
    def stage(self, name: str, what: str) -> Iterator[None]:
        """Log the stage's start and end, and record them in the run status."""
        tag = f"[{self.stages.index(name) + 1}/{len(self.stages)}]"
        progress_log.info("%s %s: %s", tag, name, what)
        if self.status is not None:
            self.status.stage_started(name)
        start = time.monotonic()
        yield
        now = time.monotonic()
        self.seconds[name] = now - start
        progress_log.info("%s %s done in %.1f s (total %.1f s)", tag, name, now - start,
                          now - self._t0)  # fmt: skip
        if self.status is not None:
            self.status.stage_done(name, now - start)


def _data_line(cfg: PredgovConfig) -> str:
    data = cfg.data
    freq = data.cube.freq
    if isinstance(data, DemoCityConfig):
        return f"demo city (seed {data.seed}) {data.start}..{data.end}, freq {freq}"
    return f"records from {Path(data.path).name}, freq {freq}"


def run_pipeline(
    cfg: PredgovConfig,
    raw_cfg: DictConfig,
    run_dir: str | Path,
    status: RunStatus | None = None,
) -> dict[str, Path]:
    """Run every enabled stage and write its outputs into ``run_dir``; return files by role.

    ``status``, when given, records the stage running and each stage's duration.
    """
    run_dir = Path(run_dir)
    inputs = cfg.inputs()
    check_run_dir(run_dir, inputs)
    hashes = input_hashes(inputs)  # before any stage can touch a file
    run_dir.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {"config": run_dir / "config.yaml"}
    out["config"].write_text(OmegaConf.to_yaml(raw_cfg, resolve=True), encoding="utf-8")

    order = ("forecast", "target", "warn", "sim", "impact")
    stages = ["data", *(s for s in order if getattr(cfg, s).enabled)]
    progress = Progress(stages, status)
    with progress.stage("data", _data_line(cfg)):
        data, written = run_data_stage(cfg.data, cfg.viz, run_dir)
        out.update(written)
        cube = data.cube
        shape = " x ".join(f"{d} {n}" for d, n in cube["counts"].sizes.items())
        progress_log.info("      cube: %s", shape)
    horizon = cfg.forecast.periods(cube_freq(cube))[0] if cfg.forecast.enabled else 0
    regressors = place_calendar(cfg.data, future_axis(cube, horizon))

    if cfg.forecast.enabled:
        what = f"{cfg.forecast.model}, {horizon} periods ahead, " \
               f"{cfg.forecast.backtest_origins} backtest origins"  # fmt: skip
        with progress.stage("forecast", what):
            out.update(run_forecast_stage(cfg.forecast, cube, regressors, cfg.viz,
                                          run_dir / "forecast"))  # fmt: skip
    if cfg.target.enabled:
        forecast = read_cube(out["forecast"]) if "forecast" in out else None
        what = f"treatment list by {cfg.target.unit}, " \
               f"{'forecast' if forecast is not None and cfg.target.use_forecast else 'history'}"
        with progress.stage("target", what):
            out.update(run_target_stage(cfg.target, cube, forecast, cfg.viz,
                                        run_dir / "target"))  # fmt: skip
    if cfg.warn.enabled:
        with progress.stage("warn", f"detector {cfg.warn.method}"):
            out.update(run_warn_stage(cfg.warn, cube, regressors, cfg.viz, run_dir / "warn"))
    if cfg.sim.enabled:
        what = f"scale {cfg.sim.scale:g}, {cfg.sim.start}..{cfg.sim.end}, " \
               f"{len(cfg.sim.seeds)} seed(s)"  # fmt: skip
        if cfg.sim.interventions:
            what += f", policies {'/'.join(cfg.policy.arms())} vs reactive, " \
                    f"{len(cfg.sim.budgets)} budget(s)"  # fmt: skip
        with progress.stage("sim", what):
            out.update(run_sim_stage(cfg.sim, cfg.policy, cfg.viz, run_dir / "sim"))

    if cfg.impact.enabled:
        treated = cfg.impact.treated_csv or ", ".join(cfg.impact.treated)
        what = f"{cfg.impact.method} on {cfg.impact.source}, treated {treated}"
        with progress.stage("impact", what):
            out.update(run_impact_stage(cfg.impact, cube, regressors, cfg.viz,
                                        run_dir / "impact", sim_files=out))  # fmt: skip

    if input_hashes(inputs) != hashes:
        log.warning("an input file changed during the run; provenance.json records its hash "
                    "from before the run")  # fmt: skip
    out["provenance"] = write_provenance(
        provenance(seed=cfg.seed, inputs=inputs, hashes=hashes), run_dir / "provenance.json"
    )
    if cfg.brief.enabled:
        # The last step, after the stages (not counted among them): reads what they wrote.
        b = cfg.brief
        progress_log.info("      brief: %s, sections %s", b.lang, "/".join(b.sections))
        start = time.monotonic()
        written = write_brief(run_dir, lang=b.lang, sections=list(b.sections),
                        alerts_days=b.alerts_days, max_rows=b.max_rows)  # fmt: skip
        out.update({f"brief_{Path(f).suffix.lstrip('.')}": Path(f) for f in written})
        progress_log.info("      brief done in %.1f s", time.monotonic() - start)
    return out

