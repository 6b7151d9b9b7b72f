"""Snapping points onto the EDGES of a road graph (not its nodes).

A simplified graph's nodes are only junctions, so a point on a long road can be kilometres from
the nearest node while lying on the road itself. Here every directed edge is kept as its
polyline (the raw OSM nodes osmnx merged away) cut into straight segments, each with the
seconds it takes; a point is projected onto the nearest segments and enters the graph part
way along their edges.

Lookups use a KD-tree over the midpoints of pieces at most :data:`SNAP_PIECE_M` long, so a
ball query around the nearest midpoint is guaranteed to find every segment within
:data:`SNAP_TIE_M` of the nearest one (see :meth:`EdgeSnapper.snap`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
from scipy.spatial import cKDTree

from routing.distance import EARTH_RADIUS_M
from routing.errors import GraphCacheError
from routing.io import _replace_into
from routing.table import GraphArrays, unit_xyz_m

# Longest piece indexed by the KD-tree, in meters: smaller costs memory, larger widens queries.
SNAP_PIECE_M = 100.0
# Segments within this many meters of the nearest one are candidates too: both directions of a
# two-way street (same geometry) and roads meeting at a junction are the same distance away,
# and a point may enter the network along any of them.
SNAP_TIE_M = 1.0
EDGES_FILE = "edges.npz"
# A query first looks this far (plus tie and half a piece) around the point, enough for most
# points near a road; points farther from every road take a second, nearest-neighbour lookup.
FIRST_REACH_M = 75.0


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

    def save(self, directory: Path) -> None:
        """Write ``edges.npz`` beside the graph (see :mod:`routing.io`)."""
        directory.mkdir(parents=True, exist_ok=True)
        _replace_into(directory, EDGES_FILE, lambda fh: np.savez_compressed(
            fh, **{name: getattr(self, name) for name in self.__dataclass_fields__}))

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


@dataclass(frozen=True)
class Snap:
    """Where a point enters the graph: one row per candidate edge position.

    Attributes
    ----------
    edge
        Edge index of each candidate.
    along_s
        Seconds from the edge's tail to the projected point.
    dist_m
        Straight-line distance from the point to the projection, in meters.
    """

    edge: np.ndarray
    along_s: np.ndarray
    dist_m: np.ndarray

    @property
    def nearest_m(self) -> float:
        """Distance to the nearest edge in meters."""
        return float(self.dist_m.min())


class EdgeSnapper:
    """Nearest-edge lookups over :class:`EdgeSegments` (built once, queried per request)."""

    def __init__(self, segments: EdgeSegments, *, piece_m: float = SNAP_PIECE_M,
                 tie_m: float = SNAP_TIE_M) -> None:
        self.segments = segments
        self.tie_m = tie_m
        self._a = unit_xyz_m(segments.seg_a[:, 0], segments.seg_a[:, 1])
        self._ab = unit_xyz_m(segments.seg_b[:, 0], segments.seg_b[:, 1]) - self._a
        self._ab2 = np.maximum((self._ab ** 2).sum(axis=1), 1e-12)
        # A two-way street is two directed segments on one line: index one, and add its twin
        # (position 1 - t along it) to the candidates, which halves the tree.
        self._twin = twin_segments(segments.seg_a, segments.seg_b)
        indexed = np.flatnonzero((self._twin < 0) | (np.arange(len(self._twin)) < self._twin))
        length_m = np.sqrt(self._ab2[indexed])
        n_pieces = np.maximum(1, np.ceil(length_m / piece_m)).astype(np.int64)
        self._piece_seg = np.repeat(indexed, n_pieces)
        # Position of each piece's midpoint along its segment, as a fraction.
        first = np.repeat(np.cumsum(n_pieces) - n_pieces, n_pieces)
        rank = np.arange(len(self._piece_seg)) - first
        fraction = (rank + 0.5) / np.repeat(n_pieces, n_pieces)
        mids = self._a[self._piece_seg] + fraction[:, None] * self._ab[self._piece_seg]
        self._half_piece_m = float((length_m / n_pieces).max(initial=0.0)) / 2
        self._first_radius_m = tie_m + self._half_piece_m + FIRST_REACH_M
        self._mids = mids
        # Unbalanced, uncompacted: builds 2-3x faster at load, queries as fast here.
        self.tree = cKDTree(mids, balanced_tree=False, compact_nodes=False)

    def snap(self, lat: float, lon: float) -> Snap:
        """Candidate entry positions for (lat, lon): every segment within ``tie_m`` of the nearest.

        A segment within d + tie_m of the point (d: the nearest segment's distance) has a
        piece midpoint within r = d + tie_m + half a piece. The first ball query is therefore
        complete when the nearest segment it found gives r <= its radius; otherwise the
        nearest midpoint (distance D >= d) sets the radius D + tie_m + half a piece.
        """
        point = _xyz_m(lat, lon)
        # A ball query is several times cheaper than a nearest-neighbour one in cKDTree, so
        # first look a fixed distance around the point; if the nearest segment found lies
        # within that distance minus tie_m and half a piece, that one call was enough.
        pieces = self.tree.query_ball_point(point, self._first_radius_m, return_sorted=False)
        if pieces:
            seg, t, dist_m = self._project(point, pieces)
        if not pieces or dist_m.min() + self.tie_m + self._half_piece_m > self._first_radius_m:
            nearest_mid_m, _ = self.tree.query(point)
            pieces = self.tree.query_ball_point(
                point, nearest_mid_m + self.tie_m + self._half_piece_m + 1e-6,
                return_sorted=False)
            seg, t, dist_m = self._project(point, pieces)
        keep = dist_m <= dist_m.min() + self.tie_m
        seg, t, dist_m = seg[keep], t[keep], dist_m[keep]
        twin = self._twin[seg]
        if (twin >= 0).any():
            has = twin >= 0
            seg = np.concatenate((seg, twin[has]))
            t = np.concatenate((t, 1.0 - t[has]))
            dist_m = np.concatenate((dist_m, dist_m[has]))
        s = self.segments
        return Snap(edge=s.seg_edge[seg], along_s=s.seg_start_s[seg] + t * s.seg_seconds[seg],
                    dist_m=dist_m)

    def _project(self, point: np.ndarray, pieces: list[int]
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # Segment, position along it (0-1) and distance in meters of the point's projection.
        seg = self._piece_seg[pieces]
        a, ab = self._a[seg], self._ab[seg]
        t = ((point - a) * ab).sum(axis=1) / self._ab2[seg]
        np.clip(t, 0.0, 1.0, out=t)
        dist_m = np.sqrt(((a + t[:, None] * ab - point) ** 2).sum(axis=1))
        return seg, t, dist_m


def twin_segments(seg_a: np.ndarray, seg_b: np.ndarray) -> np.ndarray:
    """For each segment a→b, the index of the one segment b→a on the same two points, else -1.

    Only one-to-one pairs count: where several segments share the same points and direction
    (parallel ways drawn on the same nodes), none of them is paired, so each stays indexed.
    """
    n = len(seg_a)
    twin = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return twin
    # Number the distinct points (a numeric lexsort: sorting raw bytes is ~10x slower), then
    # key each segment by its two point numbers.
    points = np.concatenate((seg_a, seg_b))
    by_point = np.lexsort((points[:, 1], points[:, 0]))
    new_point = np.ones(len(points), dtype=bool)
    new_point[1:] = (np.diff(points[by_point], axis=0) != 0).any(axis=1)
    point_id = np.empty(len(points), dtype=np.int64)
    point_id[by_point] = np.cumsum(new_point) - 1
    start, end = point_id[:n], point_id[n:]
    n_points = int(point_id.max()) + 1
    fwd, rev = start * n_points + end, end * n_points + start
    order = np.argsort(fwd, kind="stable")
    ordered = fwd[order]
    repeated = np.zeros(n, dtype=bool)
    same = ordered[1:] == ordered[:-1]
    repeated[order[1:][same]] = True
    repeated[order[:-1][same]] = True
    pos = np.minimum(np.searchsorted(ordered, rev), n - 1)
    found = (ordered[pos] == rev) & ~repeated
    twin[found] = order[pos[found]]
    twin[found] = np.where(repeated[twin[found]], -1, twin[found])
    twin[twin == np.arange(n)] = -1  # a zero-length segment is its own reverse: index it
    return twin


def _xyz_m(lat: float, lon: float) -> np.ndarray:
    # Scalar twin of routing.table.unit_xyz_m: the array version costs ~20 µs per query.
    phi, lmb = math.radians(lat), math.radians(lon)
    return np.array((EARTH_RADIUS_M * math.cos(phi) * math.cos(lmb),
                     EARTH_RADIUS_M * math.cos(phi) * math.sin(lmb),
                     EARTH_RADIUS_M * math.sin(phi)))
