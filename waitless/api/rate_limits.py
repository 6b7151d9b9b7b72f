"""The per-client rate limit on the HTTP side: which routes, the 429 answer, the sync task.

The counting itself, shared across workers without Redis on the request path, is
:class:`waitless.api.rate_limiter.RateLimiter`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter
from redis.exceptions import RedisError

from waitless.api import keys
from waitless.api.auth import AUTH_FAILED
from waitless.api.background import OutageLog, seconds_to_next_period
from waitless.api.errors import error_response
from waitless.api.rate_limiter import (
    SETTLE_SHARE,
    RateLimiter,
    client_address,
    client_key,
    parse_networks,
)
from waitless.api.render import render
from waitless.live.leader import cancel_and_wait
from waitless.live.redis_url import redis_from_url
from waitless.settings import parse_rate

logger = logging.getLogger(__name__)

# Route names (see waitless.api.routes) and the rule limiting each; other routes are never limited.
ROUTE_RULES = {"patient_page": "public", "rank": "public", "places": "public",
               "sites": "public", "choices": "public", "commissioners_login": "login"}
HTML_ROUTES = frozenset({"patient_page", "commissioners_login"})
# Routes that authenticate (bearer token, push token, session cookie): failed authentications
# (401) are counted per client, and past the limit every request there is refused with 429
# before the handler reads the body or compares a token.
AUTH_ROUTES = frozenset({"stats_shift", "stats_events", "stats_nhse", "feed_push",
                         "commissioners_login", "commissioners_logout",
                         "commissioners_shift", "commissioners_shift_csv",
                         "commissioners_events", "commissioners_events_csv",
                         "commissioners_upload"})
AUTH_FAILURES = "auth_failures"

# None when no limit is set (set either way: a request never pays for a missing key).
LIMITER = web.AppKey("rate_limiter", RateLimiter | None)
LIMITED = web.AppKey("rate_limited_counter", Counter)
TRUSTED = web.AppKey("trusted_proxies", tuple)


def limited_response(request: web.Request, route: str, wait_seconds: float) -> web.Response:
    retry_after = max(1, math.ceil(wait_seconds))
    message = f"too many requests from this address; try again in {retry_after} seconds"
    if route in HTML_ROUTES:
        response = render(request, "rate_limited.html",
                          {"region_title": request.app[keys.REGION].title,
                           "retry_after": retry_after}, status=429)
    else:
        response = error_response(429, "rate_limited", message,
                                  retry_after_seconds=retry_after)
    response.headers["Retry-After"] = str(retry_after)
    return response


def rate_limit_refusal(request: web.Request, limiter: RateLimiter, route: str
                       ) -> tuple[web.Response | None, str | None]:
    """(the 429 answer or ``None``, the client's key when ``route`` authenticates).

    Pass the key to :func:`count_auth_failure` with the route's answer."""
    rule = ROUTE_RULES.get(route)
    guarded = route in AUTH_ROUTES and AUTH_FAILURES in limiter.rules
    if rule not in limiter.rules and not guarded:
        return None, None
    key = client_key(client_address(request.remote,
                                    request.headers.getall("X-Forwarded-For", []),
                                    request.app[TRUSTED]))
    if guarded:
        wait = limiter.blocked(AUTH_FAILURES, key)
        if wait is not None:
            request.app[LIMITED].labels(AUTH_FAILURES).inc()
            return limited_response(request, route, wait), None
    if rule in limiter.rules:
        wait = limiter.check(rule, key)
        if wait is not None:
            request.app[LIMITED].labels(rule).inc()
            return limited_response(request, route, wait), None
    return None, key if guarded else None


def count_auth_failure(request: web.Request, limiter: RateLimiter, key: str,
                       response: web.StreamResponse) -> None:
    """Count a failed authentication (a 401, or a handler's mark) against ``key``."""
    if response.status == 401 or request.get(AUTH_FAILED):
        limiter.count(AUTH_FAILURES, key)


def rate_limited_counter(registry: CollectorRegistry) -> Counter:
    return Counter("waitless_rate_limited_total",
                   "Requests refused with 429 by the per-client rate limit", ["rule"],
                   registry=registry)


def setup_rate_limits(app: web.Application) -> None:
    """Parse the limits, register the metric and the Redis sync task (when there is Redis)."""
    settings = app[keys.SETTINGS]
    rules = {name: parse_rate(text) for name, text in
             (("public", settings.rate_limit), ("login", settings.login_rate_limit),
              (AUTH_FAILURES, settings.auth_failure_limit)) if text}
    app[TRUSTED] = parse_networks(settings.trusted_proxies)
    app[LIMITED] = rate_limited_counter(app[keys.METRICS].registry)
    if not rules:
        app[LIMITER] = None
        return
    limiter = RateLimiter(rules, sync_seconds=settings.rate_limit_sync_seconds)
    app[LIMITER] = limiter
    app.cleanup_ctx.append(_sync_ctx)


async def _sync_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    client = None
    if settings.redis_url:
        client = redis_from_url(settings.redis_url, socket_timeout=2,
                                socket_connect_timeout=2)
    sharer = _Sharer(app[LIMITER], client, settings.redis_prefix)
    # Learn the other workers' counts and number before the first request, if Redis answers.
    await sharer.once()
    task = asyncio.create_task(sharer.forever(), name="ratelimit-sync")
    yield
    # Not a plain cancel-and-await: a cancellation landing mid-command can be lost by redis-py,
    # and the worker then never finished shutting down (found as an orphaned worker).
    await cancel_and_wait(task)
    if client is not None:
        await client.aclose()


class _Sharer:
    """The background side: sync every ``sync_seconds``, alone while Redis is unreachable."""

    def __init__(self, limiter: RateLimiter, client: aioredis.Redis | None,
                 prefix: str) -> None:
        self.limiter, self.client, self.prefix = limiter, client, prefix
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.outage = OutageLog(logger)

    async def once(self) -> None:
        if self.client is None:
            self.limiter.prune()
            return
        try:
            await self.limiter.sync(self.client, self.prefix, self.worker_id,
                                    settle_seconds=self.limiter.sync_seconds * SETTLE_SHARE)
        except (RedisError, OSError) as exc:
            # Alone until Redis answers: this process enforces the whole limit itself.
            self.limiter.peers = 1
            self.limiter.prune()
            self.outage.failed("rate-limit counts not shared (Redis: %s); limiting per "
                               "process until it answers", exc)
        else:
            self.outage.recovered("rate-limit counts shared through Redis again")

    async def forever(self) -> None:
        period = self.limiter.sync_seconds
        while True:
            await asyncio.sleep(seconds_to_next_period(period, time.time()))
            await self.once()
