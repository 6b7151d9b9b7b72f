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


def _tile_lat(y: int, zoom: int) -> float:
    """Latitude of the top edge of Web Mercator tile row ``y`` at ``zoom``, degrees."""
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / 2 ** zoom))))


def _tiles(url: str, bounds: tuple[float, float, float, float], px_per_deg_lon: float,
           xy: Any) -> list[dict[str, Any]]:
    """Web Mercator tiles covering ``bounds``, placed in the map's pixels (twice the detail,
    for high-density phone screens); at county scale the projections differ by under 1 %."""
    south, north, west, east = bounds
    zoom = max(0, min(17, round(math.log2(2 * px_per_deg_lon * 360 / 256))))
    n = 2 ** zoom

    def column(lon: float) -> int:
        return int((lon + 180) / 360 * n)

    def row(lat: float) -> int:
        rad = math.radians(lat)
        return int((1 - math.asinh(math.tan(rad)) / math.pi) / 2 * n)

    tiles = []
    for x in range(column(west), column(east) + 1):
        for y in range(row(north), row(south) + 1):
            left, top = xy(_tile_lat(y, zoom), x / n * 360 - 180)
            right, bottom = xy(_tile_lat(y + 1, zoom), (x + 1) / n * 360 - 180)
            tiles.append({"href": url.format(z=zoom, x=x, y=y), "x": left, "y": top,
                          "width": round(right - left, 1), "height": round(bottom - top, 1)})
    return tiles


def tile_origin(url: str) -> str:
    """``https://host`` of a tile URL template (what the page's img-src must allow)."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{rest.split('/', 1)[0]}"


def answer_map(region: Region, origin: tuple[float, float],
               options: list[dict[str, Any]], *, tile_url: str | None = None
               ) -> dict[str, Any]:
    """Marker positions (in SVG pixels) for the patient, the options and the region's sites.

    Parameters
    ----------
    region
        Supplies the other sites, drawn as context.
    origin
        The patient's (lat, lon) in degrees.
    options
        Ranked results to number on the map, best first (``lat``, ``lon``, ``name``).
    tile_url
        An operator's tile layer (``https://.../{z}/{x}/{y}.png``) drawn under the markers;
        ``None`` (the default) draws no tiles and asks no third party for anything.

    Returns
    -------
    A dict for the template: ``width``, ``height``, ``you`` (x, y), ``options`` (number, name,
    x, y), ``sites`` (x, y), ``tiles`` (href, x, y, width, height) and ``scale_km`` with
    ``scale_px`` for a scale bar.
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

    # Tiles must cover the whole drawing, which is wider or taller than the focus box.
    half_w_deg = WIDTH_PX / 2 / (_KM_PER_DEGREE_LAT * cos_lat * px_per_km)
    half_h_deg = HEIGHT_PX / 2 / (_KM_PER_DEGREE_LAT * px_per_km)
    bounds = (centre_lat - half_h_deg, centre_lat + half_h_deg,
              centre_lon - half_w_deg, centre_lon + half_w_deg)
    tiles = ([] if tile_url is None else
             _tiles(tile_url, bounds, _KM_PER_DEGREE_LAT * cos_lat * px_per_km, xy))
    shown = {o["site_id"] for o in options}
    sites = [xy(s.lat, s.lon) for s in region.sites if s.id not in shown]
    scale_km = next((k for k in (1, 2, 5, 10, 20, 50) if k * px_per_km >= 40), 50)
    return {
        "width": WIDTH_PX, "height": HEIGHT_PX, "you": xy(*origin),
        "options": [{"number": i + 1, "name": o["name"], "site_id": o["site_id"],
                     "xy": xy(o["lat"], o["lon"])} for i, o in enumerate(options)],
        "sites": [p for p in sites if inside(p)], "tiles": tiles,
        "scale_km": scale_km, "scale_px": round(scale_km * px_per_km, 1),
    }
