"""The dashboard with two regions served: a region chooser, each region's own figures, the
region's title in the headings (a printed page says which region it is), and the chooser
absent when one region is served. Real PostgreSQL; the browser test runs axe-core."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import asyncpg
import pytest
from aiohttp import FormData

from tests.api.commissioners.conftest import (
    MONTHLY_FILES,
    TOKEN,
    log_events_in_both,
    nhse_path,
    region_with_stats,
)
from tests.api.commissioners.test_dashboard import sign_in
from tests.api.commissioners.test_dashboard_browser import ARGS, ARTIFACTS, CHROMIUM
from tests.api.commissioners.test_dashboard_layout import AXE, VIEWPORTS, _axe, _overflow
from tests.conftest import serving
from waitless.api.shift_view import normalised_query
from waitless.domain.region import load_region
from waitless.stats.nhse import import_files

DAY = {"from": "2026-11-24", "to": "2026-11-24"}
SHIFT = {"orgs": "", "baseline": "2025-04..2025-06", "period": "2025-07..2025-09"}
CHOOSER = 'class="waitless-commissioners-nav waitless-region-chooser"'


def headline_rankings(html: str) -> str:
    return re.search(r'id="headline-rankings">([^<]*)<', html).group(1)


def h1(html: str) -> str:
    return re.search(r"<h1>(.*?)</h1>", html).group(1)


async def _upload_all(client, cookie: dict[str, str], region: str) -> str:
    form = FormData()
    for name in MONTHLY_FILES:
        form.add_field("file", nhse_path(name).read_bytes(), filename=name,
                       content_type="text/csv")
    response = await client.post("/commissioners/upload", params={"region": region},
                                 data=form, headers=cookie)
    assert response.status == 200, await response.text()
    return await response.text()


def test_the_shift_page_s_query_keeps_a_named_region_only() -> None:
    form = {"baseline_from": "2025-04", "period_from": "2025-07"}
    named, _ = normalised_query({**form, "region": "border-south"}, ["RPA"], None)
    assert named == {"orgs": "RPA", "baseline": "2025-04..2025-04",
                     "period": "2025-07..2025-07", "region": "border-south"}
    for blank in ({}, {"region": ""}, {"region": " "}):
        query, _ = normalised_query({**form, **blank}, [], None)
        assert "region" not in query  # the primary, and links as they always were
    default, is_default = normalised_query({"region": "border-south"}, [],
                                           ("2025-04..2025-06", "2025-07..2025-09"))
    assert is_default and default["region"] == "border-south"


async def test_one_region_has_no_chooser(aiohttp_client, make_app, db) -> None:
    client = await aiohttp_client(await make_app(db))
    cookie = await sign_in(client)
    for path in ("/commissioners/shift", "/commissioners/events"):
        html = await (await client.get(path, headers=cookie)).text()
        assert CHOOSER not in html and 'name="region"' not in html and "region=" not in html
    assert h1(html) == "WaitLess rankings and choices"


async def test_each_region_s_page_shows_its_own_events_under_its_title(
        aiohttp_client, make_regions_app, regions, db) -> None:
    await log_events_in_both(db)
    client = await aiohttp_client(make_regions_app(db, regions))
    cookie = await sign_in(client)
    pages = {}
    for region in ("", "border-north", "border-south"):
        response = await client.get("/commissioners/events", headers=cookie,
                                    params={**DAY, **({"region": region} if region else {})})
        assert response.status == 200
        pages[region] = await response.text()
    assert [headline_rankings(pages[r]) for r in ("", "border-north", "border-south")] == [
        "3", "3", "5"]
    assert h1(pages[""]) == "WaitLess rankings and choices: Border North (test)"
    south = pages["border-south"]
    assert h1(south) == "WaitLess rankings and choices: Border South (test)"
    assert '<span class="nhsuk-header__service-name">WaitLess Border South (test)</span>' in south
    assert "<title>Rankings and choices: Border South (test) – " in south
    # The chooser: both regions, the shown one marked (not by colour alone, CSS bold).
    assert south.count(CHOOSER) == 1
    assert ('<a href="/commissioners/events?region=border-north">Border North (test)</a>'
            in south)
    assert ('<a href="/commissioners/events?region=border-south" aria-current="true">'
            'Border South (test)</a>') in south
    # Links, the form and the CSV keep the region.
    assert '<a href="/commissioners/shift?region=border-south">Shift to minor care</a>' in south
    assert '<input type="hidden" name="region" value="border-south">' in south
    csv_href = re.search(r'id="events-csv" href="([^"]*)"', south).group(1)
    assert "region=border-south" in csv_href
    table = await (await client.get(csv_href.replace("&amp;", "&"), headers=cookie)).text()
    total = list(csv.DictReader(io.StringIO(table)))[-1]
    assert (total["bucket"], total["rankings"]) == ("total", "5")
    unknown = await client.get("/commissioners/events", params={"region": "nowhere"},
                               headers=cookie)
    text = await unknown.text()
    assert unknown.status == 400 and CHOOSER in text and 'aria-current' not in text
    assert "region &#39;nowhere&#39; is not a region served here" in text


async def test_the_upload_is_national_and_each_region_s_shift_its_own(
        aiohttp_client, make_regions_app, regions, db) -> None:
    client = await aiohttp_client(make_regions_app(db, regions))
    cookie = await sign_in(client)
    shift_html = await (await client.get("/commissioners/shift",
                                         params={"region": "border-south"},
                                         headers=cookie)).text()
    assert 'action="/commissioners/upload?region=border-south"' in shift_html
    upload = await _upload_all(client, cookie, "border-south")
    assert 'id="national-note"' in upload
    assert ('<a href="/commissioners/shift?region=border-south">Back to the shift statistics '
            'of Border South (test)</a>') in upload
    pages = {}
    for region in ("border-north", "border-south"):
        response = await client.get("/commissioners/shift", params={**SHIFT, "region": region},
                                    headers=cookie)
        assert response.status == 200
        pages[region] = await response.text()
    assert "RVV: Apr–Jun 2025 compared with Jul–Sep 2025" in pages["border-north"]
    assert "RPA: Apr–Jun 2025 compared with Jul–Sep 2025" in pages["border-south"]
    assert h1(pages["border-south"]) == "Shift to minor care: Border South (test)"
    href = re.search(r'href="/commissioners/shift.csv\?([^"]*)&amp;table=by_org"',
                     pages["border-south"]).group(1).replace("&amp;", "&")
    assert "region=border-south" in href
    by_org = await (await client.get(f"/commissioners/shift.csv?{href}&table=by_org",
                                     headers=cookie)).text()
    assert [r["org"] for r in csv.DictReader(io.StringIO(by_org))] == ["RPA", "group"]


async def test_a_region_without_statistics_settings_says_so_on_the_dashboard(
        aiohttp_client, make_regions_app, db, tmp_path: Path) -> None:
    regions = [region_with_stats("border-north", tmp_path),
               load_region(str(Path(__file__).parents[1] / "regions" / "border-south.toml"))]
    client = await aiohttp_client(make_regions_app(db, regions))
    cookie = await sign_in(client)
    response = await client.get("/commissioners/shift", params={"region": "border-south"},
                                headers=cookie)
    html = await response.text()
    assert response.status == 503 and CHOOSER in html
    assert "region &#39;border-south&#39; has no [stats] table" in html


@pytest.fixture
async def served_regions(make_regions_app, regions, db):
    """Two regions served on 127.0.0.1, events in both and Apr-Sep 2025 imported."""
    pytest.importorskip("playwright.async_api")
    await log_events_in_both(db)
    conn = await asyncpg.connect(db)
    try:
        await import_files(conn, [nhse_path(name) for name in MONTHLY_FILES])
    finally:
        await conn.close()
    async with serving(make_regions_app(db, regions)) as url:
        yield url


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists() or not AXE.is_file(),
                    reason=f"Chromium ({CHROMIUM}) or axe-core ({AXE}) is not present")
async def test_the_chooser_is_keyboard_usable_fits_and_passes_axe(served_regions: str) -> None:
    from playwright.async_api import async_playwright
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for device, viewport in VIEWPORTS.items():
                # axe is injected as a script, which the pages' CSP forbids: bypassed for it.
                context = await browser.new_context(viewport=viewport, bypass_csp=True)
                page = await context.new_page()
                await page.goto(f"{served_regions}/commissioners")
                await page.fill("#token", TOKEN)
                await page.click("#sign-in")
                await page.wait_for_url("**/commissioners/shift")
                for path in ("/commissioners/shift?region=border-south",
                             "/commissioners/events?region=border-south&from=2026-11-24"
                             "&to=2026-11-24"):
                    await page.goto(served_regions + path)
                    overflow = await _overflow(page)
                    assert overflow["wide"] == [], (device, path, overflow)
                    assert await _axe(page) == [], (device, path)
                    name = path.split("?")[0].rsplit("/", 1)[-1]
                    await page.screenshot(path=str(ARTIFACTS / f"regions-{device}-{name}.png"),
                                          full_page=True)
                # By keyboard: the chooser's link to the other region, then Enter.
                link = page.get_by_role("link", name="Border North (test)", exact=True)
                await link.focus()
                await page.keyboard.press("Enter")
                await page.wait_for_url("**/commissioners/events?region=border-north")
                assert await page.inner_text("h1") == (
                    "WaitLess rankings and choices: Border North (test)")
                assert await page.inner_text("#headline-rankings") == "3"  # its own three
                await context.close()
        finally:
            await browser.close()
