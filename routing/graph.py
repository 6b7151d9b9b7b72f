"""Build a routable osmnx graph: speeds, travel times, simplification, one strong component."""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox

from routing import _osm
from routing.errors import GraphBuildError
from routing.speeds import edge_speed_kph
from routing.table import GraphArrays, csr_from_edges
from waitless.domain.graph_settings import GraphSettings

Progress = Callable[[str], None]


@dataclass(frozen=True)
class GraphSource:
    """Where OSM data comes from: exactly one of a file, a place query or a bbox.

    Attributes
    ----------
    osm_file
        Path to ``.osm``, ``.osm.bz2`` or ``.osm.pbf`` (offline).
    place
        Geocodable place name(s), downloaded through osmnx (online).
    bbox
        ``(west, south, east, north)`` in decimal degrees, downloaded through osmnx (online).
    """

    osm_file: Path | None = None
    place: tuple[str, ...] | None = None
    bbox: tuple[float, float, float, float] | None = None

    def __post_init__(self) -> None:
        given = sum(x is not None for x in (self.osm_file, self.place, self.bbox))
        if given != 1:
            msg = f"give exactly one OSM source (--osm-file, --place or --bbox), got {given}"
            raise GraphBuildError(msg)

    def describe(self) -> dict[str, object]:
        """JSON-ready description; for a file also its size and modification time."""
        if self.osm_file is not None:
            path = self.osm_file.resolve()
            stat = path.stat() if path.is_file() else None
            return {"osm_file": str(path), "size_bytes": stat and stat.st_size,
                    "mtime_ns": stat and stat.st_mtime_ns}
        if self.place is not None:
            return {"place": list(self.place)}
        return {"bbox": list(self.bbox)}


def raw_graph(source: GraphSource, mode: str, progress: Progress) -> nx.MultiDiGraph:
    """Unsimplified osmnx graph of one mode (``"drive"`` or ``"walk"``) from the source."""
    if source.osm_file is not None:
        with tempfile.TemporaryDirectory(prefix="waitless-osm-") as tmp:
            return _osm.graph_from_osm_file(source.osm_file, mode, Path(tmp), progress)
    place = None if source.place is None else (
        source.place[0] if len(source.place) == 1 else list(source.place))
    try:
        return _osm.graph_from_place_or_bbox(place, source.bbox, mode, progress)
    except Exception as exc:  # osmnx raises several unrelated types for network/geocode failures
        msg = f"downloading the {mode} graph failed: {exc}"
        raise GraphBuildError(msg) from exc


def add_travel_times(G: nx.MultiDiGraph, mode: str, settings: GraphSettings) -> Counter:
    """Set ``speed_kph`` and ``travel_time`` (seconds) on every edge; count speed origins.

    Walking uses ``settings.walk_speed_kph`` everywhere; driving follows
    :func:`routing.speeds.edge_speed_kph`.
    """
    origins: Counter = Counter()
    for _, _, attrs in G.edges(data=True):
        if mode == "walk":
            speed_kph, origin = settings.walk_speed_kph, "walk_speed"
        else:
            speed_kph, origin = edge_speed_kph(attrs, settings.default_speeds_kph)
        attrs["speed_kph"] = speed_kph
        origins[origin] += 1
    if G.number_of_edges():
        ox.add_edge_travel_times(G)
    return origins


def routable_graph(G: nx.MultiDiGraph, mode: str, settings: GraphSettings,
                   progress: Progress) -> tuple[nx.MultiDiGraph, Counter]:
    """Speeds and travel times on the raw graph, then simplify, then the largest strong component.

    Travel times are set BEFORE simplification and summed along merged edges, so a
    simplified edge whose pieces had different limits keeps the exact time.
    """
    if G.number_of_edges() == 0:
        msg = f"the {mode} graph has no edges: the OSM source holds no usable roads"
        raise GraphBuildError(msg)
    origins = add_travel_times(G, mode, settings)
    progress(f"  simplifying {len(G):,} nodes / {G.number_of_edges():,} edges")
    G = ox.simplify_graph(G, edge_attr_aggs={"length": sum, "travel_time": sum})
    G = ox.truncate.largest_component(G, strongly=True)
    if len(G) < 2:
        msg = f"the {mode} graph's largest strongly connected component has {len(G)} node(s)"
        raise GraphBuildError(msg)
    progress(f"  largest strongly connected component: {len(G):,} nodes / "
             f"{G.number_of_edges():,} edges")
    return G, origins


def graph_arrays(G: nx.MultiDiGraph) -> GraphArrays:
    """Arrays of a routable graph, nodes in ``G``'s order, parallel edges reduced to the fastest."""
    osmids = np.fromiter(G.nodes, dtype=np.int64, count=len(G))
    index = {osmid: i for i, osmid in enumerate(osmids.tolist())}
    lat = np.array([G.nodes[n]["y"] for n in G.nodes], dtype=np.float64)
    lon = np.array([G.nodes[n]["x"] for n in G.nodes], dtype=np.float64)
    edges = [(index[u], index[v], attrs["travel_time"]) for u, v, attrs in G.edges(data=True)]
    u, v, seconds = (np.array(col) for col in zip(*edges, strict=True))
    return GraphArrays(lat, lon, csr_from_edges(u, v, seconds, len(osmids)), osmids)
