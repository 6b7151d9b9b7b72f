"""A patient reloading the page is not load on their own ranking (load-aware ranking).

Every page answer counts its first result as one patient on their way. A manual reload (no
refresh header) counted the same patient again, and their own earlier answer added to the very
site they were sent to: 6 minutes here, enough to flip a close recommendation. The page now
keeps what it counted in a signed session cookie; the next answer from that browser replaces
it instead of adding to it, and is ranked without it.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import ClientResponse

from tests.api.test_follow_rate import NOW
from tests.api.test_follow_rate import _app as load_aware_app
from tests.api.test_follow_rate import _region as region_with
from waitless.api.load_sync import LOAD_SITES
from waitless.api.page import REFRESH_HEADER
from waitless.api.sent_cookie import SENT_COOKIE

from .conftest import CANTERBURY

WHERE = {"lat": str(CANTERBURY[0]), "lon": str(CANTERBURY[1]), "condition": "sprain_strain"}
NOTE = "for other patients recently sent here"
HORIZON = (NOW.timestamp(), NOW.timestamp() + 4 * 3600)


def _best(html: str) -> str:
    return html.split('data-best-site="', 1)[1].split('"', 1)[0]


def _cookie(response: ClientResponse, previous: dict[str, str]) -> dict[str, str]:
    """The Cookie header a browser sends next (HTTP here, so not left to the Secure jar)."""
    morsel = response.cookies.get(SENT_COOKIE)
    if morsel is None:
        return previous
    return {"Cookie": f"{SENT_COOKIE}={morsel.value}"} if morsel.value else {}


async def test_a_reload_replaces_the_patient_s_own_count(aiohttp_client, tmp_path: Path):
    # Load-aware, every patient followed, 30 minutes for 5 waiting: 6 minutes a patient.
    region = region_with("\n[load_aware]\nenabled = true\nfollow_rate = 1.0\n")
    app = await load_aware_app(region, tmp_path, None)
    client = await aiohttp_client(app)
    client.session.cookie_jar.clear()
    first = await client.get("/", params=WHERE)
    page = await first.text()
    best = _best(page)
    assert NOTE not in page
    tracker = app[LOAD_SITES].views[region.name].tracker
    assert tracker.pending(best, *HORIZON) == 1
    sent = _cookie(first, {})
    assert sent and first.headers["Cache-Control"] == "private"  # no shared cache keeps it
    for _ in range(3):  # the patient presses reload three times
        client.session.cookie_jar.clear()
        again = await client.get("/", params=WHERE, headers=sent)
        reloaded = await again.text()
        sent = _cookie(again, sent)
        # Before: +6, +12, +18 min of their own at the site they were sent to (Kent and
        # Canterbury UTC), and it counted 2, 3, 4 patients on their way.
        assert NOTE not in reloaded
        assert _best(reloaded) == best
        assert tracker.pending(best, *HORIZON) == 1
    # The page's periodic refresh with the cookie: its own answer left out, and still counted.
    client.session.cookie_jar.clear()
    refreshed = await client.get("/", params=WHERE, headers={**sent, REFRESH_HEADER: "1"})
    assert NOTE not in await refreshed.text()
    assert tracker.pending(best, *HORIZON) == 1
    # Anyone else still sees this one patient on their way: 6 minutes.
    client.session.cookie_jar.clear()
    api = await (await client.get("/v1/rank", params=WHERE)).json()
    assert next(r["load_adjustment_minutes"] for r in api["results"]
                if f"{r['site_id']}/{r['kind']}" == best) == 6.0


async def test_a_forged_or_foreign_cookie_is_ignored(aiohttp_client, tmp_path: Path):
    region = region_with("\n[load_aware]\nenabled = true\nfollow_rate = 1.0\n")
    app = await load_aware_app(region, tmp_path, None)
    client = await aiohttp_client(app)
    client.session.cookie_jar.clear()
    page = await (await client.get("/", params=WHERE)).text()
    best = _best(page)
    minute = int(HORIZON[0] // 60) + 5
    for value in (f"{best}|{minute}.00", f"{best}|{minute}", "x", f"{best}|x.00"):
        client.session.cookie_jar.clear()
        response = await client.get("/", params=WHERE,
                                    headers={"Cookie": f"{SENT_COOKIE}={value}"})
        assert response.status == 200
    # Nothing was taken away: the first patient and the four asking after, each counted.
    tracker = app[LOAD_SITES].views[region.name].tracker
    assert sum(tracker.pending(key, *HORIZON) for key in tracker.local) == 5


async def test_the_privacy_notice_names_the_cookie_where_load_aware_ranking_sets_it(
        aiohttp_client, tmp_path: Path):
    # Before: "we do not use cookies on this page" while the page set waitless_sent.
    region = region_with("\n[load_aware]\nenabled = true\nfollow_rate = 1.0\n")
    client = await aiohttp_client(await load_aware_app(region, tmp_path, None))
    notice = await (await client.get("/privacy")).text()
    assert SENT_COOKIE in notice and "do not use cookies" not in notice
