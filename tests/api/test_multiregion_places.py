"""Place search with two regions served: the patient page and ``/v1/places`` look in both
regions' gazetteers. Before, only the primary's was searched: "South Coast" (a town of the
second region) was "not found in Border North (test)", and "Newport" (a town of both) was
silently North's.

Real Redis (live store) and PostgreSQL (event log); the regions are the two made-up files of
tests/api/regions/, each given its own made-up gazetteer there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from html import unescape
from pathlib import Path

import jsonschema
import pytest

from waitless.api.app import create_app
from waitless.domain.observation import Observation
from waitless.live.redis_store import RedisLiveStore
from waitless.settings import settings_from_env

REGIONS_DIR = Path(__file__).parent / "regions"
WAITS = {"border-north": {"TNB01": ("utc", 40.0), "TNB02": ("ed", 120.0)},
         "border-south": {"TSB01": ("utc", 15.0), "TSB02": ("utc", 10.0)}}
SOUTH_SITES = {"TSB01", "TSB02"}
NEWPORT = {"border-north": (51.2, 0.3), "border-south": (50.8, 0.4)}  # the two CSVs' rows
# From North's Newport, North answers with South's border UTC (15 minutes' wait, ~25 km);
# from South's, South's coast UTC is nearer.
NEWPORT_BEST = {"border-north": "TSB01", "border-south": "TSB02"}


def region_file(tmp_path: Path, name: str) -> str:
    """The test region file with its gazetteer (the shared file has none: other tests copy it
    to a folder without the CSV)."""
    path = tmp_path / f"{name}.toml"
    path.write_text((REGIONS_DIR / f"{name}.toml").read_text()
                    + f'\n[gazetteer]\nfile = "{REGIONS_DIR / f"{name}-places.csv"}"\n')
    return str(path)


@pytest.fixture
async def client(aiohttp_client, redis_store_factory: Callable[[], RedisLiveStore], pg_dsn: str,
                 fixed_now: datetime, tmp_path: Path):
    live = redis_store_factory()
    observed = fixed_now - timedelta(minutes=5)
    for region, waits in WAITS.items():
        await live.write(region, [Observation(site, kind, minutes, observed, feed="feed")
                                  for site, (kind, minutes) in waits.items()])
    files = ",".join(region_file(tmp_path, name) for name in WAITS)
    settings = settings_from_env({"WAITLESS_REGIONS": files}).with_overrides(
        spool_dir=str(tmp_path / "spool"), database_url=pg_dsn,
        graph_cache=str(tmp_path / "no-graphs"))
    yield await aiohttp_client(create_app(settings, live_store=live, clock=lambda: fixed_now))
    await live.close()


def _best_site(page: str) -> str:
    return re.search(r'data-best-site="([^/"]+)/', page).group(1)


def _place_error(page: str) -> str:
    return unescape(re.search(r'id="place-error">.*?</span> (.*?)</span>', page).group(1))


async def _rank_best(client, lat: float, lon: float, **params: str) -> tuple[str, str]:
    body = await (await client.get("/v1/rank", params={"lat": str(lat), "lon": str(lon),
                                                        **params})).json()
    return body["region"], body["results"][0]["site_id"]


@pytest.mark.parametrize("typed", ["South Coast", "sb1", "SB1 2AB"])
async def test_a_second_region_place_resolves_and_ranks_in_that_region(client, typed) -> None:
    response = await client.get("/", params={"place": typed})
    page = await response.text()
    assert response.status == 200, page
    assert "From South Coast" in page or "From SB1" in page
    # Ranked from South's own row (50.62, 0.50), by South, as /v1/rank answers there.
    assert await _rank_best(client, 50.62, 0.50) == ("border-south", _best_site(page))
    assert _best_site(page) in SOUTH_SITES


async def test_a_name_in_both_regions_offers_both_and_the_choice_ranks_there(client) -> None:
    response = await client.get("/", params={"place": "newport", "mode": "drive", "age": "30"})
    page = await response.text()
    assert response.status == 400
    assert "data-best-site" not in page  # not silently ranked from either Newport
    assert _place_error(page) == ("Newport could be in Border North (test) or Border South "
                                  "(test): choose the one you mean.")
    choices = re.search(r'<ul class="nhsuk-list" id="place-choices">(.*?)</ul>', page,
                        re.S).group(1)
    links = [(unescape(href), text)
             for href, text in re.findall(r'<a href="([^"]+)">([^<]+)</a>', choices)]
    assert links == [
        ("/?place=Newport&region=border-north&age=30&mode=drive", "Newport, Border North (test)"),
        ("/?place=Newport&region=border-south&age=30&mode=drive", "Newport, Border South (test)"),
    ]
    for href, _ in links:
        region = re.search(r"region=([a-z-]+)", href).group(1)
        chosen = await client.get(href)
        chosen_page = await chosen.text()
        assert chosen.status == 200, chosen_page
        assert "From Newport, by car" in chosen_page
        assert _best_site(chosen_page) == NEWPORT_BEST[region]
        assert (await _rank_best(client, *NEWPORT[region], mode="drive", age="30")
                == (region, NEWPORT_BEST[region]))


async def test_outside_coverage_and_not_found_name_every_region(client) -> None:
    response = await client.get("/", params={"lat": "53.48", "lon": "-2.24"})
    assert response.status == 422
    assert _place_error(await response.text()) == (
        "Your location is outside Border North (test) and Border South (test), which this "
        "service covers. Call NHS 111 or use 111.nhs.uk to find care near you.")
    response = await client.get("/", params={"place": "Manchester"})
    assert response.status == 400
    assert _place_error(await response.text()) == (
        "We could not find \"Manchester\" in Border North (test) or Border South (test). Try a "
        "town or the first part of a postcode, for example North Town or NB1.")


async def test_places_api_answers_from_both_regions_naming_the_region(client) -> None:
    spec = await (await client.get("/openapi.json")).json()
    schemas = {status: answer["content"]["application/json"]["schema"] for status, answer
               in spec["paths"]["/v1/places"]["get"]["responses"].items() if "content" in answer}
    south = await (await client.get("/v1/places", params={"q": "south coast"})).json()
    jsonschema.validate(south, schemas["200"])
    assert south == {"name": "South Coast", "kind": "town", "lat": 50.62, "lon": 0.5,
                     "district": "SB1", "region": "border-south",
                     "region_title": "Border South (test)"}
    response = await client.get("/v1/places", params={"q": "Newport"})
    assert response.status == 400
    body = await response.json()
    jsonschema.validate(body, schemas["400"])
    assert (body["error"], body["field"]) == ("ambiguous_place", "q")
    assert [(m["region"], m["region_title"], m["lat"], m["lon"], m["district"])
            for m in body["matches"]] == [
        ("border-north", "Border North (test)", 51.2, 0.3, "NB2"),
        ("border-south", "Border South (test)", 50.8, 0.4, "SB2")]
    chosen = await (await client.get("/v1/places",
                                     params={"q": "Newport", "region": "border-south"})).json()
    assert (chosen["region"], chosen["district"]) == ("border-south", "SB2")
    response = await client.get("/v1/places", params={"q": "Newport", "region": "atlantis"})
    assert response.status == 400
    assert (await response.json())["field"] == "region"
