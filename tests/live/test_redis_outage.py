"""Redis stopped and restarted under a serving API and a running ingestor (own redis-server)."""

import shutil
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import redis
from aiohttp import web
from aiohttp.test_utils import TestServer

from feeds.simulator import create_simulator_app
from tests.conftest import eventually, free_port, moving_clock
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


async def test_rankings_survive_a_redis_restart_and_ingest_resyncs(
        aiohttp_client, kent: Region, tmp_path, redis_server: RedisServer,
        fixed_now: datetime) -> None:
    clock_offset = timedelta()
    daytime = moving_clock(fixed_now)

    def clock() -> datetime:
        return daytime() + clock_offset

    simulator = TestServer(create_simulator_app(kent, seed=4, clock=daytime))
    await simulator.start_server()
    feed = FeedConfig("sim", "native", str(simulator.make_url("/v1/feed")),
                      interval_seconds=0.2, timeout_seconds=2)
    settings = Settings(redis_url=redis_server.url, spool_dir=str(tmp_path / "spool"),
                        snapshot_refresh_seconds=0.2, rate_limit=None)  # polled in loops
    app = create_app(settings, region=kent, run_ingest=True, ingest_feeds=[feed], clock=clock)
    client = await aiohttp_client(app)

    async def live_count() -> int:
        body = await (await client.get("/v1/rank", params=CANTERBURY)).json()
        return sum(r["wait_status"] == "live" for r in body["results"])

    async def fully_live() -> bool:
        return await live_count() >= 10

    await eventually(fully_live, timeout_s=15, what="fully live")
    assert (await ready(client))["live_store"]["ok"] is True

    redis_server.stop()

    async def degraded() -> bool:
        return "live_store" in (await ready(client))["degraded"]

    await eventually(degraded, timeout_s=15, what="degraded")
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

    await eventually(recovered, timeout_s=15, what="recovered")
    await eventually(fully_live, timeout_s=15, what="fully live")
    await client.close()
    await simulator.close()


async def test_a_store_outage_is_not_a_feed_failure(
        aiohttp_client, kent: Region, tmp_path, redis_server: RedisServer) -> None:
    """Issue #13 item 10: with Redis down the feed stays healthy (no errors counted, breaker
    closed), /readyz says the feeds are unknown, and the first polls after Redis returns
    rewrite the whole current state."""
    simulator_app = create_simulator_app(kent, seed=4)
    feed_requests = 0

    @web.middleware
    async def count_requests(request: web.Request, handler):
        nonlocal feed_requests
        feed_requests += request.path == "/v1/feed"
        return await handler(request)

    simulator_app.middlewares.append(count_requests)
    simulator = TestServer(simulator_app)
    await simulator.start_server()
    feed = FeedConfig("sim", "native", str(simulator.make_url("/v1/feed")),
                      interval_seconds=0.2, timeout_seconds=2)
    settings = Settings(redis_url=redis_server.url, spool_dir=str(tmp_path / "spool"),
                        snapshot_refresh_seconds=0.2, rate_limit=None)  # polled in loops
    app = create_app(settings, region=kent, run_ingest=True, ingest_feeds=[feed])
    client = await aiohttp_client(app)
    live = redis.Redis(port=redis_server.port)

    async def fed() -> bool:
        return live.hlen("waitless:live:kent-medway") >= 10

    await eventually(fed, timeout_s=15, what="fed")
    redis_server.stop()

    async def degraded() -> bool:
        body = await ready(client)
        return "live_store" in body["degraded"] and "feeds" in body["degraded"]

    await eventually(degraded, timeout_s=15, what="degraded")
    assert (await ready(client))["feeds_known"] is False
    # Far more polls than the breaker's failure threshold, all while Redis is down.
    polls_when_degraded = feed_requests
    await eventually(lambda: feed_requests >= polls_when_degraded + 15,
                     what="15 polls while Redis is down")
    metrics = await (await client.get("/metrics")).text()
    errors = [line for line in metrics.splitlines()
              if line.startswith("waitless_feed_errors_total{") and 'feed="sim"' in line]
    assert all(line.endswith(" 0.0") for line in errors), errors
    redis_server.start()  # empty: everything must be written again
    started = time.monotonic()
    live = redis.Redis(port=redis_server.port)
    await eventually(fed, what="fed")
    recovered_seconds = time.monotonic() - started

    async def feed_healthy() -> bool:
        body = await ready(client)
        sim = body["feeds"].get("sim")
        return body["feeds_known"] and sim is not None and sim["ok"]

    await eventually(feed_healthy, what="feed healthy")
    sim = (await ready(client))["feeds"]["sim"]
    assert sim["circuit"] == "closed" and sim["consecutive_failures"] == 0
    # Within a few poll intervals, not a breaker cool-down (the review measured 285 s).
    assert recovered_seconds < 10
    await client.close()
    await simulator.close()


async def test_sessions_during_and_after_a_redis_outage(
        aiohttp_client, kent: Region, tmp_path, redis_server: RedisServer) -> None:
    """As docs/operations.md "Redis is down" says: sessions are refused while Redis is down
    (503, not a sign-in page: it is no failed sign-in), and a sign-out is forgotten when Redis
    comes back empty."""
    token = "outage-commissioner-token"
    settings = Settings(redis_url=redis_server.url, spool_dir=str(tmp_path / "spool"),
                        commissioner_token=token, cookie_secure=False, rate_limit=None)
    client = await aiohttp_client(create_app(settings, region=kent))

    async def sign_in() -> dict[str, str]:
        response = await client.post("/commissioners/login", data={"token": token},
                                     allow_redirects=False)
        assert response.status == 303
        client.session.cookie_jar.clear()
        return {"Cookie": response.headers["Set-Cookie"].split(";", 1)[0]}

    async def page(cookie: dict[str, str]) -> str:
        """What /commissioners does with the cookie: a session is sent on to its pages, no
        session gets the sign-in form, and a session that cannot be checked an error."""
        response = await client.get("/commissioners", headers=cookie, allow_redirects=False)
        if response.status == 303:
            return "signed in"
        if response.status == 200:
            return "sign-in form"
        return (await response.json())["error"]

    kept, signed_out = await sign_in(), await sign_in()
    assert await page(kept) == "signed in"
    out = await client.post("/commissioners/logout", headers=signed_out, allow_redirects=False)
    assert out.status == 303
    assert await page(signed_out) == "sign-in form"
    redis_server.stop()
    assert await page(kept) == "live_store_unavailable"  # cannot be checked: refused
    redis_server.start()  # empty: it kept nothing on disk
    assert await page(kept) == "signed in"
    assert await page(signed_out) == "signed in"  # the sign-out went with Redis's memory
    await client.close()
