"""Sharing sent-not-arrived counts between API workers, off the request path.

Every served region whose ``[load_aware]`` table enables it has a view of its own sites
(:class:`~waitless.ranking.load.SiteLoads`): its own counts, settings, follow rate, Redis hashes
and background tasks; a site is counted in its home region's view whichever region answered.

The pattern of :mod:`waitless.api.rate_limits`: a request reads and writes only this worker's
:class:`~waitless.ranking.load.SentTracker`; a background task every ``sync_seconds`` adds the
counts not yet shared into Redis (``HINCRBY`` into one hash per hour of expected arrival,
``<prefix>:load:<region>:<hour>``, field ``<site_id/service>|<minute>``, expiring
``horizon_minutes`` + 2 h after each write) and reads back everyone's totals for the hours that
still matter. A worker's own shared counts are subtracted from the totals it reads, so nothing
is counted twice. Without Redis, or while it is unreachable, each worker counts only its own
answers (the adjustment is then smaller, never wrong in sign) and keeps unshared counts for the
next successful sync. The same rounds (and start-up) read the deployment's key for the patient
page's cookie, ``<prefix>:load:cookie_key`` (:mod:`waitless.api.sent_cookie`).

The follow rate the adjustment is discounted by is observed the same way, off the request path:
each worker recomputes it from the event log in PostgreSQL at start-up and every
``follow_refresh_seconds`` (:func:`refresh_follow_rate`); without a database, or while it
fails, the view keeps the rate it has (the region's ``follow_rate`` until one was observed).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import redis.asyncio as aioredis
from aiohttp import web
from redis.exceptions import RedisError

from waitless.api import keys
from waitless.api.background import OutageLog, seconds_to_next_period
from waitless.api.sent_cookie import (
    KEY_BYTES,
    SENT_COOKIE_KEY,
    CookieKeys,
    cookie_key_name,
    new_key,
    shared_key,
)
from waitless.domain.errors import WaitlessError
from waitless.domain.region import Region
from waitless.events.db import Database
from waitless.live.leader import cancel_and_wait
from waitless.live.redis_url import redis_from_url
from waitless.metrics import Metrics
from waitless.ranking.fast_answer import FastAnswer
from waitless.ranking.load import (
    BUCKET_SECONDS,
    FollowRate,
    LoadView,
    Sent,
    SentTracker,
    SiteLoads,
    site_loads,
)
from waitless.ranking.results import RankAnswer
from waitless.stats.follow_rate import observed_follow_rate

logger = logging.getLogger(__name__)

LOAD_SITES = web.AppKey("load_sites", SiteLoads)
_HOUR_S = 3600
# No database configured (DatabaseUnavailable is a WaitlessError), or it failed.
_FOLLOW_FAILURES = (WaitlessError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError,
                    TimeoutError)


def _hash_name(prefix: str, region: str, hour: int) -> str:
    return f"{prefix}:load:{region}:{hour}"


def _ttl_s(horizon_minutes: float) -> int:
    """Seconds a load key lives after its last write: the horizon and two hours."""
    return int(horizon_minutes * 60 + 2 * _HOUR_S)


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    """What one sync left out, for the log and ``waitless_load_aware_sync_skipped_total``.

    Attributes
    ----------
    refused_counts
        This worker's counts (one per site/service and minute) whose ``HINCRBY`` Redis refused
        (the field holds something that is not an integer); kept unshared for the next sync.
    malformed_fields
        Fields read back that are not ``<site/service>|<minute>`` holding an integer (and
        hashes that are not hashes), skipped.
    """

    refused_counts: int = 0
    malformed_fields: int = 0


def _parse_field(field: bytes, value: bytes) -> tuple[tuple[str, int], int] | None:
    """``(key, minute bucket), count`` of one field read back, or None when it is malformed."""
    try:
        key, sep, bucket = field.decode().rpartition("|")
        if not sep:
            return None
        return (key, int(bucket)), int(value)
    except ValueError:  # UnicodeDecodeError is one too
        return None


async def sync_once(tracker: SentTracker, client: aioredis.Redis, prefix: str, region: str, *,
                    now_epoch_s: float, horizon_minutes: float) -> SyncOutcome:
    """Flush this worker's unshared counts into Redis and read everyone's totals back.

    Parameters
    ----------
    tracker
        This worker's counts.
    client, prefix, region
        The Redis connection, key prefix and region name the hashes are named after.
    now_epoch_s
        Now, in epoch seconds (the hours read back are those within the horizon of it).
    horizon_minutes
        How far back and ahead of now arrivals matter, in minutes (the hashes expire two
        hours after it).

    Returns
    -------
    SyncOutcome
        Counts Redis refused (kept unshared, so sent again next time: only those, since the
        others were added) and malformed fields skipped in the read-back.

    Raises
    ------
    RedisError, OSError
        Redis unreachable or failing; counts not sent stay unshared for the next call.
    """
    try:
        return await _share(tracker, client, prefix, region, now_epoch_s=now_epoch_s,
                            horizon_minutes=horizon_minutes)
    finally:
        # Also when Redis fails: pruning only after a successful sync kept every count of an
        # outage (24,480 per day with 17 services) and slowed every ranking down.
        tracker.prune()


async def _share(tracker: SentTracker, client: aioredis.Redis, prefix: str, region: str, *,
                 now_epoch_s: float, horizon_minutes: float) -> SyncOutcome:
    unflushed = list(tracker.take_unflushed().items())
    ttl_s = _ttl_s(horizon_minutes)
    try:
        pipe = client.pipeline(transaction=False)
        for (key, bucket), count in unflushed:
            name = _hash_name(prefix, region, bucket * BUCKET_SECONDS // _HOUR_S)
            pipe.hincrby(name, f"{key}|{bucket}", count)
            pipe.expire(name, ttl_s)
        # A refused command is a reply, not an exception: every other count was added.
        replies = await pipe.execute(raise_on_error=False) if unflushed else []
    except BaseException:
        tracker.keep_unflushed(dict(unflushed))  # not shared: try again next time
        raise
    # Re-sending every count after one refusal added the others again each round (one
    # patient counted 1, 2, 3...): only the refused ones are kept.
    refused = {k: n for (k, n), reply in zip(unflushed, replies[::2], strict=True)
               if isinstance(reply, Exception)}
    tracker.keep_unflushed(refused)
    horizon_s = horizon_minutes * 60
    first = int((now_epoch_s - horizon_s) // _HOUR_S)
    last = int((now_epoch_s + horizon_s) // _HOUR_S)
    pipe = client.pipeline(transaction=False)
    for hour in range(first, last + 1):
        pipe.hgetall(_hash_name(prefix, region, hour))
    totals: dict[tuple[str, int], int] = {}
    malformed = 0
    # A malformed field (or a key that is not a hash) is skipped: raising here ended the
    # sync task, and ranking silently stopped being load-aware.
    for table in await pipe.execute(raise_on_error=False):
        if isinstance(table, Exception):
            malformed += 1
            continue
        for field, value in table.items():
            parsed = _parse_field(field, value)
            if parsed is None:
                malformed += 1
            else:
                totals[parsed[0]] = parsed[1]
    tracker.set_peer_totals(totals)
    return SyncOutcome(refused_counts=len(refused), malformed_fields=malformed)


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
    tasks = [asyncio.create_task(_forever(view, client, app_settings.redis_prefix, name,
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


async def read_cookie_key(cookie_keys: CookieKeys, client: aioredis.Redis, prefix: str,
                          horizon_minutes: float, unusable: OutageLog) -> None:
    """Sign the page's cookies with the deployment's key from Redis, made first if missing.

    Parameters
    ----------
    cookie_keys
        This worker's keys (the one before stays accepted).
    client, prefix
        The Redis connection and key prefix.
    horizon_minutes
        The key lives this long and two hours after the call, like the counts.
    unusable
        Logs, once while it lasts, a value there that is not a key (the keys are kept).

    Raises
    ------
    RedisError, OSError
        Redis unreachable or failing; the keys are kept.
    """
    was_shared = cookie_keys.shared
    key = await shared_key(client, prefix, _ttl_s(horizon_minutes))
    if key is None:
        unusable.failed("%s holds no usable key (not a string of %d bytes or more); cookies "
                        "stay signed with the key this worker has", cookie_key_name(prefix),
                        KEY_BYTES)
        return
    unusable.recovered("%s holds a usable key again", cookie_key_name(prefix))
    cookie_keys.adopt(key)
    if not was_shared:
        logger.info("load-aware cookie key read from Redis: every server on prefix %s accepts "
                    "this one's cookies", prefix)


async def _forever(view: LoadView, client: aioredis.Redis | None, prefix: str,
                   region: str, clock: Callable[[], float], metrics: Metrics,
                   cookie_keys: CookieKeys | None, unusable_key: OutageLog) -> None:
    period = view.settings.sync_seconds
    outage = OutageLog(logger)
    skipping = OutageLog(logger)
    while True:
        await asyncio.sleep(seconds_to_next_period(period, time.time()))
        if client is None:
            view.tracker.take_unflushed()  # alone: nothing to share
            view.tracker.prune()
            continue
        try:
            outcome = await sync_once(view.tracker, client, prefix, region, now_epoch_s=clock(),
                                      horizon_minutes=view.settings.horizon_minutes)
            # Every sync: a key deleted or lost with Redis's data is made afresh (a rotation)
            # and its expiry renewed; a worker that started in an outage adopts it. (None:
            # another region's task keeps the key.)
            if cookie_keys is not None:
                await read_cookie_key(cookie_keys, client, prefix,
                                      view.settings.horizon_minutes, unusable_key)
        except (RedisError, OSError) as exc:
            outage.failed("load-aware counts of %s not shared (Redis: %s); counting this "
                          "worker's answers only until it answers", region, exc)
            continue
        outage.recovered("load-aware counts of %s shared through Redis again", region)
        metrics.load_sync_skipped.labels(region, "refused").inc(outcome.refused_counts)
        metrics.load_sync_skipped.labels(region, "malformed").inc(outcome.malformed_fields)
        if outcome.refused_counts or outcome.malformed_fields:
            skipping.failed("load-aware sync: Redis refused %d count(s) (kept for the next "
                            "sync) and %d malformed field(s) were skipped in %s:load:%s:*",
                            outcome.refused_counts, outcome.malformed_fields, prefix, region)
        else:
            skipping.recovered("load-aware sync: no count refused, no field malformed")


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
