"""/v1/rank answers from the compiled state with the reference ranking's exact bytes."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest

from feeds.adapters.native import parse
from feeds.ingest import with_service_kinds
from feeds.simulator import native_document
from waitless.api import keys
from waitless.api.answer import travel_for_region
from waitless.api.answer_json import answer_json
from waitless.api.app import create_app
from waitless.api.query import parse_rank_query
from waitless.domain.region import Region
from waitless.live.store import MemoryLiveStore
from waitless.ranking.rank import rank
from waitless.settings import Settings

QUERIES = (
    {"lat": "51.2802", "lon": "1.0789"},
    {"lat": "51.37", "lon": "0.52", "condition": "possible_fracture", "age": "4"},
    {"lat": "51.13", "lon": "1.30", "depart_at": "2026-11-24T19:20:00"},
    {"lat": "51.44", "lon": "0.22", "depart_at": "2026-11-24T21:45:00+00:00", "limit": "3"},
    {"lat": "51.2802", "lon": "1.0789", "condition": "chest_pain"},
)


@pytest.fixture
async def app_client(aiohttp_client, kent: Region, fixed_now: datetime, tmp_path: Path):
    store = MemoryLiveStore()
    document = orjson.dumps(native_document(kent, seed=5, now=fixed_now - timedelta(minutes=2)))
    accepted = with_service_kinds(kent, parse(document, feed_name="sim"))
    await store.write(kent.name, accepted)
    app = create_app(Settings(spool_dir=str(tmp_path / "spool")), region=kent,
                     live_store=store, clock=lambda: fixed_now)
    return app, await aiohttp_client(app)


@pytest.mark.parametrize("query", QUERIES)
async def test_rank_bytes_equal_the_reference(app_client, kent, fixed_now, query) -> None:
    app, client = app_client
    response = await client.get("/v1/rank", params=query)
    assert response.status == 200
    body = await response.read()
    event_id = orjson.loads(body)["event_id"]
    request = parse_rank_query(query, now=fixed_now, tz=kent.timezone)
    model = app[keys.TRAVEL][request.mode]
    answer = rank(kent, app[keys.SNAPSHOT].observations, request,
                  travel_seconds=travel_for_region(model, kent, request.lat, request.lon),
                  travel_source=model.source, now=fixed_now,
                  history=app[keys.PREDICTIONS].history)
    expected = orjson.dumps({**answer_json(answer), "region": kent.name, "event_id": event_id})
    assert body == expected
    assert response.content_type == "application/json"


async def test_a_feed_change_reaches_the_next_answer(app_client, kent, fixed_now) -> None:
    """A reload replaces the snapshot: the compiled state must not keep serving old waits."""
    app, client = app_client
    first = orjson.loads(await (await client.get("/v1/rank", params=QUERIES[0])).read())
    site_id = first["results"][0]["site_id"]
    kind = first["results"][0]["kind"]
    old = app[keys.SNAPSHOT].observations[f"{site_id}/{kind}"]
    changed = old.__class__(**{**old.to_dict(), "observed_at": old.observed_at,
                               "wait_minutes": 123.0})
    app[keys.SNAPSHOT].observations = {**app[keys.SNAPSHOT].observations,
                                       f"{site_id}/{kind}": changed}
    second = orjson.loads(await (await client.get("/v1/rank", params=QUERIES[0])).read())
    row = next(r for r in second["results"] if r["site_id"] == site_id and r["kind"] == kind)
    assert row["wait_minutes"] == 123.0


async def test_rank_reads_an_escaped_depart_at_and_a_repeated_mode(app_client) -> None:
    # The handler splits a plain query itself and leaves one with escapes to aiohttp.
    _, client = app_client
    escaped = await client.get("/v1/rank?lat=51.2802&lon=1.0789&mode=walk&mode=drive"
                               "&depart_at=2026-11-24T11%3A00%3A00%2B00%3A00")
    plain = await client.get("/v1/rank?lat=51.2802&lon=1.0789&mode=walk&mode=drive"
                             "&depart_at=2026-11-24T11:00:00Z")
    first, second = await escaped.json(), await plain.json()
    assert escaped.status == plain.status == 200
    assert first["origin"]["mode"] == second["origin"]["mode"] == "walk"
    assert first["depart_at"] == second["depart_at"] == "2026-11-24T11:00:00+00:00"
    assert [r["site_id"] for r in first["results"]] == [r["site_id"] for r in second["results"]]
