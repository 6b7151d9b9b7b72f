"""How much finer than its grid cell a stored ranking row places a patient (docs/privacy.md),
and how often a row's "minutes saved" is negative (docs/statistics.md).

For every other cell over Kent & Medway's sites, ranks a 10 x 10 lattice of origins (the
simulator's waits, seed 5, one fixed instant, straight-line travel) and builds each event row.
A point's *share* is the fraction of its cell's lattice points whose stored row (all columns
but the event id) equals its own: 1 when the row says nothing finer than the cell. Minutes
saved are counted over the rows recommending another site than a listed nearest ED.

    .venv/bin/python scripts/cell_rows.py
"""

from __future__ import annotations

import collections
from datetime import UTC, datetime, timedelta

import orjson

from feeds.adapters.native import parse
from feeds.ingest import with_service_kinds
from feeds.simulator import native_document
from routing.errors import OutsideCoverage
from routing.estimate import EstimateTravel
from waitless.domain.event_fields import event_fields
from waitless.domain.observation import Observation
from waitless.domain.region import Region, load_region
from waitless.ranking.event_row import CentreFigures, ranking_event
from waitless.ranking.privacy import GRID_DEGREES, coarse_cell
from waitless.ranking.rank import RankRequest, rank

NOW = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)  # the tests' instant: every service open
LATTICE = 10


def simulated_snapshot(region: Region) -> dict[str, Observation]:
    document = native_document(region, seed=5, now=NOW - timedelta(minutes=2))
    accepted = with_service_kinds(region, parse(orjson.dumps(document), feed_name="sim"))
    return {f"{o.site_id}/{o.service}": o for o in accepted}


def cell_rows(region: Region, snapshot: dict[str, Observation], model: EstimateTravel,
              row: int, col: int, mode: str) -> list[dict]:
    """The stored row (without its event id) for each lattice point of one cell."""
    step = GRID_DEGREES / LATTICE
    points = [(row * GRID_DEGREES + (i + 0.5) * step, col * GRID_DEGREES + (j + 0.5) * step)
              for i in range(LATTICE) for j in range(LATTICE)]
    cell = coarse_cell(*points[0])
    centre = CentreFigures.from_travel(region, model.travel_seconds(cell[1], cell[2]))
    rows = []
    for lat, lon in points:
        request = RankRequest(lat=lat, lon=lon, depart_at=NOW, condition="sprain_strain",
                              mode=mode)
        answer = rank(region, snapshot, request, travel_seconds=model.travel_seconds(lat, lon),
                      travel_source=model.source, now=NOW)
        fields = event_fields(ranking_event(region, answer, centre=centre, cell=cell))
        fields.pop("event_id")
        rows.append(fields)
    return rows


def minutes_saved(row: dict) -> float | None:
    """The row's minutes saved as the statistics sum them; ``None`` when not comparable or
    when the recommendation is the nearest ED's site (0 by definition)."""
    if row["nearest_ed_total_minutes"] is None or row["recommended_site"] in (
            None, row["nearest_ed"]):
        return None
    return row["nearest_ed_total_minutes"] - row["estimated_minutes"]


def scan(region: Region, mode: str) -> tuple[list[float], list[float]]:
    """(every lattice point's share, every comparable row's minutes saved), over every other
    cell spanning the region's sites."""
    snapshot = simulated_snapshot(region)
    model = EstimateTravel.for_sites(region.sites, mode=mode)
    lats, lons = [s.lat for s in region.sites], [s.lon for s in region.sites]
    found, saved = [], []
    for row in range(int(min(lats) / GRID_DEGREES) - 3, int(max(lats) / GRID_DEGREES) + 3, 2):
        for col in range(int(min(lons) / GRID_DEGREES) - 3, int(max(lons) / GRID_DEGREES) + 3,
                         2):
            try:
                rows = cell_rows(region, snapshot, model, row, col, mode)
            except OutsideCoverage:
                continue
            stored = [tuple(r.values()) for r in rows]
            counts = collections.Counter(stored)
            found += [counts[r] / len(stored) for r in stored]
            saved += [m for m in map(minutes_saved, rows) if m is not None]
    return sorted(found), saved


def main() -> None:
    region = load_region("kent-medway")
    for mode in ("drive", "walk"):
        found, saved = scan(region, mode)
        n = len(found)
        below = sum(share < 1 for share in found) / n
        negative = collections.Counter(m for m in saved if m < 0)
        print(f"{mode}: {n} points; share < 1 for {below:.1%}; smallest {found[0]:.2f}, "
              f"1st percentile {found[n // 100]:.2f}, 5th {found[n // 20]:.2f}; "
              f"minutes saved of {len(saved)} rows: negative {dict(sorted(negative.items()))}")


if __name__ == "__main__":
    main()
