"""Several regions in one process: which region answers an origin, and which sites it ranks.

Each region has a *coverage*: the polygon in its file's ``[coverage]`` table (``polygon``, a
list of ``[lat, lon]`` corners, e.g. the ICB boundary simplified to a few dozen points), or,
when it has none, every point within ``[ranking] max_origin_distance_km`` of one of its sites.
An origin goes to the region whose coverage holds it; where coverages overlap, to the one with
the nearest own site; just outside every coverage (a rough polygon edge, the coast) to the
nearest coverage within ``outside_tolerance_km``; otherwise to none (outside coverage).

Patients cross county lines, so each region is served *extended*: its own sites plus its
neighbours' sites within ``border_km`` of its coverage (``[coverage] border_km``, default
:data:`BORDER_KM`). A border site keeps its id, and its live waits stay under its home region
in the live store: :func:`merged_by_site` joins them (and their wait histories) for ranking.

Pure functions and data only; the API wiring is left to the application factory. The
``[coverage]`` table itself is parsed with the region file (:mod:`waitless.domain.coverage`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from waitless.domain.errors import RegionError
from waitless.domain.region import Region
from waitless.domain.sites import Site

T = TypeVar("T")

BORDER_KM = 20.0
OUTSIDE_TOLERANCE_KM = 2.0
_KM_PER_DEG_LAT = 110.574
_KM_PER_DEG_LON_EQUATOR = 111.320


def _xy_km(lat: float, lon: float, lat0: float) -> tuple[float, float]:
    """Local equirectangular projection (good to ~1 % over a few hundred km), km."""
    return lon * _KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0)), lat * _KM_PER_DEG_LAT


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km (haversine, mean Earth radius 6371 km)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0 * math.asin(math.sqrt(min(a, 1.0)))


def _segment_km(lat: float, lon: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    px, py = _xy_km(lat, lon, lat)
    ax, ay = _xy_km(*a, lat)
    bx, by = _xy_km(*b, lat)
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


@dataclass(frozen=True, slots=True)
class PolygonCoverage:
    """A region's area as one polygon of (lat, lon) corners (not closed: last joins first)."""

    corners: tuple[tuple[float, float], ...]

    def contains(self, lat: float, lon: float) -> bool:
        """Even-odd ray casting in (lon, lat); a point on an edge may fall either side."""
        inside = False
        n = len(self.corners)
        for i in range(n):
            (lat1, lon1), (lat2, lon2) = self.corners[i], self.corners[(i + 1) % n]
            if (lat1 > lat) != (lat2 > lat):
                crossing_lon = lon1 + (lat - lat1) * (lon2 - lon1) / (lat2 - lat1)
                if lon < crossing_lon:
                    inside = not inside
        return inside

    def distance_km(self, lat: float, lon: float) -> float:
        """0 inside, else the distance to the nearest edge, km."""
        if self.contains(lat, lon):
            return 0.0
        n = len(self.corners)
        return min(_segment_km(lat, lon, self.corners[i], self.corners[(i + 1) % n])
                   for i in range(n))


@dataclass(frozen=True, slots=True)
class DiscCoverage:
    """Every point within ``radius_km`` of one of ``centres`` (the region's sites)."""

    centres: tuple[tuple[float, float], ...]
    radius_km: float

    def distance_km(self, lat: float, lon: float) -> float:
        nearest = min(distance_km(lat, lon, c_lat, c_lon) for c_lat, c_lon in self.centres)
        return max(nearest - self.radius_km, 0.0)

    def contains(self, lat: float, lon: float) -> bool:
        return self.distance_km(lat, lon) == 0.0


Coverage = PolygonCoverage | DiscCoverage


def coverage_of(region: Region) -> Coverage:
    """The region's ``[coverage] polygon``, else discs of ``max_origin_distance_km``."""
    if region.coverage.polygon is None:
        return DiscCoverage(tuple((s.lat, s.lon) for s in region.sites),
                            region.ranking.max_origin_distance_km)
    return PolygonCoverage(region.coverage.polygon)


def border_km_of(region: Region, default: float = BORDER_KM) -> float:
    """The region's ``[coverage] border_km``, else ``default``, km."""
    value = region.coverage.border_km
    return default if value is None else value


@dataclass(frozen=True, slots=True)
class Choice:
    """The region answering an origin: its extended form and how the choice was made."""

    region: Region  # own sites first, then neighbours' border sites
    home: str
    how: str  # "inside", "overlap" (nearest own site decided) or "near" (within tolerance)


class RegionSet:
    """Regions served together, each extended with its neighbours' border sites.

    Parameters
    ----------
    regions
        The regions: names unique, and site ids unique across them (a border site's live
        wait is read from its one home region).
    border_km
        Default for regions whose file sets no ``[coverage] border_km``, km.
    outside_tolerance_km
        How far outside every coverage an origin may be and still be served, km.
    """

    def __init__(self, regions: Sequence[Region], *, border_km: float = BORDER_KM,
                 outside_tolerance_km: float = OUTSIDE_TOLERANCE_KM) -> None:
        names = [r.name for r in regions]
        if not names or len(set(names)) != len(names):
            msg = f"need one or more regions with distinct names, got {names}"
            raise RegionError(msg)
        _refuse_mixed_timezones(regions)
        self.regions = {r.name: r for r in regions}
        self.coverages = {r.name: coverage_of(r) for r in regions}
        self.outside_tolerance_km = outside_tolerance_km
        self.site_home = _site_homes(regions)
        self.extended = {r.name: self._extend(r, border_km_of(r, border_km)) for r in regions}

    def _extend(self, region: Region, border_km: float) -> Region:
        own = {s.id for s in region.sites}
        coverage = self.coverages[region.name]
        border: list[tuple[float, Site]] = []
        for other in self.regions.values():
            if other.name == region.name:
                continue
            for site in other.sites:
                if site.id in own or self.site_home[site.id] != other.name:
                    continue
                gap_km = coverage.distance_km(site.lat, site.lon)
                if gap_km <= border_km:
                    border.append((gap_km, site))
                    own.add(site.id)
        border.sort(key=lambda item: (item[0], item[1].id))
        return replace(region, sites=region.sites + tuple(s for _, s in border))

    def border_sites(self, name: str) -> tuple[Site, ...]:
        """Neighbours' sites the region ranks besides its own, nearest its coverage first."""
        own = len(self.regions[name].sites)
        return self.extended[name].sites[own:]

    def choose(self, lat: float, lon: float) -> Choice | None:
        """The region answering an origin, or ``None`` when it is outside every coverage."""
        inside = [n for n, c in self.coverages.items() if c.contains(lat, lon)]
        if len(inside) == 1:
            return Choice(self.extended[inside[0]], inside[0], "inside")
        if inside:
            home = min(inside, key=lambda n: (self._nearest_own_km(n, lat, lon), n))
            return Choice(self.extended[home], home, "overlap")
        gaps = {n: c.distance_km(lat, lon) for n, c in self.coverages.items()}
        home = min(gaps, key=lambda n: (gaps[n], n))
        if gaps[home] <= self.outside_tolerance_km:
            return Choice(self.extended[home], home, "near")
        return None

    def _nearest_own_km(self, name: str, lat: float, lon: float) -> float:
        return min(distance_km(lat, lon, s.lat, s.lon) for s in self.regions[name].sites)


def border_sites_for(region: Region, neighbours: Sequence[Region]) -> tuple[Site, ...]:
    """The neighbours' sites ``region`` ranks when served with them, as a server chooses them.

    What ``waitless graph build --neighbour`` builds table columns for: the same selection as
    :class:`RegionSet` (sites within ``border_km`` of the region's coverage, nearest first), so
    the table's site list is the one the server ranks.

    Parameters
    ----------
    region
        The region whose table is built.
    neighbours
        The regions served with it.

    Raises
    ------
    RegionError
        When the regions cannot be served together (a name or site id in two of them, two
        timezones).
    """
    return RegionSet([region, *neighbours]).border_sites(region.name)


def _refuse_mixed_timezones(regions: Sequence[Region]) -> None:
    """Refuse regions whose ``[region] timezone`` names differ.

    An extended region evaluates its neighbours' border sites' opening hours and wait profiles
    in its own zone, a ``depart_at`` without an offset is read in the primary's zone before
    the origin picks a region, and the patient page's clock is the primary's: with two zones
    some of these would be hours out. Compared by name (``Europe/London`` and its alias ``GB``
    differ), which only asks the files to agree.

    Raises
    ------
    RegionError
        Naming the first region in another zone, both files and both zones.
    """
    first = regions[0]
    for other in regions[1:]:
        if other.timezone.key != first.timezone.key:
            msg = (f"regions served together must share one timezone: {first.name} "
                   f"({first.source_path}) is in {first.timezone.key}, {other.name} "
                   f"({other.source_path}) is in {other.timezone.key}; serve them from "
                   "separate processes")
            raise RegionError(msg)


def _site_homes(regions: Sequence[Region]) -> dict[str, str]:
    """Site id to the region listing it.

    Raises
    ------
    RegionError
        When two regions list the same site id: the id would name two services with two
        sets of live waits, and which one a patient was shown would depend on file order.
    """
    homes: dict[str, Region] = {}
    clashes = []
    for region in regions:
        for site in region.sites:
            first = homes.setdefault(site.id, region)
            if first is not region:
                clashes.append(f"{site.id} in both {first.name} ({first.source_path}) and "
                               f"{region.name} ({region.source_path})")
    if clashes:
        msg = ("site ids must be unique across the regions served: "
               f"{'; '.join(clashes)}")
        raise RegionError(msg)
    return {site_id: region.name for site_id, region in homes.items()}


def merged_by_site(tables: Mapping[str, Mapping[str, T]], region: Region,
                   site_home: Mapping[str, str]) -> dict[str, T]:
    """Entries keyed ``site_id/service`` for an extended region, each from its site's home.

    Parameters
    ----------
    tables
        Region name to that region's entries (observations, wait histories, ...).
    region
        The extended region: only its sites' entries are kept.
    site_home
        Site id to home region name (:attr:`RegionSet.site_home`); a site missing from it
        belongs to ``region``.
    """
    wanted = {s.id for s in region.sites}
    homes = {site_home.get(site_id, region.name) for site_id in wanted}
    merged: dict[str, T] = {}
    for home in sorted(homes):
        for key, value in tables.get(home, {}).items():
            site_id = key.rpartition("/")[0]
            if site_id in wanted and site_home.get(site_id, region.name) == home:
                merged[key] = value
    return merged
