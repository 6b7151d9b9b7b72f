"""Per-client rate limits that hold across workers without Redis on the request path.

Counting is per fixed window (``N/minute`` -> windows aligned on the minute, the same in every
worker). A request is decided in memory, from this worker's count not yet shared (*pending*)
plus the last-known count of every worker together (*known*). A background task shares the
counts every ``rate_limit_sync_seconds`` (1 s, on the clock's boundaries in every worker):
``HINCRBY`` of the pending counts into one hash per rule and window
(``<prefix>:ratelimit:<rule>:<window>``, expiring after two windows), then, 200 ms later when
every worker has flushed, ``HGETALL`` of that hash, so each worker also learns about clients it
has not seen.

Between two reads a worker spends at most its share of what is left,
``ceil((limit - known) / workers)`` (its allowance is renewed by the read, not by the flush
200 ms earlier), the number of workers being counted from a heartbeat hash
(``<prefix>:ratelimit:peers``) in which only workers that let a limited request through in the
last ``ACTIVE_PEER_SECONDS`` (or started that recently) beat: an idle process sharing the
prefix is no peer. So the combined count passes the limit only by rounding (at
most workers - 1) while the syncs keep to the clock (a worker whose flush is later than the
others' read lets through up to one more share), and a client sending everything to one
worker is held back for at most one sync while the others' shares are unknown. A new worker
knows the others from its first sync, made before it serves. Without Redis, or while
it is unreachable, each process enforces the whole limit alone.

The key is the client address hashed with a random salt made when this module is imported
(before ``serve`` forks, so its workers share it); neither the address nor the salt is stored
or logged. ``X-Forwarded-For`` is believed only from peers in ``WAITLESS_TRUSTED_PROXIES``.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import math
import secrets
import time
from collections.abc import Callable, Iterable, Sequence

import redis.asyncio as aioredis

from waitless.domain.errors import ConfigError
from waitless.settings import Rate

logger = logging.getLogger(__name__)

_PROCESS_SALT = secrets.token_bytes(16)
# A worker not heard from for this many syncs no longer counts as a peer.
_PEER_STALE_SYNCS = 3
# A worker that let no limited request through for this long stops counting as a peer.
ACTIVE_PEER_SECONDS = 60.0
# Part of the sync period between flushing counts and reading everyone's.
SETTLE_SHARE = 0.2

Address = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(items: Iterable[str]) -> tuple[Address, ...]:
    """Trusted proxies as networks (a bare address is a /32 or /128)."""
    try:
        return tuple(ipaddress.ip_network(item, strict=False) for item in items)
    except ValueError as exc:
        msg = f"WAITLESS_TRUSTED_PROXIES: {exc}"
        raise ConfigError(msg) from exc


def _in(address: str, networks: Sequence[Address]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(peer: str | None, forwarded_for: Sequence[str],
                   trusted: Sequence[Address]) -> str:
    """The client's address: the peer's, or from X-Forwarded-For when the peer is trusted.

    Read right to left, skipping trusted proxies: everything left of the first address not a
    trusted proxy was written by the client and proves nothing.
    """
    peer = peer or ""
    if not trusted or not _in(peer, trusted):
        return peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _in(hop, trusted):
            return hop
    return hops[0] if hops else peer


def client_key(address: str, salt: bytes = _PROCESS_SALT) -> str:
    """A salted hash of the address: the same client gets the same key in every worker."""
    return hashlib.blake2b(address.encode(), key=salt, digest_size=10).hexdigest()


class RateLimiter:
    """Fixed-window counts per (rule, window, client key), decided in memory.

    Per key: *known*, everyone's total at the last read from Redis; *spent*, what this worker
    let through since that read; *unflushed*, the part of it not yet added to Redis. A worker
    spends at most ``ceil((limit - known) / peers)`` between two reads, so the workers
    together pass the limit by at most ``peers - 1`` (issue #13: resetting the allowance at
    the flush instead of at the read let each worker spend again in the 200 ms between them).
    """

    def __init__(self, rules: dict[str, Rate], *, sync_seconds: float = 1.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.rules = rules
        self.sync_seconds = sync_seconds
        self.clock = clock
        self.peers = 1
        self._started = clock()
        self._last_counted = float("-inf")
        # (rule, window index, key) -> [known, spent since the last read, unflushed]
        self._counts: dict[tuple[str, int, str], list[int]] = {}

    def check(self, rule: str, key: str) -> float | None:
        """Count the request and return ``None``, or return the seconds to wait (not counted)."""
        wait = self.blocked(rule, key)
        if wait is None:
            self.count(rule, key)
        return wait

    def blocked(self, rule: str, key: str) -> float | None:
        """Seconds to wait when ``key`` has spent its allowance (or this worker's share of it),
        else ``None``; nothing is counted (failed sign-ins are counted after the fact)."""
        rate = self.rules[rule]
        now = self.clock()
        window = int(now // rate.window_seconds)
        known, spent, _ = self._counts.get((rule, window, key), (0, 0, 0))
        if known + spent >= rate.limit:
            return (window + 1) * rate.window_seconds - now
        if spent >= math.ceil((rate.limit - known) / self.peers):
            return self.sync_seconds
        return None

    def count(self, rule: str, key: str) -> None:
        """Count one event for ``key`` in the current window."""
        now = self.clock()
        window = int(now // self.rules[rule].window_seconds)
        entry = self._counts.setdefault((rule, window, key), [0, 0, 0])
        entry[1] += 1
        entry[2] += 1
        self._last_counted = now

    def active(self) -> bool:
        """Serving limited requests lately (or just started): only such a worker is a peer,
        so an idle process sharing the prefix does not shrink the others' shares."""
        since = max(self._started, self._last_counted)
        return self.clock() - since < ACTIVE_PEER_SECONDS

    def prune(self) -> None:
        """Forget windows that have ended."""
        now = self.clock()
        current = {rule: int(now // rate.window_seconds) for rule, rate in self.rules.items()}
        self._counts = {k: v for k, v in self._counts.items() if k[1] >= current[k[0]]}

    async def sync(self, client: aioredis.Redis, prefix: str, worker_id: str, *,
                   settle_seconds: float = 0.0) -> None:
        """Share counts through Redis and learn everyone's (raises RedisError).

        Flush first, then read ``settle_seconds`` later, once the other workers (syncing on
        the same clock boundary) have flushed too: all then compute their shares from the
        same totals.
        """
        await self.flush(client, prefix, worker_id)
        if settle_seconds:
            await asyncio.sleep(settle_seconds)
        await self.read(client, prefix, worker_id)

    async def flush(self, client: aioredis.Redis, prefix: str, worker_id: str) -> None:
        """Add the unflushed counts to Redis and beat this worker's heartbeat if active."""
        self.prune()
        now = self.clock()
        sent = []
        pipe = client.pipeline(transaction=False)
        for (rule, window, key), entry in self._counts.items():
            if entry[2]:
                pipe.hincrby(f"{prefix}:ratelimit:{rule}:{window}", key, entry[2])
                sent.append((entry, entry[2]))
        peers_name = f"{prefix}:ratelimit:peers"
        if self.active():
            pipe.hset(peers_name, worker_id, f"{now:.3f}")
        else:
            pipe.hdel(peers_name, worker_id)
        pipe.expire(peers_name, 60)
        await pipe.execute()
        # Requests counted while the pipeline ran stay unflushed for the next sync; all of
        # them stay *spent* until the read brings totals that include them.
        for entry, count in sent:
            entry[2] -= count

    async def read(self, client: aioredis.Redis, prefix: str, worker_id: str) -> None:
        """Everyone's totals and the active peers (after every worker has flushed)."""
        now = self.clock()
        windows = {(rule, int(now // rate.window_seconds)) for rule, rate in self.rules.items()}
        windows |= {(rule, window) for rule, window, _ in self._counts}
        ordered = sorted(windows)
        peers_name = f"{prefix}:ratelimit:peers"
        pipe = client.pipeline(transaction=False)
        for rule, window in ordered:
            name = f"{prefix}:ratelimit:{rule}:{window}"
            pipe.expire(name, 2 * self.rules[rule].window_seconds)
            pipe.hgetall(name)
        pipe.hgetall(peers_name)
        results = await pipe.execute()
        for (rule, window), table in zip(ordered, results[1:-1:2], strict=True):
            for key, value in table.items():
                self._counts.setdefault((rule, window, key.decode()), [0, 0, 0])[0] = int(value)
        # The totals include everything flushed: what is spent since is only the unflushed.
        for entry in self._counts.values():
            entry[1] = entry[2]
        fresh_after = now - _PEER_STALE_SYNCS * self.sync_seconds
        heartbeats = {w.decode() if isinstance(w, bytes) else w: float(seen)
                      for w, seen in results[-1].items()}
        stale = [w for w, seen in heartbeats.items() if seen < fresh_after]
        fresh = {w for w, seen in heartbeats.items() if seen >= fresh_after}
        if self.active():
            fresh.add(worker_id)
        self.peers = max(1, len(fresh))
        if stale:
            await client.hdel(peers_name, *stale)
