"""Every dashboard page on a 390 px phone and a 1366 px laptop: no horizontal overflow, the default
comparison after sign-in, axe-core without serious or critical violations (real Chromium)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.commissioners.conftest import NHSE_DIR, TOKEN, nhse_path
from tests.api.commissioners.test_dashboard_browser import ARGS, ARTIFACTS, CHROMIUM
from tests.conftest import serving
from tests.stats.conftest import MONTHLY_FILES
from waitless.stats.nhse import import_files

AXE = Path(__file__).resolve().parents[1] / "page" / "vendor" / "axe.min.js"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "laptop": {"width": 1366, "height": 900}}
PAGES = ("/commissioners/shift",
         "/commissioners/shift?orgs=RVV,RYY&baseline=2025-04..2025-06&period=2025-07..2025-09",
         "/commissioners/events?from=2026-10-28&to=2026-11-24",
         "/commissioners/events?from=2026-11-18&to=2026-11-24&group=site")

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                 reason=f"Chromium not found at {CHROMIUM}")]


@pytest.fixture
async def served(make_app, db):
    """The app on 127.0.0.1 with every monthly file imported (Apr 2018 - Sep 2025)."""
    pytest.importorskip("playwright.async_api")
    national = sorted((NHSE_DIR / "national-2018-2025").glob("*.csv"))
    if len(national) != 84:
        pytest.skip(f"shared NHS England history not present under {NHSE_DIR}")
    import asyncpg
    conn = await asyncpg.connect(db)
    try:
        await import_files(conn, [*national, *(nhse_path(n) for n in MONTHLY_FILES.values())])
    finally:
        await conn.close()
    app = await make_app(db)
    async with serving(app) as url:
        yield url


async def _overflow(page) -> dict:
    return await page.evaluate("""() => ({
        scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
        wide: [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
            .slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className)})""")


async def _axe(page) -> list[tuple[str, str]]:
    await page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = await page.evaluate(
        "() => axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})")
    return [(v["id"], v["help"]) for v in result["violations"]
            if v["impact"] in ("serious", "critical")]


async def test_pages_fit_show_the_default_and_pass_axe(served: str) -> None:
    if not AXE.is_file():
        pytest.skip(f"axe-core not vendored at {AXE}")
    from playwright.async_api import async_playwright
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for device in VIEWPORTS:
                await _check_device(browser, served, device)
        finally:
            await browser.close()


async def _check_device(browser, served: str, device: str) -> None:
    """One viewport: sign in, the default comparison, then every page for overflow and axe."""
    # axe is injected as a script, which the pages' CSP forbids: bypass it for axe only.
    context = await browser.new_context(viewport=VIEWPORTS[device], bypass_csp=True)
    page = await context.new_page()
    await page.goto(f"{served}/commissioners")
    assert (await _overflow(page))["wide"] == []
    assert await _axe(page) == []
    await page.fill("#token", TOKEN)
    await page.click("#sign-in")
    await page.wait_for_url("**/commissioners/shift")
    # The default: the latest three imported months against the same months of 2024.
    title = await page.inner_text("#comparison-title")
    assert title.endswith("Jul–Sep 2024 compared with Jul–Sep 2025")
    assert await page.is_visible("#default-note")
    assert "pp" in await page.inner_text("#did-pp")
    assert await page.evaluate(
        "() => Chart.getChart(document.getElementById('shift-chart'))"
        ".data.datasets.map(d => d.data.filter(v => v !== null).length)") == [6, 15, 3]
    for index, path in enumerate(PAGES):
        await page.goto(served + path)
        await page.wait_for_load_state("load")
        if await page.locator("#coverage summary").count():
            await page.click("#coverage summary")  # the imported-data grid, opened
            assert await page.locator("#coverage-grid tbody tr").count() == 90
        overflow = await _overflow(page)
        assert overflow["scroll"] <= overflow["inner"], (path, overflow)
        assert overflow["wide"] == [], (path, overflow)
        assert await _axe(page) == [], path
        name = path.split("?")[0].rsplit("/", 1)[-1]
        await page.screenshot(path=str(ARTIFACTS / f"layout-{device}-{index}-{name}.png"),
                              full_page=True)
    # Events: headline figures before the charts, the table and the form; dates for people.
    await page.goto(served + PAGES[2])
    assert await page.inner_text("#events-title") == "28 Oct – 24 Nov 2026, by day (Europe/London)"
    tops = await page.evaluate("""() => ['headline', 'events-chart', 'events-table', 'show-events']
        .map(id => document.getElementById(id).getBoundingClientRect().top)""")
    assert tops == sorted(tops)
    # The upload page, after importing a month that is already there.
    await page.goto(served + PAGES[0])
    await page.set_input_files("#files", str(nhse_path(MONTHLY_FILES["2025-09"])))
    await page.click("form[action='/commissioners/upload'] button")
    await page.wait_for_url("**/commissioners/upload")
    assert "unchanged" in await page.inner_text("#import-table")
    overflow = await _overflow(page)
    assert overflow["scroll"] <= overflow["inner"] and overflow["wide"] == [], overflow
    assert await _axe(page) == []
    await page.goto(served + PAGES[1])
    reason = await page.inner_text("#rating-withheld-reason")
    assert reason.startswith("DJV01 began reporting in July 2025 with 2,265 attendances")
    await page.click("#suggested-comparison")
    assert "RVV + RYY + DJV01" in await page.inner_text("#comparison-title")
    await context.close()
