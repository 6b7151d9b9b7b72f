"""Issue #13 items 2, 4, 5: failed sign-ins limited, cross-site POSTs refused, push hardened."""

from __future__ import annotations

import asyncio
import io
import logging
import shutil
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from waitless.api.app import create_app
from waitless.domain.region import Region, load_region, resolve_region_path
from waitless.live.store import MemoryLiveStore
from waitless.settings import Settings

TOKEN = "commissioner-token-for-review"
PUSH_TOKEN = "push-s3cret"
PUSH_FEED = """
[[feeds]]
name = "kent-push"
format = "bc_push"
service = "utc"
sites = { "kch" = "RVVKC", "whh" = "RVV01" }

[[feeds]]
name = "trust-native"
format = "native"

[validation]
max_body_bytes = 200000
"""
FAILURES = 3


@pytest.fixture
def push_region(tmp_path: Path) -> Region:
    path = tmp_path / "kent-push.toml"
    bundled = resolve_region_path("kent-medway")
    path.write_text(bundled.read_text() + PUSH_FEED)
    shutil.copy(bundled.with_name("kent-medway-places.csv"), tmp_path)
    return load_region(str(path))


@pytest.fixture
def make_push_client(aiohttp_client, push_region: Region, fixed_now: datetime, tmp_path: Path):
    async def make(**changes: object):
        settings = Settings(spool_dir=str(tmp_path / "spool"), commissioner_token=TOKEN,
                            cookie_secure=False,
                            push_tokens=(("kent-push", PUSH_TOKEN), ("trust-native", "n4tive")),
                            **changes)
        app = create_app(settings, region=push_region, live_store=MemoryLiveStore(),
                         clock=lambda: fixed_now)
        return await aiohttp_client(app)
    return make


def bc_body(entries: list[dict], token: str | None = None) -> bytes:
    document: dict = {"waitTimes": entries}
    if token is not None:
        document["token"] = token
    return orjson.dumps(document)


# (method, path, request keyword arguments with a wrong credential, with the right one)
WRONG = {"Authorization": "Bearer wrong-guess"}
AUTHENTICATED = [
    ("GET", "/v1/stats/shift", {"headers": WRONG},
     {"headers": {"Authorization": f"Bearer {TOKEN}"}}),
    ("GET", "/v1/stats/events", {"headers": WRONG},
     {"headers": {"Authorization": f"Bearer {TOKEN}"}}),
    ("POST", "/v1/stats/nhse", {"headers": WRONG, "data": b"a,b\n"},
     {"headers": {"Authorization": f"Bearer {TOKEN}"}, "data": b"a,b\n"}),
    ("POST", "/v1/feeds/kent-push/observations", {"headers": WRONG, "data": bc_body([])},
     {"headers": {"Authorization": f"Bearer {PUSH_TOKEN}"}, "data": bc_body([])}),
    ("POST", "/v1/feeds/no-such-feed/observations", {"headers": WRONG, "data": b"{}"},
     {"headers": WRONG, "data": b"{}"}),
    ("POST", "/commissioners/login", {"data": {"token": "wrong-guess"}},
     {"data": {"token": TOKEN}}),
    ("GET", "/commissioners/events.csv", {"cookies": {"waitless_commissioner": "a.1.b"}},
     {"cookies": {"waitless_commissioner": "a.1.b"}}),
    ("GET", "/commissioners/shift.csv", {"cookies": {"waitless_commissioner": "a.1.b"}},
     {"cookies": {"waitless_commissioner": "a.1.b"}}),
]
# Pages answer a refused cookie with a redirect to the sign-in, not a 401.
FORGED = {"waitless_commissioner": "forged.1.mac"}
PAGES = ["/commissioners/shift", "/commissioners/events"]


@pytest.mark.parametrize(("method", "path", "wrong", "right"), AUTHENTICATED,
                         ids=[f"{m} {p}" for m, p, _, _ in AUTHENTICATED])
async def test_failed_authentications_are_limited(make_push_client, method, path, wrong,
                                                  right) -> None:
    client = await make_push_client(auth_failure_limit=f"{FAILURES}/hour")
    statuses = []
    for _ in range(FAILURES + 2):
        cookies = wrong.get("cookies")
        client.session.cookie_jar.clear()
        if cookies:
            client.session.cookie_jar.update_cookies(cookies)
        kwargs = {k: v for k, v in wrong.items() if k != "cookies"}
        response = await client.request(method, path, allow_redirects=False, **kwargs)
        statuses.append(response.status)
    assert statuses == [401] * FAILURES + [429, 429]
    assert response.headers["Retry-After"]
    # Locked out: even the right credential waits for the window (a guesser cannot tell).
    kwargs = {k: v for k, v in right.items() if k != "cookies"}
    late = await client.request(method, path, allow_redirects=False, **kwargs)
    assert late.status == 429


@pytest.mark.parametrize("path", PAGES)
async def test_forged_cookies_on_pages_are_limited(make_push_client, path) -> None:
    client = await make_push_client(auth_failure_limit=f"{FAILURES}/hour")
    client.session.cookie_jar.update_cookies(FORGED)
    statuses = [(await client.get(path, allow_redirects=False)).status
                for _ in range(FAILURES + 1)]
    assert statuses == [303] * FAILURES + [429]
    # Without a cookie (a visitor, not a guess) a page only redirects: never counted.
    fresh = await make_push_client(auth_failure_limit=f"{FAILURES}/hour")
    assert {(await fresh.get(path, allow_redirects=False)).status
            for _ in range(FAILURES + 2)} == {303}


async def test_right_credentials_are_not_counted(make_push_client) -> None:
    client = await make_push_client(auth_failure_limit=f"{FAILURES}/hour")
    for _ in range(3 * FAILURES):
        response = await client.get("/v1/stats/events",
                                    headers={"Authorization": f"Bearer {TOKEN}"})
        # Authenticated, then no database configured here: 503, never 401 or 429.
        assert response.status == 503


async def test_push_checks_the_token_before_reading_the_body(make_push_client) -> None:
    client = await make_push_client()
    oversized = b"x" * 300_000  # over max_body_bytes: reading it would answer 413
    wrong = await client.post("/v1/feeds/kent-push/observations", data=oversized,
                              headers={"Authorization": "Bearer wrong"})
    assert wrong.status == 401
    # A format with no token in its body needs the header: refused without reading.
    bare = await client.post("/v1/feeds/trust-native/observations", data=oversized)
    assert bare.status == 401
    right = await client.post("/v1/feeds/trust-native/observations", data=oversized,
                              headers={"Authorization": "Bearer n4tive"})
    assert right.status == 413


async def test_push_does_not_say_which_feeds_exist(make_push_client) -> None:
    client = await make_push_client()
    answers = []
    for feed in ("kent-push", "no-such-feed", "simulator"):
        response = await client.post(f"/v1/feeds/{feed}/observations", data=bc_body([]),
                                     headers={"Authorization": "Bearer wrong"})
        answers.append((response.status, await response.json()))
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 401


async def test_pushed_strings_are_escaped_and_summarised_in_the_log(
        make_push_client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    client = await make_push_client()
    entries = [{"emergencyDepartment": f"evil\x00site\n{n}\x1b[31m", "waitTimeMinutes": 10}
               for n in range(2000)]
    response = await client.post("/v1/feeds/kent-push/observations",
                                 data=bc_body(entries, token=PUSH_TOKEN),
                                 headers={"Content-Type": "application/json"})
    assert response.status == 200
    assert len((await response.json())["rejected"]) == 2000
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("feeds")]
    assert 1 <= len(lines) <= 6
    assert any("more new rejections" in line for line in lines)
    for line in lines:
        assert "\x00" not in line and "\n" not in line and "\x1b" not in line
        assert len(line) < 600


# --- cross-site requests (item 4) ---

async def test_choices_refuse_text_plain_and_foreign_origins(make_push_client) -> None:
    client = await make_push_client()
    body = orjson.dumps({"site_id": "RVVKC"})
    plain = await client.post("/v1/choices", data=body, headers={"Content-Type": "text/plain"})
    assert plain.status == 415
    foreign = await client.post("/v1/choices", data=body, headers={
        "Content-Type": "application/json", "Origin": "https://evil.example"})
    assert foreign.status == 403
    assert (await foreign.json())["error"] == "cross_site_request"
    null = await client.post("/v1/choices", data=body, headers={
        "Content-Type": "application/json", "Origin": "null"})
    assert null.status == 403
    sandboxed = await client.post("/v1/choices", data=body, headers={
        "Content-Type": "application/json", "Origin": "null", "Sec-Fetch-Site": "cross-site"})
    assert sandboxed.status == 403
    fetch_site = await client.post("/v1/choices", data=body, headers={
        "Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"})
    assert fetch_site.status == 403
    # From our own page (same host): past the check (no database here: 503, not 403).
    own = await client.post("/v1/choices", data=body, headers={
        "Content-Type": "application/json", "Origin": f"http://{client.host}:{client.port}"})
    assert own.status == 503


async def test_choices_accept_a_configured_cors_origin(make_push_client) -> None:
    client = await make_push_client(cors_origins=("https://app.example.org",))
    response = await client.post("/v1/choices", json={"site_id": "RVVKC"},
                                 headers={"Origin": "https://app.example.org"})
    assert response.status == 503  # accepted as same-site; the database is not configured


async def test_dashboard_posts_refuse_foreign_origins(make_push_client) -> None:
    client = await make_push_client()
    own = {"Origin": f"http://{client.host}:{client.port}"}
    evil = {"Origin": "https://evil.example"}
    forged_login = await client.post("/commissioners/login", data={"token": TOKEN},
                                     headers=evil, allow_redirects=False)
    assert forged_login.status == 403
    # Our own form under Referrer-Policy: no-referrer: the browser sends Origin: null.
    own_form = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    assert (await client.post("/commissioners/login", data={"token": TOKEN}, headers=own_form,
                              allow_redirects=False)).status == 303
    login = await client.post("/commissioners/login", data={"token": TOKEN}, headers=own,
                              allow_redirects=False)
    assert login.status == 303
    forged_upload = await client.post("/commissioners/upload", data={"file": io.BytesIO(b"a,b\n")},
                                      headers=evil, allow_redirects=False)
    assert forged_upload.status == 403
    forged_logout = await client.post("/commissioners/logout", headers=evil,
                                      allow_redirects=False)
    assert forged_logout.status == 403
    still_in = await client.get("/commissioners/events", allow_redirects=False)
    assert still_in.status != 303  # still signed in (not sent to the sign-in page)
    logout = await client.post("/commissioners/logout", headers=own, allow_redirects=False)
    assert logout.status == 303


# Credentials and sign-in forms that are not valid UTF-8 are refused, not a 500.
#
# aiohttp decodes header bytes that are not UTF-8 as surrogate escapes; encoding such a str
# for ``hmac.compare_digest`` raised UnicodeEncodeError (a 500 with a traceback), which the
# failed-authentication limit did not count, so one client could write tracebacks to the log
# without end. The sign-in form likewise raised on a body aiohttp could not decode.
BAD = b"\xff\xfe"


async def raw(port: int, head: bytes, body: bytes = b"") -> int:
    """Send one HTTP/1.1 request as bytes; the answer's status code."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head + b"Host: 127.0.0.1\r\nConnection: close\r\n"
                 + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return int(status_line.split()[1])


STATS = b"GET /v1/stats/shift HTTP/1.1\r\nAuthorization: Bearer " + BAD + b"\r\n"
PUSH = (b"POST /v1/feeds/kent-push/observations HTTP/1.1\r\nAuthorization: Bearer " + BAD
        + b"\r\nContent-Type: application/json\r\n")
COOKIE = b"GET /commissioners/events.csv HTTP/1.1\r\nCookie: waitless_commissioner=a" + BAD \
    + b".1." + BAD + b"\r\n"


async def test_undecodable_credentials_are_401_and_counted(make_push_client) -> None:
    client = await make_push_client(auth_failure_limit=f"{FAILURES}/hour")
    port = client.server.port
    assert await raw(port, STATS) == 401
    assert await raw(port, PUSH, b"{}") == 401
    assert await raw(port, COOKIE) == 401
    # Counted as failed authentications like any wrong token: the next is refused.
    assert await raw(port, STATS) == 429


async def test_undecodable_sign_in_forms_are_400(make_push_client) -> None:
    client = await make_push_client()
    port = client.server.port
    login = b"POST /commissioners/login HTTP/1.1\r\n"
    form = b"Content-Type: application/x-www-form-urlencoded"
    assert await raw(port, login + form + b"\r\n", b"token=" + BAD) == 400
    assert await raw(port, login + form + b"; charset=no-such-charset\r\n", b"token=x") == 400
    assert await raw(port, login + b"Content-Type: multipart/form-data\r\n", b"x") == 400
    multipart = (b"--zz\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\n" + BAD
                 + b"\r\n--zz--\r\n")
    assert await raw(port, login + b"Content-Type: multipart/form-data; boundary=zz\r\n",
                     multipart) == 400


async def test_an_undecodable_upload_file_name_is_a_400(make_push_client) -> None:
    client = await make_push_client()
    body = (b"--zz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + BAD
            + b".csv\"\r\n\r\na,b\r\n1,2\r\n--zz--\r\n")
    head = (b"POST /v1/stats/nhse HTTP/1.1\r\nAuthorization: Bearer "
            + b"commissioner-token-for-review\r\n"
            + b"Content-Type: multipart/form-data; boundary=zz\r\n")
    assert await raw(client.server.port, head, body) == 400
