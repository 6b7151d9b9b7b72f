"""The region file's ``[coverage]`` table: the area a region answers for, when several regions
are served together (:mod:`waitless.ranking.multiregion`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from waitless.domain.errors import WaitlessError
from waitless.domain.region_values import is_number

_KNOWN_KEYS = frozenset({"polygon", "border_km"})


@dataclass(frozen=True, slots=True)
class CoverageSettings:
    """Where a region answers and how far past its edge it ranks neighbours' sites.

    Attributes
    ----------
    polygon
        The region's area as (lat, lon) corners in degrees, not closed (the last joins the
        first); ``None`` when the file gives none: then every point within
        ``[ranking] max_origin_distance_km`` of a site is covered.
    border_km
        Neighbours' sites within this distance of the coverage are ranked too, km; ``None``
        when the file gives none (the region set's default applies).
    """

    polygon: tuple[tuple[float, float], ...] | None = None
    border_km: float | None = None


def parse_coverage(raw: Mapping[str, Any], *, error: type[WaitlessError]) -> CoverageSettings:
    """Coverage settings from a ``[coverage]`` table (empty table: no polygon, no border).

    ``error`` is raised, naming ``[coverage]`` and the key, for unknown keys or bad values.
    """
    unknown = sorted(set(raw) - _KNOWN_KEYS)
    if unknown:
        msg = f"[coverage]: unknown key(s) {', '.join(unknown)}; known: {sorted(_KNOWN_KEYS)}"
        raise error(msg)
    return CoverageSettings(polygon=_polygon(raw.get("polygon"), error),
                            border_km=_border_km(raw.get("border_km"), error))


def _polygon(raw: Any, error: type[WaitlessError]) -> tuple[tuple[float, float], ...] | None:
    """The corners of ``raw`` once they are known to enclose an area, or ``error``.

    A polygon whose edges cross, or with no area, would answer "inside" for the wrong origins
    (ray casting counts crossings) or for none; strings and booleans are not coordinates.
    """
    if raw is None:
        return None
    if not isinstance(raw, list | tuple):
        msg = f"[coverage] polygon must be a list of [lat, lon] corners, not {raw!r}"
        raise error(msg)
    corners = []
    for index, corner in enumerate(raw):
        if not (isinstance(corner, list | tuple) and len(corner) == 2
                and all(map(is_number, corner))):
            msg = (f"[coverage] polygon: corner {index} must be [lat, lon] in degrees, "
                   f"two numbers, not {corner!r}")
            raise error(msg)
        lat, lon = float(corner[0]), float(corner[1])
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            msg = f"[coverage] polygon: corner {index} ({lat}, {lon}) is out of range"
            raise error(msg)
        corners.append((lat, lon))
    if len(corners) > 3 and corners[-1] == corners[0]:
        corners.pop()  # closed as GeoJSON writes rings; the last corner always joins the first
    if len(corners) < 3:
        msg = f"[coverage] polygon needs 3 or more corners, not {len(corners)}"
        raise error(msg)
    for i in range(1, len(corners)):
        if corners[i] == corners[i - 1]:
            msg = f"[coverage] polygon: corner {i} repeats corner {i - 1}"
            raise error(msg)
    on_one_line = all(_turn(corners[0], corners[1], c) == 0 for c in corners[2:])
    if not on_one_line:  # (on one line every edge folds back: say "no area" below instead)
        _check_simple(corners, error)
    area_km2 = _area_km2(corners)
    if on_one_line or area_km2 < _MIN_AREA_KM2:
        msg = (f"[coverage] polygon encloses no area ({area_km2:.3g} km²; at least "
               f"{_MIN_AREA_KM2:g} km²): are its corners on one line?")
        raise error(msg)
    return tuple(corners)


# No region is smaller; a polygon under this is corners on a line (or nearly), km².
_MIN_AREA_KM2 = 1.0
_KM_PER_DEG_LAT = 110.574
_KM_PER_DEG_LON_EQUATOR = 111.320


def _check_simple(corners: list[tuple[float, float]], error: type[WaitlessError]) -> None:
    """Refuse edges that cross or touch other than at the corner two neighbours share.

    Edges are straight in (lat, lon), as :class:`~waitless.ranking.multiregion.PolygonCoverage`
    draws them. O(n²) in corners, once at load: a polygon has a few dozen.
    """
    n = len(corners)
    for i in range(n):
        a, b = corners[i], corners[(i + 1) % n]
        for j in range(i + 1, n):
            c, d = corners[j], corners[(j + 1) % n]
            if j == i + 1 or (i == 0 and j == n - 1):
                # Neighbouring edges share a corner; they are wrong only folded back on
                # each other (a spike along its own edge).
                shared, end_1, end_2 = (b, a, d) if j == i + 1 else (a, b, c)
                folded = (_turn(end_1, shared, end_2) == 0
                          and _dot(end_1, shared, end_2) > 0)
            else:
                folded = _segments_meet(a, b, c, d)
            if folded:
                msg = (f"[coverage] polygon: edges {i}-{(i + 1) % n} and {j}-{(j + 1) % n} "
                       "cross; list the corners in order round the area")
                raise error(msg)


def _turn(p: tuple[float, float], q: tuple[float, float], r: tuple[float, float]) -> int:
    """-1, 0 or 1: which way p -> q -> r turns (0: on one line)."""
    cross = (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
    return (cross > 0) - (cross < 0)


def _dot(p: tuple[float, float], q: tuple[float, float], r: tuple[float, float]) -> float:
    """(p - q) . (r - q): above 0 when p and r lie the same way from q."""
    return (p[0] - q[0]) * (r[0] - q[0]) + (p[1] - q[1]) * (r[1] - q[1])


def _on_segment(p: tuple[float, float], q: tuple[float, float], r: tuple[float, float]) -> bool:
    """Whether r, on the line through p and q, lies between them."""
    return (min(p[0], q[0]) <= r[0] <= max(p[0], q[0])
            and min(p[1], q[1]) <= r[1] <= max(p[1], q[1]))


def _segments_meet(a: tuple[float, float], b: tuple[float, float],
                   c: tuple[float, float], d: tuple[float, float]) -> bool:
    """Whether segments ab and cd cross or touch."""
    t1, t2, t3, t4 = _turn(a, b, c), _turn(a, b, d), _turn(c, d, a), _turn(c, d, b)
    if t1 != t2 and t3 != t4 and 0 not in (t1, t2, t3, t4):
        return True
    return ((t1 == 0 and _on_segment(a, b, c)) or (t2 == 0 and _on_segment(a, b, d))
            or (t3 == 0 and _on_segment(c, d, a)) or (t4 == 0 and _on_segment(c, d, b)))


def _area_km2(corners: list[tuple[float, float]]) -> float:
    """Area by the shoelace formula on a local equirectangular projection, km²."""
    scale_x = _KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(
        sum(lat for lat, _ in corners) / len(corners)))
    points = [(lon * scale_x, lat * _KM_PER_DEG_LAT) for lat, lon in corners]
    twice = sum(x1 * y2 - x2 * y1
                for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True))
    return abs(twice) / 2


def _border_km(raw: Any, error: type[WaitlessError]) -> float | None:
    if raw is None:
        return None
    if not is_number(raw) or raw < 0:
        msg = f"[coverage] border_km must be a finite number of km, 0 or more, not {raw!r}"
        raise error(msg)
    return float(raw)
