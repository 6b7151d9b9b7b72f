"""Coarsening of patient data before anything is stored.

Raw coordinates never leave the request. The event log keeps the centre of a grid cell
``GRID_DEGREES`` on a side (0.02° is about 2.2 km north-south and 1.4 km east-west in Kent)
and an age band instead of an age.
"""

from __future__ import annotations

import math
from functools import lru_cache

GRID_DEGREES = 0.02


def coarse_cell(lat: float, lon: float, *, grid_degrees: float = GRID_DEGREES
                ) -> tuple[str, float, float]:
    """(cell id, cell-centre latitude, cell-centre longitude) for a point."""
    return _cell(math.floor(lat / grid_degrees), math.floor(lon / grid_degrees), grid_degrees)


# Every ranking asks for its cell; formatting the id and rounding the centre cost more than the
# rest of the event row's arithmetic (issue 12). A region's origins fall in a few thousand cells.
@lru_cache(maxsize=65_536)
def _cell(row: int, col: int, grid_degrees: float) -> tuple[str, float, float]:
    centre_lat = round((row + 0.5) * grid_degrees, 6)
    centre_lon = round((col + 0.5) * grid_degrees, 6)
    return f"{grid_degrees}:{row}:{col}", centre_lat, centre_lon


def age_band(age_years: float | None) -> str | None:
    """A coarse age band: ``"<1"``, ``"1-15"``, ``"16-64"`` or ``"65+"``."""
    if age_years is None:
        return None
    if age_years < 1:
        return "<1"
    if age_years < 16:
        return "1-15"
    if age_years < 65:
        return "16-64"
    return "65+"
