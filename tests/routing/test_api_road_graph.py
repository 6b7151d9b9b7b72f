"""/v1/rank on a real road graph: the service uses the built tables, per mode."""

from datetime import UTC, datetime

import numpy as np
import pytest

from routing.build import build_region
from routing.graph import GraphSource
from routing.travel import RoadGraphTravel
from waitless.api.app import create_app
from waitless.live.store import MemoryLiveStore
from waitless.settings import Settings

from .conftest import helsinki_pbf, make_region

pytestmark = pytest.mark.slow

SITES = [("H1", 60.1700, 24.9400), ("H2", 60.1750, 24.9500), ("H3", 60.1660, 24.9480)]
ORIGIN = {"lat": "60.1720", "lon": "24.9440"}


@pytest.fixture(scope="module")
def helsinki_cache(tmp_path_factory):
    region = make_region("helsinki-api", SITES)
    cache = tmp_path_factory.mktemp("graph-api")
    build_region(region, source=GraphSource(osm_file=helsinki_pbf()), cache_root=cache,
                 progress=lambda _: None)
    return region, cache


@pytest.fixture
async def client(aiohttp_client, helsinki_cache, tmp_path):
    region, cache = helsinki_cache
    app = create_app(Settings(graph_cache=str(cache), spool_dir=str(tmp_path / "spool")),
                     region=region, live_store=MemoryLiveStore(),
                     clock=lambda: datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    return await aiohttp_client(app)


async def test_rank_uses_road_graph_times_for_each_mode(client, helsinki_cache) -> None:
    region, cache = helsinki_cache
    by_mode = {}
    for mode in ("drive", "walk"):
        model = RoadGraphTravel.load(cache, region.name, mode=mode)
        expected = model.travel_seconds(float(ORIGIN["lat"]), float(ORIGIN["lon"])) / 60
        body = await (await client.get("/v1/rank", params={**ORIGIN, "mode": mode})).json()
        got = {r["site_id"]: r["travel_minutes"] for r in body["results"]}
        assert {r["travel_source"] for r in body["results"]} == {"road_graph"}
        for site_id, minutes in zip(model.site_ids, expected, strict=True):
            assert got[site_id] == pytest.approx(minutes, abs=0.051)
        by_mode[mode] = np.array([got[s] for s in model.site_ids])
    assert (by_mode["walk"] > by_mode["drive"]).all()


async def test_origin_outside_the_graph_is_422_and_ready_reports_road_graph(client) -> None:
    response = await client.get("/v1/rank", params={"lat": "60.30", "lon": "25.20"})
    assert response.status == 422
    assert (await response.json())["error"] == "outside_coverage"
    ready = await (await client.get("/readyz")).json()
    assert ready["travel"]["sources"] == {"drive": "road_graph", "walk": "road_graph"}
    assert "travel_estimate" not in ready["degraded"]
