"""Grid agents (网格): Mesa agents that hold index ranges into the household arrays.

A grid is a run of about 400 consecutive households of one district (community grids have
300-500 households). The grid agent owns no copies: ``households`` is a slice of the city's
arrays, so processes stay vectorised over the whole city while the model keeps Mesa's agent
structure (``model.agents_by_type[Grid]`` is an ``AgentSet`` for selection and reporting).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

if TYPE_CHECKING:
    from predgov.sim.model import CityModel


class Grid(mesa.Agent):
    """One community grid: households ``start:stop`` of district ``district``.

    Examples
    --------
    >>> from predgov.sim.model import CityModel
    >>> m = CityModel(scale=0.001, start="2025-01-01", end="2025-01-02")
    >>> g = m.agents_by_type[Grid][0]
    >>> g.n_households == g.stop - g.start
    True
    """

    def __init__(self, model: CityModel, start: int, stop: int, district: int) -> None:
        super().__init__(model)
        self.start = int(start)
        self.stop = int(stop)
        self.district = int(district)

    @property
    def n_households(self) -> int:
        """Households in the grid."""
        return self.stop - self.start

    @property
    def households(self) -> slice:
        """Slice of the grid's households in the city's arrays."""
        return slice(self.start, self.stop)

    def open_problems(self) -> int:
        """Households of the grid with any open problem."""
        return int(np.count_nonzero(self.model.households.active[self.households]))


def make_grids(model: CityModel) -> list[Grid]:
    """One ``Grid`` agent per grid range of ``model.households``."""
    hh = model.households
    return [
        Grid(model, a, b, d)
        for a, b, d in zip(hh.grid_start, hh.grid_stop, hh.grid_district, strict=True)
    ]
