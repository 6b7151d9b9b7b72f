"""The region file's ``[graph]`` table: how road graphs are built and queried.

Every key is optional; the defaults below apply when a region file says nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from waitless.domain.errors import WaitlessError
from waitless.domain.region_values import is_number

DEFAULT_WALK_SPEED_KPH = 4.8
DEFAULT_ACCESS_SPEED_KPH = 20.0
DEFAULT_MAX_SNAP_M = 2_000.0
# Upper bounds of the scalar keys: a walk at 50 km/h, or a straight-line leg faster than any
# road, would rank a far site as near; a snap of more than 20 km puts an origin at sea or
# across a border on a road instead of calling it off the graph.
SCALAR_MAXIMUMS = {"walk_speed_kph": 10.0, "access_speed_kph": 200.0, "max_snap_m": 20_000.0}


@dataclass(frozen=True)
class GraphSettings:
    """How a region's road graphs are built and queried.

    Parameters
    ----------
    default_speeds_kph
        Speed in km per hour per OSM ``highway`` class, used where ``maxspeed`` is not tagged
        or cannot be read. The key ``"other"`` covers classes not listed.
    walk_speed_kph
        Walking speed in km per hour (whole walk graph and walk access legs).
    access_speed_kph
        Speed in km per hour of the straight-line leg between a point and its nearest graph
        node when driving (side streets, car parks).
    max_snap_m
        A site or origin farther than this many meters from every graph node is off the graph.
    """

    default_speeds_kph: dict[str, float] = field(default_factory=dict)
    walk_speed_kph: float = DEFAULT_WALK_SPEED_KPH
    access_speed_kph: float = DEFAULT_ACCESS_SPEED_KPH
    max_snap_m: float = DEFAULT_MAX_SNAP_M

    def access_speed_for(self, mode: str) -> float:
        """Speed in km per hour of the leg from a point to its nearest node."""
        return self.walk_speed_kph if mode == "walk" else self.access_speed_kph


def parse_graph(raw: Mapping[str, Any], *, error: type[WaitlessError]) -> GraphSettings:
    """Validate a ``[graph]`` table; unknown keys are an error so typos show."""
    raw = dict(raw)
    known = {"default_speeds_kph", "walk_speed_kph", "access_speed_kph", "max_snap_m"}
    unknown = sorted(set(raw) - known)
    if unknown:
        msg = f"[graph]: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        raise error(msg)
    speeds_raw = raw.get("default_speeds_kph", {})
    if not isinstance(speeds_raw, dict):
        raise error("[graph]: default_speeds_kph must be a table of km per hour by highway class")
    # float() would take true as 1 km/h and "50" as 50: a number must be written as one.
    values = [*speeds_raw.values(), *(v for k, v in raw.items() if k != "default_speeds_kph")]
    if any(isinstance(v, bool | str) for v in values):
        msg = f"[graph]: speeds and max_snap_m must be numbers, not text or true/false ({raw})"
        raise error(msg)
    try:
        speeds = {str(k): float(v) for k, v in raw.pop("default_speeds_kph", {}).items()}
        settings = GraphSettings(default_speeds_kph=speeds,
                                 **{k: float(v) for k, v in raw.items()})
    except (TypeError, ValueError, AttributeError) as exc:
        raise error(f"[graph]: {exc}") from exc
    # is_number, not a bare comparison: nan passes `v <= 0` and inf makes every leg take 0 s.
    bad = [k for k, v in speeds.items() if not (is_number(v) and 0 < v <= 200)]
    if bad:
        msg = (f"[graph]: default_speeds_kph must be above 0 and at most 200 km/h "
               f"(check {', '.join(bad)})")
        raise error(msg)
    for key, highest in SCALAR_MAXIMUMS.items():
        value = getattr(settings, key)
        if not (is_number(value) and 0 < value <= highest):
            msg = f"[graph]: {key} must be a finite number above 0, at most {highest:g}, " \
                  f"not {value!r}"
            raise error(msg)
    return settings
