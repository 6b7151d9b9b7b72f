"""A map of the patient and the top options, drawn by the server as SVG.

No third-party script or tile service: the map is computed from coordinates the region file
already holds (every site is a grey dot, so the shape of the region shows), the patient is a
blue marker and the options shown are numbered in the page's order. Positions use an
equirectangular projection scaled by cos(latitude), exact enough at county scale (tens of km)
for a "which way and how far" picture; it is not for navigation (the Directions link is).
"""

from __future__ import annotations

import math
from typing import Any

from waitless.domain.region import Region

WIDTH_PX = 340
HEIGHT_PX = 240
PADDING_PX = 22
# Room around the patient and the options, in km, so nearby markers do not touch the edge.
MARGIN_KM = 3.0
_KM_PER_DEGREE_LAT = 111.32


def _bounds(points: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    lats, lons = [p[0] for p in points], [p[1] for p in points]
    mid_lat = (min(lats) + max(lats)) / 2
    pad_lat = MARGIN_KM / _KM_PER_DEGREE_LAT
    pad_lon = pad_lat / max(0.1, math.cos(math.radians(mid_lat)))
    return min(lats) - pad_lat, max(lats) + pad_lat, min(lons) - pad_lon, max(lons) + pad_lon


def answer_map(region: Region, origin: tuple[float, float],
               options: list[dict[str, Any]]) -> dict[str, Any]:
    """Marker positions (in SVG pixels) for the patient, the options and the region's sites.

    Parameters
    ----------
    region
        Supplies the other sites, drawn as context.
    origin
        The patient's (lat, lon) in degrees.
    options
        Ranked results to number on the map, best first (``lat``, ``lon``, ``name``).

    Returns
    -------
    A dict for the template: ``width``, ``height``, ``you`` (x, y), ``options`` (number, name,
    x, y), ``sites`` (x, y) and ``scale_km`` with ``scale_px`` for a scale bar.
    """
    focus = [origin, *((o["lat"], o["lon"]) for o in options)]
    south, north, west, east = _bounds(focus)
    cos_lat = math.cos(math.radians((south + north) / 2))
    width_km = (east - west) * _KM_PER_DEGREE_LAT * cos_lat
    height_km = (north - south) * _KM_PER_DEGREE_LAT
    inner_w, inner_h = WIDTH_PX - 2 * PADDING_PX, HEIGHT_PX - 2 * PADDING_PX
    px_per_km = min(inner_w / width_km, inner_h / height_km)
    centre_lat, centre_lon = (south + north) / 2, (west + east) / 2

    def xy(lat: float, lon: float) -> tuple[float, float]:
        x = WIDTH_PX / 2 + (lon - centre_lon) * _KM_PER_DEGREE_LAT * cos_lat * px_per_km
        y = HEIGHT_PX / 2 - (lat - centre_lat) * _KM_PER_DEGREE_LAT * px_per_km
        return round(x, 1), round(y, 1)

    def inside(point: tuple[float, float]) -> bool:
        return 0 <= point[0] <= WIDTH_PX and 0 <= point[1] <= HEIGHT_PX

    shown = {o["site_id"] for o in options}
    sites = [xy(s.lat, s.lon) for s in region.sites if s.id not in shown]
    scale_km = next((k for k in (1, 2, 5, 10, 20, 50) if k * px_per_km >= 40), 50)
    return {
        "width": WIDTH_PX, "height": HEIGHT_PX, "you": xy(*origin),
        "options": [{"number": i + 1, "name": o["name"], "site_id": o["site_id"],
                     "xy": xy(o["lat"], o["lon"])} for i, o in enumerate(options)],
        "sites": [p for p in sites if inside(p)],
        "scale_km": scale_km, "scale_px": round(scale_km * px_per_km, 1),
    }
