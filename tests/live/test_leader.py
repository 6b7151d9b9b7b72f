"""Leader election and fenced writes against the real Redis (no clocks to wait on: the tests
move the lease in Redis the way an expiry or a rival would)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from tests.conftest import REDIS_URL
from waitless.domain.observation import Observation
from waitless.live.fenced_store import FencedRedisLiveStore, NotLeaderError
from waitless.live.leader import LeaderElector, LeaderMetrics, cancel_and_wait, lease_keys

REGION = "kent-medway"


@pytest.fixture
async def client(redis_prefix: str):
    client = aioredis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
def prefix(redis_prefix: str) -> str:
    return f"{redis_prefix}:{uuid.uuid4().hex[:6]}"


def elector(client, prefix: str, name: str, registry: CollectorRegistry | None = None,
            lease_seconds: float = 30.0) -> LeaderElector:
    metrics = LeaderMetrics(registry) if registry is not None else None
    return LeaderElector(client, prefix=prefix, region=REGION, lease_seconds=lease_seconds,
                         identity=name, metrics=metrics)


def obs(site: str, wait_minutes: float) -> Observation:
    return Observation(site_id=site, service="ed", wait_minutes=wait_minutes,
                       observed_at=datetime(2026, 11, 24, 10, 30, tzinfo=UTC), feed="f")


async def test_only_one_replica_wins_and_tokens_only_grow(client, prefix) -> None:
    a, b = elector(client, prefix, "a"), elector(client, prefix, "b")
    assert await a.try_acquire()
    assert not await b.try_acquire()
    assert b.lease_value is None
    assert await a.holder() == f"{a.token} a"
    ttl_ms = await client.pttl(a.lease_key)
    assert 0 < ttl_ms <= 30_000
    first = a.token
    await a.release()
    assert await client.exists(a.lease_key) == 0
    assert await b.try_acquire()
    assert b.token == first + 1


async def test_renewal_extends_only_our_own_lease(client, prefix) -> None:
    a, b = elector(client, prefix, "a"), elector(client, prefix, "b")
    assert await a.try_acquire()
    await client.pexpire(a.lease_key, 500)
    assert await a.renew()
    assert await client.pttl(a.lease_key) > 20_000
    # The lease expires (as if a was paused past it) and b takes it: a's renewal must fail.
    await client.delete(a.lease_key)
    assert await b.try_acquire()
    assert not await a.renew()
    assert a.lease_value is None
    assert await b.holder() == f"{b.token} b"


async def test_a_paused_leader_cannot_write_after_losing_the_lease(client, prefix) -> None:
    registry = CollectorRegistry()
    a, b = elector(client, prefix, "a", registry), elector(client, prefix, "b")
    refusals: list[str] = []
    store_a = FencedRedisLiveStore(client, prefix=prefix, lease_key=a.lease_key,
                                   lease_value=lambda: a.lease_value,
                                   on_refused=refusals.append)
    store_b = FencedRedisLiveStore(client, prefix=prefix, lease_key=b.lease_key,
                                   lease_value=lambda: b.lease_value)
    assert await a.try_acquire()
    assert await store_a.write(REGION, [obs("S1", 30)]) == 1
    await store_a.put_feed_status(REGION, "f", {"ok": "a"})
    # a is "paused": its lease expires and b takes over, but a still believes it leads.
    await client.delete(a.lease_key)
    assert await b.try_acquire()
    assert a.lease_value is not None
    with pytest.raises(NotLeaderError, match="fencing script"):
        await store_a.write(REGION, [obs("S1", 99), obs("S2", 99)])
    with pytest.raises(NotLeaderError):
        await store_a.put_feed_status(REGION, "f", {"ok": "late a"})
    assert refusals == ["redis", "redis"]
    assert await store_b.write(REGION, [obs("S2", 40)]) == 1
    current = await store_b.current(REGION)
    assert {k: o.wait_minutes for k, o in current.items()} == {"S1/ed": 30, "S2/ed": 40}
    history = await store_b.history(REGION)
    assert [o.wait_minutes for o in history] == [30, 40]
    assert await store_b.feed_statuses(REGION) == {"f": {"ok": "a"}}


async def test_a_standby_store_refuses_before_asking_redis(client, prefix) -> None:
    a = elector(client, prefix, "a")
    refusals: list[str] = []
    store = FencedRedisLiveStore(client, prefix=prefix, lease_key=a.lease_key,
                                 lease_value=lambda: a.lease_value, on_refused=refusals.append)
    with pytest.raises(NotLeaderError, match="does not hold"):
        await store.write(REGION, [obs("S1", 30)])
    assert refusals == ["local"]
    assert await store.current(REGION) == {}


async def test_a_fenced_write_of_many_changes_lands_whole(client, prefix) -> None:
    a = elector(client, prefix, "a")
    store = FencedRedisLiveStore(client, prefix=prefix, lease_key=a.lease_key,
                                 lease_value=lambda: a.lease_value)
    assert await a.try_acquire()
    many = [obs(f"S{i:04d}", 10 + i % 50) for i in range(1500)]
    pubsub = client.pubsub()
    await pubsub.subscribe(store.key("changed", REGION))
    assert await store.write(REGION, many) == 1500
    notices = []
    for _ in range(3):  # the subscribe confirmation, then the change notice
        message = await pubsub.get_message(timeout=5)
        if message and message["type"] == "message":
            notices.append(message["data"])
            break
    await pubsub.aclose()
    assert notices == [b"1500"]
    assert await client.xlen(store.key("obs", REGION)) == 1500
    current = await store.current(REGION)
    assert len(current) == 1500
    assert current["S0049/ed"].wait_minutes == 59
    assert await store.write(REGION, many) == 0  # unchanged: no rewrite, no notice


async def test_run_hands_over_when_the_lease_is_taken(client, prefix) -> None:
    registry = CollectorRegistry()
    a = LeaderElector(client, prefix=prefix, region=REGION, lease_seconds=30.0,
                      renew_seconds=0.02, retry_seconds=0.02, identity="a",
                      metrics=LeaderMetrics(registry))
    terms: list[str] = []
    working = asyncio.Event()
    stopped = asyncio.Event()

    async def work() -> None:
        terms.append(a.lease_value)
        working.set()
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    runner = asyncio.create_task(a.run(work))
    await asyncio.wait_for(working.wait(), 5)
    assert registry.get_sample_value("waitless_ingest_leader", {"region": REGION}) == 1
    # A rival holds the lease now (a's expired while it was paused): a stops its work.
    working.clear()
    await client.set(a.lease_key, "999 rival", px=200)
    await asyncio.wait_for(stopped.wait(), 5)
    assert registry.get_sample_value("waitless_ingest_leader", {"region": REGION}) == 0
    assert registry.get_sample_value("waitless_ingest_leadership_changes_total",
                                     {"region": REGION, "change": "lost"}) == 1
    # The rival's lease runs out; a wins a new term with a larger token.
    await asyncio.wait_for(working.wait(), 5)
    await cancel_and_wait(runner)  # redis-py may lose one cancellation mid-command
    assert runner.cancelled()
    first, second = (int(t.split()[0]) for t in terms)
    assert second > first
    assert len(terms) == 2


def test_lease_keys_are_per_region() -> None:
    assert lease_keys("p", "kent-medway") == ("p:ingest-lease:kent-medway",
                                              "p:ingest-fence:kent-medway")
    assert lease_keys("p", "a") != lease_keys("p", "b")


async def test_work_that_swallows_a_cancellation_is_still_stopped(client, prefix) -> None:
    # redis-py's asyncio client now and then loses a cancellation that lands mid-command
    # (redis/redis-py#2028 family): the elector must stop its work all the same.
    a = LeaderElector(client, prefix=prefix, region=REGION, lease_seconds=30.0,
                      renew_seconds=0.02, retry_seconds=0.02, identity="a")
    started, stopped = asyncio.Event(), asyncio.Event()
    swallowed = []

    async def stubborn() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            swallowed.append(1)  # what the library does: carry on as if nothing happened
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    runner = asyncio.create_task(a.run(stubborn))
    await asyncio.wait_for(started.wait(), 5)
    await client.set(a.lease_key, "999 rival", px=60_000)
    await asyncio.wait_for(stopped.wait(), 5)
    assert swallowed == [1]
    assert a.lease_value is None
    await cancel_and_wait(runner)  # redis-py may lose one cancellation mid-command
    assert runner.cancelled()
