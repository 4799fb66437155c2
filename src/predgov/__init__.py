"""predgov: proactive city governance from hotline complaint records.

Stages: ``predgov.data`` (records → cube), ``predgov.forecast``, ``predgov.warn``,
``predgov.target``, ``predgov.sim``, ``predgov.viz`` and ``predgov.experiment`` (Hydra wiring).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("predgov")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
