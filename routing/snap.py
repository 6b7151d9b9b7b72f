"""Snapping points onto the EDGES of a road graph (not its nodes).

A simplified graph's nodes are only junctions, so a point on a long road can be kilometres from
the nearest node while lying on the road itself. Here every directed edge is kept as its
polyline (the raw OSM nodes osmnx merged away) cut into straight segments, each with the
seconds it takes; a point is projected onto the nearest segments and enters the graph part
way along their edges.

Lookups search the midpoints of pieces at most :data:`SNAP_PIECE_M` long, so a ball query
around the nearest midpoint is guaranteed to find every segment within :data:`SNAP_TIE_M` of
the nearest one (see :meth:`EdgeSnapper.snap`), in a grid of sorted cells
(:mod:`routing.snapgrid`): plain arrays, written into the graph cache at build time and
memory-mapped at load (:mod:`routing.snapcache`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from routing.distance import EARTH_RADIUS_M
from routing.segments import EdgeSegments
from routing.snapgrid import SnapIndex, ball, morton_keys, some_piece_m
from routing.table import unit_xyz_m

# Longest piece indexed, in meters: smaller costs memory, larger widens queries.
SNAP_PIECE_M = 100.0
# Segments within this many meters of the nearest one are candidates too: both directions of a
# two-way street (same geometry) and roads meeting at a junction are the same distance away,
# and a point may enter the network along any of them.
SNAP_TIE_M = 1.0
# A query first looks this far (plus tie and half a piece) around the point, enough for most
# points near a road; points farther from every road take a second, nearest-neighbour lookup.
FIRST_REACH_M = 75.0
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


def build_snap_index(segments: EdgeSegments, piece_m: float = SNAP_PIECE_M) -> SnapIndex:
    """The index of ``segments`` with pieces at most ``piece_m`` meters long."""
    a_m = unit_xyz_m(segments.seg_a[:, 0], segments.seg_a[:, 1])
    ab_m = unit_xyz_m(segments.seg_b[:, 0], segments.seg_b[:, 1]) - a_m
    ab2_m2 = np.maximum((ab_m ** 2).sum(axis=1), 1e-12)
    # A two-way street is two directed segments on one line: index one, and add its twin
    # (position 1 - t along it) to the candidates, which halves the index.
    twin = twin_segments(segments.seg_a, segments.seg_b)
    indexed = np.flatnonzero((twin < 0) | (np.arange(len(twin)) < twin))
    length_m = np.sqrt(ab2_m2[indexed])
    n_pieces = np.maximum(1, np.ceil(length_m / piece_m)).astype(np.int64)
    piece_seg = np.repeat(indexed, n_pieces)
    # Position of each piece's midpoint along its segment, as a fraction.
    first = np.repeat(np.cumsum(n_pieces) - n_pieces, n_pieces)
    rank = np.arange(len(piece_seg)) - first
    fraction = (rank + 0.5) / np.repeat(n_pieces, n_pieces)
    mids_m = a_m[piece_seg] + fraction[:, None] * ab_m[piece_seg]
    half_piece_m = float((length_m / n_pieces).max(initial=0.0)) / 2
    # Cells as wide as the first query's ball: it then touches at most 3 x 3 x 3 cells.
    cell_m = SNAP_TIE_M + half_piece_m + FIRST_REACH_M
    origin_m = mids_m.min(axis=0) if len(mids_m) else np.zeros(3)
    cells = np.floor((mids_m - origin_m) / cell_m).astype(np.int64)
    grid_bits = max(1, int(cells.max(initial=0)).bit_length())
    keys = morton_keys(cells)
    order = np.argsort(keys, kind="stable")
    cell_key, cell_start = np.unique(keys[order], return_index=True)
    return SnapIndex(a_m, ab_m, ab2_m2, twin, piece_seg[order], mids_m[order], cell_key,
                     np.append(cell_start, len(keys)).astype(np.int64), origin_m, cell_m,
                     grid_bits, half_piece_m)


class EdgeSnapper:
    """Nearest-edge lookups over :class:`EdgeSegments` (built once, queried per request).

    Parameters
    ----------
    segments
        The graph's edge segments.
    piece_m
        Longest indexed piece in meters, when the index is built here.
    tie_m
        Segments within this many meters of the nearest one are candidates too.
    index
        A prebuilt index of ``segments`` (:func:`routing.snapcache.read_snap_index`); built
        here when ``None``.
    """

    def __init__(self, segments: EdgeSegments, *, piece_m: float = SNAP_PIECE_M,
                 tie_m: float = SNAP_TIE_M, index: SnapIndex | None = None) -> None:
        self.segments = segments
        self.tie_m = tie_m
        self.index = build_snap_index(segments, piece_m) if index is None else index
        self._first_radius_m = tie_m + self.index.half_piece_m + FIRST_REACH_M

    def snap(self, lat: float, lon: float) -> Snap:
        """Candidate entry positions for (lat, lon): every segment within ``tie_m`` of the nearest.

        A segment within d + tie_m of the point (d: the nearest segment's distance) has a
        piece midpoint within r = d + tie_m + half a piece. The first ball query is therefore
        complete when the nearest segment it found gives r <= its radius; otherwise the
        nearest midpoint (distance D >= d) sets the radius D + tie_m + half a piece.
        """
        point = _xyz_m(lat, lon)
        half_piece_m = self.index.half_piece_m
        # First look a fixed distance around the point (a 3 x 3 x 3 block of cells); if the
        # nearest segment found lies within that distance minus tie_m and half a piece, that
        # one lookup was enough.
        pieces, d2_m2 = ball(self.index, point, self._first_radius_m)
        if len(pieces):
            seg, t, dist_m = self._project(point, pieces)
        if not len(pieces) or dist_m.min() + self.tie_m + half_piece_m > self._first_radius_m:
            # Every midpoint within D + tie_m + half a piece (D: the nearest midpoint's
            # distance), taken from a ball around the point that surely holds them all.
            reach_m = self.tie_m + half_piece_m + 1e-6
            # Any midpoint's distance bounds the nearest one's.
            bound_m = (float(np.sqrt(d2_m2.min())) if len(pieces)
                       else some_piece_m(self.index, point))
            pieces, d2_m2 = ball(self.index, point, bound_m + reach_m)
            radius_m = float(np.sqrt(d2_m2.min())) + reach_m
            seg, t, dist_m = self._project(point, pieces[d2_m2 <= radius_m * radius_m])
        keep = dist_m <= dist_m.min() + self.tie_m
        seg, t, dist_m = seg[keep], t[keep], dist_m[keep]
        twin = self.index.twin[seg]
        if (twin >= 0).any():
            has = twin >= 0
            seg = np.concatenate((seg, twin[has]))
            t = np.concatenate((t, 1.0 - t[has]))
            dist_m = np.concatenate((dist_m, dist_m[has]))
        s = self.segments
        return Snap(edge=np.asarray(s.seg_edge[seg]),
                    along_s=s.seg_start_s[seg] + t * s.seg_seconds[seg], dist_m=dist_m)

    def _project(self, point: np.ndarray, pieces: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # Segment, position along it (0-1) and distance in meters of the point's projection.
        seg = np.asarray(self.index.piece_seg[pieces])
        a, ab = self.index.a_m[seg], self.index.ab_m[seg]
        t = ((point - a) * ab).sum(axis=1) / self.index.ab2_m2[seg]
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
