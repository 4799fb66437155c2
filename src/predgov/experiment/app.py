"""The ``predgov`` command: a Hydra app running the pipeline into a run directory.

Examples (shell)::

    predgov                                   # demo city, daily cube, summary figure
    predgov data=brooklyn_noise               # the real Brooklyn 311 noise file
    predgov data=file data.path=export.xlsx data.preset=qd12345 data.cube.freq=W-MON
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
from predgov.experiment.pipeline import run_pipeline
from predgov.paths import conf_dir, shared_data_file

log = logging.getLogger("predgov")


def register_resolvers() -> None:
    """``${shared_data:relative/path}`` resolves to a file of the shared data folder."""
    if not OmegaConf.has_resolver("shared_data"):
        OmegaConf.register_new_resolver("shared_data", lambda rel: str(shared_data_file(rel)))


register_configs()
register_resolvers()


@hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name="config")
def _main(cfg: DictConfig) -> None:
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        checked = validate(cfg)
        outputs = run_pipeline(checked, cfg, run_dir)
    except (ConfigError, IngestError, FileNotFoundError) as err:
        # A user's mistake (bad value, unreadable file): one clear line, no traceback.
        print(f"predgov: error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    log.info("run directory: %s", run_dir)
    for role, path in outputs.items():
        log.info("  %-20s %s", role, path.relative_to(run_dir))


def main() -> None:
    """Console entry point (``predgov``)."""
    _main()


if __name__ == "__main__":  # pragma: no cover
    main()
