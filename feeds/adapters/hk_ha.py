"""Hong Kong Hospital Authority A&E waiting times (``aedwtdata2`` and the older feeds).

Current feed (``aedwtdata2-en.json``)::

    {"waitTime": [{"hospName": "Kwong Wah Hospital", "t3p50": "35 minutes", "t3p95": "79 minutes",
                   "t45p50": "5 hours", "t45p95": "9.5 hours", ...}],
     "updateTime": "16/10/2025 9:15AM"}

Each hospital gives two observations: the urgent stream (triage 3, minutes) for
``urgent_service`` (default ``"ed"``) and the semi/non-urgent "minor" stream (triage 4-5,
hours rounded *up* to 0.5 h) for ``minor_service`` (default ``"utc"``). ``wait_minutes`` is the
median (``wait_kind = "median"``), ``wait_p95_minutes`` the 95th percentile. ``streams``
(default ``["urgent", "minor"]``) picks which to emit.

Older feeds: ``{"waitTime": [{"hospName", "topWait"}]}`` and
``{"result": {"hospData": [{"hospNameEn", "topWait", "hospTimeEn"}], "timeEn"}}``. ``topWait``
is the *longest* wait (``wait_kind = "longest"``, or ``"lower_bound"`` for "Over 3 hours"),
reported for ``service`` (default: the site's main service).

Quirks handled: every value is a string; ``"-"`` means missing; ``updateTime`` is Hong Kong
local time without zero padding (option ``timezone``, default ``"Asia/Hong_Kong"``);
``waitTime`` arrives as an object instead of an array from some mirrors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from feeds.adapters._common import (
    load_json,
    option,
    parse_time,
    read_wait,
    service_option,
    site_id_for,
)
from feeds.errors import FeedParseError
from waitless.domain.observation import Observation

# "16/2/2026 1:00PM": no zero padding, no timezone; tolerate a space before AM/PM and the
# oldest feed's "Updated at " before it. Nothing else: a time with an offset or other words
# around it ("... +0000") is not what the feed promises and would be read as Hong Kong time.
_HK_TIME = re.compile(r"(?:updated at\s+)?(\d{1,2}/\d{1,2}/\d{4})\s+(\d{1,2}:\d{2})\s*([ap]m)",
                      re.IGNORECASE)
_STREAMS = {"urgent": ("t3p50", "t3p95", "minutes"), "minor": ("t45p50", "t45p95", "hours")}


# The feed options this format reads (besides feeds.adapters.SHARED_OPTIONS), so that a
# region file's misspelt option is refused at start-up instead of silently ignored.
OPTIONS = frozenset({"streams", "site_key", "service", "timezone",
                     *(f"{stream}_service" for stream in _STREAMS)})


def parse(body: bytes, *, feed_name: str, fetched_at: datetime,
          options: Mapping[str, Any]) -> list[Observation]:
    """Parse any of the Hong Kong HA A&E waiting-time JSON feeds."""
    doc = load_json(body)
    if not isinstance(doc, dict):
        msg = f"expected a JSON object, got {type(doc).__name__}"
        raise FeedParseError(msg)
    timezone = option(options, "timezone", str, "Asia/Hong_Kong")
    if isinstance(doc.get("result"), dict):
        return _oldest(doc["result"], feed_name, timezone, options)
    if "waitTime" not in doc:
        msg = "expected 'waitTime' (aedwtdata/aedwtdata2) or 'result' (oldest feed)"
        raise FeedParseError(msg)
    hospitals = _entries(doc["waitTime"], "waitTime")
    observed_at = _hk_time(doc.get("updateTime"), timezone, "updateTime")
    observations: list[Observation] = []
    for index, hospital in enumerate(hospitals):
        site_id = site_id_for(_text(hospital, "hospName", index), options)
        if site_id is None:
            continue
        if "topWait" in hospital:
            observations.append(_top_wait(hospital["topWait"], site_id, observed_at,
                                          feed_name, options))
            continue
        for stream in _streams(options):
            p50_key, p95_key, unit = _STREAMS[stream]
            wait, kind = read_wait(hospital.get(p50_key), default_kind="median",
                                   default_unit=unit)
            p95, _ = read_wait(hospital.get(p95_key), default_kind="p95", default_unit=unit)
            observations.append(Observation(
                site_id=site_id,
                service=service_option(options, f"{stream}_service",
                                       "ed" if stream == "urgent" else "utc"),
                wait_minutes=wait, observed_at=observed_at, wait_kind=kind,
                feed=feed_name, wait_p95_minutes=p95,
            ))
    return observations


def _entries(value: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        # Some mirrors send one hospital object, others an object keyed by position.
        value = [value] if "hospName" in value or "hospNameEn" in value else list(value.values())
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        msg = f"{where}: expected a list of hospital objects"
        raise FeedParseError(msg)
    return value


def _text(hospital: dict[str, Any], key: str, index: int) -> str:
    value = hospital.get(key)
    if not isinstance(value, str) or not value.strip():
        msg = f"hospital {index}: missing {key!r}"
        raise FeedParseError(msg)
    return value


def _streams(options: Mapping[str, Any]) -> list[str]:
    streams = option(options, "streams", list, list(_STREAMS))
    unknown = [s for s in streams if s not in _STREAMS]
    if unknown:
        msg = f"feed option 'streams': unknown stream(s) {unknown}; known: {list(_STREAMS)}"
        raise FeedParseError(msg)
    return streams


def _hk_time(value: Any, timezone: str, where: str) -> datetime:
    match = _HK_TIME.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        msg = f"{where}: {value!r} is not a Hong Kong 'd/m/yyyy h:mmAM' time"
        raise FeedParseError(msg)
    text = f"{match.group(1)} {match.group(2)}{match.group(3).upper()}"
    return parse_time(text, "%d/%m/%Y %I:%M%p", timezone, where)


def _top_wait(value: Any, site_id: str, observed_at: datetime, feed_name: str,
              options: Mapping[str, Any]) -> Observation:
    wait, kind = read_wait(value, default_kind="longest")
    return Observation(site_id=site_id, service=service_option(options, "service", None),
                       wait_minutes=wait, observed_at=observed_at, wait_kind=kind,
                       feed=feed_name)


def _oldest(result: dict[str, Any], feed_name: str, timezone: str,
            options: Mapping[str, Any]) -> list[Observation]:
    hospitals = _entries(result.get("hospData"), "result.hospData")
    site_key = option(options, "site_key", str, "hospNameEn")
    observations = []
    for index, hospital in enumerate(hospitals):
        site_id = site_id_for(_text(hospital, site_key, index), options)
        if site_id is None:
            continue
        stamp = hospital.get("hospTimeEn") or result.get("timeEn")
        observed_at = _hk_time(stamp, timezone, f"hospital {index} time")
        observations.append(_top_wait(hospital.get("topWait"), site_id, observed_at,
                                      feed_name, options))
    return observations
