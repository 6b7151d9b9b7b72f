"""The page says how many places were left out as too far, walking and driving (issue 14)."""

import re

from .conftest import CANTERBURY


async def _omitted(page_client, mode: str) -> tuple[int, str]:
    params = {"lat": str(CANTERBURY[0]), "lon": str(CANTERBURY[1]), "mode": mode}
    api = await (await page_client.get("/v1/rank", params=params)).json()
    html = await (await page_client.get("/", params=params)).text()
    return api["omitted_far_sites"], html


async def test_walking_page_states_the_far_places_left_out(page_client) -> None:
    omitted, html = await _omitted(page_client, "walk")
    # From Canterbury only the city's own sites are within an hour on foot.
    assert omitted >= 10
    shown = re.search(r'id="omitted-far">(\d+) places were left out as too far to walk: we list '
                      r"places up to 1 hr on foot\.", html)
    assert shown is not None and int(shown[1]) == omitted
    assert html.count('data-site-id="') >= 1  # the near ones are still listed


async def test_driving_page_lists_everything_within_three_hours(page_client) -> None:
    omitted, html = await _omitted(page_client, "drive")
    assert omitted == 0
    assert 'id="omitted-far"' not in html
