"""Without a token, a push's answer says nothing of which push feed names exist.

A name that is no push feed and a wrong token get one answer, 401, "so the answers do not say
which feeds exist" (waitless/api/push.py). A ``bc_push`` feed reads its token from the body, so
a body without an ``Authorization`` header was read first and, over the region's
``max_body_bytes``, answered 413 "body over 4000 bytes" before any token was looked at: one
unauthenticated request told a real feed name (413) from a made-up one (401), and the region's
limit with it.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from tests.feeds.ingest.conftest import MovableClock, api_client
from tests.feeds.ingest.test_push import PUSH_FEEDS, TOKENS
from waitless.domain.region import load_region, resolve_region_path
from waitless.live.store import MemoryLiveStore


async def test_an_oversized_body_without_a_token_is_401_for_any_name(aiohttp_client,
                                                                      tmp_path: Path):
    bundled = resolve_region_path("kent-medway")
    path = tmp_path / "kent-push.toml"
    path.write_text(bundled.read_text() + PUSH_FEEDS)  # kent-push: bc_push, 4000 bytes
    shutil.copy(bundled.with_name("kent-medway-places.csv"), tmp_path)
    client = await api_client(aiohttp_client, load_region(str(path)), MemoryLiveStore(),
                              MovableClock(datetime(2026, 11, 24, 10, 30, tzinfo=UTC)),
                              tmp_path, push_tokens=TOKENS)
    body = b'{"token": "guess", "waitTimes": []}' + b" " * 5000
    answers = {}
    for feed in ("kent-push", "no-such-feed"):
        response = await client.post(f"/v1/feeds/{feed}/observations", data=body,
                                     headers={"Content-Type": "application/json"})
        answers[feed] = (response.status, await response.json())
    # Before: kent-push (413, too_large, "body over 4000 bytes"), no-such-feed 401.
    assert answers["kent-push"] == answers["no-such-feed"]
    assert answers["kent-push"][0] == 401
    # With its token in the header, the real feed's limit is still said.
    response = await client.post("/v1/feeds/kent-push/observations", data=body,
                                 headers={"Content-Type": "application/json",
                                          "Authorization": "Bearer s3cret"})
    assert response.status == 413
