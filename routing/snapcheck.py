"""Check edge snapping against networkx on the UNSIMPLIFIED graph.

``python -m routing.snapcheck --osm-file A [--osm-file B ...] [--origins 60] [--sites 3]
[--min-junction-m 150] [--max-snap-m M] [--mode drive|walk]``

For each extract: reads the raw drive (or walk) graph with the build's own speeds, picks sites and
origins lying exactly on raw road pieces, mid-way along roads and away from junctions (the
case nearest-node snapping got wrong), builds the table as ``waitless graph build`` does,
and compares ``RoadGraphTravel.travel_seconds`` with an independent answer: networkx
Dijkstra on the raw graph with each site inserted as a node on its piece and each origin
leaving its piece by either end the piece's direction allows. Prints the errors, and the
errors the old nearest-junction snapping would have made on the same points.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox

from routing.build import build_mode
from routing.distance import haversine_m
from routing.graph import GraphSource, add_travel_times, raw_graph
from routing.table import node_tree, site_table, unit_xyz_m
from routing.travel import RoadGraphTravel
from waitless.domain.graph_settings import GraphSettings

# A point is "on" one raw piece only when no other road comes this close (meters): otherwise
# it could fairly enter by either, and the comparison would not be like for like.
CLEAR_OF_OTHER_ROADS_M = 15.0


@dataclass(frozen=True)
class OnRoad:
    """A point on raw edge u→v at ``fraction`` of its length, with its coordinates."""

    u: int
    v: int
    fraction: float
    lat: float
    lon: float


@dataclass(frozen=True)
class Comparison:
    """Routed and reference seconds, origins × sites, and the old snapping's answers."""

    extract: str
    got_s: np.ndarray
    expected_s: np.ndarray
    old_s: np.ndarray
    junction_m: np.ndarray

    def error_s(self, which: str = "got") -> np.ndarray:
        values = self.got_s if which == "got" else self.old_s
        return np.abs(values - self.expected_s)

    def within(self, rel: float = 0.02, abs_s: float = 30.0) -> np.ndarray:
        return self.error_s() <= rel * self.expected_s + abs_s


def _edge_s(G: nx.MultiDiGraph, u: int, v: int) -> float:
    return min(d["travel_time"] for d in G.get_edge_data(u, v).values())


def on_road_points(G: nx.MultiDiGraph, junction_lat: np.ndarray, junction_lon: np.ndarray,
                   n: int, *, min_junction_m: float, rng: np.random.Generator,
                   exclude: set[frozenset] = frozenset()) -> list[OnRoad]:
    """Up to ``n`` points on raw pieces of ``G``, at least ``min_junction_m`` from any junction."""
    pos = {n_: (G.nodes[n_]["y"], G.nodes[n_]["x"]) for n_ in G.nodes}
    pairs = sorted({(u, v) for u, v in G.edges() if u != v})
    a = unit_xyz_m(*np.array([pos[u] for u, _ in pairs]).T)
    b = unit_xyz_m(*np.array([pos[v] for _, v in pairs]).T)
    junctions = node_tree(junction_lat, junction_lon)
    points: list[OnRoad] = []
    for i in rng.permutation(len(pairs)):
        u, v = pairs[i]
        if frozenset((u, v)) in exclude or len(G.get_edge_data(u, v)) > 1:
            continue
        t = float(rng.uniform(0.3, 0.7))
        p = a[i] + t * (b[i] - a[i])
        if junctions.query(p)[0] < min_junction_m:
            continue
        ab = b - a
        s = np.clip(((p - a) * ab).sum(axis=1) / np.maximum((ab ** 2).sum(axis=1), 1e-9), 0, 1)
        d = np.linalg.norm(a + s[:, None] * ab - p, axis=1)
        others = [j for j in np.flatnonzero(d < CLEAR_OF_OTHER_ROADS_M)
                  if {pairs[j][0], pairs[j][1]} != {u, v}]
        if others:
            continue
        lat = math.degrees(math.asin(p[2] / np.linalg.norm(p)))
        lon = math.degrees(math.atan2(p[1], p[0]))
        points.append(OnRoad(int(u), int(v), t, lat, lon))
        exclude = exclude | {frozenset((u, v))}
        if len(points) == n:
            break
    return points


def reference_seconds(G: nx.MultiDiGraph, sites: list[OnRoad],
                      origins: list[OnRoad]) -> np.ndarray:
    """networkx answer on the raw graph, ``(n_origins, n_sites)`` seconds."""
    H = nx.DiGraph()
    for u, v, d in G.edges(data=True):
        if u != v and (not H.has_edge(u, v) or H[u][v]["s"] > d["travel_time"]):
            H.add_edge(u, v, s=d["travel_time"])
    out = np.full((len(origins), len(sites)), np.inf)
    for k, site in enumerate(sites):
        target = ("site", k)
        H.add_edge(site.u, target, s=site.fraction * H[site.u][site.v]["s"])
        if H.has_edge(site.v, site.u):
            H.add_edge(site.v, target, s=(1 - site.fraction) * H[site.v][site.u]["s"])
        to_site = nx.single_source_dijkstra_path_length(H.reverse(copy=False), target,
                                                        weight="s")
        H.remove_node(target)
        for i, o in enumerate(origins):
            best = (1 - o.fraction) * H[o.u][o.v]["s"] + to_site.get(o.v, np.inf)
            if H.has_edge(o.v, o.u):
                best = min(best, o.fraction * H[o.v][o.u]["s"] + to_site.get(o.u, np.inf))
            out[i, k] = best
    return out


def _old_snapping_seconds(result, sites: list[OnRoad], origins: list[OnRoad],
                          access_speed_kph: float) -> np.ndarray:
    # What nearest-junction snapping (cache format 1) answered: node row + straight legs.
    arrays = result.arrays
    tree = node_tree(arrays.node_lat, arrays.node_lon)
    site_m, site_nodes = tree.query(unit_xyz_m([s.lat for s in sites], [s.lon for s in sites]))
    table = site_table(arrays.csr, site_nodes)
    orig_m, orig_nodes = tree.query(unit_xyz_m([o.lat for o in origins],
                                               [o.lon for o in origins]))
    speed_mps = access_speed_kph / 3.6
    return table[orig_nodes] + orig_m[:, None] / speed_mps + site_m[None, :] / speed_mps


def compare_extract(osm_file: Path, cache_root: Path, *, n_origins: int = 60, n_sites: int = 3,
                    min_junction_m: float = 150.0, max_snap_m: float | None = None,
                    mode: str = "drive", seed: int = 14) -> Comparison:
    """Build one extract with on-road sites and compare origins against networkx.

    ``max_snap_m`` below ``min_junction_m`` shows that points far from any junction but on a
    road are neither refused at build (sites) nor outside coverage (origins).
    """
    from waitless.domain.region import parse_region

    rng = np.random.default_rng(seed)
    quiet = lambda _: None  # noqa: E731
    source = GraphSource(osm_file=osm_file)
    settings = GraphSettings()
    G = raw_graph(source, mode, quiet)
    add_travel_times(G, mode, settings)
    G = G.subgraph(max(nx.strongly_connected_components(G), key=len)).copy()
    # Junctions = the nodes simplification keeps (what nearest-node snapping snapped to).
    junction = list(ox.simplify_graph(G.copy()).nodes)
    jlat = np.array([G.nodes[n]["y"] for n in junction])
    jlon = np.array([G.nodes[n]["x"] for n in junction])
    sites = on_road_points(G, jlat, jlon, n_sites, min_junction_m=min_junction_m, rng=rng)
    used = {frozenset((s.u, s.v)) for s in sites}
    origins = on_road_points(G, jlat, jlon, n_origins, min_junction_m=min_junction_m, rng=rng,
                             exclude=used)
    name = osm_file.name.split(".")[0].lower()
    graph = {} if max_snap_m is None else {"max_snap_m": max_snap_m}
    region = parse_region({
        "graph": graph, "region": {"name": name, "timezone": "UTC"},
        "sites": [{"id": f"S{k}", "name": f"S{k}", "lat": s.lat, "lon": s.lon,
                   "services": [{"kind": "utc", "hours": "24h"}]} for k, s in enumerate(sites)]})
    result = build_mode(region, mode, source=source, cache_root=cache_root, progress=quiet)
    model = RoadGraphTravel.load(cache_root, name, mode=mode)
    got = np.array([model.travel_seconds(o.lat, o.lon) for o in origins])
    junction_m = np.array([haversine_m(o.lat, o.lon, jlat, jlon).min() for o in origins])
    return Comparison(f"{name} {mode}", got, reference_seconds(G, sites, origins),
                      _old_snapping_seconds(result, sites, origins,
                                            settings.access_speed_for(mode)),
                      junction_m)


def _describe(c: Comparison) -> str:
    err, old = c.error_s(), c.error_s("old")
    rel, old_rel = err / c.expected_s, old / c.expected_s
    old_within = old <= 0.02 * c.expected_s + 30
    return (f"{c.extract}: {c.got_s.size} origin-site pairs ({len(c.got_s)} origins, median "
            f"{np.median(c.junction_m):.0f} m from a junction); edge snapping: max error "
            f"{err.max():.3f} s, median {np.median(rel):.3%}, max {rel.max():.3%}, within 2 % + "
            f"30 s: {c.within().mean():.0%}; old nearest-junction snapping: max error "
            f"{old.max():.1f} s, median {np.median(old_rel):.1%}, p90 "
            f"{np.quantile(old_rel, 0.9):.1%}, within 2 % + 30 s: {old_within.mean():.0%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--osm-file", type=Path, action="append", required=True)
    parser.add_argument("--origins", type=int, default=60)
    parser.add_argument("--sites", type=int, default=3)
    parser.add_argument("--min-junction-m", type=float, default=150.0)
    parser.add_argument("--mode", choices=("drive", "walk"), default="drive")
    parser.add_argument("--max-snap-m", type=float, default=None,
                        help="region [graph] max_snap_m for the build (default 2000)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="waitless-snapcheck-") as tmp:
        for path in args.osm_file:
            print(_describe(compare_extract(path, Path(tmp), n_origins=args.origins,
                                            n_sites=args.sites,
                                            min_junction_m=args.min_junction_m,
                                            max_snap_m=args.max_snap_m, mode=args.mode)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
