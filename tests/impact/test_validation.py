"""Ground-truth validation cases (``predgov.impact.validation``) and the benchmark's smoke run."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from predgov.impact import validation as v
from predgov.sim import CityModel, PipeFlushing, simulate

SCALE = 0.005
RESULT = re.compile(r"^RESULT cov90_min=(\S+) bias_max=(\S+) naive_bias=(\S+) "
                    r"seconds_per_estimate=(\S+)$")


@pytest.fixture(scope="module")
def warm() -> v.ValidationCase:
    return v.make_case("flush_warm", 4, scale=SCALE)


@pytest.fixture(scope="module")
def noise() -> v.ValidationCase:
    return v.make_case("noise_ban", 4, scale=SCALE)


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("impact_validation")


@pytest.mark.parametrize("name", ["warm", "noise"])
def test_worlds_identical_before_start_and_effect_is_their_difference(name, request):
    case: v.ValidationCase = request.getfixturevalue(name)
    pre = case.counts["time"] < np.datetime64(case.start)
    assert int(pre.sum()) >= 40  # at least a season (heating) / a year (noise) before
    xr.testing.assert_equal(case.counts.sel(time=pre), case.baseline.sel(time=pre))
    diff = case.counts.values - case.baseline.values
    np.testing.assert_array_equal(case.true_effect.values, diff)
    post = ~pre.values
    treated = np.isin(case.counts["estate"].values, case.treated)
    assert case.true_total == diff[np.ix_(post, treated)].sum()
    assert case.spillover_total == diff[np.ix_(post, ~treated)].sum()
    # the action prevents calls, and almost only on the treated estates
    assert case.true_total < 0
    assert abs(case.spillover_total) <= 0.1 * abs(case.true_total)


def test_baseline_is_the_world_without_the_intervention(warm):
    """The answer key is an independent run of the same seed and weather, no intervention."""
    ds = simulate(v.ShiftedWinterCity, seed=4, scale=SCALE, start=v.HEATING_RUN[0],
                  end=v.HEATING_RUN[1], processes=["heating"], temperature_shift=2.5,
                  shift_start=v.WINTER[0], shift_end=v.WINTER[1])  # fmt: skip
    calls = ds["estate_calls"].sel(category="heating").sum("week")
    np.testing.assert_array_equal(
        warm.baseline.sum("time").values,
        calls.sel(estate=warm.counts["estate"].values).values)
    # and the treated world is that run with the flushing of the treated estates
    flush = PipeFlushing(estates=warm.treated.tolist(), start=v.FLUSH_START, end=v.FLUSH_END,
                         capacity=10_000, efficacy=0.3)  # fmt: skip
    ds2 = simulate(v.ShiftedWinterCity, seed=4, scale=SCALE, start=v.HEATING_RUN[0],
                   end=v.HEATING_RUN[1], processes=["heating"], temperature_shift=2.5,
                   shift_start=v.WINTER[0], shift_end=v.WINTER[1], interventions=[flush])
    treated_calls = ds2["estate_calls"].sel(category="heating", estate=warm.treated).sum()
    assert int(treated_calls) == int(warm.counts.sel(estate=warm.treated).sum())


def test_case_is_deterministic_per_seed(warm):
    again = v.make_case("flush_warm", 4, scale=SCALE)
    xr.testing.assert_identical(again.counts, warm.counts)
    xr.testing.assert_identical(again.baseline, warm.baseline)
    np.testing.assert_array_equal(again.treated, warm.treated)
    other = v.make_case("flush_warm", 5, scale=SCALE)
    assert not other.counts.equals(warm.counts)
    np.testing.assert_array_equal(other.treated, warm.treated)  # register-based targets


def test_warm_and_cold_winters_shift_only_the_winter():
    w = v.make_case("flush_warm", 2, scale=SCALE)
    c = v.make_case("flush_cold", 2, scale=SCALE)
    dt = (w.covariates["temperature"] - c.covariates["temperature"]).to_series()
    winter = (dt.index >= "2025-11-03") & (dt.index <= "2026-03-30")
    np.testing.assert_allclose(dt[winter].to_numpy(), 5.0)
    np.testing.assert_allclose(dt[dt.index < "2025-10-27"].to_numpy(), 0.0)
    # same seed and targets: identical before the winter, more heating calls when cold
    pre = w.counts["time"] < np.datetime64("2025-10-27")
    xr.testing.assert_equal(w.counts.sel(time=pre), c.counts.sel(time=pre))
    assert float(c.baseline.sel(time=~pre).sum()) > float(w.baseline.sel(time=~pre).sum())


def test_covariates_are_weekly_and_cold_is_zero_off_season(warm):
    cov = warm.covariates
    assert set(cov.data_vars) == {"temperature", "heating_season", "cold"}
    np.testing.assert_array_equal(cov["time"].values, warm.counts["time"].values)
    assert (pd.DatetimeIndex(cov["time"].values).day_of_week == 0).all()
    off = cov["heating_season"] == 0
    assert bool(off.any()) and float(cov["cold"].where(off).max()) == 0.0


def test_noise_treated_estates_are_those_the_ban_reaches(noise):
    m = CityModel(scale=SCALE, start=v.NOISE_RUN[0], end=v.NOISE_RUN[0], processes=["noise"])
    place = m.places["青铁公园里"]
    assert np.isin(place.estates, noise.treated).all()
    untreated = ~np.isin(noise.counts["estate"].values, noise.treated)
    assert untreated.sum() > len(noise.treated)  # donors for did / synth
    assert v.HALF_AFTER[0] == str(noise.start.date())
    # H2 - H1 on the treated estates, by hand
    t = noise.counts.sel(estate=noise.treated)
    h1 = float(t.sel(time=slice("2024-12-30", "2025-06-23")).sum())
    h2 = float(t.sel(time=slice("2025-06-30", "2025-12-22")).sum())
    assert noise.naive_effect == h2 - h1


def test_rtm_case_selects_last_seasons_highest_rates():
    case = v.make_case("flush_rtm", 1, scale=SCALE)
    table = CityModel(scale=SCALE, start=v.HEATING_RUN[0], end=v.HEATING_RUN[0],
                      processes=["heating"]).estate_table()  # fmt: skip
    np.testing.assert_array_equal(
        case.counts["households"].values,
        table["households"].to_numpy()[case.counts["estate"].values])  # the exposure coord
    last = case.baseline.sel(time=slice(*v.SEASON_BEFORE)).sum("time").to_series()
    rate = last / table["households"].reindex(last.index)
    chosen = set(case.treated.tolist())
    assert rate[list(chosen)].min() >= rate.drop(list(chosen)).max()


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="unknown case"):
        v.make_case("flood", 0)
    with pytest.raises(ValueError, match="winter must be"):
        v.flushing_case(0, winter="hot", scale=SCALE)
    with pytest.raises(ValueError, match="scale must be"):
        v.noise_ban_case(0, scale=0.0)
    with pytest.raises(ValueError, match="no central heating"):
        table = CityModel(scale=SCALE, start="2025-01-01", end="2025-01-01",
                          processes=["heating"]).estate_table()  # fmt: skip
        cold_only = np.flatnonzero(~table["central_heating"].to_numpy())[:1]
        v.flushing_case(0, estates=cold_only.tolist(), scale=SCALE)


def test_evaluate_and_score_against_known_answers(warm):
    def oracle(counts, treated, start, **kw):
        truth = warm.true_total
        return xr.Dataset({"total_effect": truth, "total_effect_lo": truth - 1.0,
                           "total_effect_hi": truth + 1.0, "naive_effect": 0.0},
                          attrs={"method": "oracle"})  # fmt: skip

    def off(counts, treated, start, **kw):
        return xr.Dataset({"total_effect": 0.0, "total_effect_lo": -1.0,
                           "total_effect_hi": 1.0})  # fmt: skip

    def broken(counts, treated, start, **kw):
        raise RuntimeError("no fit")

    rows = [v.evaluate(warm, "x", estimator=oracle), v.evaluate(warm, "y", estimator=off),
            v.evaluate(warm, "z", estimator=broken)]
    assert rows[0]["covered"] and rows[0]["method_used"] == "oracle"
    assert not rows[1]["covered"] and rows[2]["error"] == "RuntimeError: no fit"
    s = v.score(rows).set_index("method")
    assert s.loc["x", "bias"] == 0 and s.loc["x", "coverage"] == 1
    assert s.loc["y", "bias"] == pytest.approx(1.0)  # estimate 0: the whole effect missed
    assert s.loc["z", "failed"] == 1 and s.loc["z", "coverage"] == 0
    naive = (warm.naive_effect - warm.true_total) / abs(warm.true_total)
    assert s.loc["x", "naive_bias"] == pytest.approx(naive)


def test_seed_setting_reports_city_and_treated_figures():
    out = v.seed_setting(0, winter="warm", scale=SCALE)
    case = out["case"]
    assert out["households_flushed"] == case.info["households"] >= 1
    assert out["city_true_effect"] == pytest.approx(case.true_total + case.spillover_total)
    now = float(case.counts.sel(time=slice(*v.SEASON_AFTER)).sum())
    before = float(case.counts.sel(time=slice(*v.SEASON_BEFORE)).sum())
    assert out["city_yoy"] == pytest.approx((now - before) / before)
    # the flushed estates are a sliver of the city: the city-wide truth is small
    assert abs(out["city_true_relative"]) < 0.1


def _result(text: str) -> dict[str, float]:
    lines = text.strip().splitlines()
    assert sum(line.startswith("RESULT ") for line in lines) == 1
    match = RESULT.match(lines[-1])
    assert match, lines[-1]
    values = [float(x) for x in match.groups()]
    return dict(zip(["cov90_min", "bias_max", "naive_bias", "seconds_per_estimate"], values,
                    strict=True))  # fmt: skip


def test_benchmark_smoke_ends_with_a_parseable_result(bench, capsys):
    out = bench.main(["--quick", "--seeds", "1", "--cases", "flush_warm,noise_ban",
                      "--methods", "its", "--default-method", "its"])
    text = capsys.readouterr().out
    res = _result(text)
    assert res["naive_bias"] == pytest.approx(out["naive_bias"], abs=1e-3)
    assert res["seconds_per_estimate"] > 0
    assert "flush_warm" in text and "noise_ban" in text
    assert 0 <= res["cov90_min"] <= 1 or math.isnan(res["cov90_min"])


def test_benchmark_reuses_the_method_auto_picked(bench, warm, monkeypatch):
    calls = []

    def fake(case, method, **kw):
        calls.append(method)
        used = "did" if method in ("auto", "did") else method
        return {"method": method, "method_used": used, "error": "", "estimate": -1.0}

    monkeypatch.setattr(bench, "evaluate", fake)
    rows = bench.evaluate_methods(warm, ["its", "did", "auto"])
    assert calls == ["auto", "its"]  # did = what auto ran, with the same seed
    assert [r["method"] for r in rows] == ["its", "did", "auto"]
    assert [r["reused"] for r in rows] == [False, True, False]
    calls.clear()
    bench.evaluate_methods(warm, ["its", "did", "auto"], reuse=False)
    assert calls == ["its", "did", "auto"]


def test_benchmark_times_out_a_slow_estimate(bench, warm, monkeypatch):
    import time

    def slow(case, method, **kw):
        time.sleep(3)
        return {"method": method}

    monkeypatch.setattr(bench, "evaluate", slow)
    t0 = time.perf_counter()
    [row] = bench.evaluate_methods(warm, ["its"], timeout=0.2)
    assert time.perf_counter() - t0 < 2
    assert row["error"].startswith("EstimateTimeout") and math.isnan(row["estimate"])
    assert row["true"] == warm.true_total and not row["covered"]


def test_reference_ratio_known_answer(bench):
    t = pd.date_range("2025-01-06", periods=4, freq="W-MON")
    counts = xr.DataArray([[10, 20], [10, 20], [4, 30], [4, 30]], dims=("time", "estate"),
                          coords={"time": t, "estate": [0, 1]})  # fmt: skip
    base = counts.copy(data=[[10, 20], [10, 20], [15, 30], [15, 30]])
    case = v.ValidationCase("toy", 0, counts, base, np.array([0]), t[2], xr.Dataset(),
                            ("2025-01-06", "2025-01-13"), ("2025-01-20", "2025-01-27"))
    row = bench.reference_ratio(case)
    # untreated grew 40 -> 60 (x1.5): counterfactual 20 x 1.5 = 30, observed 8
    assert row["estimate"] == pytest.approx(8 - 30)
    assert row["true"] == -22 and row["covered"] and row["lo"] < -22 < row["hi"]


def test_causalimpact_anchor_row(bench, noise):
    pytest.importorskip("causal_impact")  # the bench extra (bsts-causalimpact)
    row = bench.causalimpact_anchor(noise)
    assert row["error"] == "" and row["method"] == "causalimpact"
    assert row["lo"] <= row["estimate"] <= row["hi"]
    assert row["true"] == noise.true_total


@pytest.mark.slow
def test_benchmark_quick_all_cases_and_seed_section(bench, capsys):
    bench.main(["--quick", "--seed-case"])
    text = capsys.readouterr().out
    _result(text)
    assert "the seed's setting" in text and all(c in text for c in v.CASES)
