"""The region file's ``[coverage]`` table: the area a region answers for, when several regions
are served together (:mod:`waitless.ranking.multiregion`)."""

from __future__ import annotations

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
    if raw is None:
        return None
    # float() would take "51.2" and true as coordinates: a corner must be written as numbers.
    if not (isinstance(raw, list | tuple) and all(
            isinstance(c, list | tuple) and len(c) == 2 and all(map(is_number, c)) for c in raw)):
        msg = f"[coverage] polygon must be a list of [lat, lon] pairs of numbers, not {raw!r}"
        raise error(msg)
    corners = tuple((float(lat), float(lon)) for lat, lon in raw)
    if len(corners) < 3 or not all(-90 <= la <= 90 and -180 <= lo <= 180 for la, lo in corners):
        msg = "[coverage] polygon needs 3+ corners with valid coordinates"
        raise error(msg)
    # Corners all on one line enclose nothing: every origin would be outside the region.
    twice_area = sum(la1 * lo2 - la2 * lo1
                     for (la1, lo1), (la2, lo2) in zip(corners, corners[1:] + corners[:1],
                                                       strict=True))
    if abs(twice_area) < 1e-12:
        msg = "[coverage] polygon encloses no area: its corners lie on one line"
        raise error(msg)
    return corners


def _border_km(raw: Any, error: type[WaitlessError]) -> float | None:
    if raw is None:
        return None
    if not is_number(raw) or raw < 0:
        msg = f"[coverage] border_km must be a finite number of km, 0 or more, not {raw!r}"
        raise error(msg)
    return float(raw)
