"""``waitless graph build --neighbour`` on the street square (fast, no shared data): a table
with a column for the neighbour's border site, used by the API, and the options refused."""

from __future__ import annotations

from pathlib import Path

from routing import io
from routing.border import WithBorderEstimate
from routing.travel import RoadGraphTravel
from waitless.api.app import create_app
from waitless.api.regions import region_travel
from waitless.cli import main
from waitless.domain.region import load_region
from waitless.ranking.multiregion import RegionSet
from waitless.settings import settings_from_env

from .conftest import corner


def _region_file(path: Path, name: str, site: str, west_deg: float, east_deg: float,
                 timezone: str = "Europe/London") -> str:
    lat, lon = corner(site)
    corners = [[50.99, west_deg], [51.01, west_deg], [51.01, east_deg], [50.99, east_deg]]
    path.write_text(f'[region]\nname = "{name}"\ntimezone = "{timezone}"\n'
                    f"[coverage]\npolygon = {corners}\nborder_km = 1\n"
                    '[graph]\nmax_snap_m = 500\n'
                    f'[[sites]]\nid = "S{site}"\nname = "{site}"\nlat = {lat}\nlon = {lon}\n'
                    '[[sites.services]]\nkind = "utc"\nhours = "24h"\n', encoding="utf-8")
    return str(path)


def test_a_table_built_with_a_neighbour_routes_its_border_site(grid_osm, tmp_path, capsys):
    # West holds corner A, East corner C, 0.1 km east of West's coverage.
    west = _region_file(tmp_path / "west.toml", "west", "A", 0.99, 1.0015)
    east = _region_file(tmp_path / "east.toml", "east", "C", 1.0015, 1.02)
    build = ["graph", "build", "--region", west, "--mode", "drive",
             "--cache-dir", str(tmp_path / "c"), "--osm-file", str(grid_osm)]
    assert main([*build, "--neighbour", east]) == 0
    assert "drive: 8 nodes, 2 sites (1 own, 1 border)" in capsys.readouterr().out
    meta = io.read_meta(io.mode_dir(tmp_path / "c", "west", "drive"))
    assert (meta["site_ids"], meta["n_own_sites"], meta["neighbours"]) == (
        ["SA", "SC"], 1, ["east"])
    regions = RegionSet([load_region(west), load_region(east)])
    models, note = region_travel(regions.extended["west"], regions.regions["west"],
                                 str(tmp_path / "c"), ["east"])
    assert models["drive"].source == "road_graph"
    assert not isinstance(models["drive"], WithBorderEstimate)
    assert "its 1 border site(s) of other regions routed too" in note
    assert models["drive"].site_ids == RoadGraphTravel.load(tmp_path / "c", "west").site_ids
    # A region cannot be its own neighbour; regions in two timezones cannot be served together.
    assert main([*build, "--neighbour", west]) == 2
    assert "distinct names" in capsys.readouterr().err
    paris = _region_file(tmp_path / "paris.toml", "paris", "C", 1.0015, 1.02, "Europe/Paris")
    assert main([*build, "--neighbour", paris]) == 2
    assert "must share one timezone" in capsys.readouterr().err


async def test_readyz_names_the_border_sites_a_table_leaves_to_the_estimate(
        grid_osm, tmp_path, aiohttp_client, capsys):
    """The fall-back to the estimate for border sites was said only in a start-up log line:
    /readyz still called the region's travel road_graph with its border site estimated."""
    west = _region_file(tmp_path / "west.toml", "west", "A", 0.99, 1.0015)
    east = _region_file(tmp_path / "east.toml", "east", "C", 1.0015, 1.02)
    cache = tmp_path / "c"
    build = ["graph", "build", "--region", west, "--mode", "drive", "--cache-dir", str(cache),
             "--osm-file", str(grid_osm)]

    async def estimated() -> dict:
        settings = settings_from_env({"WAITLESS_REGIONS": f"{west},{east}"}).with_overrides(
            graph_cache=str(cache), spool_dir=str(tmp_path / "spool"))
        client = await aiohttp_client(create_app(settings))
        body = await (await client.get("/readyz")).json()
        await client.close()
        return {name: (r["travel"]["drive"], r["estimated_sites"]["drive"])
                for name, r in body["regions"].items()}

    assert main(build) == 0  # West's own site only
    assert await estimated() == {"west": ("road_graph", ["SC"]), "east": ("estimate", ["SC", "SA"])}
    assert main([*build, "--neighbour", east]) == 0
    assert await estimated() == {"west": ("road_graph", []), "east": ("estimate", ["SC", "SA"])}
    capsys.readouterr()
