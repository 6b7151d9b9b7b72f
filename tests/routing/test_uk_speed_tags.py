"""UK speed tags survive reading an OSM file (osmnx drops unlisted way tags by default)."""

from pathlib import Path

import osmnx as ox
import pytest

from routing._osm import graph_from_osm_file
from routing.graph import add_travel_times
from routing.speeds import KPH_PER_MPH
from waitless.domain.graph_settings import GraphSettings

NODES = {1: (51.0, 1.0), 2: (51.0, 1.01), 3: (51.01, 1.01), 4: (51.01, 1.0)}
WAYS = [
    (200, [1, 2], {"highway": "residential", "maxspeed:type": "GB:zone20"}),
    (201, [2, 3], {"highway": "residential", "source:maxspeed": "GB:zone20"}),
    (202, [3, 4], {"highway": "primary", "oneway": "yes", "maxspeed": "national"}),
    (203, [4, 1], {"highway": "primary", "oneway": "yes", "maxspeed": "national",
                   "dual_carriageway": "yes"}),
]


def _osm_file(tmp_path: Path) -> Path:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    lines += [f'<node id="{i}" version="1" lat="{la}" lon="{lo}"/>'
              for i, (la, lo) in NODES.items()]
    for way_id, refs, tags in WAYS:
        body = "".join(f'<nd ref="{r}"/>' for r in refs)
        body += "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<way id="{way_id}" version="1">{body}</way>')
    path = tmp_path / "uk.osm"
    path.write_text("\n".join([*lines, "</osm>"]), encoding="utf-8")
    return path


def test_uk_type_tags_reach_the_edges_and_set_their_speeds(tmp_path):
    before = list(ox.settings.useful_tags_way)
    G = graph_from_osm_file(_osm_file(tmp_path), "drive", tmp_path, lambda _: None)
    assert ox.settings.useful_tags_way == before  # the global setting is restored
    origins = add_travel_times(G, "drive", GraphSettings(default_speeds_kph={"other": 40}))
    speed_mph = {(u, v): d["speed_kph"] / KPH_PER_MPH for u, v, d in G.edges(data=True)}
    assert speed_mph[(1, 2)] == pytest.approx(20)
    assert speed_mph[(2, 3)] == pytest.approx(20)
    assert speed_mph[(3, 4)] == pytest.approx(60)  # one-way primary, not tagged dual
    assert speed_mph[(4, 1)] == pytest.approx(70)  # dual_carriageway=yes
    assert origins["maxspeed"] == G.number_of_edges()
