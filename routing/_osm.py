"""Reading OSM data: offline files through pyosmium, online areas through osmnx.

Offline files are filtered to the ways a network type keeps (osmnx's own Overpass filter,
applied locally) and written as plain OSM XML for :func:`osmnx.graph_from_xml`, which would
otherwise keep every way in the file, buildings included.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from xml.sax.saxutils import quoteattr

import networkx as nx
import osmium
import osmnx as ox
from osmnx import _overpass

from routing.errors import GraphBuildError

Progress = Callable[[str], None]
OSM_SUFFIXES = (".osm", ".osm.bz2", ".osm.pbf", ".pbf")
_FILTER_TERM = re.compile(r'\["([^"]+)"(?:(!?~)"([^"]*)")?\]')
# Way tags osmnx drops by default that routing.speeds reads (UK limit types, dual roads).
SPEED_TAGS = ("maxspeed:type", "source:maxspeed", "dual_carriageway")


@contextmanager
def _keeping_speed_tags() -> Iterator[None]:
    # osmnx keeps only ``settings.useful_tags_way`` on edges; extend it for this read only.
    saved = ox.settings.useful_tags_way
    ox.settings.useful_tags_way = list(dict.fromkeys([*saved, *SPEED_TAGS]))
    try:
        yield
    finally:
        ox.settings.useful_tags_way = saved


def network_filter(network_type: str) -> list[tuple[str, str | None, re.Pattern[str] | None]]:
    """osmnx's Overpass filter for ``network_type`` as (key, operator, regex) rules.

    Operators follow Overpass: ``None`` means the key must exist, ``"~"`` the value must
    match, ``"!~"`` the key must be absent or its value must not match (unanchored search).
    """
    text = _overpass._get_network_filter(network_type)
    rules = [(key, op or None, re.compile(rx) if op else None)
             for key, op, rx in _FILTER_TERM.findall(text)]
    if not rules:
        msg = f"could not read osmnx's filter for network type {network_type!r}: {text!r}"
        raise GraphBuildError(msg)
    return rules


def way_passes(tags: Mapping[str, str], rules: list) -> bool:
    """Whether a way with these tags belongs to the network the rules describe."""
    for key, op, regex in rules:
        value = tags.get(key)
        if op is None and value is None:
            return False
        if op == "~" and (value is None or not regex.search(value)):
            return False
        if op == "!~" and value is not None and regex.search(value):
            return False
    return True


def osm_timestamp(path: Path) -> str | None:
    """The replication timestamp in an OSM file's header, if the file states one."""
    reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
    try:
        header = reader.header()
        return header.get("osmosis_replication_timestamp") or header.get("timestamp") or None
    finally:
        reader.close()


def filtered_xml(path: Path, out_path: Path, network_type: str) -> dict[str, int]:
    """Write the ways of ``network_type`` in an OSM file as OSM XML that osmnx can read.

    Ways that reference nodes missing from the file (extracts clipped at a bounding box)
    are split at the gaps; pieces with fewer than two nodes are dropped.

    Returns
    -------
    counts
        ``ways`` kept, ``pieces`` written, ``missing_refs`` dropped and ``nodes`` written.
    """
    rules = network_filter(network_type)
    nodes: dict[int, tuple[float, float]] = {}
    counts = {"ways": 0, "pieces": 0, "missing_refs": 0, "nodes": 0}
    next_piece_id = -1
    try:
        processor = (osmium.FileProcessor(str(path)).with_locations()
                     .with_filter(osmium.filter.KeyFilter("highway"))
                     .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY)))
        with out_path.open("w", encoding="utf-8") as out:
            out.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n')
            for way in processor:
                tags = {t.k: t.v for t in way.tags}
                if not way_passes(tags, rules):
                    continue
                counts["ways"] += 1
                pieces, run = [], []
                for ref in way.nodes:
                    if ref.location.valid():
                        nodes[ref.ref] = (ref.location.lat, ref.location.lon)
                        run.append(ref.ref)
                    else:
                        counts["missing_refs"] += 1
                        pieces.append(run)
                        run = []
                pieces.append(run)
                tag_xml = "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>"
                                  for k, v in tags.items())
                first = True
                for piece in pieces:
                    if len(piece) < 2:
                        continue
                    # Split pieces need their own ids: osmnx keys ways by id.
                    way_id = way.id if first else next_piece_id
                    if not first:
                        next_piece_id -= 1
                    first = False
                    counts["pieces"] += 1
                    refs = "".join(f'<nd ref="{r}"/>' for r in piece)
                    out.write(f'<way id="{way_id}">{refs}{tag_xml}</way>\n')
            for node_id, (lat, lon) in nodes.items():
                out.write(f'<node id="{node_id}" lat="{lat:.7f}" lon="{lon:.7f}"/>\n')
            out.write("</osm>\n")
    except RuntimeError as exc:
        msg = f"cannot read OSM file {path}: {exc}"
        raise GraphBuildError(msg) from exc
    counts["nodes"] = len(nodes)
    return counts


def graph_from_osm_file(path: Path, network_type: str, work_dir: Path,
                        progress: Progress) -> nx.MultiDiGraph:
    """Unsimplified osmnx graph of ``network_type`` from an ``.osm``/``.osm.bz2``/``.osm.pbf``."""
    if not path.is_file():
        msg = f"OSM file {path} not found"
        raise GraphBuildError(msg)
    if not str(path).endswith(OSM_SUFFIXES):
        msg = f"OSM file {path} must end in one of {', '.join(OSM_SUFFIXES)}"
        raise GraphBuildError(msg)
    xml_path = work_dir / f"{network_type}.osm"
    progress(f"  filtering {network_type} ways from {path.name} with pyosmium")
    counts = filtered_xml(path, xml_path, network_type)
    progress(f"  kept {counts['ways']:,} ways ({counts['pieces']:,} pieces, "
             f"{counts['missing_refs']:,} references to nodes outside the file dropped)")
    if counts["pieces"] == 0:
        msg = f"no {network_type} roads in {path}: is it an OSM extract of a populated area?"
        raise GraphBuildError(msg)
    progress(f"  parsing {counts['nodes']:,} nodes with osmnx")
    try:
        with _keeping_speed_tags():
            return ox.graph_from_xml(xml_path, bidirectional=network_type == "walk",
                                     simplify=False, retain_all=True)
    finally:
        xml_path.unlink(missing_ok=True)


def graph_from_place_or_bbox(place: str | list[str] | None,
                             bbox: tuple[float, float, float, float] | None,
                             network_type: str, progress: Progress) -> nx.MultiDiGraph:
    """Unsimplified osmnx graph downloaded from Overpass (needs the internet).

    Parameters
    ----------
    place
        One geocodable place name or several (their union), e.g. ``["Kent, England",
        "Medway, England"]``.
    bbox
        ``(west, south, east, north)`` in decimal degrees, used when ``place`` is ``None``.
    """
    progress(f"  downloading the {network_type} network from Overpass (may take minutes)")
    with _keeping_speed_tags():
        if place is not None:
            return ox.graph_from_place(place, network_type=network_type, simplify=False,
                                       retain_all=True)
        return ox.graph_from_bbox(bbox, network_type=network_type, simplify=False,
                                  retain_all=True)
