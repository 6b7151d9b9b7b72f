"""The HTTP API against an app with the in-process store and a pinned clock."""

from datetime import datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from openapi_spec_validator import validate

from feeds.adapters.native import parse
from feeds.simulator import native_document
from waitless.api.app import create_app
from waitless.domain.region import Region
from waitless.live.store import MemoryLiveStore
from waitless.settings import Settings

CANTERBURY = {"lat": "51.2802", "lon": "1.0789"}


@pytest.fixture
async def client(aiohttp_client, kent: Region, fixed_now: datetime, tmp_path: Path):
    store = MemoryLiveStore()
    observations = parse(_sim_body(kent, fixed_now - timedelta(minutes=2)), feed_name="sim")
    from feeds.ingest import with_service_kinds
    accepted = with_service_kinds(kent, observations)
    await store.write(kent.name, accepted)
    app = create_app(Settings(spool_dir=str(tmp_path / "spool")), region=kent,
                     live_store=store, clock=lambda: fixed_now)
    return await aiohttp_client(app)


def _sim_body(region: Region, now: datetime) -> bytes:
    import orjson
    return orjson.dumps(native_document(region, seed=5, now=now))


async def test_rank_canterbury_ranks_every_open_site_by_total(client, kent) -> None:
    response = await client.get("/v1/rank", params=CANTERBURY)
    assert response.status == 200
    body = await response.json()
    results = body["results"]
    assert len(results) + len(body["excluded"]) == len(kent.sites)
    assert {r["site_id"] for r in results} == {s.id for s in kent.sites}  # 10:30: all open
    totals = [r["total_minutes"] for r in results]
    assert totals == sorted(totals)
    for r in results:
        assert r["wait_status"] == "live"
        assert r["total_minutes"] == pytest.approx(r["travel_minutes"]
                                                   + r["predicted_wait_minutes"], abs=0.11)
    nearest = min(results, key=lambda r: r["travel_minutes"])
    assert nearest["site_id"] == "RVVKC"  # Kent and Canterbury Hospital


async def test_rank_response_matches_the_openapi_schema(client) -> None:
    spec = await (await client.get("/openapi.json")).json()
    validate(spec)
    schema = spec["paths"]["/v1/rank"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]
    for params in (CANTERBURY, {**CANTERBURY, "condition": "chest_pain"},
                   {**CANTERBURY, "condition": "minor_burn", "age": "0.5"}):
        jsonschema.validate(await (await client.get("/v1/rank", params=params)).json(), schema)
    error_schema = spec["paths"]["/v1/rank"]["get"]["responses"]["400"]["content"][
        "application/json"]["schema"]
    jsonschema.validate(await (await client.get("/v1/rank")).json(), error_schema)


# Routes that answer HTML or files, not the JSON API, and so are not in /openapi.json:
# the patient and information pages, the service worker, static files, the dashboard.
NOT_IN_OPENAPI = ("patient_page", "info_", "service_worker", "static", "nhsuk_assets",
                  "commissioners")


async def test_openapi_describes_every_api_route(client) -> None:
    """Every route of routes.py is in /openapi.json with its method, unless it is a page."""
    spec = await (await client.get("/openapi.json")).json()
    documented = {(path, method.upper()) for path, item in spec["paths"].items()
                  for method in item}
    router = client.server.app.router
    routes = {(route.resource.canonical, route.method) for route in router.routes()
              if route.method != "HEAD" and route.resource is not None
              and not (route.resource.name or "").startswith(NOT_IN_OPENAPI)}
    assert ("/v1/places", "GET") in routes
    assert routes - documented == set()


async def test_places_answer_matches_the_openapi_schema(client) -> None:
    spec = await (await client.get("/openapi.json")).json()
    answers = spec["paths"]["/v1/places"]["get"]["responses"]
    schema = answers["200"]["content"]["application/json"]["schema"]
    found = await client.get("/v1/places", params={"q": "CT1 3NG"})
    assert found.status == 200
    jsonschema.validate(await found.json(), schema)
    unknown = await client.get("/v1/places", params={"q": "Atlantis"})
    assert unknown.status == 400
    jsonschema.validate(await unknown.json(),
                        answers["400"]["content"]["application/json"]["schema"])


async def test_places_with_one_region_ignore_region_and_name_none(client) -> None:
    # region= and the answer's region fields belong to several regions served (docs/regions.md).
    body = await (await client.get("/v1/places", params={"q": "CT1", "region": "x"})).json()
    assert body == {"name": "CT1", "kind": "district", "lat": 51.27719, "lon": 1.08733,
                    "district": "CT1"}


@pytest.mark.parametrize(("params", "field", "message"), [
    ({}, "lat", "lat is required"),
    ({"lat": "51.28"}, "lon", "lon is required"),
    ({"lat": "north", "lon": "1.07"}, "lat", "must be a number"),
    ({"lat": "91", "lon": "1.07"}, "lat", "between -90 and 90"),
    ({"lat": "51.28", "lon": "nan"}, "lon", "between"),
    ({**CANTERBURY, "condition": "broken_heart"}, "condition", "unknown condition"),
    ({**CANTERBURY, "age": "-3"}, "age", "between 0 and 130"),
    ({**CANTERBURY, "limit": "0"}, "limit", "limit"),
    ({**CANTERBURY, "mode": "helicopter"}, "mode", "drive, walk"),
    ({**CANTERBURY, "depart_at": "teatime"}, "depart_at", "ISO-8601"),
    ({**CANTERBURY, "depart_at": "2030-01-01T10:00:00Z"}, "depart_at", "next 7 days"),
])
async def test_bad_input_gets_400_saying_what_is_wrong(client, params, field, message) -> None:
    response = await client.get("/v1/rank", params=params)
    assert response.status == 400
    body = await response.json()
    assert body["error"] == "bad_request" and body["field"] == field
    assert message in body["message"]


async def test_origin_far_outside_the_region_is_422(client) -> None:
    response = await client.get("/v1/rank", params={"lat": "55.95", "lon": "-3.19"})  # Edinburgh
    assert response.status == 422
    assert "km from the nearest site" in (await response.json())["message"]


async def test_red_flag_answers_999(client) -> None:
    body = await (await client.get("/v1/rank", params={**CANTERBURY,
                                                       "condition": "stroke_symptoms"})).json()
    assert body["emergency"]["call"] == "999" and body["results"] == []


async def test_sites_lists_services_hours_and_waits(client, kent) -> None:
    body = await (await client.get("/v1/sites")).json()
    assert [s["site_id"] for s in body["sites"]] == [s.id for s in kent.sites]
    wh = next(s for s in body["sites"] if s["site_id"] == "RVV01")
    assert [x["kind"] for x in wh["services"]] == ["ed", "utc"]
    assert all(x["wait_status"] == "live" and x["wait_minutes"] > 0 for x in wh["services"])
    maidstone = next(s for s in body["sites"] if s["site_id"] == "RWF03")
    assert maidstone["services"][1]["hours"]["mon"] == "08:00-20:00"


async def test_health_ready_metrics(client) -> None:
    assert (await (await client.get("/healthz")).json()) == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status == 200
    body = await ready.json()
    assert body["live_store"]["entries"] == 23
    assert "travel_estimate" in body["degraded"]
    await client.get("/v1/rank", params=CANTERBURY)
    metrics = await (await client.get("/metrics")).text()
    assert 'waitless_rankings_total{outcome="ranked"} 1.0' in metrics
    assert 'waitless_http_requests_total{route="rank",status="200"} 1.0' in metrics
    assert ('waitless_site_wait_age_seconds{region="kent-medway",service="ed",site="RVV01"} '
            '120.0') in metrics


async def test_unknown_path_is_a_json_404(client) -> None:
    response = await client.get("/v1/nothing")
    assert response.status == 404
    assert (await response.json())["error"] == "not_found"


async def test_worker_header_only_with_bench_endpoints_and_only_when_asked(
        aiohttp_client, kent: Region, fixed_now: datetime, tmp_path: Path) -> None:
    import os

    for bench, asked, expected in ((True, True, str(os.getpid())), (True, False, None),
                                   (False, True, None)):
        app = create_app(Settings(spool_dir=str(tmp_path / "spool"), bench_endpoints=bench),
                         region=kent, live_store=MemoryLiveStore(), clock=lambda: fixed_now)
        client = await aiohttp_client(app)
        headers = {"X-WaitLess-Worker": "?"} if asked else {}
        for path in ("/v1/rank?lat=51.2802&lon=1.0789", "/v1/sites", "/v1/nothing"):
            response = await client.get(path, headers=headers)
            assert response.headers.get("X-WaitLess-Worker") == expected, (bench, asked, path)
