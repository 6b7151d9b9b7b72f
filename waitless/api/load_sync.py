"""Sharing sent-not-arrived counts between API workers, off the request path.

Every served region whose ``[load_aware]`` table enables it has a view of its own sites
(:class:`~waitless.ranking.load.SiteLoads`): its own counts, settings, follow rate, Redis hashes
and background tasks; a site is counted in its home region's view whichever region answered.

The pattern of :mod:`waitless.api.rate_limits`: a request reads and writes only this worker's
:class:`~waitless.ranking.load.SentTracker`; a background task every ``sync_seconds`` adds the
counts not yet shared into Redis (``HINCRBY`` into one hash per hour of expected arrival,
``<prefix>:load:<region>:<hour>``, field ``<site_id/service>|<minute>``, expiring
``horizon_minutes`` + 2 h after each write) and reads back everyone's totals for the hours that
still matter (:mod:`waitless.api.load_share`). A worker's own shared counts are subtracted from
the totals it reads, so nothing is counted twice. Without Redis, or while it is unreachable,
each worker counts only its own answers (the adjustment is then smaller, never wrong in sign)
and keeps unshared counts for the next successful sync. The same rounds (and start-up) read the
deployment's key for the patient page's cookie, ``<prefix>:load:cookie_key``
(:mod:`waitless.api.sent_cookie`).

The follow rate the adjustment is discounted by is observed the same way, off the request path:
each worker recomputes it from the event log in PostgreSQL at start-up and every
``follow_refresh_seconds`` (:func:`refresh_follow_rate`); without a database, or while it
fails, the view keeps the rate it has (the region's ``follow_rate`` until one was observed).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime

import asyncpg
from aiohttp import web
from redis.exceptions import RedisError

from waitless.api import keys
from waitless.api.background import OutageLog
from waitless.api.load_share import read_cookie_key, sync_forever
from waitless.api.sent_cookie import (
    SENT_COOKIE_KEY,
    CookieKeys,
    new_key,
)
from waitless.domain.errors import WaitlessError
from waitless.domain.region import Region
from waitless.events.db import Database
from waitless.live.leader import cancel_and_wait
from waitless.live.redis_url import redis_from_url
from waitless.metrics import Metrics
from waitless.ranking.fast_answer import FastAnswer
from waitless.ranking.load import (
    FollowRate,
    LoadView,
    Sent,
    SiteLoads,
    site_loads,
)
from waitless.ranking.results import RankAnswer
from waitless.stats.follow_rate import observed_follow_rate

logger = logging.getLogger(__name__)

LOAD_SITES = web.AppKey("load_sites", SiteLoads)
# No database configured (DatabaseUnavailable is a WaitlessError), or it failed.
_FOLLOW_FAILURES = (WaitlessError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError,
                    TimeoutError)


def setup_load_aware(app: web.Application) -> None:
    """For every served region whose ``[load_aware]`` table enables it (validated with the
    region), give its answers load views and start sharing its counts (with Redis)."""
    region_set = app[keys.REGION_SET]
    regions = [app[keys.REGION]] if region_set is None else list(region_set.regions.values())
    clock = app[keys.CLOCK]  # the app's clock, so tests and replays control time
    loads = site_loads(regions, lambda: clock().timestamp())
    if loads is None:
        return
    app[LOAD_SITES] = loads
    # Before the fork, so every worker of this server shares it until (or unless) the
    # deployment's key is read from Redis (_sync_ctx).
    app[SENT_COOKIE_KEY] = CookieKeys(new_key())
    app.cleanup_ctx.append(_sync_ctx)
    app.cleanup_ctx.append(_follow_rate_ctx)


def loads_for(app: web.Application, region: Region) -> SiteLoads | None:
    """The load views an answer of ``region`` is ranked with: every enabled region's (a
    border site carries its home's adjustment), or ``None`` when ``region``'s own file does
    not enable load-aware ranking."""
    return app.get(LOAD_SITES) if region.load_aware.enabled else None


async def _sync_ctx(app: web.Application) -> AsyncIterator[None]:
    app_settings = app[keys.SETTINGS]
    client = (redis_from_url(app_settings.redis_url, socket_timeout=2,
                             socket_connect_timeout=2) if app_settings.redis_url else None)
    clock = app[keys.CLOCK]
    views = app[LOAD_SITES].views
    # The cookie key is the deployment's, not a region's: one task reads and renews it, the
    # region whose counts are kept longest, so the key outlives every count it can take back.
    keeper = max(views, key=lambda name: views[name].settings.horizon_minutes)
    cookie_keys, unusable_key = app[SENT_COOKIE_KEY], OutageLog(logger)
    if client is not None:
        try:
            await read_cookie_key(cookie_keys, client, app_settings.redis_prefix,
                                  views[keeper].settings.horizon_minutes, unusable_key)
        except (RedisError, OSError) as exc:
            # Start-up goes on: the page works, and a reload on another server counts once
            # more (as before the key was shared) until a sync reads the key.
            logger.warning("load-aware cookie key not read from Redis (%s): this server's own "
                           "key until a sync reads it", exc)
    # One task per region: each syncs on its own sync_seconds into its own hashes.
    tasks = [asyncio.create_task(sync_forever(view, client, app_settings.redis_prefix, name,
                                          lambda: clock().timestamp(), app[keys.METRICS],
                                          cookie_keys if name == keeper else None,
                                          unusable_key),
                                 name=f"load-aware-sync-{name}")
             for name, view in views.items()]
    yield
    for task in tasks:  # a cancellation landing mid-command can be lost by redis-py
        await cancel_and_wait(task)
    if client is not None:
        await client.aclose()


def record_answer(loads: SiteLoads, answer: RankAnswer | FastAnswer) -> Sent | None:
    """Count the first result of a ranking as a patient on their way, in its site's home
    view; return what was counted (``None``: nothing, e.g. a 999 answer, or a first site
    whose region does not count)."""
    if not answer.results:
        return None
    first = answer.results[0]
    return loads.record(f"{first.site.id}/{first.service.kind}", first.arrival.timestamp())


def use_follow_rate(view: LoadView, follow: FollowRate, metrics: Metrics, region: str) -> None:
    """Make ``follow`` the rate ``region``'s view discounts by, and export it."""
    view.follow = follow
    for source in ("observed", "prior"):  # one series per region: the source in use
        if source != follow.source:
            metrics.follow_rate.remove(region, source)
    metrics.follow_rate.labels(region, follow.source).set(follow.rate)
    for name in ("answers", "choices", "followed"):
        metrics.follow_sample.labels(region, name).set(getattr(follow, name))


async def refresh_follow_rate(view: LoadView, database: Database, region_name: str,
                              metrics: Metrics, *, now: datetime) -> FollowRate:
    """Recompute the observed follow rate from the event log and give it to the view.

    Parameters
    ----------
    view
        This worker's load view of ``region_name`` (its settings give the window, threshold
        and prior).
    database
        The service's database (opened on first use).
    region_name
        Whose answers and choices are counted (answers logged under that region, border
        sites named first included).
    metrics
        Where the rate is exported.
    now
        The end of the window.

    Raises
    ------
    DatabaseUnavailable, OSError, asyncpg.PostgresError, TimeoutError
        No database, or it failed; the view keeps the rate it had.
    """
    pool = await database.pool()
    async with pool.acquire(timeout=10) as conn:
        follow = await observed_follow_rate(conn, region_name, view.settings, now=now)
    use_follow_rate(view, follow, metrics, region_name)
    return follow


def _follow_refresher(app: web.Application, name: str, view: LoadView
                      ) -> Callable[[], Awaitable[None]]:
    """One refresh of region ``name``'s observed follow rate, failures logged once."""
    outage = OutageLog(logger)

    async def refresh() -> None:
        try:
            await refresh_follow_rate(view, app[keys.DATABASE], name, app[keys.METRICS],
                                      now=app[keys.CLOCK]())
        except _FOLLOW_FAILURES as exc:
            outage.failed("load-aware follow rate of %s not observed (%s); using %s %.3f",
                          name, exc, view.follow.source, view.follow.rate)
        else:
            outage.recovered("load-aware follow rate of %s observed again: %s %.3f",
                             name, view.follow.source, view.follow.rate)

    return refresh


async def _every(seconds: float, job: Callable[[], Awaitable[None]]) -> None:
    while True:
        await asyncio.sleep(seconds)
        await job()


async def _follow_rate_ctx(app: web.Application) -> AsyncIterator[None]:
    tasks = []
    for name, view in app[LOAD_SITES].views.items():
        # The prior, exported before anything is read.
        use_follow_rate(view, view.follow, app[keys.METRICS], name)
        refresh = _follow_refresher(app, name, view)
        await refresh()  # before serving, so the first answers already use the observed rate
        tasks.append(asyncio.create_task(_every(view.settings.follow_refresh_seconds, refresh),
                                         name=f"load-aware-follow-rate-{name}"))
    yield
    for task in tasks:
        await cancel_and_wait(task)
