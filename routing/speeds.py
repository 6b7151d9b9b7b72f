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
    "nsl_single": 60, "nsl_dual": 70, "motorway": 70, "nsl_restricted": 30, "urban": 30,
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
# UK 20/30 mph zones: "GB:zone20", "GB:zone:20" (the number is in mph, unlike other countries).
_GB_ZONE = re.compile(r"^zone:?(\d+)(?:\s*mph)?$")
_TRUE = {"yes", "true", "1"}
_FALSE = {"no", "false", "0"}


def _national_mph(highway: str, oneway: bool, dual: bool | None = None) -> float:
    # A bare "national" limit is 70 mph on motorways and dual carriageways, else 60 mph.
    # ``dual_carriageway=yes/no`` decides where tagged (a one-way primary is often a one-way
    # town street, not half of a dual road); untagged, only a one-way trunk road is taken as
    # one side of a dual carriageway, as before.
    if highway.startswith("motorway"):
        return 70.0
    if dual is not None:
        return 70.0 if dual else 60.0
    return 70.0 if highway.startswith("trunk") and oneway else 60.0


def _one_maxspeed_kph(value: str, highway: str, oneway: bool,
                     dual: bool | None = None) -> float | None:
    text = value.strip().lower()
    match = _NUMBER_UNIT.match(text)
    if match:
        number, unit = float(match[1]), match[2]
        if unit == "mph":
            return number * KPH_PER_MPH
        return number * KPH_PER_KNOT if unit == "knots" else number
    if text in _NATIONAL:
        return _national_mph(highway, oneway, dual) * KPH_PER_MPH
    if ":" not in text:
        return None
    country, zone = text.split(":", 1)
    if country in {"gb", "uk"}:
        if zone == "nsl":
            return _national_mph(highway, oneway, dual) * KPH_PER_MPH
        gb_zone = _GB_ZONE.match(zone)
        if gb_zone:
            return float(gb_zone[1]) * KPH_PER_MPH
        mph = _ZONE_MPH.get(zone)
        return None if mph is None else mph * KPH_PER_MPH
    zone_number = _ZONE_NUMBER.match(text)
    if zone_number:
        return float(zone_number[1])
    kph = _ZONE_KPH.get(zone)
    if isinstance(kph, dict):
        kph = kph.get(country)
    return None if kph is None else float(kph)


def parse_maxspeed_kph(value: Any, *, highway: str = "", oneway: bool = False,
                       dual_carriageway: bool | None = None) -> float | None:
    """Speed limit in km per hour from an OSM ``maxspeed`` value, or ``None`` if unreadable.

    Parameters
    ----------
    value
        The tag value: ``"30 mph"``, ``"50"`` (km per hour), ``"GB:nsl_single"``,
        ``"national"``, ``"50;30"`` or a list of such values (osmnx merges parallel tags).
    highway
        The edge's ``highway`` class; decides what a bare national limit means.
    oneway
        Whether the edge is one-way (untagged, a one-way trunk road is taken as dual).
    dual_carriageway
        The ``dual_carriageway`` tag read as a boolean, ``None`` when absent; decides
        whether a bare national limit is the single (60 mph) or dual (70 mph) one.

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
    speeds = [_one_maxspeed_kph(p, highway, oneway, dual_carriageway) for p in parts]
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


def _tag_bool(value: Any) -> bool | None:
    if isinstance(value, list | tuple):
        value = value[0] if len(set(map(str, value))) == 1 else None
    text = str(value).strip().lower() if value is not None else ""
    return True if text in _TRUE else False if text in _FALSE else None


# Tags read, in order, when ``maxspeed`` says nothing readable: UK mappers often record the
# legal limit only as its type ("GB:nsl_single", "GB:zone20") in one of these.
MAXSPEED_FALLBACK_TAGS = ("maxspeed:type", "source:maxspeed")


def edge_speed_kph(attrs: Mapping[str, Any],
                   defaults_kph: Mapping[str, float]) -> tuple[float, str]:
    """Speed in km per hour for one edge and its origin, ``"maxspeed"`` or ``"default"``.

    ``maxspeed`` first, then ``maxspeed:type``, then ``source:maxspeed`` (their values are
    read like ``maxspeed``; non-codes such as ``"sign"`` or ``"survey"`` are unreadable).
    """
    highway = _first_highway(attrs.get("highway"))
    kwargs = {"highway": highway, "oneway": bool(attrs.get("oneway", False)),
              "dual_carriageway": _tag_bool(attrs.get("dual_carriageway"))}
    for key in ("maxspeed", *MAXSPEED_FALLBACK_TAGS):
        tagged = parse_maxspeed_kph(attrs.get(key), **kwargs)
        if tagged is not None:
            return tagged, "maxspeed"
    return default_speed_kph(highway, defaults_kph), "default"
