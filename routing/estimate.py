"""Straight-line travel estimate, used only when no road-graph table exists for a region.

Distance is great-circle distance times a circuity factor; speed depends on the trip's
length (short trips are town driving, long ones reach main roads). Results are labelled
``travel_source: "estimate"`` so nobody mistakes them for routed times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from routing.distance import haversine_m
from routing.errors import OutsideCoverage

# (upper bound of straight-line distance in meters, average speed in km per hour).
# Calibrated with `python -m routing.calibrate` against free-flow road-graph times on the
# Liechtenstein and Helsinki extracts (20,579 drive pairs, 29,082 walk pairs; see
# docs/routing.md). Neither is England, and no pair there is longer than 30 km, so the last
# band is NOT calibrated: it stays the provisional 70 km per hour.
DRIVE_SPEED_BANDS_KPH: tuple[tuple[float, float], ...] = (
    (2_000.0, 32.8),
    (10_000.0, 56.0),
    (30_000.0, 65.6),
    (float("inf"), 70.0),
)
DRIVE_CIRCUITY = 1.30
WALK_SPEED_KPH = 4.8
WALK_CIRCUITY = 1.21


@dataclass(frozen=True)
class EstimateTravel:
    """Travel model from straight-line distance.

    Parameters
    ----------
    site_ids, site_lats, site_lons
        The sites, in the order of returned arrays.
    mode
        ``"drive"`` or ``"walk"``.
    max_origin_distance_m
        Origins farther than this from every site are outside coverage, in meters.
    """

    site_ids: tuple[str, ...]
    site_lats: np.ndarray
    site_lons: np.ndarray
    mode: str = "drive"
    max_origin_distance_m: float = 80_000.0
    source: str = "estimate"

    @classmethod
    def for_sites(cls, sites: Sequence, *, mode: str = "drive",
                  max_origin_distance_m: float = 80_000.0) -> EstimateTravel:
        return cls(
            site_ids=tuple(s.id for s in sites),
            site_lats=np.array([s.lat for s in sites], dtype=float),
            site_lons=np.array([s.lon for s in sites], dtype=float),
            mode=mode,
            max_origin_distance_m=max_origin_distance_m,
        )

    def travel_seconds(self, lat: float, lon: float) -> np.ndarray:
        """Estimated seconds from (lat, lon) to each site."""
        dist_m = haversine_m(lat, lon, self.site_lats, self.site_lons)
        if dist_m.min() > self.max_origin_distance_m:
            msg = (f"origin ({lat:.4f}, {lon:.4f}) is {dist_m.min() / 1000:.0f} km from the "
                   f"nearest site; this region covers {self.max_origin_distance_m / 1000:.0f} km")
            raise OutsideCoverage(msg)
        if self.mode == "walk":
            return dist_m * WALK_CIRCUITY / (WALK_SPEED_KPH / 3.6)
        uppers = np.array([b for b, _ in DRIVE_SPEED_BANDS_KPH])
        speeds_kph = np.array([s for _, s in DRIVE_SPEED_BANDS_KPH])
        speed_mps = speeds_kph[np.searchsorted(uppers, dist_m)] / 3.6
        return dist_m * DRIVE_CIRCUITY / speed_mps
