"""Sharing one region's sent-not-arrived counts through Redis, and the cookie key with them.

A background task per region every ``sync_seconds`` (:func:`sync_forever`) adds this worker's
counts not yet shared into Redis (``HINCRBY`` into one hash per hour of expected arrival,
``<prefix>:load:<region>:<hour>``, field ``<site_id/service>|<minute>``, expiring
``horizon_minutes`` + 2 h after each write) and reads back everyone's totals for the hours that
still matter (:func:`sync_once`); the same rounds read the deployment's key for the patient
page's cookie (:func:`read_cookie_key`). Set up by :mod:`waitless.api.load_sync`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from waitless.api.background import OutageLog, seconds_to_next_period
from waitless.api.sent_cookie import KEY_BYTES, CookieKeys, cookie_key_name, shared_key
from waitless.metrics import Metrics
from waitless.ranking.load import BUCKET_SECONDS, LoadView, SentTracker

logger = logging.getLogger(__name__)

_HOUR_S = 3600


def _hash_name(prefix: str, region: str, hour: int) -> str:
    return f"{prefix}:load:{region}:{hour}"


def load_key_ttl_s(horizon_minutes: float) -> int:
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
    ttl_s = load_key_ttl_s(horizon_minutes)
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
    key = await shared_key(client, prefix, load_key_ttl_s(horizon_minutes))
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


async def sync_forever(view: LoadView, client: aioredis.Redis | None, prefix: str,
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
