"""`waitless dev`: WAITLESS_FEED_URLS reaches its ingestor; a taken port is named, no traceback."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from feeds.simulator import native_document
from waitless import cli as waitless_cli
from waitless.api.app import create_app
from waitless.api.dev_server import dev_feed, example_rank_url
from waitless.domain.region import Region, load_region
from waitless.live.store import MemoryLiveStore
from waitless.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def dev_env(monkeypatch, tmp_path: Path) -> dict[str, str]:
    """An environment for `waitless dev` with embedded stores and a private spool."""
    for name in [n for n in os.environ if n.startswith("WAITLESS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("WAITLESS_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("WAITLESS_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("WAITLESS_RATE_LIMIT", "off")  # the tests poll /v1/sites in loops
    return dict(os.environ)


def test_dev_feed_applies_waitless_feed_urls(kent: Region):
    own, started = dev_feed(kent, [], simulator_port=8091, poll_seconds=5)
    assert (own.name, own.url, own.interval_seconds, started) == (
        "simulator", "http://127.0.0.1:8091/v1/feed", 5, True)
    other, started = dev_feed(kent, [("simulator", "http://sim.example:9000/v1/feed")],
                              simulator_port=8091, poll_seconds=5)
    assert (other.url, other.format, started) == ("http://sim.example:9000/v1/feed", "native",
                                                 False)
    with pytest.raises(ValueError, match="names unknown feed"):
        dev_feed(kent, [("nope", "http://x/")], simulator_port=8091, poll_seconds=5)


@pytest.mark.parametrize("region_file", [
    "kent-medway", str(Path(__file__).parents[1] / "api" / "regions" / "border-north.toml")])
async def test_the_banner_link_ranks_for_the_region_served(aiohttp_client, tmp_path: Path,
                                                           region_file: str) -> None:
    # The link was Canterbury's for every region: another region answered it 422 (too far).
    region = load_region(region_file)
    url = example_rank_url(region, "http://127.0.0.1:8080")
    first = region.sites[0]
    assert url == f"http://127.0.0.1:8080/v1/rank?lat={first.lat:.4f}&lon={first.lon:.4f}"
    app = create_app(Settings(spool_dir=str(tmp_path / "spool")), region=region,
                     live_store=MemoryLiveStore())
    client = await aiohttp_client(app)
    response = await client.get(url.removeprefix("http://127.0.0.1:8080"))
    assert response.status == 200, await response.text()
    body = await response.json()
    assert {r["site_id"] for r in body["results"]} | {e["site_id"] for e in body["excluded"]} \
        == {s.id for s in region.sites}


@pytest.mark.parametrize("busy", ["simulator", "api"])
def test_a_taken_port_is_named_with_the_option_to_change_it(dev_env, capsys, busy):
    api_port, sim_port = free_port(), free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", sim_port if busy == "simulator" else api_port))
        taken.listen()
        code = waitless_cli.main(["dev", "--port", str(api_port),
                                  "--simulator-port", str(sim_port)])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    if busy == "simulator":
        assert err.startswith(f"waitless: cannot listen on 127.0.0.1:{sim_port} for the feed "
                              "simulator (")
        assert "--simulator-port" in err and 'make run ARGS="--simulator-port' in err
    else:
        assert err.startswith(f"waitless: cannot listen on 127.0.0.1:{api_port} for the API (")
        assert "--port or WAITLESS_PORT" in err
        assert not listening(sim_port)  # the simulator it had started is closed again


async def test_dev_polls_the_feed_named_in_waitless_feed_urls(dev_env, kent: Region):
    hits: list[datetime] = []

    async def feed(request: web.Request) -> web.Response:
        hits.append(datetime.now(UTC))
        body = orjson.dumps(native_document(kent, seed=3, now=datetime.now(UTC)))
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/v1/feed", feed)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    api_port, sim_port = free_port(), free_port()
    feed_url = str(server.make_url("/v1/feed"))
    env = {**dev_env, "WAITLESS_FEED_URLS": f"simulator={feed_url}"}
    waitless = Path(sys.executable).with_name("waitless")
    proc = await asyncio.create_subprocess_exec(
        str(waitless), "dev", "--port", str(api_port), "--simulator-port", str(sim_port),
        "--poll-seconds", "0.5", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        banner = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
        assert banner.startswith(b"WaitLess dev:")
        lines = [await asyncio.wait_for(proc.stdout.readline(), timeout=5) for _ in range(4)]
        assert f"feed     {feed_url} (WAITLESS_FEED_URLS)".encode() in lines[3]

        async def simulator_status() -> dict | None:
            async with aiohttp.ClientSession() as session, session.get(
                    f"http://127.0.0.1:{api_port}/v1/sites") as response:
                assert response.status == 200, await response.text()
                status = (await response.json())["feeds"].get("simulator", {})
            return status if status.get("ok") and status.get("accepted") else None

        deadline = asyncio.get_running_loop().time() + 30
        status = None
        while status is None and asyncio.get_running_loop().time() < deadline:
            status = await simulator_status()
            if status is None:
                await asyncio.sleep(0.1)
        assert status is not None, "dev never accepted figures from the WAITLESS_FEED_URLS feed"
        assert hits and status["accepted"] == len(native_document(kent, seed=3,
                                                                  now=datetime.now(UTC))["sites"])
        assert not listening(sim_port)  # the built-in simulator was not started
    finally:
        proc.terminate()
        await proc.wait()
        await server.close()


async def test_sigterm_stops_dev_cleanly_and_keeps_its_events(dev_env, tmp_path: Path):
    # SIGTERM (docker stop, a terminal closed, an IDE's stop button) killed `waitless dev` on
    # the spot: status -15, and the events it had queued were never written.
    from waitless.domain.event_fields import EVENT_ID
    from waitless.events.spool import Spool

    api_port, sim_port = free_port(), free_port()
    env = {**dev_env, "WAITLESS_EVENT_FLUSH_SECONDS": "3600"}  # queued until the stop
    waitless = Path(sys.executable).with_name("waitless")
    proc = await asyncio.create_subprocess_exec(
        str(waitless), "dev", "--port", str(api_port), "--simulator-port", str(sim_port),
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        banner = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
        assert banner.startswith(b"WaitLess dev:")
        rank_url = (await proc.stdout.readline()).decode().split()[-1]
        async with aiohttp.ClientSession() as session:
            ids = []
            for _ in range(3):
                async with session.get(rank_url) as response:
                    assert response.status == 200
                    ids.append((await response.json())["event_id"])
        spool = Spool(tmp_path / "spool", max_bytes=10**6)
        assert spool.event_count() == 0  # queued in the process, not written yet
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), timeout=30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    stderr = (await proc.stderr.read()).decode()
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert sorted(row[EVENT_ID] for segment in spool.segments() for row in spool.read(segment)) \
        == sorted(ids)
    assert not listening(api_port) and not listening(sim_port)
