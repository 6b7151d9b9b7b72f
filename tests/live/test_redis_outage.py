"""Redis stopped and restarted under a serving API and a running ingestor (own redis-server)."""

import asyncio
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from aiohttp.test_utils import TestServer

from feeds.simulator import create_simulator_app
from tests.conftest import free_port
from waitless.api.app import create_app
from waitless.domain.region import FeedConfig, Region
from waitless.settings import Settings

CANTERBURY = {"lat": "51.2802", "lon": "1.0789"}


class RedisServer:
    """A throw-away redis-server on a spare port."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        pytest.fail("redis-server did not start")

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def redis_server(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


async def ready(client) -> dict:
    return await (await client.get("/readyz")).json()


async def until(predicate, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.1)
    pytest.fail("condition not reached in time")


async def test_rankings_survive_a_redis_restart_and_ingest_resyncs(
        aiohttp_client, kent: Region, tmp_path, redis_server: RedisServer) -> None:
    clock_offset = timedelta()

    def clock() -> datetime:
        return datetime.now(UTC) + clock_offset

    simulator = TestServer(create_simulator_app(kent, seed=4))
    await simulator.start_server()
    feed = FeedConfig("sim", "native", str(simulator.make_url("/v1/feed")),
                      interval_seconds=0.2, timeout_seconds=2)
    settings = Settings(redis_url=redis_server.url, spool_dir=str(tmp_path / "spool"),
                        snapshot_refresh_seconds=0.2)
    app = create_app(settings, region=kent, run_ingest=True, ingest_feeds=[feed], clock=clock)
    client = await aiohttp_client(app)

    async def live_count() -> int:
        body = await (await client.get("/v1/rank", params=CANTERBURY)).json()
        return sum(r["wait_status"] == "live" for r in body["results"])

    async def fully_live() -> bool:
        return await live_count() >= 10

    await until(fully_live)
    assert (await ready(client))["live_store"]["ok"] is True

    redis_server.stop()

    async def degraded() -> bool:
        return "live_store" in (await ready(client))["degraded"]

    await until(degraded)
    # Still answering, from the last snapshot, with waits and their ages.
    response = await client.get("/v1/rank", params=CANTERBURY)
    assert response.status == 200
    body = await response.json()
    assert body["results"] and all(r["wait_minutes"] is not None for r in body["results"])
    # Two hours later with Redis still down, the same figures are shown as stale, not fresh.
    clock_offset = timedelta(hours=2)
    body = await (await client.get("/v1/rank", params=CANTERBURY)).json()
    assert {r["wait_status"] for r in body["results"]} == {"stale"}
    clock_offset = timedelta()

    redis_server.start()  # empty: it kept nothing on disk

    async def recovered() -> bool:
        status = await ready(client)
        keys = redis.Redis(port=redis_server.port).hlen("waitless:live:kent-medway")
        return status["live_store"]["ok"] and not status["live_store"]["error"] and keys > 0

    await until(recovered)
    await until(fully_live)
    await client.close()
    await simulator.close()
