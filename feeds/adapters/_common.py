"""Helpers the adapters share: options, JSON, site names, waits and timestamps.

Adapters translate structure; :mod:`feeds.validate` judges values. So a site name missing
from the feed's ``sites`` table is passed through unchanged as the site id (validation rejects
it as ``unknown_site``), and a wait the parser cannot read is passed through as published
(validation rejects it as ``not_numeric`` or ``negative_wait``), as is a patient count that is
not a whole number (``invalid_field``). One odd cell costs one site,
never the whole payload, and nothing is dropped silently.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from feeds.errors import FeedParseError
from feeds.waitparse import WaitParseError, is_no_data, parse_wait
from waitless.domain.observation import SERVICE_KINDS


def load_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        msg = f"not valid JSON: {exc}"
        raise FeedParseError(msg) from None


def option(options: Mapping[str, Any], key: str, kind: type | tuple[type, ...],
           default: Any = None, *, required: bool = False) -> Any:
    """Read one adapter option, checking its type; a wrong option is a parse error."""
    if key not in options:
        if required:
            msg = f"feed option {key!r} is required for this format"
            raise FeedParseError(msg)
        return default
    value = options[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # True/False are ints to Python, never to a feed option.
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        msg = f"feed option {key!r} has the wrong type: {value!r}"
        raise FeedParseError(msg)
    return value


def service_option(options: Mapping[str, Any], key: str, default: str | None) -> str | None:
    """A service kind option; ``""`` means "the site's main service"."""
    value = option(options, key, str, default)
    if value == "":
        return None
    if value is not None and value not in SERVICE_KINDS:
        msg = f"feed option {key!r} must be one of {', '.join(SERVICE_KINDS)}, got {value!r}"
        raise FeedParseError(msg)
    return value


def clean_text(value: Any) -> str:
    """Source text with HTML entities decoded and spaces collapsed."""
    return " ".join(html.unescape(str(value)).split())


def site_id_for(name: Any, options: Mapping[str, Any]) -> str | None:
    """The region site id for a source's site name or code.

    Returns ``None`` for names listed in ``ignore_sites`` (sites outside the region, said
    out loud in the region file); an unmapped name comes back as itself so validation can
    report it as ``unknown_site``.
    """
    sites = option(options, "sites", dict, {})
    ignored = option(options, "ignore_sites", list, [])
    text = clean_text(name)
    if text in ignored:
        return None
    return str(sites.get(text, text))


def read_wait(value: Any, *, default_kind: str, default_unit: str = "minutes") -> tuple[Any, str]:
    """``(wait_minutes, wait_kind)``; unreadable values pass through as published."""
    parse_wait(None, default_kind=default_kind, default_unit=default_unit)  # bad options raise
    try:
        parsed = parse_wait(value, default_kind=default_kind, default_unit=default_unit)
    except WaitParseError:
        return value, default_kind
    if parsed is None:
        return None, default_kind
    return parsed.wait_minutes, parsed.wait_kind


def read_count(value: Any) -> Any:
    """A patient count: ``None`` when none is published (null, "-", "N/A", an empty cell).

    Digit strings and whole-number floats become ints; anything else ("-3", 3.5, "lots") is
    passed through as published, so validation rejects that entry as ``invalid_field``
    instead of the count quietly becoming "no figure".
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = clean_text(value)
        if is_no_data(text):
            return None
        # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
        return int(text) if text.isascii() and text.isdigit() else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        msg = f"feed option 'timezone': unknown timezone {name!r}"
        raise FeedParseError(msg) from None


def parse_time(value: Any, time_format: str, timezone: str | None, where: str) -> datetime:
    """A source timestamp as an aware UTC datetime.

    Parameters
    ----------
    value
        The published value.
    time_format
        ``"iso"``, ``"epoch_s"``, ``"epoch_ms"`` (seconds / milliseconds since 1970, UTC)
        or a ``strptime`` pattern.
    timezone
        IANA name used for times published without an offset; required for those.
    where
        Names the field in error messages.
    """
    if time_format in ("epoch_s", "epoch_ms"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            msg = f"{where}: expected epoch {time_format[6:]} as a number, got {value!r}"
            raise FeedParseError(msg)
        seconds = value / 1000 if time_format == "epoch_ms" else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            msg = f"{where}: {value!r} is not a usable epoch time"
            raise FeedParseError(msg) from None
    if not isinstance(value, str):
        msg = f"{where}: expected a timestamp string, got {value!r}"
        raise FeedParseError(msg)
    text = clean_text(value)
    try:
        if time_format == "iso":
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        else:
            parsed = datetime.strptime(text, time_format)
    except ValueError:
        msg = f"{where}: {value!r} does not match timestamp format {time_format!r}"
        raise FeedParseError(msg) from None
    if parsed.tzinfo is None:
        if not timezone:
            msg = f"{where}: {value!r} has no UTC offset; set the feed option 'timezone'"
            raise FeedParseError(msg)
        parsed = parsed.replace(tzinfo=zone(timezone))
    return to_utc(parsed, value, where)


def to_utc(parsed: datetime, value: Any, where: str) -> datetime:
    """``parsed`` in UTC; a time that falls outside years 1-9999 there is a parse error.

    ``9999-12-31T23:59:59-12:00`` and ``0001-01-01T00:00:00+01:00`` parse, but their UTC
    instant is not a Python datetime, so ``astimezone`` raises OverflowError.
    """
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        msg = f"{where}: {value!r} is outside the years 1-9999 in UTC"
        raise FeedParseError(msg) from None


def dig(doc: Any, path: str, where: str) -> Any:
    """Follow a dotted path (``"data.sites"``, ``"items.0.wait"``); ``""`` is the document."""
    current = doc
    for part in [p for p in path.split(".") if p]:
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            msg = f"{where}: path {path!r} not found (stopped at {part!r})"
            raise FeedParseError(msg)
    return current
