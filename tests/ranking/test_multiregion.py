"""Several regions in one process: region choice by coverage, neighbours' border sites, and a
border origin answered with sites of both regions and each one's live wait."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from routing.estimate import EstimateTravel
from waitless.api.answer import travel_for_region
from waitless.domain.coverage import CoverageSettings
from waitless.domain.errors import RegionError
from waitless.domain.observation import Observation
from waitless.domain.region import Region, parse_region
from waitless.live.store import MemoryLiveStore
from waitless.ranking.multiregion import (
    DiscCoverage,
    PolygonCoverage,
    RegionSet,
    coverage_of,
    distance_km,
    merged_by_site,
)
from waitless.ranking.rank import RankRequest, rank

# Rough outlines for the test only (a few corners each, not the real ICB boundaries); the two
# share their border edge, (51.13, 0.03) -> (51.05, 0.40) -> (50.95, 0.76).
KENT_OUTLINE = [[51.13, 0.03], [51.48, 0.03], [51.48, 1.45], [51.10, 1.45], [50.95, 0.98],
                [50.95, 0.76], [51.05, 0.40]]
SUSSEX_OUTLINE = [[51.13, 0.03], [51.05, 0.40], [50.95, 0.76], [50.80, 0.60], [50.75, 0.03]]
HAWKHURST = (51.047, 0.509)  # in Kent, about 3 km from the test border
SUSSEX_SIDE = (51.03, 0.30)  # in the Sussex outline, about 4 km from the test border


def sussex_test_region() -> Region:
    """A made-up neighbour with two sites (test fixtures, not real services)."""
    return parse_region({
        "region": {"name": "sussex-test", "timezone": "Europe/London"},
        "coverage": {"polygon": SUSSEX_OUTLINE},
        "sites": [
            {"id": "TST01", "name": "Border test UTC", "lat": 51.00, "lon": 0.45,
             "services": [{"kind": "utc", "hours": "24h"}]},
            {"id": "TST02", "name": "Coast test ED", "lat": 50.80, "lon": 0.25,
             "services": [{"kind": "ed", "hours": "24h"}]},
        ]})


@pytest.fixture
def regions(kent: Region) -> RegionSet:
    outline = tuple((lat, lon) for lat, lon in KENT_OUTLINE)
    kent_outlined = replace(kent, coverage=CoverageSettings(polygon=outline))
    return RegionSet([kent_outlined, sussex_test_region()])


def test_polygon_coverage_contains_and_measures() -> None:
    square = PolygonCoverage(((51.0, 0.0), (51.0, 1.0), (52.0, 1.0), (52.0, 0.0)))
    assert square.contains(51.5, 0.5)
    assert not square.contains(51.5, 1.2)
    assert square.distance_km(51.5, 0.5) == 0.0
    # 0.1° of longitude at 51.5° N is about 6.9 km.
    assert square.distance_km(51.5, 1.1) == pytest.approx(6.93, abs=0.1)
    assert square.distance_km(52.1, 0.5) == pytest.approx(11.06, abs=0.1)
    assert distance_km(51.0, 0.0, 52.0, 0.0) == pytest.approx(111.2, abs=0.2)


def test_without_a_polygon_coverage_is_the_origin_distance_around_sites(kent: Region) -> None:
    coverage = coverage_of(kent)
    assert isinstance(coverage, DiscCoverage)
    assert coverage.radius_km == kent.ranking.max_origin_distance_km
    assert coverage.contains(51.27, 0.52)  # Maidstone
    assert not coverage.contains(53.48, -2.24)  # Manchester


def test_bad_coverage_tables_are_refused(kent: Region) -> None:
    # Checked once, when the region file is parsed (waitless.domain.coverage).
    base = {"region": {"name": "bad", "timezone": "Europe/London"},
            "sites": [{"id": "X1", "name": "X", "lat": 51.0, "lon": 0.5,
                       "services": [{"kind": "utc", "hours": "24h"}]}]}
    for bad in ({"polygon": [[51, 0], [52, 1]]}, {"polygon": [[51, 0], [52, 1], [95, 0]]},
                {"polygon": "kent"}, {"polygon": [[51, 0], [52, "x"], [52, 1]]},
                {"outline": []}):
        with pytest.raises(RegionError, match="coverage"):
            parse_region({**base, "coverage": bad})
    for bad_km in (-1, "20", True):
        with pytest.raises(RegionError, match="border_km"):
            parse_region({**base, "coverage": {"border_km": bad_km}})
    parsed = parse_region({**base, "coverage": {"polygon": [[51, 0], [52, 1], [52, 0]],
                                                "border_km": 5}})
    assert parsed.coverage == CoverageSettings(((51.0, 0.0), (52.0, 1.0), (52.0, 0.0)), 5.0)
    assert kent.coverage == CoverageSettings()
    with pytest.raises(RegionError, match="distinct"):
        RegionSet([kent, kent])


def test_a_site_id_in_two_regions_is_refused_naming_both(kent: Region) -> None:
    neighbour = parse_region({
        "region": {"name": "sussex-test", "timezone": "Europe/London"},
        "sites": [{"id": "RWFTW", "name": "Copy of Tunbridge Wells", "lat": 51.1, "lon": 0.3,
                   "services": [{"kind": "ed", "hours": "24h"}]},
                  {"id": "TST01", "name": "Border test UTC", "lat": 51.0, "lon": 0.45,
                   "services": [{"kind": "utc", "hours": "24h"}]}]},
        source_path="/etc/waitless/sussex.toml")
    with pytest.raises(RegionError) as caught:
        RegionSet([kent, neighbour])
    assert str(caught.value) == (
        "site ids must be unique across the regions served: RWFTW in both kent-medway "
        f"({kent.source_path}) and sussex-test (/etc/waitless/sussex.toml)")
    RegionSet([kent, replace(neighbour, sites=neighbour.sites[1:])])  # without the copy


def test_each_region_is_extended_with_its_neighbours_border_sites(regions: RegionSet) -> None:
    kent_border = [s.id for s in regions.border_sites("kent-medway")]
    sussex_border = [s.id for s in regions.border_sites("sussex-test")]
    # TST01 is ~6 km south of the Kent outline; TST02 on the coast is ~25 km away.
    assert kent_border == ["TST01"]
    # Tunbridge Wells is ~10 km from the Sussex outline; Maidstone and Margate are farther.
    assert "RWFTW" in sussex_border
    assert "RWF03" not in sussex_border and "RVV09" not in sussex_border
    assert regions.site_home["TST01"] == "sussex-test"
    assert regions.site_home["RWFTW"] == "kent-medway"
    kent_extended = regions.extended["kent-medway"]
    assert kent_extended.sites[-1].id == "TST01"
    assert len(kent_extended.sites) == len(regions.regions["kent-medway"].sites) + 1


def test_origins_go_to_the_region_whose_coverage_holds_them(regions: RegionSet) -> None:
    assert regions.choose(*HAWKHURST).home == "kent-medway"
    assert regions.choose(*SUSSEX_SIDE).home == "sussex-test"
    assert regions.choose(*HAWKHURST).how == "inside"
    # Just off the coast south of the Sussex outline (~1 km): still served, by the nearest.
    near = regions.choose(50.757, 0.20)
    assert near is not None and (near.home, near.how) == ("sussex-test", "near")
    assert regions.choose(53.48, -2.24) is None  # Manchester: nobody covers it


def test_overlapping_coverage_goes_to_the_nearest_own_site(kent: Region) -> None:
    # Without polygons the coverages are discs around the sites, and they overlap.
    wide = RegionSet([kent, replace(sussex_test_region(), coverage=CoverageSettings())])
    assert wide.choose(51.00, 0.46).home == "sussex-test"  # TST01 is 1 km away
    assert wide.choose(51.27, 0.50).home == "kent-medway"  # Maidstone
    assert wide.choose(51.00, 0.46).how == "overlap"


async def test_a_border_origin_is_answered_with_sites_of_both_regions(
        regions: RegionSet, fixed_now: datetime) -> None:
    # One process, one live store holding both regions' waits, each under its own region.
    store = MemoryLiveStore()
    observed = fixed_now - timedelta(minutes=10)
    await store.write("kent-medway", [Observation("RWFTW", "utc", 35.0, observed, feed="k")])
    await store.write("sussex-test", [Observation("TST01", "utc", 20.0, observed, feed="s"),
                                      Observation("TST02", "ed", 200.0, observed, feed="s")])
    snapshots = {name: await store.current(name) for name in regions.regions}

    choice = regions.choose(*HAWKHURST)
    assert choice.home == "kent-medway"
    region = choice.region
    observations = merged_by_site(snapshots, region, regions.site_home)
    assert set(observations) == {"RWFTW/utc", "TST01/utc"}  # TST02 is not a Kent border site
    model = EstimateTravel.for_sites(region.sites)
    travel = travel_for_region(model, region, *HAWKHURST)
    answer = rank(region, observations,
                  RankRequest(lat=HAWKHURST[0], lon=HAWKHURST[1], depart_at=fixed_now, limit=30),
                  travel_seconds=travel, travel_source=model.source, now=fixed_now)
    by_id = {r.site.id: r for r in answer.results}
    assert "TST01" in by_id and "RWFTW" in by_id and "RWF03" in by_id
    assert by_id["TST01"].wait.reported_minutes == 20.0
    assert by_id["RWFTW"].wait.reported_minutes == 35.0
    homes = {regions.site_home[r.site.id] for r in answer.results}
    assert homes == {"kent-medway", "sussex-test"}
    # The sussex border UTC, ~6 km away with a 20-minute wait, beats every Kent site.
    assert answer.results[0].site.id == "TST01"
