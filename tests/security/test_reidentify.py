"""Issue #13 item 1: stored ranking events cannot place a patient more finely than the grid cell.

The attack of the review: the rows stored ``nearest_ed_minutes`` unrounded, from the origin, so
the public travel estimate inverted it to a ring of millimetre width; one more ``/v1/rank`` call
placed the origin within metres. Here the attacker ranks every point of a 10 x 10 lattice over
the victim's cell (the attacker can run the same public service) and keeps the lattice points
whose stored figures match the victim's row. Only if *every* point of the cell matches has the
row said no more than the cell.
"""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import pytest

from tests.conftest import temporary_database
from waitless.api import keys
from waitless.ranking.privacy import GRID_DEGREES, coarse_cell

# Victims, all in the cell 0.02:2564:53 (51.28-51.30 N, 1.06-1.08 E), near Canterbury.
VICTIMS = [(51.283917, 1.079463), (51.2812, 1.0615), (51.2985, 1.0785), (51.2950, 1.0630)]
# Figures the row holds that depend on where the patient is.
LOCATION_FIGURES = ("origin_cell", "origin_lat_coarse", "origin_lon_coarse", "nearest_site",
                    "nearest_kind", "nearest_ed", "nearest_ed_minutes")


@pytest.fixture
def event_db() -> Iterator[str]:
    yield from temporary_database("reid")


async def _rows(client, points: list[tuple[float, float]], dsn: str) -> list[dict]:
    ids = []
    for lat, lon in points:
        response = await client.get("/v1/rank", params={"lat": f"{lat:.6f}",
                                                        "lon": f"{lon:.6f}",
                                                        "condition": "sprain_strain"})
        assert response.status == 200
        ids.append((await response.json())["event_id"])
    await client.app[keys.EVENT_LOG].flush()
    conn = await asyncpg.connect(dsn)
    try:
        by_id = {str(r["event_id"]): dict(r) for r in await conn.fetch(
            "SELECT * FROM ranking_events WHERE event_id = ANY($1::uuid[])", ids)}
    finally:
        await conn.close()
    assert len(by_id) == len(points)
    return [by_id[i] for i in ids]


async def test_rows_cannot_place_an_origin_inside_its_cell(make_client, event_db) -> None:
    client = await make_client(database_url=event_db, rate_limit=None)
    cell, _, _ = coarse_cell(*VICTIMS[0])
    south, west = 2564 * GRID_DEGREES, 53 * GRID_DEGREES
    step = GRID_DEGREES / 10
    lattice = [(south + (i + 0.5) * step, west + (j + 0.5) * step)
               for i in range(10) for j in range(10)]
    assert {coarse_cell(*p)[0] for p in lattice + VICTIMS} == {cell}
    victims = await _rows(client, VICTIMS, event_db)
    candidates = await _rows(client, lattice, event_db)
    for victim in victims:
        wanted = tuple(victim[f] for f in LOCATION_FIGURES)
        matching = [p for p, row in zip(lattice, candidates, strict=True)
                    if tuple(row[f] for f in LOCATION_FIGURES) == wanted]
        # Every point of the cell is as likely as the true origin: no better than the cell.
        assert len(matching) == len(lattice)
        assert victim["nearest_ed_minutes"] == round(victim["nearest_ed_minutes"])


async def test_estimated_minutes_say_no_more_than_the_cell(make_client, event_db) -> None:
    client = await make_client(database_url=event_db, rate_limit=None)
    step = GRID_DEGREES / 6
    lattice = [(2564 * GRID_DEGREES + (i + 0.5) * step, 53 * GRID_DEGREES + (j + 0.5) * step)
               for i in range(6) for j in range(6)]
    rows = await _rows(client, lattice, event_db)
    by_site: dict[str, set[float]] = {}
    for row in rows:
        assert row["estimated_minutes"] == round(row["estimated_minutes"])
        by_site.setdefault(row["recommended_site"], set()).add(row["estimated_minutes"])
    # Travel is from the cell centre; only the predicted wait at arrival (arrival a minute or
    # two apart) may move a total across a whole-minute boundary.
    for values in by_site.values():
        assert max(values) - min(values) <= 1
