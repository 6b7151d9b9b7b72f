"""``POST /v1/feeds/{feed}/observations``: sites push their waits to us (British Columbia style).

A push feed is declared in the region file with a ``format`` and no ``url``; its tokens come
from ``WAITLESS_PUSH_TOKENS`` (never the region file). The token is read from
``Authorization: Bearer ...``, else from the payload's ``token`` field (``bc_push``), and
compared in constant time. Pushed observations go through the same body checks and
validation as polled ones — the same :class:`feeds.ingest.FeedIngest` pipeline — then into
the live store.

Answers: 200 ``{"feed", "accepted", "rejected": [...]}``; 400 bad body (``error`` names the
problem: ``empty_body``, ``truncated``, ``wrong_content_type``, ``bad_payload``); 401 missing
or wrong token; 404 no such push feed; 413 body over ``max_body_bytes``; 503 live store down.
"""

from __future__ import annotations

import logging

from aiohttp import web

from feeds.adapters.bc_push import push_token, token_matches
from feeds.body import BodyRejected
from feeds.errors import FeedParseError
from feeds.ingest import FeedIngest
from waitless.api import keys
from waitless.api.errors import error_response, json_response
from waitless.domain.region import FeedConfig
from waitless.live.store import StoreError

logger = logging.getLogger(__name__)

PUSH_INGEST = web.AppKey("push_ingest", dict[str, FeedIngest])


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


def _ingest_for(app: web.Application, feed: FeedConfig) -> FeedIngest:
    """The feed's pipeline in this worker (its health record lives there)."""
    pipelines = app[PUSH_INGEST]
    if feed.name not in pipelines:
        pipelines[feed.name] = FeedIngest(feed, app[keys.REGION], app[keys.LIVE_STORE],
                                          metrics=app[keys.METRICS], clock=app[keys.CLOCK])
    return pipelines[feed.name]


async def push_handler(request: web.Request) -> web.Response:
    app = request.app
    region, metrics = app[keys.REGION], app[keys.METRICS]
    name = request.match_info["feed"]
    feed = next((f for f in region.feeds if f.name == name and not f.url), None)
    if feed is None:
        return error_response(404, "unknown_feed",
                              f"region {region.name} has no push feed {name!r}")
    limit = region.validation.max_body_bytes
    body = await _read_limited(request, limit)
    if body is None:
        metrics.feed_errors.labels(name, "oversized").inc()
        return error_response(413, "too_large", f"body over {limit} bytes")
    expected = [token for feed_name, token in app[keys.SETTINGS].push_tokens if feed_name == name]
    if not token_matches(_presented_token(request, body), expected):
        metrics.feed_errors.labels(name, "unauthorized").inc()
        message = ("missing or wrong push token" if expected
                   else "no push token is configured for this feed")
        return error_response(401, "unauthorized", message)
    ingest = _ingest_for(app, feed)
    try:
        result = await ingest.accept(body, content_type=request.headers.get("Content-Type"),
                                     reload_last_good=True)
    except FeedParseError as exc:
        reason = exc.reason if isinstance(exc, BodyRejected) else "bad_payload"
        metrics.feed_errors.labels(name, reason).inc()
        ingest.health.record_failure(str(exc), reason, app[keys.CLOCK](), circuit="closed")
        await _put_status(ingest)
        return error_response(400, reason, str(exc))
    except StoreError as exc:
        logger.warning("push %s: live store unavailable: %s", name, exc)
        return error_response(503, "live_store_unavailable", "try again shortly")
    ingest.health.record_success(app[keys.CLOCK](), not_modified=False, circuit="closed")
    await _put_status(ingest)
    metrics.feed_polls.labels(name, "push").inc()
    return json_response({"feed": name, "accepted": len(result.accepted),
                          "rejected": [r.to_dict() for r in result.rejected]})


async def _put_status(ingest: FeedIngest) -> None:
    try:
        await ingest.report_status()
    except StoreError as exc:
        logger.warning("push %s: could not record status: %s", ingest.feed.name, exc)
