"""Build a region's road graphs and node-to-site tables into the cache."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from routing import io
from routing._osm import osm_timestamp
from routing.config import MODES
from routing.entries import entry_table, snap_site_entries
from routing.errors import GraphBuildError, GraphCacheError
from routing.filecheck import SNAP_DIR, check_files
from routing.graph import GraphSource, graph_arrays, raw_graph, routable_graph
from routing.segments import EdgeSegments
from routing.snap import EdgeSnapper
from routing.snapcache import edges_digest, read_snap_index, save_snapper
from routing.table import GraphArrays
from waitless.domain.graph_settings import GraphSettings

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BuildResult:
    """What one mode's build produced.

    Attributes
    ----------
    directory
        The cache directory written.
    meta
        The metadata saved in ``meta.json``.
    graph
        The routable osmnx graph, or ``None`` when the cached graph was reused.
    arrays
        The graph as arrays (what the table was computed on).
    """

    directory: Path
    meta: dict[str, Any]
    graph: nx.MultiDiGraph | None
    arrays: GraphArrays


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _graph_key(source: GraphSource | None, mode: str, settings: GraphSettings) -> dict[str, Any]:
    speeds: dict[str, Any] = ({"walk_speed_kph": settings.walk_speed_kph} if mode == "walk"
                              else {"default_speeds_kph": settings.default_speeds_kph})
    return {"source": None if source is None else source.describe(), "mode": mode, **speeds}


def _settings_only(key: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in key.items() if k != "source"}


def _previous_graph_meta(directory: Path, mode: str) -> tuple[dict[str, Any] | None, str]:
    """The cached graph's part of ``meta.json``, or ``None`` and why it cannot be reused."""
    if not (directory / "graph.npz").is_file():
        return None, f"no cached {mode} graph in {directory}"
    try:
        return io.read_meta(directory)["graph"], ""
    except GraphCacheError as exc:
        # Where the graph came from is in meta.json: without a sound one it is not reused.
        return None, f"the cached {mode} graph's metadata is not usable ({exc})"


def _fresh_graph(source: GraphSource, mode: str, settings: GraphSettings, directory: Path,
                 progress: Progress) -> tuple[nx.MultiDiGraph, GraphArrays, dict[str, Any]]:
    started = time.perf_counter()
    progress(f"[{mode}] reading OSM data")
    G, origins = routable_graph(raw_graph(source, mode, progress), mode, settings, progress)
    arrays = graph_arrays(G)
    io.save_graph(directory, arrays)
    progress(f"[{mode}] indexing the edges for snapping")
    save_snapper(directory, EdgeSnapper(EdgeSegments.from_graph(G)))
    timestamp = None
    if source.osm_file is not None:
        timestamp = osm_timestamp(source.osm_file)
    graph_meta = {
        "key": _graph_key(source, mode, settings),
        "osm_timestamp": timestamp,
        "speed_origin_edges": dict(origins),
        "n_nodes": arrays.n_nodes,
        "n_edges": int(arrays.csr.nnz),
        "built_at": _now(),
        "build_seconds": round(time.perf_counter() - started, 3),
    }
    return G, arrays, graph_meta


def _changed_since_build(directory: Path) -> list[str]:
    """The cached files a reuse would keep (all but ``table.npy``) that differ from ``meta.json``.

    A reuse writes a new ``meta.json`` recording the digests of the files as they are: one
    changed since its build (bit rot, a bad copy) would be recorded as good. Reads every such
    file; empty for caches from before the digests, which have nothing to compare.
    """
    files = io.read_meta(directory).get("files", {})
    kept = {name: record for name, record in files.items() if name != "table.npy"}
    return [check.name for check in check_files(directory, kept) if not check.ok]


def _indexed_snapper(directory: Path, mode: str, progress: Progress, *,
                     changed: bool = False) -> EdgeSnapper:
    # The cache's snapping index, written first when missing, stale, damaged or changed since
    # its build (caches from before the index, reused with --reuse-graph, get one this way).
    found = None
    if changed:
        progress(f"[{mode}] rewriting the snapping index (its files changed since the build)")
    else:
        try:
            found = read_snap_index(directory)
        except GraphCacheError as exc:
            progress(f"[{mode}] rewriting the snapping index ({exc})")
    if found is None:
        progress(f"[{mode}] indexing the cached edges for snapping")
        save_snapper(directory, EdgeSnapper(EdgeSegments.load(directory)))
        found = read_snap_index(directory)
    segments, index = found
    return EdgeSnapper(segments, index=index)


def build_mode(region: Any, mode: str, *, source: GraphSource | None,
               cache_root: Path | str = io.DEFAULT_CACHE_ROOT, reuse_graph: bool = False,
               border_sites: Sequence[Any] = (), neighbours: Sequence[str] = (),
               progress: Progress = print) -> BuildResult:
    """Build (or reuse) one mode's graph and compute its node-to-site table.

    The table's columns are the region's own sites, then ``border_sites``; ``meta.json``
    records their ids, the hash over that whole list (``sites_hash``, what a server serving
    the region with its neighbours expects), and the own sites' count and hash
    (``n_own_sites``, ``own_sites_hash``: a server serving other border sites, or the region
    alone, still uses those columns).

    Parameters
    ----------
    region
        A :class:`waitless.domain.region.Region`.
    mode
        ``"drive"`` or ``"walk"``.
    source
        The OSM source; may be ``None`` only with ``reuse_graph``.
    cache_root
        Directory holding ``<region>/<mode>/``.
    reuse_graph
        Reuse the cached graph whatever its source. Without it, the cached graph is still
        reused when it came from the same OSM file (same path, size and modification time)
        with the same speed settings; online sources are always downloaded again. Files
        reused are first checked against the sizes and SHA-256 in ``meta.json``: a changed
        ``snap/`` file has the index written again; a changed graph, nodes or edges file is
        refused, or read again from the OSM file when that is the source.
    border_sites
        Neighbours' sites the region ranks when served with them (``id``, ``lat``, ``lon``
        in decimal degrees), as :func:`waitless.ranking.multiregion.border_sites_for` chooses
        them; the source must reach them.
    neighbours
        Names of the regions ``border_sites`` were chosen from, recorded for the rebuild
        command.

    Raises
    ------
    GraphBuildError
        When the source cannot be read or built, a site is off the graph, or a graph to
        reuse is missing, of unusable metadata or changed since its build.
    """
    if mode not in MODES:
        msg = f"mode must be one of {MODES}, got {mode!r}"
        raise GraphBuildError(msg)
    settings = region.graph
    directory = io.mode_dir(cache_root, region.name, mode)
    previous, why_not = _previous_graph_meta(directory, mode)
    same_file = (source is not None and source.osm_file is not None and previous is not None
                 and previous.get("key") == _graph_key(source, mode, settings))
    changed = (_changed_since_build(directory) if previous is not None
               and (reuse_graph or same_file) else [])
    graph_changed = [name for name in changed if not name.startswith(f"{SNAP_DIR}/")]
    if graph_changed and same_file and not reuse_graph:
        progress(f"[{mode}] {', '.join(graph_changed)} changed since the cached graph's build: "
                 "reading the OSM file again")
        same_file = False
    G = None
    if reuse_graph or same_file:
        if previous is None:
            msg = f"--reuse-graph: {why_not}; build it from the OSM source"
            raise GraphBuildError(msg)
        if graph_changed:
            msg = (f"--reuse-graph: {', '.join(graph_changed)} in {directory} changed since the "
                   "build (size or SHA-256 differs from meta.json; `waitless graph check` "
                   "lists them); build it from the OSM source")
            raise GraphBuildError(msg)
        progress(f"[{mode}] reusing the cached graph in {directory} (OSM not read)")
        if _settings_only(previous.get("key", {})) != _settings_only(
                _graph_key(None, mode, settings)):
            progress(f"[{mode}] warning: the cached graph was built with other speed settings; "
                     "rebuild from the OSM source to apply the current ones")
        arrays, graph_meta = io.load_graph(directory), previous
    elif source is None:
        msg = "no OSM source given: pass --osm-file, --place or --bbox (or --reuse-graph)"
        raise GraphBuildError(msg)
    else:
        G, arrays, graph_meta = _fresh_graph(source, mode, settings, directory, progress)
    started = time.perf_counter()
    try:
        # Only a reused index can have changed: a fresh graph wrote its own.
        snapper = _indexed_snapper(directory, mode, progress, changed=G is None and bool(changed))
    except GraphCacheError as exc:
        raise GraphBuildError(str(exc)) from exc
    segments = snapper.segments
    # The region as served with its neighbours: its hash is the one a server compares.
    served = replace(region, sites=(*region.sites, *border_sites))
    sites = served.sites
    site_ids = [s.id for s in sites]
    entries, snap_m = snap_site_entries(
        snapper, site_ids, np.array([s.lat for s in sites]),
        np.array([s.lon for s in sites]), max_snap_m=settings.max_snap_m,
        access_speed_kph=settings.access_speed_for(mode))
    border = f" ({len(border_sites)} of them border sites)" if border_sites else ""
    progress(f"[{mode}] Dijkstra from {len(sites)} sites{border} over {arrays.n_nodes:,} nodes")
    table = entry_table(arrays.csr, segments, entries, len(sites))
    meta = {
        "region": region.name,
        "mode": mode,
        "graph": graph_meta,
        "reused_graph": G is None,
        "site_ids": site_ids,
        "sites_hash": served.sites_hash(),
        "n_own_sites": len(region.sites),
        "own_sites_hash": region.sites_hash(),
        "neighbours": list(neighbours),
        "site_entries": entries.to_json(),
        "site_snap_m": [round(float(d), 2) for d in snap_m],
        "access_speed_kph": settings.access_speed_for(mode),
        "max_snap_m": settings.max_snap_m,
        "n_nodes": arrays.n_nodes,
        "n_sites": len(sites),
        # The edges the table was computed on (those snap/ indexes): checked at load.
        "edges_digest": edges_digest(directory),
        "unreachable_pairs": int(np.isinf(table).sum()),
        "table_built_at": _now(),
        "table_build_seconds": round(time.perf_counter() - started, 3),
    }
    meta = io.save_table(directory, table, meta)
    progress(f"[{mode}] wrote {directory} ({io.cache_size_bytes(directory) / 1e6:.1f} MB)")
    return BuildResult(directory, meta, G, arrays)


def build_region(region: Any, *, source: GraphSource | None,
                 cache_root: Path | str = io.DEFAULT_CACHE_ROOT,
                 modes: Sequence[str] = MODES, reuse_graph: bool = False,
                 border_sites: Sequence[Any] = (), neighbours: Sequence[str] = (),
                 progress: Progress = print) -> dict[str, BuildResult]:
    """Build every requested mode; see :func:`build_mode`."""
    return {mode: build_mode(region, mode, source=source, cache_root=cache_root,
                             reuse_graph=reuse_graph, border_sites=border_sites,
                             neighbours=neighbours, progress=progress) for mode in modes}
