"""Northern Ireland emergency department waits (ArcGIS FeatureServer query JSON).

Shape (``NI_Hospital_Waiting_Times/FeatureServer/0/query?...&f=json``)::

    {"features": [{"attributes": {"OBJECTID": 1, "Hospital": "Antrim Area Hospital",
                                  "Status": "Open", "WaitTimeInt": 180, "WaitTime": "Over 3 hours",
                                  "OpeningHours": "24 hours", "Last_Updated": 1771246800000}}]}

``WaitTimeInt`` gives the minutes; the display string ``WaitTime`` gives the meaning
("Over 3 hours" is a lower bound, "Up to 45 minutes" an upper bound) and the minutes when the
integer is null. ``Status = "Closed"`` closes the site (no wait). ``Last_Updated`` is epoch
**milliseconds** (UTC). ArcGIS reports failures inside a 200 response as ``{"error": {...}}``;
that is a parse error naming the ArcGIS code and message.

Options: ``sites`` / ``ignore_sites``, ``service`` (default: the site's main service),
``wait_kind`` (default ``"estimate"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from feeds.adapters._common import (
    clean_text,
    load_json,
    option,
    parse_time,
    read_wait,
    service_option,
    site_id_for,
)
from feeds.errors import FeedParseError
from waitless.domain.observation import Observation

# The feed options this format reads (besides feeds.adapters.SHARED_OPTIONS), so that a
# region file's misspelt option is refused at start-up instead of silently ignored.
OPTIONS = frozenset({"service", "wait_kind"})


def parse(body: bytes, *, feed_name: str, fetched_at: datetime,
          options: Mapping[str, Any]) -> list[Observation]:
    """Parse an ArcGIS feature query of NI hospital waiting times."""
    doc = load_json(body)
    if isinstance(doc, dict) and isinstance(doc.get("error"), dict):
        error = doc["error"]
        msg = f"ArcGIS error {error.get('code')}: {error.get('message')}"
        raise FeedParseError(msg)
    if not isinstance(doc, dict) or not isinstance(doc.get("features"), list):
        msg = "expected an object with a 'features' list"
        raise FeedParseError(msg)
    default_kind = option(options, "wait_kind", str, "estimate")
    service = service_option(options, "service", None)
    observations = []
    for index, feature in enumerate(doc["features"]):
        where = f"features[{index}]"
        attributes = feature.get("attributes") if isinstance(feature, dict) else None
        if not isinstance(attributes, dict) or not attributes.get("Hospital"):
            msg = f"{where}: expected 'attributes' with a 'Hospital'"
            raise FeedParseError(msg)
        site_id = site_id_for(attributes["Hospital"], options)
        if site_id is None:
            continue
        status = _status(attributes.get("Status"))
        wait, kind = read_wait(attributes.get("WaitTime"), default_kind=default_kind)
        if attributes.get("WaitTimeInt") is not None:
            wait = read_wait(attributes["WaitTimeInt"], default_kind=kind)[0]
        if status == "closed":
            wait = None
        stamp = attributes.get("Last_Updated")
        observations.append(Observation(
            site_id=site_id,
            service=service,
            wait_minutes=wait,
            observed_at=(parse_time(stamp, "epoch_ms", None, f"{where}.Last_Updated")
                         if stamp is not None else fetched_at),
            status=status,
            wait_kind=kind,
            feed=feed_name,
            timestamp_from_source=stamp is not None,
        ))
    return observations


def _status(value: Any) -> str:
    text = clean_text(value).casefold() if value is not None else ""
    if text.startswith("closed"):
        return "closed"
    if text.startswith("open"):
        return "open"
    return "unknown"
