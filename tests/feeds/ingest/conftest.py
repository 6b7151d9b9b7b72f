"""Helpers for the live-feed tests: a clock tests can move, real servers, polling for state."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from waitless.api.app import create_app
from waitless.domain.region import FeedConfig, Region
from waitless.live.store import LiveStore
from waitless.settings import Settings

CANTERBURY = {"lat": "51.2802", "lon": "1.0789", "condition": "sprain_strain"}
# Short numbers so a test sees many polls, failures and circuit changes in a second or two.
FAST_POLLER = {"retries": 0, "circuit_open_after": 2, "circuit_cooldown_seconds": 0.2,
               "backoff_max_seconds": 0.2, "jitter": 0.1}


class MovableClock:
    """A pinned wall clock and monotonic clock that tests move forward; ``sleep`` moves them
    instead of waiting, so retries, backoff and cool-downs take no real time."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self.monotonic_s = 1000.0

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.monotonic_s

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds=seconds)
        await asyncio.sleep(0)  # still give other tasks their turn

    def advance(self, *, minutes: float = 0.0, seconds: float = 0.0) -> None:
        step = timedelta(minutes=minutes, seconds=seconds)
        self.now += step
        self.monotonic_s += step.total_seconds()


@pytest.fixture
def clock() -> MovableClock:
    # Tuesday 24 Nov 2026 10:30 GMT: every Kent & Medway service is open, and stays open
    # for the two hours the tests move the clock on.
    return MovableClock(datetime(2026, 11, 24, 10, 30, tzinfo=UTC))


def sim_feed(url: str, **options: Any) -> FeedConfig:
    return FeedConfig("sim", "native", url, interval_seconds=0.1, timeout_seconds=0.3,
                      options={**FAST_POLLER, **options})


async def api_client(aiohttp_client, region: Region, store: LiveStore, clock: MovableClock,
                     tmp_path: Path, feeds: list[FeedConfig] | None = None,
                     **settings: Any) -> TestClient:
    # These tests poll the API hard from one client: rate limits are tested elsewhere.
    settings = {"rate_limit": None, **settings}
    app = create_app(Settings(spool_dir=str(tmp_path / "spool"), snapshot_refresh_seconds=0.1,
                              **settings),
                     region=region, live_store=store, run_ingest=feeds is not None,
                     ingest_feeds=feeds, clock=clock)
    return await aiohttp_client(app)


async def get_json(client: TestClient, path: str, **params: str) -> tuple[int, Any]:
    response = await client.get(path, params=params)
    return response.status, await response.json()


async def sites_json(client: TestClient) -> dict[str, Any]:
    status, body = await get_json(client, "/v1/sites")
    assert status == 200
    return body


def service_of(sites_body: dict[str, Any], site_id: str, kind: str) -> dict[str, Any]:
    site = next(s for s in sites_body["sites"] if s["site_id"] == site_id)
    return next(s for s in site["services"] if s["kind"] == kind)
