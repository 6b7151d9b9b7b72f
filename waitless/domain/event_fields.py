"""The fields of one ranking event, in the order its row holds them.

A row is a plain tuple in :data:`EVENT_FIELDS` order, from the ranking that makes it
(:func:`waitless.ranking.event_row.ranking_event`) to the event log that stores it: a dictionary
per ranking cost the request path more (twenty keys to insert), the spool twice the bytes (the
keys written again on every line) and ``COPY`` a conversion (issue 12). What each field holds
is in ``docs/privacy.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

EVENT_FIELDS: tuple[str, ...] = (
    "event_id",
    "occurred_at",
    "region",
    "origin_cell",
    "origin_lat_coarse",
    "origin_lon_coarse",
    "condition",
    "age_band",
    "mode",
    "emergency",
    "recommended_site",
    "recommended_kind",
    "nearest_site",
    "nearest_kind",
    "nearest_ed",
    "estimated_minutes",
    "nearest_ed_minutes",
    "results_count",
    "travel_source",
    "nearest_ed_total_minutes",
)
EVENT_ID = EVENT_FIELDS.index("event_id")
OCCURRED_AT = EVENT_FIELDS.index("occurred_at")

EventRow = tuple[Any, ...]


def event_row(fields: Mapping[str, Any]) -> EventRow:
    """The row for an event given by name (a field not given is ``None``)."""
    return tuple(map(fields.get, EVENT_FIELDS))


def event_fields(row: Sequence[Any]) -> dict[str, Any]:
    """An event row by name."""
    return dict(zip(EVENT_FIELDS, row, strict=True))
