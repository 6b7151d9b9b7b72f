"""A road graph's directed edges as straight segments with travel times (see :mod:`routing.snap`).

Built from an osmnx graph at build time, saved as ``edges.npz`` beside the graph, and read back
by the snapping index (:mod:`routing.snapcache`) and the site/origin entries
(:mod:`routing.entries`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np

from routing.errors import GraphCacheError
from routing.io import _replace_into
from routing.table import GraphArrays, unit_xyz_m

EDGES_FILE = "edges.npz"


@dataclass(frozen=True)
class EdgeSegments:
    """Directed edges as straight segments with travel times.

    Attributes
    ----------
    seg_a, seg_b
        Start and end of each segment, ``(n_segments, 2)`` latitude/longitude in degrees,
        in the edge's direction of travel.
    seg_edge
        Index of the edge each segment belongs to.
    seg_start_s
        Seconds from the edge's tail node to the segment's start.
    seg_seconds
        Seconds to travel the segment.
    edge_tail, edge_head
        Node indices (into :class:`routing.table.GraphArrays`) at each edge's ends.
    edge_seconds
        Seconds to travel each whole edge.
    """

    seg_a: np.ndarray
    seg_b: np.ndarray
    seg_edge: np.ndarray
    seg_start_s: np.ndarray
    seg_seconds: np.ndarray
    edge_tail: np.ndarray
    edge_head: np.ndarray
    edge_seconds: np.ndarray

    @classmethod
    def from_graph(cls, G: nx.MultiDiGraph) -> EdgeSegments:
        """Segments of an osmnx graph, node indices in ``G``'s node order.

        Simplified edges carry their polyline as ``geometry`` and, when built by
        :func:`routing.graph.routable_graph`, each raw piece's seconds as the list
        ``segment_seconds``; without it an edge's time is shared out by segment length.
        """
        index = {n: i for i, n in enumerate(G.nodes)}
        a, b, seg_edge, start_s, seg_s = [], [], [], [], []
        tails, heads, totals = [], [], []
        for e, (u, v, attrs) in enumerate(G.edges(data=True)):
            geometry = attrs.get("geometry")
            coords = (np.array(geometry.coords)[:, ::-1] if geometry is not None else
                      np.array([[G.nodes[u]["y"], G.nodes[u]["x"]],
                                [G.nodes[v]["y"], G.nodes[v]["x"]]]))
            total_s = float(attrs["travel_time"])
            seconds = _segment_seconds(coords, attrs.get("segment_seconds"), total_s)
            a.append(coords[:-1])
            b.append(coords[1:])
            seg_edge.append(np.full(len(seconds), e))
            start_s.append(np.concatenate(([0.0], np.cumsum(seconds)[:-1])))
            seg_s.append(seconds)
            tails.append(index[u])
            heads.append(index[v])
            totals.append(total_s)
        return cls(np.concatenate(a), np.concatenate(b), np.concatenate(seg_edge),
                   np.concatenate(start_s), np.concatenate(seg_s), np.array(tails),
                   np.array(heads), np.array(totals, dtype=np.float64))

    @classmethod
    def from_arrays(cls, arrays: GraphArrays) -> EdgeSegments:
        """One straight segment per entry of the graph's matrix (graphs without geometry)."""
        coo = arrays.csr.tocoo()
        tail, head = coo.row.astype(np.int64), coo.col.astype(np.int64)
        coords = np.column_stack((arrays.node_lat, arrays.node_lon))
        seconds = coo.data.astype(np.float64)
        return cls(coords[tail], coords[head], np.arange(len(tail)), np.zeros(len(tail)),
                   seconds, tail, head, seconds)

    def save(self, directory: Path) -> str:
        """Write ``edges.npz`` beside the graph (see :mod:`routing.io`).

        Returns
        -------
        str
            The segments' digest, also saved in the file, which ties a ``snap/`` index to them.
        """
        directory.mkdir(parents=True, exist_ok=True)
        digest = self.digest()
        _replace_into(directory, EDGES_FILE, lambda fh: np.savez_compressed(
            fh, digest=np.array(digest),
            **{name: getattr(self, name) for name in self.__dataclass_fields__}))
        return digest

    def digest(self) -> str:
        """SHA-256 of every array's dtype, shape and bytes, in field order (hex)."""
        sha = hashlib.sha256()
        for name in self.__dataclass_fields__:
            array = np.ascontiguousarray(getattr(self, name))
            sha.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
            sha.update(memoryview(array).cast("B"))
        return sha.hexdigest()

    @classmethod
    def load(cls, directory: Path) -> EdgeSegments:
        """Read ``edges.npz``.

        Raises
        ------
        GraphCacheError
            When the file is missing or unreadable (caches from before edge snapping).
        """
        try:
            with np.load(directory / EDGES_FILE) as data:
                return cls(**{name: data[name] for name in cls.__dataclass_fields__})
        except (OSError, KeyError, ValueError) as exc:
            msg = (f"cannot read the road edges in {directory}: {exc}; rebuild the graph from "
                   "its OSM source")
            raise GraphCacheError(msg) from exc


def _segment_seconds(coords: np.ndarray, given: object, total_s: float) -> np.ndarray:
    n = len(coords) - 1
    if isinstance(given, list) and len(given) == n:
        seconds = np.asarray(given, dtype=np.float64)
    else:
        xyz = unit_xyz_m(coords[:, 0], coords[:, 1])
        seconds = np.linalg.norm(np.diff(xyz, axis=0), axis=1)
    # Scale so the pieces add up to the edge's own time exactly (rounding, length shares).
    whole = seconds.sum()
    return seconds * (total_s / whole) if whole > 0 else np.full(n, total_s / n)
