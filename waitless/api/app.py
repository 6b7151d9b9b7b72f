"""The aiohttp application factory: settings in, a wired application out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime

import aiohttp
import orjson
from aiohttp import web

from feeds.config_check import check_feeds
from routing.model import TravelModel
from waitless.api import keys
from waitless.api.answer import travel_for_region
from waitless.api.answer_json import answer_json
from waitless.api.auth import setup_auth
from waitless.api.front import front_middleware
from waitless.api.load_sync import setup_load_aware
from waitless.api.loop_lag import loop_lag_ctx
from waitless.api.push import PUSH_FEEDS, push_feeds, tokens_without_push_feed
from waitless.api.rate_limits import setup_rate_limits
from waitless.api.regions import ServedRegion, live_state, region_travel, served_regions
from waitless.api.render import setup_pages
from waitless.api.request_limits import MAX_BODY_BYTES, handler_args
from waitless.api.routes import setup_routes
from waitless.domain.errors import ConfigError
from waitless.domain.region import FeedConfig, Region, load_region
from waitless.events.db import Database
from waitless.events.log import EventLog
from waitless.events.quarantine_retention import QuarantineRetention
from waitless.events.spool import Spool
from waitless.live.ingest import build_pollers, run_pollers
from waitless.live.leader import cancel_and_wait
from waitless.live.redis_store import RedisLiveStore
from waitless.live.snapshot import follow, reload
from waitless.live.store import LiveStore, MemoryLiveStore
from waitless.metrics import Metrics
from waitless.ranking.fast import FastRanker
from waitless.ranking.multiregion import RegionSet
from waitless.ranking.rank import RankRequest, rank
from waitless.settings import Settings

logger = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def make_live_store(settings: Settings) -> LiveStore:
    """Redis when ``redis_url`` is set, otherwise the in-process store."""
    if settings.redis_url:
        return RedisLiveStore.from_url(settings.redis_url, prefix=settings.redis_prefix)
    return MemoryLiveStore()


def bench_body(region: Region, model: TravelModel, now: datetime) -> bytes:
    """A ranking-sized JSON body: the answer for the first site's own location."""
    site = region.sites[0]
    request = RankRequest(lat=site.lat, lon=site.lon, depart_at=now)
    seconds = travel_for_region(model, region, site.lat, site.lon)
    return orjson.dumps(answer_json(rank(region, {}, request, travel_seconds=seconds,
                                         travel_source=model.source, now=now)))


def create_app(settings: Settings, *, region: Region | None = None,
               regions: Sequence[Region] | None = None,
               live_store: LiveStore | None = None, run_ingest: bool = False,
               ingest_feeds: Sequence[FeedConfig] | None = None,
               clock: Callable[[], datetime] = _utc_now,
               travel: dict[str, TravelModel] | None = None) -> web.Application:
    """Build the WaitLess application.

    Parameters
    ----------
    settings
        Frozen settings (see :mod:`waitless.settings`).
    region
        The one region to serve; without it (and without ``regions``) every region of
        ``settings.regions`` is loaded and served.
    regions
        Several regions to serve instead, the first being the primary (the page titles,
        ``/openapi.json``, in-process ingest and the statistics' default region use it); a
        ranking goes to the region whose coverage holds the origin, a push to the region
        declaring the feed, a place search to every region's gazetteer.
    live_store
        A store to use (and leave open); made from settings when not given.
    run_ingest
        Also poll the primary region's feeds in this process (the embedded single-process mode).
    ingest_feeds
        Feeds to poll instead of the region's own (``waitless dev`` points at its simulator).
    clock
        Source of "now" (tests pin it).
    travel
        Travel models by mode for one region; loaded for the region when not given (and
        always, per region, when several are served).
    """
    # One middleware: every answer, a 429 or 414 too, is checked and counted there (the
    # security headers are added to every answer as it is sent: render.setup_pages).
    app = web.Application(middlewares=[front_middleware],
                          client_max_size=MAX_BODY_BYTES,
                          handler_args=handler_args(settings.keepalive_seconds))
    if regions is None:
        regions = [region] if region else [load_region(name) for name in settings.regions]
    for served_region in regions:
        check_feeds(served_region)  # adapters and poller options: refused here, not at leader start
    # Push feeds of every region, by name: a name declared by two regions is refused here.
    app[PUSH_FEEDS] = push_feeds(regions)
    if unmatched := tokens_without_push_feed(settings.push_tokens, app[PUSH_FEEDS]):
        logger.warning("WAITLESS_PUSH_TOKENS names %s, not a push feed of the regions served "
                       "here (push feeds: %s): pushes with those tokens are answered 401",
                       ", ".join(unmatched), ", ".join(sorted(app[PUSH_FEEDS])) or "none")
    region = regions[0]
    if len(regions) == 1:
        app[keys.REGION_SET] = None
        served, notes = _one_region(region, settings, travel)
    else:
        if travel is not None:
            msg = "travel models are loaded per region when several regions are served"
            raise ConfigError(msg)
        app[keys.REGION_SET] = RegionSet(regions)
        served, notes = served_regions(app[keys.REGION_SET], settings.graph_cache)
    primary = served[region.name]
    app[keys.SETTINGS] = settings
    app[keys.REGION] = region
    app[keys.SERVED] = served
    app[keys.CLOCK] = clock
    app[keys.METRICS] = Metrics()
    app[keys.SNAPSHOT] = primary.snapshots[region.name]
    app[keys.PREDICTIONS] = primary.predictions[region.name]
    app[keys.FEEDS] = configured_feeds(regions, ingest_feeds if run_ingest else None)
    # Every served region's feeds, each from its own snapshot (one per region, following
    # that region's keys): exporting the primary's alone left the others' feeds unwatched.
    app[keys.METRICS].watch_feeds(
        lambda: ({name: (snapshot.feed_statuses, snapshot.observations)
                  for name, snapshot in primary.snapshots.items()}, clock()),
        feeds=app[keys.FEEDS])
    app[keys.TRAVEL] = primary.travel
    app[keys.TRAVEL_NOTE] = (notes[region.name] if len(notes) == 1
                             else "; ".join(f"{name}: {text}" for name, text in notes.items()))
    if settings.bench_endpoints:
        app[keys.BENCH_BODY] = bench_body(region, primary.travel["drive"], clock())

    async def live_store_ctx(app: web.Application) -> AsyncIterator[None]:
        owned = live_store is None
        app[keys.LIVE_STORE] = live_store or make_live_store(settings)
        yield
        if owned:
            await app[keys.LIVE_STORE].close()

    async def event_log_ctx(app: web.Application) -> AsyncIterator[None]:
        spool = Spool(settings.spool_dir, max_bytes=settings.spool_max_bytes)
        # Its quarantine holds event rows: pruned here past retention, by the app's clock, since
        # a daily `waitless events prune` elsewhere may not see this spool (docs/privacy.md).
        retention = QuarantineRetention(settings.event_retention_days, clock=clock)
        log = EventLog(app[keys.DATABASE], spool, metrics=app[keys.METRICS],
                       batch_size=settings.event_batch_size,
                       flush_seconds=settings.event_flush_seconds, retention=retention)
        if settings.database_url is None:
            logger.info("WAITLESS_DATABASE_URL not set: events are kept in the spool at %s",
                        settings.spool_dir)
        await log.start()
        app[keys.EVENT_LOG] = log
        yield
        await log.stop()

    async def ingest_ctx(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as session:
            pollers = build_pollers(region, app[keys.LIVE_STORE], session,
                                    metrics=app[keys.METRICS], feeds=ingest_feeds, clock=clock)
            task = asyncio.create_task(run_pollers(pollers), name="ingest")
            yield
            await cancel_and_wait(task)

    async def snapshot_ctx(app: web.Application) -> AsyncIterator[None]:
        # One snapshot per region, following that region's keys in the live store. Loaded
        # once before serving so the first request already sees live state.
        tasks = []
        for name, snapshot in primary.snapshots.items():
            await reload(snapshot, app[keys.LIVE_STORE], name, app[keys.METRICS])
            tasks.append(asyncio.create_task(follow(
                snapshot, app[keys.LIVE_STORE], name,
                refresh_seconds=settings.snapshot_refresh_seconds, metrics=app[keys.METRICS]),
                name=f"snapshot-{name}"))
        yield
        for task in tasks:
            await cancel_and_wait(task)

    async def database_ctx(app: web.Application) -> AsyncIterator[None]:
        # One pool for the event log and the statistics; closed after both have stopped.
        app[keys.DATABASE] = Database(settings.database_url)
        yield
        await app[keys.DATABASE].close()

    app.cleanup_ctx.append(live_store_ctx)
    app.cleanup_ctx.append(database_ctx)
    app.cleanup_ctx.append(event_log_ctx)
    if run_ingest:
        app.cleanup_ctx.append(ingest_ctx)
    app.cleanup_ctx.append(snapshot_ctx)
    app.cleanup_ctx.append(loop_lag_ctx)
    setup_pages(app)
    setup_auth(app)
    setup_rate_limits(app)
    setup_load_aware(app)  # issue #17: for each region whose [load_aware] enables it
    setup_routes(app)
    for one in regions:
        logger.info("region %s: %d sites (%d ranked), %d feeds; %s", one.name, len(one.sites),
                    len(served[one.name].region.sites), len(one.feeds), notes[one.name])
    return app


def configured_feeds(regions: Sequence[Region], ingest_feeds: Sequence[FeedConfig] | None
                     ) -> dict[str, list[str]]:
    """Each region's feed names, the primary (first) region's with ``ingest_feeds``, when
    given, in place of its polled feeds (they are polled instead; its push feeds stay)."""
    feeds = {one.name: [feed.name for feed in one.feeds] for one in regions}
    if ingest_feeds is not None:
        primary = regions[0]
        feeds[primary.name] = [feed.name for feed in ingest_feeds] + [
            feed.name for feed in primary.feeds
            if not feed.url and feed.name not in {f.name for f in ingest_feeds}]
    return feeds


def _one_region(region: Region, settings: Settings, travel: dict[str, TravelModel] | None
                ) -> tuple[dict[str, ServedRegion], dict[str, str]]:
    """The one region served, ranked on its own snapshot, and its travel note."""
    if travel is None:  # as for a region among several, with no border sites
        travel, note = region_travel(region, region, settings.graph_cache)
    else:
        note = "travel models supplied by the caller"
    snapshots, predictions = live_state([region])
    served = ServedRegion(region, travel, FastRanker(region), snapshots, predictions, {})
    return {region.name: served}, {region.name: note}
