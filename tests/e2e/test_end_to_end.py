"""Simulator -> ingestor -> live store -> API -> event log, with real servers."""

import asyncio
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestServer

from feeds.simulator import create_simulator_app
from tests.conftest import REDIS_URL, eventually, free_port, moving_clock
from waitless.api.app import create_app
from waitless.domain.region import FeedConfig, Region
from waitless.settings import Settings

CANTERBURY = {"lat": "51.2802", "lon": "1.0789", "condition": "sprain_strain"}


async def wait_for_live(client, minimum: int = 1, timeout_s: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = await client.get("/v1/rank", params=CANTERBURY)
        assert response.status == 200, await response.text()
        body = await response.json()
        if sum(r["wait_status"] == "live" for r in body["results"]) >= minimum:
            return body
        await asyncio.sleep(0.1)
    pytest.fail("no live waits reached the ranking in time")


@pytest.mark.parametrize("store_kind", ["memory", "redis"])
async def test_simulated_waits_flow_to_rankings_and_events(
        aiohttp_client, kent: Region, tmp_path: Path, pg_dsn: str, redis_prefix: str,
        store_kind: str, fixed_now: datetime) -> None:
    clock = moving_clock(fixed_now)
    simulator = TestServer(create_simulator_app(kent, seed=11, clock=clock))
    await simulator.start_server()
    feeds = [
        FeedConfig("sim", "native", str(simulator.make_url("/v1/feed")), interval_seconds=0.2,
                   timeout_seconds=2),
        # A second feed that never answers must not hold the first one back.
        FeedConfig("dead", "native", f"http://127.0.0.1:{free_port()}/feed",
                   interval_seconds=0.2, timeout_seconds=1),
    ]
    settings = Settings(spool_dir=str(tmp_path / "spool"), database_url=pg_dsn,
                        redis_url=REDIS_URL if store_kind == "redis" else None,
                        redis_prefix=f"{redis_prefix}:e2e-{store_kind}",
                        event_flush_seconds=0.1, snapshot_refresh_seconds=0.5,
                        # These loops poll faster than the per-client limit allows on a slow
                        # machine (the same 429 as the propagation check's CI failure).
                        rate_limit=None)
    app = create_app(settings, region=kent, run_ingest=True, ingest_feeds=feeds, clock=clock)
    client = await aiohttp_client(app)
    body = await wait_for_live(client, minimum=10)
    totals = [r["total_minutes"] for r in body["results"]]
    assert totals == sorted(totals)
    for _ in range(50):  # feed health lands with the next snapshot refresh
        sites = await (await client.get("/v1/sites")).json()
        if {"dead", "sim"} <= set(sites["feeds"]):
            break
        await asyncio.sleep(0.1)
    assert sites["feeds"]["dead"]["ok"] is False
    assert sites["feeds"]["dead"]["last_error"]
    assert sites["feeds"]["sim"]["ok"] is True

    async def logged_rows() -> list:  # written by the event log's next flush
        conn = await asyncpg.connect(pg_dsn)
        try:
            return await conn.fetch(
                "SELECT * FROM ranking_events WHERE condition = 'sprain_strain' "
                "AND recommended_site = $1", body["results"][0]["site_id"])
        finally:
            await conn.close()

    rows = await eventually(logged_rows, what="the answered ranking in the event log")
    assert rows[-1]["origin_lat_coarse"] != float(CANTERBURY["lat"])
    await client.close()
    await simulator.close()


def test_readme_run_command_serves_canterbury_within_60_seconds(tmp_path: Path) -> None:
    """`waitless dev` as a new user runs it: no configuration, live simulator waits."""
    port, sim_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAITLESS_")}
    env["WAITLESS_SPOOL_DIR"] = str(tmp_path / "spool")
    process = subprocess.Popen(
        [sys.executable, "-m", "waitless", "dev", "--port", str(port),
         "--simulator-port", str(sim_port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    started = time.monotonic()
    try:
        body = asyncio.run(_poll_rank(port, deadline_s=60))
        elapsed = time.monotonic() - started
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0]
    assert body is not None, f"no ranking within 60 s; output:\n{output}"
    assert elapsed < 60
    assert body["results"] and all(r["wait_status"] == "live" for r in body["results"])
    assert "ranking" in output and "/v1/rank" in output


async def _poll_rank(port: int, *, deadline_s: float) -> dict | None:
    deadline = time.monotonic() + deadline_s
    url = f"http://127.0.0.1:{port}/v1/rank"
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url, params={"lat": "51.2802", "lon": "1.0789"}) as r:
                    body = await r.json()
                    if r.status == 200 and body["results"] and all(
                            x["wait_status"] == "live" for x in body["results"]):
                        return body
            except (aiohttp.ClientError, ValueError):
                pass
            await asyncio.sleep(0.25)
    return None
