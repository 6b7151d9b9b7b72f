"""``/v1/sites`` lists every configured site and says which have no reading yet.

A client must be able to tell a site with no reading yet (its feed has not reported, or has
not reported that service) from a site that does not exist: every site of the region file is
listed, and ``reported`` (per site and per service, as ``/readyz`` says it of a feed) is
``false`` where the live store holds no reading. Real Redis holds the one reading.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path

import jsonschema
import pytest

from waitless.api.app import create_app
from waitless.domain.observation import Observation
from waitless.domain.region import Region
from waitless.live.redis_store import RedisLiveStore
from waitless.settings import Settings


@pytest.fixture
async def store(redis_store_factory: Callable[[], RedisLiveStore], kent: Region,
                fixed_now: datetime) -> AsyncIterator[RedisLiveStore]:
    """One reading in the store: William Harvey's ED. Its UTC and every other site have none."""
    live = redis_store_factory()
    await live.write(kent.name, [Observation("RVV01", "ed", 95.0,
                                             fixed_now - timedelta(minutes=4), feed="sim")])
    yield live
    await live.close()


async def test_every_configured_site_is_listed_with_reported(
        store: RedisLiveStore, aiohttp_client, kent: Region, fixed_now: datetime,
        tmp_path: Path) -> None:
    app = create_app(Settings(spool_dir=str(tmp_path / "spool")), region=kent,
                     live_store=store, clock=lambda: fixed_now)
    client = await aiohttp_client(app)
    response = await client.get("/v1/sites")
    assert response.status == 200
    body = await response.json()

    assert len(kent.sites) == 17
    assert [s["site_id"] for s in body["sites"]] == [s.id for s in kent.sites]
    reported = {s["site_id"]: s["reported"] for s in body["sites"]}
    assert reported == {s.id: s.id == "RVV01" for s in kent.sites}
    whh = body["sites"][0]
    assert [(x["kind"], x["reported"], x["wait_minutes"], x["feed"])
            for x in whh["services"]] == [("ed", True, 95.0, "sim"), ("utc", False, None, None)]
    maidstone = next(s for s in body["sites"] if s["site_id"] == "RWF03")
    assert {(x["reported"], x["wait_minutes"], x["wait_status"], x["wait_observed_at"],
             x["reported_status"]) for x in maidstone["services"]} == {
        (False, None, "unavailable", None, None)}

    spec = await (await client.get("/openapi.json")).json()
    schema = spec["paths"]["/v1/sites"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]
    jsonschema.validate(body, schema)
    assert "reported" in schema["properties"]["sites"]["items"]["required"]
