"""``POST /v1/feeds/{feed}/observations``: sites push their waits to us (British Columbia style).

A push feed is declared in the region file with a ``format`` and no ``url``; its tokens come
from ``WAITLESS_PUSH_TOKENS`` (never the region file). The token is read from
``Authorization: Bearer ...``, else from the payload's ``token`` field (``bc_push``), and
compared in constant time. A bearer token is checked before a byte of the body is read; a
feed whose format carries no token in its body is refused at once without one; only a
``bc_push`` body token needs the body read (at most ``max_body_bytes``) first. A name that is
no push feed gets the same 401 as a wrong token, so the answers do not say which feeds exist;
failed tokens count towards the per-client ``WAITLESS_AUTH_FAILURE_LIMIT`` (then 429).
Pushed observations go through the same body checks and
validation as polled ones — the same :class:`feeds.ingest.FeedIngest` pipeline — then into
the live store.

Answers: 200 ``{"feed", "accepted", "rejected": [...]}``; 400 bad body (``error`` names the
problem: ``empty_body``, ``truncated``, ``wrong_content_type``, ``bad_payload``); 401 missing
or wrong token, or no such push feed; 413 body over ``max_body_bytes``; 503 live store down.
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


BODY_TOKEN_FORMATS = frozenset({"bc_push"})
_UNAUTHORIZED = "missing or wrong push token, or no such push feed"


def _bearer(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _body_token(body: bytes) -> str | None:
    try:
        return push_token(body)
    except FeedParseError:  # not a bc_push body: no token in it
        return None


def _unauthorized(app: web.Application, name: str) -> web.Response:
    # Only a configured push feed gets a metric label: a guessed name must not add series.
    if any(f.name == name and not f.url for f in app[keys.REGION].feeds):
        app[keys.METRICS].feed_errors.labels(app[keys.REGION].name, name, "unauthorized").inc()
    response = error_response(401, "unauthorized", _UNAUTHORIZED)
    response.headers["WWW-Authenticate"] = 'Bearer realm="waitless-push"'
    return response


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
    expected = [token for feed_name, token in app[keys.SETTINGS].push_tokens
                if feed is not None and feed_name == name]
    bearer = _bearer(request)
    # Decide what can be decided before reading the body: unknown feed, no token configured,
    # a wrong bearer token, or no token where the format carries none in its body.
    if feed is None or not expected or (bearer is not None
                                        and not token_matches(bearer, expected)):
        return _unauthorized(app, name)
    if bearer is None and feed.format not in BODY_TOKEN_FORMATS:
        return _unauthorized(app, name)
    limit = region.validation.max_body_bytes
    body = await _read_limited(request, limit)
    if body is None:
        metrics.feed_errors.labels(region.name, name, "oversized").inc()
        return error_response(413, "too_large", f"body over {limit} bytes")
    if bearer is None and not token_matches(_body_token(body), expected):
        return _unauthorized(app, name)
    ingest = _ingest_for(app, feed)
    try:
        result = await ingest.accept(body, content_type=request.headers.get("Content-Type"),
                                     reload_last_good=True)
    except FeedParseError as exc:
        reason = exc.reason if isinstance(exc, BodyRejected) else "bad_payload"
        metrics.feed_errors.labels(region.name, name, reason).inc()
        ingest.health.record_failure(str(exc), reason, app[keys.CLOCK](), circuit="closed")
        await _put_status(ingest)
        return error_response(400, reason, str(exc))
    except StoreError as exc:
        logger.warning("push %s: live store unavailable: %s", name, exc)
        return error_response(503, "live_store_unavailable", "try again shortly")
    ingest.health.record_success(app[keys.CLOCK](), not_modified=False, circuit="closed")
    await _put_status(ingest)
    metrics.feed_polls.labels(region.name, name, "push").inc()
    return json_response({"feed": name, "accepted": len(result.accepted),
                          "rejected": [r.to_dict() for r in result.rejected]})


async def _put_status(ingest: FeedIngest) -> None:
    try:
        await ingest.report_status()
    except StoreError as exc:
        logger.warning("push %s: could not record status: %s", ingest.feed.name, exc)
