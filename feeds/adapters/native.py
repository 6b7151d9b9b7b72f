"""The native WaitLess JSON format (``docs/feeds.md``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import orjson

from feeds.adapters._common import site_id_for, to_utc
from feeds.errors import FeedParseError
from waitless.domain.observation import SERVICE_KINDS, SITE_STATUSES, Observation

# A document stamped further than this after its fetch comes from a broken clock; its
# observed_at values cannot be trusted either. Generous: observed_at itself is judged
# against the region's (minutes-wide) clock_skew_minutes by validation.
MAX_GENERATED_AHEAD = timedelta(hours=1)


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
    return to_utc(parsed, value, where)


def _number_or_none(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{where}: expected a number or null, got {value!r}"
        raise FeedParseError(msg)
    return float(value)


def _site(entry: Any, index: int, feed_name: str,
          options: Mapping[str, Any]) -> Observation | None:
    where = f"sites[{index}]"
    if not isinstance(entry, dict):
        msg = f"{where}: expected an object"
        raise FeedParseError(msg)
    site_id = entry.get("site_id")
    if not isinstance(site_id, str) or not site_id:
        msg = f"{where}: site_id must be a non-empty string"
        raise FeedParseError(msg)
    # A publisher may use its own codes: `sites` maps them like any adapter's, and
    # `ignore_sites` skips units outside the region (an unmapped id stays as published).
    site_id = site_id_for(site_id, options)
    if site_id is None:
        return None
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


# Its own document names sites, services and times; only the shared site options apply.
OPTIONS = frozenset()


def parse(body: bytes, *, feed_name: str = "", fetched_at: datetime | None = None,
          options: Mapping[str, Any] | None = None) -> list[Observation]:
    """Parse a native-format document into observations.

    Parameters
    ----------
    body
        The raw JSON bytes.
    feed_name
        Name recorded on each observation.
    fetched_at
        When the document was fetched; ``generated_at`` more than
        :data:`MAX_GENERATED_AHEAD` after it is a parse error. ``None`` skips that check.
    options
        The feed's options; ``sites`` and ``ignore_sites`` apply (see
        :func:`feeds.adapters._common.site_id_for`). Times always carry an offset here,
        so ``timezone`` does not.
    """
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        msg = f"not valid JSON: {exc}"
        raise FeedParseError(msg) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("sites"), list):
        msg = "expected an object with a 'sites' list"
        raise FeedParseError(msg)
    generated_at = parse_timestamp(doc.get("generated_at"), "generated_at")
    if fetched_at is not None and generated_at - fetched_at > MAX_GENERATED_AHEAD:
        msg = (f"generated_at {generated_at.isoformat()} is "
               f"{(generated_at - fetched_at).total_seconds() / 3600:.0f} h after the fetch "
               f"time {fetched_at.isoformat()}: the source's clock is wrong")
        raise FeedParseError(msg)
    sites = [_site(entry, i, feed_name, options or {}) for i, entry in enumerate(doc["sites"])]
    return [obs for obs in sites if obs is not None]
