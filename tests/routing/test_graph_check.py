"""``waitless graph check``: one line per cache file, exit 0 when all match, 1 when one differs
(or none are recorded), 2 when there is no cache or the command is misused."""

import json

import pytest

from routing.build import build_mode
from routing.graph import GraphSource
from waitless.cli import main
from waitless.domain.region import load_region

from .conftest import corner

REGION_TOML = """\
[region]
name = "grid"
timezone = "Europe/London"
[graph]
max_snap_m = 500
[[sites]]
id = "SA"
name = "a"
lat = {a[0]}
lon = {a[1]}
[[sites.services]]
kind = "utc"
hours = "24h"
"""


@pytest.fixture
def region_file(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text(REGION_TOML.format(a=corner("A")))
    return path


@pytest.fixture
def cache(region_file, grid_osm, tmp_path):
    root = tmp_path / "cache"
    build_mode(load_region(str(region_file)), "drive", source=GraphSource(osm_file=grid_osm),
               cache_root=root, progress=lambda _: None)
    return root


def _check(region_file, cache, capsys, mode="drive") -> tuple[int, list[str], str]:
    capsys.readouterr()
    code = main(["graph", "check", "--region", str(region_file), "--cache-dir", str(cache),
                 "--mode", mode])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def _files(cache) -> dict:
    return json.loads((cache / "grid" / "drive" / "meta.json").read_text())["files"]


def test_an_intact_cache_prints_ok_for_every_file_and_exits_0(region_file, cache, capsys):
    code, lines, err = _check(region_file, cache, capsys)
    files = _files(cache)
    assert code == 0 and err == ""
    assert lines[:-1] == [f"drive  ok        {name}  ({record['size_bytes']:,} bytes)"
                          for name, record in files.items()]
    assert lines[-1] == (f"drive  all {len(files)} files match "
                         f"{cache / 'grid' / 'drive' / 'meta.json'}")


def test_a_byte_changed_in_the_table_is_a_mismatch_naming_it(region_file, cache, capsys):
    path = cache / "grid" / "drive" / "table.npy"
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x01  # one bit of one travel time: the file loads and answers wrong
    path.write_bytes(bytes(data))
    code, lines, _ = _check(region_file, cache, capsys)
    assert code == 1
    record = _files(cache)["table.npy"]
    [bad] = [line for line in lines if "MISMATCH" in line]
    assert bad.startswith(f"drive  MISMATCH  table.npy  expected {record['size_bytes']:,} bytes "
                          f"sha256 {record['sha256']}, found {len(data):,} bytes sha256 ")
    assert record["sha256"] not in bad.split("found")[1]
    assert sum(" ok " in line for line in lines) == len(_files(cache)) - 1
    assert lines[-1].startswith(f"drive  1 of {len(_files(cache))} files differ from ")
    assert "copy the cache again or rebuild it with `waitless graph build --region grid" \
        in lines[-1]


def test_a_truncated_or_missing_file_is_a_mismatch(region_file, cache, capsys):
    here = cache / "grid" / "drive"
    nodes = (here / "nodes.npy").read_bytes()
    (here / "nodes.npy").write_bytes(nodes[:-16])
    (here / "snap" / "index.json").unlink()
    code, lines, _ = _check(region_file, cache, capsys)
    assert code == 1
    bad = [line for line in lines if "MISMATCH" in line]
    assert bad[0].startswith(f"drive  MISMATCH  nodes.npy  expected {len(nodes):,} bytes")
    assert f"found {len(nodes) - 16:,} bytes sha256 " in bad[0]
    assert bad[1].startswith("drive  MISMATCH  snap/index.json  expected ")
    assert bad[1].endswith(", found missing")
    assert lines[-1].startswith("drive  2 of ")


@pytest.mark.parametrize("drop", [("files",), ("files", "edges_digest")])
def test_a_cache_without_digests_says_rebuild_and_exits_1(region_file, cache, capsys, drop):
    path = cache / "grid" / "drive" / "meta.json"
    meta = json.loads(path.read_text())
    for key in drop:
        meta.pop(key)
    path.write_text(json.dumps(meta))
    code, lines, _ = _check(region_file, cache, capsys)
    assert code == 1
    assert lines == [f"drive  {cache / 'grid' / 'drive'}: no digests recorded: rebuild to "
                     "enable checks (rebuild it with `waitless graph build --region grid "
                     "--mode drive --osm-file <extract.osm.pbf>`)"]


def test_a_malformed_meta_json_exits_1_saying_why(region_file, cache, capsys):
    (cache / "grid" / "drive" / "meta.json").write_text("[]")
    code, lines, _ = _check(region_file, cache, capsys)
    assert code == 1
    [line] = lines
    assert line.startswith("drive  malformed road-graph metadata ")
    assert "a JSON list, not an object" in line


def test_no_cache_exits_2(region_file, tmp_path, capsys):
    code, lines, err = _check(region_file, tmp_path / "empty", capsys)
    assert (code, lines) == (2, [])
    assert err == f"error: drive: no road-graph cache at {tmp_path / 'empty' / 'grid' / 'drive'}\n"


def test_all_modes_with_one_missing_checks_the_other_and_exits_2(region_file, cache, capsys):
    code, lines, err = _check(region_file, cache, capsys, mode="all")
    assert code == 2
    assert lines[-1].startswith("drive  all ") and "files match" in lines[-1]
    assert "error: walk: no road-graph cache at" in err
    # A differing file in one mode is exit 1 whatever the other: the walk cache was never built.
    (cache / "grid" / "drive" / "graph.npz").unlink()
    code, lines, err = _check(region_file, cache, capsys, mode="all")
    assert code == 1 and "error: walk: no road-graph cache at" in err
    assert lines[1].startswith("drive  MISMATCH  graph.npz  expected ")


def test_usage_errors_exit_2(region_file, cache, tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["graph", "check", "--region", str(region_file), "--mode", "bike"])
    assert caught.value.code == 2
    code, lines, err = _check(tmp_path / "nowhere.toml", cache, capsys)
    assert (code, lines) == (2, [])
    assert err.startswith("error: ") and "nowhere.toml" in err
