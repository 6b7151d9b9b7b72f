"""POST /v1/feeds/{feed}/observations: tokens, limits, bad bodies, validation, live store."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from tests.conftest import eventually
from tests.feeds.ingest.conftest import (
    CANTERBURY,
    MovableClock,
    api_client,
    get_json,
    service_of,
)
from waitless.domain.region import Region, load_region, resolve_region_path
from waitless.live.store import LiveStore, MemoryLiveStore
from waitless.settings import settings_from_env

PUSH_FEEDS = """
[[feeds]]
name = "kent-push"
format = "bc_push"
service = "utc"
sites = { "kch" = "RVVKC", "whh" = "RVV01" }

[[feeds]]
name = "trust-native"
format = "native"

[validation]
max_body_bytes = 4000
"""
TOKENS = (("kent-push", "old-token"), ("kent-push", "s3cret"), ("trust-native", "n4tive"))


@pytest.fixture
def push_region(tmp_path: Path) -> Region:
    path = tmp_path / "kent-push.toml"
    bundled = resolve_region_path("kent-medway")
    path.write_text(bundled.read_text() + PUSH_FEEDS)
    # The gazetteer is named relative to the region file: bring it along.
    shutil.copy(bundled.with_name("kent-medway-places.csv"), tmp_path)
    return load_region(str(path))


@pytest.fixture
async def client(live_store: LiveStore, aiohttp_client, push_region: Region,
                 clock: MovableClock, tmp_path: Path):
    return await api_client(aiohttp_client, push_region, live_store, clock, tmp_path,
                            push_tokens=TOKENS)


@pytest.fixture
async def memory_client(aiohttp_client, push_region: Region, clock: MovableClock,
                        tmp_path: Path):
    """For refusals, which never reach the live store: the in-process store is enough."""
    return await api_client(aiohttp_client, push_region, MemoryLiveStore(), clock, tmp_path,
                            push_tokens=TOKENS)


def bc_body(token: str | None = "s3cret", **waits) -> bytes:
    entries = [{"emergencyDepartment": code, "waitTimeMinutes": wait, "elsMinutes": 200,
                "status": "busy"} for code, wait in waits.items()]
    return orjson.dumps({"token": token, "waitTimes": entries})


async def push(client, feed: str, body: bytes, *, token: str | None = None,
               content_type: str = "application/json"):
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = await client.post(f"/v1/feeds/{feed}/observations", data=body, headers=headers)
    return response.status, await response.json()


async def test_push_is_validated_and_reaches_rankings(client, clock: MovableClock) -> None:
    status, answer = await push(client, "kent-push", bc_body(kch=17, whh=4320, zzz=30))
    assert status == 200
    assert answer["feed"] == "kent-push" and answer["accepted"] == 1
    assert {(r["site_id"], r["reason"]) for r in answer["rejected"]} == {
        ("RVV01", "implausible_high"), ("zzz", "unknown_site")}

    async def ranked():  # the API sees the live store at its next snapshot reload
        _, body = await get_json(client, "/v1/rank", **CANTERBURY)
        kch = next(r for r in body["results"] if r["site_id"] == "RVVKC")
        return body if kch["wait_minutes"] is not None else None

    body = await eventually(ranked, what="the pushed wait in the ranking")
    kch = next(r for r in body["results"] if r["site_id"] == "RVVKC")
    assert kch["wait_minutes"] == 17 and kch["wait_status"] == "live"
    assert all(r["wait_minutes"] != 4320 for r in body["results"])

    async def rvv01_rejections():  # feed status lands with the next snapshot refresh
        _, sites = await get_json(client, "/v1/sites")
        return next(s for s in sites["sites"] if s["site_id"] == "RVV01")["rejections"]

    (rejection,) = await eventually(rvv01_rejections, what="rejection in /v1/sites")
    assert rejection["feed"] == "kent-push" and rejection["reason"] == "implausible_high"
    assert rejection["at"] == clock().isoformat() and "4320" in rejection["detail"]
    metrics = await (await client.get("/metrics")).text()
    assert ('waitless_observations_rejected_total{feed="kent-push",reason="implausible_high",'
            'region="kent-medway"} 1.0') in metrics
    assert ('waitless_feed_last_success_age_seconds{feed="kent-push",region="kent-medway"} 0.0'
            in metrics)
    # An hour later a figure 7x higher is held back as a jump: the last good one stays.
    clock.advance(minutes=30)
    _, answer = await push(client, "kent-push", bc_body(kch=120))
    assert [r["reason"] for r in answer["rejected"]] == ["sudden_jump"]
    # A later accepted push is a marker: once a snapshot shows it, that snapshot was taken
    # after the rejected push, so the rejected figure would show too had it been stored.
    _, answer = await push(client, "kent-push", bc_body(whh=25))
    assert answer["accepted"] == 1

    async def marker_seen():
        _, sites = await get_json(client, "/v1/sites")
        return sites if service_of(sites, "RVV01", "utc")["wait_minutes"] == 25 else None

    sites = await eventually(marker_seen, what="the marker push in /v1/sites")
    assert service_of(sites, "RVVKC", "utc")["wait_minutes"] == 17
    assert service_of(sites, "RVVKC", "utc")["wait_age_minutes"] == 30


async def test_native_push_with_bearer_token(client, clock: MovableClock) -> None:
    at = (clock() - timedelta(minutes=3)).isoformat()
    body = orjson.dumps({"generated_at": at, "sites": [
        {"site_id": "RVV02", "service": "utc", "wait_minutes": 44, "observed_at": at,
         "status": "open"},
        {"site_id": "RVV03", "wait_minutes": -5, "observed_at": at, "status": "open"}]})
    status, answer = await push(client, "trust-native", body, token="n4tive")
    assert status == 200 and answer["accepted"] == 1
    assert answer["rejected"][0]["reason"] == "negative_wait"

    async def rvv02():
        _, sites = await get_json(client, "/v1/sites")
        return service_of(sites, "RVV02", "utc")["wait_minutes"]

    assert await eventually(rvv02, what="the pushed wait") == 44


@pytest.mark.parametrize(("feed", "body", "token", "expected"), [
    ("nope", bc_body(kch=10), None, (401, "unauthorized")),  # names no feed
    ("simulator", bc_body(kch=10), None, (401, "unauthorized")),  # polled, not pushed
    ("kent-push", bc_body(None, kch=10), None, (401, "unauthorized")),
    ("kent-push", bc_body("wrong", kch=10), None, (401, "unauthorized")),
    ("kent-push", bc_body("s3cret", kch=10), "wrong", (401, "unauthorized")),
    ("kent-push", bc_body("s3cret-and-more", kch=10), None, (401, "unauthorized")),
    ("trust-native", b'{"sites": []}', None, (401, "unauthorized")),
    ("trust-native", b"x" * 4001, "n4tive", (413, "too_large")),
])
async def test_push_refusals(memory_client, feed, body, token, expected) -> None:
    status, answer = await push(memory_client, feed, body, token=token)
    assert (status, answer["error"]) == expected
    assert "s3cret" not in answer["message"]


async def test_old_token_still_works_during_rotation(memory_client) -> None:
    status, answer = await push(memory_client, "kent-push", bc_body("old-token", kch=12))
    assert status == 200 and answer["accepted"] == 1


@pytest.mark.parametrize(("body", "content_type", "error", "words"), [
    (b"   ", "application/json", "empty_body", "empty"),
    (b'{"token": "s3cret", "waitTimes": [', "application/json", "truncated", "ends early"),
    (b"<html><body>hello</body></html>", "text/html", "wrong_content_type", "text/html"),
    (b'{"waitTimes": {"kch": 10}}', "application/json", "bad_payload", "'waitTimes' list"),
    (b'{"waitTimes": [{"waitTimeMinutes": 3}]}', "application/json", "bad_payload",
     "emergencyDepartment"),
])
async def test_bad_bodies_are_400_naming_the_problem(memory_client, body, content_type, error,
                                                     words) -> None:
    status, answer = await push(memory_client, "kent-push", body, token="s3cret",
                                content_type=content_type)
    assert (status, answer["error"]) == (400, error)
    assert words in answer["message"]

    async def feed_reason():
        _, sites = await get_json(memory_client, "/v1/sites")
        return sites["feeds"].get("kent-push", {}).get("last_error_reason") == error

    await eventually(feed_reason, what="the error in /v1/sites")


def test_push_tokens_come_from_the_environment_only() -> None:
    settings = settings_from_env({"WAITLESS_PUSH_TOKENS": "a=one, a=two ,b=three"})
    assert settings.push_tokens == (("a", "one"), ("a", "two"), ("b", "three"))
    with pytest.raises(ValueError, match="entry 2 is not feed=token") as info:
        settings_from_env({"WAITLESS_PUSH_TOKENS": "a=one,secret-without-name"})
    assert "secret" not in str(info.value)


async def test_openapi_documents_the_push_endpoint(memory_client) -> None:
    from openapi_spec_validator import validate

    _, spec = await get_json(memory_client, "/openapi.json")
    validate(spec)
    post = spec["paths"]["/v1/feeds/{feed}/observations"]["post"]
    assert {"200", "400", "401", "413", "429"} <= set(post["responses"])
    assert "404" not in post["responses"]  # an unknown feed is a 401: names stay secret
    # Every error a refused body is answered with (400; oversized is the 413) is named.
    from feeds.body import BODY_REASONS

    described = post["responses"]["400"]["description"]
    assert [r for r in BODY_REASONS if r != "oversized" and r not in described] == []


@pytest.mark.parametrize("stamp", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+01:00"])
async def test_push_with_an_unrepresentable_time_is_a_400_not_a_500(client, stamp) -> None:
    body = orjson.dumps({"generated_at": stamp, "sites": [
        {"site_id": "RVV02", "service": "utc", "wait_minutes": 44, "observed_at": stamp}]})
    status, answer = await push(client, "trust-native", body, token="n4tive")
    assert (status, answer["error"]) == (400, "bad_payload")
    assert answer["message"] == f"generated_at: '{stamp}' is outside the years 1-9999 in UTC"
    only_observed = orjson.dumps({**orjson.loads(body), "generated_at": "2026-11-24T10:29:00Z"})
    status, answer = await push(client, "trust-native", only_observed, token="n4tive")
    assert (status, answer["error"]) == (400, "bad_payload")
    assert answer["message"] == (f"sites[0].observed_at: '{stamp}' is outside the years 1-9999 "
                                 "in UTC")


async def test_push_listing_no_sites_after_a_full_one_is_refused(client, clock) -> None:
    at = (clock() - timedelta(minutes=1)).isoformat()
    full = orjson.dumps({"generated_at": at, "sites": [
        {"site_id": site, "wait_minutes": 30, "observed_at": at, "status": "open"}
        for site in ("RVV02", "RVV03", "RVV09")]})
    status, answer = await push(client, "trust-native", full, token="n4tive")
    assert (status, answer["accepted"]) == (200, 3)
    empty = orjson.dumps({"generated_at": at, "sites": []})
    status, answer = await push(client, "trust-native", empty, token="n4tive")
    assert (status, answer["error"]) == (400, "no_sites")
    assert "usually gives figures for 3" in answer["message"]

    async def feed_health():
        _, sites = await get_json(client, "/v1/sites")
        health = sites["feeds"].get("trust-native", {})
        return health if health.get("last_error_reason") == "no_sites" else None

    health = await eventually(feed_health, what="the no_sites problem in /v1/sites")
    assert health["consecutive_failures"] == 1
