"""`waitless serve --workers 2` with real Redis: one limit for both workers together."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request

import aiohttp
import redis

from tests.conftest import REDIS_URL, free_port

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


def test_two_workers_hold_one_combined_limit(tmp_path, redis_prefix):
    port = free_port()
    prefix = f"{redis_prefix}:rl-workers"
    env = {**os.environ, "WAITLESS_REDIS_URL": REDIS_URL, "WAITLESS_REDIS_PREFIX": prefix,
           "WAITLESS_SPOOL_DIR": str(tmp_path / "spool"),
           "WAITLESS_RATE_LIMIT": f"{LIMIT}/hour"}
    env.pop("WAITLESS_DATABASE_URL", None)
    parent = subprocess.Popen([sys.executable, "-m", "waitless", "serve", "--workers", "2",
                               "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    store = redis.Redis.from_url(REDIS_URL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                if store.hlen(f"{prefix}:ratelimit:peers") == 2:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        assert store.hlen(f"{prefix}:ratelimit:peers") == 2, "both workers share counts"
        time.sleep(1.5)  # one more sync: the first worker up learns there are two
        statuses: list[int] = []
        # Several bursts over a few seconds, so the workers sync between them.
        for _ in range(6):
            statuses += asyncio.run(burst(f"http://127.0.0.1:{port}", 20))
            time.sleep(1.2)
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
        parent.send_signal(signal.SIGTERM)
        try:
            parent.wait(timeout=20)
        except subprocess.TimeoutExpired:
            parent.kill()
            parent.wait()
        for key in store.scan_iter(match=f"{prefix}:*"):
            store.delete(key)
        store.close()
