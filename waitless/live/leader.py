"""Leader election through Redis: one active ingestor per region, the others on standby.

A replica becomes leader by creating the lease key (``SET NX PX``) with a value that carries a
fencing token: a number taken from a counter that only ever grows. The leader renews the lease
every ``renew_seconds`` (a third of the lease by default, so two renewals can fail before it
runs out) and stands down when a renewal finds the key gone or someone else's, or when it could
not renew before the lease ran out by its own monotonic clock.

Standing down cancels the leader's work, but a process paused by the kernel, a debugger or a
long garbage collection cannot notice it has lost the lease until it runs again, and may by
then be half-way through a write. That is what the fencing token is for: every write of the
ingestor goes through a Lua script that compares the lease key with the writer's value and
writes only on a match, in one atomic step inside Redis
(:class:`waitless.live.fenced_store.FencedRedisLiveStore`). A paused old leader therefore
writes nothing once its lease has expired, whatever its own clock says.

Keys (``P`` is the Redis prefix, ``R`` the region): ``P:ingest-lease:R`` holds
``"<token> <identity>"`` with a time-to-live; ``P:ingest-fence:R`` is the token counter.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress

import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry, Counter, Gauge
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Create the lease only if nobody holds it, taking the next fencing token in the same step.
_ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2])
local value = token .. ' ' .. ARGV[1]
redis.call('SET', KEYS[1], value, 'NX', 'PX', ARGV[2])
return value
"""
# Extend the lease only while it is still ours.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


async def cancel_and_wait(task: asyncio.Task[None], *, retry_seconds: float = 0.2) -> None:
    """Cancel ``task`` and wait until it has ended, cancelling again if it carries on.

    A cancellation can be swallowed inside a library (redis-py's asyncio client loses one now
    and then when it lands mid-command: redis/redis-py#2028 and its successors; seen here with
    redis-py 8.1), and a standby must not keep polling because of that.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=retry_seconds)


def default_identity() -> str:
    """``host:pid``: in Kubernetes the host name is the pod name."""
    return f"{socket.gethostname()}:{os.getpid()}"


def lease_keys(prefix: str, region: str) -> tuple[str, str]:
    """The lease key and the fencing-token counter key for a region."""
    return f"{prefix}:ingest-lease:{region}", f"{prefix}:ingest-fence:{region}"


class LeaderMetrics:
    """Leadership gauges and counters, registered in the ingestor's metrics registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.leader = Gauge(
            "waitless_ingest_leader",
            "1 while this ingestor holds the region's lease and polls, 0 on standby",
            ["region"], registry=registry)
        self.token = Gauge(
            "waitless_ingest_fencing_token",
            "Fencing token of the lease this ingestor holds (0 on standby)",
            ["region"], registry=registry)
        self.transitions = Counter(
            "waitless_ingest_leadership_changes_total",
            "Leadership changes of this ingestor: acquired, lost, released",
            ["region", "change"], registry=registry)
        self.refused_writes = Counter(
            "waitless_ingest_writes_refused_total",
            "Writes refused because this ingestor no longer held the lease; where=redis means "
            "the fencing script refused it",
            ["region", "where"], registry=registry)


class LeaderElector:
    """Hold a region's ingest lease and run work only while holding it.

    Parameters
    ----------
    client
        Redis client (the one the live store uses is fine).
    prefix, region
        Name the lease keys (see the module docstring).
    lease_seconds
        Lease time-to-live, seconds. A standby takes over at most about
        ``lease_seconds + retry_seconds`` after the leader dies.
    renew_seconds
        How often the leader renews, seconds (default a third of the lease).
    retry_seconds
        How often a standby tries to take the lease, seconds (default a third of the lease).
    identity
        Written next to the token so operators can see who leads (default ``host:pid``).
    metrics
        Optional :class:`LeaderMetrics`.
    monotonic
        Clock for the leader's own view of when its lease runs out, seconds.
    """

    def __init__(self, client: aioredis.Redis, *, prefix: str, region: str,
                 lease_seconds: float = 15.0, renew_seconds: float | None = None,
                 retry_seconds: float | None = None, identity: str | None = None,
                 metrics: LeaderMetrics | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if lease_seconds <= 0:
            msg = f"lease_seconds must be positive, got {lease_seconds}"
            raise ValueError(msg)
        self.region = region
        self.identity = identity or default_identity()
        self.lease_seconds = lease_seconds
        self.renew_seconds = renew_seconds or lease_seconds / 3
        self.retry_seconds = retry_seconds or lease_seconds / 3
        self.lease_key, self.counter_key = lease_keys(prefix, region)
        self.metrics = metrics
        self._redis = client
        self._monotonic = monotonic
        self._value: str | None = None  # "<token> <identity>" while we believe we lead
        self._valid_until = 0.0  # monotonic; the lease cannot outlive this
        self._lost = asyncio.Event()
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    @property
    def lease_value(self) -> str | None:
        """The value the lease key must hold for our writes to land (``None`` on standby)."""
        return self._value

    @property
    def token(self) -> int | None:
        return int(self._value.split(" ", 1)[0]) if self._value else None

    def _ms(self) -> int:
        return max(int(self.lease_seconds * 1000), 1)

    async def try_acquire(self) -> bool:
        """Take the lease if nobody holds it; True when we now lead."""
        sent = self._monotonic()
        value = await self._acquire(keys=[self.lease_key, self.counter_key],
                                    args=[self.identity, self._ms()])
        if value is None:
            return False
        self._value = value.decode() if isinstance(value, bytes) else str(value)
        self._valid_until = sent + self.lease_seconds
        self._lost.clear()
        self._set_gauges()
        self._count("acquired")
        logger.info("ingest leader for %s: %s took the lease (fencing token %d, %g s lease)",
                    self.region, self.identity, self.token, self.lease_seconds)
        return True

    async def renew(self) -> bool:
        """Extend our lease; False (and standby) when it is no longer ours."""
        if self._value is None:
            return False
        sent = self._monotonic()
        if await self._renew(keys=[self.lease_key], args=[self._value, self._ms()]):
            self._valid_until = sent + self.lease_seconds
            return True
        self.stand_down("the lease expired or another ingestor holds it")
        return False

    async def release(self) -> None:
        """Give the lease up (clean shutdown), so a standby need not wait for it to expire."""
        value = self._value
        if value is None:
            return
        self._value = None
        self._set_gauges()
        with suppress(RedisError, OSError):
            await self._release(keys=[self.lease_key], args=[value])
        self._count("released")
        logger.info("ingest leader for %s: %s released the lease", self.region, self.identity)

    def stand_down(self, reason: str) -> None:
        """Stop believing we lead (a renewal failed, or a fenced write was refused)."""
        if self._value is None:
            return
        logger.warning("ingest leader for %s: %s lost the lease (token %d): %s; standing by",
                       self.region, self.identity, self.token, reason)
        self._value = None
        self._lost.set()
        self._set_gauges()
        self._count("lost")

    async def holder(self) -> str | None:
        """Who holds the lease now (``"<token> <identity>"``), as Redis sees it."""
        raw = await self._redis.get(self.lease_key)
        return raw.decode() if isinstance(raw, bytes) else raw

    async def run(self, work: Callable[[], Awaitable[None]]) -> None:
        """Forever: wait for the lease, run ``work`` while holding it, cancel it on loss.

        ``work`` is started afresh each time the lease is won. If it ends or fails, the lease
        is released and its result or exception is passed on.
        """
        announced_standby = False
        while True:
            try:
                won = await self.try_acquire()
            except (RedisError, OSError) as exc:
                logger.warning("ingest leader for %s: cannot reach Redis: %s", self.region, exc)
                won = False
            if not won:
                if not announced_standby:
                    holder = await self._holder_or_none()
                    logger.info("ingest for %s: %s on standby; lease held by %s", self.region,
                                self.identity, holder or "nobody (retrying)")
                    announced_standby = True
                self._set_gauges()
                await asyncio.sleep(self.retry_seconds)
                continue
            announced_standby = False
            task = asyncio.create_task(work(), name=f"leader-work:{self.region}")
            try:
                finished = await self._hold(task)
            finally:
                await cancel_and_wait(task)
            if finished:
                await self.release()
                task.result()  # re-raise what the work raised
                return
            if not task.cancelled() and task.exception() is not None:
                logger.error("ingest for %s: work failed while the lease was lost",
                             self.region, exc_info=task.exception())

    async def _hold(self, task: asyncio.Task[None]) -> bool:
        """Renew until the lease is lost (False) or ``task`` ends (True)."""
        lost = asyncio.create_task(self._lost.wait())
        try:
            while True:
                done, _ = await asyncio.wait({task, lost}, timeout=self.renew_seconds,
                                             return_when=asyncio.FIRST_COMPLETED)
                if task in done:
                    return True
                if lost in done or self._value is None:
                    return False
                try:
                    if not await self.renew():
                        return False
                except (RedisError, OSError) as exc:
                    # Keep trying until our own clock says the lease has run out.
                    if self._monotonic() >= self._valid_until:
                        self.stand_down(f"could not renew before the lease ran out ({exc})")
                        return False
                    logger.warning("ingest leader for %s: renewal failed (%s); retrying",
                                   self.region, exc)
        finally:
            lost.cancel()

    async def _holder_or_none(self) -> str | None:
        try:
            return await self.holder()
        except (RedisError, OSError):
            return None

    def _set_gauges(self) -> None:
        if self.metrics:
            self.metrics.leader.labels(self.region).set(1 if self._value else 0)
            self.metrics.token.labels(self.region).set(self.token or 0)

    def _count(self, change: str) -> None:
        if self.metrics:
            self.metrics.transitions.labels(self.region, change).inc()
