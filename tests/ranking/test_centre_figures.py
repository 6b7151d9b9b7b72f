"""Event-row figures from grid-cell centres are worked out once per cell and mode (issue 12):
the same figures as computing them afresh, one travel lookup per cell, bounded memory."""

from __future__ import annotations

import numpy as np

from routing.estimate import EstimateTravel
from waitless.domain.region import DEFAULT_REGION, load_region
from waitless.ranking.event_row import CentreFigures, CentreFiguresCache, _nearest_sites
from waitless.ranking.privacy import coarse_cell

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
