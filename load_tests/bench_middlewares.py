"""Per-request CPU cost of the application's middleware on ``/v1/rank`` (no network, no ranking).

    python -m load_tests.bench_middlewares

The one middleware (:mod:`waitless.api.front`: limits, CORS, rate limit, cross-site check,
errors, metrics) is called around a handler that returns a fresh small response, on a routed
``/v1/rank`` request with a typical query; the handler alone is the baseline. The rate limit is
measured on (its default rule) and off, CORS with and without an allowed ``Origin``. Medians
over 20,000 calls. Served under load every figure is two to three times this (caches are
shared with the client and the other worker): docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from routing.estimate import EstimateTravel
from waitless.api.app import create_app
from waitless.api.front import front_middleware
from waitless.domain.region import load_region
from waitless.live.store import MemoryLiveStore
from waitless.settings import settings_from_env

PATH = "/v1/rank?lat=51.2802&lon=1.0789&condition=sprain&age=34"
CALLS = 20_000


async def _request(app: web.Application, headers: dict[str, str]) -> web.Request:
    request = make_mocked_request("GET", PATH, headers=headers, app=app)
    match = await app.router.resolve(request)
    match.add_app(app)
    request._match_info = match  # what aiohttp's own request handling sets
    return request


async def _median_us(call: Callable[[], Awaitable[object]]) -> float:
    times = []
    for _ in range(CALLS):
        start = time.thread_time_ns()
        await call()
        times.append((time.thread_time_ns() - start) / 1000)
    return statistics.median(times)


async def measure(rate_limit: str | None, cors_origin: str | None) -> dict[str, float]:
    region = load_region("kent-medway")
    env = {"WAITLESS_RATE_LIMIT": rate_limit or "off",
           "WAITLESS_CORS_ORIGINS": cors_origin or "",
           "WAITLESS_SPOOL_DIR": tempfile.mkdtemp()}
    travel = {mode: EstimateTravel.for_sites(region.sites, mode=mode) for mode in ("drive", "walk")}
    app = create_app(settings_from_env(env), region=region, live_store=MemoryLiveStore(),
                     travel=travel)
    headers = {"Origin": cors_origin} if cors_origin else {}
    request = await _request(app, headers)

    async def handler(_: web.Request) -> web.Response:
        return web.Response(body=b"{}", content_type="application/json")

    base = await _median_us(lambda: handler(request))
    result = {"handler_alone_us": round(base, 2)}
    cost = await _median_us(lambda: front_middleware(request, handler))
    result["front_middleware_us"] = round(cost - base, 2)
    return result


def main() -> None:
    for rate_limit, origin in ((None, None), ("120/minute", None),
                               (None, "https://app.example")):
        label = f"rate limit {rate_limit or 'off'}, Origin {origin or 'none'}"
        print(label, asyncio.run(measure(rate_limit, origin)))


if __name__ == "__main__":
    main()
