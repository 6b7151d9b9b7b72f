"""Event-row figures from grid-cell centres are worked out once per cell and mode (issue 12):
the same figures as computing them afresh, one travel lookup per cell, bounded memory; and the
row they go into holds each field in its named place."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import numpy as np

from routing.estimate import EstimateTravel
from waitless.domain.event_fields import event_fields
from waitless.domain.region import DEFAULT_REGION, load_region
from waitless.ranking.event_row import (
    UNKNOWN,
    CentreFigures,
    CentreFiguresCache,
    _nearest_sites,
    ranking_event,
)
from waitless.ranking.privacy import coarse_cell
from waitless.ranking.rank import RankRequest, rank

REGION = load_region(DEFAULT_REGION)
MODEL = EstimateTravel.for_sites(REGION.sites)


def _counting_travel(lat: float, lon: float, calls: list[str]):
    def travel() -> np.ndarray:
        calls.append(f"{lat},{lon}")
        return MODEL.travel_seconds(lat, lon)
    return travel


def test_one_lookup_per_cell_and_mode_and_the_same_figures():
    cache = CentreFiguresCache(REGION)
    calls: list[str] = []
    cell, lat, lon = coarse_cell(51.2802, 1.0789)  # Canterbury
    first = cache.get("drive", cell, _counting_travel(lat, lon, calls))
    again = cache.get("drive", cell, _counting_travel(lat, lon, calls))
    walking = cache.get("walk", cell, _counting_travel(lat, lon, calls))
    assert calls == [f"{lat},{lon}", f"{lat},{lon}"]  # drive once, walk once
    assert again is first and walking is not first
    fresh = MODEL.travel_seconds(lat, lon)
    assert np.array_equal(first.travel_seconds, fresh)
    assert (first.nearest, first.nearest_ed, first.ed_index) == _nearest_sites(REGION, fresh)
    assert first.nearest.town == "Canterbury"


def test_known_tells_a_kept_cell_from_one_not_made_yet():
    cache = CentreFiguresCache(REGION)
    cell, lat, lon = coarse_cell(51.2802, 1.0789)
    assert cache.known("drive", cell) is UNKNOWN
    made = cache.get("drive", cell, _counting_travel(lat, lon, []))
    assert cache.known("drive", cell) is made
    assert cache.known("walk", cell) is UNKNOWN
    cache.get("drive", "far", lambda: None)  # outside coverage: kept as None, not unknown
    assert cache.known("drive", "far") is None


def test_outside_coverage_is_kept_as_none_and_the_cache_is_bounded():
    cache = CentreFiguresCache(REGION, max_cells=3)
    calls: list[str] = []

    def outside() -> None:
        calls.append("outside")

    assert cache.get("drive", "far", outside) is None
    assert cache.get("drive", "far", outside) is None
    assert calls == ["outside"]
    for k in range(3):  # the fourth entry empties the cache first
        cell, lat, lon = coarse_cell(51.0 + k * 0.05, 1.0)
        cache.get("drive", cell, _counting_travel(lat, lon, calls))
    assert len(cache._cells) == 1
    assert cache.get("drive", "far", outside) is None
    assert calls.count("outside") == 2


def test_from_travel_matches_the_nearest_sites():
    seconds = MODEL.travel_seconds(51.39, 0.54)  # Chatham
    figures = CentreFigures.from_travel(REGION, seconds)
    assert figures.nearest_ed is not None and figures.nearest_ed.service("ed") is not None
    assert seconds[figures.ed_index] == min(
        seconds[i] for i, s in enumerate(REGION.sites) if s.service("ed") is not None)


def test_the_event_row_holds_each_field_in_its_named_place():
    # The row is a tuple in EVENT_FIELDS order: read by name, every field must be the one the
    # answer and the cell centre give (a swapped pair of same-typed fields would pass elsewhere).
    now = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
    lat, lon = 51.2802, 1.0789  # Canterbury
    request = RankRequest(lat=lat, lon=lon, depart_at=now, condition="sprain_strain",
                          age_years=70, limit=100, mode="drive")
    answer = rank(REGION, {}, request, travel_seconds=MODEL.travel_seconds(lat, lon),
                  travel_source="estimate", now=now)
    cell = coarse_cell(lat, lon)
    centre = CentreFigures.from_travel(REGION, MODEL.travel_seconds(cell[1], cell[2]))
    row = event_fields(ranking_event(REGION, answer, centre=centre, cell=cell))
    top = answer.results[0]
    ed_row = next(r for r in answer.results if r.site.id == centre.nearest_ed.id)
    centre_minutes = dict(zip(REGION.site_ids, centre.travel_minutes, strict=True))
    assert uuid.UUID(row.pop("event_id")).version == 4
    assert row == {
        "occurred_at": now, "region": REGION.name, "origin_cell": cell[0],
        "origin_lat_coarse": cell[1], "origin_lon_coarse": cell[2],
        "condition": "sprain_strain", "age_band": "65+", "mode": "drive", "emergency": False,
        "recommended_site": top.site.id, "recommended_kind": top.service.kind,
        "nearest_site": centre.nearest.id, "nearest_kind": centre.nearest.main_service.kind,
        "nearest_ed": centre.nearest_ed.id,
        "estimated_minutes": round(centre_minutes[top.site.id]
                                   + top.total_minutes - top.travel_minutes),
        "nearest_ed_minutes": round(centre_minutes[centre.nearest_ed.id]),
        "results_count": len(answer.results), "travel_source": "estimate",
        "nearest_ed_total_minutes": round(centre_minutes[ed_row.site.id]
                                          + ed_row.total_minutes - ed_row.travel_minutes)}
    assert row["estimated_minutes"] != row["nearest_ed_minutes"]  # the test can tell them apart
