"""The dashboard in real Chromium: sign in, charts drawn under the CSP, CSV download, screenshot."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from tests.api.commissioners.conftest import MONTHLY_FILES, TOKEN, auth, nhse_path
from tests.conftest import REPO_ROOT, free_port
from waitless.api import keys

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = REPO_ROOT / "test-artifacts"

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                 reason=f"Chromium not found at {CHROMIUM}")]


@pytest.fixture
async def served(make_app, db):
    """The app on a real 127.0.0.1 port, with the six NHS files and three rankings."""
    pytest.importorskip("playwright.async_api")
    app = await make_app(db)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            for name in MONTHLY_FILES:
                response = await session.post(f"{base}/v1/stats/nhse",
                                              data=nhse_path(name).read_bytes(),
                                              headers={**auth(), "Content-Type": "text/csv"})
                assert response.status == 200
            for lat, lon in (("51.1415", "0.9165"), ("51.378", "1.389"), ("51.2802", "1.0789")):
                response = await session.get(f"{base}/v1/rank", params={
                    "lat": lat, "lon": lon, "condition": "sprain_strain"})
                assert response.status == 200
        await app[keys.EVENT_LOG].flush()
        yield base
    finally:
        await runner.cleanup()


async def test_sign_in_charts_and_csv_download(served: str) -> None:
    from playwright.async_api import async_playwright
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page(accept_downloads=True,
                                          viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            await page.goto(f"{served}/commissioners")
            await page.fill("#token", TOKEN)
            await page.click("#sign-in")
            await page.wait_for_url("**/commissioners/shift")
            # Only Apr-Sep 2025 imported: the default compares Jul-Sep with Apr-Jun 2025.
            assert (await page.inner_text("#comparison-title")).endswith(
                "Apr–Jun 2025 compared with Jul–Sep 2025")
            for code in ("RPA", "RWF", "RN7", "ACH01", "AQM01", "DJV01"):
                await page.uncheck(f"#org-{code}")
            await page.select_option("#baseline_from", "2025-04")
            await page.select_option("#baseline_to", "2025-06")
            await page.select_option("#period_from", "2025-07")
            await page.select_option("#period_to", "2025-09")
            await page.click("#show-shift")
            await page.wait_for_selector("#shift-chart")
            assert "orgs=" not in page.url and "org=RVV&org=RYY" in page.url
            drawn = await page.evaluate("""() => {
                const canvas = document.getElementById('shift-chart');
                const chart = Chart.getChart(canvas);
                return {width: canvas.width, height: canvas.height, chart: !!chart,
                        points: chart ? chart.data.datasets.map(d => d.data.length) : []};
            }""")
            assert drawn["chart"] and drawn["width"] > 0 and drawn["height"] > 0
            assert drawn["points"] == [6, 6, 6]  # selection, England, target
            assert await page.locator("#rating").count() == 0
            assert "DJV01" in await page.inner_text("#rating-withheld-reason")
            await page.screenshot(path=str(ARTIFACTS / "commissioners-shift.png"), full_page=True)
            async with page.expect_download() as info:
                await page.click("text=Download months (CSV)")
            download = await info.value
            text = await asyncio.to_thread(Path(await download.path()).read_text)
            rows = list(csv.DictReader(io.StringIO(text)))
            assert [r["month"] for r in rows] == [f"2025-{m:02d}" for m in range(4, 10)]
            assert int(rows[0]["type1"]) > 10000

            await page.goto(f"{served}/commissioners/events?from=2026-11-18&to=2026-11-24")
            counts = await page.evaluate("""() => {
                const chart = Chart.getChart(document.getElementById('events-chart'));
                return chart.data.datasets[0].data;
            }""")
            assert counts == [0, 0, 0, 0, 0, 0, 3]
            assert await page.evaluate(
                "() => !!Chart.getChart(document.getElementById('minutes-chart'))")
            await page.screenshot(path=str(ARTIFACTS / "commissioners-events.png"),
                                  full_page=True)
            await page.emulate_media(media="print")
            assert not await page.is_visible("#show-events")  # forms are hidden in print
            await page.screenshot(path=str(ARTIFACTS / "commissioners-events-print.png"),
                                  full_page=True)
            await page.emulate_media(media="screen")
            await page.click("text=Sign out")
            await page.wait_for_url("**/commissioners")
            await page.goto(f"{served}/commissioners/shift")
            assert page.url.endswith("/commissioners")
        finally:
            await browser.close()
    # The NHS.UK stylesheet asks for its web font from assets.nhs.uk, which the CSP blocks on
    # purpose (see static/vendor/README.md); anything else is a real error.
    assert [e for e in errors if "assets.nhs.uk/fonts" not in e] == []
