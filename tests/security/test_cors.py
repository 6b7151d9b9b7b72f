"""CORS: closed by default; configured origins may GET the public API, never the stats."""

from __future__ import annotations

from tests.security.conftest import CANTERBURY

APP = "https://app.example.org"
PREFLIGHT = {"Origin": APP, "Access-Control-Request-Method": "GET"}


async def test_closed_by_default(make_client) -> None:
    client = await make_client()
    response = await client.get("/v1/rank", params=CANTERBURY, headers={"Origin": APP})
    assert response.status == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = await client.options("/v1/rank", headers=PREFLIGHT)
    assert preflight.status == 403
    assert "Access-Control-Allow-Origin" not in preflight.headers


async def test_allowed_origin_gets_preflight_and_header(make_client) -> None:
    client = await make_client(cors_origins=(APP,))
    preflight = await client.options("/v1/rank", headers={
        **PREFLIGHT, "Access-Control-Request-Headers": "Accept"})
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == APP
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET"
    assert preflight.headers["Access-Control-Allow-Headers"] == "accept"
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    response = await client.get("/v1/rank", params=CANTERBURY, headers={"Origin": APP})
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == APP
    assert "Origin" in response.headers.getall("Vary")
    sites = await client.get("/v1/sites", headers={"Origin": APP})
    assert sites.headers["Access-Control-Allow-Origin"] == APP


async def test_other_origins_methods_and_paths_are_refused(make_client) -> None:
    client = await make_client(cors_origins=(APP,), commissioner_token="tok")
    evil = await client.get("/v1/rank", params=CANTERBURY,
                            headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in evil.headers
    refused = [
        ("/v1/rank", {"Origin": "https://evil.example",
                      "Access-Control-Request-Method": "GET"}),
        ("/v1/rank", {**PREFLIGHT, "Access-Control-Request-Method": "DELETE"}),
        ("/v1/rank", {**PREFLIGHT, "Access-Control-Request-Headers": "Authorization"}),
        ("/v1/stats/shift", PREFLIGHT),
        ("/v1/stats/events", PREFLIGHT),
        ("/commissioners/shift", PREFLIGHT),
        ("/v1/no-such-thing", PREFLIGHT),
    ]
    for path, headers in refused:
        response = await client.options(path, headers=headers)
        assert response.status == 403, path
        assert "Access-Control-Allow-Origin" not in response.headers, path
    stats = await client.get("/v1/stats/shift", headers={"Origin": APP,
                                                         "Authorization": "Bearer tok"})
    assert "Access-Control-Allow-Origin" not in stats.headers
    page = await client.get("/commissioners", headers={"Origin": APP})
    assert "Access-Control-Allow-Origin" not in page.headers


async def test_allowed_origin_may_post_a_choice_as_json_and_nothing_else(make_client) -> None:
    client = await make_client(cors_origins=(APP,))
    post_json = {"Origin": APP, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "Content-Type"}
    preflight = await client.options("/v1/choices", headers=post_json)
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == APP
    assert preflight.headers["Access-Control-Allow-Methods"] == "POST"
    assert preflight.headers["Access-Control-Allow-Headers"] == "content-type"
    # The browser then sends the choice and may read the answer (503 here: no database).
    answer = await client.post("/v1/choices", json={"site_id": "RVVKC"}, headers={"Origin": APP})
    assert answer.status == 503
    assert answer.headers["Access-Control-Allow-Origin"] == APP
    refused = [
        ("/v1/choices", {**post_json, "Origin": "https://evil.example"}),
        ("/v1/choices", {**post_json, "Access-Control-Request-Method": "PUT"}),
        ("/v1/choices", {**post_json, "Access-Control-Request-Headers": "Authorization"}),
        ("/v1/rank", post_json),  # the only cross-origin write is the choice
    ]
    for path, headers in refused:
        response = await client.options(path, headers=headers)
        assert response.status == 403, (path, headers)
        assert "Access-Control-Allow-Origin" not in response.headers, path
    evil = await client.post("/v1/choices", json={"site_id": "RVVKC"},
                             headers={"Origin": "https://evil.example"})
    assert evil.status == 403
    assert "Access-Control-Allow-Origin" not in evil.headers
