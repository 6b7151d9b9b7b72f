"""Shared fixtures: the real Redis and PostgreSQL servers, each test run in its own namespace."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis
import redis.asyncio as aioredis
from aiohttp import web

from waitless.domain.region import Region, load_region
from waitless.live.redis_store import RedisLiveStore
from waitless.live.store import LiveStore, MemoryLiveStore

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"
REDIS_URL = os.environ.get("WAITLESS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PG_ADMIN_DSN = os.environ.get("WAITLESS_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def shared_path(*parts: str) -> Path:
    """A path under ../shared, skipping the test (with the reason) when it is absent."""
    path = SHARED_DIR.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data {path} is not available on this machine")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """``app`` served on a free localhost port (for a real browser); yields its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def eventually(check: Callable[[], Any], *, timeout_s: float = 10.0,
                     what: str = "condition") -> Any:
    """Poll ``check()`` (sync or async) every 50 ms until it returns something truthy.

    Returns that value; fails the test naming ``what`` (and the last value) at the deadline.
    Tests wait for background work (flushes, refreshes, subscriptions) with this rather than
    sleeping for a fixed time, so they neither fail on a slow machine nor wait on a fast one.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what} (last: {last!r})")
        await asyncio.sleep(0.05)


@pytest.fixture(scope="session")
def kent() -> Region:
    return load_region("kent-medway")


@pytest.fixture
def fixed_now() -> datetime:
    # A Tuesday in November (GMT), mid-morning: every Kent & Medway service is open.
    return datetime(2026, 11, 24, 10, 30, tzinfo=UTC)


def moving_clock(start: datetime) -> Callable[[], datetime]:
    """A clock that reads ``start`` now and then advances with real (monotonic) time.

    Tests that run the simulator, the ingestor and the API together need time to pass for
    polls and refreshes, but must not depend on the hour they run at: at night most minor
    injury units are closed and the rankings hold fewer services.
    """
    origin = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - origin)


@pytest.fixture(scope="session")
def redis_prefix() -> Iterator[str]:
    """A key prefix for this test run; every key under it is deleted afterwards."""
    prefix = f"waitless-test-{uuid.uuid4().hex[:10]}"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc} (.ci/run starts it)")
    yield prefix
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        client.delete(key)
    client.close()


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """A fresh database for this test run, dropped afterwards."""
    yield from temporary_database("main")


def temporary_database(label: str) -> Iterator[str]:
    """Create ``waitless_test_<label>_<random>``, yield its URL, drop it afterwards."""
    name = f"waitless_test_{label}_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_DSN}: {exc} (.ci/run starts it)")
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["memory", "redis"])
async def live_store(request: pytest.FixtureRequest, redis_prefix: str) -> AsyncIterator[LiveStore]:
    """Each live-store test runs against both implementations."""
    if request.param == "memory":
        store: LiveStore = MemoryLiveStore()
    else:
        prefix = f"{redis_prefix}:{uuid.uuid4().hex[:6]}"
        store = RedisLiveStore(aioredis.from_url(REDIS_URL), prefix=prefix)
    yield store
    await store.close()


@pytest.fixture
def redis_store_factory(redis_prefix: str):
    def make() -> RedisLiveStore:
        return RedisLiveStore(aioredis.from_url(REDIS_URL),
                              prefix=f"{redis_prefix}:{uuid.uuid4().hex[:6]}")
    return make
