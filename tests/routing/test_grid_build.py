"""End-to-end build and query on the hand-written street square (no real extract needed)."""

import argparse
import bz2
import json
import logging
import shutil

import numpy as np
import pytest

from routing import cli
from routing.build import build_mode
from routing.distance import haversine_m
from routing.errors import GraphBuildError, GraphCacheError, OutsideCoverage
from routing.estimate import EstimateTravel
from routing.graph import GraphSource
from routing.speeds import KPH_PER_MPH
from routing.travel import RoadGraphTravel, load_travel_model, settings_not_in_cache
from waitless.domain.graph_settings import GraphSettings
from waitless.ranking.multiregion import border_sites_for

from .conftest import GRID_SPEEDS, corner, make_region


def _seconds(a: str, b: str, speed_kph: float) -> float:
    (lat1, lon1), (lat2, lon2) = corner(a), corner(b)
    return float(haversine_m(lat1, lon1, np.array([lat2]), np.array([lon2]))[0]) / (speed_kph / 3.6)


def _region(extra_site=None):
    sites = [("SA", *corner("A")), ("SB", *corner("B"))]
    if extra_site:
        sites.append(extra_site)
    return make_region("grid", sites, {"default_speeds_kph": GRID_SPEEDS, "max_snap_m": 500})


@pytest.fixture
def built(grid_osm, tmp_path):
    cache = tmp_path / "cache"
    result = build_mode(_region(), "drive", source=GraphSource(osm_file=grid_osm),
                        cache_root=cache, progress=lambda _: None)
    return result, cache


def test_one_way_street_is_respected_and_parallel_ways_take_the_faster(built):
    result, cache = built
    model = RoadGraphTravel.load(cache, "grid", mode="drive",
                                 expected_sites_hash=_region().sites_hash())
    a_to = model.travel_seconds(*corner("A"))
    b_to = model.travel_seconds(*corner("B"))
    a_to_b = _seconds("A", "B", 20 * KPH_PER_MPH)
    b_to_a = (_seconds("B", "C", GRID_SPEEDS["tertiary"]) + _seconds("C", "D", 60 * KPH_PER_MPH)
              + _seconds("D", "A", 60 * KPH_PER_MPH))
    assert model.site_ids == ("SA", "SB")
    assert a_to == pytest.approx([0.0, a_to_b], rel=1e-3, abs=0.01)
    assert b_to == pytest.approx([b_to_a, 0.0], rel=1e-3, abs=0.01)
    assert b_to[0] > a_to[1] + 10  # the long way round
    # The building way is not a road, the square's corners and spurs are.
    assert result.meta["n_nodes"] == 8
    assert result.meta["graph"]["speed_origin_edges"]["maxspeed"] > 0


def test_origin_beside_a_road_enters_it_part_way_at_access_speed(built):
    _, cache = built
    model = RoadGraphTravel.load(cache, "grid")
    # 35 m west of the middle of the two-way D-A street (60 mph): no junction nearby.
    lat, lon = 51.001, 0.9995
    offset_m = float(haversine_m(lat, lon, np.array([lat]), np.array([1.0]))[0])
    snap = model.snap(lat, lon)
    assert snap.nearest_m == pytest.approx(offset_m, abs=0.5)
    expected = offset_m / (20 / 3.6) + _seconds("D", "A", 60 * KPH_PER_MPH) / 2
    assert model.travel_seconds(lat, lon)[0] == pytest.approx(expected, rel=1e-3)


def test_origin_on_a_one_way_street_only_goes_forward(built):
    _, cache = built
    model = RoadGraphTravel.load(cache, "grid")
    (lat_a, lon_a), (lat_b, lon_b) = corner("A"), corner("B")
    half_a_b = _seconds("A", "B", 20 * KPH_PER_MPH) / 2
    b_to_a = (_seconds("B", "C", GRID_SPEEDS["tertiary"]) + _seconds("C", "D", 60 * KPH_PER_MPH)
              + _seconds("D", "A", 60 * KPH_PER_MPH))
    to_sa, to_sb = model.travel_seconds((lat_a + lat_b) / 2, (lon_a + lon_b) / 2)
    assert to_sb == pytest.approx(half_a_b, rel=1e-3)  # straight on to B, no junction at all
    assert to_sa == pytest.approx(half_a_b + b_to_a, rel=1e-3)  # A is behind: round the block


def test_site_mid_way_along_a_road_is_reached_along_it(grid_osm, tmp_path):
    (lat_b, lon_b), (lat_c, lon_c) = corner("B"), corner("C")
    region = _region(("MID", (lat_b + lat_c) / 2, (lon_b + lon_c) / 2))
    result = build_mode(region, "drive", source=GraphSource(osm_file=grid_osm),
                        cache_root=tmp_path, progress=lambda _: None)
    assert result.meta["site_snap_m"][2] == pytest.approx(0.0, abs=0.5)
    model = RoadGraphTravel.load(tmp_path, "grid")
    half_b_c = _seconds("B", "C", GRID_SPEEDS["tertiary"]) / 2
    from_a = model.travel_seconds(*corner("A"))[2]
    via_b = _seconds("A", "B", 20 * KPH_PER_MPH) + half_b_c
    via_d_c = _seconds("A", "D", 60 * KPH_PER_MPH) + _seconds("D", "C", 60 * KPH_PER_MPH) + half_b_c
    assert via_d_c < via_b  # the 60 mph way round beats the 20 mph one-way street
    assert from_a == pytest.approx(via_d_c, rel=1e-3)
    assert model.travel_seconds(*corner("C"))[2] == pytest.approx(half_b_c, rel=1e-3)


def test_origin_far_from_roads_is_outside_coverage(built):
    _, cache = built
    model = RoadGraphTravel.load(cache, "grid")
    with pytest.raises(OutsideCoverage, match="km from the nearest road"):
        model.travel_seconds(51.1, 1.0)
    with pytest.raises(OutsideCoverage):
        model.travel_seconds(float("nan"), 1.0)


def test_changed_sites_rebuild_from_cached_graph_without_osm(built, grid_osm, tmp_path):
    result, cache = built
    grid_osm.unlink()  # prove the OSM file is not read again
    region = _region(("SC", *corner("C")))
    with pytest.raises(GraphCacheError, match="built for other sites"):
        RoadGraphTravel.load(cache, "grid", expected_sites_hash=region.sites_hash())
    rebuilt = build_mode(region, "drive", source=None, cache_root=cache, reuse_graph=True,
                         progress=lambda _: None)
    assert rebuilt.meta["reused_graph"] is True and rebuilt.graph is None
    assert rebuilt.meta["graph"]["built_at"] == result.meta["graph"]["built_at"]
    model = RoadGraphTravel.load(cache, "grid", expected_sites_hash=region.sites_hash())
    assert model.site_ids == ("SA", "SB", "SC")
    assert model.travel_seconds(*corner("C"))[2] == pytest.approx(0.0, abs=0.01)


def test_same_file_is_reused_automatically(grid_osm, tmp_path):
    source = GraphSource(osm_file=grid_osm)
    first = build_mode(_region(), "drive", source=source, cache_root=tmp_path,
                       progress=lambda _: None)
    second = build_mode(_region(), "drive", source=source, cache_root=tmp_path,
                        progress=lambda _: None)
    assert first.meta["reused_graph"] is False and second.meta["reused_graph"] is True


def test_bz2_file_builds_the_same_graph(grid_osm, tmp_path):
    packed = tmp_path / "grid.osm.bz2"
    packed.write_bytes(bz2.compress(grid_osm.read_bytes()))
    result = build_mode(_region(), "drive", source=GraphSource(osm_file=packed),
                        cache_root=tmp_path / "c", progress=lambda _: None)
    model = RoadGraphTravel.load(tmp_path / "c", "grid")
    assert result.meta["n_nodes"] == 8
    assert model.travel_seconds(*corner("A"))[1] == pytest.approx(
        _seconds("A", "B", 20 * KPH_PER_MPH), rel=1e-3)


def test_reusing_a_graph_built_with_other_speeds_warns(grid_osm, tmp_path):
    build_mode(_region(), "drive", source=GraphSource(osm_file=grid_osm), cache_root=tmp_path,
               progress=lambda _: None)
    faster = make_region("grid", [("SA", *corner("A"))], {"default_speeds_kph": {"other": 90}})
    said = []
    build_mode(faster, "drive", source=None, cache_root=tmp_path, reuse_graph=True,
               progress=said.append)
    assert any("other speed settings" in line for line in said)


def test_walk_graph_ignores_one_way_and_uses_walk_speed(grid_osm, tmp_path):
    result = build_mode(_region(), "walk", source=GraphSource(osm_file=grid_osm),
                        cache_root=tmp_path, progress=lambda _: None)
    model = RoadGraphTravel.load(tmp_path, "grid", mode="walk")
    walk = _seconds("A", "B", 4.8)
    assert model.travel_seconds(*corner("B"))[0] == pytest.approx(walk, rel=1e-3)
    assert model.travel_seconds(*corner("A"))[1] == pytest.approx(walk, rel=1e-3)
    assert result.meta["access_speed_kph"] == 4.8


def test_load_travel_model_falls_back_with_a_reason(built, tmp_path):
    _, cache = built
    model, reason = load_travel_model(_region(), cache, "drive")
    assert model.source == "road_graph" and "road graph of 8 nodes" in reason
    other = _region(("SC", *corner("C")))
    fallback, reason = load_travel_model(other, cache, "drive")
    assert isinstance(fallback, EstimateTravel) and fallback.source == "estimate"
    assert "built for other sites" in reason and "--reuse-graph" in reason
    fallback, reason = load_travel_model(_region(), tmp_path / "nothing", "walk")
    assert isinstance(fallback, EstimateTravel) and fallback.mode == "walk"
    assert "no road-graph cache" in reason


def test_graph_settings_edited_after_the_build_are_named_in_a_warning(built, caplog):
    _, cache = built
    with caplog.at_level(logging.WARNING, logger="routing.travel"):
        load_travel_model(_region(), cache, "drive")
    assert not caplog.records
    edited = make_region("grid", [("SA", *corner("A")), ("SB", *corner("B"))],
                         {"default_speeds_kph": GRID_SPEEDS, "max_snap_m": 800,
                          "access_speed_kph": 30})
    with caplog.at_level(logging.WARNING, logger="routing.travel"):
        model, _ = load_travel_model(edited, cache, "drive")
    assert model.source == "road_graph"
    [record] = caplog.records
    message = record.getMessage()
    assert "access_speed_kph = 30, the cache 20" in message
    assert "max_snap_m = 800, the cache 500" in message
    assert "waitless graph build --region grid --reuse-graph" in message
    assert "default_speeds_kph" not in message


def test_settings_not_in_cache_walk_speed_needs_a_build_from_osm():
    meta = {"region": "grid", "access_speed_kph": 4.8, "max_snap_m": 2000,
            "graph": {"key": {"source": None, "mode": "walk", "walk_speed_kph": 4.8}}}
    assert settings_not_in_cache(GraphSettings(), "walk", meta) == []
    [only] = settings_not_in_cache(GraphSettings(walk_speed_kph=4.0), "walk", meta)
    assert only.startswith("walk_speed_kph = 4.0") and "without --reuse-graph" in only
    drive = {"region": "grid", "access_speed_kph": 20, "max_snap_m": 2000,
             "graph": {"key": {"source": None, "mode": "drive",
                               "default_speeds_kph": {"other": 25}}}}
    [speeds] = settings_not_in_cache(GraphSettings(default_speeds_kph={"other": 30}), "drive",
                                     drive)
    assert speeds.startswith("default_speeds_kph") and "OSM source" in speeds


def test_corrupt_meta_is_a_cache_error(built):
    _, cache = built
    meta_path = cache / "grid" / "drive" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["n_nodes"] += 1
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(GraphCacheError, match="inconsistent"):
        RoadGraphTravel.load(cache, "grid")


def test_build_errors(tmp_path, grid_osm):
    garbage = tmp_path / "bad.osm.pbf"
    garbage.write_bytes(b"this is not a pbf")
    with pytest.raises(GraphBuildError, match="cannot read OSM file"):
        build_mode(_region(), "drive", source=GraphSource(osm_file=garbage), cache_root=tmp_path)
    with pytest.raises(GraphBuildError, match="not found"):
        build_mode(_region(), "drive", source=GraphSource(osm_file=tmp_path / "no.osm"),
                   cache_root=tmp_path)
    buildings = tmp_path / "buildings.osm"
    text = grid_osm.read_text()
    buildings.write_text(text.replace('k="highway" v="residential"', 'k="building" v="yes"')
                         .replace('k="highway" v="tertiary"', 'k="building" v="yes"'))
    with pytest.raises(GraphBuildError, match="no drive roads"):
        build_mode(_region(), "drive", source=GraphSource(osm_file=buildings), cache_root=tmp_path)
    far = _region(("FAR", 51.2, 1.0))
    with pytest.raises(GraphBuildError, match=r"FAR \(21\.9 km\)"):
        build_mode(far, "drive", source=GraphSource(osm_file=grid_osm), cache_root=tmp_path)
    with pytest.raises(GraphBuildError, match="exactly one OSM source"):
        GraphSource(osm_file=grid_osm, bbox=(0, 0, 1, 1))
    with pytest.raises(GraphBuildError, match="no cached drive graph"):
        build_mode(_region(), "drive", source=None, cache_root=tmp_path / "x", reuse_graph=True)


def _run_cli(argv):
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command", required=True), border_sites_for)
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_builds_both_modes_and_reports_errors(grid_osm, tmp_path, capsys):
    region_file = tmp_path / "grid.toml"
    shutil.copy(grid_osm, tmp_path / "copy.osm")
    region_file.write_text(
        '[region]\nname = "grid"\ntimezone = "Europe/London"\n'
        '[graph]\nmax_snap_m = 500\ndefault_speeds_kph = { residential = 30, tertiary = 40 }\n'
        '[[sites]]\nid = "SA"\nname = "a"\nlat = 51.0\nlon = 1.0\n'
        '[[sites.services]]\nkind = "utc"\nhours = "24h"\n')
    code = _run_cli(["graph", "build", "--region", str(region_file), "--osm-file",
                     str(tmp_path / "copy.osm"), "--cache-dir", str(tmp_path / "c")])
    out = capsys.readouterr().out
    assert code == 0
    assert "drive: 8 nodes, 1 sites" in out and "walk:" in out
    assert (tmp_path / "c" / "grid" / "walk" / "table.npy").is_file()
    code = _run_cli(["graph", "build", "--region", str(region_file), "--osm-file",
                     str(tmp_path / "missing.osm.pbf"), "--cache-dir", str(tmp_path / "c")])
    assert code == 2 and "not found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _run_cli(["graph", "build", "--bbox", "1,2,0,3"])
