"""Statistics of every served region: ``region=`` on /v1/stats/* (default: the primary).

Two made-up regions (tests/api/regions/border-*.toml), each given a ``[stats]`` table (conftest)
with one real provider, served from one process on the dashboard's own PostgreSQL database;
events are logged in both, so each region's figures must be its own and nothing else.
"""

from __future__ import annotations

import asyncpg
import pytest

from tests.api.commissioners.conftest import MONTHLY_FILES, auth, log_events_in_both, nhse_path
from waitless.events.migrations import migrate
from waitless.stats.england import comparison_statistics
from waitless.stats.nhse import import_files

DAY = {"from": "2026-11-24", "to": "2026-11-24"}
SHIFT = {"baseline": "2025-04..2025-06", "period": "2025-07..2025-09"}


async def test_each_region_s_event_statistics_count_its_own_events_only(
        aiohttp_client, make_regions_app, regions, db) -> None:
    await log_events_in_both(db)
    client = await aiohttp_client(make_regions_app(db, regions))
    bodies = {}
    for params in ({}, {"region": "border-north"}, {"region": "border-south"}):
        response = await client.get("/v1/stats/events", params={**DAY, **params},
                                    headers=auth())
        assert response.status == 200, await response.text()
        bodies[params.get("region", "default")] = await response.json()
    north, south = bodies["border-north"], bodies["border-south"]
    assert bodies["default"] == north  # the primary, as before
    assert (north["region"], north["total"]["rankings"],
            north["total"]["minor_instead_of_ed"]) == ("border-north", 3, 3)
    assert (south["region"], south["total"]["rankings"],
            south["total"]["minor_instead_of_ed"]) == ("border-south", 5, 0)
    by_site = await client.get("/v1/stats/events",
                               params={**DAY, "group": "site", "region": "border-south"},
                               headers=auth())
    rows = {r["bucket"]: r["rankings"] for r in (await by_site.json())["rows"]}
    assert rows == {"TSB01": 5, "TSB02": 0}  # the region's own sites, no neighbour's


@pytest.mark.parametrize("name", ["nowhere", "", "Border-North", "border-north "])
async def test_an_unknown_region_is_a_400_naming_the_field_and_the_regions_served(
        aiohttp_client, make_regions_app, regions, db, name) -> None:
    client = await aiohttp_client(make_regions_app(db, regions))
    for path, params in (("/v1/stats/events", DAY), ("/v1/stats/shift", SHIFT)):
        response = await client.get(path, params={**params, "region": name}, headers=auth())
        assert response.status == 400
        body = await response.json()
        assert body["error"] == "bad_request" and body["field"] == "region"
        assert "(border-north, border-south)" in body["message"]


async def test_one_region_served_takes_its_own_name_and_refuses_others(
        aiohttp_client, make_app, db) -> None:
    await log_events_in_both(db)
    client = await aiohttp_client(await make_app(db))
    default = await client.get("/v1/stats/events", params=DAY, headers=auth())
    named = await client.get("/v1/stats/events", params={**DAY, "region": "kent-medway"},
                             headers=auth())
    assert await named.read() == await default.read()
    other = await client.get("/v1/stats/events", params={**DAY, "region": "border-north"},
                             headers=auth())
    assert other.status == 400
    assert (await other.json())["message"] == (
        "region 'border-north' is not a region served here (kent-medway)")


async def test_each_region_s_shift_uses_its_own_stats_table(
        aiohttp_client, make_regions_app, regions, db) -> None:
    conn = await asyncpg.connect(db)
    try:
        await migrate(conn)
        await import_files(conn, [nhse_path(name) for name in MONTHLY_FILES])
        expected = {r.name: await comparison_statistics(conn, r.stats, None, SHIFT["baseline"],
                                                        SHIFT["period"]) for r in regions}
    finally:
        await conn.close()
    client = await aiohttp_client(make_regions_app(db, regions))
    got = {}
    for params in ({}, {"region": "border-north"}, {"region": "border-south"}):
        response = await client.get("/v1/stats/shift", params={**SHIFT, **params},
                                    headers=auth())
        assert response.status == 200, await response.text()
        got[params.get("region", "default")] = await response.json()
    assert got["default"] == got["border-north"] == expected["border-north"]
    assert got["border-south"] == expected["border-south"]
    assert got["border-north"]["orgs"] == ["RVV"] and got["border-south"]["orgs"] == ["RPA"]
    # Each region's "England" is every provider outside its own table.
    north_share = got["border-north"]["baseline"]["other_share"]
    assert got["border-south"]["baseline"]["other_share"] != north_share


async def test_choices_are_recorded_with_the_region_that_ranked_them(
        aiohttp_client, make_regions_app, regions, db) -> None:
    """Before, a choice of a site outside the primary was refused (400 "not a site of
    border-north"), so the second region's choices and follow rate stayed at 0."""
    await log_events_in_both(db)
    client = await aiohttp_client(make_regions_app(db, regions))

    async def choose(**body: str) -> tuple[int, dict]:
        response = await client.post("/v1/choices", json=body)
        return response.status, await response.json()

    assert (await choose(site_id="TSB02"))[0] == 201  # South's own site: South's
    # North ranks South's border site TSB01: the region the answer named decides.
    assert (await choose(site_id="TSB01", region="border-north"))[0] == 201
    assert (await choose(site_id="TSB01", region="border-south"))[0] == 201
    status, body = await choose(site_id="TSB02", region="border-north")
    assert (status, body["message"]) == (400, "site_id 'TSB02' is not a site of border-north")
    status, body = await choose(site_id="TNB01", region="nowhere")
    assert (status, body["field"]) == (400, "region")
    assert "(border-north, border-south)" in body["message"]
    conn = await asyncpg.connect(db)
    try:
        rows = await conn.fetch("SELECT region, site_id FROM patient_choices ORDER BY occurred_at")
    finally:
        await conn.close()
    assert sorted((r["region"], r["site_id"]) for r in rows) == [
        ("border-north", "TSB01"), ("border-south", "TSB01"), ("border-south", "TSB02")]
    south = await client.get("/v1/stats/events", params={**DAY, "region": "border-south"},
                             headers=auth())
    assert (await south.json())["total"]["choices"] == 2
