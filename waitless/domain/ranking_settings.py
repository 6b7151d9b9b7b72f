"""The region file's ``[ranking]`` table: staleness, limits and assumed waits for ranking."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from waitless.domain.observation import SERVICE_KINDS
from waitless.domain.region_values import check_keys, number, table, whole

# Defaults a region may override in its [ranking] table.
_DEFAULT_ASSUMED_WAIT_MINUTES = {"ed": 240.0, "utc": 120.0, "miu": 90.0}


@dataclass(frozen=True, slots=True)
class RankingSettings:
    stale_after_minutes: float = 90.0
    stale_penalty_minutes: float = 30.0
    closing_margin_minutes: float = 30.0
    max_origin_distance_km: float = 80.0
    # Sites farther than this are left out of an answer altogether, and at most this many of
    # the nearest are considered: nobody should drive 300 km to a UTC, and a national region
    # must not cost 500 sites of work per request.
    max_travel_minutes: float = 180.0
    # Walking answers stop sooner: beyond an hour on foot (about 5 km) a patient needs a lift,
    # a bus or a taxi, and listing a two-hour walk as an option misleads (issue 14).
    max_walk_minutes: float = 60.0
    max_candidates: int = 60
    assumed_wait_minutes: dict[str, float] = field(
        default_factory=lambda: dict(_DEFAULT_ASSUMED_WAIT_MINUTES))


_KEYS = frozenset(f.name for f in fields(RankingSettings))
# A limit of zero would leave every answer empty, so these must be above zero; a penalty or
# margin of zero merely switches that adjustment off.
_POSITIVE = ("stale_after_minutes", "max_origin_distance_km", "max_travel_minutes",
             "max_walk_minutes")
_NON_NEGATIVE = ("stale_penalty_minutes", "closing_margin_minutes")


def parse_ranking(raw: Mapping[str, Any]) -> RankingSettings:
    """Validate a ``[ranking]`` table; defaults for the keys it leaves out.

    Raises
    ------
    RegionError
        Naming the key: an unknown key, a value that is not a number (``"ninety"``), a limit
        that is not above zero, an assumed wait for an unknown service kind.
    """
    where = "[ranking]"
    check_keys(raw, _KEYS, where)
    defaults = RankingSettings()
    values: dict[str, Any] = {
        **{key: number(raw, key, where, getattr(defaults, key), positive=True)
           for key in _POSITIVE},
        **{key: number(raw, key, where, getattr(defaults, key)) for key in _NON_NEGATIVE},
        "max_candidates": whole(raw, "max_candidates", where, defaults.max_candidates,
                                minimum=1),
    }
    where_assumed = "[ranking] assumed_wait_minutes"
    assumed = table(raw.get("assumed_wait_minutes", {}), where_assumed)
    check_keys(assumed, SERVICE_KINDS, where_assumed)
    values["assumed_wait_minutes"] = {
        **defaults.assumed_wait_minutes,
        **{kind: number(assumed, kind, where_assumed) for kind in assumed}}
    return RankingSettings(**values)
