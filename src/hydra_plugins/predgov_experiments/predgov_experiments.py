"""Adds ``experiments/`` (beside ``conf/``) to Hydra's config search path.

Hydra finds search-path plugins in the ``hydra_plugins`` namespace package; with this one,
``predgov +experiment=NAME`` composes ``experiments/experiment/NAME.yaml`` into the run, from any
working directory. Only the ``experiment`` group lives there.
"""

from __future__ import annotations

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin


class PredgovExperimentsSearchPathPlugin(SearchPathPlugin):
    """Appends ``file://<repo>/experiments`` to the search path (after the app's ``conf/``)."""

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        from predgov.paths import experiments_dir

        folder = experiments_dir()
        if folder.is_dir():
            search_path.append(provider="predgov-experiments", path=f"file://{folder.as_posix()}")
