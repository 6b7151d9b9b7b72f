"""``max_origin_distance_km`` applies with a road graph too (issue 14, item 2)."""

import copy
from datetime import UTC, datetime

import pytest

from routing.build import build_mode
from routing.errors import OutsideCoverage
from routing.graph import GraphSource
from routing.travel import RoadGraphTravel, load_travel_model
from waitless.api.app import create_app
from waitless.domain.region import parse_region
from waitless.live.store import MemoryLiveStore
from waitless.settings import Settings

from .conftest import GRID_SPEEDS, corner

# Mid-way along the D-A street: on a road, 111 m from both A and D.
ON_ROAD_FAR = (51.001, 1.0)


def _region(max_origin_distance_km: float | None):
    data = {
        "region": {"name": "grid", "timezone": "Europe/London"},
        "sites": [{"id": sid, "name": sid, "lat": lat, "lon": lon,
                   "services": [{"kind": "utc", "hours": "24h"}]}
                  for sid, (lat, lon) in (("SA", corner("A")), ("SB", corner("B")))],
        "graph": {"default_speeds_kph": GRID_SPEEDS, "max_snap_m": 5000},
    }
    if max_origin_distance_km is not None:
        data["ranking"] = {"max_origin_distance_km": max_origin_distance_km}
    return parse_region(data)


@pytest.fixture
def cache(grid_osm, tmp_path):
    root = tmp_path / "cache"
    build_mode(_region(None), "drive", source=GraphSource(osm_file=grid_osm), cache_root=root,
               progress=lambda _: None)
    return root


def test_road_graph_model_refuses_origins_beyond_the_limit(cache):
    model, _ = load_travel_model(_region(0.08), cache, "drive")
    assert model.source == "road_graph"
    with pytest.raises(OutsideCoverage, match=r"0\.1 km from the nearest site; this region "
                                              r"covers 0\.1 km"):
        model.travel_seconds(*ON_ROAD_FAR)
    # The same origin is on the graph and answered when the limit allows it.
    raw = RoadGraphTravel.load(cache, "grid")
    wide, _ = load_travel_model(_region(0.2), cache, "drive")
    assert list(wide.travel_seconds(*ON_ROAD_FAR)) == pytest.approx(
        list(raw.travel_seconds(*ON_ROAD_FAR)))
    # Within the limit of one site: answered.
    lat, lon = corner("A")
    assert model.travel_seconds(lat + 0.0003, lon)[0] < 10
    # Attributes of the road-graph model stay reachable (start-up logs, /readyz).
    assert model.meta["region"] == "grid" and model.site_ids == ("SA", "SB")
    assert copy.copy(model).max_origin_distance_m == 80.0


@pytest.mark.parametrize("with_graph", [True, False])
async def test_rank_answers_422_beyond_the_limit_with_or_without_a_graph(
        aiohttp_client, cache, tmp_path, with_graph):
    root = cache if with_graph else tmp_path / "no-cache"
    app = create_app(Settings(graph_cache=str(root), spool_dir=str(tmp_path / "spool")),
                     region=_region(0.08), live_store=MemoryLiveStore(),
                     clock=lambda: datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    client = await aiohttp_client(app)
    far = await client.get("/v1/rank", params={"lat": ON_ROAD_FAR[0], "lon": ON_ROAD_FAR[1]})
    assert far.status == 422
    assert (await far.json())["error"] == "outside_coverage"
    near = await client.get("/v1/rank", params={"lat": 51.0003, "lon": 1.0})
    assert near.status == 200
    body = await near.json()
    expected_source = "road_graph" if with_graph else "estimate"
    assert {r["travel_source"] for r in body["results"]} == {expected_source}
