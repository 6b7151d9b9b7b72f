"""The snapping index written into the graph cache and memory-mapped at load (``snap/``)."""

import json
import logging
import shutil

import numpy as np
import pytest

from routing.bench import synthetic_graph
from routing.build import build_mode
from routing.errors import GraphCacheError
from routing.estimate import EstimateTravel
from routing.graph import GraphSource, raw_graph, routable_graph
from routing.segments import EdgeSegments
from routing.snap import EdgeSnapper, Snap
from routing.snapcache import SNAP_INDEX_DIR, load_snapper, read_snap_index, save_snapper
from routing.travel import RoadGraphTravel, load_travel_model
from tests.conftest import shared_path
from waitless.domain.graph_settings import GraphSettings

from .conftest import GRID_SPEEDS, corner, make_region


def _points(segments: EdgeSegments, n: int, seed: int) -> list[tuple[float, float]]:
    # Points among the roads, and some up to ~5 km outside them (the nearest-midpoint path).
    lat, lon = segments.seg_a[:, 0], segments.seg_a[:, 1]
    rng = np.random.default_rng(seed)
    near = [(rng.uniform(lat.min(), lat.max()), rng.uniform(lon.min(), lon.max()))
            for _ in range(n)]
    far = [(lat.max() + rng.uniform(0, 0.05), rng.uniform(lon.min() - 0.05, lon.max()))
           for _ in range(n // 5)]
    return near + far


def _same_bytes(a: Snap, b: Snap) -> bool:
    return all(np.asarray(getattr(a, f)).dtype == np.asarray(getattr(b, f)).dtype
               and np.asarray(getattr(a, f)).tobytes() == np.asarray(getattr(b, f)).tobytes()
               for f in ("edge", "along_s", "dist_m"))


def _assert_mapped_snaps_equal_built(segments: EdgeSegments, tmp_path, n: int) -> None:
    built = EdgeSnapper(segments)
    save_snapper(tmp_path, built)
    mapped = load_snapper(tmp_path)
    assert isinstance(mapped.index.cell_key.base, np.memmap)
    assert isinstance(mapped.segments.seg_edge.base, np.memmap)
    for lat, lon in _points(segments, n, seed=7):
        assert _same_bytes(mapped.snap(lat, lon), built.snap(lat, lon)), (lat, lon)


@pytest.fixture(scope="module")
def grid_segments():
    return EdgeSegments.from_arrays(synthetic_graph(6000, seed=11))


def test_mapped_index_snaps_byte_identical_on_a_synthetic_grid(grid_segments, tmp_path):
    _assert_mapped_snaps_equal_built(grid_segments, tmp_path, 1000)


@pytest.mark.slow
def test_mapped_index_snaps_byte_identical_on_liechtenstein(tmp_path):
    path = shared_path("data", "osm", "liechtenstein.osm.pbf")
    G, _ = routable_graph(raw_graph(GraphSource(osm_file=path), "drive", lambda _: None),
                          "drive", GraphSettings(), lambda _: None)
    segments = EdgeSegments.from_graph(G)
    assert len(segments.seg_edge) > 10_000
    _assert_mapped_snaps_equal_built(segments, tmp_path, 1500)


def test_cache_without_index_is_built_at_load_with_a_warning(grid_segments, tmp_path, caplog):
    grid_segments.save(tmp_path)  # edges.npz alone, as caches written before snap/
    assert not (tmp_path / SNAP_INDEX_DIR).exists()
    with caplog.at_level(logging.WARNING, logger="routing.snapcache"):
        snapper = load_snapper(tmp_path)
    assert "no snapping index" in caplog.text
    assert not isinstance(snapper.index.cell_key.base, np.memmap)
    lat, lon = _points(grid_segments, 1, seed=3)[0]
    assert _same_bytes(snapper.snap(lat, lon), EdgeSnapper(grid_segments).snap(lat, lon))


def test_index_of_other_edges_is_ignored(grid_segments, tmp_path):
    save_snapper(tmp_path, EdgeSnapper(grid_segments))
    # The edges rewritten without their index (a crash between the two, or an old writer).
    other = EdgeSegments.from_arrays(synthetic_graph(900, seed=3))
    other.save(tmp_path)
    assert read_snap_index(tmp_path) is None
    assert len(load_snapper(tmp_path).segments.seg_edge) == len(other.seg_edge)


@pytest.mark.parametrize("damage", ["truncate", "header", "manifest", "missing"])
def test_damaged_index_is_refused_with_graph_cache_error(grid_segments, tmp_path, damage):
    save_snapper(tmp_path, EdgeSnapper(grid_segments))
    index_dir = tmp_path / SNAP_INDEX_DIR
    mids = index_dir / "piece_mid_m.npy"
    if damage == "truncate":
        mids.write_bytes(mids.read_bytes()[:-1000])
    elif damage == "header":
        mids.write_bytes(b"\x00" * 64 + mids.read_bytes()[64:])
    elif damage == "manifest":
        manifest = json.loads((index_dir / "index.json").read_text())
        manifest["arrays"]["cell_key"]["shape"] = [5]
        (index_dir / "index.json").write_text(json.dumps(manifest))
    else:
        (index_dir / "twin.npy").unlink()
    with pytest.raises(GraphCacheError, match="damaged snapping index"):
        load_snapper(tmp_path)


def test_rewriting_the_index_leaves_no_temporary_files(grid_segments, tmp_path):
    snapper = EdgeSnapper(grid_segments)
    save_snapper(tmp_path, snapper)
    save_snapper(tmp_path, snapper)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["edges.npz", SNAP_INDEX_DIR]
    assert read_snap_index(tmp_path) is not None


def test_crash_while_writing_the_index_leaves_no_index_that_loads(grid_segments, tmp_path,
                                                                  monkeypatch):
    save_snapper(tmp_path, EdgeSnapper(grid_segments))
    other = EdgeSnapper(EdgeSegments.from_arrays(synthetic_graph(900, seed=3)))
    real_save, calls = np.save, []

    def failing_save(*args, **kwargs):
        calls.append(1)
        if len(calls) == 5:
            raise OSError("disk full")
        real_save(*args, **kwargs)

    monkeypatch.setattr(np, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        save_snapper(tmp_path, other)
    monkeypatch.undo()
    # edges.npz is the new one; the old index no longer matches it and half a new one
    # never became snap/.
    assert read_snap_index(tmp_path) is None
    loaded = load_snapper(tmp_path)
    assert len(loaded.segments.seg_edge) == len(other.segments.seg_edge)
    lat, lon = _points(other.segments, 1, seed=4)[0]
    assert _same_bytes(loaded.snap(lat, lon), other.snap(lat, lon))


def _grid_region():
    return make_region("grid", [("SA", *corner("A")), ("SB", *corner("B"))],
                       {"default_speeds_kph": GRID_SPEEDS, "max_snap_m": 500})


def test_graph_build_writes_the_index_and_reuse_graph_adds_it_to_old_caches(grid_osm,
                                                                             tmp_path):
    cache = tmp_path / "cache"
    build_mode(_grid_region(), "drive", source=GraphSource(osm_file=grid_osm), cache_root=cache,
               progress=lambda _: None)
    index_dir = cache / "grid" / "drive" / SNAP_INDEX_DIR
    assert (index_dir / "index.json").is_file()
    model = RoadGraphTravel.load(cache, "grid")
    assert isinstance(model.snapper.index.cell_key.base, np.memmap)
    origin = (corner("C")[0] + 0.0002, corner("C")[1])
    expected_s = model.travel_seconds(*origin)
    # A cache from before the index: still loads, with the same answers.
    shutil.rmtree(index_dir)
    assert RoadGraphTravel.load(cache, "grid").travel_seconds(*origin).tolist() == \
        expected_s.tolist()
    messages = []
    build_mode(_grid_region(), "drive", source=None, cache_root=cache, reuse_graph=True,
               progress=messages.append)
    assert any("indexing the cached edges" in m for m in messages)
    model = RoadGraphTravel.load(cache, "grid")
    assert isinstance(model.snapper.index.cell_key.base, np.memmap)
    assert model.travel_seconds(*origin).tolist() == expected_s.tolist()


def test_damaged_index_falls_back_to_the_estimate_with_the_reason(grid_osm, tmp_path):
    cache = tmp_path / "cache"
    build_mode(_grid_region(), "drive", source=GraphSource(osm_file=grid_osm), cache_root=cache,
               progress=lambda _: None)
    (cache / "grid" / "drive" / SNAP_INDEX_DIR / "a_m.npy").write_bytes(b"\x93NUMPY garbage")
    model, reason = load_travel_model(_grid_region(), cache, "drive")
    assert isinstance(model, EstimateTravel)
    assert "damaged snapping index" in reason and "--reuse-graph" in reason
