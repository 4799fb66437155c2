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

from predgov.data.cube import PARTIAL
from predgov.data.freq import FREQS

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


def _check_blocks(prefix: str, cfg: Any) -> None:
    """The scale-out keys shared by ``forecast`` and ``warn``: ``backend`` (serial | dask),
    ``scheduler`` (a dask address, needs backend=dask), ``n_workers`` (-1 or >= 1) and
    ``block_series`` (null: one process, or series per block of whole categories)."""
    from predgov.parallel import BACKENDS

    if cfg.backend not in BACKENDS:
        _fail(f"{prefix}.backend", f"must be one of {list(BACKENDS)}, got {cfg.backend!r}")
    if cfg.scheduler is not None and cfg.backend != "dask":
        _fail(f"{prefix}.scheduler", f"a scheduler address needs {prefix}.backend=dask")
    if cfg.n_workers != -1 and cfg.n_workers < 1:
        _fail(f"{prefix}.n_workers", f"must be -1 (every core) or >= 1, got {cfg.n_workers}")
    if cfg.block_series is not None and cfg.block_series < 1:
        _fail(f"{prefix}.block_series", f"must be >= 1 (or null), got {cfg.block_series}")


def _check_place(cfg: Any) -> None:
    """``data.city`` must be a file of ``conf/city/``, ``data.country`` a ``holidays`` code."""
    if cfg.city is not None:
        from predgov.data.calendar import available_cities

        cities = available_cities()
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


def _positive(key: str, value: float | None, high: float | None = None) -> None:
    """A ConfigError naming ``key`` unless ``value`` is None or a finite number > 0 (<= high)."""
    import math

    if value is None:
        return
    if not (math.isfinite(value) and value > 0 and (high is None or value <= high)):
        rule = f"in (0, {high:g}]" if high is not None else "a finite number > 0"
        _fail(key, f"must be {rule}, got {value}")


@dataclass
class TargetConfig:
    """Target stage: the off-season treatment list (``predgov.target.treatment_list``).

    Off by default: the list needs an efficacy (the share of a unit's expected calls that
    treatment averts), an assumption with no honest default, stated with its source.
    """

    enabled: bool = False
    # Category label or list of labels whose calls count (summed); null = every category.
    category: Any = None
    # Dim (or 1-D coordinate of one) to rank: district, grid, estate, ward, ...
    unit: str = "district"
    # History window: null = the whole cube, ["MM-DD", "MM-DD"] = the last complete occurrence
    # of a recurring season (heating: ["11-15", "04-05"]), or [start_date, end_date].
    season: list[str] | None = None
    # Window of the forecast summed as next season's calls (same forms; a recurring season
    # takes its first complete occurrence); null = the whole forecast horizon.
    forecast_window: list[str] | None = None
    budget: float | None = None
    # Cost of treating one unit (the same for all), or per household of the unit's
    # `households` coordinate; give exactly one.
    cost: float | None = None
    cost_per_household: float | None = None
    cost_units: str = "cost units"
    # Share of expected calls averted, in (0, 1]: an assumption, so its source is required.
    efficacy: float | None = None
    efficacy_source: str | None = None
    # Shrink history rates towards the mean of all units (empirical Bayes); the forecast, when
    # used, is already a model estimate and is not shrunk.
    shrink: bool = True
    # Size of each unit for the shrinkage: a coordinate on the unit (households); null = equal.
    exposure: str | None = None
    # Rank on the forecast stage's forecast when it ran (else on history).
    use_forecast: bool = True

    def __post_init__(self) -> None:
        self._check_values()
        if not self.enabled:
            return
        if self.efficacy is None:
            _fail("target.efficacy", "target.enabled=true needs the share of expected calls "
                  "a treatment averts, in (0, 1]; it is an assumption with no default: give "
                  "target.efficacy=0.3 and target.efficacy_source='where it comes from'")
        if self.budget is None:
            _fail("target.budget", "target.enabled=true needs the budget (> 0, in cost_units)")
        if (self.cost is None) == (self.cost_per_household is None):
            _fail("target.cost", "give exactly one of target.cost (per unit) and "
                  "target.cost_per_household")

    def _check_values(self) -> None:
        category = self.category
        if isinstance(category, ListConfig | list | tuple):
            category = list(category)
            if not category or not all(isinstance(c, str) and c for c in category):
                _fail("target.category", f"give a category label or a list of them, got {category}")
        elif category is not None and not (isinstance(category, str) and category):
            _fail("target.category", f"give a category label or a list of them, got {category!r}")
        self.category = category
        if not self.unit or self.unit == "time":
            _fail("target.unit", f"name a unit dim such as district, got {self.unit!r}")
        for key in ("season", "forecast_window"):
            _check_window(f"target.{key}", getattr(self, key))
        _positive("target.budget", self.budget)
        _positive("target.cost", self.cost)
        _positive("target.cost_per_household", self.cost_per_household)
        _positive("target.efficacy", self.efficacy, high=1.0)
        if self.efficacy is not None and not (self.efficacy_source or "").strip():
            _fail("target.efficacy_source", "an efficacy is an assumption: say where it "
                  "comes from (a pilot, a paired simulation, a guess)")
        if not self.cost_units.strip():
            _fail("target.cost_units", "name the units of cost and budget (CNY, staff days)")


def _check_window(key: str, window: list[str] | None) -> None:
    """``window`` must be null, two 'MM-DD' or two dates (``predgov.target.season_window``)."""
    if window is None:
        return
    import pandas as pd

    from predgov.target.window import season_window

    # An axis long enough for any recurring season and any date pandas can hold.
    axis = pd.date_range("1678-01-01", "2261-12-01", freq="MS")
    try:
        season_window(axis, "MS", list(window), name="window")
    except ValueError as err:
        _fail(key, re.sub(r"^window:? ", "", str(err)))


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
    # Beyond one process: blocks of whole categories (`block_series` series at most each; null
    # = one process unless backend=dask), serially or on dask.distributed (`scheduler`: an
    # address such as tcp://host:8786; null = a LocalCluster of `n_workers` workers).
    backend: str = "serial"
    scheduler: str | None = None
    n_workers: int = -1
    block_series: int | None = None

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
        _check_blocks("forecast", self)
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

    @property
    def blocked(self) -> bool:
        """Whether the stage runs over blocks of series (``block_series`` set or dask)."""
        return self.block_series is not None or self.backend == "dask"

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
    # series-year over the calibration stretch (null = the detector's default threshold, set
    # from its baseline's predictive distribution for 1 false alarm per series-year).
    calibrate_fa: float | None = None
    # Last day of the calibration stretch; null = the day before the last `recent_days` days.
    calibrate_end: str | None = None
    # Beyond one process: blocks of whole categories (`block_series` series at most each; null
    # = one process unless backend=dask), serially or on dask.distributed (`scheduler`: an
    # address such as tcp://host:8786; null = a LocalCluster of `n_workers` workers).
    backend: str = "serial"
    scheduler: str | None = None
    n_workers: int = -1
    block_series: int | None = None

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
        _check_blocks("warn", self)
        if self.calibrate_fa is not None and self.blocked:
            _fail("warn.calibrate_fa", "calibrating a threshold on the history runs in one "
                  "process: leave warn.block_series null and warn.backend=serial")

    @property
    def blocked(self) -> bool:
        """Whether the stage runs over blocks of series (``block_series`` set or dask)."""
        return self.block_series is not None or self.backend == "dask"

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
class InterventionConfig:
    """One intervention of an experiment: a kind of ``predgov.sim.interventions`` (class name,
    e.g. ``PipeFlushing``) and its constructor keywords (checked against its signature)."""

    kind: str = MISSING
    params: dict[str, Any] = field(default_factory=dict)


#: Ways to run the experiments (``predgov.sim.experiment.run_experiment``).
SIM_BACKENDS = ("serial", "joblib", "dask")


@dataclass
class SimConfig:
    """Simulation stage: the agent-based city (``predgov.sim.run_scenario``), and with
    ``interventions`` a policy × budget × seed experiment (``run_experiment``)."""

    enabled: bool = True
    # Share of Qingdao's ~3.7 million households simulated (1.0 = the full city).
    scale: float = 0.05
    # The season evaluated (with interventions: the window of the paired effects).
    start: str = "2025-07-01"
    end: str = "2026-06-30"
    world_seed: int = 0
    # Run seeds; more than one adds a `seed` dim and 10–90 % bands.
    seeds: list[int] = field(default_factory=lambda: [0])
    n_jobs: int = 1
    processes: list[str] | None = None
    # Parameter overrides by process, e.g. {heating: {start_amp: 2.5}}.
    params: dict[str, Any] = field(default_factory=dict)
    # Experiment: interventions by label (the label keys their random stream), the budgets
    # (total spending per run, the unit of the interventions' unit_cost: yuan), and the first
    # simulated day when it is before `start` (a burn-in: the hotline history the policies
    # decide on; history policies need one full heating season 11-15..04-05 of it).
    interventions: dict[str, InterventionConfig] = field(default_factory=dict)
    budgets: list[float] = field(default_factory=list)
    burn_in: str | None = None
    backend: str = "joblib"
    # dask: a scheduler address (tcp://host:8786); null = a LocalCluster of n_jobs workers.
    scheduler: str | None = None
    # Directory keeping each finished run: a killed run resumes there (null = none).
    store: str | None = None
    # Effects counted only in these districts / categories ({} = the whole city), e.g.
    # {district: [西海岸新区], category: [noise_construction]}.
    effects_on: dict[str, list[str]] = field(default_factory=dict)
    # Evaluation seasons of a multi-season experiment (null = one window, sim.start..sim.end):
    # [[first, last], ...] (named season_1, ...) or {name: [first, last]}, in order, inside
    # (sim.burn_in or sim.start)..sim.end. The interventions repeat before each later season
    # (dates shifted by the distance between the seasons' first days), each decision taken on
    # the history so far; effects.csv gets one row per policy x budget x season.
    seasons: Any = None

    def __post_init__(self) -> None:
        if not 0 < self.scale <= 1.0:
            _fail("sim.scale", f"must be in (0, 1], got {self.scale}")
        _check_dates("sim", self.start, self.end)
        if not self.seeds or any(s < 0 for s in self.seeds):
            _fail("sim.seeds", f"give one or more seeds >= 0, got {self.seeds}")
        if len(set(self.seeds)) < len(self.seeds):
            _fail("sim.seeds", f"seeds repeat a value: {self.seeds}")
        if self.n_jobs == 0:
            _fail("sim.n_jobs", "must be a positive count or -1 (all cores)")
        if self.processes is not None:
            from predgov.sim import PROCESSES

            bad = [p for p in self.processes if p not in PROCESSES]
            if bad:
                _fail("sim.processes", f"unknown {bad}; choose from {list(PROCESSES)}")
        if self.params:
            self._check_params()
        if self.backend not in SIM_BACKENDS:
            _fail("sim.backend", f"must be one of {list(SIM_BACKENDS)}, got {self.backend!r}")
        if self.scheduler is not None and self.backend != "dask":
            _fail("sim.scheduler", "a scheduler address needs sim.backend=dask")
        if self.burn_in is not None:
            _check_dates("sim.burn_in", self.burn_in, self.start)
            if self.burn_in == self.start:
                _fail("sim.burn_in", "must be before sim.start (or null: no burn-in)")
        self._check_budgets()
        _check_names("sim.effects_on", self.effects_on, ["district", "category"],
                     " (effects are selected by district and category)")  # fmt: skip
        for dim, labels in self.effects_on.items():
            if not labels:
                _fail(f"sim.effects_on.{dim}", "give one or more labels, or leave the key out")
        for label, spec in self.interventions.items():
            self._check_intervention(str(label), spec)
        if self.seasons is not None:
            self._check_seasons()

    def _check_seasons(self) -> None:
        """``sim.seasons``: ``[[first, last], ...]`` or ``{name: [first, last]}`` of dates, in
        order, not overlapping, inside the simulated days, far enough apart for the
        interventions to repeat in between; normalised to ISO dates."""
        import pandas as pd

        from predgov.sim.experiment import seasons as ssn
        from predgov.sim.experiment.store import check_name

        given = self.seasons
        if isinstance(given, DictConfig | ListConfig):
            given = OmegaConf.to_container(given)
        if isinstance(given, dict):
            items = [(str(k), f"sim.seasons.{k}", v) for k, v in given.items()]
        elif isinstance(given, list | tuple):
            items = [(None, f"sim.seasons.{i}", v) for i, v in enumerate(given)]
        else:
            items = []
        if not items:
            _fail("sim.seasons", "give [[first, last], ...] or {name: [first, last]} dates "
                                 f"(or null: one window sim.start..sim.end), got {given!r}")
        norm = []
        for name, key, win in items:
            if name is not None:
                try:
                    check_name(name, "season")
                except ValueError as err:
                    _fail(key, str(err))
            if isinstance(win, str) or not isinstance(win, list | tuple) or len(win) != 2:
                _fail(key, f"need [first, last] dates like [2025-11-15, 2026-04-05], got {win!r}")
            try:
                days = [pd.Timestamp(str(d)) for d in win]
            except (ValueError, TypeError):
                _fail(key, f"dates must look like 2025-11-15, got {list(win)}")
            norm.append([str(d.date()) for d in days])
        self.seasons = (norm if items[0][0] is None
                        else {name: w for (name, _, _), w in zip(items, norm, strict=True)})
        try:
            table = ssn.season_table(self.seasons)
        except ValueError as err:
            _fail("sim.seasons", str(err))
        first_day = pd.Timestamp(self.burn_in or self.start)
        if table[0].first < first_day or table[-1].last > pd.Timestamp(self.end):
            _fail("sim.seasons", f"seasons run {table[0].first.date()}..{table[-1].last.date()}, "
                                 f"outside the simulated days {first_day.date()}.."
                                 f"{pd.Timestamp(self.end).date()} (sim.burn_in or sim.start "
                                 "to sim.end)")  # fmt: skip
        if self.interventions:
            from predgov.sim.experiment.arms import build_intervention

            ivs = [build_intervention(s.kind, s.params, label=str(label))
                   for label, s in self.interventions.items()]  # fmt: skip
            try:
                table = ssn.with_cycles(table, ssn.earliest_start(ivs, first_day))
                ssn.repeat_for_seasons(ivs, table)
            except ValueError as err:
                _fail("sim.seasons", str(err))

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

    def _check_budgets(self) -> None:
        import math

        if any(not (math.isfinite(b) and b >= 0) for b in self.budgets):
            _fail("sim.budgets", f"give finite budgets >= 0, got {self.budgets}")
        if len(set(self.budgets)) < len(self.budgets):
            _fail("sim.budgets", f"budgets repeat a value: {self.budgets}")
        if self.interventions and not self.budgets:
            _fail("sim.budgets", "give one or more budgets (total spending per run, the unit "
                                 "of the interventions' unit_cost) for sim.interventions")
        if self.budgets and not self.interventions:
            _fail("sim.budgets", "budgets need sim.interventions to spend them")
        if self.interventions and len(self.seeds) < 2:
            _fail("sim.seeds", "an experiment needs two or more seeds (paired effects are "
                               f"summarised over seeds), got {list(self.seeds)}")

    def _check_intervention(self, label: str, spec: InterventionConfig) -> None:
        """Kind from the catalogue, keywords from its signature, values by constructing it."""
        from predgov.sim.experiment.arms import (
            INTERVENTIONS,
            build_intervention,
            check_intervention_params,
        )
        from predgov.sim.experiment.store import check_name

        key = f"sim.interventions.{label}"
        try:
            check_name(label, "intervention")
        except ValueError as err:
            _fail(key, str(err))
        if spec.kind not in INTERVENTIONS:
            _fail(f"{key}.kind", f"unknown intervention {spec.kind!r}"
                                 f"{did_you_mean(spec.kind, INTERVENTIONS)}; "
                                 f"choose from {sorted(INTERVENTIONS)}")  # fmt: skip
        try:
            check_intervention_params(spec.kind, spec.params)
        except ValueError:
            from predgov.sim.experiment.arms import REFUSED, keywords

            for name in spec.params:
                if name in REFUSED:
                    _fail(f"{key}.params.{name}", "cannot be set in a config (budget: from "
                                                  "sim.budgets; label: the key; targeting: "
                                                  "from policy; code: not from a config)")
            known = [k for k in keywords(INTERVENTIONS[spec.kind]) if k not in REFUSED]
            _check_names(f"{key}.params", spec.params, known,
                         f" ({spec.kind} does not take it)")  # fmt: skip
        try:
            build_intervention(spec.kind, spec.params, label=label)
        except (TypeError, ValueError) as err:
            _fail(f"{key}.params", (str(err).splitlines() or [type(err).__name__])[0])

    def check_policy(self, policy: PolicyConfig) -> None:
        """The policy needs interventions to target, and an experiment needs an arm."""
        if not self.enabled:
            return
        if policy.name != "reactive" and not self.interventions:
            _fail("policy", f"policy={policy.name} needs sim.interventions to target (run an "
                            "experiment such as +experiment=heating_prep)")  # fmt: skip
        if self.interventions and not policy.arms():
            _fail("policy", "policy=reactive targets nothing: choose a policy (given: the "
                            "interventions' own targets) or list policy.compare")  # fmt: skip
        if self.burn_in is not None and not self.interventions:
            _fail("sim.burn_in", "a burn-in is for experiments (sim.interventions)")
        if self.seasons is not None and not self.interventions:
            _fail("sim.seasons", "seasons are for experiments (sim.interventions)")


@dataclass
class PolicyConfig:
    """Targeting policy of the experiment (``predgov.target.policies``): which units the
    interventions treat first. ``reactive`` (接诉即办) is the baseline and targets nothing;
    ``given`` leaves every intervention its own listed or default units."""

    name: str = "reactive"
    # Constructor keywords of the policy (checked against its signature); policies in
    # `compare` take those of them they accept.
    params: dict[str, Any] = field(default_factory=dict)
    # More policies run side by side in the same experiment (same seeds and budgets); `name`
    # listed here again runs once.
    compare: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        from predgov.sim.experiment.arms import POLICIES, keywords

        for key, name in [("policy.name", self.name)] + [
                (f"policy.compare.{i}", n) for i, n in enumerate(self.compare)]:  # fmt: skip
            if name not in POLICIES:
                _fail(key, f"unknown policy {name!r}{did_you_mean(name, POLICIES)}; choose "
                           f"from {sorted(POLICIES)}")  # fmt: skip
        if "reactive" in self.compare:
            _fail("policy.compare", "reactive is always the baseline: leave it out")
        cls = POLICIES[self.name]
        known = [] if cls is None else keywords(cls)
        _check_names("policy.params", self.params, known,
                     f" (policy {self.name} does not take it)")  # fmt: skip
        from predgov.sim.experiment.arms import build_policy

        for name in self.arms():
            try:
                build_policy(name, self.params, strict=name == self.name)
            except (TypeError, ValueError) as err:
                _fail("policy.params", f"{name}: {(str(err).splitlines() or [''])[0]}")

    def arms(self) -> list[str]:
        """The policies run as experiment arms (the baseline ``reactive`` excluded).

        Examples
        --------
        >>> PolicyConfig("random", compare=["oracle"]).arms()
        ['random', 'oracle']
        """
        return [n for n in dict.fromkeys((self.name, *self.compare)) if n != "reactive"]


#: Estimators of ``predgov.impact.estimate`` (``auto`` lets it choose).
IMPACT_METHODS = ("auto", "its", "did", "synth")
#: Where the impact stage takes its counts: the data stage's cube or the simulated city.
IMPACT_SOURCES = ("cube", "sim")


@dataclass
class ImpactConfig:
    """Impact stage: calls a past action prevented (``predgov.impact.estimate``), per treated
    unit and in total, with an interval; the naive before/after figure beside it, labelled.

    Off by default. The treated set comes from ``treated`` (unit labels) with ``start`` (one
    first treated day, or one per unit: staggered starts), or from ``treated_csv`` (a CSV with
    columns ``unit`` and ``start``); unknown units stop the stage with their names.
    """

    enabled: bool = False
    # cube: the data stage's cube; sim: the sim stage's simulated city (with interventions the
    # policy arm `sim_policy`, budget `sim_budget`, seed `sim_seed`; the truth, the paired
    # difference with the reactive city of the same seed, is written beside the estimate).
    source: str = "cube"
    # Category label or list of labels whose calls count (summed); null = every category.
    category: Any = None
    # Unit dim (district, grid, estate, ...); null = the first non-time dim after categories.
    unit: str | None = None
    treated: list[str] = field(default_factory=list)
    # First treated day: one date for all, or a list with one per treated unit.
    start: Any = None
    # CSV of treated units and start dates (columns unit,start), instead of treated/start.
    treated_csv: str | None = None
    method: str = "auto"
    level: float = 0.9
    # Covariates over time known not to be affected by the action: variables of the cube
    # over time (temperature) or of the place's calendar (heating_season, holiday, ...).
    covariates: list[str] = field(default_factory=list)
    # Last day analysed (null: the end of the data); the post-period runs from start to it.
    end: str | None = None
    # Periods of the estimate: null = the cube's; W-MON or MS sum days first (fewer small cells).
    freq: str | None = None
    sim_policy: str | None = None
    sim_budget: float | None = None
    sim_seed: int | None = None
    seed: int = 0
    # What each unit's calls are proportional to (households, residents), so that "the most
    # calls per household" selections are recognised and adjusted on that scale: the name of a
    # coordinate or variable of the cube over the unit dim (the demo city's `households`), or
    # exposure_csv, a CSV with columns unit,exposure. null: none (counts are compared as such).
    exposure: str | None = None
    exposure_csv: str | None = None

    def __post_init__(self) -> None:
        import math

        if self.exposure is not None and (not str(self.exposure).strip()
                                          or self.exposure in ("time", "category")):
            _fail("impact.exposure", f"name a coordinate or variable of the cube over the unit "
                                     f"dim, such as households; got {self.exposure!r}")
        if self.exposure_csv is not None:
            if self.exposure is not None:
                _fail("impact.exposure_csv", "give the exposure either as impact.exposure (a "
                      "cube coordinate) or as impact.exposure_csv (a file), not both")
            if not Path(self.exposure_csv).is_file():
                _fail("impact.exposure_csv", f"no file {self.exposure_csv!r}")
        if self.source not in IMPACT_SOURCES:
            _fail("impact.source", f"must be one of {list(IMPACT_SOURCES)}, got {self.source!r}")
        if self.method not in IMPACT_METHODS:
            _fail("impact.method", f"unknown method {self.method!r}"
                                   f"{did_you_mean(self.method, IMPACT_METHODS)}; choose from "
                                   f"{list(IMPACT_METHODS)}")  # fmt: skip
        if not (math.isfinite(self.level) and 0 < self.level < 1):
            _fail("impact.level", f"must be in (0, 1) (0.9: a 90 % interval), got {self.level}")
        category = self.category
        if isinstance(category, ListConfig | list | tuple):
            category = list(category)
            if not category or not all(isinstance(c, str) and c for c in category):
                _fail("impact.category", f"give a category label or a list of them, got "
                                         f"{category}")  # fmt: skip
        elif category is not None and not (isinstance(category, str) and category):
            _fail("impact.category", f"give a category label or a list of them, got {category!r}")
        self.category = category
        if self.unit is not None and (not self.unit or self.unit == "time"):
            _fail("impact.unit", f"name a unit dim such as district, got {self.unit!r}")
        if self.freq is not None and self.freq not in FREQS:
            _fail("impact.freq", f"must be one of {list(FREQS)} or null, got {self.freq!r}")
        if self.end is not None:
            _check_dates("impact.end", self.end, self.end)
        if self.sim_seed is not None and self.sim_seed < 0:
            _fail("impact.sim_seed", f"must be >= 0, got {self.sim_seed}")
        if self.seed < 0:
            _fail("impact.seed", f"must be >= 0, got {self.seed}")
        if len(set(self.covariates)) != len(self.covariates):
            _fail("impact.covariates", f"names repeat: {list(self.covariates)}")
        self.start = self._starts()
        if self.enabled and not self.treated and self.treated_csv is None:
            _fail("impact.treated", "impact.enabled=true needs the treated units: "
                  "impact.treated=[...] with impact.start, or impact.treated_csv=FILE "
                  "(columns unit,start)")  # fmt: skip

    def _starts(self) -> str | list[str] | None:
        """``start`` checked: a date, or one date per treated unit."""
        treated = [str(t) for t in self.treated]
        if len(set(treated)) != len(treated):
            _fail("impact.treated", f"units repeat: {treated}")
        if any(not t for t in treated):
            _fail("impact.treated", f"unit labels must not be empty, got {treated}")
        start = self.start
        if self.treated_csv is not None:
            if treated or start is not None:
                _fail("impact.treated_csv", "give the treated set either as impact.treated "
                      "and impact.start or as impact.treated_csv")
            if not Path(self.treated_csv).is_file():
                _fail("impact.treated_csv", f"no file {self.treated_csv!r}")
            return None
        if isinstance(start, ListConfig | list | tuple):
            start = [str(s) for s in start]
            if len(start) != len(treated):
                _fail("impact.start", f"give one date, or one per treated unit ({len(treated)}), "
                                      f"got {len(start)}")  # fmt: skip
            for day in start:
                _check_dates("impact.start", day, day)
            return start
        if start is None:
            if treated:
                _fail("impact.start", "give the first treated day (2025-07-01), or one per unit")
            return None
        _check_dates("impact.start", str(start), str(start))
        return str(start)

    def exposure_table(self) -> dict[str, float]:
        """``{unit label: exposure}`` from ``exposure_csv`` (columns ``unit`` and
        ``exposure``); a missing column, an empty or repeated unit, or an exposure that is not
        a positive number is a ConfigError naming ``impact.exposure_csv``.

        Examples
        --------
        >>> import tempfile, os
        >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as fh:
        ...     _ = fh.write("unit,exposure\\na,1200\\nb,350.5\\n")
        >>> ImpactConfig(exposure_csv=fh.name).exposure_table()
        {'a': 1200.0, 'b': 350.5}
        >>> os.unlink(fh.name)
        """
        key = "impact.exposure_csv"
        if self.exposure_csv is None:
            return {}
        out: dict[str, float] = {}
        for unit, text in _unit_csv(key, self.exposure_csv, "exposure"):
            try:
                value = float(text)
            except ValueError:
                value = float("nan")
            if not (value > 0 and value < float("inf")):
                _fail(key, f"unit {unit!r}: exposure {text!r} is not a positive number")
            out[unit] = value
        return out

    def treated_set(self) -> dict[str, str]:
        """``{unit label: first treated day}`` from ``treated``/``start`` or ``treated_csv``.

        The CSV needs columns ``unit`` and ``start``; a missing column, an empty or repeated
        unit, or a date that does not parse is a ConfigError naming ``impact.treated_csv``.

        Examples
        --------
        >>> ImpactConfig(treated=["a", "b"], start="2025-07-01").treated_set()
        {'a': '2025-07-01', 'b': '2025-07-01'}
        >>> ImpactConfig(treated=["a", "b"], start=["2025-07-01", "2025-08-01"]).treated_set()
        {'a': '2025-07-01', 'b': '2025-08-01'}
        """
        if self.treated_csv is None:
            starts = self.start if isinstance(self.start, list) else [self.start] * len(
                self.treated)
            return {str(u): str(s) for u, s in zip(self.treated, starts, strict=True)}
        import pandas as pd

        key = "impact.treated_csv"
        out: dict[str, str] = {}
        for unit, day in _unit_csv(key, self.treated_csv, "start"):
            try:
                out[unit] = pd.Timestamp(day).date().isoformat()
            except (ValueError, TypeError):
                _fail(key, f"unit {unit!r}: start {day!r} is not a date like 2025-07-01")
        return out


def _unit_csv(key: str, path: str, column: str) -> list[tuple[str, str]]:
    """``(unit, text)`` rows of a CSV with columns ``unit`` and ``column`` (stripped text); an
    unreadable file, a missing column, an empty or repeated unit is a ConfigError at ``key``."""
    import pandas as pd

    try:
        frame = pd.read_csv(path, dtype=str, comment="#")
    except (OSError, ValueError) as err:
        _fail(key, f"cannot read {path!r}: {(str(err).splitlines() or [''])[0]}")
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in ("unit", column) if c not in frame.columns]
    if missing:
        _fail(key, f"the CSV needs columns unit,{column}; missing {missing} (has "
                   f"{list(frame.columns)})")  # fmt: skip
    units = frame["unit"].fillna("").str.strip()
    if (units == "").any() or not len(units):
        _fail(key, "every row needs a unit (and the CSV at least one row)")
    if units.duplicated().any():
        _fail(key, f"units repeat: {sorted(set(units[units.duplicated()]))}")
    return list(zip(units, frame[column].fillna("").str.strip(), strict=True))


#: Sections a brief may hold, in the order they appear.
BRIEF_SECTIONS = ("data", "forecast", "warn", "target", "sim", "impact")


@dataclass
class BriefConfig:
    """The run's one-page brief (``predgov.viz.brief``), written last from the run directory."""

    enabled: bool = True
    lang: str = "both"
    sections: list[str] = field(default_factory=lambda: list(BRIEF_SECTIONS))
    # Alerts that started in the last this many days are listed.
    alerts_days: int = 7
    # At most this many rows per table.
    max_rows: int = 10

    def __post_init__(self) -> None:
        if self.lang not in ("zh", "en", "both"):
            _fail("brief.lang", f"must be zh, en or both, got {self.lang!r}")
        bad = [s for s in self.sections if s not in BRIEF_SECTIONS]
        if bad:
            _fail("brief.sections", f"unknown {bad}{did_you_mean(bad[0], BRIEF_SECTIONS)}; "
                                    f"choose from {list(BRIEF_SECTIONS)}")  # fmt: skip
        if not self.sections or len(set(self.sections)) != len(self.sections):
            _fail("brief.sections", f"give distinct sections from {list(BRIEF_SECTIONS)}, "
                                    f"got {list(self.sections)}")  # fmt: skip
        if self.alerts_days < 1:
            _fail("brief.alerts_days", f"must be >= 1, got {self.alerts_days}")
        if self.max_rows < 1:
            _fail("brief.max_rows", f"must be >= 1, got {self.max_rows}")


@dataclass
class PredgovConfig:
    """Top-level config: one section per stage present so far."""

    data: Any = MISSING
    forecast: ForecastConfig = field(default_factory=ForecastConfig)
    target: TargetConfig = field(default_factory=TargetConfig)
    warn: WarnConfig = field(default_factory=WarnConfig)
    sim: SimConfig = field(default_factory=SimConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    impact: ImpactConfig = field(default_factory=ImpactConfig)
    viz: VizConfig = field(default_factory=VizConfig)
    brief: BriefConfig = field(default_factory=BriefConfig)
    seed: int = 0
    # Run again into a run directory holding a complete run (its files are replaced).
    overwrite: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.data, DemoCityConfig | FileDataConfig):
            _fail("data", "choose a data source: data=demo_city, data=file, data=brooklyn_noise, "
                          "data=chicago_sanitation or data=boston_heat")
        self.warn.check_params(self.data.cube.freq)
        self.sim.check_policy(self.policy)
        self._check_impact()

    def _check_impact(self) -> None:
        """``impact.source=sim`` needs the sim stage; ``impact.freq`` may only coarsen."""
        impact = self.impact
        if not impact.enabled:
            return
        if impact.source == "sim" and not self.sim.enabled:
            _fail("impact.source", "impact.source=sim needs the sim stage (sim.enabled=true)")
        if impact.source == "cube" and any(v is not None for v in (
                impact.sim_policy, impact.sim_budget, impact.sim_seed)):  # fmt: skip
            _fail("impact.source", "impact.sim_policy / sim_budget / sim_seed need "
                                   "impact.source=sim")  # fmt: skip
        order = list(FREQS)
        freq = self.data.cube.freq if impact.source == "cube" else "D"
        if impact.freq is not None and order.index(impact.freq) < order.index(freq):
            _fail("impact.freq", f"cannot be finer than the counts' frequency {freq}")

    def inputs(self) -> dict[str, Path]:
        """Input files the run reads, by role (hashed into provenance; never overwritten).

        Examples
        --------
        >>> PredgovConfig(data=FileDataConfig(path="x.csv", preset="nyc311")).inputs()
        {'records': PosixPath('x.csv')}
        >>> PredgovConfig(data=DemoCityConfig()).inputs()
        {}
        """
        out: dict[str, Path] = {}
        if isinstance(self.data, FileDataConfig):
            out["records"] = Path(self.data.path)
        if self.impact.enabled and self.impact.treated_csv is not None:
            out["impact_treated"] = Path(self.impact.treated_csv)
        if self.impact.enabled and self.impact.exposure_csv is not None:
            out["impact_exposure"] = Path(self.impact.exposure_csv)
        return out


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
    "target_schema": TargetConfig,
    "warn_schema": WarnConfig,
    "sim_schema": SimConfig,
    "policy_schema": PolicyConfig,
    "impact_schema": ImpactConfig,
    "brief_schema": BriefConfig,
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
