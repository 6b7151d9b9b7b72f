"""Two real ``waitless ingest`` processes against a counting feed: one polls, the other stands by.

The feed runs in the test's event loop on 127.0.0.1 and counts requests per path; each process
gets its own path (WAITLESS_FEED_URLS), so the counts say who polled. Each payload carries a
tag in ``patients_waiting`` (100000 + n from process a, 200000 + n from b), so the Redis stream
says whose writes landed and in which order. Nothing sleeps for time to pass: every wait polls
a condition with a deadline (``eventually``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import orjson
import pytest
import redis.asyncio as aioredis
from aiohttp import web

from tests.conftest import REDIS_URL, REPO_ROOT, eventually, free_port

INTERVAL_SECONDS = 1.5
LEASE_SECONDS = 1.0  # take-over within 4/3 lease ≈ 1.33 s, under two intervals (3 s)
REGION = "failover-test"
TAGS = {"a": 100_000, "b": 200_000}

REGION_TOML = f"""
[region]
name = "{REGION}"
timezone = "Europe/London"

[[feeds]]
name = "counting"
format = "native"
url = "http://127.0.0.1:9/unused"
interval_seconds = {INTERVAL_SECONDS}
timeout_seconds = 5
retries = 0

[[sites]]
id = "S1"
name = "Site one"
lat = 51.27
lon = 1.08
[[sites.services]]
kind = "ed"
hours = "24h"

[[sites]]
id = "S2"
name = "Site two"
lat = 51.37
lon = 1.38
[[sites.services]]
kind = "utc"
hours = "24h"
"""


class CountingFeed:
    """Native-format feed that records every request by path and can pause the caller."""

    def __init__(self) -> None:
        self.polls: dict[str, list[float]] = {"a": [], "b": []}
        self.stop_on_next: dict[str, int] = {}  # path -> pid to SIGSTOP before answering
        self.stopped_at: float | None = None
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        who = request.match_info["who"]
        self.polls[who].append(time.monotonic())
        n = len(self.polls[who])
        pid = self.stop_on_next.pop(who, None)
        if pid is not None:
            # Pause the leader mid-poll: it wakes up holding a payload to write.
            os.kill(pid, signal.SIGSTOP)
            self.stopped_at = time.monotonic()
        now = datetime.now(UTC).isoformat()
        sites = [{"site_id": site, "service": service, "wait_minutes": 30 + n % 5,
                  "observed_at": now, "status": "open", "patients_waiting": TAGS[who] + n}
                 for site, service in (("S1", "ed"), ("S2", "utc"))]
        return web.Response(body=orjson.dumps({"generated_at": now, "sites": sites}),
                            content_type="application/json")


async def metric(port: int, name: str, **labels: str) -> float | None:
    """One sample from a process's /metrics (None while it is not answering)."""
    try:
        async with aiohttp.ClientSession() as session, session.get(
                f"http://127.0.0.1:{port}/metrics",
                timeout=aiohttp.ClientTimeout(total=2)) as response:
            text = await response.text()
    except (aiohttp.ClientError, TimeoutError):
        return None
    for line in text.splitlines():
        sample, _, value = line.rpartition(" ")
        sample_name, _, label_text = sample.partition("{")
        if sample_name != name:
            continue
        pairs = (p.split("=", 1) for p in label_text.rstrip("}").split(",") if p)
        if {k: v.strip('"') for k, v in pairs} == labels:
            return float(value)
    return None


@pytest.fixture
async def feed():
    counting = CountingFeed()
    app = web.Application()
    app.router.add_get("/feed/{who}", counting.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    counting.port = port
    yield counting
    await runner.cleanup()


async def test_one_ingestor_polls_and_a_standby_takes_over(feed, tmp_path: Path,
                                                          redis_prefix: str) -> None:
    region_file = tmp_path / "region.toml"
    region_file.write_text(REGION_TOML)
    prefix = f"{redis_prefix}:{uuid.uuid4().hex[:6]}"
    ports = {"a": free_port(), "b": free_port()}
    procs: dict[str, subprocess.Popen] = {}

    def start(who: str) -> None:
        env = {**os.environ, "WAITLESS_REDIS_URL": REDIS_URL, "WAITLESS_REDIS_PREFIX": prefix,
               "WAITLESS_REGION": str(region_file),
               "WAITLESS_FEED_URLS": f"counting=http://127.0.0.1:{feed.port}/feed/{who}",
               "WAITLESS_LEADER_LEASE_SECONDS": str(LEASE_SECONDS),
               "WAITLESS_INGEST_METRICS_PORT": str(ports[who])}
        log = (tmp_path / f"ingest-{who}.log").open("wb")
        procs[who] = subprocess.Popen([sys.executable, "-m", "waitless", "ingest"], env=env,
                                      cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)

    client = aioredis.from_url(REDIS_URL)
    stream = f"{prefix}:obs:{REGION}"

    async def writers_in_stream_order() -> list[str]:
        entries = await client.xrange(stream)
        tags = [orjson.loads(fields[b"o"])["patients_waiting"] for _, fields in entries]
        return ["a" if tag < TAGS["b"] else "b" for tag in tags]

    try:
        # 1. a starts first and leads; b starts and stands by, polling nothing.
        start("a")
        await eventually(lambda: feed.polls["a"], timeout_s=60, what="a's first poll")
        start("b")
        await eventually(_equals(metric, ports["b"], 0.0),
                         timeout_s=60, what="b on standby in /metrics")
        assert await metric(ports["a"], "waitless_ingest_leader", region=REGION) == 1.0
        seen = len(feed.polls["a"])
        await eventually(lambda: len(feed.polls["a"]) >= seen + 3,
                         timeout_s=6 * INTERVAL_SECONDS, what="three more polls by a")
        assert feed.polls["b"] == []
        assert set(await writers_in_stream_order()) == {"a"}

        # 2. a is paused (SIGSTOP) mid-poll, past its lease; b takes over.
        feed.stop_on_next["a"] = procs["a"].pid
        await eventually(lambda: feed.stopped_at is not None,
                         timeout_s=3 * INTERVAL_SECONDS, what="a paused")
        polls_by_a = len(feed.polls["a"])
        await eventually(lambda: feed.polls["b"],
                         timeout_s=10, what="b's first poll after a was paused")
        pause_takeover_seconds = feed.polls["b"][0] - feed.stopped_at
        assert pause_takeover_seconds <= 2 * INTERVAL_SECONDS
        await eventually(lambda: len(feed.polls["b"]) >= 3,
                         timeout_s=6 * INTERVAL_SECONDS, what="b polling")
        procs["a"].send_signal(signal.SIGCONT)
        await eventually(_equals(metric, ports["a"], 0.0),
                         timeout_s=10, what="a standing by after SIGCONT")
        b_polls = len(feed.polls["b"])
        await eventually(lambda: len(feed.polls["b"]) >= b_polls + 2,
                         timeout_s=6 * INTERVAL_SECONDS,
                         what="b polling after a woke")
        assert len(feed.polls["a"]) == polls_by_a  # a polls nothing once it has woken
        order = await writers_in_stream_order()
        first_b = order.index("b")
        assert "a" not in order[first_b:], f"a wrote after b took over: {order}"
        assert {o["patients_waiting"] // 100_000 for o in await _current(client, prefix)} == {2}
        refused = await metric(ports["a"], "waitless_ingest_writes_refused_total",
                               region=REGION, where="redis") or 0.0
        lost = await metric(ports["a"], "waitless_ingest_leadership_changes_total",
                            region=REGION, change="lost")
        assert lost == 1.0

        # 3. b is killed (SIGKILL, no release): a takes over within two intervals.
        b_polls = len(feed.polls["b"])
        a_polls = len(feed.polls["a"])
        killed_at = time.monotonic()
        procs["b"].kill()
        procs["b"].wait(10)
        await eventually(lambda: len(feed.polls["a"]) > a_polls,
                         timeout_s=10, what="a polling after b died")
        kill_takeover_seconds = feed.polls["a"][a_polls] - killed_at
        assert kill_takeover_seconds <= 2 * INTERVAL_SECONDS
        assert len(feed.polls["b"]) == b_polls
        await eventually(_equals(metric, ports["a"], 1.0),
                         timeout_s=10, what="a leading in /metrics")
        # a's poll has been answered, but its write may still be on its way to Redis: wait for
        # the stream to end with a's write (b, killed, can write nothing after it).
        await eventually(_last_writer_is(writers_in_stream_order, "a"),
                         timeout_s=10, what="a's write in the stream")

        # 4. SIGTERM (what Kubernetes sends on a rolling upgrade): a releases the lease at once.
        procs["a"].terminate()
        assert procs["a"].wait(20) == 0
        assert await client.get(f"{prefix}:ingest-lease:{REGION}") is None
        print(f"take-over after SIGSTOP {pause_takeover_seconds:.2f} s, after SIGKILL "
              f"{kill_takeover_seconds:.2f} s (interval {INTERVAL_SECONDS} s, lease "
              f"{LEASE_SECONDS} s); writes refused by the fence after SIGCONT: {refused:g}")
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.kill()
                proc.wait(10)
        await client.aclose()
    logs = {who: (tmp_path / f"ingest-{who}.log").read_text() for who in procs}
    assert "took the lease" in logs["a"] and "lost the lease" in logs["a"]
    assert "released the lease" in logs["a"]
    assert "on standby" in logs["b"] and "took the lease" in logs["b"]


def _last_writer_is(writers, who: str):
    async def check() -> bool:
        order = await writers()
        return bool(order) and order[-1] == who
    return check


def _equals(read, port: int, value: float):
    async def check() -> bool:
        return await read(port, "waitless_ingest_leader", region=REGION) == value
    return check


async def _current(client: aioredis.Redis, prefix: str) -> list[dict]:
    raw = await client.hgetall(f"{prefix}:live:{REGION}")
    return [orjson.loads(v) for v in raw.values()]
