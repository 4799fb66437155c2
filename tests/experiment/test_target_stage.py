"""Target stage: the off-season treatment list written into the run directory (issue 10 §5)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hydra import compose, initialize_config_dir

from predgov.data.cube import read_cube
from predgov.experiment.app import register_resolvers
from predgov.experiment.config import ConfigError, TargetConfig, register_configs, validate
from predgov.experiment.pipeline import run_pipeline
from predgov.experiment.stages.target import run_target_stage
from predgov.paths import conf_dir

register_configs()
register_resolvers()

# Six demo months hold one complete heating season (11-15..04-05); the other stages are off
# and figures PNG only, so a run takes seconds.
SMALL = ["data.start=2022-11-01", "data.end=2023-04-30", "warn.enabled=false",
         "sim.enabled=false", "viz.formats=[png]"]  # fmt: skip
TARGET = ["target.enabled=true", "target.category=heating", "target.efficacy=0.3",
          "target.efficacy_source=assumption for the test", "target.budget=5000000",
          "target.cost_per_household=20", "target.cost_units=CNY"]  # fmt: skip


def _compose(overrides: list[str]):
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


def _run(run_dir: Path, overrides: list[str]) -> dict[str, Path]:
    raw = _compose(overrides)
    return run_pipeline(validate(raw), raw, run_dir)


@pytest.fixture(scope="module")
def history_run(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    run_dir = tmp_path_factory.mktemp("target") / "history"
    overrides = [*SMALL, *TARGET, "forecast.enabled=false", "target.season=[11-15,04-05]"]
    return run_dir, _run(run_dir, overrides)


@pytest.fixture(scope="module")
def forecast_run(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    run_dir = tmp_path_factory.mktemp("target") / "forecast"
    overrides = [*SMALL, *TARGET, "forecast.backtest_origins=0", "forecast.horizon=14",
                 "target.category=[heating,water_supply]"]  # fmt: skip
    return run_dir, _run(run_dir, overrides)


def test_the_stage_writes_the_list_ranked_within_the_budget(history_run):
    run_dir, out = history_run
    assert out["treatment_list"] == run_dir / "target" / "treatment_list.nc"
    assert out["treatment_table"] == run_dir / "target" / "treatment_table.csv"
    cube = read_cube(run_dir / "cube.nc")
    tl = read_cube(out["treatment_list"])
    # Known answers from the cube: last heating season's calls per district, cost per household.
    season = cube["counts"].sel(time=slice("2022-11-15", "2023-04-05"), category="heating")
    calls = season.sum("time").to_series()
    assert tl.attrs["history_window"] == "2022-11-15..2023-04-05"
    np.testing.assert_array_equal(tl["history_calls"].to_series(), calls[tl["district"].values])
    households = cube["households"].to_series()[tl["district"].values]
    np.testing.assert_allclose(tl["cost"].values, households.values * 20.0)
    assert tl.attrs["expected_from"].startswith("history, empirical-Bayes shrunk")
    assert tl.attrs["forecast"] == "none (the forecast stage did not run)"
    assert tl.attrs["efficacy_source"] == "assumption for the test"
    assert tl["efficacy"].attrs["source"] == "assumption for the test"
    assert tl.attrs["cost_units"] == "CNY" and tl.attrs["category"] == "heating"
    ratio = tl["averted_per_cost"].values
    assert (np.diff(ratio) <= 0).all() and tl["rank"].values.tolist() == list(range(1, 11))
    funded = tl["within_budget"].values.astype(bool)
    assert funded.any() and tl["cost"].values[funded].sum() <= 5_000_000
    table = pd.read_csv(out["treatment_table"])
    assert table["district"].tolist() == tl["district"].values.tolist()
    assert table["history_calls"].tolist() == tl["history_calls"].values.tolist()
    assert table["suppressed"].isna().all()  # every district made well over 4 calls


def test_the_table_holds_plain_numbers_and_withheld_cells(history_run, tmp_path):
    """One April day of medical-insurance calls: districts with 1..4 calls are withheld (with
    complementary cells), every other cell is a plain number."""
    run_dir, _ = history_run
    cube = read_cube(run_dir / "cube.nc")
    cfg = TargetConfig(enabled=True, category="medical_insurance", season=["2023-04-20",
                       "2023-04-20"], budget=1e6, cost=100.0, efficacy=0.5,
                       efficacy_source="assumption", shrink=False)  # fmt: skip
    out = run_target_stage(cfg, cube, None, validate(_compose([])).viz, tmp_path)
    day = cube["counts"].sel(time="2023-04-20", category="medical_insurance").to_series()
    assert ((day > 0) & (day < 5)).any()
    text = out["treatment_table"].read_text(encoding="utf-8")
    assert "<5" not in text and "suppressed," not in text.splitlines()[1]
    table = pd.read_csv(out["treatment_table"])
    withheld = table["history_calls"].isna()
    small = table["district"].map(day).between(1, 4)
    assert (withheld >= small).all() and small.any()
    for column in ("history_calls", "expected_calls", "calls_averted", "averted_per_cost"):
        assert table.loc[small, column].isna().all()
        assert table.loc[small, "suppressed"].str.contains(column).all()
    shown = table.loc[~withheld]
    assert (shown["history_calls"] == shown["district"].map(day)).all()
    assert table["cost"].eq(100.0).all() and table["rank"].tolist() == list(range(1, 11))


def test_with_the_forecast_enabled_the_list_uses_it(forecast_run):
    run_dir, out = forecast_run
    tl = read_cube(out["treatment_list"])
    forecast = read_cube(run_dir / "forecast" / "forecast.nc")
    assert tl.attrs["expected_from"].startswith("forecast nb_glm")
    assert tl.attrs["target_window"] == "2023-05-01..2023-05-14"
    assert "forecast" not in tl.attrs and "shrinkage_weight" not in tl
    # Known answer: the forecast mean of both categories summed over the 14 days.
    mean = forecast["mean"].sel(category=["heating", "water_supply"]).sum(["time", "category"])
    np.testing.assert_allclose(tl["expected_calls"].values,
                               mean.sel(district=tl["district"].values).values)  # fmt: skip
    assert {"calls_averted_low", "calls_averted_high"} <= set(tl.data_vars)
    table = pd.read_csv(out["treatment_table"])
    assert {"calls_averted_low", "calls_averted_high", "suppressed"} <= set(table.columns)


def test_use_forecast_false_ranks_on_history(forecast_run, tmp_path):
    run_dir, _ = forecast_run
    cube, forecast = read_cube(run_dir / "cube.nc"), read_cube(run_dir / "forecast/forecast.nc")
    cfg = TargetConfig(enabled=True, category="heating", budget=1e6, cost=10.0, efficacy=0.2,
                       efficacy_source="assumption", use_forecast=False)  # fmt: skip
    tl = read_cube(run_target_stage(cfg, cube, forecast, validate(_compose([])).viz,
                                    tmp_path)["treatment_list"])  # fmt: skip
    assert tl.attrs["expected_from"].startswith("history")
    assert tl.attrs["forecast"] == "not used (target.use_forecast=false)"


def test_the_target_stage_is_off_by_default():
    cfg = validate(_compose([]))
    assert cfg.target == TargetConfig() and not cfg.target.enabled


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["target.enabled=true"], "invalid config value at 'target.efficacy': target.enabled=true "
                                  "needs the share of expected calls"),
        (["target.efficacy=0.3"], "invalid config value at 'target.efficacy_source'"),
        (["target.efficacy=0", "target.efficacy_source=x"],
         "invalid config value at 'target.efficacy': must be in (0, 1], got 0.0"),
        (["target.efficacy=1.5", "target.efficacy_source=x"],
         "invalid config value at 'target.efficacy': must be in (0, 1]"),
        ([*TARGET[:4], "target.cost=5"], "invalid config value at 'target.budget'"),
        ([*TARGET, "target.cost=5"], "invalid config value at 'target.cost': give exactly one"),
        ([*TARGET[:5]], "invalid config value at 'target.cost': give exactly one"),
        (["target.budget=-1"], "invalid config value at 'target.budget': must be a finite"),
        (["target.season=[11-15]"], "invalid config value at 'target.season'"),
        (["target.season=[11-15,2024-04-05]"], "invalid config value at 'target.season': give "
                                               "both ends as 'MM-DD' or both as dates"),
        (["target.forecast_window=[13-01,04-05]"], "invalid config value at "
                                                   "'target.forecast_window'"),
        (["target.category=[]"], "invalid config value at 'target.category'"),
        (["+target.budgt=5"], "unknown config key 'target.budgt' (did you mean 'target.budget'?)"),
        (["+target.efficacy_sauce=x"],
         "unknown config key 'target.efficacy_sauce' (did you mean 'target.efficacy_source'?)"),
    ],
)
def test_bad_target_config_fails_in_one_line_naming_the_key(overrides, message):
    with pytest.raises(ConfigError) as info:
        validate(_compose(overrides))
    text = str(info.value)
    assert text.startswith(message), text
    assert "\n" not in text


def test_what_the_cube_cannot_honour_names_the_key(tmp_path):
    cube = xr.Dataset(
        {"counts": (("time", "district", "category"), np.ones((3, 2, 1), dtype=np.int64))},
        coords={"time": pd.date_range("2024-01-01", periods=3), "district": ["a", "b"],
                "category": ["heating"]},
    )  # fmt: skip
    viz = validate(_compose([])).viz
    base = dict(enabled=True, budget=10.0, cost=1.0, efficacy=0.5, efficacy_source="x")
    cases = [
        (dict(category="noise"), "invalid config value at 'target.category': unknown ['noise']"),
        (dict(unit="estate"), "invalid config value at 'target.unit': 'estate' is neither"),
        (dict(season=["11-15", "04-05"]), "invalid config value at 'target.season': season="),
        (dict(cost=None, cost_per_household=2.0),
         "invalid config value at 'target.cost_per_household': the cube has no 'households'"),
        (dict(exposure="households"), "invalid config value at 'target.exposure'"),
    ]
    for change, message in cases:
        with pytest.raises(ConfigError) as info:
            run_target_stage(TargetConfig(**{**base, **change}), cube, None, viz, tmp_path)
        assert str(info.value).startswith(message), str(info.value)
        assert "\n" not in str(info.value)
    assert not (tmp_path / "treatment_list.nc").exists()

