"""The feed simulator: serves the native format for a region's sites, with faults on demand.

``GET /v1/feed`` returns every site service with a simulated wait (closed services report
``status: "closed"`` and no wait); it sends an ``ETag`` and answers 304 to a matching
``If-None-Match``. ``GET /healthz`` answers ``ok``.

Faults (:data:`FAULT_MODES`) make it misbehave like real feeds do. Set them at start-up
(``waitless feeds simulate --fault MODE[:SITE_ID[/SERVICE]]``, repeatable) or at runtime
through the admin endpoint, which exists on the simulator only (a test and demo tool)::

    GET    /faults                          {"faults": [...], "modes": {...}}
    POST   /faults {"faults": ["5xx", "implausible:RVV02/utc"]}   replaces the set
    DELETE /faults                          clears every fault
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from aiohttp import web

from feeds.simulation import simulated_patients_waiting, simulated_wait_minutes
from waitless.domain.errors import ConfigError
from waitless.domain.region import Region

Clock = Callable[[], datetime]

# Whole-feed faults: the response itself is wrong.
FEED_FAULTS: dict[str, str] = {
    "slow": "answers only after slow_seconds (longer than the poll timeout)",
    "5xx": "HTTP 500 with a short JSON error body",
    "ratelimit": "HTTP 429 with Retry-After: retry_after_seconds",
    "malformed": "a body that ends like JSON but does not parse",
    "truncated": "the document cut off half-way (Content-Length matches the cut body)",
    "html": "an HTML error page served as text/html with status 200",
}
# Value faults: the document is fine, some values in it are not (default: every service).
VALUE_FAULTS: dict[str, str] = {
    "implausible": "a wait of 4320 min (the 72-hour UTC waits of 30 Oct 2024)",
    "frozen": "observed_at (and the wait) stuck at the instant the fault was set",
    "negative": "a wait of -15 min",
    "zero": "a wait of 0 min",
}
FAULT_MODES: dict[str, str] = {**FEED_FAULTS, **VALUE_FAULTS}
_FAULT_WAITS = {"implausible": 4320.0, "negative": -15.0, "zero": 0.0}


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault: ``mode`` from :data:`FAULT_MODES`, optionally for one site (service)."""

    mode: str
    site_id: str | None = None
    service: str | None = None
    set_at: datetime | None = None

    def spec(self) -> str:
        target = f":{self.site_id}" if self.site_id else ""
        return self.mode + target + (f"/{self.service}" if self.service else "")

    def applies_to(self, site_id: str, service: str) -> bool:
        return (self.site_id in (None, site_id)) and (self.service in (None, service))


def parse_fault(spec: str, region: Region, *, set_at: datetime) -> Fault:
    """``"MODE[:SITE_ID[/SERVICE]]"`` -> :class:`Fault`; ``ValueError`` naming the problem."""
    mode, _, target = spec.strip().partition(":")
    if mode not in FAULT_MODES:
        msg = f"unknown fault {mode!r}; modes: {', '.join(FAULT_MODES)}"
        raise ConfigError(msg)
    site_id, _, service = target.partition("/")
    if site_id and mode in FEED_FAULTS:
        msg = f"fault {mode!r} affects the whole feed; it takes no SITE_ID"
        raise ConfigError(msg)
    if site_id:
        site = region.site(site_id)
        if site is None:
            msg = f"fault {spec!r}: {site_id!r} is not a site of region {region.name}"
            raise ConfigError(msg)
        if service and site.service(service) is None:
            msg = f"fault {spec!r}: {site_id} has no {service!r} service"
            raise ConfigError(msg)
    return Fault(mode, site_id or None, service or None, set_at)


@dataclass
class SimulatorState:
    """What the simulator app serves: region, seed, clock, faults and their timings."""

    region: Region
    seed: int
    clock: Clock
    faults: tuple[Fault, ...] = ()
    slow_seconds: float = 30.0
    retry_after_seconds: int = 60

    def set_faults(self, specs: Iterable[str]) -> None:
        now = self.clock()
        self.faults = tuple(parse_fault(spec, self.region, set_at=now) for spec in specs)


STATE_KEY = web.AppKey("simulator_state", SimulatorState)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def native_document(region: Region, *, seed: int, now: datetime,
                    faults: Iterable[Fault] = ()) -> dict:
    """The native-format document the simulator serves at instant ``now``, value faults applied."""
    value_faults = [f for f in faults if f.mode in VALUE_FAULTS]
    entries = []
    for site in region.sites:
        for service in site.services:
            fault = next((f for f in value_faults if f.applies_to(site.id, service.kind)), None)
            at = fault.set_at if fault is not None and fault.mode == "frozen" else now
            observed_at = at.replace(second=0, microsecond=0)
            is_open = service.hours.is_open(at, region.timezone)
            wait = (simulated_wait_minutes(seed, site.id, service.kind, observed_at,
                                           region.timezone) if is_open else None)
            if wait is not None and fault is not None and fault.mode in _FAULT_WAITS:
                wait = _FAULT_WAITS[fault.mode]
            entries.append({
                "site_id": site.id,
                "service": service.kind,
                "wait_minutes": wait,
                "patients_waiting": (simulated_patients_waiting(max(wait, 0.0), service.kind)
                                     if wait is not None else None),
                "observed_at": observed_at.isoformat(),
                "status": "open" if is_open else "closed",
            })
    return {"generated_at": now.isoformat(), "sites": entries}


async def _feed(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    modes = {f.mode for f in state.faults}
    if "slow" in modes:
        await asyncio.sleep(state.slow_seconds)
    if "ratelimit" in modes:
        return web.json_response({"error": "rate limited"}, status=429,
                                 headers={"Retry-After": str(state.retry_after_seconds)})
    if "5xx" in modes:
        return web.json_response({"error": "internal server error"}, status=500)
    if "html" in modes:
        page = "<html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>"
        return web.Response(text=page, content_type="text/html")
    body = orjson.dumps(native_document(state.region, seed=state.seed, now=state.clock(),
                                        faults=state.faults))
    if "malformed" in modes:
        body = body[:-2] + b",,}"  # still ends like JSON, so only the parser can tell
    if "truncated" in modes:
        body = body[: len(body) // 2]
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag})
    return web.Response(body=body, content_type="application/json", headers={"ETag": etag})


async def _healthz(_: web.Request) -> web.Response:
    return web.Response(text="ok")


def _faults_answer(state: SimulatorState, status: int = 200) -> web.Response:
    return web.json_response({"faults": [f.spec() for f in state.faults],
                              "modes": FAULT_MODES}, status=status)


async def _get_faults(request: web.Request) -> web.Response:
    return _faults_answer(request.app[STATE_KEY])


async def _set_faults(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    try:
        doc = orjson.loads(await request.read())
        specs = doc["faults"]
        if not isinstance(specs, list) or not all(isinstance(s, str) for s in specs):
            raise TypeError
        state.set_faults(specs)
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return web.json_response({"error": 'expected {"faults": ["MODE[:SITE[/SERVICE]]"]}'},
                                 status=400)
    except ValueError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return _faults_answer(state)


async def _clear_faults(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    state.faults = ()
    return _faults_answer(state)


def create_simulator_app(region: Region, *, seed: int = 1, clock: Clock = _utc_now,
                         faults: Iterable[str] = (), slow_seconds: float = 30.0,
                         retry_after_seconds: int = 60) -> web.Application:
    """The simulator as an aiohttp application (also mounted by ``waitless dev``).

    ``faults`` are specs as for ``--fault``; a bad one raises ``ValueError``.
    """
    state = SimulatorState(region, seed, clock, slow_seconds=slow_seconds,
                           retry_after_seconds=retry_after_seconds)
    state.set_faults(faults)
    app = web.Application()
    app[STATE_KEY] = state
    app.router.add_get("/v1/feed", _feed)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/faults", _get_faults)
    app.router.add_post("/faults", _set_faults)
    app.router.add_delete("/faults", _clear_faults)
    return app
