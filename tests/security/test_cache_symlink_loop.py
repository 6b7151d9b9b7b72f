"""A road-graph cache file that cannot be stat'ed is a refused cache, not a failed start.

The load's size check (``routing.filecheck.size_problem``) took only a missing file for a
refusal: a cache file replaced by a symbolic link in a loop (or failing with an I/O error)
raised ``OSError`` out of the load, where the API falls back to the straight-line estimate
only on ``GraphCacheError``, so it did not start. ``graph.npz`` is not read at load at all:
before its size was checked, such a cache loaded.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from routing.travel import EstimateTravel, load_travel_model
from tests.routing.conftest import build_grid_cache, grid_region, write_grid_osm


@pytest.mark.parametrize("name", ["table.npy", "nodes.npy", "edges.npz", "graph.npz"])
def test_a_cache_file_looping_on_itself_falls_back_to_the_estimate(tmp_path: Path, name: str):
    root = build_grid_cache(write_grid_osm(tmp_path / "grid.osm"), tmp_path / "cache")
    path = root / "grid" / "drive" / name
    path.unlink()
    os.symlink(path, path)
    # Before: OSError [Errno 40] Too many levels of symbolic links, out of the load.
    model, reason = load_travel_model(grid_region(), root)
    assert isinstance(model, EstimateTravel)
    assert f"{name} cannot be read (Too many levels of symbolic links)" in reason
