"""The /commissioners pages: sign-in, signed sessions, pages and CSV downloads."""

from __future__ import annotations

import csv
import io
import time
from http.cookies import SimpleCookie

import asyncpg
import pytest

from tests.api.commissioners.conftest import MONTHLY_FILES, TOKEN, auth, nhse_path
from tests.events.rows import event
from waitless.api import keys
from waitless.api.auth import SESSION_COOKIE, RevokedSessions, check_session, new_session
from waitless.events.migrations import migrate
from waitless.events.writes import insert_events

SHIFT = {"orgs": "RVV", "baseline": "2025-04..2025-06", "period": "2025-07..2025-09"}


async def sign_in(client) -> dict[str, str]:
    response = await client.post("/commissioners/login", data={"token": TOKEN},
                                 allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/commissioners/shift"
    morsel = SimpleCookie(response.headers["Set-Cookie"])[SESSION_COOKIE]
    return {"Cookie": f"{SESSION_COOKIE}={morsel.value}"}


async def test_cookie_flags_and_wrong_token(aiohttp_client, make_app, db) -> None:
    client = await aiohttp_client(await make_app(db, cookie_secure=True))
    wrong = await client.post("/commissioners/login", data={"token": "guess"},
                              allow_redirects=False)
    assert wrong.status == 401 and "Set-Cookie" not in wrong.headers
    assert "That token is not right" in await wrong.text()
    right = await client.post("/commissioners/login", data={"token": TOKEN},
                              allow_redirects=False)
    header = right.headers["Set-Cookie"]
    assert "HttpOnly" in header and "Secure" in header and "SameSite=Strict" in header
    assert "Path=/commissioners" in header and TOKEN not in header


async def test_session_values_are_signed_and_expire() -> None:
    revoked = RevokedSessions()
    value = new_session(TOKEN, hours=1, now_unix=1_000_000)
    session_id, expires = check_session(value, TOKEN, now_unix=1_000_001)
    assert expires == 1_000_000 + 3600
    assert check_session(value, TOKEN, now_unix=1_003_600) is None  # expired
    assert check_session(value, "another token", now_unix=1_000_001) is None
    sid, exp, mac = value.split(".")
    assert check_session(f"{sid}.{int(exp) + 3600}.{mac}", TOKEN,
                         now_unix=1_000_001) is None  # extended expiry breaks the mac
    assert not await revoked.is_revoked(session_id)
    await revoked.revoke(session_id, time.time() + 60)
    assert await revoked.is_revoked(session_id)


async def test_pages_need_a_session_and_sign_out_ends_it(aiohttp_client, make_app,
                                                         db) -> None:
    client = await aiohttp_client(await make_app(db))
    for path in ("/commissioners/shift", "/commissioners/events"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == "/commissioners"
    for path in ("/commissioners/shift.csv", "/commissioners/events.csv"):
        assert (await client.get(path, params=SHIFT)).status == 401
    # The API token is not a session, and a session is not an API token.
    assert (await client.get("/commissioners/events", headers=auth(),
                             allow_redirects=False)).status == 303
    cookie = await sign_in(client)
    assert (await client.get("/v1/stats/events", headers=cookie)).status == 401
    page = await client.get("/commissioners/events", headers=cookie)
    assert page.status == 200
    html = await page.text()
    assert "<script>" not in html and " style=" not in html
    assert 'type="application/json" id="chart-data"' in html
    out = await client.post("/commissioners/logout", headers=cookie, allow_redirects=False)
    assert out.status == 303 and f"{SESSION_COOKIE}=\"\"" in out.headers["Set-Cookie"]
    again = await client.get("/commissioners/events", headers=cookie, allow_redirects=False)
    assert again.status == 303  # the old cookie was revoked on the server


async def test_shift_page_and_csv_downloads_match_the_api(aiohttp_client, make_app,
                                                          db) -> None:
    client = await aiohttp_client(await make_app(db))
    for name in MONTHLY_FILES:
        response = await client.post("/v1/stats/nhse", data=nhse_path(name).read_bytes(),
                                     headers={**auth(), "Content-Type": "text/csv"})
        assert response.status == 200
    api = await (await client.get("/v1/stats/shift", params=SHIFT, headers=auth())).json()
    cookie = await sign_in(client)
    page = await client.get("/commissioners/shift", params=SHIFT, headers=cookie)
    html = await page.text()
    assert page.status == 200
    # RVV alone: Herne Bay (DJV01) starts in July but RVV's counts rose, so the rating stays.
    assert api["rating"] == "red" and api["rating_withheld_reason"] is None
    assert 'id="rating">Red<' in html
    assert "DJV01 began reporting in July 2025 with 2,265 attendances; no selected" in html
    assert "RVV: Apr–Jun 2025 compared with Jul–Sep 2025" in html
    assert "East Kent Hospitals University NHS FT (RVV)" in html
    july = api["months"][3]
    assert july["month"] == "2025-07" and july["type1"] >= 1000
    assert f'data-label="Type 1">{july["type1"]:,}<' in html  # with a thousands separator

    by_org = list(csv.DictReader(io.StringIO(await (await client.get(
        "/commissioners/shift.csv", params={**SHIFT, "table": "by_org"},
        headers=cookie)).text())))
    assert [r["org"] for r in by_org] == ["RVV", "group"]
    assert [float(r["shift_pp"]) for r in by_org] == pytest.approx(
        [o["shift_pp"] for o in api["by_org"]] + [api["shift_pp"]], rel=1e-12)
    assert by_org[0]["name"] == api["by_org"][0]["name"]

    months = await client.get("/commissioners/shift.csv", params={**SHIFT, "table": "months"},
                              headers=cookie)
    assert months.status == 200 and months.content_type == "text/csv"
    assert "attachment" in months.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(await months.text())))
    assert [r["month"] for r in rows] == [m["month"] for m in api["months"]]
    assert [int(r["type1"]) for r in rows] == [m["type1"] for m in api["months"]]
    assert [float(r["other_share"]) for r in rows] == pytest.approx(
        [m["other_share"] for m in api["months"]], rel=1e-12)
    summary = list(csv.DictReader(io.StringIO(await (await client.get(
        "/commissioners/shift.csv", params={**SHIFT, "table": "summary"},
        headers=cookie)).text())))
    assert [r["range"] for r in summary] == ["baseline", "period", "shift"]
    assert float(summary[2]["shift_pp"]) == pytest.approx(api["shift_pp"], rel=1e-12)
    assert summary[2]["rating"] == "red"
    assert summary[2]["rating_withheld_reason"] == ""  # None in the API
    assert float(summary[2]["did_pp"]) == pytest.approx(api["did_pp"], rel=1e-12)
    assert float(summary[2]["england_shift_pp"]) == pytest.approx(api["england"]["shift_pp"],
                                                                  rel=1e-12)

    # Missing provider-months are flagged on the page.
    flagged = await client.get("/commissioners/shift", headers=cookie, params={
        "orgs": "RVV,AQM01", "baseline": "2025-04..2025-06", "period": "2025-07..2025-09"})
    text = await flagged.text()
    assert 'id="missing-warning"' in text  # AQM01 is absent from the April file
    bad = await client.get("/commissioners/shift", headers=cookie,
                           params={**SHIFT, "baseline": "April"})
    assert bad.status == 400 and "bad month" in await bad.text()


async def test_events_csv_matches_the_api(aiohttp_client, make_app, db) -> None:
    client = await aiohttp_client(await make_app(db))
    await client.get("/v1/rank", params={"lat": "51.1415", "lon": "0.9165",
                                         "condition": "sprain_strain"})
    await client.app[keys.EVENT_LOG].flush()
    params = {"from": "2026-11-20", "to": "2026-11-26", "group": "day"}
    api = await (await client.get("/v1/stats/events", params=params, headers=auth())).json()
    cookie = await sign_in(client)
    response = await client.get("/commissioners/events.csv", params=params, headers=cookie)
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert [r["bucket"] for r in rows] == [r["bucket"] for r in api["rows"]] + ["total"]
    assert [int(r["rankings"]) for r in rows] == [0, 0, 0, 0, 1, 0, 0, 1]
    assert float(rows[-1]["minutes_saved"]) == api["total"]["minutes_saved"] > 0


async def test_the_mean_time_saved_is_labelled_per_comparable_ranking(aiohttp_client, make_app,
                                                                     db) -> None:
    # Four ranked, two comparable (the nearest A&E's total known): 20 and 10 minutes saved.
    # The mean is 15 min per comparable ranking; per ranking it would read 7.5 (8 min).
    conn = await asyncpg.connect(db)
    try:
        await migrate(conn)
        await insert_events(conn, [
            event(0, estimated_minutes=60.0, nearest_ed_total_minutes=80.0),
            event(1, estimated_minutes=60.0, nearest_ed_total_minutes=70.0),
            event(2), event(3)])
    finally:
        await conn.close()
    client = await aiohttp_client(await make_app(db))
    cookie = await sign_in(client)
    html = await (await client.get("/commissioners/events", headers=cookie, params={
        "from": "2026-11-24", "to": "2026-11-24", "group": "day"})).text()
    headline = html.split('id="headline"', 1)[1].split("</dl>", 1)[0]
    assert "Mean per comparable ranking" in headline and "Mean per ranking" not in html
    mean = headline.split('id="headline-mean">', 1)[1].split("</dd>", 1)[0]
    assert mean.startswith("15 min") and "2 of 4 ranked" in mean
    header = html.split('id="events-table"', 1)[1].split("</thead>", 1)[0]
    assert "Mean per comparable ranking" in header
    assert "comparable" in html.split("<h1>", 1)[1].split("</p>", 1)[0]  # said what it is


async def test_after_sign_in_the_default_comparison_shows(aiohttp_client, make_app, db) -> None:
    client = await aiohttp_client(await make_app(db))
    cookie = await sign_in(client)
    empty = await (await client.get("/commissioners/shift", headers=cookie)).text()
    assert 'id="no-data"' in empty and 'id="comparison-title"' not in empty
    for name in MONTHLY_FILES:
        await client.post("/v1/stats/nhse", data=nhse_path(name).read_bytes(),
                          headers={**auth(), "Content-Type": "text/csv"})
    page = await client.get("/commissioners/shift", headers=cookie)
    html = await page.text()
    assert page.status == 200
    # Only Apr-Sep 2025 imported: no year-earlier months, so the three months before.
    assert ("RVV + RPA + RWF + RN7 + RYY + ACH01 + AQM01 + DJV01: Apr–Jun 2025 compared with "
            "Jul–Sep 2025") in html
    assert "the three months before" in html
    # Month pickers hold the imported months, newest first, with the default selected.
    assert '<option value="2025-07" selected>Jul 2025</option>' in html
    assert html.index('value="2025-09"') < html.index('value="2025-04"')
    # The imported-data grid: DJV01 is absent from the April-June files.
    assert html.count('class="waitless-gap"') == 4  # AQM01 Apr, DJV01 Apr-Jun
