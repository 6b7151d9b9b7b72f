"""The same tests against the in-process store and the real Redis server."""

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from tests.conftest import REDIS_URL
from waitless.domain.observation import Observation
from waitless.live.redis_store import RedisLiveStore
from waitless.live.store import LiveStore

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def obs(site: str, service: str, wait: float, minutes: int = 0) -> Observation:
    return Observation(site_id=site, service=service, wait_minutes=wait,
                       observed_at=T0 + timedelta(minutes=minutes), feed="f")


async def test_write_then_read_current_state(live_store: LiveStore) -> None:
    changed = await live_store.write("r", [obs("A", "ed", 200), obs("A", "utc", 40)])
    assert changed == 2
    current = await live_store.current("r")
    assert current == {"A/ed": obs("A", "ed", 200), "A/utc": obs("A", "utc", 40)}
    assert await live_store.current("other-region") == {}


async def test_unchanged_write_changes_nothing_newer_value_replaces(live_store: LiveStore) -> None:
    await live_store.write("r", [obs("A", "ed", 200)])
    assert await live_store.write("r", [obs("A", "ed", 200)]) == 0
    assert await live_store.write("r", [obs("A", "ed", 210, minutes=5)]) == 1
    assert (await live_store.current("r"))["A/ed"].wait_minutes == 210


async def test_history_keeps_every_observation_in_order(live_store: LiveStore) -> None:
    for k in range(5):
        await live_store.write("r", [obs("A", "ed", 100 + k, minutes=k)])
    history = await live_store.history("r")
    assert [o.wait_minutes for o in history] == [100, 101, 102, 103, 104]
    recent = await live_store.history("r", since=T0 + timedelta(minutes=3))
    assert [o.wait_minutes for o in recent] == [103, 104]


async def test_change_notice_only_when_state_changes(live_store: LiveStore) -> None:
    if isinstance(live_store, RedisLiveStore):
        await _redis_notices_only_on_change(live_store)
        return
    # In process a notice is queued inside write(), so whether one came shows as soon as the
    # waiting listener has had a turn of the event loop (no time needs to pass).
    notices = live_store.changes("r").__aiter__()
    first = asyncio.ensure_future(notices.__anext__())
    await _turns()  # the listener subscribes
    await live_store.write("r", [obs("A", "ed", 200)])
    await asyncio.wait_for(first, timeout=5)
    second = asyncio.ensure_future(notices.__anext__())
    await _turns()
    await live_store.write("r", [obs("A", "ed", 200)])  # same: no notice
    await _turns()
    assert not second.done(), "an unchanged write sent a change notice"
    await live_store.write("r", [obs("A", "ed", 210, minutes=5)])
    await asyncio.wait_for(second, timeout=5)
    await notices.aclose()


async def _turns(count: int = 5) -> None:
    """Let every task that is ready run (turns of the event loop, not time)."""
    for _ in range(count):
        await asyncio.sleep(0)


async def _redis_notices_only_on_change(store: RedisLiveStore) -> None:
    # Redis delivers one subscriber's messages in the order they were published, and each
    # notice carries how many observations changed: reading up to the last write's notice
    # shows every notice before it.
    client = aioredis.from_url(REDIS_URL)
    pubsub = client.pubsub()
    try:
        await pubsub.subscribe(store.key("changed", "r"))
        confirmed = await pubsub.get_message(timeout=5)  # registered once this arrives
        assert confirmed is not None and confirmed["type"] == "subscribe"
        await store.write("r", [obs("A", "ed", 200)])
        await store.write("r", [obs("A", "ed", 200)])  # same: no notice
        await store.write("r", [obs("A", "ed", 210, minutes=5), obs("B", "utc", 30)])
        payloads = []
        while b"2" not in payloads:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
            assert message is not None, f"notices stopped at {payloads}"
            payloads.append(message["data"])
        assert payloads == [b"1", b"2"]
    finally:
        await pubsub.aclose()
        await client.aclose()


async def test_feed_status_round_trip(live_store: LiveStore) -> None:
    status = {"ok": False, "last_error": "HTTP 503", "rejections": [
        {"site_id": "A", "service": "utc", "reason": "implausible_high", "detail": "4320 min"}]}
    await live_store.put_feed_status("r", "trust", status)
    assert await live_store.feed_statuses("r") == {"trust": status}


async def test_observation_fields_survive_storage(live_store: LiveStore) -> None:
    original = replace(obs("A", "miu", 35.5), wait_kind="longest", patients_waiting=4,
                       status="open", timestamp_from_source=False)
    await live_store.write("r", [original])
    assert (await live_store.current("r"))["A/miu"] == original


async def test_history_after_a_cursor_returns_each_entry_once(live_store: LiveStore) -> None:
    await live_store.write("r", [obs("A", "ed", 100)])
    first, cursor = await live_store.history_after("r", None)
    assert [o.wait_minutes for o in first] == [100]
    assert await live_store.history_after("r", cursor) == ([], cursor)
    # A feed repeating an old timestamp is still new to a cursor reader.
    await live_store.write("r", [obs("A", "ed", 150, minutes=-30), obs("B", "utc", 20)])
    more, cursor2 = await live_store.history_after("r", cursor)
    assert [o.wait_minutes for o in more] == [150, 20]
    assert (await live_store.history_after("r", cursor2))[0] == []
    newest, _ = await live_store.history_after("r", None, limit=2)
    assert [o.wait_minutes for o in newest] == [150, 20]


async def test_a_quiet_subscription_outlasts_the_socket_timeout(redis_prefix: str) -> None:
    """Change notices must keep coming after a quiet spell longer than the Redis client's
    socket timeout. They did not: pubsub.listen() read with that timeout, so every 5 quiet
    seconds the subscription ended, and a change published before it was made again waited
    for the periodic reload (2.6 s, issue 12). The quiet spell is the stimulus here, so it is
    real time: a 0.1 s socket timeout, 0.4 s of silence."""
    store = RedisLiveStore(aioredis.from_url(REDIS_URL, socket_timeout=0.1),
                           prefix=f"{redis_prefix}:quiet")
    notices = store.changes("r").__aiter__()
    try:
        first = asyncio.ensure_future(notices.__anext__())
        minute = 0
        while not first.done():  # subscribed once one of these changes is noticed
            minute += 1
            await store.write("r", [obs("A", "ed", 100 + minute, minutes=minute)])
            await asyncio.wait({first}, timeout=0.05)
        first.result()
        second = asyncio.ensure_future(notices.__anext__())
        done, _ = await asyncio.wait({second}, timeout=0.4)
        assert not done, "the subscription ended (or a notice came) while nothing was published"
        await store.write("r", [obs("A", "ed", 300, minutes=minute + 1)])
        await asyncio.wait_for(second, timeout=5)
    finally:
        await notices.aclose()
        await store.close()  # the session's prefix fixture deletes the keys
