"""Load-aware ranking (issue #17) in every served region whose file enables it, not the primary
alone: each region's answers are adjusted, a site's counts are its home region's whichever region
answered, and a region with ``[load_aware]`` off gets no adjustment.

The two made-up border regions of tests/api/regions/; every service waits 30 minutes for 5
waiting, so one more patient is worth 6 minutes (follow rate 1).
"""

from __future__ import annotations

import asyncio
import tomllib
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import redis.asyncio as aioredis

from tests.api.test_follow_rate import answer, choose
from tests.api.test_multiregion_api import DEEP_SOUTH, NEAR_BORDER, NORTH, SOUTH
from tests.conftest import REDIS_URL, eventually
from waitless.api.app import create_app
from waitless.api.load_sync import LOAD_SITES
from waitless.api.sent_cookie import SENT_COOKIE, cookie_key_name
from waitless.domain.event_fields import event_row
from waitless.domain.observation import Observation
from waitless.domain.region import Region, parse_region
from waitless.events.migrations import migrate
from waitless.events.writes import insert_events
from waitless.live.store import MemoryLiveStore
from waitless.ranking.load import FollowRate
from waitless.settings import Settings

ENABLED = "\n[load_aware]\nenabled = true\nfollow_rate = 1.0\n"
# Inside South, 5.6 km from its border UTC (TSB01, farther than NEAR_BORDER is: a patient
# sent from there arrives first) and 12 km from North's (TNB01).
SOUTH_NEAR_BORDER = {"lat": "50.92", "lon": "0.52"}
# South's border UTC waits least, so North's answer near the border names it first.
SOUTH_BORDER_SHORT = {"TSB01": 15.0}


def region_file(path: str, load_aware: str = ENABLED) -> Region:
    """The region file at ``path`` with ``load_aware`` appended."""
    text = Path(path).read_text(encoding="utf-8") + load_aware
    return parse_region(tomllib.loads(text), source_path=path)


async def load_app(regions: list[Region], tmp_path: Path, now: datetime,
                   waits: dict[str, float] | None = None, **settings: object):
    """An app serving ``regions`` (the first the primary), each site's wait in its home's keys:
    30 minutes (or ``waits[site_id]``) for 5 waiting, observed 3 minutes ago."""
    store = MemoryLiveStore()
    for region in regions:
        await store.write(region.name, [
            Observation(site.id, service.kind, (waits or {}).get(site.id, 30.0),
                        now - timedelta(minutes=3), patients_waiting=5, feed="test")
            for site in region.sites for service in site.services])
    return create_app(Settings(spool_dir=str(tmp_path / "spool"),
                               graph_cache=str(tmp_path / "no-graphs"), **settings),
                      regions=regions, live_store=store, clock=lambda: now)


async def rank(client, origin: dict[str, str]) -> dict:
    response = await client.get("/v1/rank", params=origin)
    assert response.status == 200
    return await response.json()


def adjustments(body: dict) -> dict[str, float]:
    return {r["site_id"]: r["load_adjustment_minutes"] for r in body["results"]}


async def test_the_second_region_s_answers_are_adjusted_like_the_primary_s(
        aiohttp_client, fixed_now: datetime, tmp_path: Path) -> None:
    north, south = region_file(NORTH), region_file(SOUTH)
    for order in ([north, south], [south, north]):  # South second, then South primary
        client = await aiohttp_client(await load_app(order, tmp_path, fixed_now))
        first = await rank(client, DEEP_SOUTH)
        assert first["region"] == "border-south"
        assert first["results"][0]["site_id"] == "TSB02"  # 2 km away
        # One patient sent to South Coast UTC ahead of this one: 1.0 x 1 x (30 min / 5).
        assert adjustments(await rank(client, DEEP_SOUTH))["TSB02"] == 6.0
        # North's answers too, from North's own counts (TNB01 first, 3 km away).
        assert (await rank(client, NEAR_BORDER))["results"][0]["site_id"] == "TNB01"
        assert adjustments(await rank(client, NEAR_BORDER))["TNB01"] == 6.0


def pending(app, region: str, key: str, now: datetime) -> int:
    """Patients counted in ``region``'s view as on their way to ``key`` in the next 4 hours."""
    return app[LOAD_SITES].views[region].tracker.pending(key, now.timestamp(),
                                                         now.timestamp() + 4 * 3600)


async def test_a_border_site_is_counted_once_whichever_region_sends_patients(
        aiohttp_client, fixed_now: datetime, tmp_path: Path) -> None:
    app = await load_app([region_file(NORTH), region_file(SOUTH)], tmp_path, fixed_now,
                         waits=SOUTH_BORDER_SHORT)
    client = await aiohttp_client(app)
    north_answer = await rank(client, NEAR_BORDER)
    assert (north_answer["region"], north_answer["results"][0]["site_id"]) == (
        "border-north", "TSB01")
    # North sent a patient to South's site: counted in South's view (South's Redis keys).
    assert pending(app, "border-south", "TSB01/utc", fixed_now) == 1
    assert not app[LOAD_SITES].views["border-north"].tracker.local
    south_answer = await rank(client, SOUTH_NEAR_BORDER)
    assert (south_answer["region"], south_answer["results"][0]["site_id"]) == (
        "border-south", "TSB01")
    # South's answer sees the patient North sent: 1.0 x 1 x (15 min / 5 waiting).
    assert adjustments(south_answer)["TSB01"] == 3.0
    # The next patient from there has both ahead: North's and South's, one count per site.
    assert adjustments(await rank(client, SOUTH_NEAR_BORDER))["TSB01"] == 6.0
    assert pending(app, "border-south", "TSB01/utc", fixed_now) == 3


async def test_the_page_takes_back_its_count_from_the_site_s_home_region(
        aiohttp_client, fixed_now: datetime, tmp_path: Path) -> None:
    app = await load_app([region_file(NORTH), region_file(SOUTH)], tmp_path, fixed_now,
                         waits=SOUTH_BORDER_SHORT)
    client = await aiohttp_client(app)
    client.session.cookie_jar.clear()
    first = await client.get("/", params=NEAR_BORDER)  # answered by North, TSB01 first
    assert first.status == 200
    value = first.cookies[SENT_COOKIE].value
    assert value.startswith("TSB01/utc|")
    for _ in range(2):  # reloads: the same patient, not more
        client.session.cookie_jar.clear()
        again = await client.get("/", params=NEAR_BORDER,
                                 headers={"Cookie": f"{SENT_COOKIE}={value}"})
        assert "for other patients recently sent here" not in await again.text()
        assert SENT_COOKIE not in again.cookies  # the same count: the cookie stays as it is
        assert pending(app, "border-south", "TSB01/utc", fixed_now) == 1
    assert not app[LOAD_SITES].views["border-north"].tracker.local


async def test_two_instances_share_the_second_region_s_counts(
        aiohttp_client, fixed_now: datetime, tmp_path: Path, redis_prefix: str) -> None:
    fast_sync = ENABLED + "sync_seconds = 0.1\n"
    regions = [region_file(NORTH, fast_sync), region_file(SOUTH, fast_sync)]
    apps = [await load_app(regions, tmp_path / name, fixed_now, redis_url=REDIS_URL,
                           redis_prefix=redis_prefix) for name in ("a", "b")]
    first, second = [await aiohttp_client(app) for app in apps]
    assert (await rank(first, DEEP_SOUTH))["results"][0]["site_id"] == "TSB02"
    await eventually(lambda: pending(apps[1], "border-south", "TSB02/utc", fixed_now) == 1,
                     what="instance b sees the patient instance a sent")
    # The other instance's answer in the second region: one patient ahead, 6 minutes.
    assert adjustments(await rank(second, DEEP_SOUTH))["TSB02"] == 6.0
    redis = aioredis.from_url(REDIS_URL)
    try:  # in South's own hashes, none in North's
        assert await redis.keys(f"{redis_prefix}:load:border-south:*")
        assert not await redis.keys(f"{redis_prefix}:load:border-north:*")
    finally:
        await redis.aclose()


async def test_the_cookie_key_is_one_for_the_deployment_kept_for_the_longest_horizon(
        aiohttp_client, fixed_now: datetime, tmp_path: Path, redis_prefix: str) -> None:
    # North keeps counts 240 minutes (the default), South 600; both sync every 0.1 s.
    north = region_file(NORTH, ENABLED + "sync_seconds = 0.1\n")
    south = region_file(SOUTH, ENABLED + "horizon_minutes = 600\nsync_seconds = 0.1\n")
    app = await load_app([north, south], tmp_path, fixed_now, redis_url=REDIS_URL,
                         redis_prefix=redis_prefix)
    await aiohttp_client(app)
    redis = aioredis.from_url(REDIS_URL)
    try:
        name = cookie_key_name(redis_prefix)
        await redis.expire(name, 60)  # renewed by the next sync of South's task
        await eventually(lambda: _ttl_above(redis, name, 60), what="the key renewed")
        await asyncio.sleep(0.5)  # five rounds of both regions' syncs
        # South's horizon and two hours, not North's 240 minutes and two hours (21600 s).
        assert 43_100 < await redis.ttl(name) <= 600 * 60 + 7200
        assert await redis.keys(f"{redis_prefix}:load:cookie_key*") == [name.encode()]
    finally:
        await redis.aclose()


async def _ttl_above(redis: aioredis.Redis, name: str, seconds: int) -> int:
    ttl = await redis.ttl(name)
    return ttl if ttl > seconds else 0


async def test_a_region_with_load_aware_off_gets_no_adjustment(
        aiohttp_client, fixed_now: datetime, tmp_path: Path) -> None:
    app = await load_app([region_file(NORTH), region_file(SOUTH, "")], tmp_path, fixed_now)
    assert set(app[LOAD_SITES].views) == {"border-north"}
    client = await aiohttp_client(app)
    for _ in range(2):
        assert set(adjustments(await rank(client, DEEP_SOUTH)).values()) == {0.0}
    assert (await rank(client, NEAR_BORDER))["results"][0]["site_id"] == "TNB01"
    assert adjustments(await rank(client, NEAR_BORDER))["TNB01"] == 6.0
    # North's border UTC has patients counted, but South's answers are not adjusted.
    assert adjustments(await rank(client, SOUTH_NEAR_BORDER))["TNB01"] == 0.0
    # Nor counted: South's answers named South's sites, which no view counts.
    assert set(app[LOAD_SITES].views["border-north"].tracker.local) == {"TNB01/utc"}


async def test_each_region_discounts_by_the_follow_rate_of_its_own_answers(
        aiohttp_client, fixed_now: datetime, tmp_path: Path, pg_dsn: str) -> None:
    south = region_file(SOUTH, ENABLED + "follow_min_choices = 4\nfollow_prior_answers = 0\n")
    conn = await asyncpg.connect(pg_dsn)
    try:  # South's four answers named TSB02 first; one patient went there
        await migrate(conn)
        day = fixed_now - timedelta(days=1)
        events = [answer("TSB02", "utc", day + timedelta(minutes=i), region="border-south")
                  for i in range(4)]
        await insert_events(conn, [event_row(e) for e in events])
        for event, site in zip(events, ("TSB02", "TSB01", "TSB01", "TSB01"), strict=True):
            await choose(conn, event, site, "utc", day + timedelta(hours=1), south)
    finally:
        await conn.close()
    app = await load_app([region_file(NORTH), south], tmp_path, fixed_now, database_url=pg_dsn)
    client = await aiohttp_client(app)
    views = app[LOAD_SITES].views
    assert views["border-south"].follow == FollowRate(0.25, "observed", 4, 4, 1)
    assert views["border-north"].follow == FollowRate(1.0, "prior")  # no choices of North's
    await rank(client, DEEP_SOUTH)
    assert adjustments(await rank(client, DEEP_SOUTH))["TSB02"] == 1.5  # 0.25 x 1 x 6
    await rank(client, NEAR_BORDER)
    assert adjustments(await rank(client, NEAR_BORDER))["TNB01"] == 6.0  # 1.0 x 1 x 6
    metrics = await (await client.get("/metrics")).text()
    assert ('waitless_load_aware_follow_rate{region="border-south",source="observed"} 0.25'
            in metrics)
    assert 'waitless_load_aware_follow_rate{region="border-north",source="prior"} 1.0' in metrics
