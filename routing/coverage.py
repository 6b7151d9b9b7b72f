"""The region's ``max_origin_distance_km`` applied to any travel model.

The straight-line estimate has always refused origins farther than this from every site; a
road graph only refused origins far from its roads, so an extract with a margin around the
region answered patients tens of km outside it. :class:`SiteReach` puts the same limit in
front of any model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from routing.distance import haversine_m
from routing.errors import OutsideCoverage
from routing.model import TravelModel, WrappedTravel


@dataclass(frozen=True, eq=False)
class SiteReach(WrappedTravel):
    """A travel model that refuses origins farther than a limit from every site.

    Attributes
    ----------
    model
        The model answering for origins within reach; its other attributes (``meta``,
        ``snap``, …) are reachable through this object.
    site_lats, site_lons
        Site coordinates in decimal degrees.
    max_origin_distance_m
        Straight-line distance in meters from the nearest site beyond which an origin is
        outside coverage.
    """

    model: TravelModel
    site_lats: np.ndarray
    site_lons: np.ndarray
    max_origin_distance_m: float

    @classmethod
    def for_sites(cls, model: TravelModel, sites: Sequence[Any], *,
                  max_origin_distance_m: float) -> SiteReach:
        return cls(model, np.array([s.lat for s in sites], dtype=float),
                   np.array([s.lon for s in sites], dtype=float), max_origin_distance_m)

    @property
    def site_ids(self) -> tuple[str, ...]:
        return self.model.site_ids

    def __getattr__(self, name: str) -> Any:
        # Only called for names not found on SiteReach itself; "model" itself missing (during
        # copy or unpickling) must not recurse.
        if name == "model":
            raise AttributeError(name)
        return getattr(self.model, name)

    def travel_seconds(self, lat: float, lon: float) -> np.ndarray:
        """The model's seconds to each site.

        Raises
        ------
        OutsideCoverage
            When (lat, lon) is farther than ``max_origin_distance_m`` from every site (same
            wording as the estimate's), or the model itself refuses it.
        """
        if len(self.site_lats) and np.isfinite(lat) and np.isfinite(lon):
            nearest_m = float(haversine_m(lat, lon, self.site_lats, self.site_lons).min())
            if nearest_m > self.max_origin_distance_m:
                msg = (f"origin ({lat:.4f}, {lon:.4f}) is {nearest_m / 1000:.1f} km from the "
                       f"nearest site; this region covers "
                       f"{self.max_origin_distance_m / 1000:.1f} km")
                raise OutsideCoverage(msg)
        return self.model.travel_seconds(lat, lon)
