"""Issue #13 items 6-8: input that used to be a 500, internals in answers, headers on errors."""

from __future__ import annotations

import re

from waitless.api import keys
from waitless.live.redis_store import RedisLiveStore

TOKEN = "review-token-0123456789"
# A PostgreSQL that refuses connections: nothing listens on port 1.
DEAD_DATABASE = "postgresql://postgres@127.0.0.1:1/waitless"
DEAD_REDIS = "redis://127.0.0.1:1/0"
_INTERNALS = re.compile(r"127\.0\.0\.1|6379|', 1\)|Connect call|Errno|/tmp/|/work/|\.py\b|"
                        r"Traceback")


async def test_superscript_limit_is_a_400(make_client) -> None:
    client = await make_client()
    response = await client.get("/v1/rank", params={"lat": "51.28", "lon": "1.07",
                                                    "limit": "\u00b2"})
    assert response.status == 400
    body = await response.json()
    assert body["field"] == "limit"


async def test_non_ascii_session_cookie_is_not_signed_in(make_client) -> None:
    client = await make_client(commissioner_token=TOKEN, cookie_secure=False)
    client.session.cookie_jar.update_cookies({"waitless_commissioner": "a.1.\u00e9"})
    page = await client.get("/commissioners", allow_redirects=False)
    assert page.status == 200  # the sign-in form, not a 500 and not signed in
    csv = await client.get("/commissioners/events.csv", allow_redirects=False)
    assert csv.status == 401


async def test_far_future_event_dates_are_a_400(make_client) -> None:
    client = await make_client(commissioner_token=TOKEN)
    response = await client.get("/v1/stats/events", params={"from": "9999-12-30",
                                                             "to": "9999-12-31"},
                                headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status == 400
    assert "9999-12-31" in (await response.json())["message"]


async def test_database_outage_answer_names_no_host(make_client) -> None:
    client = await make_client(database_url=DEAD_DATABASE)
    sites = await (await client.get("/v1/sites")).json()
    site_id = sites["sites"][0]["site_id"]
    # Past the pause after the start-up attempt: this request itself meets the refused connect.
    client.app[keys.DATABASE]._retry_at = 0.0
    response = await client.post("/v1/choices", json={"site_id": site_id})
    assert response.status == 503
    text = await response.text()
    assert (await response.json())["error"] == "database_unavailable"
    assert _INTERNALS.search(text) is None


async def test_sites_and_readyz_name_no_hosts_or_paths(make_client) -> None:
    # A real outage (nothing listens there), not a hand-set error: the snapshot's own reloads
    # keep failing, so nothing clears it while the test runs.
    dead_store = RedisLiveStore.from_url(DEAD_REDIS)
    client = await make_client(database_url=DEAD_DATABASE, live_store=dead_store)
    snapshot = client.app[keys.SNAPSHOT]
    assert snapshot.error is not None and "127.0.0.1" in snapshot.error
    snapshot.feed_statuses = {"trust": {
        "ok": False, "circuit": "open", "last_error_reason": "connection",
        "last_error": "Cannot connect to host 127.0.0.1:9 ssl:default [Connect call failed]",
        "consecutive_failures": 3}}
    # Make the event log notice the dead database.
    await client.post("/v1/choices", json={"site_id": "x"})
    client.app[keys.EVENT_LOG].last_error = "Connect call failed ('127.0.0.1', 1)"
    sites = await client.get("/v1/sites")
    sites_text = await sites.text()
    assert _INTERNALS.search(sites_text) is None
    body = await sites.json()
    assert body["feeds"]["trust"]["last_error"] == "connection"
    assert body["live_store_error"] == "live store unavailable"
    ready = await client.get("/readyz")
    ready_text = await ready.text()
    assert _INTERNALS.search(ready_text) is None
    assert "live_store" in (await ready.json())["degraded"]
    await dead_store.close()


async def test_server_header_names_no_versions(make_client) -> None:
    client = await make_client()
    for path in ("/healthz", "/v1/no-such-path", "/static/no-such-file.css"):
        response = await client.get(path)
        assert response.headers["Server"] == "WaitLess", path


async def test_error_answers_carry_security_headers(make_client) -> None:
    client = await make_client(commissioner_token=TOKEN)
    not_found = await client.get("/v1/no-such-path")
    wrong_method = await client.delete("/v1/rank")
    too_large = await client.post("/v1/stats/nhse", data=b"x" * (5 * 1024 * 1024),
                                  headers={"Authorization": f"Bearer {TOKEN}",
                                           "Content-Type": "text/csv"})
    assert [not_found.status, wrong_method.status, too_large.status] == [404, 405, 413]
    for response in (not_found, wrong_method, too_large):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Server"] == "WaitLess"


async def test_internal_error_carries_security_headers(make_client) -> None:
    client = await make_client()

    async def broken(_request):
        raise RuntimeError("a bug")

    # A route that fails like a bug would: answered 500 by the outer middleware.
    client.app.router._frozen = False
    client.app.router.add_get("/v1/broken-for-test", broken)
    response = await client.get("/v1/broken-for-test")
    assert response.status == 500
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "a bug" not in await response.text()


async def test_private_answers_are_not_cached(make_client) -> None:
    client = await make_client(commissioner_token=TOKEN, cookie_secure=False)
    stats = await client.get("/v1/stats/events", headers={"Authorization": f"Bearer {TOKEN}"})
    assert stats.headers["Cache-Control"] == "no-store"
    login = await client.post("/commissioners/login", data={"token": TOKEN},
                              allow_redirects=False)
    assert login.status == 303
    page = await client.get("/commissioners/events")
    assert page.headers["Cache-Control"] == "no-store"
    public = await client.get("/v1/conditions")
    assert "no-store" not in public.headers.get("Cache-Control", "")
