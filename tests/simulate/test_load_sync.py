"""Workers agree on sent-not-arrived counts through Redis, off the request path."""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tests.conftest import REDIS_URL, free_port
from waitless.api.app import create_app
from waitless.api.load_sync import LOAD_VIEW, sync_once
from waitless.domain.errors import RegionError
from waitless.domain.observation import Observation
from waitless.domain.region import load_region, parse_region
from waitless.live.store import MemoryLiveStore
from waitless.ranking.load import SentTracker
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
    assert app[LOAD_VIEW].tracker.pending(f"{first[0]['site_id']}/{first[0]['kind']}",
                                          fixed_now.timestamp(),
                                          fixed_now.timestamp() + 4 * 3600) == 2


async def test_load_aware_is_off_by_default_and_bad_settings_are_refused(tmp_path: Path):
    app = create_app(Settings(spool_dir=str(tmp_path / "s1")), region=_region(""),
                     live_store=MemoryLiveStore())
    assert LOAD_VIEW not in app
    # The region file is refused when it is parsed, before any app is built.
    with pytest.raises(RegionError, match="follow_rate"):
        _region("\n[load_aware]\nfollow_rate = 2\n")
