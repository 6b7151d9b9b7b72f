"""A replayed ``waitless_sent`` cookie takes back its count once, not once per request.

The page's cookie names the count its browser's last answer made; the next answer takes that
count back. A client that keeps sending the same signed cookie (ignoring the Set-Cookie that
replaces it) with a question answered without a count (a red-flag condition: call 999) took
back one more patient each time: the minute went below 0 and cancelled every other patient's
count at the site within the horizon, for every worker once shared.
"""

from __future__ import annotations

from pathlib import Path

from tests.api.page.test_own_answer import HORIZON, WHERE, _best, _cookie
from tests.api.test_follow_rate import _app as load_aware_app
from tests.api.test_follow_rate import _region as region_with
from waitless.api.load_sync import LOAD_SITES


async def test_a_replayed_cookie_cannot_drive_a_site_s_count_below_zero(aiohttp_client,
                                                                          tmp_path: Path):
    region = region_with("\n[load_aware]\nenabled = true\nfollow_rate = 1.0\n")
    app = await load_aware_app(region, tmp_path, None)
    client = await aiohttp_client(app)
    client.session.cookie_jar.clear()
    first = await client.get("/", params=WHERE)
    best = _best(await first.text())
    replayed = _cookie(first, {})
    tracker = app[LOAD_SITES].views[region.name].tracker
    assert tracker.pending(best, *HORIZON) == 1
    for _ in range(10):
        client.session.cookie_jar.clear()
        response = await client.get("/", params={**WHERE, "condition": "chest_pain"},
                                    headers=replayed)
        assert response.status == 200
    # Before: -9 (one count taken back per replay), shared as -9 and cancelling the next
    # nine patients sent there. After: the one count it made, taken back once.
    assert tracker.pending(best, *HORIZON) == 0
    assert min(tracker.local[best].values()) == 0
    client.session.cookie_jar.clear()
    await client.get("/", params=WHERE)  # another patient sent there...
    client.session.cookie_jar.clear()
    api = await (await client.get("/v1/rank", params=WHERE)).json()
    # ...is load on the next: 6 minutes (before: 0, cancelled by the replays).
    assert next(r["load_adjustment_minutes"] for r in api["results"]
                if f"{r['site_id']}/{r['kind']}" == best) == 6.0
