"""The cache's files are recorded at build (size and SHA-256) and their sizes checked at load.

Each test builds the street square's drive cache (well under a second) and changes one file
the way a copy cut short, an append or a hand edit does.
"""

import hashlib
import json
import shutil

import numpy as np
import pytest

from routing.build import build_mode
from routing.errors import GraphBuildError, GraphCacheError
from routing.filecheck import check_files
from routing.graph import GraphSource
from routing.travel import RoadGraphTravel

from .conftest import build_grid_cache, corner, grid_region

REBUILD = "rebuild it with `waitless graph build --region grid --mode drive --osm-file"
CHECK = "`waitless graph check --region grid --mode drive` compares every file"


@pytest.fixture
def cache(grid_osm, tmp_path):
    return build_grid_cache(grid_osm, tmp_path / "cache")


def _dir(root):
    return root / "grid" / "drive"


def _meta(root) -> dict:
    return json.loads((_dir(root) / "meta.json").read_text())


def _load(root) -> RoadGraphTravel:
    return RoadGraphTravel.load(root, "grid", mode="drive",
                                expected_sites_hash=grid_region().sites_hash())


def test_build_records_the_size_and_sha256_of_every_file(cache):
    files = _meta(cache)["files"]
    snap = sorted(p.name for p in (_dir(cache) / "snap").iterdir())
    assert set(files) == {"graph.npz", "nodes.npy", "edges.npz", "table.npy",
                          *(f"snap/{name}" for name in snap)}
    assert "snap/index.json" in files
    for name, record in files.items():
        data = (_dir(cache) / name).read_bytes()
        assert record == {"size_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _truncate(path, n_bytes=8):
    data = path.read_bytes()
    path.write_bytes(data[:-n_bytes])
    return len(data)


def _extend(path):
    size = path.stat().st_size
    with path.open("ab") as fh:
        fh.write(b"\0" * 16)
    return size


@pytest.mark.parametrize(("name", "change", "found"), [
    ("table.npy", _truncate, lambda size: size - 8),
    ("table.npy", _extend, lambda size: size + 16),
    ("nodes.npy", _truncate, lambda size: size - 8),
    ("nodes.npy", _extend, lambda size: size + 16),
    ("graph.npz", _truncate, lambda size: size - 8),
    ("edges.npz", _truncate, lambda size: size - 8),
    ("snap/a_m.npy", _extend, lambda size: size + 16),
])
def test_file_of_another_size_than_recorded_is_refused_naming_it(cache, name, change, found):
    size = change(_dir(cache) / name)
    with pytest.raises(GraphCacheError) as caught:
        _load(cache)
    message = str(caught.value)
    assert (f"road-graph cache {_dir(cache)} changed since its build: {name} is "
            f"{found(size):,} bytes, meta.json recorded {size:,}") in message
    assert CHECK in message and REBUILD in message


def test_missing_file_is_refused_naming_it(cache):
    (_dir(cache) / "graph.npz").unlink()
    with pytest.raises(GraphCacheError, match=r"changed since its build: graph\.npz is missing"):
        _load(cache)


def test_cache_without_its_snapping_index_still_loads(cache):
    # As before the sizes were recorded: the index is built in memory, with a warning.
    shutil.rmtree(_dir(cache) / "snap")
    assert _load(cache).meta["n_sites"] == 2


def _flip_last_byte(path) -> bytes:
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    return data


def test_bytes_changed_in_place_are_not_read_at_load(cache):
    # The contents are not hashed at load (it would read the whole table): `graph check`
    # finds this (tests/routing/test_graph_check.py).
    _flip_last_byte(_dir(cache) / "table.npy")
    assert _load(cache).table.shape == (8, 2)


def _all_match(root) -> bool:
    return all(check.ok for check in check_files(_dir(root), _meta(root)["files"]))


def _rebuild(root, source=None):
    build_mode(grid_region(), "drive", source=source, cache_root=root,
               reuse_graph=source is None, progress=lambda _: None)


def test_reuse_graph_refuses_graph_files_changed_since_the_build(cache):
    # Rebuilding on them would record their changed bytes as good.
    _flip_last_byte(_dir(cache) / "nodes.npy")
    with pytest.raises(GraphBuildError, match=r"--reuse-graph: nodes\.npy in .* changed since "
                                              r"the build .*build it from the OSM source"):
        _rebuild(cache)
    assert not _all_match(cache)


def test_a_changed_graph_is_read_again_from_its_osm_file(cache, grid_osm):
    # Without --reuse-graph the graph is reused when the OSM file is the same one: not when
    # its files changed.
    good = _flip_last_byte(_dir(cache) / "nodes.npy")
    _rebuild(cache, GraphSource(osm_file=grid_osm))
    assert (_dir(cache) / "nodes.npy").read_bytes() == good and _all_match(cache)


def test_reuse_graph_rewrites_a_changed_snapping_index(cache):
    good = _flip_last_byte(_dir(cache) / "snap" / "a_m.npy")
    _rebuild(cache)
    assert (_dir(cache) / "snap" / "a_m.npy").read_bytes() == good and _all_match(cache)


@pytest.mark.parametrize(("files", "problem"), [
    ("table.npy", "'files' is 'table.npy', not an object"),
    ({"../../etc/passwd": {"size_bytes": 1, "sha256": "0" * 64}},
     "'files' names '../../etc/passwd', not a file of the cache"),
    ({"meta.json": {"size_bytes": 1, "sha256": "0" * 64}},
     "'files' names 'meta.json', not a file of the cache"),
    ({"table.npy": {"size_bytes": -1, "sha256": "0" * 64}},
     "'files'.'table.npy' is not a size in bytes and a hex sha256"),
    ({"table.npy": {"size_bytes": 1, "sha256": "xyz"}},
     "'files'.'table.npy' is not a size in bytes and a hex sha256"),
    ({"table.npy": [1, "0" * 64]}, "'files'.'table.npy' is not a size in bytes"),
])
def test_malformed_file_records_are_refused(cache, files, problem):
    path = _dir(cache) / "meta.json"
    meta = json.loads(path.read_text())
    meta["files"] = files
    path.write_text(json.dumps(meta))
    with pytest.raises(GraphCacheError, match=f"malformed road-graph metadata .*: {problem}"):
        _load(cache)


def test_an_unchanged_cache_loads_and_answers(cache):
    model = _load(cache)
    assert np.isfinite(model.travel_seconds(*corner("C"))).all()
