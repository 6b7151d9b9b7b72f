"""British Columbia-style pushed payloads (sites POST their waits to us).

Shape::

    {"token": "...", "waitTimes": [{"emergencyDepartment": "vgh", "waitTimeMinutes": 42,
                                    "elsMinutes": 180, "status": "busy"}]}

``waitTimeMinutes`` may be null (no figure). ``elsMinutes`` (expected length of stay) is not a
wait and is not stored. ``status`` ``"busy"``/``"normal"`` mean open, ``"closed"`` closed.
There is no timestamp in the payload: ``observed_at`` is the receipt time passed as
``fetched_at`` and ``timestamp_from_source`` is false.

This module only parses and checks tokens; the authenticated HTTP endpoint lives elsewhere.
Use :func:`token_matches` (constant-time) on the token from :func:`push_token` or a header.

Options: ``sites`` (department code -> site id) / ``ignore_sites``, ``service`` (default
``"ed"``).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from feeds.adapters._common import clean_text, load_json, read_wait, service_option, site_id_for
from feeds.errors import FeedParseError
from waitless.domain.observation import Observation

_OPEN_STATUSES = frozenset({"busy", "normal", "open", "quiet"})


# The feed options this format reads (besides feeds.adapters.SHARED_OPTIONS), so that a
# region file's misspelt option is refused at start-up instead of silently ignored.
OPTIONS = frozenset({"service"})


def parse(body: bytes, *, feed_name: str, fetched_at: datetime,
          options: Mapping[str, Any]) -> list[Observation]:
    """Parse a pushed payload; the token is not checked here (see :func:`token_matches`)."""
    doc = _document(body)
    service = service_option(options, "service", "ed")
    observations = []
    for index, entry in enumerate(doc["waitTimes"]):
        where = f"waitTimes[{index}]"
        if not isinstance(entry, dict) or not entry.get("emergencyDepartment"):
            msg = f"{where}: expected an object with 'emergencyDepartment'"
            raise FeedParseError(msg)
        site_id = site_id_for(entry["emergencyDepartment"], options)
        if site_id is None:
            continue
        status = clean_text(entry.get("status") or "").casefold()
        status = "open" if status in _OPEN_STATUSES else status
        wait, kind = read_wait(entry.get("waitTimeMinutes"), default_kind="estimate")
        observations.append(Observation(
            site_id=site_id,
            service=service,
            wait_minutes=None if status == "closed" else wait,
            observed_at=fetched_at,
            status=status if status in ("open", "closed") else "unknown",
            wait_kind=kind,
            feed=feed_name,
            timestamp_from_source=False,
        ))
    return observations


def push_token(body: bytes) -> str | None:
    """The ``token`` a payload carries, or ``None``; raises FeedParseError for a bad body."""
    token = _document(body).get("token")
    return token if isinstance(token, str) else None


def token_matches(presented: str | None, expected: str | Iterable[str]) -> bool:
    """True when ``presented`` equals one of the ``expected`` tokens.

    Compares in constant time (``hmac.compare_digest``) against every expected token, so
    neither the position of a mismatch nor which token matched leaks through timing. An empty
    expected token never matches.
    """
    if presented is None:
        return False
    candidates = [expected] if isinstance(expected, str) else list(expected)
    given = presented.encode("utf-8", "surrogateescape")  # a non-UTF-8 header's own bytes
    matched = False
    for candidate in candidates:
        matched |= bool(candidate) and hmac.compare_digest(given, candidate.encode())
    return matched


def _document(body: bytes) -> dict[str, Any]:
    doc = load_json(body)
    if not isinstance(doc, dict) or not isinstance(doc.get("waitTimes"), list):
        msg = "expected an object with a 'waitTimes' list"
        raise FeedParseError(msg)
    return doc
