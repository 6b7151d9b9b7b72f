"""A region's table built with its neighbours (``waitless graph build --neighbour``) routes
their border sites, on the Liechtenstein extract split into two made-up regions.

South (47.08-47.16 N) and North (47.16-47.27 N) share the edge at 47.16 N, each with
``border_km = 1``: North's Schaan site N1 (0.7 km north of the edge) is a border site of
South; South's sites are all over 1 km from North, so North has none.
"""

from __future__ import annotations

import json
import shutil
from contextlib import redirect_stdout
from dataclasses import replace
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import numpy as np
import pytest

from routing import io
from routing.border import WithBorderEstimate
from routing.build import build_mode
from routing.errors import GraphCacheError
from routing.estimate import EstimateTravel
from routing.graph import GraphSource
from routing.travel import RoadGraphTravel, load_travel_model
from waitless.api.app import create_app
from waitless.api.regions import region_travel
from waitless.cli import main
from waitless.domain.region import Region, load_region
from waitless.live.store import MemoryLiveStore
from waitless.settings import Settings

from .conftest import shared_file

pytestmark = pytest.mark.slow

SOUTH_SITES = [("S1", 47.141, 9.521), ("S2", 47.107, 9.528)]  # Vaduz, Triesen
NORTH_SITES = [("N1", 47.166, 9.510), ("N2", 47.240, 9.530)]  # Schaan, Eschen
ORIGIN = {"lat": "47.155", "lon": "9.515"}  # in South, 1.2 km from N1
CLOCK = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def _region_file(path: Path, name: str, sites: list[tuple[str, float, float]],
                 south_deg: float, north_deg: float) -> str:
    corners = [[south_deg, 9.45], [north_deg, 9.45], [north_deg, 9.65], [south_deg, 9.65]]
    text = (f'[region]\nname = "{name}"\ntimezone = "Europe/Vaduz"\n'
            f"[coverage]\npolygon = {corners}\nborder_km = 1\n")
    text += "".join(f'[[sites]]\nid = "{sid}"\nname = "{sid}"\nlat = {lat}\nlon = {lon}\n'
                    '[[sites.services]]\nkind = "utc"\nhours = "24h"\n'
                    for sid, lat, lon in sites)
    path.write_text(text, encoding="utf-8")
    return str(path)


def _with_sites(region: Region, sites: list[tuple[str, float, float]]) -> Region:
    """``region`` with other coordinates or sites (services copied from its first site)."""
    template = region.sites[0]
    return replace(region, sites=tuple(replace(template, id=sid, name=sid, lat=lat, lon=lon)
                                       for sid, lat, lon in sites))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """South's drive table built with North by the command line; one built from the same
    extract with N1 as an own site; and one of South's own sites only (``--reuse-graph``)."""
    osm = shared_file("data/osm/liechtenstein.osm.pbf")
    tmp = tmp_path_factory.mktemp("border-table")
    south_file = _region_file(tmp / "south.toml", "li-south", SOUTH_SITES, 47.08, 47.16)
    north_file = _region_file(tmp / "north.toml", "li-north", NORTH_SITES, 47.16, 47.27)
    roots = {name: tmp / name for name in ("extended", "n1-own", "own-only")}
    out = StringIO()
    with redirect_stdout(out):
        assert main(["graph", "build", "--region", south_file, "--neighbour", north_file,
                     "--osm-file", str(osm), "--mode", "drive",
                     "--cache-dir", str(roots["extended"])]) == 0
    assert "drive: 1,494 nodes, 3 sites (2 own, 1 border), 0 unreachable" in out.getvalue()
    south, north = load_region(south_file), load_region(north_file)
    # From the OSM file too: a reused graph's seconds are float32 (graph.npz), a fresh
    # graph's float64, so tables on the two differ in the 7th digit.
    build_mode(_with_sites(south, [*SOUTH_SITES, NORTH_SITES[0]]), "drive",
               source=GraphSource(osm_file=osm), cache_root=roots["n1-own"],
               progress=lambda _: None)
    shutil.copytree(roots["extended"], roots["own-only"])
    build_mode(south, "drive", source=None, cache_root=roots["own-only"], reuse_graph=True,
               progress=lambda _: None)
    return south, north, roots


def _extended(south: Region) -> Region:
    """``south`` as served with North: its own sites, then N1."""
    return replace(south, sites=(*south.sites, *_with_sites(south, NORTH_SITES[:1]).sites))


def test_the_table_holds_own_then_border_sites_and_says_so(built) -> None:
    south, _, roots = built
    meta = io.read_meta(io.mode_dir(roots["extended"], "li-south", "drive"))
    assert meta["site_ids"] == ["S1", "S2", "N1"]
    assert (meta["n_sites"], meta["n_own_sites"], meta["neighbours"]) == (3, 2, ["li-north"])
    assert meta["sites_hash"] == _extended(south).sites_hash()
    assert meta["own_sites_hash"] == south.sites_hash()
    assert io.meta_problem({**meta, "n_own_sites": 4}) == (
        "'n_own_sites' is 4, not a whole number from 0 to 'n_sites'")


def test_a_border_column_is_the_column_of_the_same_site_built_as_an_own_site(built) -> None:
    south, _, roots = built
    extended = RoadGraphTravel.load(roots["extended"], "li-south",
                                    expected_sites_hash=_extended(south).sites_hash())
    as_own = RoadGraphTravel.load(roots["n1-own"], "li-south",
                                  expected_sites_hash=_extended(south).sites_hash())
    assert extended.site_ids == as_own.site_ids == ("S1", "S2", "N1")
    np.testing.assert_array_equal(extended.table, as_own.table)
    for lat, lon in [(47.155, 9.515), (47.10, 9.52), (47.15, 9.53)]:
        seconds = extended.travel_seconds(lat, lon)
        np.testing.assert_array_equal(seconds, as_own.travel_seconds(lat, lon))
        assert np.isfinite(seconds).all()


async def _rank(aiohttp_client, regions: list[Region], cache: Path, tmp_path: Path) -> dict:
    app = create_app(Settings(graph_cache=str(cache), spool_dir=str(tmp_path / "spool")),
                     regions=regions, live_store=MemoryLiveStore(), clock=lambda: CLOCK)
    client = await aiohttp_client(app)
    response = await client.get("/v1/rank", params={**ORIGIN, "mode": "drive"})
    assert response.status == 200
    return await response.json()


def _minutes(body: dict) -> dict[str, float]:
    return {r["site_id"]: r["travel_minutes"] for r in body["results"]}


def _sources(body: dict) -> set[str]:
    return {r["travel_source"] for r in body["results"]}


async def test_served_with_its_neighbour_the_border_site_is_routed(
        built, aiohttp_client, tmp_path) -> None:
    south, north, roots = built
    routed = RoadGraphTravel.load(roots["n1-own"], "li-south").travel_seconds(
        float(ORIGIN["lat"]), float(ORIGIN["lon"])) / 60
    body = await _rank(aiohttp_client, [south, north], roots["extended"], tmp_path)
    assert body["region"] == "li-south"
    assert _sources(body) == {"road_graph"}
    assert _minutes(body) == pytest.approx(dict(zip(("S1", "S2", "N1"), routed, strict=True)),
                                           abs=0.051)
    # Before: a table of the own sites only; N1 gets the straight-line estimate, labelled.
    body = await _rank(aiohttp_client, [south, north], roots["own-only"], tmp_path)
    assert _sources(body) == {"estimate"}
    estimate = EstimateTravel.for_sites([north.sites[0]]).travel_seconds(
        float(ORIGIN["lat"]), float(ORIGIN["lon"]))[0] / 60
    assert _minutes(body)["N1"] == pytest.approx(estimate, abs=0.051)
    assert _minutes(body)["S1"] == pytest.approx(routed[0], abs=0.051)


async def test_a_neighbour_whose_sites_changed_gets_the_estimate_and_the_rebuild_command(
        built, aiohttp_client, tmp_path, caplog) -> None:
    south, north, roots = built
    moved = _with_sites(north, [("N1", 47.167, 9.511), NORTH_SITES[1]])
    extended = replace(south, sites=(*south.sites, moved.sites[0]))
    models, note = region_travel(extended, south, str(roots["extended"]), ["li-north"])
    drive = models["drive"]
    assert isinstance(drive, WithBorderEstimate) and drive.model.site_ids == ("S1", "S2")
    assert ("1 border site(s) of other regions: straight-line estimate, because the table's "
            "border sites (built with li-north) are not those served now; rebuild with "
            "`waitless graph build --region li-south --neighbour li-north --reuse-graph`"
            ) in note
    assert "not those served now" in caplog.text
    body = await _rank(aiohttp_client, [south, moved], roots["extended"], tmp_path)
    assert _sources(body) == {"estimate"}
    routed = RoadGraphTravel.load(roots["extended"], "li-south",
                                  expected_sites_hash=_extended(south).sites_hash())
    own_s = routed.travel_seconds(float(ORIGIN["lat"]), float(ORIGIN["lon"]))[:2] / 60
    assert [_minutes(body)[s] for s in ("S1", "S2")] == pytest.approx(own_s, abs=0.051)


async def test_served_alone_the_own_columns_answer(built, aiohttp_client, tmp_path) -> None:
    south, _, roots = built
    model, reason = load_travel_model(south, roots["extended"])
    assert model.site_ids == ("S1", "S2") and model.source == "road_graph"
    assert "border" not in reason
    body = await _rank(aiohttp_client, [south], roots["extended"], tmp_path)
    assert _sources(body) == {"road_graph"} and set(_minutes(body)) == {"S1", "S2"}


def test_own_sites_changed_is_refused_naming_the_rebuild_with_its_neighbours(built) -> None:
    south, _, roots = built
    moved = _with_sites(south, [("S1", 47.142, 9.521), SOUTH_SITES[1]])
    with pytest.raises(GraphCacheError, match=r"built for other sites .* rebuild with `waitless "
                       r"graph build --region li-south --neighbour li-north --reuse-graph`"):
        RoadGraphTravel.load(roots["extended"], "li-south",
                             expected_sites_hash=_extended(moved).sites_hash(),
                             own_sites_hash=moved.sites_hash())
    model, reason = load_travel_model(moved, roots["extended"], served=_extended(moved))
    assert model.source == "estimate" and "built for other sites" in reason


def test_a_cache_from_before_border_columns_holds_own_sites_only(built, tmp_path) -> None:
    south, _, roots = built
    shutil.copytree(roots["own-only"], tmp_path / "old")
    meta_path = io.mode_dir(tmp_path / "old", "li-south", "drive") / io.META_FILE
    meta = json.loads(meta_path.read_text())
    for key in ("n_own_sites", "own_sites_hash", "neighbours"):
        del meta[key]
    meta_path.write_text(json.dumps(meta))
    model, reason = load_travel_model(south, tmp_path / "old", served=_extended(south),
                                      neighbours=["li-north"])
    assert model.site_ids == ("S1", "S2") and model.source == "road_graph"
    assert reason.endswith(
        "; 1 border site(s) of other regions: straight-line estimate (the table holds the "
        "region's own sites only; `waitless graph build --region li-south --neighbour "
        "li-north --reuse-graph` routes them)")
