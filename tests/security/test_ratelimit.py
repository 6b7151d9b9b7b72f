"""Per-client rate limits: 429 with Retry-After, per-client keys, login, shared counts."""

from __future__ import annotations

import uuid

import pytest
import redis.asyncio as aioredis

from tests.conftest import REDIS_URL, free_port
from tests.security.conftest import CANTERBURY
from waitless.api.rate_limiter import (
    RateLimiter,
    client_address,
    client_key,
    parse_networks,
)
from waitless.settings import Rate, parse_rate


def test_rates_parse_and_bad_ones_are_refused() -> None:
    assert parse_rate("120/minute") == Rate(120, 60)
    assert parse_rate(" 10 / minutes ") == Rate(10, 60)
    assert parse_rate("5/second") == Rate(5, 1)
    assert parse_rate("1000/hour") == Rate(1000, 3600)
    for bad in ("120", "0/minute", "ten/minute", "5/day", "-1/second"):
        with pytest.raises(ValueError, match="rate limit"):
            parse_rate(bad)


def test_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    proxies = parse_networks(["10.0.0.0/8", "192.0.2.7"])
    assert client_address("203.0.113.9", ["198.51.100.1"], proxies) == "203.0.113.9"
    assert client_address("10.1.2.3", ["198.51.100.1"], proxies) == "198.51.100.1"
    # A client cannot hide behind a forged left-hand entry: the rightmost untrusted hop wins.
    assert client_address("10.1.2.3", ["1.1.1.1, 198.51.100.1, 192.0.2.7"],
                          proxies) == "198.51.100.1"
    assert client_address("10.1.2.3", [], proxies) == "10.1.2.3"
    assert client_address("10.1.2.3", ["198.51.100.1"], ()) == "10.1.2.3"
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        parse_networks(["not-an-ip"])


def test_client_keys_are_salted_hashes_never_the_address() -> None:
    key = client_key("198.51.100.1")
    assert key == client_key("198.51.100.1")
    assert key != client_key("198.51.100.2")
    assert "198" not in key and len(key) == 20
    assert client_key("198.51.100.1", salt=b"another salt") != key


def test_window_ends_and_the_client_may_ask_again() -> None:
    now = [1_000_020.0]
    limiter = RateLimiter({"public": Rate(3, 60)}, clock=lambda: now[0])
    assert [limiter.check("public", "k") for _ in range(3)] == [None, None, None]
    wait = limiter.check("public", "k")
    assert wait == pytest.approx(1_000_020 // 60 * 60 + 60 - 1_000_020)
    assert limiter.check("public", "other") is None
    now[0] += wait
    limiter.prune()
    assert limiter.check("public", "k") is None


async def test_rank_answers_429_with_retry_after_past_the_limit(make_client) -> None:
    client = await make_client(rate_limit="5/minute")
    statuses = [(await client.get("/v1/rank", params=CANTERBURY)).status for _ in range(5)]
    assert statuses == [200] * 5
    response = await client.get("/v1/rank", params=CANTERBURY)
    assert response.status == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    body = await response.json()
    assert body["error"] == "rate_limited"
    assert body["retry_after_seconds"] == int(response.headers["Retry-After"])
    # The limit is per client across the public endpoints, not per endpoint.
    assert (await client.get("/v1/sites")).status == 429
    assert (await client.get("/v1/places", params={"q": "Canterbury"})).status == 429
    assert (await client.post("/v1/choices", json={"site_id": "RVVKC"})).status == 429
    # Health, readiness, metrics, static files and the API description are never limited.
    for path in ("/healthz", "/readyz", "/metrics", "/static/waitless.css", "/openapi.json",
                 "/v1/conditions"):
        assert (await client.get(path)).status == 200, path
    metrics = await (await client.get("/metrics")).text()
    assert 'waitless_rate_limited_total{rule="public"} 4.0' in metrics
    assert 'waitless_http_requests_total{route="rank",status="429"} 1.0' in metrics


async def test_patient_page_is_limited_with_an_html_page(make_client) -> None:
    client = await make_client(rate_limit="2/minute")
    assert [(await client.get("/")).status for _ in range(2)] == [200, 200]
    response = await client.get("/")
    assert response.status == 429
    assert response.content_type == "text/html"
    assert "Too many requests" in await response.text()
    assert "Retry-After" in response.headers
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


async def test_clients_are_counted_apart_behind_a_trusted_proxy(make_client) -> None:
    client = await make_client(rate_limit="3/minute", trusted_proxies=("127.0.0.1",))
    alice, bob = {"X-Forwarded-For": "198.51.100.1"}, {"X-Forwarded-For": "198.51.100.2"}
    for _ in range(3):
        assert (await client.get("/v1/sites", headers=alice)).status == 200
    assert (await client.get("/v1/sites", headers=alice)).status == 429
    assert [(await client.get("/v1/sites", headers=bob)).status
            for _ in range(4)] == [200, 200, 200, 429]


async def test_forged_forwarded_for_does_not_escape_the_limit(make_client) -> None:
    client = await make_client(rate_limit="3/minute")  # no trusted proxies
    statuses = [(await client.get("/v1/sites", headers={"X-Forwarded-For": f"10.0.0.{i}"})
                 ).status for i in range(5)]
    assert statuses == [200, 200, 200, 429, 429]


async def test_login_brute_force_is_cut_off(make_client) -> None:
    client = await make_client(login_rate_limit="3/minute", commissioner_token="s3cret-token",
                               cookie_secure=False)
    for _ in range(3):
        response = await client.post("/commissioners/login", data={"token": "guess"},
                                     allow_redirects=False)
        assert response.status == 401
    # Even the right token is refused now: the attacker learns nothing more this window.
    response = await client.post("/commissioners/login", data={"token": "s3cret-token"},
                                 allow_redirects=False)
    assert response.status == 429
    assert response.content_type == "text/html"
    assert "waitless_commissioner" not in response.cookies
    assert int(response.headers["Retry-After"]) >= 1
    # The login limit is its own: the public endpoints still answer this client.
    assert (await client.get("/v1/rank", params=CANTERBURY)).status == 200


async def test_off_means_no_limit(make_client) -> None:
    client = await make_client(rate_limit=None)
    statuses = {(await client.get("/v1/sites")).status for _ in range(200)}
    assert statuses == {200}


async def test_without_redis_each_process_limits_alone_and_never_waits(make_client) -> None:
    # Redis URL pointing at a closed port: the sync fails, the request path does not care.
    client = await make_client(rate_limit="4/minute",
                               redis_url=f"redis://127.0.0.1:{free_port()}/0")
    statuses = [(await client.get("/v1/sites")).status for _ in range(6)]
    assert statuses == [200, 200, 200, 200, 429, 429]


async def test_two_workers_share_one_limit_through_redis(redis_prefix: str) -> None:
    """Two limiters (as two workers) with one Redis: together they allow exactly the limit."""
    now = 2_000_000.0
    prefix = f"{redis_prefix}:rl-{uuid.uuid4().hex[:6]}"
    rules = {"public": Rate(10, 60)}
    a = RateLimiter(rules, clock=lambda: now)
    b = RateLimiter(rules, clock=lambda: now)
    client = aioredis.from_url(REDIS_URL)
    try:
        await a.sync(client, prefix, "a")
        await b.sync(client, prefix, "b")
        await a.sync(client, prefix, "a")
        assert (a.peers, b.peers) == (2, 2)
        allowed_a = sum(a.check("public", "k") is None for _ in range(10))
        allowed_b = sum(b.check("public", "k") is None for _ in range(10))
        assert (allowed_a, allowed_b) == (5, 5)  # each spends its half before sharing
        await a.sync(client, prefix, "a")
        await b.sync(client, prefix, "b")
        await a.sync(client, prefix, "a")
        # Both now know the 10: refused until the window ends, whichever worker is asked.
        assert a.check("public", "k") == pytest.approx(40)
        assert b.check("public", "k") == pytest.approx(40)
        # A client only worker B has seen is known to worker A after a sync.
        assert sum(b.check("public", "fresh") is None for _ in range(3)) == 3
        await b.sync(client, prefix, "b")
        await a.sync(client, prefix, "a")
        assert a._counts[("public", int(now // 60), "fresh")][0] == 3
        stored = await client.hgetall(f"{prefix}:ratelimit:public:{int(now // 60)}")
        assert {k.decode(): int(v) for k, v in stored.items()} == {"k": 10, "fresh": 3}
        assert 0 < await client.ttl(f"{prefix}:ratelimit:public:{int(now // 60)}") <= 120
    finally:
        keys = [k async for k in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_two_workers_pass_the_limit_by_rounding_only(redis_prefix: str) -> None:
    """Issue #13 item 11: 124 of 120 got through; the bound is limit + workers - 1 = 121.

    Each sync is a flush by both workers, requests in the settle time between flush and read,
    then a read by both: the requests in between must not get a fresh share."""
    now = 3_000_000.0
    prefix = f"{redis_prefix}:rl-{uuid.uuid4().hex[:6]}"
    rules = {"public": Rate(120, 60)}
    a = RateLimiter(rules, clock=lambda: now)
    b = RateLimiter(rules, clock=lambda: now)
    client = aioredis.from_url(REDIS_URL)

    def spend() -> int:
        allowed = 0
        while True:
            passed = [w.check("public", "k") is None for w in (a, b)]
            allowed += sum(passed)
            if not any(passed):
                return allowed

    try:
        for worker, name in ((a, "a"), (b, "b"), (a, "a")):
            await worker.sync(client, prefix, name)
        assert (a.peers, b.peers) == (2, 2)
        allowed = 0
        for _ in range(6):
            allowed += spend()
            await a.flush(client, prefix, "a")
            await b.flush(client, prefix, "b")
            allowed += spend()  # the settle time between flush and read
            await a.read(client, prefix, "a")
            await b.read(client, prefix, "b")
        assert 120 <= allowed <= 121
    finally:
        keys = [k async for k in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_an_idle_process_on_the_prefix_is_not_a_peer(redis_prefix: str) -> None:
    """Issue #13 item 11: a process sharing the prefix but serving nothing does not shrink
    the serving workers' shares."""
    clock = {"now": 4_000_000.0}
    prefix = f"{redis_prefix}:rl-{uuid.uuid4().hex[:6]}"
    rules = {"public": Rate(100, 3600)}
    a, b, idle = (RateLimiter(rules, clock=lambda: clock["now"]) for _ in range(3))
    client = aioredis.from_url(REDIS_URL)
    try:
        for worker, name in ((a, "a"), (b, "b"), (idle, "idle"), (a, "a")):
            await worker.sync(client, prefix, name)
        assert a.peers == 3  # just started: counted, as a new worker must be
        clock["now"] += 61  # the idle one has let nothing through for a minute
        assert a.check("public", "k") is None and b.check("public", "k") is None
        for worker, name in ((a, "a"), (b, "b"), (idle, "idle"), (a, "a"), (b, "b")):
            await worker.sync(client, prefix, name)
        assert (a.peers, b.peers) == (2, 2)
        # So one client served by worker A alone gets half of what is left, not a third.
        allowed = sum(a.check("public", "k2") is None for _ in range(100))
        assert allowed == 50
    finally:
        keys = [k async for k in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
