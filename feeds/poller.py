"""One poller per feed: it owns the feed's schedule, timeout, backoff and last-good data.

Shape after Home Assistant's update coordinator: the loop never dies; the next poll is
scheduled only after the current one ends, so polls never overlap; failures back off
exponentially (capped) with jitter; expected errors are logged when health flips, not on
every poll.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp

from feeds.adapters import get_adapter
from feeds.errors import FeedError, FeedParseError, FeedUnavailable
from feeds.observation import Observation
from waitless.metrics import Metrics
from waitless.region import FeedConfig

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 600.0
MAX_BODY_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Rejection:
    """An observation kept out of the live store, and why (``reason`` is a metric label)."""

    site_id: str
    service: str | None
    reason: str
    detail: str = ""


Validator = Callable[[Sequence[Observation]], tuple[list[Observation], list[Rejection]]]
Sink = Callable[[list[Observation]], Awaitable[None]]
StatusSink = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class FeedHealth:
    last_ok_at: datetime | None = None
    last_error: str | None = None
    last_error_reason: str | None = None
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    accepted: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.last_ok_at is not None and self.consecutive_failures == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "last_ok_at": self.last_ok_at.isoformat() if self.last_ok_at else None,
            "last_error": self.last_error,
            "last_error_reason": self.last_error_reason,
            "last_error_at": self.last_error_at.isoformat() if self.last_error_at else None,
            "consecutive_failures": self.consecutive_failures,
            "accepted": self.accepted,
            "rejections": [
                {"site_id": r.site_id, "service": r.service, "reason": r.reason,
                 "detail": r.detail} for r in self.rejections
            ],
        }


def _accept_all(observations: Sequence[Observation]) -> tuple[list[Observation], list[Rejection]]:
    return list(observations), []


class FeedPoller:
    """Polls one feed on its interval and hands validated observations to ``sink``.

    Parameters
    ----------
    feed
        The feed's configuration (URL, format, interval and timeout in seconds).
    session
        A shared aiohttp client session.
    sink
        Awaited with the accepted observations after every successful poll.
    validate
        Splits parsed observations into accepted and rejected.
    status_sink
        Awaited with the feed's health after every poll.
    """

    def __init__(self, feed: FeedConfig, session: aiohttp.ClientSession, sink: Sink, *,
                 validate: Validator = _accept_all, status_sink: StatusSink | None = None,
                 metrics: Metrics | None = None, rng: random.Random | None = None) -> None:
        if not feed.url:
            msg = f"feed {feed.name!r} has no url to poll"
            raise ValueError(msg)
        self.feed = feed
        self.health = FeedHealth()
        self._session = session
        self._sink = sink
        self._validate = validate
        self._status_sink = status_sink
        self._metrics = metrics
        self._adapter = get_adapter(feed.format)
        self._rng = rng or random.Random()

    async def _fetch(self) -> bytes:
        timeout = aiohttp.ClientTimeout(total=self.feed.timeout_seconds)
        try:
            async with self._session.get(self.feed.url, timeout=timeout) as response:
                if response.status != 200:
                    msg = f"HTTP {response.status} from {self.feed.url}"
                    raise FeedUnavailable(msg, reason=f"http_{response.status // 100}xx")
                body = await response.content.read(MAX_BODY_BYTES + 1)
        except TimeoutError as exc:
            msg = f"no answer from {self.feed.url} within {self.feed.timeout_seconds} s"
            raise FeedUnavailable(msg, reason="timeout") from exc
        except aiohttp.ClientError as exc:
            msg = f"cannot fetch {self.feed.url}: {exc}"
            raise FeedUnavailable(msg, reason="connection") from exc
        if len(body) > MAX_BODY_BYTES:
            msg = f"body larger than {MAX_BODY_BYTES} bytes"
            raise FeedUnavailable(msg, reason="oversized")
        return body

    async def poll_once(self) -> list[Observation]:
        """Fetch, parse, validate and hand on one payload; raise ``FeedError`` on failure."""
        started = time.monotonic()
        body = await self._fetch()
        fetched_at = datetime.now(UTC)
        observations = self._adapter(body, feed_name=self.feed.name, fetched_at=fetched_at,
                                     options=self.feed.options)
        accepted, rejected = self._validate(observations)
        await self._sink(accepted)
        if self._metrics:
            self._metrics.feed_poll_latency.labels(self.feed.name).observe(
                time.monotonic() - started)
            self._metrics.observations_accepted.labels(self.feed.name).inc(len(accepted))
            for rejection in rejected:
                self._metrics.observations_rejected.labels(self.feed.name,
                                                           rejection.reason).inc()
        for rejection in rejected:
            logger.warning("feed %s: rejected %s/%s: %s %s", self.feed.name, rejection.site_id,
                           rejection.service, rejection.reason, rejection.detail)
        self.health.accepted = len(accepted)
        self.health.rejections = rejected
        return accepted

    def next_delay_seconds(self) -> float:
        """Seconds until the next poll: the interval when healthy, capped backoff otherwise."""
        base = self.feed.interval_seconds
        if self.health.consecutive_failures:
            base = min(base * 2 ** (self.health.consecutive_failures - 1), MAX_BACKOFF_SECONDS)
            base = max(base, min(self.feed.interval_seconds, 1.0))
        return base * (1 + self._rng.uniform(-0.1, 0.1))

    async def poll_and_record(self) -> bool:
        """One poll with its error handling and health bookkeeping; True on success."""
        was_ok = self.health.ok or self.health.last_ok_at is None
        try:
            await self.poll_once()
        except FeedError as exc:
            reason = exc.reason if not isinstance(exc, FeedParseError) else "parse"
            self._record_failure(str(exc), reason, log=was_ok)
        except Exception as exc:  # the loop must survive anything an adapter or sink does
            logger.exception("feed %s: unexpected failure", self.feed.name)
            self._record_failure(f"{type(exc).__name__}: {exc}", "internal", log=False)
        else:
            if self.health.consecutive_failures:
                logger.info("feed %s recovered", self.feed.name)
            self.health.consecutive_failures = 0
            self.health.last_ok_at = datetime.now(UTC)
            if self._metrics:
                self._metrics.feed_polls.labels(self.feed.name, "ok").inc()
                self._metrics.feed_last_success.labels(self.feed.name).set(time.time())
        await self._report_status()
        return self.health.consecutive_failures == 0

    def _record_failure(self, message: str, reason: str, *, log: bool) -> None:
        self.health.consecutive_failures += 1
        self.health.last_error = message
        self.health.last_error_reason = reason
        self.health.last_error_at = datetime.now(UTC)
        if log:
            logger.warning("feed %s failing: %s", self.feed.name, message)
        if self._metrics:
            self._metrics.feed_polls.labels(self.feed.name, "error").inc()
            self._metrics.feed_errors.labels(self.feed.name, reason).inc()

    async def _report_status(self) -> None:
        if self._status_sink is None:
            return
        try:
            await self._status_sink(self.health.as_dict())
        except Exception:  # health reporting must not stop polling
            logger.exception("feed %s: could not record status", self.feed.name)

    async def run(self) -> None:
        """Poll forever (until cancelled)."""
        while True:
            await self.poll_and_record()
            await asyncio.sleep(self.next_delay_seconds())
