"""Every simulator fault in turn, through the real poller, live store and API."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from feeds.simulator import FEED_FAULTS, VALUE_FAULTS, create_simulator_app
from tests.conftest import eventually
from tests.feeds.ingest.conftest import (
    CANTERBURY,
    MovableClock,
    api_client,
    get_json,
    service_of,
    sim_feed,
    sites_json,
)
from waitless.domain.region import Region
from waitless.live.store import LiveStore

# Feed-level fault -> the reason the poller records.
FEED_REASONS = {"slow": "timeout", "5xx": "http_5xx", "ratelimit": "http_429",
                "malformed": "parse", "truncated": "truncated", "html": "wrong_content_type"}
# Value fault -> (target, reason validation gives).
VALUE_REASONS = {"implausible": ("RVVKC", "utc", "implausible_high"),
                 "negative": ("RVV02", "utc", "negative_wait"),
                 "zero": ("RVV01", "ed", "suspicious_zero")}


async def post_faults(sim: TestServer, *specs: str) -> list[str]:
    async with aiohttp.ClientSession() as session, session.post(sim.make_url("/faults"),
                                                   json={"faults": list(specs)}) as r:
        assert r.status == 200, await r.text()
        return (await r.json())["faults"]


async def rank_ok(client) -> dict:
    status, body = await get_json(client, "/v1/rank", **CANTERBURY)
    assert status == 200
    for result in body["results"]:
        assert result["wait_minutes"] is None or 0 <= result["wait_minutes"] <= 720
    return body


def test_every_fault_mode_is_covered() -> None:
    assert set(FEED_REASONS) == set(FEED_FAULTS)
    assert set(VALUE_REASONS) | {"frozen"} == set(VALUE_FAULTS)


async def test_every_fault_in_turn_rankings_hold(live_store: LiveStore, aiohttp_client,
                                                 kent: Region, clock: MovableClock,
                                                 tmp_path: Path) -> None:
    # live_store comes first so it is closed after the app that uses it.
    sim = TestServer(create_simulator_app(kent, seed=4, clock=clock, slow_seconds=1.0,
                                          retry_after_seconds=1))
    await sim.start_server()
    client = await api_client(aiohttp_client, kent, live_store, clock, tmp_path,
                              feeds=[sim_feed(str(sim.make_url("/v1/feed")))])

    async def all_live():
        body = await rank_ok(client)
        return body if body["results"] and all(
            r["wait_status"] == "live" for r in body["results"]) else None

    before = await eventually(all_live, what="live waits")
    good = {r["site_id"]: r["wait_minutes"] for r in before["results"]}

    async def feed_status():
        return (await sites_json(client))["feeds"].get("sim", {})

    for mode, reason in FEED_REASONS.items():
        await post_faults(sim, mode)
        status = await eventually(
            lambda reason=reason: _failing_with(feed_status, reason), what=f"{mode} failure")
        assert status["ok"] is False
        if mode == "5xx":  # a lasting outage opens the circuit; health and metrics say so
            await eventually(lambda: _circuit(feed_status, "open"), what="open circuit")
            metrics = await (await client.get("/metrics")).text()
            assert ('waitless_feed_circuit_state{feed="sim",region="kent-medway",state="open"} '
                    '1.0') in metrics
        body = await rank_ok(client)  # last good data keeps answering, still live by age
        assert {r["site_id"]: r["wait_minutes"] for r in body["results"]} == good
        assert all(r["wait_status"] == "live" for r in body["results"])
        await post_faults(sim)
        await eventually(lambda: _ok(feed_status), what=f"recovery from {mode}")

    metrics = await (await client.get("/metrics")).text()
    status = await feed_status()
    for reason in FEED_REASONS.values():
        assert status["errors_by_reason"][reason] >= 1
        labels = f'feed="sim",reason="{reason}",region="kent-medway"'
        assert f"waitless_feed_errors_total{{{labels}}}" in metrics
    assert status["circuit"] == "closed"

    for mode, (site_id, kind, reason) in VALUE_REASONS.items():
        last_good = service_of(await sites_json(client), site_id, kind)["wait_minutes"]
        await post_faults(sim, f"{mode}:{site_id}/{kind}")

        async def rejected(site_id=site_id, reason=reason):
            site = next(s for s in (await sites_json(client))["sites"]
                        if s["site_id"] == site_id)
            return [r for r in site["rejections"] if r["reason"] == reason]

        (rejection,) = await eventually(rejected, what=f"{mode} rejection")
        assert rejection["feed"] == "sim" and rejection["service"] == kind
        assert rejection["detail"] and rejection["at"] == clock.now.isoformat()
        service = service_of(await sites_json(client), site_id, kind)
        assert service["wait_minutes"] == last_good and service["wait_status"] == "live"
        await rank_ok(client)
        metrics = await (await client.get("/metrics")).text()
        labels = f'feed="sim",reason="{reason}",region="kent-medway"'
        assert f"waitless_observations_rejected_total{{{labels}}}" in metrics
        assert f"waitless_feed_rejections_current{{{labels}}} 1.0" in metrics

    # The 72-hour UTC value is still being served; the last good value is shown until it is
    # older than the limit, then it is marked stale (never replaced by 4320).
    await post_faults(sim, "implausible:RVVKC/utc", "frozen:RVV09")
    clock.advance(minutes=100)

    async def stale_ones():
        body = await rank_ok(client)
        by_site = {r["site_id"]: r for r in body["results"]}
        if by_site["RVVKC"]["wait_status"] == "stale" and by_site["RVV09"][
                "wait_status"] == "stale" and by_site["RVV01"]["wait_status"] == "live":
            return by_site
        return None

    by_site = await eventually(stale_ones, what="stale marking after the clock moved")
    assert by_site["RVVKC"]["wait_minutes"] == good["RVVKC"]
    assert by_site["RVVKC"]["wait_age_minutes"] == pytest.approx(100, abs=1)
    assert by_site["RVV09"]["wait_age_minutes"] == pytest.approx(100, abs=1)

    async def rvv09_reasons():  # the frozen observed_at is now past the limit: rejected
        sites = await sites_json(client)
        rvv09 = next(s for s in sites["sites"] if s["site_id"] == "RVV09")
        return {r["reason"] for r in rvv09["rejections"]} == {"stale"}

    await eventually(rvv09_reasons, what="frozen values rejected as stale")
    metrics = await (await client.get("/metrics")).text()
    assert ('waitless_site_last_good_age_seconds{feed="sim",region="kent-medway",service="utc",'
            'site="RVVKC"} 6000.0') in metrics
    await sim.close()


async def _failing_with(feed_status, reason: str):
    status = await feed_status()
    return status if status.get("last_error_reason") == reason and not status["ok"] else None


async def _circuit(feed_status, state: str):
    return (await feed_status()).get("circuit") == state


async def _ok(feed_status):
    status = await feed_status()
    return status if status.get("ok") and status.get("circuit") == "closed" else None


async def test_outage_then_recovery_needs_no_restart(live_store: LiveStore, aiohttp_client,
                                                     kent: Region, clock: MovableClock,
                                                     tmp_path: Path) -> None:
    sim = TestServer(create_simulator_app(kent, seed=9, clock=clock))
    await sim.start_server()
    port = sim.port
    client = await api_client(aiohttp_client, kent, live_store, clock, tmp_path,
                              feeds=[sim_feed(str(sim.make_url("/v1/feed")))])

    async def feed_status():
        return (await sites_json(client))["feeds"].get("sim", {})

    await eventually(lambda: _ok(feed_status), what="first good poll")
    before = await rank_ok(client)
    await sim.close()  # the feed server goes away entirely
    async def open_status():
        status = await feed_status()
        return status if status.get("circuit") == "open" else None

    status = await eventually(open_status, what="open circuit")
    assert status["last_error_reason"] == "connection" and not status["ok"]
    _, ready = await get_json(client, "/readyz")
    assert "feeds" in ready["degraded"] and ready["feeds"]["sim"]["circuit"] == "open"
    during = await rank_ok(client)
    assert during["results"] == before["results"]  # last good data, ages from observed_at

    clock.advance(minutes=5)
    sim = TestServer(create_simulator_app(kent, seed=9, clock=clock), port=port)
    await sim.start_server()
    await eventually(lambda: _ok(feed_status), what="recovery on the same port")

    async def fresh():
        body = await rank_ok(client)
        return all(r["wait_age_minutes"] == 0 for r in body["results"])

    await eventually(fresh, what="fresh waits after recovery")
    _, ready = await get_json(client, "/readyz")
    assert "feeds" not in ready["degraded"]
    await sim.close()
