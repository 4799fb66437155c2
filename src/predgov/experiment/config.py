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

from predgov.data.cube import FREQS, PARTIAL

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
    # Weekly/monthly: edge periods the data cover only in part are masked (not observed) or
    # kept as partial totals (predgov.data.cube.PARTIAL).
    partial: str = "mask"

    def _check(self, prefix: str) -> None:
        if self.freq not in FREQS:
            _fail(f"{prefix}.freq", f"must be one of {list(FREQS)}, got {self.freq!r}")
        if self.partial not in PARTIAL:
            _fail(f"{prefix}.partial", f"must be one of {list(PARTIAL)}, got {self.partial!r}")
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
    # Calendar of the place (holidays, 调休, seasons) used as regressors by later stages.
    city: str | None = "qingdao"
    country: str | None = "CN"
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
    # Calendar of the place: a city under conf/city/ and/or a country code of `holidays`.
    city: str | None = None
    country: str | None = None
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


#: Forecast and backtest horizons (periods) by cube frequency when the config leaves them null.
FORECAST_DEFAULTS: dict[str, tuple[int, int]] = {"D": (90, 28), "W-MON": (13, 4), "MS": (3, 3)}


@dataclass
class ForecastConfig:
    """Forecast stage: model by name (``predgov.forecast.make_forecaster``), horizon, backtest."""

    enabled: bool = True
    model: str = "default"
    params: dict[str, Any] = field(default_factory=dict)
    # Periods ahead; null = about a season for the cube's frequency (90 days, 13 weeks, 3
    # months: FORECAST_DEFAULTS).
    horizon: int | None = None
    # Rolling-origin backtest: origins spaced `backtest_step` periods, each forecasting
    # `backtest_horizon` periods; the baseline (SeasonalNaive) runs on the same origins.
    # null = by frequency (28 days, 4 weeks, 3 months; the step equals the horizon).
    backtest_origins: int = 3
    backtest_horizon: int | None = None
    backtest_step: int | None = None
    baseline: str = "seasonal_naive"
    # Series drawn as fan charts: "district/category" labels; empty = the busiest series.
    fan_series: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        from predgov.forecast import available_models

        names = available_models()
        for key, name in (("forecast.model", self.model), ("forecast.baseline", self.baseline)):
            if name not in names:
                _fail(key, f"unknown model {name!r}; choose from {sorted(names)}")
        for key in ("horizon", "backtest_horizon", "backtest_step"):
            value = getattr(self, key)
            if value is not None and value < 1:
                _fail(f"forecast.{key}", f"must be >= 1 (or null: by frequency), got {value}")
        if self.backtest_origins < 0:
            _fail("forecast.backtest_origins", f"must be >= 0, got {self.backtest_origins}")
        bad = [s for s in self.fan_series if s.count("/") != 1]
        if bad:
            _fail("forecast.fan_series", f"give series as 'district/category', got {bad}")

    def periods(self, freq: str) -> tuple[int, int, int]:
        """``(horizon, backtest_horizon, backtest_step)`` in periods of ``freq``, nulls filled
        from :data:`FORECAST_DEFAULTS`.

        Examples
        --------
        >>> ForecastConfig().periods("D"), ForecastConfig(horizon=6).periods("MS")
        ((90, 28, 28), (6, 3, 3))
        """
        horizon, back = FORECAST_DEFAULTS.get(freq, FORECAST_DEFAULTS["D"])
        horizon = self.horizon if self.horizon is not None else horizon
        back = self.backtest_horizon if self.backtest_horizon is not None else back
        step = self.backtest_step if self.backtest_step is not None else back
        return horizon, back, step


@dataclass
class WarnConfig:
    """Early-warning stage: detector by name (``predgov.warn.detect``) and alert settings."""

    enabled: bool = True
    method: str = "default"
    params: dict[str, Any] = field(default_factory=dict)
    # Alarm runs separated by up to this many quiet periods form one alert.
    max_gap: int = 0
    # Day shown on the alert board (ISO date); null = the last day of the cube.
    board_day: str | None = None
    # Only alerts starting in the last `recent_days` periods go into alerts_recent.csv.
    recent_days: int = 30
    # Alarm threshold calibrated on the place's own history: at most this many alarms per
    # series-year over the calibration stretch (null = the detector's default threshold, which
    # was calibrated on the synthetic demo city).
    calibrate_fa: float | None = None
    # Last day of the calibration stretch; null = the day before the last `recent_days` days.
    calibrate_end: str | None = None

    def __post_init__(self) -> None:
        import math

        from predgov.warn import DETECTORS

        names = sorted([*DETECTORS, "default"])
        if self.method not in names:
            _fail("warn.method", f"unknown detector {self.method!r}; choose from {names}")
        if self.max_gap < 0:
            _fail("warn.max_gap", f"must be >= 0, got {self.max_gap}")
        if self.recent_days < 1:
            _fail("warn.recent_days", f"must be >= 1, got {self.recent_days}")
        if self.board_day is not None:
            _check_dates("warn.board_day", self.board_day, self.board_day)
        if self.calibrate_fa is not None:
            if not (math.isfinite(self.calibrate_fa) and self.calibrate_fa >= 0):
                _fail("warn.calibrate_fa", f"must be a number >= 0, got {self.calibrate_fa}")
            if "threshold" in self.params:
                _fail("warn.calibrate_fa", "set either warn.params.threshold or calibrate_fa")
        if self.calibrate_end is not None:
            _check_dates("warn.calibrate_end", self.calibrate_end, self.calibrate_end)


@dataclass
class SimConfig:
    """Simulation stage: the agent-based city (``predgov.sim.run_scenario``)."""

    enabled: bool = True
    # Share of Qingdao's ~3.7 million households simulated (1.0 = the full city).
    scale: float = 0.05
    start: str = "2025-07-01"
    end: str = "2026-06-30"
    world_seed: int = 0
    # Run seeds; more than one adds a `seed` dim and 10–90 % bands.
    seeds: list[int] = field(default_factory=lambda: [0])
    n_jobs: int = 1
    processes: list[str] | None = None
    # Parameter overrides by process, e.g. {heating: {start_amp: 2.5}}.
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 < self.scale <= 1.0:
            _fail("sim.scale", f"must be in (0, 1], got {self.scale}")
        _check_dates("sim", self.start, self.end)
        if not self.seeds or any(s < 0 for s in self.seeds):
            _fail("sim.seeds", f"give one or more seeds >= 0, got {self.seeds}")
        if self.n_jobs == 0:
            _fail("sim.n_jobs", "must be a positive count or -1 (all cores)")
        if self.processes is not None:
            from predgov.sim import PROCESSES

            bad = [p for p in self.processes if p not in PROCESSES]
            if bad:
                _fail("sim.processes", f"unknown {bad}; choose from {list(PROCESSES)}")


@dataclass
class PolicyConfig:
    """How the simulated city's departments act: only reactive handling (接诉即办) so far."""

    name: str = "reactive"

    def __post_init__(self) -> None:
        if self.name != "reactive":
            _fail("policy.name", f"only 'reactive' exists so far, got {self.name!r}")


@dataclass
class PredgovConfig:
    """Top-level config: one section per stage present so far."""

    data: Any = MISSING
    forecast: ForecastConfig = field(default_factory=ForecastConfig)
    warn: WarnConfig = field(default_factory=WarnConfig)
    sim: SimConfig = field(default_factory=SimConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
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
    cs.store(group="forecast", name="forecast_schema", node=ForecastConfig)
    cs.store(group="warn", name="warn_schema", node=WarnConfig)
    cs.store(group="sim", name="sim_schema", node=SimConfig)
    cs.store(group="policy", name="policy_schema", node=PolicyConfig)


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
