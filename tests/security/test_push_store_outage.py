"""A push refused while the live store is down says when to try again.

Every other answer for the live store being down (rankings, the dashboard) is a 503 with
``Retry-After: 30`` (:data:`waitless.api.errors.STORE_RETRY_AFTER_SECONDS`). The push endpoint
built its own 503 without it, so a trust's pushing client had nothing to pace its retries by.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from tests.feeds.ingest.conftest import MovableClock, api_client
from tests.feeds.ingest.test_push import PUSH_FEEDS, TOKENS, bc_body
from waitless.domain.observation import Observation
from waitless.domain.region import load_region, resolve_region_path
from waitless.live.store import MemoryLiveStore, StoreError


class _RefusingStore(MemoryLiveStore):
    """The live store as an outage leaves it: every write fails."""

    async def write(self, region: str, observations: Sequence[Observation]) -> int:
        msg = "Error 111 connecting to 127.0.0.1:6379. Connection refused."
        raise StoreError(msg)


async def test_a_push_in_a_live_store_outage_has_retry_after(aiohttp_client, tmp_path: Path):
    bundled = resolve_region_path("kent-medway")
    path = tmp_path / "kent-push.toml"
    path.write_text(bundled.read_text() + PUSH_FEEDS)
    shutil.copy(bundled.with_name("kent-medway-places.csv"), tmp_path)
    client = await api_client(aiohttp_client, load_region(str(path)), _RefusingStore(),
                              MovableClock(datetime(2026, 11, 24, 10, 30, tzinfo=UTC)),
                              tmp_path, push_tokens=TOKENS)
    response = await client.post("/v1/feeds/kent-push/observations", data=bc_body(kch=25),
                                 headers={"Content-Type": "application/json"})
    assert response.status == 503
    body = await response.json()
    assert body["error"] == "live_store_unavailable"
    assert "127.0.0.1" not in body["message"]
    # Before: no Retry-After (the rankings' and the dashboard's outage answers had 30).
    assert response.headers.get("Retry-After") == "30"
