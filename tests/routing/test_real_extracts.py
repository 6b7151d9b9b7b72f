"""Builds from real OSM extracts, offline, checked against networkx on the osmnx graph."""

from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from routing.build import BuildResult, build_mode
from routing.distance import haversine_m
from routing.errors import OutsideCoverage
from routing.graph import GraphSource
from routing.table import site_table
from routing.travel import RoadGraphTravel

from .conftest import helsinki_pbf, make_region, shared_file

pytestmark = pytest.mark.slow

# A few made-up "sites" inside each extract.
EXTRACTS = {
    "helsinki": (helsinki_pbf, [("H1", 60.1700, 24.9400), ("H2", 60.1750, 24.9500),
                                ("H3", 60.1660, 24.9480)]),
    "liechtenstein": (lambda: shared_file("data/osm/liechtenstein.osm.pbf"),
                      [("V", 47.141, 9.521), ("S", 47.166, 9.510), ("E", 47.240, 9.530)]),
}


@dataclass
class Built:
    result: BuildResult
    cache: Path
    region_name: str
    mode: str


# Walking is built on the small Helsinki extract only, to keep the suite quick.
BUILDS = [("helsinki", "drive"), ("helsinki", "walk"), ("liechtenstein", "drive")]


@pytest.fixture(scope="module", params=BUILDS, ids=[f"{e}-{m}" for e, m in BUILDS])
def built(request, tmp_path_factory):
    extract, mode = request.param
    path_of, sites = EXTRACTS[extract]
    region = make_region(extract, sites)
    cache = tmp_path_factory.mktemp(f"graph-{extract}")
    result = build_mode(region, mode, source=GraphSource(osm_file=path_of()),
                        cache_root=cache, progress=lambda _: None)
    return Built(result, cache, region.name, mode)


def test_build_is_a_strongly_connected_graph_with_tagged_speeds(built):
    meta, G = built.result.meta, built.result.graph
    assert meta["n_nodes"] == len(G) > 100
    assert nx.is_strongly_connected(G)
    assert meta["unreachable_pairs"] == 0
    origins = meta["graph"]["speed_origin_edges"]
    if built.mode == "drive":
        assert origins["maxspeed"] > 0
    else:
        assert set(origins) == {"walk_speed"}
        assert all(G.has_edge(v, u) for u, v in G.edges())
    assert all(d <= 2000 for d in meta["site_snap_m"])


def test_model_matches_networkx_for_random_origins(built):
    G = built.result.graph
    model = RoadGraphTravel.load(built.cache, built.region_name, mode=built.mode)
    nodes = list(G.nodes)
    lats = np.array([G.nodes[n]["y"] for n in nodes])
    lons = np.array([G.nodes[n]["x"] for n in nodes])
    site_nodes = [nodes[i] for i in model.meta["site_nodes"]]
    to_site = [nx.shortest_path_length(G, target=s, weight="travel_time") for s in site_nodes]
    speed_kph = 4.8 if built.mode == "walk" else 20.0
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(200):
        lat = rng.uniform(lats.min(), lats.max())
        lon = rng.uniform(lons.min(), lons.max())
        dist_m = haversine_m(lat, lon, lats, lons)
        if dist_m.min() > model.max_snap_m:
            continue
        origin = nodes[int(dist_m.argmin())]
        legs_s = (dist_m.min() + np.array(model.meta["site_snap_m"])) / (speed_kph / 3.6)
        expected = np.array([lengths[origin] for lengths in to_site]) + legs_s
        got = model.travel_seconds(lat, lon)
        np.testing.assert_allclose(got, expected, rtol=0.02, atol=0.05)
        checked += 1
    assert checked >= 150


def test_one_way_edges_are_respected(built):
    if built.mode == "walk":
        pytest.skip("walking ignores one-way tags (checked in the build test)")
    G, arrays = built.result.graph, built.result.arrays
    index = {n: i for i, n in enumerate(G.nodes)}
    one_way = [(u, v) for u, v in G.edges() if not G.has_edge(v, u)]
    assert len(one_way) > 10
    differing = 0
    for u, v in one_way[:25]:
        table = site_table(arrays.csr, np.array([index[u], index[v]]))
        u_to_v, v_to_u = table[index[u], 1], table[index[v], 0]
        assert u_to_v == pytest.approx(nx.shortest_path_length(G, u, v, weight="travel_time"),
                                       rel=1e-4)
        assert v_to_u == pytest.approx(nx.shortest_path_length(G, v, u, weight="travel_time"),
                                       rel=1e-4)
        direct_s = min(d["travel_time"] for d in G.get_edge_data(u, v).values())
        assert u_to_v <= direct_s * (1 + 1e-5)
        differing += abs(v_to_u - u_to_v) > 1.0
    assert differing >= 20


def test_far_origin_outside_coverage(built):
    model = RoadGraphTravel.load(built.cache, built.region_name, mode=built.mode)
    with pytest.raises(OutsideCoverage):
        model.travel_seconds(51.5, -0.12)
