"""A damaged, mixed or malformed road-graph cache is refused with one clear GraphCacheError.

Each test builds the street square's cache (well under a second), damages it the way a crash,
a hand edit or a copy can, and checks the load refuses it naming the file and the problem,
and that start-up answers with the straight-line estimate and says why in one line.
"""

import argparse
import json
import logging
import shutil
from datetime import UTC, datetime

import numpy as np
import pytest

from routing import cli
from routing.build import build_mode
from routing.errors import GraphBuildError, GraphCacheError
from routing.estimate import EstimateTravel
from routing.graph import GraphSource
from routing.travel import RoadGraphTravel, load_travel_model
from waitless.api import keys
from waitless.api.app import create_app
from waitless.live.store import MemoryLiveStore
from waitless.ranking.multiregion import border_sites_for
from waitless.settings import Settings

from .conftest import (
    GRID_SPEEDS,
    build_grid_cache,
    corner,
    grid_region,
    make_region,
    write_grid_osm,
)

REBUILD = "rebuild it with `waitless graph build --region grid --mode drive --osm-file"


@pytest.fixture
def cache(grid_osm, tmp_path):
    return build_grid_cache(grid_osm, tmp_path / "cache")


def _refused(root, match: str) -> str:
    """The load's error message (checked against ``match``) and the start-up fallback."""
    with pytest.raises(GraphCacheError, match=match) as caught:
        RoadGraphTravel.load(root, "grid", mode="drive",
                             expected_sites_hash=grid_region().sites_hash())
    model, reason = load_travel_model(grid_region(), root, "drive")
    assert isinstance(model, EstimateTravel)
    assert str(caught.value) in reason and reason.count("waitless graph build") == 1
    return str(caught.value)


def _meta_path(root):
    return root / "grid" / "drive" / "meta.json"


def _edit_meta(root, edit) -> None:
    path = _meta_path(root)
    meta = json.loads(path.read_text())
    edit(meta)
    path.write_text(json.dumps(meta))


def _drop(key):
    return lambda meta: meta.pop(key)


def _set(key, value):
    return lambda meta: meta.update({key: value})


@pytest.mark.parametrize(("edit", "problem"), [
    (_drop("site_ids"), "no 'site_ids'"),
    (_drop("site_entries"), "no 'site_entries'"),
    (_drop("table_built_at"), "no 'table_built_at'"),
    (_drop("region"), "no 'region'"),
    (_set("n_nodes", "8"), "'n_nodes' is '8', not a whole number"),
    (_set("n_sites", True), "'n_sites' is True, not a whole number"),
    (_set("access_speed_kph", "fast"), "'access_speed_kph' is 'fast', not a number > 0"),
    (_set("max_snap_m", float("nan")), "'max_snap_m' is nan, not a number > 0"),
    (_set("site_ids", "SA,SB"), "'site_ids' is 'SA,SB', not a list of site ids"),
    (_set("graph", []), "'graph' is \\[\\], not an object"),
    (lambda meta: meta["graph"].pop("key"), "'graph' has no 'key' object"),
    (lambda meta: meta["graph"]["key"].update(source="grid.osm"),
     "'graph' has no 'key' object with a 'source' object"),
    (lambda meta: meta["site_entries"]["leg_s"].pop(),
     "the 'site_entries' lists are of different lengths"),
    (lambda meta: meta["site_entries"]["site"].__setitem__(0, 7),
     r"a 'site_entries' site index is not below 'n_sites' \(2\)"),
    (lambda meta: meta["site_entries"].update(edge=None),
     "'site_entries'.'edge' is not a list of indices"),
    (lambda meta: meta["site_ids"].append("SC"), "3 'site_ids' but 'n_sites' is 2"),
])
def test_malformed_meta_names_the_file_and_the_key(cache, edit, problem):
    _edit_meta(cache, edit)
    message = _refused(cache, f"malformed road-graph metadata .*meta.json: {problem}")
    assert REBUILD in message


@pytest.mark.parametrize(("text", "problem"), [
    ("{not json", "unreadable road-graph metadata .*meta.json: Expecting property name"),
    ("[1, 2]", "malformed road-graph metadata .*meta.json: a JSON list, not an object"),
    ('"meta"', "malformed road-graph metadata .*meta.json: a JSON str, not an object"),
    ('{"format_version": 2}', "malformed road-graph metadata .*meta.json: no 'region'"),
    ("{}", "has format None, this version reads 2"),
])
def test_meta_that_is_not_a_cache_object_is_refused(cache, text, problem):
    _meta_path(cache).write_text(text)
    assert REBUILD in _refused(cache, problem)


def test_site_entry_beyond_the_edges_is_refused(cache):
    _edit_meta(cache, lambda meta: meta["site_entries"]["edge"].__setitem__(0, 10_000))
    _refused(cache, "a site entry is on edge 10000, edges.npz has")


@pytest.mark.parametrize(("array", "problem"), [
    (lambda t: t.astype(np.float64), r"table.npy is float64 row-major \(8, 2\)"),
    (lambda t: t.astype(np.int8), r"table.npy is int8 row-major \(8, 2\)"),
    (lambda t: np.asfortranarray(t), r"table.npy is float32 column-major \(8, 2\)"),
    (lambda t: t[:, :1], r"table.npy is float32 row-major \(8, 1\)"),
    (lambda t: t.ravel(), r"table.npy is float32 row-major \(16,\)"),
])
def test_table_of_another_type_or_shape_is_refused(cache, array, problem):
    path = cache / "grid" / "drive" / "table.npy"
    np.save(path, array(np.load(path)))
    message = _refused(cache, problem)
    assert "meta.json says float32 row-major (8, 2)" in message and REBUILD in message


@pytest.mark.parametrize(("array", "problem"), [
    (lambda c: np.zeros((8, 3)), r"nodes.npy is float64 \(8, 3\)"),
    (lambda c: c[:, 0].copy(), r"nodes.npy is float64 \(8,\)"),
    (lambda c: c.astype(np.float32), r"nodes.npy is float32 \(8, 2\)"),
    (lambda c: c[:7], r"nodes.npy is float64 \(7, 2\)"),
])
def test_nodes_of_another_type_or_shape_are_refused(cache, array, problem):
    path = cache / "grid" / "drive" / "nodes.npy"
    np.save(path, array(np.load(path)))
    assert "meta.json says float64 (8, 2)" in _refused(cache, problem)


def test_cache_of_another_region_or_mode_is_refused(cache):
    _edit_meta(cache, _set("mode", "walk"))
    _refused(cache, "holds the grid walk cache \\(its meta.json\\), not grid drive")
    _edit_meta(cache, _set("mode", "drive"))
    shutil.copytree(cache / "grid", cache / "copy")
    with pytest.raises(GraphCacheError, match=r"holds the grid drive cache .*, not copy drive; "
                                              r"was the folder copied or renamed"):
        RoadGraphTravel.load(cache, "copy")
    assert RoadGraphTravel.load(cache, "grid").meta["region"] == "grid"


def _build(region, osm, root) -> None:
    build_mode(region, "drive", source=GraphSource(osm_file=osm), cache_root=root,
               progress=lambda _: None)


def test_build_cut_short_after_the_new_graph_leaves_the_cache_refused_as_incomplete(
        cache, tmp_path):
    # A rebuild from a three times wider square (same 8 nodes, other edges) with a site off
    # it fails after writing the new graph, edges and index and before the table: the state
    # a kill in that window leaves. The old table and meta.json used to load beside them.
    wider = write_grid_osm(tmp_path / "wider.osm", scale=3.0)
    off_the_map = make_region("grid", [("SA", *corner("A")), ("SB", *corner("B")),
                                       ("FAR", 51.2, 1.0)],
                              {"default_speeds_kph": GRID_SPEEDS, "max_snap_m": 500})
    with pytest.raises(GraphBuildError, match="FAR"):
        _build(off_the_map, wider, cache)
    message = _refused(cache, "road-graph cache .*grid/drive is incomplete: graph.npz, "
                              "nodes.npy, edges.npz, table.npy, snap but no meta.json "
                              r"\(a build was interrupted, failed or is still running\)")
    assert REBUILD in message
    # Its graph is not reused: where it came from went with meta.json.
    with pytest.raises(GraphBuildError, match=r"--reuse-graph: the cached drive graph's "
                                              r"metadata is not usable \(road-graph cache "
                                              r".* is incomplete"):
        build_mode(grid_region(), "drive", source=None, cache_root=cache, reuse_graph=True,
                   progress=lambda _: None)
    _build(grid_region(), wider, cache)
    assert RoadGraphTravel.load(cache, "grid").meta["n_nodes"] == 8


def test_build_failing_before_it_writes_keeps_the_old_cache(cache, tmp_path):
    garbage = tmp_path / "bad.osm.pbf"
    garbage.write_bytes(b"this is not a pbf")
    with pytest.raises(GraphBuildError, match="cannot read OSM file"):
        _build(grid_region(), garbage, cache)
    assert RoadGraphTravel.load(cache, "grid").meta["region"] == "grid"


def test_graph_files_of_another_build_beside_the_table_are_refused(cache, tmp_path):
    # What a kill between edges.npz and meta.json left with earlier versions (or a copy
    # cut short): another build's graph, edges and index beside this table and meta.json.
    other = tmp_path / "other"
    _build(grid_region(), write_grid_osm(tmp_path / "wider.osm", scale=3.0), other)
    here, there = cache / "grid" / "drive", other / "grid" / "drive"
    for name in ("graph.npz", "nodes.npy", "edges.npz"):
        shutil.copy(there / name, here / name)
    shutil.rmtree(here / "snap")
    shutil.copytree(there / "snap", here / "snap")
    message = _refused(cache, "mixes builds: table.npy and meta.json were computed on edges "
                              "[0-9a-f]{12}, edges.npz holds edges [0-9a-f]{12}")
    assert REBUILD in message


@pytest.mark.parametrize(("keys", "what"), [
    (("edges_digest", "files"), "edges digest and no file sizes and digests"),
    (("files",), "file sizes and digests"),
])
def test_cache_without_digests_still_loads_with_one_warning(cache, caplog, keys, what):
    # Caches built before meta.json recorded the digests are not refused for lacking them:
    # an upgrade must not cost the service its road graph. The log says how to get the checks.
    for key in keys:
        _edit_meta(cache, _drop(key))
    with caplog.at_level(logging.WARNING, logger="routing"):
        assert RoadGraphTravel.load(cache, "grid").meta["n_sites"] == 2
    [line] = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert line == (f"road-graph cache {cache / 'grid' / 'drive'} records no {what} (built by "
                    "an older WaitLess): not checked at load nor by `waitless graph check`; "
                    "rebuild it with `waitless graph build --region grid --mode drive "
                    "--reuse-graph` (no OSM read) to enable the checks")
    # That command records them, and the cache then loads without the warning.
    build_mode(grid_region(), "drive", source=None, cache_root=cache, reuse_graph=True,
               progress=lambda _: None)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="routing"):
        meta = RoadGraphTravel.load(cache, "grid").meta
    assert "files" in meta and "edges_digest" in meta
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_built_cache_loads_without_a_warning(cache, caplog):
    with caplog.at_level(logging.WARNING, logger="routing"):
        RoadGraphTravel.load(cache, "grid")
    assert not caplog.records


async def test_startup_with_a_malformed_cache_logs_one_line_and_uses_the_estimate(
        cache, tmp_path, caplog):
    _edit_meta(cache, _drop("site_entries"))
    with caplog.at_level(logging.INFO):
        app = create_app(Settings(graph_cache=str(cache), spool_dir=str(tmp_path / "spool")),
                         region=grid_region(), live_store=MemoryLiveStore(),
                         clock=lambda: datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    assert app[keys.TRAVEL]["drive"].source == "estimate"
    note = app[keys.TRAVEL_NOTE]
    assert "drive: using the straight-line estimate because malformed road-graph metadata" in note
    assert "meta.json: no 'site_entries'" in note
    [line] = [r for r in caplog.records if "malformed road-graph metadata" in r.getMessage()]
    assert line.levelno == logging.INFO and line.exc_info is None
    assert "\n" not in line.getMessage()
    assert not [r for r in caplog.records if r.exc_info]


def _run(args: argparse.Namespace) -> int:
    return args.func(args)


def test_cli_rebuild_over_a_malformed_cache_says_so_in_one_line(grid_osm, tmp_path, capsys):
    region_file = tmp_path / "grid.toml"
    region_file.write_text(
        '[region]\nname = "grid"\ntimezone = "Europe/London"\n'
        '[graph]\nmax_snap_m = 500\n'
        '[[sites]]\nid = "SA"\nname = "a"\nlat = 51.0\nlon = 1.0\n'
        '[[sites.services]]\nkind = "utc"\nhours = "24h"\n')
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command", required=True), border_sites_for)
    build = ["graph", "build", "--region", str(region_file), "--mode", "drive",
             "--cache-dir", str(tmp_path / "c")]
    assert _run(parser.parse_args([*build, "--osm-file", str(grid_osm)])) == 0
    (tmp_path / "c" / "grid" / "drive" / "meta.json").write_text("[]")
    capsys.readouterr()
    assert _run(parser.parse_args([*build, "--reuse-graph"])) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("error: --reuse-graph: the cached drive graph's metadata is not usable "
                          "(malformed road-graph metadata ")
    assert "meta.json: a JSON list, not an object" in err
    # A build from the source replaces it.
    assert _run(parser.parse_args([*build, "--osm-file", str(grid_osm)])) == 0
    assert RoadGraphTravel.load(tmp_path / "c", "grid").meta["n_sites"] == 1
