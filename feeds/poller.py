"""One poller per feed: it owns the feed's schedule, timeout, retries, circuit and last-good data.

Shape after Home Assistant's update coordinator: the loop never dies; the next poll is
scheduled only after the current one ends, so polls never overlap; transient failures are
retried within a poll with exponential backoff and jitter, failed polls push the next poll
back exponentially (capped), and after ``circuit_open_after`` failed polls in a row the circuit
opens: no requests until ``circuit_cooldown_seconds`` have passed, then one half-open probe.
Requests are conditional (``If-None-Match`` / ``If-Modified-Since`` from the last good 200);
a 304 is a success with nothing new. ``Retry-After`` on 429/503 is honoured. Expected errors
are logged when health, circuit or a site's rejection reason changes, not on every poll.

Per-feed poller options (keys on the feed's ``[[feeds]]`` entry, ignored by adapters) are
listed in :data:`POLLER_OPTIONS`; defaults are :class:`PollerSettings`' (``docs/feeds.md``).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp

from feeds.errors import FeedError, FeedUnavailable
from feeds.health import FeedHealth
from feeds.ingest import FeedIngest
from feeds.metrics import FeedMetrics
from feeds.schedule import CircuitBreaker, PollerSettings, retry_after_seconds
from waitless.domain.errors import ConfigError, StoreError
from waitless.domain.observation import Observation

logger = logging.getLogger(__name__)

_TRANSIENT = frozenset({"timeout", "connection", "http_5xx"})


class FeedPoller:
    """Polls one feed on its interval and hands each payload to its :class:`FeedIngest`.

    Parameters
    ----------
    ingest
        The feed's pipeline into the live store (its feed, validation limits, health).
    session
        A shared aiohttp client session.
    metrics
        Poll, error, retry and latency counters (optional).
    monotonic
        Seconds on a monotonic clock, for scheduling, backoff and the circuit breaker (tests
        pass a clock they move by hand).
    sleep
        Awaited to wait between retries and polls (tests pass one that advances their clock).
    """

    def __init__(self, ingest: FeedIngest, session: aiohttp.ClientSession, *,
                 metrics: FeedMetrics | None = None, rng: random.Random | None = None,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        feed = ingest.feed
        if not feed.url:
            msg = f"feed {feed.name!r} has no url to poll"
            raise ConfigError(msg)
        self.feed = feed
        self.ingest = ingest
        self.settings = PollerSettings.from_options(feed.options)
        self.circuit = CircuitBreaker(self.settings.circuit_open_after,
                                      self.settings.circuit_cooldown_seconds)
        self._session = session
        self._validation = ingest.region.validation
        # Two regions may name a feed alike: every series says whose feed it is.
        self._labels = (ingest.region.name, feed.name)
        self._metrics = metrics
        self._clock = ingest.clock
        self._monotonic = monotonic
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._etag: str | None = None
        # True while the live store refuses writes (not a failure of the feed itself).
        self.store_failing = False
        self._last_modified: str | None = None
        self._not_before = 0.0  # monotonic; set by Retry-After

    @property
    def health(self) -> FeedHealth:
        return self.ingest.health

    @property
    def last_good(self) -> dict[str, Observation]:
        return self.ingest.last_good

    def _jittered(self, seconds: float) -> float:
        return seconds * (1 + self._rng.uniform(-self.settings.jitter, self.settings.jitter))

    async def _fetch_once(self) -> tuple[bytes, str | None, int | None, Any] | None:
        """One request: ``None`` for 304, else (body, content type, length, headers)."""
        headers = {}
        if self._etag:
            headers["If-None-Match"] = self._etag
        if self._last_modified:
            headers["If-Modified-Since"] = self._last_modified
        timeout = aiohttp.ClientTimeout(total=self.feed.timeout_seconds)
        limit = self._validation.max_body_bytes + 1
        try:
            async with self._session.get(self.feed.url, timeout=timeout,
                                         headers=headers) as response:
                if response.status == 304:
                    return None
                if response.status != 200:
                    # Retry-After dates are real time, whatever clock validation uses.
                    raise _http_error(response, self.feed.url, datetime.now(UTC))
                chunks, size = [], 0
                while size < limit:
                    chunk = await response.content.read(limit - size)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
                return (b"".join(chunks), response.headers.get("Content-Type"),
                        response.content_length, response.headers)
        except TimeoutError as exc:
            msg = f"no answer from {self.feed.url} within {self.feed.timeout_seconds} s"
            raise FeedUnavailable(msg, reason="timeout") from exc
        except aiohttp.ClientError as exc:
            msg = f"cannot fetch {self.feed.url}: {exc}"
            raise FeedUnavailable(msg, reason="connection") from exc

    async def _fetch(self, *, retries: int) -> tuple[bytes, str | None, int | None, Any] | None:
        """Fetch with in-poll retries (exponential backoff, jitter) for transient errors."""
        attempt = 0
        while True:
            try:
                return await self._fetch_once()
            except FeedUnavailable as exc:
                if (attempt == retries or exc.reason not in _TRANSIENT
                        or exc.retry_after_seconds is not None):
                    raise
                if self._metrics:
                    self._metrics.feed_retries.labels(*self._labels, exc.reason).inc()
                delay = min(self.settings.retry_base_seconds * 2 ** attempt,
                            self.feed.interval_seconds / 2)
                await self._sleep(self._jittered(delay))
                attempt += 1

    async def poll_once(self, *, retries: int | None = None) -> list[Observation] | None:
        """Fetch one payload and hand it to the pipeline.

        Returns the accepted observations, or ``None`` when the server answered 304.
        Raises ``FeedError`` on failure.
        """
        fetched = await self._fetch(retries=self.settings.retries if retries is None else retries)
        if fetched is None:
            return None
        body, content_type, content_length, headers = fetched
        result = await self.ingest.accept(body, content_type=content_type,
                                          content_length=content_length)
        self._etag = headers.get("ETag")
        self._last_modified = headers.get("Last-Modified")
        return result.accepted

    def next_delay_seconds(self) -> float:
        """Seconds until the next poll: interval, backoff, Retry-After or circuit cool-down."""
        now = self._monotonic()
        if self.circuit.state == "open":
            return self.circuit.seconds_until_probe(now) + self._rng.uniform(0, 0.05)
        base = self.feed.interval_seconds
        failures = self.health.consecutive_failures
        if failures:
            base = min(base * 2 ** (failures - 1), self.settings.backoff_max_seconds)
            base = max(base, min(self.feed.interval_seconds, 1.0))
        return max(self._jittered(base), self._not_before - now)

    async def poll_and_record(self) -> bool:
        """One poll with its error handling and health bookkeeping; True on success."""
        now_mono = self._monotonic()
        if not self.circuit.allow(now_mono):
            return False
        probing = self.circuit.state == "half_open"
        if probing:
            logger.info("feed %s: circuit half-open, probing", self.feed.name)
        started = self._monotonic()
        try:
            result = await self.poll_once(retries=0 if probing else None)
        except FeedError as exc:
            retry_after = getattr(exc, "retry_after_seconds", None)  # FeedUnavailable only
            if retry_after is not None:
                wait = min(retry_after, self.settings.retry_after_max_seconds)
                self._not_before = self._monotonic() + wait
            self._record_failure(str(exc), exc.reason)
        except StoreError as exc:
            # The feed answered; our store did not. Not the feed's failure: its breaker and
            # backoff stay as they are, and the next poll fetches in full (no ETag) and writes
            # the current state again, whatever the store lost meanwhile.
            self._store_lost(exc)
        except Exception as exc:  # the loop must survive anything an adapter or sink does
            logger.exception("feed %s: unexpected failure", self.feed.name)
            self._record_failure(f"{type(exc).__name__}: {exc}", "internal")
        else:
            self._record_success(result is None)
        if self._metrics:
            self._metrics.feed_poll_latency.labels(*self._labels).observe(
                self._monotonic() - started)
        self.health.last_poll_seconds = round(self._monotonic() - started, 4)
        await self._report_status()
        return self.health.consecutive_failures == 0

    def _record_success(self, not_modified: bool) -> None:
        if self.health.consecutive_failures:
            logger.info("feed %s recovered after %d failed polls", self.feed.name,
                        self.health.consecutive_failures)
        if self.circuit.state != "closed":
            logger.info("feed %s: circuit closed", self.feed.name)
        self.circuit.record_success()
        self.health.record_success(self._clock(), not_modified=not_modified,
                                   circuit=self.circuit.state)
        if self._metrics:
            outcome = "not_modified" if not_modified else "ok"
            self._metrics.feed_polls.labels(*self._labels, outcome).inc()

    def _record_failure(self, message: str, reason: str) -> None:
        was_ok = self.health.consecutive_failures == 0
        before = self.circuit.state
        self.circuit.record_failure(self._monotonic())
        self.health.record_failure(message, reason, self._clock(), circuit=self.circuit.state)
        if was_ok:
            logger.warning("feed %s failing (%s): %s", self.feed.name, reason, message)
        if self.circuit.state == "open" and before != "open":
            logger.warning("feed %s: circuit open after %d failed polls; next probe in %g s",
                           self.feed.name, self.circuit.failures,
                           self.settings.circuit_cooldown_seconds)
        if self._metrics:
            self._metrics.feed_polls.labels(*self._labels, "error").inc()
            self._metrics.feed_errors.labels(*self._labels, reason).inc()

    def _store_lost(self, exc: Exception) -> None:
        if not self.store_failing:
            logger.warning("feed %s: live store unavailable (%s); the feed is not blamed, "
                           "state is written again on the first poll after it returns",
                           self.feed.name, exc)
        self.store_failing = True
        self._etag = self._last_modified = None

    async def _report_status(self) -> None:
        try:
            await self.ingest.report_status()
        except StoreError as exc:
            # A 304 poll writes nothing but its status: this is how an outage between changes
            # is noticed, so the next poll rewrites the state too.
            self._store_lost(exc)
            return
        except Exception:  # health reporting must not stop polling
            logger.exception("feed %s: could not record status", self.feed.name)
            return
        if self.store_failing:
            logger.info("feed %s: live store answering again", self.feed.name)
        self.store_failing = False

    async def run(self) -> None:
        """Poll forever (until cancelled)."""
        while True:
            await self.poll_and_record()
            await self._sleep(self.next_delay_seconds())


def _http_error(response: aiohttp.ClientResponse, url: str, now: datetime) -> FeedUnavailable:
    status = response.status
    reason = "http_429" if status == 429 else f"http_{status // 100}xx"
    error = FeedUnavailable(f"HTTP {status} from {url}", reason=reason)
    if status in (429, 503):
        error.retry_after_seconds = retry_after_seconds(response.headers.get("Retry-After"), now)
    return error
