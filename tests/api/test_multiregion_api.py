"""Two regions served from one process (issue #18): an origin goes to the region whose coverage
holds it, an origin near the border is answered with sites of both regions (each with the wait
its own region's feed reported), and an origin outside both gets the out-of-coverage 422.

Real Redis (live store) and PostgreSQL (event log); the regions are two made-up files whose
coverage polygons share the edge at latitude 51.0 (tests/api/regions/).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import orjson
import pytest

from waitless.api import keys
from waitless.api.answer import travel_for_region
from waitless.api.answer_json import answer_json
from waitless.api.app import create_app
from waitless.api.query import parse_rank_query
from waitless.cli import _settings, parse_args
from waitless.domain.errors import ConfigError, RegionError
from waitless.domain.observation import Observation
from waitless.domain.region import load_region
from waitless.live.redis_store import RedisLiveStore
from waitless.ranking.rank import rank
from waitless.settings import Settings, settings_from_env

REGIONS_DIR = Path(__file__).parent / "regions"
NORTH = str(REGIONS_DIR / "border-north.toml")
SOUTH = str(REGIONS_DIR / "border-south.toml")
NEAR_BORDER = {"lat": "51.005", "lon": "0.51"}  # inside North, ~0.6 km from South
DEEP_SOUTH = {"lat": "50.62", "lon": "0.50"}
MANCHESTER = {"lat": "53.48", "lon": "-2.24"}
# Live waits, minutes, as each region's own feed reports them.
NORTH_WAITS = {"TNB01": 40.0, "TNB02": 120.0}
SOUTH_WAITS = {"TSB01": 15.0, "TSB02": 10.0}


def _observations(waits: dict[str, float], kinds: dict[str, str], observed: datetime,
                  feed: str) -> list[Observation]:
    return [Observation(site_id, kinds[site_id], minutes, observed, feed=feed)
            for site_id, minutes in waits.items()]


@pytest.fixture
async def store(redis_store_factory: Callable[[], RedisLiveStore], fixed_now: datetime
                ) -> RedisLiveStore:
    """A Redis live store holding each region's waits under that region's own keys."""
    live = redis_store_factory()
    observed = fixed_now - timedelta(minutes=5)
    kinds = {"TNB01": "utc", "TNB02": "ed", "TSB01": "utc", "TSB02": "utc"}
    await live.write("border-north", _observations(NORTH_WAITS, kinds, observed, "north-feed"))
    await live.write("border-south", _observations(SOUTH_WAITS, kinds, observed, "south-feed"))
    # A stray figure for a South site under North's keys: a border site's wait is read from
    # its home region only, so this one must never be shown.
    await live.write("border-north", [Observation("TSB01", "utc", 999.0, observed, feed="x")])
    yield live
    await live.close()


@pytest.fixture
async def two_regions(aiohttp_client, store: RedisLiveStore, pg_dsn: str, fixed_now: datetime,
                      tmp_path: Path):
    """One app serving both region files, configured as ``WAITLESS_REGIONS`` lists them."""
    settings = settings_from_env({"WAITLESS_REGIONS": f"{NORTH},{SOUTH}"})
    settings = settings.with_overrides(spool_dir=str(tmp_path / "spool"), database_url=pg_dsn,
                                       graph_cache=str(tmp_path / "no-graphs"))
    app = create_app(settings, live_store=store, clock=lambda: fixed_now)
    return app, await aiohttp_client(app)


async def _event_regions(app, dsn: str, event_ids: list[str]) -> dict[str, str]:
    await app[keys.EVENT_LOG].flush()
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT event_id::text, region FROM ranking_events "
                                "WHERE event_id::text = ANY($1::text[])", event_ids)
    finally:
        await conn.close()
    return {row["event_id"]: row["region"] for row in rows}


async def test_a_border_origin_gets_sites_of_both_regions_with_their_own_waits(
        two_regions, pg_dsn: str) -> None:
    app, client = two_regions
    response = await client.get("/v1/rank", params=NEAR_BORDER)
    assert response.status == 200
    body = await response.json()
    assert body["region"] == "border-north"
    results = body["results"]
    by_id = {r["site_id"]: r for r in results}
    # North's own sites and South's border UTC (~3 km away); South's coast UTC is 45 km from
    # North's coverage, beyond its 20 km border, so North does not rank it.
    assert set(by_id) == {"TNB01", "TNB02", "TSB01"}
    assert {site_id: r["wait_minutes"] for site_id, r in by_id.items()} == {
        "TNB01": 40.0, "TNB02": 120.0, "TSB01": 15.0}
    assert all(r["wait_status"] == "live" for r in results)
    totals = [r["total_minutes"] for r in results]
    assert totals == sorted(totals)
    # Both border UTCs are a few minutes away; the one over the line waits 25 minutes less.
    assert [r["site_id"] for r in results] == ["TSB01", "TNB01", "TNB02"]
    assert by_id["TSB01"]["total_minutes"] < by_id["TNB01"]["total_minutes"]
    assert await _event_regions(app, pg_dsn, [body["event_id"]]) == {
        body["event_id"]: "border-north"}


async def test_an_origin_deep_in_the_second_region_is_answered_by_it(
        two_regions, pg_dsn: str) -> None:
    app, client = two_regions
    body = await (await client.get("/v1/rank", params=DEEP_SOUTH)).json()
    assert body["region"] == "border-south"
    order = [r["site_id"] for r in body["results"]]
    # South's sites and North's border UTC; North's town hospital is 87 km from South's edge.
    assert sorted(order) == ["TNB01", "TSB01", "TSB02"]
    assert order[0] == "TSB02"  # 2 km away, 10-minute wait
    waits = {r["site_id"]: r["wait_minutes"] for r in body["results"]}
    assert waits == {"TSB02": 10.0, "TSB01": 15.0, "TNB01": 40.0}
    assert await _event_regions(app, pg_dsn, [body["event_id"]]) == {
        body["event_id"]: "border-south"}


async def test_the_fast_path_answers_a_border_origin_like_the_reference(
        two_regions, fixed_now: datetime) -> None:
    app, client = two_regions
    response = await client.get("/v1/rank", params=NEAR_BORDER)
    body = await response.read()
    served = app[keys.SERVED]["border-north"]
    request = parse_rank_query(NEAR_BORDER, now=fixed_now, tz=served.region.timezone)
    model = served.travel[request.mode]
    answer = rank(served.region, served.observations(), request,
                  travel_seconds=travel_for_region(model, served.region, request.lat,
                                                   request.lon),
                  travel_source=model.source, now=fixed_now, history=served.history())
    expected = {**answer_json(answer), "region": "border-north",
                "event_id": orjson.loads(body)["event_id"]}
    assert body == orjson.dumps(expected)
    # Answered by North's compiled state over its extended sites, not by the reference.
    assert (served.fast_ranker.compiles, served.fast_ranker.fallbacks) == (1, 0)


async def test_an_origin_outside_both_regions_is_out_of_coverage(two_regions) -> None:
    _, client = two_regions
    response = await client.get("/v1/rank", params=MANCHESTER)
    assert response.status == 422
    body = await response.json()
    assert body["error"] == "outside_coverage"
    assert "border-north, border-south" in body["message"]


async def test_sites_lists_every_region_with_its_own_waits(two_regions) -> None:
    _, client = two_regions
    body = await (await client.get("/v1/sites")).json()
    listed = {s["site_id"]: (s["region"], s["services"][0]["wait_minutes"])
              for s in body["sites"]}
    assert listed == {"TNB01": ("border-north", 40.0), "TNB02": ("border-north", 120.0),
                      "TSB01": ("border-south", 15.0), "TSB02": ("border-south", 10.0)}
    assert body["region"] == "border-north"  # the primary
    assert set(body["regions"]) == {"border-north", "border-south"}


async def test_ready_when_every_region_has_its_live_state(two_regions) -> None:
    _, client = two_regions
    response = await client.get("/readyz")
    assert response.status == 200
    body = await response.json()
    regions = body["regions"]
    assert {name: (r["loaded"], r["entries"]) for name, r in regions.items()} == {
        "border-north": (True, 3), "border-south": (True, 2)}  # North holds the stray figure
    assert regions["border-south"]["travel"] == {"drive": "estimate", "walk": "estimate"}
    # Without tables every site is estimated: South's own two and North's border site.
    assert regions["border-south"]["estimated_sites"]["drive"] == ["TSB01", "TSB02", "TNB01"]
    assert body["status"] == "degraded" and "travel_estimate" in body["degraded"]


async def test_the_patient_page_shows_a_border_answer(two_regions) -> None:
    _, client = two_regions
    response = await client.get("/", params=NEAR_BORDER)
    assert response.status == 200
    page = await response.text()
    # The best option is the South border UTC, described from the region that ranked it.
    assert page.index("South Border UTC") < page.index("North Border UTC")


async def test_one_region_is_served_as_before(aiohttp_client, store: RedisLiveStore,
                                              fixed_now: datetime, tmp_path: Path) -> None:
    settings = Settings(region=NORTH, spool_dir=str(tmp_path / "spool"),
                        graph_cache=str(tmp_path / "no-graphs"))
    app = create_app(settings, live_store=store, clock=lambda: fixed_now)
    assert app.get(keys.REGION_SET) is None
    client = await aiohttp_client(app)
    body = await (await client.get("/v1/rank", params=NEAR_BORDER)).json()
    assert body["region"] == "border-north"
    # Alone, North ranks its own sites only, and reads every wait from its own keys.
    assert [r["site_id"] for r in body["results"]] == ["TNB01", "TNB02"]
    assert [r["wait_minutes"] for r in body["results"]] == [40.0, 120.0]
    # No coverage choice: the travel model's own limit decides (an origin in South is
    # within 80 km of North's sites, so North answers it).
    south = await (await client.get("/v1/rank", params=DEEP_SOUTH)).json()
    assert south["region"] == "border-north"
    sites = await (await client.get("/v1/sites")).json()
    assert "regions" not in sites
    assert {s["site_id"]: s["region"] for s in sites["sites"]} == {
        "TNB01": "border-north", "TNB02": "border-north"}


def test_regions_are_configured_by_one_variable_or_the_other() -> None:
    assert settings_from_env({}).regions == ("kent-medway",)
    assert settings_from_env({"WAITLESS_REGION": NORTH}).regions == (NORTH,)
    several = settings_from_env({"WAITLESS_REGIONS": f" {NORTH}, {SOUTH} "})
    assert (several.region, several.extra_regions) == (NORTH, (SOUTH,))
    with pytest.raises(ConfigError, match="not both"):
        settings_from_env({"WAITLESS_REGION": NORTH, "WAITLESS_REGIONS": SOUTH})
    with pytest.raises(ConfigError, match="twice"):
        settings_from_env({"WAITLESS_REGIONS": f"{NORTH},{NORTH}"})


def test_serve_takes_several_regions_on_the_command_line(monkeypatch) -> None:
    monkeypatch.setenv("WAITLESS_REGIONS", f"{SOUTH},{NORTH}")
    given = _settings(parse_args(["serve", "--region", NORTH, "--region", SOUTH]))
    assert given.regions == (NORTH, SOUTH)
    assert _settings(parse_args(["serve"])).regions == (SOUTH, NORTH)  # the environment's
    # Single-region commands (ingest, dev, statistics) take the primary unless told.
    assert _settings(parse_args(["ingest"])).region == SOUTH
    assert _settings(parse_args(["ingest", "--region", NORTH])).region == NORTH


def test_travel_models_are_per_region_with_several(tmp_path: Path) -> None:
    regions = [load_region(NORTH), load_region(SOUTH)]
    app = create_app(Settings(spool_dir=str(tmp_path)), regions=regions)
    served = app[keys.SERVED]
    # Each region's models answer for its extended site list: own sites, then border sites.
    assert served["border-north"].travel["drive"].site_ids == ("TNB01", "TNB02", "TSB01")
    assert served["border-south"].travel["walk"].site_ids == ("TSB01", "TSB02", "TNB01")
    with pytest.raises(ConfigError, match="per region"):
        create_app(Settings(spool_dir=str(tmp_path)), regions=regions,
                   travel=served["border-north"].travel)


def test_regions_in_different_timezones_are_refused_at_start_up(tmp_path: Path) -> None:
    # A border site's hours would be read in its neighbour's zone, and a depart_at without an
    # offset in the primary's: refused once, before anything is served (docs/regions.md).
    # (`waitless serve` prints a RegionError from create_app as one line and exits 2:
    # tests/feeds/test_feed_config_check.py.)
    south = tmp_path / "border-south-dublin.toml"
    south.write_text(Path(SOUTH).read_text().replace('timezone = "Europe/London"',
                                                     'timezone = "Europe/Dublin"'))
    regions = [load_region(NORTH), load_region(str(south))]
    with pytest.raises(RegionError) as caught:
        create_app(Settings(spool_dir=str(tmp_path)), regions=regions)
    assert str(caught.value) == (
        "regions served together must share one timezone: border-north "
        f"({Path(NORTH).resolve()}) is in Europe/London, border-south ({south.resolve()}) is "
        "in Europe/Dublin; serve them from separate processes")
