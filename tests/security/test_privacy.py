"""Patient coordinates and client addresses never reach the logs or the database."""

from __future__ import annotations

import asyncio
import logging
import math
import os
import subprocess
import sys
import time
import urllib.request

import asyncpg
import pytest

from tests.conftest import free_port
from waitless.api import keys
from waitless.ranking.privacy import GRID_DEGREES, coarse_cell

# Distinctive digits: any trace of them in a log line or a row would be a leak.
LAT, LON = 51.283917, 1.079463
FORWARDED = "198.51.100.77"


@pytest.fixture
def caplog_debug(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def _leaks(text: str) -> list[str]:
    needles = ["51.283917", "1.079463", "51.28391", "1.07946", "51.2839", "1.0794", FORWARDED]
    return [n for n in needles if n in text]


async def _exercise(client) -> str:
    headers = {"X-Forwarded-For": FORWARDED, "User-Agent": "privacy-test/1.0"}
    params = {"lat": f"{LAT}", "lon": f"{LON}", "condition": "sprain_strain", "age": "34"}
    response = await client.get("/v1/rank", params=params, headers=headers)
    assert response.status == 200
    body = await response.json()
    page = await client.get("/", params=params, headers=headers)
    assert page.status == 200
    bad = await client.get("/v1/rank", params={"lat": f"{LAT}", "lon": "999"}, headers=headers)
    assert bad.status == 400
    return body["event_id"]


async def test_no_coordinates_or_addresses_in_logs(make_client, caplog_debug) -> None:
    client = await make_client(trusted_proxies=("127.0.0.1",))
    await _exercise(client)
    await client.app[keys.EVENT_LOG].stop()
    text = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog_debug.records)
    assert caplog_debug.records, "DEBUG logging was captured"
    assert _leaks(text) == []
    assert "127.0.0.1" not in text


async def test_database_rows_hold_only_the_coarse_cell(make_client, pg_dsn: str) -> None:
    client = await make_client(database_url=pg_dsn, trusted_proxies=("127.0.0.1",))
    conn = await asyncpg.connect(pg_dsn)
    # The session's database is shared: count only what this test's requests wrote.
    await conn.execute("DELETE FROM ranking_events")
    event_id = await _exercise(client)
    try:
        for _ in range(100):
            rows = await conn.fetch("SELECT * FROM ranking_events")
            if len(rows) >= 2:
                break
            await asyncio.sleep(0.05)
        columns = [r["column_name"] for r in await conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public'")]
    finally:
        await conn.close()
    assert len(rows) == 2  # the API answer and the page answer; the 400 is not an event
    assert event_id in {str(r["event_id"]) for r in rows}
    cell, centre_lat, centre_lon = coarse_cell(LAT, LON)
    for row in rows:
        assert row["origin_cell"] == cell
        assert (row["origin_lat_coarse"], row["origin_lon_coarse"]) == (centre_lat, centre_lon)
        assert row["age_band"] == "16-64"
        assert _leaks(repr(dict(row))) == []
        assert "127.0.0.1" not in repr(dict(row))
    assert not {c for c in columns if c in ("ip", "ip_address", "client", "user_agent",
                                            "lat", "lon", "origin_lat", "origin_lon", "age")}


def test_grid_cell_is_what_the_privacy_notice_says() -> None:
    cell, lat, lon = coarse_cell(LAT, LON)
    assert cell == f"{GRID_DEGREES}:{math.floor(LAT / GRID_DEGREES)}:{math.floor(LON / 0.02)}"
    assert (lat, lon) == (51.29, 1.07)
    # Every point of the cell maps to the same stored values.
    assert coarse_cell(51.2801, 1.0601) == coarse_cell(51.2999, 1.0799)
    assert coarse_cell(51.2799, 1.0601) != coarse_cell(51.2801, 1.0601)


def test_waitless_dev_at_debug_prints_no_coordinates_or_addresses(tmp_path) -> None:
    port, sim_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAITLESS_")}
    env.update(WAITLESS_SPOOL_DIR=str(tmp_path / "spool"), WAITLESS_TRUSTED_PROXIES="127.0.0.1")
    log = tmp_path / "dev.log"
    with log.open("w") as out:
        service = subprocess.Popen(
            [sys.executable, "-m", "waitless", "--log-level", "DEBUG", "dev", "--port",
             str(port), "--simulator-port", str(sim_port)], env=env, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/readyz", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("waitless dev did not become ready")
                time.sleep(0.2)
        for path in (f"/v1/rank?lat={LAT}&lon={LON}", f"/?lat={LAT}&lon={LON}",
                     f"/v1/rank?lat={LAT}&lon=999"):
            request = urllib.request.Request(base + path,
                                             headers={"X-Forwarded-For": FORWARDED})
            try:
                urllib.request.urlopen(request, timeout=10).read()
            except urllib.error.HTTPError as exc:
                assert exc.code == 400
    finally:
        service.terminate()
        service.wait(timeout=20)
    text = log.read_text()
    assert "DEBUG" in text  # the run really logged at DEBUG
    assert _leaks(text) == []
