"""The dashboard's pages name no database host in an outage, as the statistics API does not.

``/v1/stats/*`` answer a failing database with a fixed message (its own text names hosts and
ports: logged, never answered). The dashboard's shift and events pages put ``str(exc)`` on
the page: "the database does not answer: [Errno 111] Connect call failed ('127.0.0.1', 1)".
"""

from __future__ import annotations

import re

from waitless.api import keys

TOKEN = "dashboard-outage-token-0123"
DEAD_DATABASE = "postgresql://postgres@127.0.0.1:1/waitless"
_INTERNALS = re.compile(r"127\.0\.0\.1|&#39;, 1\)|Connect call|Errno")


async def test_dashboard_pages_name_no_database_host(make_client) -> None:
    client = await make_client(commissioner_token=TOKEN, cookie_secure=False,
                               database_url=DEAD_DATABASE)
    signed_in = await client.post("/commissioners/login", data={"token": TOKEN},
                                  allow_redirects=False)
    assert signed_in.status == 303
    for path in ("/commissioners/shift", "/commissioners/events",
                 "/commissioners/shift?baseline=2025-01..2025-02&period=2025-03..2025-04"):
        # Past the pause after the last attempt: this request meets the refused connect.
        client.app[keys.DATABASE]._retry_at = 0.0
        page = await (await client.get(path)).text()
        # Before: "Connect call failed ('127.0.0.1', 1)" on each of the three.
        assert _INTERNALS.search(page) is None, path
        assert "the database is unavailable; try again shortly" in page, path


async def test_dashboard_pages_answer_a_database_outage_as_the_api_does(make_client) -> None:
    """Before: the events page answered 400, as for a bad form, and the shift pages' 503 had
    no Retry-After; the statistics API answers 503 with Retry-After: 30."""
    client = await make_client(commissioner_token=TOKEN, cookie_secure=False,
                               database_url=DEAD_DATABASE)
    signed_in = await client.post("/commissioners/login", data={"token": TOKEN},
                                  allow_redirects=False)
    assert signed_in.status == 303
    answers = {}
    for path in ("/commissioners/shift", "/commissioners/events",
                 "/commissioners/shift?baseline=2025-01..2025-02&period=2025-03..2025-04",
                 "/v1/stats/events"):
        client.app[keys.DATABASE]._retry_at = 0.0
        response = await client.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
        answers[path] = (response.status, response.headers.get("Retry-After"))
    assert set(answers.values()) == {(503, "30")}, answers
