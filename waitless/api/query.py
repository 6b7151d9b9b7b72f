"""Parsing and checking of API query parameters into plain values (400s say what is wrong)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from waitless.domain.conditions import CONDITIONS
from waitless.domain.errors import WaitlessError
from waitless.ranking.rank import RankRequest

MAX_LIMIT = 100
MAX_PLAN_AHEAD = timedelta(days=7)
MAX_PLAN_BEHIND = timedelta(hours=1)
TRAVEL_MODES = ("drive", "walk")


class QueryError(WaitlessError):
    """A bad query parameter; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _number(query: Mapping[str, str], name: str, *, low: float, high: float,
            required: bool) -> float | None:
    raw = query.get(name)
    if raw is None or raw.strip() == "":
        if required:
            raise QueryError(name, f"{name} is required")
        return None
    try:
        value = float(raw)
    except ValueError:
        raise QueryError(name, f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise QueryError(name, f"{name} must be between {low:g} and {high:g}, got {raw}")
    return value


def parse_depart_at(raw: str | None, *, now: datetime, tz: ZoneInfo) -> datetime:
    """``depart_at`` as an aware datetime (a time without offset is the region's local time)."""
    if raw is None or raw.strip() == "":
        return now
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise QueryError("depart_at",
                         f"depart_at must be an ISO-8601 date-time, got {raw!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    if value < now - MAX_PLAN_BEHIND or value > now + MAX_PLAN_AHEAD:
        raise QueryError("depart_at", "depart_at must be within the next 7 days")
    return value


def plain_query(raw_query: str) -> dict[str, str] | None:
    """A query string's parameters (the first value of each name), as aiohttp's
    ``request.query`` reads them, when there is nothing to percent-decode; else ``None``.

    Most ranking requests carry only names, digits and dots. aiohttp builds a URL object's
    multidict for them at several times the cost of this split (issue 12); with a ``%`` the
    caller uses ``request.query``, which decodes.
    """
    if "%" in raw_query:
        return None
    values: dict[str, str] = {}
    # As yarl's query_to_pairs without escapes: '+' is a space, empty fields are skipped.
    for field in raw_query.replace("+", " ").split("&"):
        if field:
            name, _, value = field.partition("=")
            if name not in values:
                values[name] = value
    return values


def parse_rank_query(query: Mapping[str, str], *, now: datetime, tz: ZoneInfo) -> RankRequest:
    """Build a :class:`RankRequest` from ``/v1/rank`` query parameters."""
    lat = _number(query, "lat", low=-90, high=90, required=True)
    lon = _number(query, "lon", low=-180, high=180, required=True)
    age = _number(query, "age", low=0, high=130, required=False)
    condition = (query.get("condition") or "").strip() or None
    if condition is not None and condition not in CONDITIONS:
        raise QueryError("condition", f"unknown condition {condition!r}; see /v1/conditions")
    raw_limit = query.get("limit")
    limit = MAX_LIMIT
    if raw_limit:
        # isascii first: str.isdigit() accepts "²" and other digits int() refuses.
        if (not (raw_limit.isascii() and raw_limit.isdigit())
                or not 1 <= int(raw_limit) <= MAX_LIMIT):
            raise QueryError("limit", f"limit must be a whole number from 1 to {MAX_LIMIT}")
        limit = int(raw_limit)
    mode = (query.get("mode") or "drive").strip()
    if mode not in TRAVEL_MODES:
        raise QueryError("mode", f"mode must be one of {', '.join(TRAVEL_MODES)}")
    assert lat is not None and lon is not None  # required=True guarantees it
    return RankRequest(
        lat=lat, lon=lon, depart_at=parse_depart_at(query.get("depart_at"), now=now, tz=tz),
        condition=condition, age_years=age, limit=limit, mode=mode,
    )
