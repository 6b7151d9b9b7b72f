"""Issue 15: the patient page puts the answer first, on a phone and on a desktop.

Real Chromium through Playwright against a served app (skipped without /usr/bin/chromium);
every state is checked with axe-core and photographed into test-artifacts/ (not committed).
"""

from __future__ import annotations

import pytest

from .conftest import CANTERBURY
from .test_browser import ARTIFACTS, CHROMIUM, _axe_violations, browser, served  # noqa: F401

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
VIEWPORTS = [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP, id="desktop")]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium not installed at /usr/bin/chromium"),
]


async def _check(page, name: str, viewport: dict) -> None:
    """No serious or critical axe violation in this state, and a screenshot of it."""
    violations = await _axe_violations(page)
    assert violations == [], (name, [(v["id"], v["help"]) for v in violations])
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"issue15-{name}-{viewport['width']}.png"))


async def _within_first_viewport(page, selector: str, viewport: dict) -> None:
    # Not scrolled: focus() on the answer scrolls it into view, so a box inside the viewport
    # after a scroll says nothing about the first screen.
    assert await page.evaluate("() => window.scrollY") == 0, selector
    box = await page.locator(selector).bounding_box()
    assert box is not None, selector
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], (selector, box)


async def _located(browser, viewport):  # noqa: F811
    lat, lon = CANTERBURY
    return await browser.new_context(viewport=viewport, bypass_csp=True,
                                     geolocation={"latitude": lat, "longitude": lon},
                                     permissions=["geolocation"])


@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_answer_and_its_buttons_fill_the_first_screen(served, browser, viewport  # noqa: F811
                                                            ) -> None:
    context = await _located(browser, viewport)
    page = await context.new_page()
    await page.goto(served + "/")
    await page.get_by_role("button", name="Use my location").click()
    await page.wait_for_selector("#answer")
    heading = await page.locator("#answer-heading").inner_text()
    api = await (await page.request.get(
        served + f"/v1/rank?lat={CANTERBURY[0]:.5f}&lon={CANTERBURY[1]:.5f}")).json()
    best = api["results"][0]
    assert heading.startswith(f"Go to {best['name']} ")
    # The range runs from travel + p50 to travel + p90, rounded outwards to 5 minutes.
    low = int((best["travel_minutes"] + best["predicted_wait_minutes"]) // 5) * 5
    assert f"about {low}" in heading and "in total" in heading
    for selector in ("#answer-heading", "#answer-directions", "#answer-call"):
        await _within_first_viewport(page, selector, viewport)
    assert (await page.locator("#answer-call").get_attribute("href")).startswith("tel:+44")
    assert "travelmode=driving" in await page.locator("#answer-directions").get_attribute("href")
    # Focus moved to the answer for screen readers.
    assert await page.evaluate("() => document.activeElement.id") == "answer"
    # The search is collapsed behind "Change search".
    assert not await page.locator("#search-form").is_visible()
    await _check(page, "answer", viewport)
    await context.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_chest_pain_puts_a_999_call_first(served, browser, viewport) -> None:  # noqa: F811
    context = await browser.new_context(viewport=viewport, bypass_csp=True)
    page = await context.new_page()
    await page.goto(served + "/?place=Canterbury&condition=chest_pain")
    first = page.locator("main > :first-child")
    assert await first.get_attribute("id") == "emergency"
    call = first.get_by_role("link", name="Call 999")
    assert await call.get_attribute("href") == "tel:999"
    await _within_first_viewport(page, "#call-999", viewport)
    assert await page.locator("li.waitless-result").count() == 0
    await _check(page, "chest-pain", viewport)
    await context.close()


async def test_device_location_survives_a_change_of_condition(served, browser) -> None:  # noqa: F811
    context = await _located(browser, PHONE)
    page = await context.new_page()
    await page.goto(served + "/")
    await page.get_by_role("button", name="Use my location").click()
    await page.wait_for_selector("#answer")
    await page.locator("#search > summary").click()
    await page.get_by_label("What is the problem? (optional)").select_option("minor_burn")
    await page.get_by_role("button", name="Find care").click()
    await page.wait_for_selector("#answer")
    assert "condition=minor_burn" in page.url and f"lat={CANTERBURY[0]:.5f}" in page.url
    assert await page.locator("li.waitless-result").count() >= 1
    await _check(page, "location-kept", PHONE)
    await context.close()


async def test_empty_submit_shows_an_error_summary(served, browser) -> None:  # noqa: F811
    context = await browser.new_context(viewport=PHONE, bypass_csp=True)
    page = await context.new_page()
    await page.goto(served + "/")
    await page.get_by_role("button", name="Find care").click()
    summary = page.locator(".nhsuk-error-summary")
    await summary.wait_for()
    assert "Enter a town or postcode" in await summary.inner_text()
    assert await page.evaluate("() => document.activeElement.id") == "error-summary"
    await _check(page, "empty-submit", PHONE)
    await context.close()


async def test_age_in_months_is_accepted_and_leaves_out_units_for_older_children(
        served, browser) -> None:  # noqa: F811
    context = await browser.new_context(viewport=PHONE, bypass_csp=True)
    page = await context.new_page()
    await page.goto(served + "/?place=Canterbury&age=6+months")
    await page.wait_for_selector("#answer")
    # Minor injury units see children from 1 year: a 6-month-old is told why they are left out.
    left_out = await page.locator("#left-out").inner_text()
    assert "not listed because of the problem or age you gave" in left_out
    assert await page.locator(".nhsuk-error-summary").count() == 0
    await _check(page, "age-6-months", PHONE)
    await context.close()


async def test_a_browser_404_is_an_html_page_and_the_api_keeps_json(served, browser  # noqa: F811
                                                                     ) -> None:
    context = await browser.new_context(viewport=PHONE, bypass_csp=True)
    page = await context.new_page()
    response = await page.goto(served + "/no-such-page")
    assert response.status == 404
    assert await page.get_by_role("heading", name="Page not found").is_visible()
    await _check(page, "404", PHONE)
    api = await page.request.get(served + "/v1/no-such-thing")
    assert api.status == 404 and (await api.json())["error"] == "not_found"
    await context.close()


async def test_offline_reload_shows_the_last_answer_with_its_age(served, browser) -> None:  # noqa: F811
    context = await browser.new_context(viewport=PHONE, bypass_csp=True)
    page = await context.new_page()
    await page.goto(served + "/?place=Canterbury")
    await page.wait_for_selector("#answer")
    await page.evaluate("() => navigator.serviceWorker.ready")
    await page.reload()  # now controlled by the service worker, which keeps this answer
    await page.wait_for_selector("#answer")
    heading = await page.locator("#answer-heading").inner_text()
    await context.set_offline(True)
    await page.reload()
    await page.wait_for_selector("#offline-notice")
    assert await page.locator("#answer-heading").inner_text() == heading
    notice = await page.locator("#offline-notice").inner_text()
    assert notice.startswith("You are offline. This is the last answer we had, from ")
    assert " ago)" in notice
    await _check(page, "offline", PHONE)
    await context.close()


@pytest.fixture
def choices_dsn():
    """A PostgreSQL database of this test's own, dropped afterwards."""
    from tests.conftest import temporary_database
    yield from temporary_database("choices")


@pytest.fixture
async def served_with_db(kent, fixed_now, tmp_path, choices_dsn):
    """The app with its own database, so choices are recorded."""

    from tests.conftest import serving
    from waitless.api.app import create_app
    from waitless.settings import Settings

    from .conftest import seeded_store
    dsn = choices_dsn
    store = await seeded_store(kent, fixed_now)
    app = create_app(Settings(spool_dir=str(tmp_path / "spool"), database_url=dsn),
                     region=kent, live_store=store, clock=lambda: fixed_now)
    async with serving(app) as url:
        yield url, dsn


async def test_im_going_here_records_the_choice(served_with_db, browser) -> None:  # noqa: F811
    import asyncpg

    base, dsn = served_with_db
    context = await browser.new_context(viewport=PHONE, bypass_csp=True)
    page = await context.new_page()
    await page.goto(base + "/?place=Canterbury")
    await page.wait_for_selector("#answer")
    event_id = await page.locator("#answer").get_attribute("data-event-id")
    async with page.expect_request(lambda r: r.url.endswith("/v1/choices")) as sent:
        await page.get_by_role("button", name="I'm going here").click()
    # The region that ranked the answer goes with the choice (several regions: docs/regions.md).
    assert (await sent.value).post_data_json == {"site_id": "RVVKC", "kind": "utc",
                                                 "event_id": event_id, "region": "kent-medway"}
    await page.get_by_text("Thank you: your choice helps the NHS plan.").wait_for()
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT site_id, kind, event_id::text AS event_id"
                                " FROM patient_choices")
    finally:
        await conn.close()
    assert [dict(r) for r in rows] == [{"site_id": "RVVKC", "kind": "utc",
                                        "event_id": event_id}]
    await _check(page, "chosen", PHONE)
    await context.close()


async def test_without_javascript_the_form_still_answers(served, browser) -> None:  # noqa: F811
    context = await browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = await context.new_page()
    await page.goto(served + "/")
    await page.get_by_label("Town or postcode").fill("CT1")
    await page.get_by_label("Age of the patient (optional)").fill("18m")
    await page.get_by_role("button", name="Find care").click()
    await page.wait_for_selector("#answer")
    assert (await page.locator("#answer-heading").inner_text()).startswith("Go to ")
    assert not await page.get_by_role("button", name="I'm going here").is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "issue15-no-js-390.png"))
    await context.close()


async def test_no_console_errors_under_the_real_csp(served, browser) -> None:  # noqa: F811
    # The page's own policy is enforced here (no bypass): the NHS.UK font rules it used to
    # refuse are gone, and the map is inline SVG, so nothing is blocked or logged.
    context = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    for path in ("/", "/?place=CT1", "/?place=CT1&condition=chest_pain", "/privacy"):
        await page.goto(served + path)
        await page.wait_for_load_state("networkidle")
    assert errors == []
    await context.close()
