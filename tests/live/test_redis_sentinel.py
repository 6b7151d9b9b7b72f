"""``redis+sentinel://`` URLs: parsed, and followed to the primary a real Sentinel names.

The test starts its own Redis primary and a Sentinel watching it (both real ``redis-server``
processes on free ports, removed afterwards), so the shared Redis is never monitored.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from tests.api.test_follow_rate import _region as _region_with
from tests.conftest import free_port
from waitless.api.app import create_app
from waitless.api.sent_cookie import SENT_COOKIE_KEY
from waitless.domain.observation import Observation
from waitless.live.fenced_store import FencedRedisLiveStore
from waitless.live.leader import LeaderElector
from waitless.live.redis_url import RedisURLError, parse_sentinel_url, redis_from_url
from waitless.live.store import MemoryLiveStore
from waitless.settings import Settings


def test_sentinel_urls_are_parsed() -> None:
    parts = parse_sentinel_url(
        "redis+sentinel://:s%40cret@sentinel-0:26379,sentinel-1:26380/mymaster/2"
        "?sentinel_password=x")
    assert parts == {"hosts": [("sentinel-0", 26379), ("sentinel-1", 26380)],
                     "service": "mymaster", "db": 2, "password": "s@cret",
                     "sentinel_password": "x", "ssl": False}
    parts = parse_sentinel_url("rediss+sentinel://sentinel/primary")
    assert parts["hosts"] == [("sentinel", 26379)] and parts["db"] == 0 and parts["ssl"]
    for bad in ("redis+sentinel://host:26379", "redis+sentinel:///mymaster",
                "redis+sentinel://host:port/mymaster", "redis+sentinel://h/m/x",
                "redis://host/0"):
        with pytest.raises(RedisURLError):
            parse_sentinel_url(bad)


def test_a_password_is_never_echoed_in_errors() -> None:
    with pytest.raises(RedisURLError) as caught:
        parse_sentinel_url("redis+sentinel://:hunter2@host:notaport/m")
    assert "hunter2" not in str(caught.value)


def _wait_for_ping(port: int, deadline_seconds: float = 20) -> None:
    client = redis.Redis(port=port)
    deadline = time.monotonic() + deadline_seconds
    while True:
        try:
            if client.ping():
                return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)


@pytest.fixture
def sentinel(tmp_path: Path):
    """(sentinel port, primary port) of a private primary and a Sentinel watching it."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed on this machine")
    primary_port, sentinel_port = free_port(), free_port()
    config = tmp_path / "sentinel.conf"
    config.write_text(f"port {sentinel_port}\nbind 127.0.0.1\ndir {tmp_path}\n"
                      f"sentinel monitor waitless-test 127.0.0.1 {primary_port} 1\n")
    procs = [subprocess.Popen([server, "--port", str(primary_port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        _wait_for_ping(primary_port)
        procs.append(subprocess.Popen([server, str(config), "--sentinel"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait_for_ping(sentinel_port)
        yield sentinel_port, primary_port
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(10)


async def test_clients_follow_the_sentinel_to_the_primary(sentinel) -> None:
    sentinel_port, primary_port = sentinel
    client = redis_from_url(f"redis+sentinel://127.0.0.1:{sentinel_port}/waitless-test/3",
                            socket_timeout=2, socket_connect_timeout=2)
    try:
        await client.set("k", "through the sentinel")
        direct = redis.Redis(port=primary_port, db=3)
        assert direct.get("k") == b"through the sentinel"
        # The ingestor's lease and fenced writes (Lua scripts) work through it too.
        elector = LeaderElector(client, prefix="p", region="r", lease_seconds=30)
        assert await elector.try_acquire()
        store = FencedRedisLiveStore(client, prefix="p", lease_key=elector.lease_key,
                                     lease_value=lambda: elector.lease_value)
        obs = Observation(site_id="S1", service="ed", wait_minutes=42.0,
                          observed_at=datetime.now(UTC), feed="f")
        assert await store.write("r", [obs]) == 1
        assert direct.hlen("p:live:r") == 1
        assert direct.get("p:ingest-lease:r").decode() == elector.lease_value
    finally:
        await client.aclose()


async def test_plain_urls_still_give_plain_clients() -> None:
    client = redis_from_url("redis://127.0.0.1:6379/0")
    try:
        assert await client.ping()
        assert client.connection_pool.connection_kwargs["port"] == 6379
    finally:
        await client.aclose()


async def test_the_api_starts_on_a_sentinel_url_and_shares_through_the_primary(
        sentinel, aiohttp_client, tmp_path: Path) -> None:
    """Sign-outs and load-aware sharing (the patient page's cookie key too) follow the URL.

    Before, both made their clients with redis-py's own ``from_url``, which refuses the
    scheme: the API did not start (ValueError) on the URL docs/operations.md recommends."""
    sentinel_port, primary_port = sentinel
    region = _region_with("\n[load_aware]\nenabled = true\n")
    settings = Settings(spool_dir=str(tmp_path / "spool"), commissioner_token="t" * 32,
                        cookie_secure=False, redis_prefix="p",
                        redis_url=f"redis+sentinel://127.0.0.1:{sentinel_port}/waitless-test/3")
    client = await aiohttp_client(create_app(settings, region=region,
                                             live_store=MemoryLiveStore()))
    direct = redis.Redis(port=primary_port, db=3)
    assert direct.get("p:load:cookie_key") == client.app[SENT_COOKIE_KEY].current
    signed_in = await client.post("/commissioners/login", data={"token": "t" * 32},
                                  allow_redirects=False)
    assert signed_in.status == 303
    out = await client.post("/commissioners/logout", allow_redirects=False)
    assert out.status == 303 and len(direct.keys("p:session:revoked:*")) == 1
