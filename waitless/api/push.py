"""``POST /v1/feeds/{feed}/observations``: sites push their waits to us (British Columbia style).

A push feed is declared in the region file with a ``format`` and no ``url``; its tokens come
from ``WAITLESS_PUSH_TOKENS`` (never the region file). The token is read from
``Authorization: Bearer ...``, else from the payload's ``token`` field (``bc_push``), and
compared in constant time. A bearer token is checked before a byte of the body is read; a
feed whose format carries no token in its body is refused at once without one; only a
``bc_push`` body token needs the body read (at most ``max_body_bytes``) first, and a longer one
without a bearer token is a 401, not a 413. A name that is no push feed gets the same 401 as a
wrong token, so the answers do not say which feeds exist;
failed tokens count towards the per-client ``WAITLESS_AUTH_FAILURE_LIMIT`` (then 429).
Pushed observations go through the same body checks and
validation as polled ones — the same :class:`feeds.ingest.FeedIngest` pipeline — then into
the live store.

With several regions served, a push feed of any of them is taken: validated with its own
region's settings and sites (a site of another region is an unknown site) and written under
that region's live-store keys. The path and ``WAITLESS_PUSH_TOKENS`` name a feed by name alone,
so push feed names must be unique across the regions served (:func:`push_feeds`).

Answers: 200 ``{"feed", "accepted", "rejected": [...]}``; 400 bad body (``error`` names the
problem: ``empty_body``, ``truncated``, ``wrong_content_type``, ``no_sites``,
``bad_payload``); 401 missing or wrong token, or no such push feed; 413 body over
``max_body_bytes`` (with a bearer token); 503 live store down.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aiohttp import web

from feeds.adapters.bc_push import push_token, token_matches
from feeds.body import BodyRejected
from feeds.errors import FeedParseError
from feeds.ingest import FeedIngest
from waitless.api import keys
from waitless.api.errors import error_response, json_response, response_for_error
from waitless.domain.errors import RegionError
from waitless.domain.region import FeedConfig, Region
from waitless.live.store import StoreError

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PushFeed:
    """A push feed and the region whose file declares it.

    Attributes
    ----------
    feed
        The feed's configuration (a format and no url).
    region
        Its region as the file lists it, without neighbours' border sites: the sites a push
        may name, the validation settings, and the live-store keys written.
    """

    feed: FeedConfig
    region: Region


PUSH_FEEDS = web.AppKey("push_feeds", dict[str, PushFeed])
PUSH_INGEST = web.AppKey("push_ingest", dict[str, FeedIngest])


BODY_TOKEN_FORMATS = frozenset({"bc_push"})
_UNAUTHORIZED = "missing or wrong push token, or no such push feed"


def push_feeds(regions: Sequence[Region]) -> dict[str, PushFeed]:
    """Every push feed (a feed with no url) of the regions served, by name.

    Raises
    ------
    RegionError
        When two regions declare a push feed of one name, naming the feed and both regions
        and their files: the path and ``WAITLESS_PUSH_TOKENS`` name a feed by name alone, so
        a token of one trust's feed would also push to the other's. Polled feeds may share a
        name (they are polled by one ``waitless ingest`` per region).
    """
    table: dict[str, PushFeed] = {}
    clashes = []
    for region in regions:
        for feed in region.feeds:
            if feed.url:
                continue
            first = table.setdefault(feed.name, PushFeed(feed, region))
            if first.region is not region:
                clashes.append(f"{feed.name} in both {first.region.name} "
                               f"({first.region.source_path}) and {region.name} "
                               f"({region.source_path})")
    if clashes:
        msg = f"push feed names must be unique across the regions served: {'; '.join(clashes)}"
        raise RegionError(msg)
    return table


def tokens_without_push_feed(push_tokens: Sequence[tuple[str, str]],
                             feeds: Mapping[str, PushFeed]) -> list[str]:
    """Feed names of ``WAITLESS_PUSH_TOKENS`` entries that no push feed served here has.

    Such a token opens nothing: a typo in the name, or a feed that is polled or belongs to a
    region another process serves, and the trust's pushes get 401 with no other sign. Not
    refused (several processes may share one token list), but worth a line at start-up.
    Names only, in order, each once: never the tokens.
    """
    return list(dict.fromkeys(name for name, _ in push_tokens if name not in feeds))


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
    pushed = app[PUSH_FEEDS].get(name)
    if pushed is not None:
        app[keys.METRICS].feed_errors.labels(pushed.region.name, name, "unauthorized").inc()
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


def _ingest_for(app: web.Application, pushed: PushFeed) -> FeedIngest:
    """The feed's pipeline in this worker (its health record lives there)."""
    pipelines, name = app[PUSH_INGEST], pushed.feed.name
    if name not in pipelines:
        pipelines[name] = FeedIngest(pushed.feed, pushed.region, app[keys.LIVE_STORE],
                                     metrics=app[keys.METRICS], clock=app[keys.CLOCK])
    return pipelines[name]


async def push_handler(request: web.Request) -> web.Response:
    app, metrics = request.app, request.app[keys.METRICS]
    name = request.match_info["feed"]
    pushed = app[PUSH_FEEDS].get(name)
    expected = [token for feed_name, token in app[keys.SETTINGS].push_tokens
                if pushed is not None and feed_name == name]
    bearer = _bearer(request)
    # Decide what can be decided before reading the body: unknown feed, no token configured,
    # a wrong bearer token, or no token where the format carries none in its body.
    if pushed is None or not expected or (bearer is not None
                                          and not token_matches(bearer, expected)):
        return _unauthorized(app, name)
    if bearer is None and pushed.feed.format not in BODY_TOKEN_FORMATS:
        return _unauthorized(app, name)
    region = pushed.region
    limit = region.validation.max_body_bytes
    body = await _read_limited(request, limit)
    if body is None:
        metrics.feed_errors.labels(region.name, name, "oversized").inc()
        if bearer is None:
            # The token is in the body, not read: a 413 here told anyone, with no token, that
            # the name is a push feed (and its region's limit), where any other name gets 401.
            return _unauthorized(app, name)
        return error_response(413, "too_large", f"body over {limit} bytes")
    if bearer is None and not token_matches(_body_token(body), expected):
        return _unauthorized(app, name)
    ingest = _ingest_for(app, pushed)
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
        return response_for_error(exc)  # 503 with Retry-After, as every live-store outage
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
