"""The simulator's fault modes: specs, the CLI flag, the admin endpoint and what is served."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer

from feeds.simulator import FAULT_MODES, create_simulator_app, native_document, parse_fault
from tests.feeds.ingest.conftest import MovableClock
from waitless.cli import build_parser
from waitless.domain.region import Region


def entries(doc: dict) -> dict[tuple[str, str], dict]:
    return {(e["site_id"], e["service"]): e for e in doc["sites"]}


def test_fault_specs_name_their_problems(kent: Region, clock: MovableClock) -> None:
    fault = parse_fault("implausible:RVVKC/utc", kent, set_at=clock())
    assert (fault.mode, fault.site_id, fault.service, fault.spec()) == (
        "implausible", "RVVKC", "utc", "implausible:RVVKC/utc")
    for spec, message in [("melt", "unknown fault 'melt'"),
                          ("5xx:RVV01", "whole feed"),
                          ("zero:NOPE", "not a site"),
                          ("zero:RVVKC/ed", "no 'ed' service")]:
        with pytest.raises(ValueError, match=message):
            parse_fault(spec, kent, set_at=clock())


def test_value_faults_change_only_their_target(kent: Region, clock: MovableClock) -> None:
    set_at = clock()
    faults = [parse_fault(s, kent, set_at=set_at) for s in
              ("implausible:RVVKC/utc", "negative:RVV02", "zero:RVV01/ed", "frozen:RVV09")]
    later = set_at + timedelta(minutes=40)
    clean = entries(native_document(kent, seed=3, now=later))
    faulty = entries(native_document(kent, seed=3, now=later, faults=faults))
    assert faulty[("RVVKC", "utc")]["wait_minutes"] == 4320
    assert faulty[("RVV02", "utc")]["wait_minutes"] == -15
    assert faulty[("RVV01", "ed")]["wait_minutes"] == 0
    assert faulty[("RVV01", "utc")] == clean[("RVV01", "utc")]
    frozen = entries(native_document(kent, seed=3, now=set_at))
    for kind in ("ed", "utc"):
        assert faulty[("RVV09", kind)]["observed_at"] == set_at.isoformat()
        assert faulty[("RVV09", kind)]["wait_minutes"] == frozen[("RVV09", kind)]["wait_minutes"]
    changed = {k for k in clean if clean[k] != faulty[k]}
    assert changed == {("RVVKC", "utc"), ("RVV02", "utc"), ("RVV01", "ed"), ("RVV09", "ed"),
                       ("RVV09", "utc")}


def test_cli_takes_repeatable_faults() -> None:
    args = build_parser().parse_args(["feeds", "simulate", "--fault", "5xx", "--fault",
                                      "implausible:RVVKC/utc", "--slow-seconds", "2"])
    assert args.fault == ["5xx", "implausible:RVVKC/utc"] and args.slow_seconds == 2
    assert build_parser().parse_args(["feeds", "simulate"]).fault == []


async def test_admin_endpoint_switches_faults_and_etag_gives_304(kent: Region,
                                                                 clock: MovableClock) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        create_simulator_app(kent, faults=["bogus"])
    sim = TestServer(create_simulator_app(kent, seed=1, clock=clock, faults=["html"]))
    await sim.start_server()
    async with aiohttp.ClientSession() as session:
        async with session.get(sim.make_url("/v1/feed")) as r:
            assert r.status == 200 and r.content_type == "text/html"
        async with session.get(sim.make_url("/faults")) as r:
            answer = await r.json()
            assert answer["faults"] == ["html"] and set(answer["modes"]) == set(FAULT_MODES)
        async with session.post(sim.make_url("/faults"), json={"faults": ["zero:NOPE"]}) as r:
            assert r.status == 400 and "not a site" in (await r.json())["error"]
        async with session.post(sim.make_url("/faults"), data=b"[") as r:
            assert r.status == 400
        async with session.delete(sim.make_url("/faults")) as r:
            assert (await r.json())["faults"] == []
        async with session.get(sim.make_url("/v1/feed")) as r:
            etag = r.headers["ETag"]
            doc = orjson.loads(await r.read())
        assert len(doc["sites"]) == sum(len(s.services) for s in kent.sites)
        async with session.get(sim.make_url("/v1/feed"), headers={"If-None-Match": etag}) as r:
            assert r.status == 304
        async with session.post(sim.make_url("/faults"),
                                json={"faults": ["truncated", "5xx"]}) as r:
            assert (await r.json())["faults"] == ["truncated", "5xx"]
        async with session.get(sim.make_url("/v1/feed"), headers={"If-None-Match": etag}) as r:
            assert r.status == 500
        await session.post(sim.make_url("/faults"), json={"faults": ["truncated"]})
        async with session.get(sim.make_url("/v1/feed")) as r:
            body = await r.read()
            assert r.status == 200 and len(body) == r.content_length
            assert not body.rstrip().endswith(b"}")
    await sim.close()
