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
        (["policy.name=orakel"], "policy.name"),
        (["policy=oracle"], "policy"),  # a policy needs sim.interventions to target
    ],
)
def test_bad_values_fail_naming_the_key(overrides, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        validate(_compose(overrides))


@pytest.mark.parametrize(
    ("group", "option"),
    [(g.name, p.stem) for g in sorted(conf_dir().iterdir()) if g.is_dir()
     and g.name in ("forecast", "target", "warn", "sim", "policy", "viz")
     for p in sorted(g.glob("*.yaml"))],
)
def test_every_stage_config_validates(group, option):
    # a targeting policy needs interventions to target: policies compose on an experiment
    extra = ["+experiment=heating_prep"] if group == "policy" else []
    cfg = validate(_compose([*extra, f"{group}={option}"]))
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


# ------------------------------------------------------------------------------ strict config


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["+foo=bar"], "unknown config key 'foo'"),
        (["+data.sed=3"], "unknown config key 'data.sed' (did you mean 'data.seed'?)"),
        (["+forecast.horizn=5"],
         "unknown config key 'forecast.horizn' (did you mean 'forecast.horizon'?)"),
        (["+data.cube.frq=W-MON"],
         "unknown config key 'data.cube.frq' (did you mean 'data.cube.freq'?)"),
        (["+forecast._target_=os.system"], "config key 'forecast._target_' is refused"),
        (["+forecast.params._target_=os.system"],
         "config key 'forecast.params._target_' is refused"),
        (["+forecast.params.trnd=true"],
         "unknown config key 'forecast.params.trnd' (NBGLM does not take it) "
         "(did you mean 'forecast.params.trend'?)"),
        (["forecast=prophet", "+forecast.params.n_job=2"],
         "unknown config key 'forecast.params.n_job' (ProphetForecaster does not take it) "
         "(did you mean 'forecast.params.n_jobs'?)"),
        (["+warn.params.treshold=3"],
         "unknown config key 'warn.params.treshold' (detector nb_cusum does not take it) "
         "(did you mean 'warn.params.threshold'?)"),
        # The weekly default detector is Farrington: its own keywords are checked.
        (["data.cube.freq=W-MON", "+warn.params.delta=2"],
         "unknown config key 'warn.params.delta' (detector farrington does not take it)"),
        (["+sim.params.heatin.start_amp=2"],
         "unknown config key 'sim.params.heatin' (no such process) "
         "(did you mean 'sim.params.heating'?)"),
        (["+sim.params.heating.start_ampl=2"],
         "unknown config key 'sim.params.heating.start_ampl' (HeatingParams has no such "
         "parameter) (did you mean 'sim.params.heating.start_amp'?)"),
        (["data.city=qingdoa"], "invalid config value at 'data.city': no city 'qingdoa' "
                                "(did you mean 'qingdao'?)"),
        (["data.country=XX"], "invalid config value at 'data.country'"),
    ],
)
def test_unknown_keys_fail_with_one_line_naming_the_key(overrides, message):
    with pytest.raises(ConfigError) as info:
        validate(_compose(overrides))
    text = str(info.value)
    assert text.startswith(message), text
    assert "\n" not in text


def test_known_params_pass_and_reach_the_stage():
    cfg = validate(_compose(["warn.method=ears_c2", "+warn.params.alpha=0.01",
                             "+forecast.params.trend=false",
                             "+sim.params.heating.start_amp=2.5"]))  # fmt: skip
    assert cfg.warn.params == {"alpha": 0.01}
    assert cfg.forecast.params == {"trend": False}
    assert cfg.sim.params == {"heating": {"start_amp": 2.5}}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["data.preset=qd123"], "invalid config value at 'data.preset': unknown preset 'qd123' "
                                "(did you mean 'qd12345'?)"),
        (["data.preset=qd12345", "data.timezone=Asia/Shangai"],
         "invalid config value at 'data.timezone': unknown timezone 'Asia/Shangai' "
         "(did you mean 'Asia/Shanghai'?)"),
        (["data.preset=qd12345", "data.timezone=+08:00"],
         "invalid config value at 'data.timezone': unknown timezone '+08:00'"),
    ],
)
def test_unknown_preset_and_timezone_fail_at_validation(overrides, message):
    with pytest.raises(ConfigError) as info:
        validate(_compose(["data=file", "data.path=x.csv", *overrides]))
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value)


def test_key_env_must_name_a_variable_and_the_message_never_echoes_it():
    key = "k3y-0123456789-secret"
    with pytest.raises(ConfigError, match=r"data\.key_env") as info:
        validate(_compose(["data=file", "data.path=x.csv", "data.preset=qd12345",
                           f"data.key_env={key}"]))  # fmt: skip
    assert key not in str(info.value)
    cfg = validate(_compose(["data=file", "data.path=x.csv", "data.preset=qd12345",
                             "data.key_env=MY_HMAC_KEY"]))  # fmt: skip
    assert cfg.data.key_env == "MY_HMAC_KEY"


def test_schemas_are_not_group_options():
    """`predgov --help` lists group options; the schemas must not be among them."""
    for group in ("data", "forecast", "target", "warn", "sim", "policy", "viz"):
        names = {p.stem for p in (conf_dir() / group).glob("*.yaml")}
        assert not any(n.endswith("_schema") for n in names)
    with pytest.raises(Exception, match="file_schema"):
        _compose(["data=file_schema"])
