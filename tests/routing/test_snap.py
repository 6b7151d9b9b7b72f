"""Nearest-edge lookups agree with a brute-force projection onto every segment."""

import numpy as np
import pytest

from routing.bench import synthetic_graph
from routing.errors import GraphCacheError
from routing.segments import EdgeSegments
from routing.snap import SNAP_TIE_M, EdgeSnapper, twin_segments
from routing.table import unit_xyz_m


def _brute_force(segments: EdgeSegments, lat: float, lon: float) -> tuple[float, set[int]]:
    p = unit_xyz_m(lat, lon)[0]
    a = unit_xyz_m(segments.seg_a[:, 0], segments.seg_a[:, 1])
    ab = unit_xyz_m(segments.seg_b[:, 0], segments.seg_b[:, 1]) - a
    t = np.clip(((p - a) * ab).sum(axis=1) / np.maximum((ab ** 2).sum(axis=1), 1e-12), 0, 1)
    d = np.linalg.norm(a + t[:, None] * ab - p, axis=1)
    return float(d.min()), set(segments.seg_edge[d <= d.min() + SNAP_TIE_M].tolist())


@pytest.fixture(scope="module")
def segments():
    return EdgeSegments.from_arrays(synthetic_graph(900, seed=3))


def test_snap_finds_the_nearest_edges_near_and_far_from_roads(segments):
    snapper = EdgeSnapper(segments)
    lat, lon = segments.seg_a[:, 0], segments.seg_a[:, 1]
    rng = np.random.default_rng(5)
    # Points among the streets, and points up to ~3 km outside the grid (second lookup path).
    points = [(rng.uniform(lat.min(), lat.max()), rng.uniform(lon.min(), lon.max()))
              for _ in range(150)]
    points += [(lat.max() + rng.uniform(0, 0.03), rng.uniform(lon.min() - 0.03, lon.max()))
               for _ in range(50)]
    for p_lat, p_lon in points:
        nearest_m, edges = _brute_force(segments, p_lat, p_lon)
        snap = snapper.snap(p_lat, p_lon)
        assert snap.nearest_m == pytest.approx(nearest_m, abs=1e-6)
        assert set(snap.edge.tolist()) == edges
        # Entry position is a time along the edge, within the edge's time.
        assert ((snap.along_s >= 0) & (snap.along_s <= segments.edge_seconds[snap.edge]
                                       + 1e-9)).all()


def test_point_mid_way_along_an_edge_enters_half_way(segments):
    snapper = EdgeSnapper(segments)
    e = int(np.argmax(segments.edge_seconds))
    lat, lon = (segments.seg_a[e] + segments.seg_b[e]) / 2
    snap = snapper.snap(lat, lon)
    assert snap.nearest_m < 0.5
    along = dict(zip(snap.edge.tolist(), snap.along_s.tolist(), strict=True))
    # Chord midpoint vs arc midpoint differ by far less than a millisecond here.
    assert along[e] == pytest.approx(segments.edge_seconds[e] / 2, rel=1e-3)


def test_segments_round_trip_through_the_cache(segments, tmp_path):
    segments.save(tmp_path)
    loaded = EdgeSegments.load(tmp_path)
    for name in EdgeSegments.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(loaded, name), getattr(segments, name))
    with pytest.raises(GraphCacheError, match="rebuild the graph"):
        EdgeSegments.load(tmp_path / "missing")


def test_twin_segments_pair_only_one_to_one_reverses():
    p, q, r = [51.0, 1.0], [51.0, 1.001], [51.001, 1.0]
    seg_a = np.array([p, q, q, r, r, p, p])
    seg_b = np.array([q, p, r, q, q, p, r])
    # 0/1: a two-way street. 2: q→r and 3, 4: two r→q drawn on the same points (parallel
    # ways): ambiguous, so none of 2, 3, 4 is paired. 5: zero length. 6: one-way p→r.
    assert twin_segments(seg_a, seg_b).tolist() == [1, 0, -1, -1, -1, -1, -1]
