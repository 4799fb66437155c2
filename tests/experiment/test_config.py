"""Structured configs: every YAML in conf/ composes and validates; bad values name their key."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir

from predgov.experiment.app import register_resolvers
from predgov.experiment.config import (
    ConfigError,
    DemoCityConfig,
    FileDataConfig,
    register_configs,
    validate,
)
from predgov.paths import conf_dir, experiments_dir

register_configs()
register_resolvers()


def _compose(overrides: list[str]):
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


def test_default_config_is_the_demo_city():
    cfg = validate(_compose([]))
    assert isinstance(cfg.data, DemoCityConfig)
    assert cfg.data.seed == cfg.seed == 0
    assert cfg.viz.min_count == 5


@pytest.mark.parametrize("name", [p.stem for p in (conf_dir() / "data").glob("*.yaml")])
def test_every_data_config_validates(name, brooklyn_noise_path):
    overrides = [f"data={name}"]
    if name == "file":
        overrides += [f"data.path={brooklyn_noise_path}", "data.preset=nyc311_brooklyn_noise"]
    cfg = validate(_compose(overrides))
    assert cfg.data.cube.freq == "D"
    if name == "brooklyn_noise":
        assert isinstance(cfg.data, FileDataConfig)
        assert cfg.data.path == str(brooklyn_noise_path)


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (["data.cube.freq=H"], "data.cube.freq"),
        (["data.cube.partial=drop"], "data.cube.partial"),
        (["data.scale=0"], "data.scale"),
        (["data.start=2024-01-01", "data.end=2023-01-01"], "data"),
        (["viz.min_count=0"], "viz.min_count"),
        (["viz.lang=fr"], "viz.lang"),
        (["data=file"], "data.path"),
        (["data=file", "data.path=x.csv"], "data.preset"),
        (["forecast.model=bogus"], "forecast.model"),
        (["forecast.horizon=0"], "forecast.horizon"),
        (["forecast.fan_series=[heating]"], "forecast.fan_series"),
        (["warn.method=bogus"], "warn.method"),
        (["warn.board_day=yesterday"], "warn.board_day"),
        (["warn.calibrate_fa=-1"], "warn.calibrate_fa"),
        (["warn.calibrate_fa=1", "+warn.params.threshold=4"], "warn.calibrate_fa"),
        (["warn.calibrate_end=soon"], "warn.calibrate_end"),
        (["sim.scale=2"], "sim.scale"),
        (["sim.processes=[weather]"], "sim.processes"),
        (["policy.name=oracle"], "policy.name"),
    ],
)
def test_bad_values_fail_naming_the_key(overrides, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        validate(_compose(overrides))


@pytest.mark.parametrize(
    ("group", "option"),
    [(g.name, p.stem) for g in sorted(conf_dir().iterdir()) if g.is_dir()
     and g.name in ("forecast", "warn", "sim", "policy", "viz") for p in sorted(g.glob("*.yaml"))],
)
def test_every_stage_config_validates(group, option):
    cfg = validate(_compose([f"{group}={option}"]))
    assert getattr(cfg, group) is not None


def test_sim_seed_follows_the_run_seed():
    assert validate(_compose(["seed=7"])).sim.seeds == [7]


def test_wrong_type_is_refused_at_composition():
    with pytest.raises(Exception, match="seed"):
        _compose(["data.seed=abc"])


@pytest.mark.parametrize(
    "name", sorted(p.stem for p in (experiments_dir() / "experiment").glob("*.yaml"))
)
def test_every_experiment_composes_and_validates(name, brooklyn_noise_path):
    """`predgov +experiment=NAME` finds experiments/experiment/NAME.yaml through the search-path
    plugin, and the composed config validates."""
    cfg = validate(_compose([f"+experiment={name}"]))
    assert cfg.seed == 0
    if name == "brooklyn_noise":
        assert isinstance(cfg.data, FileDataConfig) and cfg.warn.calibrate_fa == 1.0
        assert cfg.forecast.horizon == 28 and not cfg.sim.enabled
    if name == "demo_weekly":
        assert cfg.data.cube.freq == "W-MON" and cfg.forecast.horizon == 13


def test_experiments_exist_and_unknown_ones_fail():
    assert (experiments_dir() / "experiment" / "brooklyn_noise.yaml").is_file()
    from hydra.errors import MissingConfigException

    with pytest.raises(MissingConfigException):
        _compose(["+experiment=no_such_question"])
