"""The patient page in a real browser (Chromium through Playwright) against a served app.

Skipped when /usr/bin/chromium is absent (CI installs it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from aiohttp import web

from tests.api.test_multiregion_places import region_file
from tests.conftest import REPO_ROOT, serving
from waitless.api.app import create_app
from waitless.domain.region import Region, load_region
from waitless.live.store import MemoryLiveStore
from waitless.settings import Settings

from .conftest import CANTERBURY, make_app, seeded_store

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
ARTIFACTS = REPO_ROOT / "test-artifacts"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium not installed at /usr/bin/chromium"),
]


@pytest.fixture
async def served(kent: Region, fixed_now: datetime, tmp_path: Path) -> AsyncIterator[str]:
    store = await seeded_store(kent, fixed_now)
    async with serving(make_app(kent, store, fixed_now, tmp_path)) as url:
        yield url


@pytest.fixture
async def browser():
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        instance = await pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield instance
        await instance.close()


async def _result_ids(page) -> list[str]:
    return await page.locator("li.waitless-result").evaluate_all(
        "items => items.map(i => i.dataset.siteId)")


async def test_geolocation_ranks_like_the_api(served, browser) -> None:
    lat, lon = CANTERBURY
    context = await browser.new_context(viewport=PHONE, geolocation={"latitude": lat,
                                                                     "longitude": lon},
                                        permissions=["geolocation"])
    page = await context.new_page()
    await page.goto(served + "/")
    await page.get_by_role("button", name="Use my location").click()
    await page.wait_for_selector("li.waitless-result")
    shown = await _result_ids(page)
    api = await page.request.get(served + f"/v1/rank?lat={lat:.5f}&lon={lon:.5f}")
    expected = [r["site_id"] for r in (await api.json())["results"]]
    assert shown == expected
    assert shown[0] == "RVVKC"  # Kent and Canterbury, the nearest UTC
    maps = await page.locator("#answer").get_by_role(
        "link", name="Directions to Kent and Canterbury Hospital").get_attribute("href")
    assert maps.startswith("https://www.google.com/maps/dir/?api=1&destination=51.26659")
    await context.close()


async def test_form_works_without_javascript(served, browser) -> None:
    context = await browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = await context.new_page()
    await page.goto(served + "/")
    assert not await page.get_by_role("button", name="Use my location").is_visible()
    await page.get_by_label("Town or postcode").fill("CT1")
    await page.get_by_role("button", name="Find care").click()
    await page.wait_for_selector("li.waitless-result")
    assert "place=CT1" in page.url
    ids = await _result_ids(page)
    assert len(ids) >= 10 and ids[0] == "RVVKC"
    assert await page.get_by_text("Expected wait when you arrive").count() == len(ids)
    await page.locator("#search > summary").click()  # "Change search" opens without script
    await page.get_by_label("Town or postcode").fill("Atlantis")
    await page.get_by_role("button", name="Find care").click()
    assert await page.get_by_role("alert").filter(has_text="could not find").count() == 1
    await context.close()


async def test_red_flag_shows_999_and_no_ranking(served, browser) -> None:
    context = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    await page.goto(served + "/")
    await page.get_by_label("Town or postcode").fill("Canterbury")
    await page.get_by_label("What is the problem? (optional)").select_option("chest_pain")
    await page.get_by_role("button", name="Find care").click()
    await page.wait_for_selector("#emergency")
    assert await page.get_by_role("heading", name="Call 999 now").is_visible()
    assert await page.locator("li.waitless-result").count() == 0
    await context.close()


async def _axe_violations(page) -> list[dict]:
    await page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = await page.evaluate(
        "() => axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


async def test_accessibility_and_phone_screenshot(served, browser) -> None:
    # CSP forbids inline scripts, so axe is injected through a page without the header.
    context = await browser.new_context(viewport=PHONE, bypass_csp=True)
    page = await context.new_page()
    for path in ("/", "/?place=CT1", "/?place=Atlantis", "/?place=CT1&condition=stroke_symptoms"):
        await page.goto(served + path)
        violations = await _axe_violations(page)
        assert violations == [], (path, [(v["id"], v["help"]) for v in violations])
    await page.goto(served + "/?place=CT1")
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "patient-page-phone.png"), full_page=False)
    await page.locator("li.waitless-result").first.screenshot(
        path=str(ARTIFACTS / "patient-page-phone-first-result.png"))
    # With an answer, focus starts on it (screen readers read it first); Tab goes on to
    # its Directions button. Without one, the skip link is the first stop.
    assert await page.evaluate("() => document.activeElement.id") == "answer"
    await page.keyboard.press("Tab")
    assert await page.evaluate("() => document.activeElement.id") == "answer-directions"
    await page.goto(served + "/")
    await page.keyboard.press("Tab")
    focused = await page.evaluate("() => document.activeElement.textContent.trim()")
    assert focused == "Skip to main content"
    await context.close()


@pytest.fixture
async def two_regions_served(fixed_now: datetime, tmp_path: Path) -> AsyncIterator[str]:
    regions = [load_region(region_file(tmp_path, name))
               for name in ("border-north", "border-south")]
    app = create_app(Settings(spool_dir=str(tmp_path / "spool"),
                              graph_cache=str(tmp_path / "no-graphs")),
                     regions=regions, live_store=MemoryLiveStore(), clock=lambda: fixed_now)
    async with serving(app) as url:
        yield url


async def test_a_place_in_two_regions_is_chosen_by_keyboard(two_regions_served, browser) -> None:
    context = await browser.new_context(viewport=PHONE, bypass_csp=True)
    page = await context.new_page()
    await page.goto(two_regions_served + "/?place=Newport")
    violations = await _axe_violations(page)
    assert violations == [], [(v["id"], v["help"]) for v in violations]
    choices = page.locator("#place-choices a")
    assert await choices.all_inner_texts() == ["Newport, Border North (test)",
                                               "Newport, Border South (test)"]
    await choices.nth(1).focus()
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#answer")
    assert "From Newport, by car" in await page.inner_text("#last-updated")
    # The choice asks again with its region (which place is then ranked from:
    # tests/api/test_multiregion_places.py).
    assert "region=border-south" in page.url
    await context.close()


@pytest.fixture
async def served_app(kent: Region, fixed_now: datetime, tmp_path: Path
                     ) -> AsyncIterator[tuple[str, web.Application]]:
    store = await seeded_store(kent, fixed_now)
    app = make_app(kent, store, fixed_now, tmp_path)
    async with serving(app) as url:
        yield url, app


async def test_the_periodic_refresh_is_marked_and_logs_no_ranking(served_app, browser) -> None:
    from waitless.api.keys import EVENT_LOG
    from waitless.api.page import REFRESH_HEADER, REFRESH_SECONDS

    base, app = served_app
    log = app[EVENT_LOG]
    context = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    await page.clock.install()  # the page's timers run on a clock the test moves
    await page.goto(base + "/?place=Canterbury")
    await page.wait_for_selector("#answer")
    event_id = await page.locator("#answer").get_attribute("data-event-id")
    await log.flush()
    assert log.spool.event_count() == 1
    async with page.expect_response(lambda r: r.request.headers.get(
            REFRESH_HEADER.lower()) == "1") as refreshed:
        await page.clock.run_for(REFRESH_SECONDS * 1000 + 1000)
    response = await refreshed.value
    assert response.status == 200 and response.url == base + "/?place=Canterbury"
    await log.flush()
    assert log.spool.event_count() == 1  # the page load only
    # The page keeps the id of the ranking it showed, for "I'm going here".
    assert await page.locator("#answer").get_attribute("data-event-id") == event_id
    await context.close()


async def test_the_service_worker_replaces_an_earlier_deploys_caches(served_app, browser) -> None:
    from tests.conftest import eventually
    from waitless.api.info_pages import SERVICE_WORKER

    base, app = served_app
    shell = app[SERVICE_WORKER].decode().split('var SHELL_CACHE = "', 1)[1].split('"', 1)[0]
    context = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    # Caches an earlier deploy left: the fixed-name cache and another version's shell.
    await page.goto(base + "/healthz")  # same origin, no patient.js: no worker yet
    await page.evaluate("""async () => {
        for (const name of ["waitless-v1", "waitless-shell-0123456789abcdef"]) {
            await (await caches.open(name)).put("/static/patient.js", new Response("old"));
        }}""")
    await page.goto(base + "/?place=Canterbury")
    await page.evaluate("() => navigator.serviceWorker.ready")

    async def caches_left() -> list[str] | None:
        names = sorted(await page.evaluate("() => caches.keys()"))
        return names if "waitless-v1" not in names else None

    names = await eventually(caches_left, what="the earlier caches deleted")
    assert shell.startswith("waitless-shell-") and set(names) - {"waitless-pages"} == {shell}
    cached = await page.evaluate("""async () =>
        (await (await caches.match("/static/patient.js")).text()).length""")
    assert cached > 1000  # the current file, not the earlier deploy's
    await context.close()
