"""The interactive city (``predgov.viz.city``): the paired model, its figures, the page.

Default tier: the paired model against independently run scenarios (common random numbers,
the season's averted calls, the money spent), bad input, the figures, the page rendered by
solara without a browser, the console script without the viz extra, and the core package
importing without solara. Slow tier (``make test-browser``): the app served by
``predgov-city`` and loaded in headless Chromium, with a screenshot.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from predgov.sim.experiment.arms import make_arm
from predgov.sim.scenario import run_scenario
from predgov.viz.city import figures
from predgov.viz.city.model import (
    BURN_IN,
    CAPACITY_FULL_SCALE,
    FLUSH_END,
    FLUSH_START,
    SEASON_END,
    SEASON_START,
    UNIT_COST,
    PairedCity,
)

SCALE = 0.001
# Mesa 3.3's own SolaraViz trips solara's rules-of-hooks check (not predgov code).
pytestmark = pytest.mark.filterwarnings("ignore:.*found despite early return:UserWarning")


@pytest.fixture(scope="module")
def finished_city() -> PairedCity:
    """The oracle's flushing on a 1/1000 city, stepped through the whole season."""
    city = PairedCity(policy="oracle", budget=60_000, seed=3, scale=SCALE,
                      first_shown="2025-08-20")  # fmt: skip
    while city.running:
        city.step()
    return city


def test_arms_are_identical_before_the_flushing(finished_city: PairedCity) -> None:
    """Common random numbers: until the first flush the two arms are the same city."""
    flush_t = finished_city.flush_t[0]
    pol = finished_city.arms["policy"].record["calls"][:flush_t]
    rea = finished_city.arms["reactive"].record["calls"][:flush_t]
    assert pol.sum() > 0
    np.testing.assert_array_equal(pol, rea)


def test_season_difference_matches_independent_runs(finished_city: PairedCity) -> None:
    """The app's running total equals the difference of two scenario runs made the library's
    way (run_scenario with the same arm), counted over the season."""
    kw = dict(scale=SCALE, start=BURN_IN, end=SEASON_END, seed=3)
    capacity = max(1, round(CAPACITY_FULL_SCALE * SCALE))
    arm = make_arm("oracle", {}, {"flushing": ("PipeFlushing", {
        "unit": "estate", "start": FLUSH_START, "end": FLUSH_END, "capacity": capacity,
        "unit_cost": UNIT_COST})})  # fmt: skip
    treated = run_scenario(kw, interventions=arm(60_000, 3))
    reactive = run_scenario(kw)
    season = slice(SEASON_START, SEASON_END)
    expected = int(reactive["calls"].sel(time=season).sum() - treated["calls"].sel(
        time=season).sum())  # fmt: skip
    assert finished_city.averted_season() == expected
    assert expected > 0  # the oracle's flushing averts heating calls
    assert finished_city.cost() == pytest.approx(float(treated["intervention_cost"].sum()))
    # the collected series is the same number, accrued day by day
    table = finished_city.datacollector.get_model_vars_dataframe()
    assert int(table["averted_season"].iloc[-1]) == expected
    assert len(table) == finished_city.days_shown == len(finished_city.shown_dates)


def test_money_spent_is_the_households_flushed(finished_city: PairedCity) -> None:
    """Cost = flushed households x 200 yuan, within the budget; only heated estates."""
    share = finished_city.estate_flushed_share()
    flushed = float((share * finished_city.estate_households).sum())
    assert flushed > 0
    assert finished_city.cost() == pytest.approx(flushed * UNIT_COST)
    assert finished_city.cost() <= 60_000
    assert not (share[~finished_city.estate_heated] > 0).any()


def test_estate_calls_over_the_whole_run(finished_city: PairedCity) -> None:
    """The map's rolling window over every day is the model's own estate tally."""
    whole = finished_city.estate_recent_calls("reactive", days=finished_city.t)
    np.testing.assert_array_equal(
        whole, finished_city.arms["reactive"].estate_calls.sum(axis=(0, 2)))


def test_reactive_policy_is_the_control() -> None:
    """Policy "reactive" flushes nothing: the arms never differ and nothing is spent."""
    city = PairedCity(policy="reactive", seed=1, scale=SCALE, first_shown="2025-11-10")
    for _ in range(20):
        city.step()
    np.testing.assert_array_equal(city.calls("policy"), city.calls("reactive"))
    assert city.cost() == 0.0 and city.averted_season() == 0
    assert figures.summary_text(city).startswith("**29 Nov 2025** · day 20 of 147")


def test_start_at_is_the_same_as_stepping() -> None:
    """Opening mid-season gives the same city and the same collected rows as stepping there."""
    opened = PairedCity(policy="random", budget=30_000, scale=SCALE, first_shown="2025-10-25",
                        start_at="2025-11-20")  # fmt: skip
    stepped = PairedCity(policy="random", budget=30_000, scale=SCALE, first_shown="2025-10-25")
    while stepped.t < opened.t:
        stepped.step()
    assert opened.today.date().isoformat() == "2025-11-20" and opened.days_shown == 27
    np.testing.assert_array_equal(opened.calls("policy"), stepped.calls("policy"))
    assert opened.datacollector.get_model_vars_dataframe().equals(
        stepped.datacollector.get_model_vars_dataframe())


def test_run_stops_after_the_season() -> None:
    city = PairedCity(policy="reactive", scale=SCALE, first_shown="2026-04-04")
    city.step()
    city.step()
    assert not city.running and city.today.date().isoformat() == SEASON_END
    city.step()  # a step after the end changes nothing
    assert city.days_shown == 2


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"policy": "given"}, "policy must be one of"),
    ({"policy": "hotspot"}, "policy must be one of"),
    ({"budget": -1.0}, "budget must be a number >= 0"),
    ({"budget": float("nan")}, "budget must be a number >= 0"),
    ({"scale": 0.0}, "scale must be in"),
    ({"first_shown": "2024-01-01"}, "first_shown must be after"),
    ({"start_at": "2025-01-01"}, "start_at must be between"),
])  # fmt: skip
def test_bad_input_is_named(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PairedCity(**{"scale": SCALE, **kwargs})
    with pytest.raises(ValueError, match="arm must be one of"):
        PairedCity.calls(None, "treated")  # type: ignore[arg-type]


def test_figures_render(finished_city: PairedCity) -> None:
    for draw in (figures.estate_map, figures.call_curve, figures.paired_difference):
        png = figures.render_png(draw, finished_city)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    fig = figures.paired_difference(finished_city)
    assert f"{finished_city.averted_season():,} calls averted" in fig.axes[0].get_title(loc="left")


def test_page_renders_without_a_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    """The page (SolaraViz around PairedCity) and each component render headless."""
    solara = pytest.importorskip("solara")
    import ipywidgets

    from predgov.viz.city import app

    monkeypatch.setitem(app.MODEL_PARAMS, "scale", SCALE)
    _box, rc = solara.render(app.Page(), handle_error=False)
    assert rc.find(ipywidgets.Widget).widgets
    city = PairedCity(scale=SCALE, first_shown="2025-11-20")
    city.step()
    _, rc = solara.render(app.Headline(city), handle_error=False)
    text = " ".join(str(getattr(w, "template", "")) for w in rc.find(ipywidgets.Widget).widgets)
    assert app.TITLE in text and "20 Nov 2025" in text
    images = [app.CityMap(city), app.CallCurve(city), app.PairedDifference(city)]
    assert all(el.args[0][:4] == b"\x89PNG" for el in images)


def test_console_script_names_the_missing_extra(monkeypatch, capsys) -> None:
    from predgov.viz.city import cli

    monkeypatch.setattr(cli, "missing_viz_packages", lambda: ["solara"])
    assert cli.main(["--no-open"]) == 2
    assert 'pip install -e ".[viz]"' in capsys.readouterr().err


def test_core_imports_without_solara() -> None:
    """predgov, predgov.viz and the city's model import with solara absent."""
    code = ("import sys; sys.modules['solara'] = None; sys.modules['mesa.visualization'] = None\n"
            "import predgov, predgov.viz, predgov.viz.city, predgov.viz.city.figures\n"
            "print('ok')")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "MPLBACKEND": "Agg"}, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# ---------------------------------------------------------------------- slow: real browser
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(url: str, proc: subprocess.Popen, timeout: float = 180.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"predgov-city exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"predgov-city did not answer at {url} within {timeout:.0f} s")


@pytest.mark.slow
def test_city_app_in_headless_chromium(tmp_path: Path) -> None:
    """Serve the app with predgov-city (opened on 20 Jan 2026, the season so far drawn), load
    it in headless Chromium, step one day, switch the policy and reset, take a
    screenshot (tmp_path/city_app.png; also $PREDGOV_CITY_SCREENSHOT when set), and check
    the title and that no error panel or traceback shows (in the page or the server log)."""
    playwright = pytest.importorskip("playwright.sync_api")
    pytest.importorskip("solara")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium on PATH: apt-get install -y chromium (make test-browser)")
    from predgov.viz.city.app import TITLE

    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    log = tmp_path / "server.log"
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False", "MPLBACKEND": "Agg"}
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "predgov.viz.city.cli", "--port", str(port),
             "--host", "127.0.0.1", "--no-open", "--start-at", "2026-01-20"],
            stdout=fh, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_for(url, proc)
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True,
                                        args=["--no-sandbox"])  # fmt: skip
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            try:
                page.goto(url, timeout=120_000)
                page.wait_for_selector("text=20 Jan 2026", timeout=120_000)
                page.get_by_role("button", name="Step").click()
                page.wait_for_selector("text=21 Jan 2026", timeout=120_000)
                # the controls: another policy, then Reset builds a new pair of cities
                page.get_by_text("history_hotspot", exact=True).first.click()
                page.get_by_role("option", name="oracle").click()
                page.get_by_role("button", name="Reset").click()
                page.wait_for_selector("text=policy oracle", timeout=120_000)
                page.wait_for_selector("text=20 Jan 2026", timeout=120_000)
                page.wait_for_timeout(1500)  # the figures of the new city
            finally:
                shot = tmp_path / "city_app.png"
                page.screenshot(path=str(shot), full_page=True)
                if os.environ.get("PREDGOV_CITY_SCREENSHOT"):
                    shutil.copyfile(shot, os.environ["PREDGOV_CITY_SCREENSHOT"])
            body = page.inner_text("body")
            errors = page.locator(".v-alert.error").count()
            images = page.locator("img").count()
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert shot.stat().st_size > 50_000
    assert TITLE in body
    assert "Traceback" not in body and errors == 0, body[:2000]
    assert images >= 3  # the map, the call curve and the paired difference
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
