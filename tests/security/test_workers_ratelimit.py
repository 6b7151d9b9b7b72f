"""`waitless serve --workers 2` with real Redis: one limit for both workers together."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import redis

from tests.conftest import REDIS_URL
from tests.security.serve_process import serve

LIMIT = 40
# Each worker spends at most ceil(left / workers) between syncs, so two workers can pass the
# limit by rounding only: at most one request (workers - 1).
TOLERANCE = 1


async def burst(base: str, count: int) -> list[int]:
    # A new connection per request so SO_REUSEPORT spreads them over both workers.
    connector = aiohttp.TCPConnector(force_close=True, limit=8)
    async with aiohttp.ClientSession(base, connector=connector) as session:
        async def one() -> int:
            async with session.get("/v1/sites") as response:
                await response.read()
                return response.status
        return await asyncio.gather(*(one() for _ in range(count)))


def wait_for_a_full_sync(store: redis.Redis, peers_name: str, *, timeout_s: float = 20) -> None:
    """Until each of the two workers has synced (flush, then read) since this was called.

    A worker beats its heartbeat in ``peers_name`` at every flush and reads the totals before
    its next flush, so a second new heartbeat value means a read has completed in between.
    """
    start = store.hgetall(peers_name)
    new_beats: dict[bytes, set[bytes]] = {}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        beats = store.hgetall(peers_name)
        for worker, beat in beats.items():
            if beat != start.get(worker):
                new_beats.setdefault(worker, set()).add(beat)
        if len(beats) == 2 and all(len(new_beats.get(w, ())) >= 2 for w in beats):
            return
        time.sleep(0.05)  # polling Redis for the condition, not waiting out a fixed time
    raise AssertionError(f"the workers did not sync within {timeout_s} s: {new_beats}")


def test_two_workers_hold_one_combined_limit(tmp_path, redis_prefix):
    prefix = f"{redis_prefix}:rl-workers"
    peers_name = f"{prefix}:ratelimit:peers"
    store = redis.Redis.from_url(REDIS_URL)
    try:
        with serve(tmp_path, prefix, workers=2, WAITLESS_RATE_LIMIT=f"{LIMIT}/hour") as base:
            deadline = time.monotonic() + 60
            while store.hlen(peers_name) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)  # polling Redis for both workers, not waiting out a time
            assert store.hlen(peers_name) == 2, "both workers share counts"
            wait_for_a_full_sync(store, peers_name)  # the first worker up learns there are two
            statuses: list[int] = []
            # Several bursts, the workers sharing their counts between them.
            for _ in range(6):
                statuses += asyncio.run(burst(base, 20))
                wait_for_a_full_sync(store, peers_name)
        allowed = statuses.count(200)
        assert set(statuses) == {200, 429}
        # The hour windows the workers counted in, read from Redis rather than from our clock,
        # so the test means the same at any time of day.
        windows = sorted(store.scan_iter(match=f"{prefix}:ratelimit:public:*"))
        counts = []
        for name in windows:
            stored = store.hgetall(name)
            assert len(stored) == 1 and b"127.0.0.1" not in next(iter(stored))
            counts.append(int(next(iter(stored.values()))))
        assert all(count <= LIMIT + TOLERANCE for count in counts), counts
        if len(windows) == 1:
            assert LIMIT <= allowed <= LIMIT + TOLERANCE, allowed
            assert counts[0] >= LIMIT
        else:  # the bursts straddled the top of an hour: the limit started again
            assert len(windows) == 2 and allowed <= 2 * (LIMIT + TOLERANCE), (windows, allowed)
    finally:
        for key in store.scan_iter(match=f"{prefix}:*"):
            store.delete(key)
        store.close()
