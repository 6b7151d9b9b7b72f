"""A reload that the load balancer sends to another pod takes back the patient's count.

The page's ``waitless_sent`` cookie was signed with a key made when each server was built, so
with several API pods (or after a restart) a reload landing elsewhere failed the check and
counted the same patient again. The key is now the deployment's, in Redis under the prefix.
Real Redis throughout; each "pod" is an application built on its own, as on its own server.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis.asyncio as aioredis
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from tests.api.test_follow_rate import NOW
from tests.api.test_follow_rate import _region as region_with
from tests.conftest import REDIS_URL, eventually
from tests.tcpproxy import TcpProxy
from waitless.api.app import create_app
from waitless.api.background import OutageLog
from waitless.api.load_share import read_cookie_key, sync_once
from waitless.api.load_sync import LOAD_SITES
from waitless.api.sent_cookie import (
    SENT_COOKIE,
    SENT_COOKIE_KEY,
    CookieKeys,
    cookie_key_name,
    read_sent,
    sent_value,
)
from waitless.domain.observation import Observation
from waitless.live.store import MemoryLiveStore
from waitless.ranking.load import Sent
from waitless.settings import Settings

from .conftest import CANTERBURY

WHERE = {"lat": str(CANTERBURY[0]), "lon": str(CANTERBURY[1]), "condition": "sprain_strain"}
NOTE = "for other patients recently sent here"
HORIZON = (NOW.timestamp(), NOW.timestamp() + 4 * 3600)
REGION = region_with("\n[load_aware]\nenabled = true\nfollow_rate = 1.0\n")


@pytest.fixture
def prefix(redis_prefix: str, request: pytest.FixtureRequest) -> str:
    """A key prefix of this test's own (the session's is shared by every test)."""
    return f"{redis_prefix}:{request.node.name}"


@pytest.fixture
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(REDIS_URL)
    yield client
    await client.aclose()


async def _pod(aiohttp_client, tmp_path: Path, name: str, *, redis_url: str | None,
               prefix: str = "waitless") -> TestClient:
    """One API server (started: its key is read) on a pinned clock, every service 30 minutes
    for 5 waiting, so one more patient is worth 6 minutes."""
    store = MemoryLiveStore()
    await store.write(REGION.name, [
        Observation(site.id, service.kind, 30.0, NOW - timedelta(minutes=3),
                    patients_waiting=5, feed="test")
        for site in REGION.sites for service in site.services])
    settings = Settings(spool_dir=str(tmp_path / name), redis_url=redis_url,
                        redis_prefix=prefix, cookie_secure=False)
    return await aiohttp_client(create_app(settings, region=REGION, live_store=store,
                                           clock=lambda: NOW))


async def _ask(client: TestClient, cookie: str | None = None) -> ClientResponse:
    client.session.cookie_jar.clear()  # the browser's cookie is sent by hand, pod to pod
    return await client.get("/", params=WHERE,
                            headers={"Cookie": f"{SENT_COOKIE}={cookie}"} if cookie else {})


async def _sync(client: TestClient, redis: aioredis.Redis, prefix: str) -> None:
    """One round of the pod's sync, now rather than on the next 2-second boundary."""
    view = client.app[LOAD_SITES].views[REGION.name]
    await sync_once(view.tracker, redis, prefix, REGION.name, now_epoch_s=NOW.timestamp(),
                    horizon_minutes=view.settings.horizon_minutes)


def _pending(client: TestClient, key: str) -> int:
    return client.app[LOAD_SITES].views[REGION.name].tracker.pending(key, *HORIZON)


def _shared_field(prefix: str, value: str) -> tuple[str, str]:
    """The Redis hash and field counting the patients a cookie value names."""
    field = value.rpartition(".")[0]
    minute = int(field.rpartition("|")[2])
    return f"{prefix}:load:{REGION.name}:{minute * 60 // 3600}", field


async def test_a_reload_on_another_pod_takes_back_the_count(aiohttp_client, tmp_path: Path,
                                                            redis_client, prefix: str):
    a = await _pod(aiohttp_client, tmp_path, "a", redis_url=REDIS_URL, prefix=prefix)
    b = await _pod(aiohttp_client, tmp_path, "b", redis_url=REDIS_URL, prefix=prefix)
    assert a.app[SENT_COOKIE_KEY].current == b.app[SENT_COOKIE_KEY].current
    assert a.app[SENT_COOKIE_KEY].current == await redis_client.get(
        cookie_key_name(prefix))

    first = await _ask(a)
    cookie = first.cookies[SENT_COOKIE].value
    best = cookie.partition("|")[0]
    for pod in (a, b):
        await _sync(pod, redis_client, prefix)
    assert _pending(b, best) == 1  # B knows A's patient

    # The patient reloads; the load balancer sends it to B.
    reload = await _ask(b, cookie)
    page = await reload.text()
    # Before: B refused A's signature and ranked the patient behind themselves: "Includes about
    # 6 min for other patients recently sent here" at the site they were sent to.
    assert reload.status == 200 and NOTE not in page
    assert SENT_COOKIE not in reload.cookies  # same count, same cookie
    for pod in (b, a, b):
        await _sync(pod, redis_client, prefix)
    name, field = _shared_field(prefix, cookie)
    # Before: 2 patients on their way, shared and seen by both pods.
    assert await redis_client.hget(name, field) == b"1"
    assert (_pending(a, best), _pending(b, best)) == (1, 1)


async def test_a_pod_of_another_deployment_does_not_accept_the_cookie(
        aiohttp_client, tmp_path: Path, redis_client, prefix: str):
    a = await _pod(aiohttp_client, tmp_path, "a", redis_url=REDIS_URL, prefix=prefix)
    other = await _pod(aiohttp_client, tmp_path, "other", redis_url=REDIS_URL,
                       prefix=f"{prefix}:other")
    assert a.app[SENT_COOKIE_KEY].current != other.app[SENT_COOKIE_KEY].current
    cookie = (await _ask(a)).cookies[SENT_COOKIE].value
    best = cookie.partition("|")[0]

    answer = await _ask(other, cookie)
    # Refused: counted as a patient of its own (accepted, it would be -1 + 1 = 0) and the
    # browser is given that deployment's cookie.
    assert answer.status == 200 and _pending(other, best) == 1
    assert answer.cookies[SENT_COOKIE].value not in ("", cookie)


async def test_without_redis_each_server_keeps_its_own_key(aiohttp_client, tmp_path: Path):
    a = await _pod(aiohttp_client, tmp_path, "a", redis_url=None)
    b = await _pod(aiohttp_client, tmp_path, "b", redis_url=None)
    keys_a, keys_b = a.app[SENT_COOKIE_KEY], b.app[SENT_COOKIE_KEY]
    assert not keys_a.shared and not keys_b.shared and keys_a.current != keys_b.current
    cookie = (await _ask(a)).cookies[SENT_COOKIE].value
    assert read_sent(cookie, keys_b.accepted()) is None
    reload = await _ask(a, cookie)  # the same server still takes it back
    assert _pending(a, cookie.partition("|")[0]) == 1 and SENT_COOKIE not in reload.cookies


async def test_redis_down_at_start_up_falls_back_then_shares(
        aiohttp_client, tmp_path: Path, redis_client, prefix: str,
        caplog: pytest.LogCaptureFixture):
    target = urlsplit(REDIS_URL)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 6379)
    await proxy.start()
    await proxy.stop()  # the port is kept: Redis is down when the pod starts
    caplog.set_level(logging.INFO, logger="waitless.api.load_sync")
    try:
        pod = await _pod(aiohttp_client, tmp_path, "pod",
                         redis_url=f"redis://127.0.0.1:{proxy.port}/0", prefix=prefix)
        cookie_keys = pod.app[SENT_COOKIE_KEY]
        own = cookie_keys.current
        lines = [r.getMessage() for r in caplog.records if "cookie key" in r.getMessage()]
        assert len(lines) == 1 and "not read from Redis" in lines[0]
        assert not cookie_keys.shared
        first = await _ask(pod)  # the page works meanwhile, with this server's key
        assert first.status == 200
        cookie = first.cookies[SENT_COOKIE].value
        best = cookie.partition("|")[0]

        await proxy.start()
        # The pod's own sync (every 2 s) reads the deployment's key once Redis answers.
        await eventually(lambda: cookie_keys.shared, what="the key read by a sync")
        shared = await redis_client.get(cookie_key_name(prefix))
        assert (cookie_keys.current, cookie_keys.previous, cookie_keys.shared) == (
            shared, own, True)
        # The cookie signed in the outage is still taken back, and replaced by a shared one.
        reload = await _ask(pod, cookie)
        assert _pending(pod, best) == 1 and SENT_COOKIE not in reload.cookies
        for key in (own, shared):
            assert key.hex() not in caplog.text and repr(key)[2:-1] not in caplog.text
    finally:
        await proxy.stop()


async def test_deleting_the_key_rotates_it_and_the_one_before_is_accepted(
        redis_client, prefix: str, caplog: pytest.LogCaptureFixture):
    log = OutageLog(logging.getLogger("test"))
    name = cookie_key_name(prefix)
    cookie_keys = CookieKeys(b"s" * 32)
    await read_cookie_key(cookie_keys, redis_client, prefix, 240, log)
    first = cookie_keys.current
    # The horizon (240 min) and two hours, renewed at every sync.
    assert await redis_client.ttl(name) in (6 * 3600, 6 * 3600 - 1)
    signed_first = sent_value(Sent("RVVKC/utc", 29_916_845), first)

    await redis_client.delete(name)  # an operator rotates it (or Redis lost its data)
    await read_cookie_key(cookie_keys, redis_client, prefix, 240, log)
    assert cookie_keys.current == await redis_client.get(name) != first
    assert read_sent(signed_first, cookie_keys.accepted()) == Sent("RVVKC/utc", 29_916_845)
    await redis_client.delete(name)  # twice: the first key is refused
    await read_cookie_key(cookie_keys, redis_client, prefix, 240, log)
    assert read_sent(signed_first, cookie_keys.accepted()) is None

    # Something that is not a key: kept out, logged once (without any key).
    kept = cookie_keys.current
    await redis_client.set(name, b"short")
    caplog.set_level(logging.WARNING, logger="test")
    for _ in range(2):
        await read_cookie_key(cookie_keys, redis_client, prefix, 240, log)
    await redis_client.delete(name)
    await redis_client.hset(name, "not", "a key")
    await read_cookie_key(cookie_keys, redis_client, prefix, 240, log)
    assert cookie_keys.current == kept
    assert [r.getMessage() for r in caplog.records] == [
        f"{name} holds no usable key (not a string of 32 bytes or more); cookies stay signed "
        "with the key this worker has"]
    assert kept.hex() not in caplog.text

