"""Workers agree on sent-not-arrived counts through Redis, off the request path."""

from __future__ import annotations

import asyncio
import logging
import tomllib
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tests.conftest import REDIS_URL, eventually, free_port
from waitless.api.app import create_app
from waitless.api.background import OutageLog
from waitless.api.load_share import sync_forever, sync_once
from waitless.api.load_sync import LOAD_SITES
from waitless.api.sent_cookie import CookieKeys, new_key
from waitless.domain.errors import RegionError
from waitless.domain.load_aware_settings import LoadAwareSettings
from waitless.domain.observation import Observation
from waitless.domain.region import load_region, parse_region
from waitless.live.leader import cancel_and_wait
from waitless.live.store import MemoryLiveStore
from waitless.metrics import Metrics
from waitless.ranking.load import LoadView, SentTracker
from waitless.settings import Settings

T0 = 1_795_000_000.0


@pytest.fixture
async def redis_client():
    client = aioredis.from_url(REDIS_URL)
    yield client
    await client.aclose()


async def test_two_workers_see_each_other_s_patients_once(redis_client, redis_prefix):
    a, b = SentTracker(lambda: T0), SentTracker(lambda: T0)
    for _ in range(3):
        a.record("X/ed", T0 + 600)
    b.record("X/ed", T0 + 610)
    b.record("Y/utc", T0 + 1200)
    region = "sync-test"
    for tracker in (a, b, a, b, a):  # repeated syncs must not inflate anything
        await sync_once(tracker, redis_client, redis_prefix, region, now_epoch_s=T0,
                        horizon_minutes=240)
    for tracker in (a, b):
        assert tracker.pending("X/ed", T0, T0 + 900) == 4
        assert tracker.pending("Y/utc", T0, T0 + 1800) == 1
    a.record("X/ed", T0 + 600)  # after the syncs: A knows at once, B after A's next sync
    assert a.pending("X/ed", T0, T0 + 900) == 5
    assert b.pending("X/ed", T0, T0 + 900) == 4
    await sync_once(a, redis_client, redis_prefix, region, now_epoch_s=T0, horizon_minutes=240)
    await sync_once(b, redis_client, redis_prefix, region, now_epoch_s=T0, horizon_minutes=240)
    assert b.pending("X/ed", T0, T0 + 900) == 5


async def test_a_count_taken_back_by_another_worker_is_gone_for_both(redis_client,
                                                                     redis_prefix):
    # A page answer counted by worker A; the same patient's reload lands on worker B.
    a, b = SentTracker(lambda: T0), SentTracker(lambda: T0)
    sent = a.record("X/ed", T0 + 600)
    a.record("X/ed", T0 + 620)  # another patient
    region = "sync-forget"
    for tracker in (a, b):
        await sync_once(tracker, redis_client, redis_prefix, region, now_epoch_s=T0,
                        horizon_minutes=240)
    assert b.pending("X/ed", T0, T0 + 900) == 2
    b.forget(sent)
    b.record("X/ed", T0 + 660)  # the reload's own answer replaces it
    assert b.pending("X/ed", T0, T0 + 900) == 2
    for tracker in (b, a, b, a):  # repeated syncs: still once each
        await sync_once(tracker, redis_client, redis_prefix, region, now_epoch_s=T0,
                        horizon_minutes=240)
    # Before (peer counts below 1 were dropped): A kept the taken-back count, 3.
    for tracker in (a, b):
        assert tracker.pending("X/ed", T0, T0 + 900) == 2


async def test_unreachable_redis_keeps_counts_for_the_next_sync(redis_prefix):
    tracker = SentTracker(lambda: T0)
    tracker.record("X/ed", T0 + 600)
    dead = aioredis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    with pytest.raises((RedisError, OSError)):
        await sync_once(tracker, dead, redis_prefix, "sync-test-2", now_epoch_s=T0,
                        horizon_minutes=240)
    await dead.aclose()
    assert tracker.pending("X/ed", T0, T0 + 900) == 1
    assert tracker.unflushed == {("X/ed", int((T0 + 600) // 60)): 1}


async def test_counts_past_the_horizon_are_dropped_while_redis_is_down(redis_client,
                                                                       redis_prefix):
    start = 29_916_660 * 60.0  # on a minute
    now = [start]
    tracker = SentTracker(lambda: now[0], horizon_minutes=240)
    dead = aioredis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    for minute in range(8 * 60 + 1):  # eight hours, one patient a minute due 30 min later
        now[0] = start + minute * 60
        tracker.record("X/ed", now[0] + 1800)
        if minute % 60 == 0:  # a failed sync every hour
            with pytest.raises((RedisError, OSError)):
                await sync_once(tracker, dead, redis_prefix, "sync-down", now_epoch_s=now[0],
                                horizon_minutes=240)
    await dead.aclose()
    # Due within the last 240 minutes or still to come: minutes 210-480. Before: all 481 kept,
    # local and unshared alike (a day of 17 services: 24,480 entries each).
    assert len(tracker.local["X/ed"]) == 271
    assert len(tracker.unflushed) == 271
    await sync_once(tracker, redis_client, redis_prefix, "sync-down", now_epoch_s=now[0],
                    horizon_minutes=240)
    other = SentTracker(lambda: now[0], horizon_minutes=240)
    await sync_once(other, redis_client, redis_prefix, "sync-down", now_epoch_s=now[0],
                    horizon_minutes=240)
    assert other.pending("X/ed", now[0] - 241 * 60, now[0] + 3600) == 271


def _field(key: str, arrival_epoch_s: float) -> tuple[str, str]:
    """The Redis hash and field ``key``'s patients arriving then are counted in."""
    bucket = int(arrival_epoch_s // 60)
    return f"{bucket // 60}", f"{key}|{bucket}"


async def test_a_refused_count_is_sent_again_alone(redis_client, redis_prefix):
    region = "sync-refused"
    hour, y_field = _field("Y/ed", T0 + 600)
    name = f"{redis_prefix}:load:{region}:{hour}"
    await redis_client.hset(name, y_field, "not-a-number")  # HINCRBY on it is refused
    a, b = SentTracker(lambda: T0), SentTracker(lambda: T0)
    a.record("X/ed", T0 + 600)
    a.record("Y/ed", T0 + 600)
    outcomes = [await sync_once(a, redis_client, redis_prefix, region, now_epoch_s=T0,
                                horizon_minutes=240) for _ in range(5)]
    # Before: every round re-sent both counts, so X's one patient was 5 after five rounds.
    assert await redis_client.hget(name, _field("X/ed", T0 + 600)[1]) == b"1"
    assert [o.refused_counts for o in outcomes] == [1] * 5
    assert a.unflushed == {("Y/ed", int((T0 + 600) // 60)): 1}
    assert a.pending("Y/ed", T0, T0 + 900) == 1  # still counted here, just not shared
    await sync_once(b, redis_client, redis_prefix, region, now_epoch_s=T0, horizon_minutes=240)
    assert b.pending("X/ed", T0, T0 + 900) == 1
    assert b.pending("Y/ed", T0, T0 + 900) == 0


async def test_malformed_fields_are_skipped_and_the_rest_is_read(redis_client, redis_prefix):
    region = "sync-malformed"
    hour, _ = _field("X/ed", T0 + 600)
    await redis_client.hset(f"{redis_prefix}:load:{region}:{hour}", mapping={
        "no-bar": "1", "X/ed|not-a-minute": "1", "X/ed|29916672": "many",
        b"\xff|29916672": "1"})
    await redis_client.set(f"{redis_prefix}:load:{region}:{int(hour) + 1}", "not a hash")
    a, b = SentTracker(lambda: T0), SentTracker(lambda: T0)
    a.record("X/ed", T0 + 600)
    await sync_once(a, redis_client, redis_prefix, region, now_epoch_s=T0, horizon_minutes=240)
    outcome = await sync_once(b, redis_client, redis_prefix, region, now_epoch_s=T0,
                              horizon_minutes=240)
    # Before: ValueError on the first malformed field, which ended the sync task.
    assert outcome.malformed_fields == 5
    assert outcome.refused_counts == 0
    assert b.pending("X/ed", T0, T0 + 900) == 1


async def test_the_sync_task_keeps_running_past_malformed_fields(redis_client, redis_prefix):
    region = "sync-task"
    hour, _ = _field("X/ed", T0 + 600)
    await redis_client.hset(f"{redis_prefix}:load:{region}:{hour}", "garbage", "1")
    view = LoadView(SentTracker(lambda: T0), LoadAwareSettings(enabled=True, sync_seconds=0.01))
    metrics = Metrics()
    task = asyncio.create_task(sync_forever(view, redis_client, redis_prefix, region,
                                        lambda: T0, metrics, CookieKeys(new_key()),
                                        OutageLog(logging.getLogger(__name__))))
    def skipped() -> float:
        return metrics.registry.get_sample_value("waitless_load_aware_sync_skipped_total",
                                                 {"region": region,
                                                  "reason": "malformed"}) or 0.0

    try:
        # Three rounds each skipping the field: the task went on past the first.
        await eventually(lambda: skipped() >= 3, what="three syncs past the malformed field")
        view.tracker.record("X/ed", T0 + 600)
        assert await eventually(lambda: redis_client.hget(
            f"{redis_prefix}:load:{region}:{hour}", _field("X/ed", T0 + 600)[1]),
            what="the next count shared") == b"1"
        assert not task.done()
    finally:
        await cancel_and_wait(task)


def _region(load_aware: str):
    kent = load_region("kent-medway")
    data = tomllib.loads(Path(kent.source_path).read_text(encoding="utf-8") + load_aware)
    return parse_region(data, source_path=kent.source_path)


async def test_api_adds_the_adjustment_for_patients_it_sent(aiohttp_client, fixed_now: datetime,
                                                            tmp_path: Path):
    region = _region("\n[load_aware]\nenabled = true\nfollow_rate = 1.0\n")
    store = MemoryLiveStore()
    await store.write(region.name, [
        Observation(site.id, service.kind, 30.0, fixed_now - timedelta(minutes=3),
                    patients_waiting=5, feed="test")
        for site in region.sites for service in site.services])
    app = create_app(Settings(spool_dir=str(tmp_path / "spool")), region=region,
                     live_store=store, clock=lambda: fixed_now)
    client = await aiohttp_client(app)
    query = {"lat": "51.2725", "lon": "1.0870", "condition": "sprain_strain"}  # Canterbury
    first = (await (await client.get("/v1/rank", params=query)).json())["results"]
    assert all(r["load_adjustment_minutes"] == 0.0 for r in first)
    second = (await (await client.get("/v1/rank", params=query)).json())["results"]
    named = next(r for r in second if r["site_id"] == first[0]["site_id"]
                 and r["kind"] == first[0]["kind"])
    # One patient sent there, arriving when this one would: 1.0 x 1 x (30 min / 5 waiting).
    assert named["load_adjustment_minutes"] == 6.0
    assert named["predicted_wait_minutes"] == pytest.approx(
        first[0]["predicted_wait_minutes"] + 6.0, abs=0.11)
    tracker = app[LOAD_SITES].views[region.name].tracker
    assert tracker.pending(f"{first[0]['site_id']}/{first[0]['kind']}", fixed_now.timestamp(),
                           fixed_now.timestamp() + 4 * 3600) == 2


async def test_load_aware_is_off_by_default_and_bad_settings_are_refused(tmp_path: Path):
    app = create_app(Settings(spool_dir=str(tmp_path / "s1")), region=_region(""),
                     live_store=MemoryLiveStore())
    assert LOAD_SITES not in app
    # The region file is refused when it is parsed, before any app is built.
    with pytest.raises(RegionError, match="follow_rate"):
        _region("\n[load_aware]\nfollow_rate = 2\n")
