"""Every simulator fault at once, across feeds, for minutes (issue 8): no crash, no rejected
value ranked, and recovery without a restart. Length: WAITLESS_FAULT_STORM_SECONDS (120)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from feeds.simulator import FAULT_MODES, create_simulator_app
from tests.conftest import eventually
from tests.feeds.ingest.conftest import CANTERBURY, FAST_POLLER
from waitless.api.app import create_app
from waitless.domain.region import FeedConfig, Region
from waitless.settings import Settings

STORM_SECONDS = float(os.environ.get("WAITLESS_FAULT_STORM_SECONDS", "120"))
ROTATE_SECONDS = 10.0
MAX_WAIT = {"ed": 1440.0, "utc": 720.0, "miu": 720.0}


async def set_faults(session: aiohttp.ClientSession, sim: TestServer, *specs: str) -> None:
    async with session.post(sim.make_url("/faults"), json={"faults": list(specs)}) as r:
        assert r.status == 200, await r.text()


async def test_all_faults_at_once_for_minutes(aiohttp_client, kent: Region, tmp_path: Path,
                                              redis_store_factory) -> None:
    store = redis_store_factory()
    modes = sorted(FAULT_MODES)
    sims = [TestServer(create_simulator_app(kent, seed=10 + i, slow_seconds=1.0,
                                            retry_after_seconds=1))
            for i in range(len(modes) + 1)]  # one feed per fault, and one healthy
    for sim in sims:
        await sim.start_server()
    feeds = [FeedConfig(f"sim{i}", "native", str(sim.make_url("/v1/feed")),
                        interval_seconds=0.5, timeout_seconds=0.5, options=dict(FAST_POLLER))
             for i, sim in enumerate(sims)]
    app = create_app(Settings(spool_dir=str(tmp_path / "spool"), snapshot_refresh_seconds=0.5,
                              rate_limit=None),
                     region=kent, live_store=store, run_ingest=True, ingest_feeds=feeds)
    client = await aiohttp_client(app)
    requests = 0

    async with aiohttp.ClientSession() as session:
        started = time.monotonic()
        rotation = 0
        while time.monotonic() - started < STORM_SECONDS:
            # Each round every feed gets a different fault (the last one stays healthy).
            for index, sim in enumerate(sims[:-1]):
                await set_faults(session, sim, modes[(index + rotation) % len(modes)])
            rotation += 1
            round_end = time.monotonic() + ROTATE_SECONDS
            while time.monotonic() < round_end:
                response = await client.get("/v1/rank", params=CANTERBURY)
                assert response.status == 200
                body = await response.json()
                for result in body["results"]:
                    for field in ("wait_minutes", "predicted_wait_minutes"):
                        value = result[field]
                        assert value is None or 0 <= value <= MAX_WAIT[result["kind"]], result
                    assert result["wait_minutes"] != 4320
                requests += 1
                await asyncio.sleep(0.1)
        for sim in sims:
            await set_faults(session, sim)

    async def all_recovered():
        sites = await (await client.get("/v1/sites")).json()
        statuses = sites["feeds"]
        healthy = [statuses.get(f.name, {}) for f in feeds]
        if all(s.get("ok") and s.get("circuit") == "closed" for s in healthy):
            return statuses
        return None

    statuses = await eventually(all_recovered, timeout_s=30, what="every feed recovered")
    # Every feed went through failures during the storm and came back without a restart.
    assert sum(sum(s.get("errors_by_reason", {}).values()) for s in statuses.values()) > 0
    body = await (await client.get("/v1/rank", params=CANTERBURY)).json()
    assert body["results"] and all(r["wait_status"] == "live" for r in body["results"])
    assert requests > STORM_SECONDS  # the API kept answering throughout
    await client.close()
    for sim in sims:
        await sim.close()
    await store.close()
