"""Load-aware ranking on the patient page in a real browser (Chromium through Playwright).

A patient pressing reload is one patient, not load on their own ranking (the page's
``waitless_sent`` cookie, kept by the browser itself); another patient's page says, in words
that pass axe, how much of a wait is for patients recently sent there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web

from tests.api.test_follow_rate import NOW
from tests.api.test_follow_rate import _app as load_aware_app
from tests.api.test_follow_rate import _region as region_with
from tests.conftest import serving
from waitless.api.load_sync import LOAD_SITES

from .test_browser import CHROMIUM, LAUNCH_ARGS, PHONE, _axe_violations

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium not installed at /usr/bin/chromium"),
]
NOTE = "for other patients recently sent here"


@pytest.fixture
async def served_app(tmp_path: Path) -> AsyncIterator[tuple[str, web.Application]]:
    # Every patient followed, 30 minutes for 5 waiting: 6 minutes a patient.
    region = region_with("\n[load_aware]\nenabled = true\nfollow_rate = 1.0\n")
    app = await load_aware_app(region, tmp_path, None)
    async with serving(app) as url:
        yield url, app


async def test_reloads_count_one_patient_and_others_are_told_why(served_app) -> None:
    from playwright.async_api import async_playwright

    url, app = served_app
    tracker = app[LOAD_SITES].views["kent-medway"].tracker
    window = (NOW.timestamp(), (NOW + timedelta(hours=4)).timestamp())
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        patient = await (await browser.new_context(viewport=PHONE)).new_page()
        await patient.goto(url + "/?place=CT1&condition=sprain_strain")
        best = await patient.locator("#answer").get_attribute("data-best-site")
        for _ in range(3):
            await patient.reload()
            assert await patient.locator("#answer").get_attribute("data-best-site") == best
            assert await patient.get_by_text(NOTE).count() == 0
        assert tracker.pending(best, *window) == 1  # before: 4, and +18 min of their own
        # Someone else (another browser) sees the one patient sent there, said in words.
        other = await (await browser.new_context(viewport=PHONE, bypass_csp=True)).new_page()
        await other.goto(url + "/?place=CT1&condition=sprain_strain")
        site_id = best.split("/", 1)[0]
        note = other.locator(f'li[data-site-id="{site_id}"]').get_by_text(NOTE)
        assert await note.count() == 1
        assert await note.text_content() == (
            "Includes about 6 min for other patients recently sent here.")
        assert await other.get_by_text(NOTE).count() == 1
        violations = await _axe_violations(other)
        assert violations == [], [(v["id"], v["help"]) for v in violations]
        await browser.close()
