"""The patient page says when a time includes the load-aware adjustment, and only then.

``load_adjustment_minutes`` was in every JSON result (and the OpenAPI description) but the page
added it to the wait without a word: a patient saw a longer wait than the site's own figure and
no reason for it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.test_follow_rate import _app as load_aware_app
from tests.api.test_follow_rate import _region as region_with
from waitless.api.page_view import load_text

from .conftest import CANTERBURY

WHERE = {"lat": str(CANTERBURY[0]), "lon": str(CANTERBURY[1]), "condition": "sprain_strain"}
NOTE = "for other patients recently sent here"


def _blocks(html: str) -> dict[str, str]:
    """Each shown result's HTML by site id (the text up to the next result)."""
    return {chunk.split('"', 1)[0]: chunk for chunk in html.split('data-site-id="')[1:]}


@pytest.mark.parametrize(("minutes", "text"), [
    (0.0, None), (-0.0, None), (6.0, "Includes about 6 min for other patients recently sent "
                                     "here."),
    (0.3, "Includes about 1 min for other patients recently sent here."),
    (75.0, "Includes about 1 hr 15 min for other patients recently sent here.")])
def test_the_note_in_words_only_for_a_non_zero_adjustment(minutes, text) -> None:
    assert load_text(minutes) == text


async def test_the_page_explains_the_adjustment_next_to_its_site(aiohttp_client,
                                                                 tmp_path: Path) -> None:
    # Load-aware, every patient followed, 30 minutes for 5 waiting: 6 minutes a patient.
    region = region_with("\n[load_aware]\nenabled = true\nfollow_rate = 1.0\n")
    client = await aiohttp_client(await load_aware_app(region, tmp_path, None))
    first = await (await client.get("/", params=WHERE)).text()
    assert NOTE not in first  # nobody sent yet: every adjustment is 0
    best_site = first.split('data-best-site="', 1)[1].split("/", 1)[0]
    client.session.cookie_jar.clear()  # another patient, asking just after
    second = await (await client.get("/", params=WHERE)).text()
    blocks = _blocks(second)
    assert len(blocks) > 3
    # The first patient's site carries 6 minutes, said once, in its own result only.
    assert "Includes about 6 min for other patients recently sent here." in blocks[best_site]
    assert [site for site, html in blocks.items() if NOTE in html] == [best_site]
    assert second.count(NOTE) == 1
