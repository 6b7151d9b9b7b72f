"""The native WaitLess JSON format (``docs/feeds.md``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from feeds.errors import FeedParseError
from waitless.domain.observation import SERVICE_KINDS, SITE_STATUSES, Observation


def parse_timestamp(value: Any, where: str) -> datetime:
    """Parse an ISO-8601 timestamp that must carry a UTC offset."""
    if not isinstance(value, str):
        msg = f"{where}: expected an ISO-8601 string, got {type(value).__name__}"
        raise FeedParseError(msg)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        msg = f"{where}: {value!r} is not an ISO-8601 timestamp"
        raise FeedParseError(msg) from None
    if parsed.tzinfo is None:
        msg = f"{where}: {value!r} has no UTC offset"
        raise FeedParseError(msg)
    return parsed.astimezone(UTC)


def _number_or_none(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{where}: expected a number or null, got {value!r}"
        raise FeedParseError(msg)
    return float(value)


def _site(entry: Any, index: int, feed_name: str) -> Observation:
    where = f"sites[{index}]"
    if not isinstance(entry, dict):
        msg = f"{where}: expected an object"
        raise FeedParseError(msg)
    site_id = entry.get("site_id")
    if not isinstance(site_id, str) or not site_id:
        msg = f"{where}: site_id must be a non-empty string"
        raise FeedParseError(msg)
    service = entry.get("service")
    if service is not None and service not in SERVICE_KINDS:
        msg = f"{where}: service {service!r} must be one of {', '.join(SERVICE_KINDS)}"
        raise FeedParseError(msg)
    status = entry.get("status", "unknown")
    if status not in SITE_STATUSES:
        msg = f"{where}: status {status!r} must be one of {', '.join(SITE_STATUSES)}"
        raise FeedParseError(msg)
    patients = entry.get("patients_waiting")
    if patients is not None and (isinstance(patients, bool) or not isinstance(patients, int)):
        msg = f"{where}: patients_waiting must be an integer or null"
        raise FeedParseError(msg)
    return Observation(
        site_id=site_id,
        service=service,
        wait_minutes=_number_or_none(entry.get("wait_minutes"), f"{where}.wait_minutes"),
        observed_at=parse_timestamp(entry.get("observed_at"), f"{where}.observed_at"),
        status=status,
        wait_kind="estimate",
        patients_waiting=patients,
        feed=feed_name,
    )


def parse(body: bytes, *, feed_name: str = "", fetched_at: datetime | None = None,
          options: Mapping[str, Any] | None = None) -> list[Observation]:
    """Parse a native-format document into observations.

    Parameters
    ----------
    body
        The raw JSON bytes.
    feed_name
        Name recorded on each observation.
    fetched_at, options
        Unused: the native format always carries ``observed_at`` and needs no options.
    """
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        msg = f"not valid JSON: {exc}"
        raise FeedParseError(msg) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("sites"), list):
        msg = "expected an object with a 'sites' list"
        raise FeedParseError(msg)
    parse_timestamp(doc.get("generated_at"), "generated_at")
    return [_site(entry, i, feed_name) for i, entry in enumerate(doc["sites"])]
