"""A Redis outage under the commissioners' dashboard is an outage, not a flood of bad sign-ins.

Sign-outs live in Redis, so while it cannot be asked a session cannot be checked and is refused
(fail closed). That refusal once went through the same path as a forged cookie: each page view
was counted as a failed authentication, ten of them locked the client out with 429 for the rest
of the window, and signing in again stayed refused after Redis had returned. Real Redis, cut
and restored with :class:`tests.tcpproxy.TcpProxy`; the rate limiter's clock is pinned so the
test never straddles a window.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient

from tests.api.page.test_browser import CHROMIUM, LAUNCH_ARGS, PHONE, _axe_violations
from tests.conftest import REDIS_URL, eventually
from tests.tcpproxy import TcpProxy
from waitless.api.app import create_app
from waitless.api.auth import SESSION_COOKIE
from waitless.api.rate_limits import LIMITER
from waitless.domain.region import Region
from waitless.settings import Settings

TOKEN = "commissioner-token-for-the-outage"
# 30 s into a minute: the default limits count per minute, and every request here is made
# at this instant on the limiter's clock.
MID_WINDOW_UNIX = 1_800_000_030.0
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
async def redis_proxy() -> AsyncIterator[TcpProxy]:
    target = urlsplit(REDIS_URL)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 6379)
    await proxy.start()
    yield proxy
    await proxy.stop()


async def _sign_in(client: TestClient) -> tuple[int, dict[str, str]]:
    response = await client.post("/commissioners/login", data={"token": TOKEN},
                                 allow_redirects=False)
    cookie = {}
    if SESSION_COOKIE in response.cookies:
        morsel = SimpleCookie(response.headers["Set-Cookie"])[SESSION_COOKIE]
        cookie = {"Cookie": f"{SESSION_COOKIE}={morsel.value}"}
    return response.status, cookie


@pytest.fixture
async def client(aiohttp_client, kent: Region, tmp_path: Path, redis_prefix: str,
                 redis_proxy: TcpProxy, request: pytest.FixtureRequest) -> TestClient:
    """The dashboard with a token, its Redis (live store, sign-outs, rate limits) reached through
    ``redis_proxy``, under a key prefix of its own, the limiter's clock pinned mid-window."""
    settings = Settings(spool_dir=str(tmp_path / "spool"), commissioner_token=TOKEN,
                        cookie_secure=False,
                        redis_url=f"redis://127.0.0.1:{redis_proxy.port}/0",
                        redis_prefix=f"{redis_prefix}:{request.node.name}")
    # The live store is that Redis too, as in production: the patient page meets the outage.
    app = create_app(settings, region=kent)
    app[LIMITER].clock = lambda: MID_WINDOW_UNIX
    return await aiohttp_client(app)


async def test_a_redis_outage_answers_503_and_is_not_a_failed_sign_in(
        client: TestClient, redis_proxy: TcpProxy) -> None:
    status, cookie = await _sign_in(client)
    assert status == 303 and cookie

    await redis_proxy.stop()
    answers = []
    for _ in range(15):  # more than the 10 failed authentications a client may make
        response = await client.get("/commissioners/shift", headers=cookie,
                                    allow_redirects=False)
        body = await response.json() if response.content_type == "application/json" else None
        answers.append((response.status, body["error"] if body else None))
    # Before: 10 x 303 (sent to the sign-in as if the cookie were forged), then 5 x 429.
    assert answers == [(503, "live_store_unavailable")] * 15

    await redis_proxy.start()
    status, cookie_again = await _sign_in(client)
    assert status == 303 and cookie_again  # before: 429 until the window ended
    # The session from before the outage is good again: the sign-in page sends it on.
    index = await client.get("/commissioners", headers=cookie, allow_redirects=False)
    assert (index.status, index.headers["Location"]) == (303, "/commissioners/shift")


async def test_a_forged_cookie_is_still_counted_as_a_failed_sign_in(
        client: TestClient) -> None:
    """The outage is not counted; a cookie that is not ours still is, with Redis answering."""
    forged = {"Cookie": f"{SESSION_COOKIE}=abc.9999999999.{'0' * 64}"}
    statuses = [(await client.get("/commissioners/shift", headers=forged,
                                  allow_redirects=False)).status for _ in range(12)]
    assert statuses == [303] * 10 + [429] * 2


async def test_a_browser_on_the_dashboard_is_told_what_the_outage_means(
        client: TestClient, redis_proxy: TcpProxy) -> None:
    """A page of its own, 503 with Retry-After; programs keep the JSON; patients are served."""
    status, cookie = await _sign_in(client)
    assert status == 303 and cookie
    await redis_proxy.stop()

    page = await client.get("/commissioners/shift", headers={**cookie, **BROWSER},
                            allow_redirects=False)
    text = await page.text()
    # Before: the general "Sorry, there is a problem with the service" page, no Retry-After.
    assert (page.status, page.content_type, page.headers.get("Retry-After")) == (
        503, "text/html", "30")
    assert "Sign-in is temporarily unavailable" in text
    assert "Sign-in and session checks for the commissioners' dashboard are temporarily " \
           "unavailable" in text
    assert "The dashboard will be back when the live store returns." in text
    assert "Nothing is lost" in text
    assert "The patient page" in text and "still works meanwhile" in text
    assert "problem with the service" not in text and "What you just sent" not in text
    # A sign-out in the outage is not done, and the page says so.
    out = await client.post("/commissioners/logout", headers={**cookie, **BROWSER},
                            allow_redirects=False)
    assert (out.status, out.headers.get("Retry-After")) == (503, "30")
    assert "What you just sent (a sign-out or an upload) was not carried out" in await out.text()

    program = await client.get("/commissioners/shift", headers=cookie, allow_redirects=False)
    assert (program.status, program.headers.get("Retry-After")) == (503, "30")
    assert await program.json() == {"error": "live_store_unavailable",
                                    "message": "the live store is unavailable; try again shortly"}
    # What the page claims: the patient page answers from the last snapshot.
    patient = await client.get("/", params={"lat": "51.2802", "lon": "1.0789",
                                            "condition": "sprain_strain"}, headers=BROWSER)
    assert patient.status == 200
    assert "Find urgent care with the shortest wait" in await patient.text()


async def _sign_in_page(client: TestClient) -> tuple[int, str | None, str]:
    page = await client.get("/commissioners", headers=BROWSER, allow_redirects=False)
    return page.status, page.headers.get("Retry-After"), await page.text()


async def _outage_page(client: TestClient) -> tuple[int, str | None, str] | None:
    """The sign-in page once it is not the normal one (``None`` while it is)."""
    answer = await _sign_in_page(client)
    return answer if answer[0] != 200 else None


async def test_the_sign_in_page_says_sign_in_is_unavailable_during_the_outage(
        client: TestClient, redis_proxy: TcpProxy) -> None:
    """The form is replaced by what the outage means, and back when Redis answers."""
    notice = "Sign-in is temporarily unavailable"
    status, retry_after, text = await _sign_in_page(client)
    assert (status, retry_after, notice in text, 'id="sign-in"' in text) == (200, None, False,
                                                                              True)

    await redis_proxy.stop()
    # The page asks Redis nothing: it follows the snapshot's reloads (about a second).
    # Before: 200 and the normal form, whose sign-in led straight to the outage page.
    status, retry_after, text = await eventually(lambda: _outage_page(client),
                                                 what="the outage noticed")
    assert (status, retry_after) == (503, "30")
    assert "<title>Sign-in temporarily unavailable" in text
    above_form = text.split("<h1>Commissioners' statistics</h1>", 1)[1]
    assert above_form.lstrip().startswith('<div class="nhsuk-warning-callout" '
                                          'id="sign-in-unavailable">')
    assert notice in above_form
    assert ("The live store that records sign-outs is not answering, so WaitLess cannot check "
            "a session: signing in now would not open the dashboard.") in text
    assert 'href="/commissioners">reload this page</a>' in text
    assert "Find urgent care</a>, still works meanwhile" in text
    assert "<form" not in text and 'id="token"' not in text

    await redis_proxy.start()

    async def available() -> tuple[int, str | None, str] | None:
        answer = await _sign_in_page(client)
        return answer if answer[0] == 200 else None

    status, retry_after, text = await eventually(available, what="Redis answering again")
    assert (retry_after, notice in text, 'id="sign-in"' in text) == (None, False, True)
    assert (await _sign_in(client))[0] == 303


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium not installed at /usr/bin/chromium")
async def test_the_outage_sign_in_page_passes_axe_in_chromium(
        client: TestClient, redis_proxy: TcpProxy) -> None:
    from playwright.async_api import async_playwright

    await redis_proxy.stop()
    await eventually(lambda: _outage_page(client), what="the outage noticed")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            # CSP forbids inline scripts, so axe is injected through a page without the header.
            context = await browser.new_context(viewport=PHONE, bypass_csp=True)
            page = await context.new_page()
            await page.goto(str(client.make_url("/commissioners")))
            assert await page.get_by_role("heading", name="Sign-in is temporarily "
                                          "unavailable").is_visible()
            assert await page.get_by_role("link", name="reload this page").is_visible()
            assert await page.get_by_role("button", name="Sign in").count() == 0
            violations = await _axe_violations(page)
            assert violations == [], [(v["id"], v["help"]) for v in violations]
        finally:
            await browser.close()
