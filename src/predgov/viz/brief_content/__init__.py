"""What the brief says: one builder per section, reading only files of a run directory.

Each builder returns a :class:`~predgov.viz.brief_model.Section`, or a one-line reason (a
:class:`~predgov.viz.brief_model.Bi`) when the run has no output for it. Every count shown goes
through :mod:`predgov.data.suppress` with the run's ``viz.min_count``: counts of 1 to
``min_count - 1`` read ``<5``, a second cell of a table column holding one such cell is withheld
too (complementary suppression), and what is derived from a withheld count (a change in %, a
cost per call) is withheld with it. Cells the run's own CSV files already withheld (named in
their ``suppressed`` column) read ``*``.

One module per section (``data``, ``forecast``, ``warn``, ``target``, ``sim``, ``impact``);
``_run`` holds the run directory (:class:`Run`) and the formatting helpers they share.

Files read (all optional except ``config.yaml``):

========================= ==================================================================
section                   files
========================= ==================================================================
data                      ``ingest_report.json``, ``cube.nc``
forecast                  ``forecast/forecast.nc``, ``cube.nc``
warn                      ``warn/alerts.csv``, ``cube.nc`` (its last day is "now")
target                    ``target/treatment_table.csv``, ``target/treatment_list.nc``
sim                       ``sim/effects.csv``, ``sim/experiment.nc`` (attributes only)
impact                    ``impact/impact.nc``, ``impact/figures/impact.png``
========================= ==================================================================
"""

from __future__ import annotations

from collections.abc import Callable

from predgov.data.suppress import MIN_COUNT
from predgov.viz.brief_content._run import Run, count_text, fmt_int
from predgov.viz.brief_content.data import data_section
from predgov.viz.brief_content.forecast import forecast_section
from predgov.viz.brief_content.impact import impact_section
from predgov.viz.brief_content.sim import sim_section
from predgov.viz.brief_content.target import target_section
from predgov.viz.brief_content.warn import warn_section
from predgov.viz.brief_model import Bi, Section

#: Section builders by key, in the order of the brief.
BUILDERS: dict[str, Callable[[Run, str], Section | Bi]] = {
    "data": data_section,
    "forecast": forecast_section,
    "warn": warn_section,
    "target": target_section,
    "sim": sim_section,
    "impact": impact_section,
}

__all__ = ["BUILDERS", "MIN_COUNT", "Run", "count_text", "fmt_int"]
