"""The interactive city: a Mesa SolaraViz app of a small paired heating-prep scenario.

Start it with ``predgov-city`` (or ``make city``); it needs the ``viz`` extra
(``pip install -e ".[viz]"``: solara, Mesa's visualisation, networkx). This package imports
without them: :class:`PairedCity` (``predgov.viz.city.model``) is plain Mesa, and only
``predgov.viz.city.app`` (the page) imports solara.

Examples
--------
>>> from predgov.viz.city import PairedCity
>>> PairedCity.__name__
'PairedCity'
"""

from predgov.viz.city.model import PairedCity

__all__ = ["PairedCity"]
