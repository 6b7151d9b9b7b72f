"""The patient page's periodic refresh is not another patient: no event row, no load counted.

patient.js re-asks the question on screen every ``REFRESH_SECONDS`` with the header
``X-WaitLess-Refresh: 1``; one patient watching the page for ten minutes used to be six
rankings in the commissioners' statistics and six patients on their way in load-aware ranking.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import asyncpg
import pytest

from tests.api.test_follow_rate import _app as load_aware_app
from tests.api.test_follow_rate import _region as region_with
from tests.conftest import temporary_database
from waitless.api.app import create_app
from waitless.api.keys import EVENT_LOG
from waitless.api.page import REFRESH_HEADER
from waitless.domain.region import Region
from waitless.settings import Settings

from .conftest import CANTERBURY, seeded_store

WHERE = {"lat": str(CANTERBURY[0]), "lon": str(CANTERBURY[1]), "condition": "sprain_strain"}
REFRESH = {REFRESH_HEADER: "1"}


@pytest.fixture
def refresh_dsn() -> Iterator[str]:
    yield from temporary_database("refresh")


def _event_id(html: str) -> str | None:
    if 'data-event-id="' not in html:
        return None
    return html.split('data-event-id="', 1)[1].split('"', 1)[0]


def _shown(html: str) -> list[str]:
    return [chunk.split('"', 1)[0] for chunk in html.split('data-site-id="')[1:]]


async def test_a_refresh_is_answered_but_writes_no_event_row(aiohttp_client, refresh_dsn,
                                                             kent: Region, fixed_now: datetime,
                                                             tmp_path: Path) -> None:
    store = await seeded_store(kent, fixed_now)
    app = create_app(Settings(spool_dir=str(tmp_path / "spool"), database_url=refresh_dsn),
                     region=kent, live_store=store, clock=lambda: fixed_now)
    client = await aiohttp_client(app)
    first = await (await client.get("/", params=WHERE)).text()
    refreshes = [await client.get("/", params=WHERE, headers=REFRESH) for _ in range(5)]
    again = await (await client.get("/", params=WHERE)).text()  # the patient asks again
    await app[EVENT_LOG].flush()

    assert [r.status for r in refreshes] == [200] * 5
    refreshed = await refreshes[-1].text()
    assert _shown(refreshed) == _shown(first) and len(_shown(first)) > 3
    assert _event_id(refreshed) is None  # the page keeps the id of the answer it first showed
    conn = await asyncpg.connect(refresh_dsn)
    try:
        stored = [r["event_id"] for r in await conn.fetch(
            "SELECT event_id::text FROM ranking_events ORDER BY occurred_at, event_id")]
    finally:
        await conn.close()
    assert sorted(stored) == sorted([_event_id(first), _event_id(again)])
    assert app[EVENT_LOG].spool.segments() == []
    # Operations still see the work done: every answer is counted in the metrics.
    metrics = await (await client.get("/metrics")).text()
    assert 'waitless_rankings_total{outcome="ranked"} 7.0' in metrics


async def test_a_refresh_does_not_count_a_patient_on_their_way(aiohttp_client,
                                                               tmp_path: Path) -> None:
    # Load-aware ranking, every patient followed, 30 minutes for 5 waiting: 6 minutes each.
    region = region_with("\n[load_aware]\nenabled = true\nfollow_rate = 1.0\n")
    client = await aiohttp_client(await load_aware_app(region, tmp_path, None))
    page = await (await client.get("/", params=WHERE)).text()
    best = page.split('data-best-site="', 1)[1].split('"', 1)[0]
    for _ in range(5):
        assert (await client.get("/", params=WHERE, headers=REFRESH)).status == 200
    api = await (await client.get("/v1/rank", params=WHERE)).json()
    adjustment = next(r["load_adjustment_minutes"] for r in api["results"]
                      if f"{r['site_id']}/{r['kind']}" == best)
    assert adjustment == 6.0  # the one patient the page answered, not six
