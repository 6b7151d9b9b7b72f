"""The feed simulator: serves the native format for a region's sites.

``GET /v1/feed`` returns every site service with a simulated wait (closed services report
``status: "closed"`` and no wait). ``GET /healthz`` answers ``ok``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import orjson
from aiohttp import web

from feeds.simulation import simulated_patients_waiting, simulated_wait_minutes
from waitless.region import Region

Clock = Callable[[], datetime]
REGION_KEY = web.AppKey("simulator_region", Region)
SEED_KEY = web.AppKey("simulator_seed", int)
CLOCK_KEY = web.AppKey("simulator_clock", Clock)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def native_document(region: Region, *, seed: int, now: datetime) -> dict:
    """The native-format document the simulator serves at instant ``now``."""
    observed_at = now.replace(second=0, microsecond=0)
    entries = []
    for site in region.sites:
        for service in site.services:
            is_open = service.hours.is_open(now, region.timezone)
            wait = (simulated_wait_minutes(seed, site.id, service.kind, observed_at,
                                           region.timezone) if is_open else None)
            entries.append({
                "site_id": site.id,
                "service": service.kind,
                "wait_minutes": wait,
                "patients_waiting": (simulated_patients_waiting(wait, service.kind)
                                     if wait is not None else None),
                "observed_at": observed_at.isoformat(),
                "status": "open" if is_open else "closed",
            })
    return {"generated_at": now.isoformat(), "sites": entries}


async def _feed(request: web.Request) -> web.Response:
    app = request.app
    doc = native_document(app[REGION_KEY], seed=app[SEED_KEY], now=app[CLOCK_KEY]())
    return web.Response(body=orjson.dumps(doc), content_type="application/json")


async def _healthz(_: web.Request) -> web.Response:
    return web.Response(text="ok")


def create_simulator_app(region: Region, *, seed: int = 1,
                         clock: Clock = _utc_now) -> web.Application:
    """The simulator as an aiohttp application (also mounted by ``waitless dev``)."""
    app = web.Application()
    app[REGION_KEY] = region
    app[SEED_KEY] = seed
    app[CLOCK_KEY] = clock
    app.router.add_get("/v1/feed", _feed)
    app.router.add_get("/healthz", _healthz)
    return app
