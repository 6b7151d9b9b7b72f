"""A hand-edited ``files`` record in a road-graph cache's meta.json is a refused cache.

``meta.json`` names each cache file it records; the loader stats them. A ``snap/`` name with a
NUL, a character no file name can be encoded with, or longer than a file name may be, passed
the record checks and made ``os.stat`` raise ``ValueError`` or ``OSError``: not the
``GraphCacheError`` the API falls back to the straight-line estimate on, so the API failed to
start. A name with another system's separators is refused as not a file of the cache.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from routing.errors import GraphCacheError
from routing.travel import EstimateTravel, RoadGraphTravel, load_travel_model
from tests.routing.conftest import build_grid_cache, grid_region, write_grid_osm


@pytest.mark.parametrize("name", ["snap/a\x00.npy", "snap/\ud800.npy", "snap/" + "x" * 300,
                                  "snap/..\\..\\meta.json", "snap/C:meta.json", "snap/.hidden"])
def test_a_file_name_no_build_writes_is_a_refused_cache(tmp_path: Path, name: str):
    root = build_grid_cache(write_grid_osm(tmp_path / "grid.osm"), tmp_path / "cache")
    path = root / "grid" / "drive" / "meta.json"
    meta = json.loads(path.read_text())
    meta["files"][name] = {"size_bytes": 1, "sha256": "0" * 64}
    path.write_text(json.dumps(meta))
    # Before: ValueError (embedded null byte), UnicodeEncodeError, OSError (file name too
    # long) for the first three, out of the load and out of start-up.
    with pytest.raises(GraphCacheError, match=r"'files' names .*, not a file of the cache"):
        RoadGraphTravel.load(root, "grid", mode="drive",
                             expected_sites_hash=grid_region().sites_hash())
    model, reason = load_travel_model(grid_region(), root)
    assert isinstance(model, EstimateTravel)
    assert "not a file of the cache" in reason
