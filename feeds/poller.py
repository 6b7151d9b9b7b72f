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
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from feeds.adapters import get_adapter
from feeds.errors import FeedError, FeedUnavailable
from feeds.health import FeedHealth
from feeds.metrics import FeedMetrics
from feeds.validate import check_body
from waitless.domain.errors import ConfigError
from waitless.domain.observation import Observation
from waitless.domain.region import FeedConfig
from waitless.domain.validation_settings import ValidationSettings

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# (observations, now, last good per key) -> (accepted with concrete services, rejections)
Validator = Callable[[list[Observation], datetime, Mapping[str, Observation]],
                     tuple[list[Observation], list[Any]]]
Sink = Callable[[list[Observation]], Awaitable[None]]
StatusSink = Callable[[dict[str, Any]], Awaitable[None]]
LastGoodLoader = Callable[[], Awaitable[dict[str, Observation]]]

_TRANSIENT = frozenset({"timeout", "connection", "http_5xx"})


@dataclass(frozen=True, slots=True)
class PollerSettings:
    """Retry, backoff and circuit-breaker numbers for one feed (seconds, counts).

    Attributes
    ----------
    retries
        Extra attempts within one poll after a timeout, connection error or 5xx.
    retry_base_seconds
        First in-poll retry delay; doubles per retry (capped at half the interval).
    backoff_max_seconds
        Cap on the delay between failed polls (interval x 2^(failures - 1)).
    circuit_open_after
        Failed polls in a row that open the circuit.
    circuit_cooldown_seconds
        How long an open circuit waits before its half-open probe.
    retry_after_max_seconds
        Cap on a server's ``Retry-After``.
    jitter
        Every delay is multiplied by a random factor in ``1 ± jitter``.
    """

    retries: int = 2
    retry_base_seconds: float = 1.0
    backoff_max_seconds: float = 600.0
    circuit_open_after: int = 5
    circuit_cooldown_seconds: float = 300.0
    retry_after_max_seconds: float = 3600.0
    jitter: float = 0.1

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> PollerSettings:
        """Settings from a feed's options (only the keys named like the attributes)."""
        values = {}
        for f in fields(cls):
            if f.name in options:
                kind = int if f.type in ("int", int) else float
                value = options[f.name]
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    msg = f"feed option {f.name!r} must be a non-negative number, got {value!r}"
                    raise ConfigError(msg)
                values[f.name] = kind(value)
        return cls(**values)


POLLER_OPTIONS: tuple[str, ...] = tuple(f.name for f in fields(PollerSettings))


class CircuitBreaker:
    """closed -> open after ``open_after`` failures -> half_open after ``cooldown_seconds``."""

    def __init__(self, open_after: int, cooldown_seconds: float) -> None:
        self.open_after = max(open_after, 1)
        self.cooldown_seconds = cooldown_seconds
        self.state = "closed"
        self.failures = 0
        self.opened_monotonic: float | None = None

    def allow(self, now_monotonic: float) -> bool:
        """May a request go out now? Moves open to half_open once the cool-down is over."""
        if self.state == "open" and now_monotonic - self.opened_monotonic >= self.cooldown_seconds:
            self.state = "half_open"
        return self.state != "open"

    def seconds_until_probe(self, now_monotonic: float) -> float:
        if self.state != "open":
            return 0.0
        return max(self.opened_monotonic + self.cooldown_seconds - now_monotonic, 0.0)

    def record_success(self) -> None:
        self.state, self.failures, self.opened_monotonic = "closed", 0, None

    def record_failure(self, now_monotonic: float) -> None:
        self.failures += 1
        if self.state == "half_open" or self.failures >= self.open_after:
            self.state, self.opened_monotonic = "open", now_monotonic


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A ``Retry-After`` header (delta seconds or HTTP date) as seconds from ``now``."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


class FeedPoller:
    """Polls one feed on its interval and hands validated observations to ``sink``.

    Parameters
    ----------
    feed
        The feed's configuration (URL, format, interval and timeout in seconds, options).
    session
        A shared aiohttp client session.
    sink
        Awaited with the accepted observations after every poll that brought a payload.
    validate
        ``(observations, now, last_good) -> (accepted, rejections)``; accepted observations
        carry their concrete service.
    validation
        Body limits for :func:`feeds.validate.check_body`.
    status_sink
        Awaited with the feed's health after every poll.
    clock
        Wall-clock "now" for validation and ages.
    monotonic
        Seconds on a monotonic clock, for scheduling, backoff and the circuit breaker (tests
        pass a clock they move by hand).
    sleep
        Awaited to wait between retries and polls (tests pass one that advances their clock).
    load_last_good
        Awaited once before the first poll: the live store's current entries for this feed.
    """

    def __init__(self, feed: FeedConfig, session: aiohttp.ClientSession, sink: Sink, *,
                 validate: Validator, validation: ValidationSettings | None = None,
                 status_sink: StatusSink | None = None, metrics: FeedMetrics | None = None,
                 clock: Clock | None = None, load_last_good: LastGoodLoader | None = None,
                 rng: random.Random | None = None,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        if not feed.url:
            msg = f"feed {feed.name!r} has no url to poll"
            raise ConfigError(msg)
        self.feed = feed
        self.settings = PollerSettings.from_options(feed.options)
        self.circuit = CircuitBreaker(self.settings.circuit_open_after,
                                      self.settings.circuit_cooldown_seconds)
        self.health = FeedHealth(feed.name)
        self.last_good: dict[str, Observation] = {}
        self._options = {k: v for k, v in feed.options.items() if k not in POLLER_OPTIONS}
        self._session = session
        self._sink = sink
        self._validate = validate
        self._validation = validation or ValidationSettings()
        self._status_sink = status_sink
        self._metrics = metrics
        self._clock = clock or (lambda: datetime.now(UTC))
        self._monotonic = monotonic
        self._sleep = sleep
        self._load_last_good = load_last_good
        self._adapter = get_adapter(feed.format)
        self._rng = rng or random.Random()
        self._etag: str | None = None
        self._last_modified: str | None = None
        self._not_before = 0.0  # monotonic; set by Retry-After

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
                    self._metrics.feed_retries.labels(self.feed.name, exc.reason).inc()
                delay = min(self.settings.retry_base_seconds * 2 ** attempt,
                            self.feed.interval_seconds / 2)
                await self._sleep(self._jittered(delay))
                attempt += 1

    async def poll_once(self, *, retries: int | None = None) -> list[Observation] | None:
        """Fetch, check, parse, validate and hand on one payload.

        Returns the accepted observations, or ``None`` when the server answered 304.
        Raises ``FeedError`` on failure.
        """
        if self._load_last_good is not None:
            self.last_good.update(await self._load_last_good())
            self._load_last_good = None
        fetched = await self._fetch(retries=self.settings.retries if retries is None else retries)
        if fetched is None:
            return None
        body, content_type, content_length, headers = fetched
        check_body(body, feed=self.feed, settings=self._validation,
                   content_type=content_type, content_length=content_length)
        now = self._clock()
        observations = self._adapter(body, feed_name=self.feed.name, fetched_at=now,
                                     options=self._options)
        accepted, rejected = self._validate(observations, now, dict(self.last_good))
        await self._sink(accepted)
        self.last_good.update((obs.key(), obs) for obs in accepted)
        self._etag = headers.get("ETag")
        self._last_modified = headers.get("Last-Modified")
        if self._metrics:
            self._metrics.observations_accepted.labels(self.feed.name).inc(len(accepted))
            for rejection in rejected:
                self._metrics.observations_rejected.labels(self.feed.name,
                                                           rejection.reason).inc()
        self.health.record_payload(accepted, rejected, now)
        return accepted

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
        except Exception as exc:  # the loop must survive anything an adapter or sink does
            logger.exception("feed %s: unexpected failure", self.feed.name)
            self._record_failure(f"{type(exc).__name__}: {exc}", "internal")
        else:
            self._record_success(result is None)
        if self._metrics:
            self._metrics.feed_poll_latency.labels(self.feed.name).observe(
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
            self._metrics.feed_polls.labels(self.feed.name, outcome).inc()

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
            await self._sleep(self.next_delay_seconds())


def _http_error(response: aiohttp.ClientResponse, url: str, now: datetime) -> FeedUnavailable:
    status = response.status
    reason = "http_429" if status == 429 else f"http_{status // 100}xx"
    error = FeedUnavailable(f"HTTP {status} from {url}", reason=reason)
    if status in (429, 503):
        error.retry_after_seconds = retry_after_seconds(response.headers.get("Retry-After"), now)
    return error
