"""The poller against small real HTTP servers: conditional requests, Retry-After, retries,
the circuit breaker, backoff numbers and the body limit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import aiohttp
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from feeds.ingest import FeedIngest
from feeds.poller import FeedPoller
from feeds.schedule import PollerSettings, retry_after_seconds
from feeds.simulator import native_document
from tests.feeds.ingest.conftest import MovableClock
from waitless.domain.observation import Observation
from waitless.domain.region import FeedConfig, Region
from waitless.domain.validation_settings import ValidationSettings
from waitless.live.store import MemoryLiveStore
from waitless.metrics import Metrics
from waitless.ranking.waits import estimate_wait

Responder = Callable[[web.Request], web.StreamResponse]


class ScriptedFeed:
    """A feed server whose answer is a function tests swap; it records every request."""

    def __init__(self, respond: Responder) -> None:
        self.respond = respond
        self.requests: list[dict[str, str]] = []
        app = web.Application()
        app.router.add_get("/feed", self._handle)
        self.server = TestServer(app)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(dict(request.headers))
        return self.respond(request)

    @property
    def url(self) -> str:
        return str(self.server.make_url("/feed"))


@pytest.fixture
async def scripted():
    feeds: list[ScriptedFeed] = []

    async def start(respond: Responder) -> ScriptedFeed:
        feed = ScriptedFeed(respond)
        await feed.server.start_server()
        feeds.append(feed)
        return feed

    yield start
    for feed in feeds:
        await feed.server.close()


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as s:
        yield s


def make_poller(kent: Region, url: str, session, store: MemoryLiveStore, clock, *,
                metrics: Metrics | None = None, validation: ValidationSettings | None = None,
                **options) -> FeedPoller:
    feed = FeedConfig("f", "native", url, interval_seconds=0.1, timeout_seconds=1,
                      options=options)
    region = kent if validation is None else replace(kent, validation=validation)
    timing = ({"monotonic": clock.monotonic, "sleep": clock.sleep}
              if isinstance(clock, MovableClock) else {})
    return FeedPoller(FeedIngest(feed, region, store, metrics=metrics, clock=clock), session,
                      metrics=metrics, **timing)


def sim_body(kent: Region, now: datetime) -> bytes:
    return orjson.dumps(native_document(kent, seed=2, now=now))


def count(metrics: Metrics, name: str, region: str = "kent-medway", **labels: str) -> float:
    """A feed counter's value for the region's feed (every feed series names its region)."""
    return metrics.registry.get_sample_value(name, {"region": region, **labels}) or 0.0


async def test_conditional_requests_and_304_keep_true_ages(kent, scripted, session,
                                                           clock: MovableClock) -> None:
    body = sim_body(kent, clock())
    validators = {"ETag": '"v1"', "Last-Modified": "Tue, 24 Nov 2026 10:29:00 GMT"}

    def respond(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers=validators)
        return web.Response(body=body, content_type="application/json", headers=validators)

    feed = await scripted(respond)
    store, metrics = MemoryLiveStore(), Metrics()
    poller = make_poller(kent, feed.url, session, store, clock, metrics=metrics)
    assert [await poller.poll_and_record() for _ in range(3)] == [True, True, True]
    assert "If-None-Match" not in feed.requests[0]
    assert feed.requests[1]["If-None-Match"] == '"v1"'
    assert feed.requests[1]["If-Modified-Since"] == validators["Last-Modified"]
    services = sum(len(site.services) for site in kent.sites)
    assert poller.health.not_modified == 2 and poller.health.accepted == services
    assert count(metrics, "waitless_feed_polls_total", feed="f", outcome="not_modified") == 2
    assert count(metrics, "waitless_observations_accepted_total", feed="f") == services
    # Nothing new for 100 minutes: the feed is up, but the data is judged by observed_at.
    clock.advance(minutes=100)
    assert await poller.poll_and_record() is True
    obs = (await store.current(kent.name))["RVV01/ed"]
    assert estimate_wait(kent, "ed", obs, clock()).status == "stale"
    assert poller.health.ok and poller.health.as_dict()["last_ok_at"] == clock().isoformat()


async def test_refused_200_does_not_become_the_etag(kent, scripted, session, clock) -> None:
    feed = await scripted(lambda r: web.Response(text="<html>oops</html>",
                                                 content_type="text/html",
                                                 headers={"ETag": '"bad"'}))
    poller = make_poller(kent, feed.url, session, MemoryLiveStore(), clock)
    assert await poller.poll_and_record() is False
    assert poller.health.last_error_reason == "wrong_content_type"
    await poller.poll_and_record()
    assert "If-None-Match" not in feed.requests[1]


async def test_retry_after_is_honoured_without_in_poll_retries(kent, scripted, session,
                                                               clock) -> None:
    feed = await scripted(lambda r: web.Response(status=429, headers={"Retry-After": "3"}))
    poller = make_poller(kent, feed.url, session, MemoryLiveStore(), clock, retries=2,
                         retry_base_seconds=0.01)
    assert await poller.poll_and_record() is False
    assert len(feed.requests) == 1
    assert poller.health.last_error_reason == "http_429"
    assert 2.5 < poller.next_delay_seconds() <= 3.0  # not the 0.1 s interval


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2015, 10, 21, 7, 27, 30, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now) == 30
    assert retry_after_seconds("Wed, 21 Oct 2015 07:00:00 GMT", now) == 0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


async def test_transient_errors_retried_parse_errors_not(kent, scripted, session,
                                                         clock) -> None:
    answers = [web.Response(status=500), web.Response(status=502),
               web.Response(body=sim_body(kent, clock()), content_type="application/json")]
    feed = await scripted(lambda r: answers.pop(0))
    metrics = Metrics()
    poller = make_poller(kent, feed.url, session, MemoryLiveStore(), clock, metrics=metrics,
                         retries=2, retry_base_seconds=0.01)
    assert await poller.poll_and_record() is True
    assert len(feed.requests) == 3
    assert count(metrics, "waitless_feed_retries_total", feed="f", reason="http_5xx") == 2
    feed.respond = lambda r: web.Response(body=b'{"sites": [,]}', content_type="application/json")
    assert await poller.poll_and_record() is False
    assert len(feed.requests) == 4 and poller.health.last_error_reason == "parse"


async def test_circuit_opens_probes_half_open_and_closes(kent, scripted, session,
                                                         clock) -> None:
    feed = await scripted(lambda r: web.Response(status=500))
    metrics = Metrics()
    poller = make_poller(kent, feed.url, session, MemoryLiveStore(), clock, metrics=metrics,
                         retries=1, retry_base_seconds=0.01, circuit_open_after=3,
                         circuit_cooldown_seconds=0.3)
    for _ in range(3):
        assert poller.circuit.state == "closed"
        await poller.poll_and_record()
    assert poller.circuit.state == "open" and len(feed.requests) == 6
    assert await poller.poll_and_record() is False
    assert len(feed.requests) == 6  # nothing sent while open
    assert 0.25 < poller.next_delay_seconds() <= 0.36
    clock.advance(seconds=0.31)
    assert await poller.poll_and_record() is False  # the half-open probe fails: open again
    assert len(feed.requests) == 7 and poller.circuit.state == "open"  # one probe, no retry
    feed.respond = lambda r: web.Response(body=sim_body(kent, clock()),
                                          content_type="application/json")
    clock.advance(seconds=0.31)
    assert await poller.poll_and_record() is True
    assert poller.circuit.state == "closed" and poller.health.consecutive_failures == 0
    status = poller.health.as_dict()
    assert status["circuit"] == "closed" and status["errors_by_reason"] == {"http_5xx": 4}
    assert count(metrics, "waitless_feed_errors_total", feed="f", reason="http_5xx") == 4


async def test_backoff_doubles_to_its_cap_with_bounded_jitter(kent, session) -> None:
    feed = FeedConfig("f", "native", "http://127.0.0.1:9/", interval_seconds=10,
                      options={"jitter": 0, "backoff_max_seconds": 60})
    poller = make_poller(kent, feed.url, session, MemoryLiveStore(), None, **feed.options)
    poller.feed = feed
    delays = []
    for failures in range(6):
        poller.health.consecutive_failures = failures
        delays.append(poller.next_delay_seconds())
    assert delays == [10, 10, 20, 40, 60, 60]
    jittery = make_poller(kent, feed.url, session, MemoryLiveStore(), None)
    jittery.feed = feed
    draws = [jittery.next_delay_seconds() for _ in range(200)]
    assert all(9 <= d <= 11 for d in draws) and len(set(draws)) > 100
    defaults = PollerSettings()
    assert (defaults.retries, defaults.circuit_open_after, defaults.circuit_cooldown_seconds,
            defaults.backoff_max_seconds) == (2, 5, 300.0, 600.0)


async def test_body_read_is_capped(kent, scripted, session, clock) -> None:
    big = orjson.dumps({"generated_at": clock().isoformat(),
                        "sites": [{"pad": "x" * 100}] * 100})
    feed = await scripted(lambda r: web.Response(body=big, content_type="application/json"))
    poller = make_poller(kent, feed.url, session, MemoryLiveStore(), clock,
                         validation=ValidationSettings(max_body_bytes=500))
    assert await poller.poll_and_record() is False
    assert poller.health.last_error_reason == "oversized"


async def test_last_good_is_loaded_from_the_store_before_the_first_poll(
        kent, scripted, session, clock) -> None:
    store = MemoryLiveStore()
    earlier = Observation("RVV01", "ed", 20.0, clock() - timedelta(minutes=10), feed="f")
    await store.write(kent.name, [earlier])
    feed = await scripted(lambda r: web.Response(body=sim_body(kent, clock()),
                                                 content_type="application/json"))
    poller = make_poller(kent, feed.url, session, store, clock)
    assert await poller.poll_and_record() is True
    reasons = {r["site_id"] + "/" + r["service"]: r["reason"]
               for r in poller.health.as_dict()["rejections"]}
    assert reasons == {"RVV01/ed": "sudden_jump"}  # 20 min -> ~200 min within 10 minutes
    assert (await store.current(kent.name))["RVV01/ed"] == earlier



async def test_an_empty_listing_after_a_full_one_is_a_recorded_feed_problem(
        kent, scripted, session, clock) -> None:
    store = MemoryLiveStore()
    bodies = [sim_body(kent, clock()), orjson.dumps({"generated_at": clock().isoformat(),
                                                     "sites": []})]
    feed = await scripted(lambda r: web.Response(body=bodies[min(len(feed.requests), 2) - 1],
                                                 content_type="application/json"))
    poller = make_poller(kent, feed.url, session, store, clock)
    assert await poller.poll_and_record() is True
    listed = len(await store.current(kent.name))
    assert listed == len(poller.last_good) > 10
    assert await poller.poll_and_record() is False
    health = poller.health.as_dict()
    assert health["last_error_reason"] == "no_sites"
    assert f"usually gives figures for {listed}" in health["last_error"]
    assert len(await store.current(kent.name)) == listed  # the last good figures stay
