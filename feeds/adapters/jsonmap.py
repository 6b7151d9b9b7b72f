"""A configurable JSON mapping, for trusts that publish their own JSON shape.

Options (region file, on the ``[[feeds]]`` entry)::

    list_path = "data.departments"   # dotted path to the list of entries ("" = the document)
    site_field = "name"              # field naming the site (mapped through `sites`)
    wait_field = "wait"              # number or text ("3 hr 19 min", "Over 3 hours")
    wait_unit = "minutes"            # unit of a bare number: minutes | hours
    wait_kind = "estimate"           # meaning of an unqualified number (WAIT_KINDS)
    timestamp_field = "updated"      # per entry; or timestamp_path = "meta.updated" (document)
    timestamp_format = "iso"         # iso | epoch_s | epoch_ms | a strptime pattern
    timezone = "Europe/London"       # for timestamps without an offset
    service = "utc"                  # fixed service; or service_field + service_map
    service_field = "type"
    service_map = { "A&E" = "ed", "UTC" = "utc" }   # unmapped: ed/utc/miu, else unknown_service
    status_field = "state"           # optional, with status_map = { "Closed" = "closed" }
    patients_field = "waiting"       # optional; a count that is not one is invalid_field
    sites = { "Maidstone" = "RWF03" }
    ignore_sites = ["Some Other Hospital"]

With neither ``timestamp_field`` nor ``timestamp_path`` the fetch time is used and the
observation says ``timestamp_from_source = false``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from feeds.adapters._common import (
    clean_text,
    dig,
    load_json,
    option,
    parse_time,
    read_count,
    read_wait,
    service_option,
    site_id_for,
)
from feeds.errors import FeedParseError
from waitless.domain.observation import SERVICE_KINDS, SITE_STATUSES, Observation

# The feed options this format reads (besides feeds.adapters.SHARED_OPTIONS), so that a
# region file's misspelt option is refused at start-up instead of silently ignored.
OPTIONS = frozenset({
    "list_path", "site_field", "wait_field", "wait_kind", "wait_unit", "service", "service_field",
    "service_map", "status_field", "status_map", "patients_field", "timestamp_path",
    "timestamp_field", "timestamp_format", "timezone",
})


def parse(body: bytes, *, feed_name: str, fetched_at: datetime,
          options: Mapping[str, Any]) -> list[Observation]:
    """Map a JSON document to observations as the feed's options describe."""
    doc = load_json(body)
    entries = dig(doc, option(options, "list_path", str, ""), "list_path")
    if isinstance(entries, dict):
        entries = list(entries.values())
    if not isinstance(entries, list):
        msg = f"list_path: expected a list of entries, got {type(entries).__name__}"
        raise FeedParseError(msg)
    time_format = option(options, "timestamp_format", str, "iso")
    timezone = option(options, "timezone", str, None)
    doc_time = None
    if "timestamp_path" in options:
        path = option(options, "timestamp_path", str)
        doc_time = parse_time(dig(doc, path, "timestamp_path"), time_format, timezone, path)
    observations = []
    for index, entry in enumerate(entries):
        where = f"entry {index}"
        if not isinstance(entry, dict):
            msg = f"{where}: expected an object, got {type(entry).__name__}"
            raise FeedParseError(msg)
        site_id = site_id_for(_field(entry, options, "site_field", where), options)
        if site_id is None:
            continue
        observed_at, from_source = doc_time or fetched_at, doc_time is not None
        if "timestamp_field" in options:
            field = option(options, "timestamp_field", str)
            observed_at = parse_time(dig(entry, field, where), time_format, timezone,
                                     f"{where}.{field}")
            from_source = True
        wait_path = option(options, "wait_field", str, required=True)
        # An entry without the wait field published no figure; that is data, not a bad payload.
        wait, kind = read_wait(
            dig(entry, wait_path, where) if _has(entry, wait_path) else None,
            default_kind=option(options, "wait_kind", str, "estimate"),
            default_unit=option(options, "wait_unit", str, "minutes"))
        observations.append(Observation(
            site_id=site_id,
            service=_service(entry, options, where),
            wait_minutes=wait,
            observed_at=observed_at,
            status=_status(entry, options, where),
            wait_kind=kind,
            patients_waiting=_patients(entry, options),
            feed=feed_name,
            timestamp_from_source=from_source,
        ))
    return observations


def _field(entry: dict[str, Any], options: Mapping[str, Any], key: str, where: str) -> Any:
    return dig(entry, option(options, key, str, required=True), where)


def _has(entry: dict[str, Any], path: str) -> bool:
    try:
        dig(entry, path, "")
    except FeedParseError:
        return False
    return True


def _service(entry: dict[str, Any], options: Mapping[str, Any], where: str) -> str | None:
    if "service_field" not in options:
        return service_option(options, "service", None)
    raw = clean_text(_field(entry, options, "service_field", where))
    service_map = option(options, "service_map", dict, {})
    if raw in service_map:
        if service_map[raw] not in SERVICE_KINDS:  # the region file is wrong, not the entry
            msg = (f"feed option 'service_map' maps {raw!r} to {service_map[raw]!r}, "
                   f"not one of {', '.join(SERVICE_KINDS)}")
            raise FeedParseError(msg)
        return service_map[raw]
    # An unmapped value costs its entry only: validation rejects it as unknown_service.
    return raw.lower() if raw.lower() in SERVICE_KINDS else raw


def _status(entry: dict[str, Any], options: Mapping[str, Any], where: str) -> str:
    if "status_field" not in options:
        return "open"
    raw = clean_text(_field(entry, options, "status_field", where))
    status = option(options, "status_map", dict, {}).get(raw, raw.lower())
    return status if status in SITE_STATUSES else "unknown"


def _patients(entry: dict[str, Any], options: Mapping[str, Any]) -> Any:
    if "patients_field" not in options:
        return None
    path = option(options, "patients_field", str)
    # Like the wait: an entry without the field published no count.
    return read_count(dig(entry, path, "") if _has(entry, path) else None)
