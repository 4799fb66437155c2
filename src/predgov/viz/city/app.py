"""The interactive city page: Mesa's ``SolaraViz`` around a :class:`PairedCity`.

Run it with ``predgov-city`` (``predgov.viz.city.cli``), or ``solara run
predgov.viz.city.app``. Controls (sidebar): the targeting policy, the flushing budget and the
seed; *Reset* builds a new pair of cities with them, *Step* / play advance one day. The page
shows the headline numbers, the estate map, the daily calls of both arms and the paired
difference as it accrues.

Only Mesa API that Mesa 3.3 to 3.5 share is used: ``SolaraViz(model, components=[...],
model_params=..., name=..., play_interval=...)``, components as plain functions of the model
(Mesa re-renders them after each step), ``model_params`` entries of types ``Select`` and
``SliderInt`` (Reset calls ``PairedCity(**params)``).

Examples
--------
>>> import os

import solara
>>> element = Page()
>>> isinstance(element, solara.Element)
True
"""

from __future__ import annotations

import os

import solara
from mesa.visualization import SolaraViz

from predgov.viz.city import figures
from predgov.viz.city.model import APP_POLICIES, PairedCity

#: The page title (the app bar and the browser tab).
TITLE = "predgov interactive city: pre-season pipe flushing vs the reactive city"
#: ``SolaraViz`` model parameters: controls for policy, budget and seed; the scale is fixed.
MODEL_PARAMS: dict = {
    "policy": {"type": "Select", "value": "history_hotspot", "values": list(APP_POLICIES),
               "label": "Targeting policy"},
    "budget": {"type": "SliderInt", "value": 250_000, "min": 0, "max": 1_000_000,
               "step": 50_000, "label": "Flushing budget (yuan)"},
    "seed": {"type": "SliderInt", "value": 0, "min": 0, "max": 19, "step": 1,
             "label": "Seed (both arms)"},
    "scale": 0.005,
    # ``predgov-city --start-at DATE``: open the app on that day (the days before drawn)
    "start_at": os.environ.get("PREDGOV_CITY_START_AT") or None,
}  # fmt: skip


def Headline(model: PairedCity):
    """Title, the day and the running numbers (money spent, calls averted)."""
    return solara.Markdown(f"### {TITLE}\n\n" + figures.summary_text(model))


def CityMap(model: PairedCity):
    """The estate map (``figures.estate_map``)."""
    return solara.Image(figures.render_png(figures.estate_map, model))


def CallCurve(model: PairedCity):
    """Daily calls of both arms (``figures.call_curve``)."""
    return solara.Image(figures.render_png(figures.call_curve, model))


def PairedDifference(model: PairedCity):
    """Calls averted so far (``figures.paired_difference``)."""
    return solara.Image(figures.render_png(figures.paired_difference, model))


COMPONENTS = [Headline, CityMap, CallCurve, PairedDifference]


@solara.component
def Page():
    """The app: one pair of cities per browser session, built with the default controls."""
    defaults = {k: (v["value"] if isinstance(v, dict) else v) for k, v in MODEL_PARAMS.items()}
    model = solara.use_memo(lambda: PairedCity(**defaults), [])
    solara.Title(TITLE)
    return SolaraViz(model, components=COMPONENTS, model_params=MODEL_PARAMS, name=TITLE,
                     play_interval=150)  # fmt: skip
