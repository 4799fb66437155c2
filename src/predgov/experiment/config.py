"""Structured configs (dataclasses) for the Hydra groups, registered in Hydra's ConfigStore.

YAML files under ``conf/<group>/`` name one of these schemas in their defaults list, so OmegaConf
checks types on every merge and override. Value checks (ranges, choices) run in
``__post_init__`` when :func:`validate` turns the config into these objects; every message names
the offending key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from predgov.data.cube import FREQS

_BY_DIMS = ("district", "category", "grid", "subcategory")


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message names the key."""


def _fail(key: str, message: str) -> None:
    raise ConfigError(f"invalid config value at '{key}': {message}")


@dataclass
class CubeOptions:
    """How records become a cube (shared by every data source)."""

    freq: str = "D"
    by: list[str] = field(default_factory=lambda: ["district", "category"])

    def _check(self, prefix: str) -> None:
        if self.freq not in FREQS:
            _fail(f"{prefix}.freq", f"must be one of {list(FREQS)}, got {self.freq!r}")
        bad = [b for b in self.by if b not in _BY_DIMS]
        if not self.by or bad or len(set(self.by)) != len(self.by):
            _fail(f"{prefix}.by", f"must be distinct names from {list(_BY_DIMS)}, got {self.by}")


@dataclass
class DemoCityConfig:
    """The embedded synthetic Qingdao-like city (``predgov.data.demo_city``)."""

    source: str = "demo_city"
    seed: int = 0
    start: str = "2022-01-01"
    end: str = "2024-12-31"
    anomalies: bool = True
    scale: float = 1.0
    cube: CubeOptions = field(default_factory=CubeOptions)

    def __post_init__(self) -> None:
        if self.source != "demo_city":
            _fail("data.source", f"demo_city schema needs source=demo_city, not {self.source!r}")
        if self.seed < 0:
            _fail("data.seed", f"must be >= 0, got {self.seed}")
        if not self.scale > 0:
            _fail("data.scale", f"must be > 0, got {self.scale}")
        _check_dates("data", self.start, self.end)
        self.cube._check("data.cube")


@dataclass
class FileDataConfig:
    """Hotline records from a file (CSV, Excel, Parquet) read with a preset and/or mapping."""

    source: str = "file"
    path: str = MISSING
    preset: str | None = None
    mapping: dict[str, Any] = field(default_factory=dict)
    timezone: str | None = None
    strict: bool = False
    pseudonymise: bool = False
    # Name of the environment variable holding the HMAC key; the key itself never enters a config.
    key_env: str = "PREDGOV_HMAC_KEY"
    period_start: str | None = None
    period_end: str | None = None
    cube: CubeOptions = field(default_factory=CubeOptions)

    def __post_init__(self) -> None:
        if self.source != "file":
            _fail("data.source", f"the file schema needs source=file, got {self.source!r}")
        if not self.path:
            _fail("data.path", "give the path of the records file")
        if self.preset is None and not self.mapping:
            _fail("data.preset", "give a preset (nyc311, qd12345, ...) or a data.mapping")
        if (self.period_start is None) != (self.period_end is None):
            _fail("data.period_start", "give both period_start and period_end, or neither")
        if self.period_start is not None:
            _check_dates("data.period", self.period_start, self.period_end)
        self.cube._check("data.cube")


@dataclass
class VizConfig:
    """Briefing figures: language of labels, small-cell suppression, file formats."""

    lang: str = "both"
    min_count: int = 5
    formats: list[str] = field(default_factory=lambda: ["png", "svg", "pdf"])
    dpi: int = 300
    # Date printed on figures; fixed by default so that reruns give identical bytes.
    date: str | None = None

    def __post_init__(self) -> None:
        if self.lang not in ("zh", "en", "both"):
            _fail("viz.lang", f"must be zh, en or both, got {self.lang!r}")
        if self.min_count < 1:
            _fail("viz.min_count", f"must be >= 1 (got {self.min_count})")
        bad = [f for f in self.formats if f not in ("png", "svg", "pdf")]
        if bad or not self.formats:
            _fail("viz.formats", f"choose from png, svg, pdf; got {self.formats}")
        if self.dpi < 50:
            _fail("viz.dpi", f"must be >= 50, got {self.dpi}")


@dataclass
class PredgovConfig:
    """Top-level config: one section per stage present so far."""

    data: Any = MISSING
    viz: VizConfig = field(default_factory=VizConfig)
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.data, DemoCityConfig | FileDataConfig):
            _fail("data", "choose a data source: data=demo_city, data=file or data=brooklyn_noise")


def _check_dates(key: str, start: str, end: str) -> None:
    import pandas as pd

    try:
        first, last = pd.Timestamp(start), pd.Timestamp(end)
    except (ValueError, TypeError) as err:
        _fail(key, f"dates must look like 2024-01-31: {err}")
    if last < first:
        _fail(key, f"end {end} is before start {start}")


def register_configs() -> None:
    """Register the schemas with Hydra's ConfigStore (idempotent)."""
    cs = ConfigStore.instance()
    cs.store(name="predgov_schema", node=PredgovConfig)
    cs.store(group="data", name="demo_city_schema", node=DemoCityConfig)
    cs.store(group="data", name="file_schema", node=FileDataConfig)
    cs.store(group="viz", name="viz_schema", node=VizConfig)


def validate(cfg: DictConfig) -> PredgovConfig:
    """Turn a composed config into checked dataclasses; a ConfigError names any bad key.

    Examples
    --------
    >>> cfg = OmegaConf.merge(OmegaConf.structured(PredgovConfig),
    ...                       {"data": OmegaConf.structured(DemoCityConfig)})
    >>> validate(cfg).data.seed
    0
    >>> validate(OmegaConf.merge(cfg, {"viz": {"min_count": 0}}))
    Traceback (most recent call last):
    ...
    predgov.experiment.config.ConfigError: invalid config value at 'viz.min_count': must be >= 1...
    """
    try:
        obj = OmegaConf.to_object(cfg)
    except OmegaConfBaseException as err:
        raise ConfigError(f"invalid config: {err}") from err
    if not isinstance(obj, PredgovConfig):
        raise ConfigError(f"config does not follow the predgov schema (got {type(obj).__name__})")
    return obj
