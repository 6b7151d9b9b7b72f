"""An app on the in-process store with live simulator waits, built with given settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest
from aiohttp.test_utils import TestClient

from feeds.adapters.native import parse
from feeds.ingest import with_service_kinds
from feeds.simulator import native_document
from waitless.api.app import create_app
from waitless.domain.region import Region
from waitless.live.store import LiveStore, MemoryLiveStore
from waitless.settings import Settings

CANTERBURY = {"lat": "51.2802", "lon": "1.0789"}

ClientFactory = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def make_client(aiohttp_client, kent: Region, fixed_now: datetime,
                tmp_path: Path) -> ClientFactory:
    """``await make_client(**settings)``: a test client for an app with those settings, on an
    in-process store holding simulator waits (or on ``live_store=`` if given)."""
    async def make(live_store: LiveStore | None = None, **changes: object) -> TestClient:
        store = live_store
        if store is None:
            store = MemoryLiveStore()
            document = native_document(kent, seed=5, now=fixed_now - timedelta(minutes=2))
            accepted = with_service_kinds(kent, parse(orjson.dumps(document), feed_name="sim"))
            await store.write(kent.name, accepted)
        settings = Settings(spool_dir=str(tmp_path / "spool"), **changes)
        app = create_app(settings, region=kent, live_store=store, clock=lambda: fixed_now)
        return await aiohttp_client(app)
    return make
