"""Impact stage (issue 12, Interfaces): config, treated set, outputs, suppression, brief step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hydra import compose, initialize_config_dir

from predgov.data.cube import read_cube, write_cube
from predgov.experiment import pipeline
from predgov.experiment.app import register_resolvers
from predgov.experiment.config import (
    BriefConfig,
    ConfigError,
    ImpactConfig,
    register_configs,
    validate,
)
from predgov.experiment.pipeline import run_pipeline
from predgov.experiment.stages.impact import exposure_over, run_impact_stage, sim_counts
from predgov.paths import conf_dir

register_configs()
register_resolvers()

# One demo year, weekly estimate, ITS (fast); the other stages off and figures PNG/PDF only.
SMALL = ["data.start=2023-01-01", "data.end=2023-12-31", "forecast.enabled=false",
         "warn.enabled=false", "sim.enabled=false", "viz.formats=[png,pdf]"]  # fmt: skip
WEST = "西海岸新区"
IMPACT = ["impact.enabled=true", "impact.category=noise_social", f'impact.treated=["{WEST}"]',
          "impact.start=2023-07-03", "impact.freq=W-MON", "impact.method=its"]  # fmt: skip


def _compose(overrides: list[str]):
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


def _run(run_dir: Path, overrides: list[str]) -> dict[str, Path]:
    raw = _compose(overrides)
    return run_pipeline(validate(raw), raw, run_dir)


# ----------------------------------------------------------------------------------- config


def test_impact_is_off_and_the_brief_on_by_default():
    cfg = validate(_compose([]))
    assert cfg.impact == ImpactConfig() and not cfg.impact.enabled
    assert cfg.brief == BriefConfig() and cfg.brief.enabled and cfg.brief.lang == "both"
    assert cfg.brief.sections == ["data", "forecast", "warn", "target", "sim", "impact"]
    assert (cfg.brief.alerts_days, cfg.brief.max_rows) == (7, 10)


@pytest.mark.parametrize(
    ("key", "message"),
    [("+impact.metod=its", "unknown config key 'impact.metod' (did you mean 'impact.method'?)"),
     ("+brief.max_row=3", "unknown config key 'brief.max_row' (did you mean 'brief.max_rows'?)")],
)
def test_unknown_keys_are_refused_in_one_line_naming_them(key, message):
    with pytest.raises(ConfigError) as err:
        validate(_compose([key]))
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (["impact.method=bogus"], "impact.method"),
        (["impact.level=1.5"], "impact.level"),
        (["impact.level=0"], "impact.level"),
        (["impact.source=warn"], "impact.source"),
        (["impact.freq=H"], "impact.freq"),
        (["impact.end=someday"], "impact.end"),
        (["impact.enabled=true"], "impact.treated"),
        (["impact.treated=[a]"], "impact.start"),
        (["impact.treated=[a,b]", "impact.start=[2024-07-01]"], "impact.start"),
        (["impact.treated=[a]", "impact.start=2024-13-45"], "impact.start"),
        (["impact.treated=[a,a]", "impact.start=2024-07-01"], "impact.treated"),
        (["impact.treated_csv=/no/such/file.csv"], "impact.treated_csv"),
        (["impact.enabled=true", "impact.treated=[a]", "impact.start=2024-07-01",
          "impact.source=sim", "sim.enabled=false"], "impact.source"),
        (["impact.enabled=true", "impact.treated=[a]", "impact.start=2024-07-01",
          "impact.sim_seed=1"], "impact.source"),
        (["data.cube.freq=MS", "impact.enabled=true", "impact.treated=[a]",
          "impact.start=2024-07-01", "impact.freq=W-MON"], "impact.freq"),
        (["impact.category=[]"], "impact.category"),
        (["impact.exposure=time"], "impact.exposure"),
        (["impact.exposure_csv=/no/such/file.csv"], "impact.exposure_csv"),
        (["brief.lang=fr"], "brief.lang"),
        (["brief.sections=[data,foo]"], "brief.sections"),
        (["brief.sections=[]"], "brief.sections"),
        (["brief.alerts_days=0"], "brief.alerts_days"),
        (["brief.max_rows=0"], "brief.max_rows"),
    ],
)
def test_bad_values_fail_naming_the_key(overrides, key):
    with pytest.raises(ConfigError, match=f"'{key}'".replace(".", r"\.")):
        validate(_compose(overrides))


def test_the_treated_set_from_config_and_from_a_csv(tmp_path):
    cfg = ImpactConfig(treated=["a", "b"], start=["2024-07-01", "2024-08-01"])
    assert cfg.treated_set() == {"a": "2024-07-01", "b": "2024-08-01"}
    path = tmp_path / "treated.csv"
    path.write_text("unit,start,note\na,2024-07-01,x\n b ,2024/08/01,y\n", encoding="utf-8")
    assert ImpactConfig(treated_csv=str(path)).treated_set() == {"a": "2024-07-01",
                                                                 "b": "2024-08-01"}
    for text, words in [("unit,begin\na,2024-07-01\n", "missing ['start']"),
                        ("unit,start\na,2024-07-01\na,2024-08-01\n", "units repeat: ['a']"),
                        ("unit,start\na,soon\n", "unit 'a': start 'soon' is not a date"),
                        ("unit,start\n,2024-07-01\n", "every row needs a unit")]:  # fmt: skip
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError, match=r"impact\.treated_csv") as err:
            ImpactConfig(treated_csv=str(path)).treated_set()
        assert words in str(err.value)


def test_the_treated_csv_is_an_input_of_the_run(tmp_path):
    path = tmp_path / "treated.csv"
    path.write_text("unit,start\na,2024-07-01\n", encoding="utf-8")
    cfg = validate(_compose(["impact.enabled=true", f"impact.treated_csv={path}"]))
    assert cfg.inputs() == {"impact_treated": path}


# ------------------------------------------------------------------------------ the stage


@pytest.fixture(scope="module")
def impact_run(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    """The stage on one demo year (the cube the data stage writes), weekly, with temperature."""
    from predgov.data import demo_city

    run_dir = tmp_path_factory.mktemp("impact") / "run"
    run_dir.mkdir()
    cube = demo_city(seed=0, start="2023-01-01", end="2023-12-31")
    write_cube(cube, run_dir / "cube.nc")
    cfg = ImpactConfig(enabled=True, category="noise_social", treated=[WEST], start="2023-07-03",
                       freq="W-MON", method="its", covariates=["temperature"])  # fmt: skip
    viz = validate(_compose([*SMALL, "viz.dpi=50"])).viz
    return run_dir, run_impact_stage(cfg, cube, None, viz, run_dir / "impact")


@pytest.mark.slow
def test_the_pipeline_runs_the_stage(tmp_path):
    """End to end through the config: half a demo year, weekly ITS; the three files."""
    overrides = [*SMALL, "data.end=2023-06-30", "viz.dpi=50", "brief.enabled=false",
                 *IMPACT[:3], "impact.start=2023-05-01", *IMPACT[4:]]  # fmt: skip
    out = _run(tmp_path / "run", overrides)
    impact = tmp_path / "run" / "impact"
    assert out["impact"] == impact / "impact.nc" and out["impact_table"] == impact / "impact.csv"
    assert out["impact_png"] == impact / "figures" / "impact.png" and out["impact_pdf"].is_file()
    assert pd.read_csv(out["impact_table"])["district"].tolist() == [WEST, "total"]


def test_the_stage_writes_the_three_files(impact_run):
    run_dir, out = impact_run
    assert out["impact"] == run_dir / "impact" / "impact.nc"
    assert out["impact_table"] == run_dir / "impact" / "impact.csv"
    assert out["impact_png"] == run_dir / "impact" / "figures" / "impact.png"
    assert out["impact_pdf"].is_file() and out["impact_png"].stat().st_size > 10_000
    est = read_cube(out["impact"])
    for name in ("observed", "counterfactual", "counterfactual_lo", "counterfactual_hi",
                 "effect", "effect_lo", "effect_hi", "cumulative_effect", "effect_pooled",
                 "relative_effect", "total_effect", "total_effect_lo", "total_effect_hi",
                 "naive_effect", "post"):  # fmt: skip
        assert name in est, name
    assert est.attrs["method"] == "its" and est.attrs["level"] == 0.9
    assert est.attrs["categories"] == "noise_social" and est.attrs["covariates"] == "temperature"
    assert est.attrs["freq"] == "W-MON" and "checks" in est.attrs
    assert est[est.attrs["unit"]].values.tolist() == [WEST]


def test_the_table_holds_the_cube_totals(impact_run):
    """Known answers from the cube itself: weekly noise_social calls of 西海岸新区."""
    run_dir, out = impact_run
    cube = read_cube(run_dir / "cube.nc")
    days = cube["counts"].sel(category="noise_social", district=WEST).to_series()
    weeks = days.resample("W-MON", label="left", closed="left").sum()
    weeks = weeks[weeks.index >= "2023-01-02"]  # whole weeks only (the first is partial)
    post = weeks[weeks.index >= "2023-07-03"]
    before = weeks[weeks.index < "2023-07-03"].iloc[-len(post):]
    table = pd.read_csv(out["impact_table"])
    assert table["district"].tolist() == [WEST, "total"]
    row = table.iloc[0]
    assert row["observed"] == post.sum() and row["post_periods"] == len(post)
    assert row["naive_kind"] == "before_after"
    assert row["naive_calls_before"] == before.sum() and row["naive_calls_after"] == post.sum()
    assert row["naive_change"] == post.sum() - before.sum()
    est = read_cube(out["impact"])
    assert row["effect"] == pytest.approx(float(est["total_effect"]), abs=0.06)
    assert row["effect_lo"] <= row["effect"] <= row["effect_hi"]
    assert row["effect"] == pytest.approx(row["observed"] - row["counterfactual"], abs=0.11)
    assert row["start"] == "2023-07-03" and pd.isna(row["suppressed"])
    # the total row: sums of the unit rows, the interval from the estimate's joint bounds
    total = table.iloc[1]
    assert total["observed"] == row["observed"]
    assert total["effect_lo"] == pytest.approx(float(est["total_effect_lo"]), abs=0.06)
    assert total["naive_change"] == pytest.approx(float(est["naive_effect"]), abs=0.06)


def _planted(cube: xr.Dataset, unit: str, start: str, keep: float) -> tuple[xr.Dataset, float]:
    """The cube with every post-start call of ``unit`` in noise_social kept with probability
    ``keep`` (binomial thinning): the true effect is minus the calls removed."""
    rng = np.random.default_rng(5)
    counts = cube["counts"].copy()
    sel = dict(district=unit, category="noise_social", time=slice(start, None))
    before = counts.loc[sel].values.copy()
    after = rng.binomial(before.astype(np.int64), keep)
    counts.loc[sel] = after
    return cube.assign(counts=counts), float(after.sum() - before.sum())


def test_a_planted_effect_is_recovered(impact_run, tmp_path):
    run_dir, _ = impact_run
    cube = read_cube(run_dir / "cube.nc")
    planted, truth = _planted(cube, WEST, "2023-07-03", keep=0.6)
    cfg = ImpactConfig(enabled=True, category="noise_social", treated=[WEST],
                       start="2023-07-03", freq="W-MON", method="its",
                       end="2023-12-24")  # fmt: skip
    out = run_impact_stage(cfg, planted, None, validate(_compose(SMALL)).viz, tmp_path)
    est = read_cube(out["impact"])
    assert truth < -500  # about 40 % of half a year's calls
    effect = float(est["total_effect"])
    assert effect == pytest.approx(truth, rel=0.35)
    assert float(est["total_effect_hi"]) < 0  # the interval excludes "no effect"


def test_unknown_units_are_named(tmp_path, impact_run):
    run_dir, _ = impact_run
    cube = read_cube(run_dir / "cube.nc")
    path = tmp_path / "treated.csv"
    path.write_text(f"unit,start\n{WEST},2023-07-03\n不存在区,2023-07-03\nX,2023-07-03\n",
                    encoding="utf-8")  # fmt: skip
    cfg = ImpactConfig(enabled=True, treated_csv=str(path), method="its")
    with pytest.raises(ConfigError) as err:
        run_impact_stage(cfg, cube, None, validate(_compose(SMALL)).viz, tmp_path / "out")
    text = str(err.value)
    assert text.startswith("invalid config value at 'impact.treated_csv': unknown district")
    assert "['不存在区', 'X']" in text and "\n" not in text
    for bad, key in [(dict(category="heatin"), "impact.category"),
                     (dict(covariates=["temperatur"]), "impact.covariates"),
                     (dict(unit="grid"), "impact.unit")]:  # fmt: skip
        cfg = ImpactConfig(enabled=True, treated=[WEST], start="2023-07-03", **bad)
        with pytest.raises(ConfigError, match=f"'{key}'"):
            run_impact_stage(cfg, cube, None, validate(_compose(SMALL)).viz, tmp_path / "o")
    cfg = ImpactConfig(enabled=True, treated=[WEST], start="2025-01-01")
    with pytest.raises(ConfigError, match=r"'impact\.start'.*no pre- or post-period"):
        run_impact_stage(cfg, cube, None, validate(_compose(SMALL)).viz, tmp_path / "o")


def test_small_cells_are_withheld_and_no_personal_text_leaks(impact_run, tmp_path, output_texts):
    """A one-day post-period of a rare category: units with 1..4 calls are withheld with every
    column derived from them, a complementary cell keeps the total from giving them back, and a
    note column of the treated CSV (a name and a phone number) reaches no output."""
    run_dir, _ = impact_run
    cube = read_cube(run_dir / "cube.nc")
    day = "2023-07-03"
    calls = cube["counts"].sel(category="noise_traffic", time=day).to_series()
    small = calls[(calls > 0) & (calls < 5)].index.tolist()
    big = calls[calls >= 5].index.tolist()
    assert small and big
    treated = [small[0], big[0]]
    path = tmp_path / "treated.csv"
    path.write_text("unit,start,note\n" + "".join(f"{u},{day},张三丰 13800001111\n"
                                                  for u in treated), encoding="utf-8")
    cfg = ImpactConfig(enabled=True, treated_csv=str(path), category="noise_traffic",
                       method="its", end=day)  # fmt: skip
    out = run_impact_stage(cfg, cube, None, validate(_compose(SMALL)).viz, tmp_path / "out")
    text = out["impact_table"].read_text(encoding="utf-8")
    assert "<5" not in text
    table = pd.read_csv(out["impact_table"]).set_index("district")
    assert table.loc[small[0], "observed"] != table.loc[small[0], "observed"]  # NaN: withheld
    for col in ("observed", "effect", "effect_lo", "effect_hi", "relative_effect"):
        assert pd.isna(table.loc[small[0], col]), col
        assert col in table.loc[small[0], "suppressed"]
    # one withheld unit cell in the column: a second cell is withheld so the total cannot
    # give it back
    assert table["observed"].isna().sum() >= 2
    assert pd.notna(table.loc[small[0], "counterfactual"])
    for file in [out["impact_table"], out["impact"], *out.values()]:
        texts = "\n".join(output_texts(Path(file)))
        assert "13800001111" not in texts and "张三丰" not in texts


def test_simulated_counts_and_the_truth(tmp_path):
    """``impact.source=sim``: the arm's calls and the reactive city's of the same seed."""
    t = pd.date_range("2025-01-01", periods=4)
    calls = np.arange(2 * 2 * 4 * 2, dtype=float).reshape(2, 1, 2, 4, 2, 1)
    ds = xr.Dataset({"calls": (("policy", "budget", "seed", "time", "district", "category"),
                               calls)},
                    coords={"policy": ["reactive", "given"], "budget": [1.0], "seed": [3, 4],
                            "time": t, "district": ["a", "b"], "category": ["noise"]},
                    attrs={"baseline": "reactive"})  # fmt: skip
    write_cube(ds, tmp_path / "experiment.nc")
    files = {"experiment": tmp_path / "experiment.nc"}
    observed, reactive = sim_counts(ImpactConfig(source="sim", sim_seed=4), files)
    np.testing.assert_array_equal(observed.values, calls[1, 0, 1])
    np.testing.assert_array_equal(reactive.values, calls[0, 0, 1])
    assert "arm given" in observed.attrs["source"] and "seed 4" in observed.attrs["source"]
    for cfg, key in [(ImpactConfig(source="sim", sim_seed=9), "impact.sim_seed"),
                     (ImpactConfig(source="sim", sim_policy="oracle"), "impact.sim_policy"),
                     (ImpactConfig(source="sim", sim_budget=2.0), "impact.sim_budget")]:
        with pytest.raises(ConfigError, match=f"'{key}'"):
            sim_counts(cfg, files)


# -------------------------------------------------------------------------- the pipeline


def test_a_default_run_has_no_impact_and_brief_off_writes_no_brief(tmp_path):
    overrides = [*SMALL, "data.end=2023-01-31", "viz.formats=[png]", "viz.dpi=50",
                 "brief.enabled=false"]  # fmt: skip
    out = _run(tmp_path / "run", overrides)
    assert not (tmp_path / "run" / "impact").exists()
    assert not [k for k in out if k.startswith(("impact", "brief"))]
    assert not list((tmp_path / "run").glob("brief.*"))


def test_the_brief_is_the_last_step_with_its_settings(tmp_path, monkeypatch):
    calls = []

    def fake_brief(run_dir, **kwargs):
        assert (Path(run_dir) / "provenance.json").is_file()  # everything else is written
        calls.append((Path(run_dir), kwargs))
        paths = [Path(run_dir) / "brief.pdf", Path(run_dir) / "brief.html"]
        for path in paths:
            path.write_text("brief", encoding="utf-8")
        return paths

    monkeypatch.setattr(pipeline, "write_brief", fake_brief)
    overrides = [*SMALL, "data.end=2023-01-31", "viz.formats=[png]", "viz.dpi=50",
                 "brief.lang=en", "brief.sections=[data,warn]", "brief.alerts_days=3",
                 "brief.max_rows=4"]  # fmt: skip
    out = _run(tmp_path / "run", overrides)
    assert calls == [(tmp_path / "run", {"lang": "en", "sections": ["data", "warn"],
                                         "alerts_days": 3, "max_rows": 4})]  # fmt: skip
    assert out["brief_html"] == tmp_path / "run" / "brief.html"
    assert out["brief_pdf"] == tmp_path / "run" / "brief.pdf"
    calls.clear()
    _run(tmp_path / "off", [*overrides, "brief.enabled=false"])
    assert calls == []


@pytest.mark.slow
def test_the_noise_experiment_writes_the_truth_beside_the_estimate(tmp_path):
    """``+experiment=impact_noise`` (small): the table's truth is the arm's calls minus the
    reactive city's over the post-weeks, computed here from ``sim/experiment.nc``."""
    overrides = ["+experiment=impact_noise", "sim.scale=0.005", "sim.n_jobs=1",
                 "viz.formats=[png]", "viz.dpi=50", "brief.enabled=false",
                 "impact.method=its"]  # fmt: skip
    out = _run(tmp_path / "run", overrides)
    first = out["impact_table"].read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# simulated totals") and "suppression does not apply" in first
    table = pd.read_csv(out["impact_table"], comment="#").set_index("district")
    exp = read_cube(out["experiment"])["calls"].sel(budget=1e6, seed=0, district=WEST)
    noise = ["noise_construction", "noise_social", "noise_traffic"]
    diff = (exp.sel(policy="given") - exp.sel(policy="reactive")).sel(category=noise).sum(
        "category").to_series()
    first_post = table.loc[WEST, "first_post_period"]
    assert first_post == "2025-07-07"  # the week holding 1 July starts on 30 June: before
    last_week = pd.Timestamp("2025-12-22")  # the last whole week (to Sunday 28 December)
    truth = diff[first_post : last_week + pd.Timedelta(days=6)].sum()
    assert table.loc[WEST, "simulated_true_effect"] == pytest.approx(truth)
    assert truth < 0 and table.loc["total", "simulated_true_effect"] == pytest.approx(truth)
    est = read_cube(out["impact"])
    assert float(est["true_total_effect"]) == pytest.approx(truth)
    assert table.loc[WEST, "suppressed"] != table.loc[WEST, "suppressed"]  # nothing withheld


# ------------------------------------------------------------------------------ exposure


def test_exposure_from_a_cube_coordinate_or_a_csv(impact_run, tmp_path):
    """``impact.exposure=households`` takes the demo cube's households per district;
    ``impact.exposure_csv`` a file of unit,exposure; bad values fail in one line naming the key."""
    run_dir, _ = impact_run
    cube = read_cube(run_dir / "cube.nc")
    counts = cube["counts"].sum("category")
    districts = [str(d) for d in cube["district"].values]
    e = exposure_over(ImpactConfig(exposure="households"), cube, counts, "district")
    assert e.dims == ("district",) and e.name == "households"
    assert e.values.tolist() == cube["households"].astype(float).values.tolist()
    path = tmp_path / "hh.csv"
    path.write_text("unit,exposure\n" + "".join(f"{d},{100 + i}\n" for i, d in
                                                 enumerate(reversed(districts))),
                    encoding="utf-8")  # fmt: skip
    e = exposure_over(ImpactConfig(exposure_csv=str(path)), cube, counts, "district")
    assert e.sel(district=districts[-1]).item() == 100.0  # matched by label, not by row
    assert e.sel(district=districts[0]).item() == 100.0 + len(districts) - 1
    assert exposure_over(ImpactConfig(), cube, counts, "district") is None
    bad = [(dict(exposure="temperature"), "impact.exposure", "unknown 'temperature'"),
           (dict(exposure="househol"), "impact.exposure", "did you mean 'households'"),
           (dict(exposure="households", source="sim"), "impact.exposure",
            "impact.exposure_csv")]  # fmt: skip
    for text, words in [("unit,households\na,1\n", "missing ['exposure']"),
                        ("unit,exposure\na,0\n", "'a': exposure '0' is not a positive number"),
                        ("unit,exposure\na,many\n", "is not a positive number"),
                        (f"unit,exposure\n{districts[0]},5\n", "no exposure for district")]:
        f = tmp_path / f"bad{len(bad)}.csv"
        f.write_text(text, encoding="utf-8")
        bad.append((dict(exposure_csv=str(f)), "impact.exposure_csv", words))
    for kw, key, words in bad:
        with pytest.raises(ConfigError) as err:
            exposure_over(ImpactConfig(**kw), cube, counts, "district")
        msg = str(err.value)
        assert msg.startswith(f"invalid config value at '{key}'") and words in msg, msg
        assert "\n" not in msg
    with pytest.raises(ConfigError, match="not both"):
        ImpactConfig(exposure="households", exposure_csv=str(path))


def test_the_stage_passes_the_exposure_to_the_estimate(impact_run, tmp_path):
    """Through the config: the regression-to-the-mean check ranks districts on calls per
    household (its record says so) and the estimate names the exposure."""
    import json

    run_dir, _ = impact_run
    cube = read_cube(run_dir / "cube.nc")
    viz = validate(_compose(SMALL)).viz
    cfg = validate(_compose([*SMALL, *IMPACT, "impact.exposure=households"])).impact
    assert cfg.exposure == "households"
    est = read_cube(run_impact_stage(cfg, cube, None, viz, tmp_path / "a")["impact"])
    plain = read_cube(run_impact_stage(validate(_compose([*SMALL, *IMPACT])).impact, cube, None,
                                       viz, tmp_path / "b")["impact"])  # fmt: skip
    assert est.attrs["exposure"] == "households" and plain.attrs["exposure"] == ""
    assert json.loads(est.attrs["checks"])["model"]["exposure_offset"] is True
    assert json.loads(plain.attrs["checks"])["model"]["exposure_offset"] is False
    # the check's window level is calls per household with the exposure, calls without
    rc = json.loads(est.attrs["checks"])["regression_to_mean"]
    rc0 = json.loads(plain.attrs["checks"])["regression_to_mean"]
    assert rc["threshold_level"] < 0.01 < rc0["threshold_level"]
