"""The observed follow rate of load-aware ranking, against the real PostgreSQL server.

Each test has a database of its own; answers and choices are inserted as the service writes
them (``insert_events``, ``record_choice``), and time is the injected clock.
"""

from __future__ import annotations

import tomllib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import temporary_database
from waitless.api import keys
from waitless.api.app import create_app
from waitless.api.load_sync import LOAD_SITES, refresh_follow_rate
from waitless.domain.errors import RegionError
from waitless.domain.event_fields import event_row
from waitless.domain.load_aware_settings import LoadAwareSettings, parse_load_aware
from waitless.domain.observation import Observation
from waitless.domain.region import Region, load_region, parse_region
from waitless.events.migrations import migrate
from waitless.events.writes import insert_events
from waitless.live.store import MemoryLiveStore
from waitless.ranking.load import FollowRate, estimate_follow_rate
from waitless.ranking.privacy import coarse_cell
from waitless.settings import Settings
from waitless.stats.events_stats import record_choice
from waitless.stats.follow_rate import observed_follow_rate

NOW = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
REGION = "kent-medway"


@pytest.fixture
def follow_dsn() -> Iterator[str]:
    """A PostgreSQL database of this test's own, dropped afterwards."""
    yield from temporary_database("follow")


@pytest.fixture
async def conn(follow_dsn: str):
    connection = await asyncpg.connect(follow_dsn)
    await migrate(connection)
    yield connection
    await connection.close()


def answer(site: str | None, kind: str | None, at: datetime, region: str = REGION) -> dict:
    """One ranking event as the service logs it (``site`` None: a call-999 answer)."""
    cell, lat, lon = coarse_cell(51.2802, 1.0789)
    return {
        "event_id": str(uuid.uuid4()), "occurred_at": at.isoformat(), "region": region,
        "origin_cell": cell, "origin_lat_coarse": lat, "origin_lon_coarse": lon,
        "condition": "sprain_strain", "age_band": "16-64", "mode": "drive",
        "emergency": site is None, "recommended_site": site, "recommended_kind": kind,
        "nearest_site": "RVVKC", "nearest_kind": "utc", "nearest_ed": "RVV01",
        "estimated_minutes": 40.0, "nearest_ed_minutes": 25.0,
        "results_count": 0 if site is None else 17, "travel_source": "estimate",
    }


async def choose(conn: asyncpg.Connection, event: dict | None, site: str, kind: str | None,
                 at: datetime, region: Region) -> None:
    """Record "I'm going here" as ``POST /v1/choices`` does."""
    await record_choice(conn, region, {
        "site_id": site, "kind": kind,
        "event_id": uuid.UUID(event["event_id"]) if event else None}, now=at)


async def seed_window(conn: asyncpg.Connection, kent: Region) -> None:
    """10 ranked answers in the last 7 days, 6 with a recorded choice, 3 of them followed;
    and rows the rate must not count."""
    day = NOW - timedelta(days=1)
    events = [answer("RVV01", "utc", day + timedelta(minutes=i)) for i in range(10)]
    old = answer("RVV01", "utc", NOW - timedelta(days=8))  # before the window
    elsewhere = answer("RVV01", "utc", day, region="somewhere-else")
    emergency = answer(None, None, day)
    await insert_events(conn, [event_row(e) for e in [*events, old, elsewhere, emergency]])
    later = day + timedelta(minutes=30)
    await choose(conn, events[0], "RVV01", "utc", later, kent)  # followed
    await choose(conn, events[1], "RVV01", None, later, kent)  # followed (no service named)
    await choose(conn, events[2], "RVV01", "ed", later, kent)  # the ED at that site: not
    await choose(conn, events[3], "RVVKC", "utc", later, kent)  # another site: not
    # A patient who pressed twice: the latest choice counts.
    await choose(conn, events[4], "RVVKC", "utc", later, kent)
    await choose(conn, events[4], "RVV01", "utc", later + timedelta(minutes=1), kent)  # followed
    await choose(conn, events[5], "RVV01", "utc", later, kent)
    await choose(conn, events[5], "RVVKC", "utc", later + timedelta(minutes=1), kent)  # not
    await choose(conn, old, "RVV01", "utc", NOW - timedelta(days=8) + timedelta(minutes=5), kent)
    await choose(conn, None, "RVV01", "utc", later, kent)  # not linked to any answer


async def test_observed_rate_is_confirmed_follows_per_ranked_answer(conn, kent: Region):
    await seed_window(conn, kent)
    settings = LoadAwareSettings(follow_min_choices=6, follow_prior_answers=0)
    assert await observed_follow_rate(conn, REGION, settings, now=NOW) == FollowRate(
        0.3, "observed", answers=10, choices=6, followed=3)


async def test_blend_with_the_setting_as_a_beta_prior(conn, kent: Region):
    await seed_window(conn, kent)
    settings = LoadAwareSettings(follow_rate=0.5, follow_min_choices=6, follow_prior_answers=10)
    # (3 followed + 10 x 0.5) / (10 answers + 10)
    assert await observed_follow_rate(conn, REGION, settings, now=NOW) == FollowRate(
        0.4, "observed", answers=10, choices=6, followed=3)


async def test_the_setting_is_used_below_min_choices(conn, kent: Region):
    await seed_window(conn, kent)
    settings = LoadAwareSettings(follow_rate=0.5, follow_min_choices=7)
    assert await observed_follow_rate(conn, REGION, settings, now=NOW) == FollowRate(
        0.5, "prior", answers=10, choices=6, followed=3)


async def test_the_window_ends_at_the_injected_now(conn, kent: Region):
    await seed_window(conn, kent)
    settings = LoadAwareSettings(follow_min_choices=1, follow_prior_answers=0)
    # Eight days on, every answer is older than the window: nothing counts.
    assert await observed_follow_rate(conn, REGION, settings, now=NOW + timedelta(days=8)) \
        == FollowRate(0.5, "prior")
    # A day and a half back, only the old answer (and its followed choice) is in the window.
    assert await observed_follow_rate(conn, REGION, settings, now=NOW - timedelta(days=1,
                                                                                 hours=12)) \
        == FollowRate(1.0, "observed", answers=1, choices=1, followed=1)


def test_estimate_without_choices_or_answers():
    settings = LoadAwareSettings(follow_rate=0.6, follow_min_choices=1, follow_prior_answers=4)
    assert estimate_follow_rate(0, 0, 0, settings) == FollowRate(0.6, "prior")
    assert estimate_follow_rate(6, 1, 1, settings) == FollowRate(
        (1 + 4 * 0.6) / 10, "observed", 6, 1, 1)


def test_follow_settings_are_validated():
    parsed = parse_load_aware({"follow_window_days": 14, "follow_min_choices": 50,
                               "follow_prior_answers": 0, "follow_refresh_seconds": 300},
                              error=RegionError)
    assert (parsed.follow_window_days, parsed.follow_min_choices, parsed.follow_prior_answers,
            parsed.follow_refresh_seconds) == (14, 50, 0, 300)
    for bad, key in (({"follow_window_days": 0}, "follow_window_days"),
                     ({"follow_min_choices": 0}, "follow_min_choices"),
                     ({"follow_min_choices": 2.5}, "follow_min_choices"),
                     ({"follow_prior_answers": -1}, "follow_prior_answers"),
                     ({"follow_refresh_seconds": float("nan")}, "follow_refresh_seconds")):
        with pytest.raises(RegionError, match=key):
            parse_load_aware(bad, error=RegionError)


def _region(load_aware: str) -> Region:
    kent = load_region(REGION)
    data = tomllib.loads(Path(kent.source_path).read_text(encoding="utf-8") + load_aware)
    return parse_region(data, source_path=kent.source_path)


async def _app(region: Region, tmp_path: Path, database_url: str | None):
    store = MemoryLiveStore()
    # Every service: 30 minutes for 5 waiting, so one more patient is worth 6 minutes.
    await store.write(region.name, [
        Observation(site.id, service.kind, 30.0, NOW - timedelta(minutes=3),
                    patients_waiting=5, feed="test")
        for site in region.sites for service in site.services])
    return create_app(Settings(spool_dir=str(tmp_path / "spool"), database_url=database_url),
                      region=region, live_store=store, clock=lambda: NOW)


async def _adjustment_after_one_sent(client) -> float:
    """The first result's load adjustment for a patient asking just after another."""
    query = {"lat": "51.2725", "lon": "1.0870", "condition": "sprain_strain"}  # Canterbury
    first = (await (await client.get("/v1/rank", params=query)).json())["results"][0]
    second = (await (await client.get("/v1/rank", params=query)).json())["results"]
    return next(r for r in second if (r["site_id"], r["kind"]) == (first["site_id"],
                                                                  first["kind"])
                )["load_adjustment_minutes"]


async def test_rankings_are_discounted_by_the_observed_rate(aiohttp_client, conn, follow_dsn,
                                                            kent: Region, tmp_path: Path):
    day = NOW - timedelta(days=1)
    events = [answer("RVVKC", "utc", day + timedelta(minutes=i)) for i in range(4)]
    await insert_events(conn, [event_row(e) for e in events])
    for event, site in zip(events, ("RVVKC", "RVV01", "RVV02", "RVV03"), strict=True):
        await choose(conn, event, site, "utc", day + timedelta(hours=1), kent)
    region = _region("\n[load_aware]\nenabled = true\nfollow_rate = 1.0\n"
                     "follow_min_choices = 4\nfollow_prior_answers = 0\n")
    app = await _app(region, tmp_path, follow_dsn)
    client = await aiohttp_client(app)
    view = app[LOAD_SITES].views[region.name]
    # Observed at start-up, before the first request: 1 followed of 4 answers.
    assert view.follow == FollowRate(0.25, "observed", 4, 4, 1)
    # One patient sent ahead: 0.25 x 1 x (30 min / 5 waiting), not 1.0 x 1 x 6.
    assert await _adjustment_after_one_sent(client) == 1.5
    metrics = await (await client.get("/metrics")).text()
    assert ('waitless_load_aware_follow_rate{region="kent-medway",source="observed"} 0.25'
            in metrics)
    assert ('waitless_load_aware_follow_sample{count="choices",region="kent-medway"} 4.0'
            in metrics)
    assert 'source="prior"' not in metrics
    # The background task's refresh, with a later clock: the window is empty, back to the prior.
    later = await refresh_follow_rate(view, app[keys.DATABASE], region.name,
                                      app[keys.METRICS], now=NOW + timedelta(days=9))
    assert later == FollowRate(1.0, "prior") == view.follow
    metrics = await (await client.get("/metrics")).text()
    assert 'waitless_load_aware_follow_rate{region="kent-medway",source="prior"} 1.0' in metrics
    assert 'source="observed"' not in metrics


async def test_without_a_database_the_setting_is_used(aiohttp_client, tmp_path: Path):
    region = _region("\n[load_aware]\nenabled = true\nfollow_rate = 0.5\n")
    app = await _app(region, tmp_path, None)
    client = await aiohttp_client(app)
    assert app[LOAD_SITES].views[region.name].follow == FollowRate(0.5, "prior")
    assert await _adjustment_after_one_sent(client) == 3.0  # 0.5 x 1 x 6
    metrics = await (await client.get("/metrics")).text()
    assert 'waitless_load_aware_follow_rate{region="kent-medway",source="prior"} 0.5' in metrics
