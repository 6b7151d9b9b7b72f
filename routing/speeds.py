"""Edge speeds from OSM ``maxspeed`` tags, falling back to per-highway-class defaults.

The rules are stated in full in ``docs/routing.md``; in short: a readable ``maxspeed`` wins,
otherwise the region's default for the edge's ``highway`` class applies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from routing.config import FALLBACK_SPEED_KPH

KPH_PER_MPH = 1.609344
KPH_PER_KNOT = 1.852
# Tagged values outside this range are typing errors, not speed limits.
MIN_PLAUSIBLE_KPH = 5.0
MAX_PLAUSIBLE_KPH = 150.0

# Legal limits named by a code instead of a number (https://wiki.openstreetmap.org/wiki/Key:maxspeed).
# UK codes are in mph; "nsl" (national speed limit) on its own depends on the road, see below.
_ZONE_MPH = {
    "nsl_single": 60, "nsl_dual": 70, "motorway": 70, "nsl_restricted": 30,
}
_ZONE_KPH = {
    "urban": 50, "rural": {"de": 100, "at": 100, "fi": 80, "ch": 80, "fr": 80, "li": 80},
    "motorway": {"de": 130, "at": 130, "fi": 120, "ch": 120, "fr": 130, "li": 120},
    "trunk": {"ch": 100, "fr": 110},
    "living_street": 7, "walk": 7, "bicycle_road": 30,
}
_NATIONAL = {"national", "nsl", "national_speed_limit", "gb:nsl", "uk:nsl"}
_NUMBER_UNIT = re.compile(r"^(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph|knots)?$")
_ZONE_NUMBER = re.compile(r"^[a-z]{2}:zone:?(\d+)$")


def _national_mph(highway: str, oneway: bool) -> float:
    # A bare "national" limit is 70 mph on motorways and dual carriageways, else 60 mph; a
    # one-way trunk road is almost always one side of a dual carriageway.
    if highway.startswith("motorway") or (highway.startswith("trunk") and oneway):
        return 70.0
    return 60.0


def _one_maxspeed_kph(value: str, highway: str, oneway: bool) -> float | None:
    text = value.strip().lower()
    match = _NUMBER_UNIT.match(text)
    if match:
        number, unit = float(match[1]), match[2]
        if unit == "mph":
            return number * KPH_PER_MPH
        return number * KPH_PER_KNOT if unit == "knots" else number
    if text in _NATIONAL:
        return _national_mph(highway, oneway) * KPH_PER_MPH
    if ":" not in text:
        return None
    country, zone = text.split(":", 1)
    if country in {"gb", "uk"}:
        if zone == "nsl":
            return _national_mph(highway, oneway) * KPH_PER_MPH
        mph = _ZONE_MPH.get(zone)
        return None if mph is None else mph * KPH_PER_MPH
    zone_number = _ZONE_NUMBER.match(text)
    if zone_number:
        return float(zone_number[1])
    kph = _ZONE_KPH.get(zone)
    if isinstance(kph, dict):
        kph = kph.get(country)
    return None if kph is None else float(kph)


def parse_maxspeed_kph(value: Any, *, highway: str = "", oneway: bool = False) -> float | None:
    """Speed limit in km per hour from an OSM ``maxspeed`` value, or ``None`` if unreadable.

    Parameters
    ----------
    value
        The tag value: ``"30 mph"``, ``"50"`` (km per hour), ``"GB:nsl_single"``,
        ``"national"``, ``"50;30"`` or a list of such values (osmnx merges parallel tags).
    highway
        The edge's ``highway`` class; decides what a bare national limit means.
    oneway
        Whether the edge is one-way (a one-way trunk road is a dual carriageway).

    Returns
    -------
    speed_kph
        The lowest readable, plausible limit among the values; ``None`` when there is none
        (for example ``"none"``, ``"signals"``, ``"variable"`` or a typo).
    """
    if value is None:
        return None
    values = value if isinstance(value, list | tuple) else [value]
    parts = [p for v in values for p in re.split(r"[;|]", str(v)) if p.strip()]
    speeds = [_one_maxspeed_kph(p, highway, oneway) for p in parts]
    plausible = [s for s in speeds if s is not None and MIN_PLAUSIBLE_KPH <= s <= MAX_PLAUSIBLE_KPH]
    return min(plausible) if plausible else None


def _first_highway(highway: Any) -> str:
    if isinstance(highway, list | tuple):
        highway = highway[0] if highway else ""
    return str(highway or "")


def default_speed_kph(highway: Any, defaults_kph: Mapping[str, float]) -> float:
    """The region's default speed in km per hour for a ``highway`` class.

    A ``*_link`` class without its own entry uses its road's class; a class not listed
    uses ``defaults_kph["other"]`` (or :data:`routing.config.FALLBACK_SPEED_KPH`).
    """
    name = _first_highway(highway)
    if name in defaults_kph:
        return float(defaults_kph[name])
    base = name.removesuffix("_link")
    if base in defaults_kph:
        return float(defaults_kph[base])
    return float(defaults_kph.get("other", FALLBACK_SPEED_KPH))


def edge_speed_kph(attrs: Mapping[str, Any],
                   defaults_kph: Mapping[str, float]) -> tuple[float, str]:
    """Speed in km per hour for one edge and its origin, ``"maxspeed"`` or ``"default"``."""
    highway = _first_highway(attrs.get("highway"))
    tagged = parse_maxspeed_kph(attrs.get("maxspeed"), highway=highway,
                                oneway=bool(attrs.get("oneway", False)))
    if tagged is not None:
        return tagged, "maxspeed"
    return default_speed_kph(highway, defaults_kph), "default"
