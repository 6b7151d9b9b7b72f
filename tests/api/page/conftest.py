"""Fixtures for the patient page: an app on a pinned clock with a week of simulator history."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from feeds.adapters.native import parse
from feeds.ingest import with_service_kinds
from feeds.simulator import native_document
from waitless.api.app import create_app
from waitless.domain.region import Region
from waitless.live.store import MemoryLiveStore
from waitless.settings import Settings

CANTERBURY = (51.2802, 1.0789)
HISTORY_HOURS = 30
HISTORY_STEP_MINUTES = 5


async def seeded_store(region: Region, now: datetime, *, seed: int = 5) -> MemoryLiveStore:
    """A store holding what the poller would have written: simulator readings up to ``now``."""
    store = MemoryLiveStore()
    steps = HISTORY_HOURS * 60 // HISTORY_STEP_MINUTES
    for i in range(steps, -1, -1):
        at = now - timedelta(minutes=2 + i * HISTORY_STEP_MINUTES)
        document = native_document(region, seed=seed, now=at)
        accepted = with_service_kinds(region, parse(_dumps(document), feed_name="sim"))
        await store.write(region.name, accepted)
    return store


def _dumps(document: dict) -> bytes:
    import orjson
    return orjson.dumps(document)


def make_app(region: Region, store: MemoryLiveStore, now: datetime, tmp_path: Path):
    return create_app(Settings(spool_dir=str(tmp_path / "spool")), region=region,
                      live_store=store, clock=lambda: now)


@pytest.fixture
async def page_client(aiohttp_client, kent: Region, fixed_now: datetime, tmp_path: Path):
    store = await seeded_store(kent, fixed_now)
    return await aiohttp_client(make_app(kent, store, fixed_now, tmp_path))
