"""A feed's health as operators see it in ``/v1/sites``, ``/readyz`` and ``/metrics``.

Shared by the poller and the push endpoint. Rejections are kept per site service while they
last (with the time they started), and a change of reason is logged once, not on every poll.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from waitless.domain.observation import Observation

logger = logging.getLogger(__name__)


# New rejections logged one by one per payload; the rest are one summary line.
MAX_REJECTION_LOG_LINES = 5
_LOG_TEXT_CHARS = 120


def loggable(value: object) -> str:
    """Text from a feed made safe for one log line: control characters (NUL, newlines, ANSI
    escapes) escaped as in ``repr``, and cut to ``_LOG_TEXT_CHARS`` characters."""
    text = str(value)
    if not text.isprintable():
        text = repr(text)[1:-1]
    return text if len(text) <= _LOG_TEXT_CHARS else text[:_LOG_TEXT_CHARS] + "..."


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass
class FeedHealth:
    """Mutable health record of one feed; :meth:`as_dict` is what the live store keeps."""

    feed: str
    last_ok_at: datetime | None = None
    last_payload_at: datetime | None = None
    last_error: str | None = None
    last_error_reason: str | None = None
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    circuit: str = "closed"
    accepted: int = 0
    not_modified: int = 0
    newest_observed_at: datetime | None = None
    last_poll_seconds: float | None = None
    errors_by_reason: Counter[str] = field(default_factory=Counter)
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    rejections: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.last_ok_at is not None and self.consecutive_failures == 0

    def record_success(self, now: datetime, *, not_modified: bool, circuit: str) -> None:
        self.consecutive_failures = 0
        self.last_ok_at = now
        self.circuit = circuit
        self.not_modified += not_modified

    def record_failure(self, message: str, reason: str, now: datetime, *, circuit: str) -> None:
        self.consecutive_failures += 1
        self.last_error, self.last_error_reason, self.last_error_at = message, reason, now
        self.errors_by_reason[reason] += 1
        self.circuit = circuit

    def record_payload(self, accepted: Sequence[Observation], rejected: Sequence[Any],
                       now: datetime) -> None:
        """Count a payload's outcome; ``rejected`` items have site_id, service, reason, detail."""
        self.last_payload_at = now
        self.accepted = len(accepted)
        if accepted:
            newest = max(obs.observed_at for obs in accepted)
            if self.newest_observed_at is None or newest > self.newest_observed_at:
                self.newest_observed_at = newest
        current: dict[str, dict[str, Any]] = {}
        logged = 0
        for r in rejected:
            self.rejected_by_reason[r.reason] += 1
            key = f"{r.site_id}/{r.service or ''}"
            before = self.rejections.get(key)
            same = before is not None and before["reason"] == r.reason
            if not same:
                logged += 1
                # A pushed payload writes these strings: escaped and cut short, and only the
                # first few lines per payload (one push of 10,000 entries is one summary).
                if logged <= MAX_REJECTION_LOG_LINES:
                    logger.warning("feed %s: %s rejected (%s): %s", self.feed, loggable(key),
                                   loggable(r.reason), loggable(r.detail))
            current[key] = {"site_id": r.site_id, "service": r.service, "reason": r.reason,
                            "detail": r.detail, "at": now.isoformat(),
                            "since": before["since"] if same else now.isoformat()}
        if logged > MAX_REJECTION_LOG_LINES:
            logger.warning("feed %s: %d more new rejections in this payload (not logged one by "
                           "one; see /v1/sites)", self.feed, logged - MAX_REJECTION_LOG_LINES)
        gone = self.rejections.keys() - current.keys()
        for key in sorted(gone)[:MAX_REJECTION_LOG_LINES]:
            logger.info("feed %s: %s no longer rejected", self.feed, loggable(key))
        if len(gone) > MAX_REJECTION_LOG_LINES:
            logger.info("feed %s: %d more no longer rejected", self.feed,
                        len(gone) - MAX_REJECTION_LOG_LINES)
        self.rejections = current

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "circuit": self.circuit,
            "last_ok_at": _iso(self.last_ok_at),
            "last_payload_at": _iso(self.last_payload_at),
            "newest_observed_at": _iso(self.newest_observed_at),
            "last_error": self.last_error,
            "last_error_reason": self.last_error_reason,
            "last_error_at": _iso(self.last_error_at),
            "consecutive_failures": self.consecutive_failures,
            "accepted": self.accepted,
            "not_modified": self.not_modified,
            "last_poll_seconds": self.last_poll_seconds,
            "errors_by_reason": dict(self.errors_by_reason),
            "rejected_by_reason": dict(self.rejected_by_reason),
            "rejections": list(self.rejections.values()),
        }
