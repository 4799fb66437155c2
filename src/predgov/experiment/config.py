"""Structured configs (dataclasses) for the Hydra groups, registered in Hydra's ConfigStore.

YAML files under ``conf/<group>/`` name one of these schemas in their defaults list
(``- /file_schema@_here_``; the schemas are stored outside the groups, so ``predgov --help`` does
not offer them as options), so OmegaConf checks types on every merge and override. The config is
strict: :func:`validate` refuses any key a schema does not declare (``+data.sed=3``), any
``_target_``, and ``params`` a model, detector or simulated process does not take, before value
checks (ranges, choices, preset and timezone names) run in ``__post_init__``. Every message is
one line naming the offending key, with the closest known key when there is one.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from predgov.data.cube import FREQS, PARTIAL

_BY_DIMS = ("district", "category", "grid", "subcategory")


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message names the key."""


def _fail(key: str, message: str) -> None:
    raise ConfigError(f"invalid config value at '{key}': {message}")


#: What an environment variable name looks like (``data.key_env`` must be one).
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def did_you_mean(name: str, choices: list[str] | tuple[str, ...] | set[str] | dict) -> str:
    """`` (did you mean ...?)`` naming the closest of ``choices`` to ``name``, or "" if none is.

    Examples
    --------
    >>> did_you_mean("sed", ["seed", "start", "end"])
    " (did you mean 'seed'?)"
    >>> did_you_mean("zzz", ["seed"])
    ''
    """
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _unknown(key: str, known: list[str] | tuple[str, ...] | set[str], what: str = "") -> None:
    prefix, _, name = key.rpartition(".")
    hint = did_you_mean(name, known)
    if hint and prefix:
        hint = hint.replace("'", f"'{prefix}.", 1)
    if not hint:
        hint = f"; known: {', '.join(sorted(known))}" if known else ""
    raise ConfigError(f"unknown config key '{key}'{what}{hint}")


def _check_names(prefix: str, given: Any, known: list[str], what: str = "") -> None:
    """A ConfigError naming the first key of ``given`` not in ``known``."""
    for name in given:
        if name not in known:
            _unknown(f"{prefix}.{name}", known, what)


def _check_place(cfg: Any) -> None:
    """``data.city`` must be a file of ``conf/city/``, ``data.country`` a ``holidays`` code."""
    if cfg.city is not None:
        from predgov.paths import conf_dir

        cities = sorted(p.stem for p in (conf_dir() / "city").glob("*.yaml"))
        if cfg.city not in cities:
            _fail("data.city", f"no city {cfg.city!r}{did_you_mean(cfg.city, cities)}; "
                               f"have {cities} (conf/city/) or null")  # fmt: skip
    if cfg.country is not None:
        import holidays

        codes = sorted(holidays.list_supported_countries())
        if str(cfg.country).upper() not in codes:
            _fail("data.country", f"the holidays package has no country {cfg.country!r}"
                                  f"{did_you_mean(str(cfg.country).upper(), codes)}; give an "
                                  "ISO code such as CN or US, or null")  # fmt: skip


def _check_timezone(key: str, name: str) -> None:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        hint = did_you_mean(name, zoneinfo.available_timezones())
        _fail(key, f"unknown timezone {name!r}{hint}; give an IANA name such as Asia/Shanghai")


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
        _check_place(self)


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
    # Without period_start/end: "auto" keeps the dense span of received dates (a few rows far
    # away are rejected as outside_study_period; predgov.data.studyperiod), "all" keeps all.
    study_period: str = "auto"
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
        if self.preset is not None:
            from predgov.data.presets import PRESETS

            if self.preset not in PRESETS:
                _fail("data.preset", f"unknown preset {self.preset!r}"
                                     f"{did_you_mean(self.preset, PRESETS)}; "
                                     f"known presets: {sorted(PRESETS)}")  # fmt: skip
        if self.timezone is not None:
            _check_timezone("data.timezone", self.timezone)
        if not ENV_NAME.match(self.key_env or ""):
            # Never echo the value: a key pasted here by mistake must not reach the console.
            _fail("data.key_env", "give the NAME of the environment variable that holds the "
                                  "HMAC key (like PREDGOV_HMAC_KEY), never the key itself")
        if (self.period_start is None) != (self.period_end is None):
            _fail("data.period_start", "give both period_start and period_end, or neither")
        if self.period_start is not None:
            _check_dates("data.period", self.period_start, self.period_end)
        if self.study_period not in ("auto", "all"):
            _fail("data.study_period", f"must be auto or all, got {self.study_period!r}")
        self.cube._check("data.cube")
        _check_place(self)


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
        if self.params:
            self._check_params()

    def _check_params(self) -> None:
        """``forecast.params`` must be constructor parameters of the model (by signature)."""
        from predgov.forecast import make_forecaster

        cls = type(make_forecaster(self.model))
        _check_names("forecast.params", self.params, cls._param_names(),
                     f" ({cls.__name__} does not take it)")  # fmt: skip
        try:
            make_forecaster(self.model, **self.params)
        except (TypeError, ValueError) as err:
            _fail("forecast.params", str(err).splitlines()[0])

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

    def check_params(self, freq: str) -> None:
        """``warn.params`` must be keywords of ``predgov.warn.detect`` or of the detector that
        ``method`` names at the cube frequency ``freq`` (read from their signatures).

        Examples
        --------
        >>> WarnConfig(method="ears_c2", params={"threshold": 3}).check_params("D")
        >>> WarnConfig(method="ears_c2", params={"treshold": 3}).check_params("D")
        Traceback (most recent call last):
        ...
        predgov.experiment.config.ConfigError: unknown config key 'warn.params.treshold' ...
        """
        if not self.params:
            return
        from functools import partial

        from predgov.warn import DETECTORS, detect
        from predgov.warn.detect import resolve_method

        name, _ = resolve_method(self.method, freq)
        func = DETECTORS[name].func
        bound = set(func.keywords) if isinstance(func, partial) else set()
        own = [p.name for p in inspect.signature(detect).parameters.values()
               if p.kind is p.KEYWORD_ONLY]  # fmt: skip
        known = own + [p.name for p in inspect.signature(func).parameters.values()
                       if p.kind is p.KEYWORD_ONLY and p.name not in bound | {"groups"}]
        known = [k for k in known if k != "regressors"]  # the stage passes the calendar
        _check_names("warn.params", self.params, sorted(set(known)),
                     f" (detector {name} does not take it)")  # fmt: skip


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
        if self.params:
            self._check_params()

    def _check_params(self) -> None:
        """``sim.params.<process>.<name>`` must be fields of ``predgov.sim.model.SimParams``."""
        from predgov.sim.model import SimParams

        processes = {f.name: f for f in dataclasses.fields(SimParams)}
        _check_names("sim.params", self.params, list(processes), " (no such process)")
        defaults = SimParams()
        for process, values in self.params.items():
            if not isinstance(values, dict):
                _fail(f"sim.params.{process}", "give parameters as {name: value}")
            section = getattr(defaults, process)
            names = [f.name for f in dataclasses.fields(section)]
            _check_names(f"sim.params.{process}", values, names,
                         f" ({type(section).__name__} has no such parameter)")  # fmt: skip


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
    # Run again into a run directory holding a complete run (its files are replaced).
    overwrite: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.data, DemoCityConfig | FileDataConfig):
            _fail("data", "choose a data source: data=demo_city, data=file, data=brooklyn_noise, "
                          "data=chicago_sanitation or data=boston_heat")
        self.warn.check_params(self.data.cube.freq)

    def inputs(self) -> dict[str, Path]:
        """Input files the run reads, by role (hashed into provenance; never overwritten).

        Examples
        --------
        >>> PredgovConfig(data=FileDataConfig(path="x.csv", preset="nyc311")).inputs()
        {'records': PosixPath('x.csv')}
        >>> PredgovConfig(data=DemoCityConfig()).inputs()
        {}
        """
        if isinstance(self.data, FileDataConfig):
            return {"records": Path(self.data.path)}
        return {}


def _check_dates(key: str, start: str, end: str) -> None:
    import pandas as pd

    try:
        first, last = pd.Timestamp(start), pd.Timestamp(end)
    except (ValueError, TypeError) as err:
        _fail(key, f"dates must look like 2024-01-31: {err}")
    if last < first:
        _fail(key, f"end {end} is before start {start}")


#: Schemas by ConfigStore name. They are stored outside the config groups (a group YAML
#: names its schema as ``- /file_schema@_here_``), so they are not offered as group options.
SCHEMAS: dict[str, type] = {
    "predgov_schema": PredgovConfig,
    "demo_city_schema": DemoCityConfig,
    "file_schema": FileDataConfig,
    "viz_schema": VizConfig,
    "forecast_schema": ForecastConfig,
    "warn_schema": WarnConfig,
    "sim_schema": SimConfig,
    "policy_schema": PolicyConfig,
}


def register_configs() -> None:
    """Register the schemas with Hydra's ConfigStore (idempotent)."""
    cs = ConfigStore.instance()
    for name, node in SCHEMAS.items():
        cs.store(name=name, node=node)


#: Keys that would make ``hydra.utils.instantiate`` build objects; predgov builds none from config.
INSTANTIATE_KEYS = ("_target_",)


def check_keys(cfg: DictConfig, prefix: str = "") -> None:
    """Refuse keys the schemas do not declare and ``_target_`` anywhere (one line naming it).

    Hydra's ``+key=value`` adds a key even to a structured config, and OmegaConf then drops it
    silently when the config becomes dataclasses, so every node typed by a schema is checked
    against the schema's fields. Free-form dicts (``params``, ``mapping``) are checked by
    their owners.

    Examples
    --------
    >>> from omegaconf import open_dict
    >>> cfg = OmegaConf.structured(VizConfig)
    >>> with open_dict(cfg):
    ...     cfg.dip = 30
    >>> check_keys(cfg, "viz.")
    Traceback (most recent call last):
    ...
    predgov.experiment.config.ConfigError: unknown config key 'viz.dip' (did you mean 'viz.dpi'?)
    """
    if cfg._is_none() or cfg._is_missing() or cfg._is_interpolation():
        return
    if isinstance(cfg, ListConfig):
        for i, item in enumerate(cfg._iter_ex(resolve=False)):
            if isinstance(item, DictConfig | ListConfig):
                check_keys(item, f"{prefix}{i}.")
        return
    keys = [str(k) for k in cfg.keys()]
    for key in keys:
        if key in INSTANTIATE_KEYS:
            raise ConfigError(f"config key '{prefix}{key}' is refused: predgov builds no objects "
                              "from its config")  # fmt: skip
    schema = OmegaConf.get_type(cfg)
    if dataclasses.is_dataclass(schema):
        known = [f.name for f in dataclasses.fields(schema)]
        for key in keys:
            if key not in known:
                _unknown(f"{prefix}{key}", known)
    for key, value in cfg.items_ex(resolve=False):
        if isinstance(value, DictConfig | ListConfig):
            check_keys(value, f"{prefix}{key}.")


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
    check_keys(cfg)
    try:
        obj = OmegaConf.to_object(cfg)
    except OmegaConfBaseException as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        where = getattr(err, "full_key", None)
        raise ConfigError(f"invalid config value at '{where}': {first}" if where
                          else f"invalid config: {first}") from None  # fmt: skip
    if not isinstance(obj, PredgovConfig):
        raise ConfigError(f"config does not follow the predgov schema (got {type(obj).__name__})")
    return obj
