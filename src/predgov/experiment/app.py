"""The ``predgov`` command: a Hydra app running the pipeline into a run directory.

Examples (shell)::

    predgov                                   # demo city, daily cube, summary figure
    predgov data=brooklyn_noise               # the real Brooklyn 311 noise file
    predgov data=file data.path=export.xlsx data.preset=qd12345 data.cube.freq=W-MON
    predgov --help                            # the groups, common overrides, run files

A run's life: the command line is checked for secrets (:func:`~predgov.experiment.guard.
check_overrides`); Hydra composes the config and the ``PreRunChecks`` callback validates it
strictly and checks the run directory, all before anything is written; the task writes
``status.json`` ("running"), runs the stages with progress lines, and ends it as "complete"
(plus ``COMPLETE``), "failed" or "interrupted" (plus ``FAILED``), with ``warnings.txt``. SIGTERM
stops a run like Ctrl-C, and worker pools are shut down on the way out.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from predgov.data.report import IngestError
from predgov.experiment.config import ConfigError, register_configs, validate
from predgov.experiment.console import (
    WARNINGS_FILE,
    RunWarnings,
    configure_console,
    quiet_requested,
)
from predgov.experiment.guard import check_overrides, check_previous_run, check_task, fail
from predgov.experiment.pipeline import run_pipeline
from predgov.experiment.shutdown import exit_code, install_signal_handlers, shutdown_worker_pools
from predgov.experiment.status import RunStatus
from predgov.paths import conf_dir, shared_data_file

log = logging.getLogger("predgov")

#: Errors that are the user's to fix (a config value, an input file): one line, exit status 2.
USER_ERRORS = (ConfigError, IngestError, FileNotFoundError)


def register_resolvers() -> None:
    """``${shared_data:relative/path}`` resolves to a file of the shared data folder."""
    if not OmegaConf.has_resolver("shared_data"):
        OmegaConf.register_new_resolver("shared_data", lambda rel: str(shared_data_file(rel)))


register_configs()
register_resolvers()


@hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name="config")
def _main(cfg: DictConfig) -> None:
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    configure_console(quiet_requested())
    status = RunStatus(run_dir)
    # In a single run the PreRunChecks callback did these checks before Hydra wrote anything;
    # a multirun job is checked here (its .hydra/ is written by then).
    multirun = HydraConfig.get().mode.name == "MULTIRUN"
    if multirun:
        try:
            check_previous_run(run_dir, overwrite=bool(cfg.get("overwrite", False)))
        except ConfigError as err:
            fail(err)
    status.start()
    try:
        # The secrets / inputs / run-directory checks of a single run ran in the callback.
        checked = check_task(cfg, run_dir) if multirun else validate(cfg)
    except ConfigError as err:
        status.fail(err, [])
        fail(err)
    with RunWarnings() as recorded:
        try:
            outputs = run_pipeline(checked, cfg, run_dir, status=status)
            outputs["warnings"] = recorded.write(run_dir / WARNINGS_FILE)
        except BaseException as err:
            recorded.write(run_dir / WARNINGS_FILE)
            status.fail(err, recorded.messages)
            if isinstance(err, USER_ERRORS):
                # A user's mistake (bad value, unreadable file): one clear line, no traceback.
                fail(err)
            if isinstance(err, KeyboardInterrupt):
                shutdown_worker_pools()
                print(f"predgov: interrupted ({status.record.get('signal')}); run directory "
                      f"{run_dir} marked interrupted", file=sys.stderr)  # fmt: skip
                raise SystemExit(exit_code(err)) from None
            raise
    status.complete(outputs, recorded.messages)
    log.info("run complete: %s (%s)", run_dir, "status.json")
    for role, path in outputs.items():
        log.info("  %-20s %s", role, path.relative_to(run_dir))
    if recorded.messages:
        log.info("%d warning(s) in %s", len(recorded.messages), WARNINGS_FILE)


def main() -> None:
    """Console entry point (``predgov``)."""
    try:
        check_overrides(sys.argv[1:])
    except ConfigError as err:
        fail(err)
    install_signal_handlers()
    try:
        _main()
    except KeyboardInterrupt as err:  # before the run started (composition) or after it
        raise SystemExit(exit_code(err)) from None
    finally:
        shutdown_worker_pools()


if __name__ == "__main__":  # pragma: no cover
    main()
