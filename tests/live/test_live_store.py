"""The same tests against the in-process store and the real Redis server."""

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from waitless.domain.observation import Observation
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
    notices = 0
    subscribed = asyncio.Event()

    async def listen() -> None:
        nonlocal notices
        iterator = live_store.changes("r").__aiter__()
        subscribed.set()
        async for _ in iterator:
            notices += 1

    task = asyncio.create_task(listen())
    await subscribed.wait()
    await asyncio.sleep(0.2)  # let the Redis subscription register
    await live_store.write("r", [obs("A", "ed", 200)])
    await asyncio.sleep(0.2)
    await live_store.write("r", [obs("A", "ed", 200)])  # same: no notice
    await asyncio.sleep(0.2)
    task.cancel()
    assert notices == 1


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
