"""``POST /v1/feeds/{feed}/observations``: sites push their waits to us (British Columbia style).

A push feed is declared in the region file with a ``format`` and no ``url``; its tokens come
from ``WAITLESS_PUSH_TOKENS`` (never the region file). The token is read from
``Authorization: Bearer ...``, else from the payload's ``token`` field (``bc_push``), and
compared in constant time. Pushed observations go through the same body checks and
validation as polled ones, then into the live store.

Answers: 200 ``{"feed", "accepted", "rejected": [...]}``; 400 bad body (``error`` names the
problem: ``empty_body``, ``truncated``, ``wrong_content_type``, ``bad_payload``); 401 missing
or wrong token; 404 no such push feed; 413 body over ``max_body_bytes``; 503 live store down.
"""

from __future__ import annotations

import logging

from aiohttp import web

from feeds.adapters import get_adapter
from feeds.adapters.bc_push import push_token, token_matches
from feeds.errors import FeedParseError
from feeds.health import FeedHealth
from feeds.validate import BodyRejected, check_body
from waitless.api import keys
from waitless.api.errors import error_response, json_response
from waitless.live.ingest import validate_for_region
from waitless.live.store import LiveStore, StoreError

logger = logging.getLogger(__name__)

PUSH_HEALTH = web.AppKey("push_health", dict[str, FeedHealth])


def _presented_token(request: web.Request, body: bytes) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    try:
        return push_token(body)
    except FeedParseError:  # not a bc_push body: no token in it
        return None


async def _read_limited(request: web.Request, limit: int) -> bytes | None:
    """The body, or ``None`` when it is longer than ``limit`` bytes (reads at most limit+1)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks, size = [], 0
    while size <= limit:
        chunk = await request.content.read(limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return None if size > limit else b"".join(chunks)


async def push_handler(request: web.Request) -> web.Response:
    app = request.app
    region, metrics, now = app[keys.REGION], app[keys.METRICS], app[keys.CLOCK]()
    name = request.match_info["feed"]
    feed = next((f for f in region.feeds if f.name == name and not f.url), None)
    if feed is None:
        return error_response(404, "unknown_feed",
                              f"region {region.name} has no push feed {name!r}")
    validation = region.validation
    body = await _read_limited(request, validation.max_body_bytes)
    if body is None:
        metrics.feed_errors.labels(name, "oversized").inc()
        return error_response(413, "too_large",
                              f"body over {validation.max_body_bytes} bytes")
    expected = [token for feed_name, token in app[keys.SETTINGS].push_tokens if feed_name == name]
    if not token_matches(_presented_token(request, body), expected):
        metrics.feed_errors.labels(name, "unauthorized").inc()
        message = ("missing or wrong push token" if expected
                   else "no push token is configured for this feed")
        return error_response(401, "unauthorized", message)
    health = app[PUSH_HEALTH].setdefault(name, FeedHealth(name))
    store = app[keys.LIVE_STORE]
    try:
        check_body(body, feed=feed, settings=validation,
                   content_type=request.headers.get("Content-Type"))
        observations = get_adapter(feed.format)(body, feed_name=name, fetched_at=now,
                                                options=feed.options)
    except FeedParseError as exc:
        reason = exc.reason if isinstance(exc, BodyRejected) else "bad_payload"
        metrics.feed_errors.labels(name, reason).inc()
        health.record_failure(str(exc), reason, now, circuit="closed")
        await _put_status(store, region.name, health)
        return error_response(400, reason, str(exc))
    try:
        current = await store.current(region.name)
        accepted, rejected = validate_for_region(region, observations, now, current)
        await store.write(region.name, accepted)
    except StoreError as exc:
        logger.warning("push %s: live store unavailable: %s", name, exc)
        return error_response(503, "live_store_unavailable", "try again shortly")
    health.record_payload(accepted, rejected, now)
    health.record_success(now, not_modified=False, circuit="closed")
    await _put_status(store, region.name, health)
    metrics.feed_polls.labels(name, "push").inc()
    metrics.observations_accepted.labels(name).inc(len(accepted))
    for rejection in rejected:
        metrics.observations_rejected.labels(name, rejection.reason).inc()
    return json_response({"feed": name, "accepted": len(accepted),
                          "rejected": [r.to_dict() for r in rejected]})


async def _put_status(store: LiveStore, region_name: str, health: FeedHealth) -> None:
    try:
        await store.put_feed_status(region_name, health.feed, health.as_dict())
    except StoreError as exc:
        logger.warning("push %s: could not record status: %s", health.feed, exc)
