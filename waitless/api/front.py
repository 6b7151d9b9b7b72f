"""The one middleware every request passes: size limits, CORS, the rate limit, the cross-site
POST check, errors as JSON (or HTML pages for browsers) and the request metrics.

These were five middlewares in turn. Served under load, their bodies and layers cost 14 µs of
a worker's CPU per request, more than the ranking's travel, sort and JSON together (issue 12,
docs/benchmarks.md). Each check is still a plain function in its own module
(:mod:`~waitless.api.request_limits`, :mod:`~waitless.api.cors`,
:mod:`~waitless.api.rate_limits`, :mod:`~waitless.api.origin_check`); this calls them in the
order the middlewares ran, and skips those that cannot apply (CORS without an ``Origin``, the
cross-site check on anything but a POST, the rate limit when it is off).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from aiohttp import web

from waitless.api import keys
from waitless.api.cors import add_cors_headers, preflight_answer
from waitless.api.errors import error_response, response_for_error
from waitless.api.html_errors import negotiate_error
from waitless.api.origin_check import CHECKED_ROUTES, cross_site_refusal
from waitless.api.rate_limits import LIMITER, count_auth_failure, rate_limit_refusal
from waitless.api.request_limits import query_refusal
from waitless.domain.errors import WaitlessError

logger = logging.getLogger(__name__)

# What an exception raised for an error status says about the resource, kept on the answer.
_KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After")
# This process's id for the benchmarks' X-WaitLess-Worker header (which worker answered),
# made once per process rather than with a system call per answer. Sent only to a request
# that carries the header itself (the propagation and worker tests do; a load generator does
# not): a header added to every answer cost a served ranking ~4 % of its CPU (issue 12).
WORKER_HEADER = "X-WaitLess-Worker"
_worker_id = [str(os.getpid())]
os.register_at_fork(after_in_child=lambda: _worker_id.__setitem__(0, str(os.getpid())))


def _metric_label(route: web.AbstractRoute) -> str:
    """The route's name (``rank``, ...), ``static`` for a static file, else ``unmatched``."""
    return route.name or ("static" if route.resource is not None else "unmatched")


def _refusal(request: web.Request, app: web.Application, name: str
             ) -> tuple[web.Response | None, str | None]:
    """(the refusal of the first check that refuses or ``None``, the client's key when the
    route authenticates). Plain, not a coroutine: every request runs it, and one more awaited
    layer per request showed in the served profile (issue 12)."""
    refusal = query_refusal(request)
    if refusal is not None:
        return refusal, None
    limiter = app[LIMITER]
    auth_key = None
    if limiter is not None:
        refusal, auth_key = rate_limit_refusal(request, limiter, name)
        if refusal is not None:
            return refusal, None
    if request.method == "POST" and name in CHECKED_ROUTES:
        refusal = cross_site_refusal(request, name)
    return refusal, auth_key


def _error_answer(exc: web.HTTPException) -> web.Response:
    response = error_response(exc.status, exc.reason.lower().replace(" ", "_"),
                              exc.text or exc.reason)
    for header in _KEPT_HEADERS:
        if header in exc.headers:
            response.headers[header] = exc.headers[header]
    return response


@web.middleware
async def front_middleware(request: web.Request, handler: Callable) -> web.StreamResponse:
    """Check, answer, count and time every request (see the module docstring)."""
    started = time.perf_counter()
    app = request.app
    settings = app[keys.SETTINGS]
    route = request.match_info.route
    name = route.name or ""
    origin = request.headers.get("Origin")
    try:
        response = (preflight_answer(request, origin, settings.cors_origins)
                    if origin is not None and request.method == "OPTIONS" else None)
        if response is None:
            response, auth_key = _refusal(request, app, name)
            if response is None:
                response = await handler(request)
                if auth_key is not None:  # only with a limiter
                    count_auth_failure(request, app[LIMITER], auth_key, response)
            if origin is not None:
                add_cors_headers(request, origin, settings.cors_origins, response)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = _error_answer(exc)
    except WaitlessError as exc:
        response = response_for_error(exc)
    except Exception:
        logger.exception("unhandled error on %s", request.path)
        response = error_response(500, "internal_error", "internal error; it has been logged")
    if response.status >= 400:
        response = negotiate_error(request, response)  # a browser gets an HTML page instead
    if settings.bench_endpoints and WORKER_HEADER in request.headers:
        response.headers[WORKER_HEADER] = _worker_id[0]
    app[keys.METRICS].observe_request(_metric_label(route), response.status,
                                      time.perf_counter() - started)
    return response
