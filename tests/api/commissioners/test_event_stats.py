"""Event-derived statistics on a scripted sequence of rankings and choices through the real app."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import asyncpg
import numpy as np
import pytest

from tests.api.commissioners.conftest import auth
from waitless.api import keys
from waitless.ranking.privacy import coarse_cell

ASHFORD = (51.1415, 0.9165)     # at William Harvey (ED + slow UTC)
MARGATE = (51.3780, 1.3890)     # at QEQM (ED + quick UTC)
CANTERBURY = (51.2802, 1.0789)  # nearest is Kent and Canterbury (UTC only)
MEDWAY = (51.3798, 0.5420)      # at Medway Maritime (ED + UTC)
MON, TUE, NEXT_MON = (datetime(2026, 11, d, 10, 30, tzinfo=UTC) for d in (23, 24, 30))

# (clock, point, condition): Mon 23 and Tue 24 are one ISO week, Mon 30 the next.
SCRIPT = [
    (MON, ASHFORD, "sprain_strain"),
    (MON, MARGATE, "cut_wound"),
    (MON, CANTERBURY, "minor_burn"),
    (TUE, MEDWAY, "major_injury"),
    (TUE, ASHFORD, "stroke_symptoms"),
    (TUE, ASHFORD, "possible_fracture"),
    (NEXT_MON, MARGATE, "sprain_strain"),
    (NEXT_MON, MEDWAY, "minor_illness"),
]


def expected_event(region, model, body, lat, lon) -> dict:
    """What the statistics should count for one answer, worked out from the answer itself.

    The event row works out nearest sites and minutes from the centre of the origin's grid
    cell (privacy), in whole minutes: so does this.
    """
    _, centre_lat, centre_lon = coarse_cell(lat, lon)
    travel = model.travel_seconds(centre_lat, centre_lon)
    order = np.argsort(travel)
    nearest = region.sites[int(order[0])]
    nearest_ed = next(region.sites[int(i)] for i in order
                      if region.sites[int(i)].service("ed") is not None)
    if not body["results"]:
        return {"emergency": True, "site": None}
    top = body["results"][0]
    ed_row = next(r for r in body["results"] if r["site_id"] == nearest_ed.id)
    def total(row: dict) -> float:
        index = next(i for i, s in enumerate(region.sites) if s.id == row["site_id"])
        return round(travel[index] / 60 + row["predicted_wait_minutes"])

    saved = 0.0 if top["site_id"] == nearest_ed.id else total(ed_row) - total(top)
    return {"emergency": False, "site": top["site_id"],
            "minor": nearest.main_service.kind == "ed" and top["kind"] in ("utc", "miu"),
            "away": top["site_id"] != nearest_ed.id, "saved": saved}


def tally(events: list[dict], choices: list[tuple[str, str, bool | None]]) -> dict:
    """Counts per bucket key from expected events (with their keys) and choices."""
    out: dict = defaultdict(lambda: defaultdict(float))
    for e in events:
        row = out[e["key"]]
        row["rankings"] += 1
        row["emergencies"] += e["emergency"]
        if not e["emergency"]:
            row["ranked"] += 1
            row["minor_instead_of_ed"] += e["minor"]
            row["away_from_nearest_ed"] += e["away"]
            row["comparable"] += 1
            row["minutes_saved"] += e["saved"]
    for key, _site, chose_recommended in choices:
        row = out[key]
        row["choices"] += 1
        if chose_recommended is not None:
            row["choices_linked"] += 1
            row["chose_recommended"] += chose_recommended
    return out


async def test_scripted_rankings_and_choices_give_exact_statistics(
        aiohttp_client, make_app, db, clock, kent) -> None:
    app = await make_app(db)
    client = await aiohttp_client(app)
    model = app[keys.TRAVEL]["drive"]
    events = []
    for when, (lat, lon), condition in SCRIPT:
        clock.now = when
        response = await client.get("/v1/rank", params={
            "lat": str(lat), "lon": str(lon), "condition": condition})
        assert response.status == 200
        body = await response.json()
        events.append({**expected_event(kent, model, body, lat, lon), "when": when})
    await app[keys.EVENT_LOG].flush()
    # The script does what it was written for.
    assert events[0]["site"] != "RVV01" and events[0]["minor"] and events[0]["saved"] > 0
    assert events[1]["site"] == "RVV09" and events[1]["minor"] and events[1]["saved"] == 0
    assert not events[2]["minor"]  # nearest is a UTC-only site
    assert events[3]["site"] == "RPA02" and not events[3]["minor"]
    assert events[4]["emergency"]

    conn = await asyncpg.connect(db)
    try:
        ids = [r["event_id"] for r in await conn.fetch(
            "SELECT event_id FROM ranking_events ORDER BY occurred_at, id")]
        columns = {r["column_name"] for r in await conn.fetch(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_name = 'patient_choices'")}
    finally:
        await conn.close()
    assert len(ids) == len(SCRIPT)
    assert not {"lat", "lon", "ip", "origin_lat", "origin_lon"} & columns
    # Choices: one that followed the advice, one that did not, one with no ranking attached.
    choice_script = [(MON, {"site_id": events[0]["site"], "event_id": str(ids[0])}, True),
                     (TUE, {"site_id": "RVV01", "kind": "ed", "event_id": str(ids[5])},
                      events[5]["site"] == "RVV01"),
                     (NEXT_MON, {"site_id": "RPA02"}, None)]
    for when, choice, _ in choice_script:
        clock.now = when
        response = await client.post("/v1/choices", json=choice)
        assert response.status == 201, await response.text()

    for group in ("day", "week", "site"):
        for e in events:
            e["key"] = {"day": e["when"].date().isoformat(),
                        "week": "2026-11-23" if e["when"] < NEXT_MON else "2026-11-30",
                        "site": e["site"] or "(none)"}[group]
        choices = [({"day": w.date().isoformat(),
                     "week": "2026-11-23" if w < NEXT_MON else "2026-11-30",
                     "site": c["site_id"]}[group], c["site_id"], followed)
                   for w, c, followed in choice_script]
        expected = tally(events, choices)
        response = await client.get("/v1/stats/events", headers=auth(), params={
            "from": "2026-11-23", "to": "2026-11-30", "group": group})
        assert response.status == 200
        body = await response.json()
        rows = {r["bucket"]: r for r in body["rows"]}
        if group == "day":
            assert list(rows) == [f"2026-11-{d}" for d in range(23, 31)]  # empty days too
        if group == "site":
            assert set(rows) >= {s.id for s in kent.sites}
        for key, row in rows.items():
            want = expected.get(key, {})
            for field in ("rankings", "emergencies", "ranked", "minor_instead_of_ed",
                          "away_from_nearest_ed", "comparable", "choices", "choices_linked",
                          "chose_recommended"):
                assert row[field] == want.get(field, 0), (group, key, field)
            # Whole minutes from a wait given here to 0.1 min: each total may round the other
            # way, so one minute per event either side.
            assert row["minutes_saved"] == pytest.approx(want.get("minutes_saved", 0),
                                                         abs=1.01 * want.get("ranked", 0))
            ranked = want.get("ranked", 0)
            assert row["minor_instead_of_ed_share"] == (
                want["minor_instead_of_ed"] / ranked if ranked else None)
        total = body["total"]
        assert total["rankings"] == 8 and total["emergencies"] == 1 and total["ranked"] == 7
        assert total["choices"] == 3 and total["choices_linked"] == 2
        assert total["minutes_saved"] == pytest.approx(
            sum(e["saved"] for e in events if not e["emergency"]), abs=7.07)
        assert total["minutes_saved_mean"] == pytest.approx(total["minutes_saved"] / 7, abs=0.01)
    assert total["minor_instead_of_ed"] == sum(e.get("minor", False) for e in events)


async def test_choices_are_validated_against_the_region(aiohttp_client, make_app, db) -> None:
    client = await aiohttp_client(await make_app(db))
    for body, text in [({"site_id": "NOPE"}, "not a site"),
                       ({"site_id": "RVVKC", "kind": "ed"}, "not a service of RVVKC"),
                       ({"site_id": "RVVKC", "event_id": "abc"}, "not a UUID"),
                       ({"site_id": "RVVKC", "lat": 51.2}, "unknown field"),
                       (["RVVKC"], "JSON object")]:
        response = await client.post("/v1/choices", json=body)
        assert response.status == 400
        assert text in (await response.json())["message"]
    bad_json = await client.post("/v1/choices", data=b"{", headers={
        "Content-Type": "application/json"})
    assert bad_json.status == 400
    huge = await client.post("/v1/choices", json={"site_id": "RVVKC" * 500})
    assert huge.status == 413
    conn = await asyncpg.connect(db)
    try:
        assert await conn.fetchval("SELECT count(*) FROM patient_choices") == 0
    finally:
        await conn.close()


async def test_events_query_validation(aiohttp_client, make_app, db) -> None:
    client = await aiohttp_client(await make_app(db))
    for params, text in [({"from": "2026-13-01"}, "YYYY-MM-DD"),
                         ({"group": "month"}, "group must be"),
                         ({"from": "2026-11-30", "to": "2026-11-01"}, "before"),
                         ({"from": "2020-01-01", "to": "2026-01-01"}, "at most")]:
        response = await client.get("/v1/stats/events", params=params, headers=auth())
        assert response.status == 400
        assert text in (await response.json())["message"]
