"""Graph cache on disk: ``<cache_root>/<region>/<mode>/``.

Files
-----
graph.npz
    The routable graph as compressed CSR arrays (seconds, float32) plus OSM node ids; lets
    tables be rebuilt for new sites without reading OSM again.
nodes.npy
    Node latitude and longitude in decimal degrees, ``(n_nodes, 2)`` float64, uncompressed
    so it can be memory-mapped.
edges.npz
    Every directed edge as straight segments with seconds (:mod:`routing.snap`), for
    snapping origins and sites onto roads.
snap/
    The same segments and their snapping index as uncompressed arrays, memory-mapped at load
    (:mod:`routing.snapcache`); optional: a cache without it builds the index at load.
table.npy
    Seconds from each node to each site's snapped position plus its leg to the site,
    ``(n_nodes, n_sites)`` float32, row-major so one query reads contiguous rows.
meta.json
    Source, OSM timestamp, speeds, site ids and hash (the region's own sites, then any
    neighbours' border sites: ``n_own_sites``, ``own_sites_hash``, ``neighbours``),
    snapping, counts and build times, the digest of the ``edges.npz`` the table was
    computed on, and the size in bytes and SHA-256 of every other file (``"files"``,
    :mod:`routing.filecheck`). Written last and removed before any other file is replaced,
    so it is there only while the files beside it are those of one complete build.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_array

from routing.errors import GraphCacheError
from routing.filecheck import CACHE_FILES, record_files, records_problem
from routing.table import GraphArrays
from waitless.domain.region_values import is_number

DEFAULT_CACHE_ROOT = Path("graph_cache")
# 2: sites and origins snap onto edges (edges.npz; the table includes the site's leg).
FORMAT_VERSION = 2


def mode_dir(cache_root: Path | str, region_name: str, mode: str) -> Path:
    """Directory holding one region's cache for one mode."""
    return Path(cache_root) / region_name / mode


META_FILE = "meta.json"


def _replace_into(directory: Path, name: str, write) -> None:
    # Write beside the target and rename, so a server reading the cache never sees half a file.
    tmp = directory / f".{name}.tmp{os.getpid()}"
    with tmp.open("wb") as fh:
        write(fh)
    os.replace(tmp, directory / name)


def save_graph(directory: Path, arrays: GraphArrays) -> None:
    """Write ``graph.npz`` and ``nodes.npy``, first removing ``meta.json`` (:func:`invalidate`)."""
    directory.mkdir(parents=True, exist_ok=True)
    invalidate(directory)
    csr = arrays.csr
    _replace_into(directory, "graph.npz", lambda fh: np.savez_compressed(
        fh, indptr=csr.indptr, indices=csr.indices, seconds=csr.data.astype(np.float32),
        node_osmid=arrays.node_osmid))
    coords = np.column_stack((arrays.node_lat, arrays.node_lon))
    _replace_into(directory, "nodes.npy", lambda fh: np.save(fh, coords))


def load_graph(directory: Path) -> GraphArrays:
    """Read the graph saved by :func:`save_graph`."""
    try:
        with np.load(directory / "graph.npz") as data:
            n_nodes = len(data["indptr"]) - 1
            csr = csr_array((data["seconds"].astype(np.float64), data["indices"], data["indptr"]),
                            shape=(n_nodes, n_nodes))
            osmid = data["node_osmid"]
        coords = np.load(directory / "nodes.npy")
    except (OSError, KeyError, ValueError) as exc:
        msg = f"cannot read the cached graph in {directory}: {exc}"
        raise GraphCacheError(msg) from exc
    return GraphArrays(coords[:, 0].copy(), coords[:, 1].copy(), csr, osmid)


def invalidate(directory: Path) -> None:
    """Remove ``meta.json``: the cache in ``directory`` is about to change.

    ``meta.json`` is the cache's commit record, written last by :func:`save_table`. Removed
    before the first other file is replaced, a build cut short (killed, out of disk, a site
    off the new graph) leaves no ``meta.json`` and the cache is refused as incomplete;
    otherwise the old ``meta.json`` and ``table.npy`` would load beside the new graph and
    edges and answer from a table computed on other roads whenever the node count is the same.
    Processes already serving the cache keep the files they mapped.
    """
    (directory / META_FILE).unlink(missing_ok=True)


def save_table(directory: Path, table: np.ndarray, meta: dict[str, Any]) -> dict[str, Any]:
    """Write ``table.npy`` then ``meta.json``, first removing ``meta.json``.

    ``meta.json`` goes last, so it is there only when every file beside it is of this build
    (:func:`invalidate`); it records their sizes in bytes and SHA-256 digests (``"files"``),
    which reads every file once (about 0.08 seconds per 100 MB just written).

    Returns
    -------
    dict
        The metadata written: ``meta`` with ``format_version`` and ``files``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    invalidate(directory)
    _replace_into(directory, "table.npy",
                  lambda fh: np.save(fh, np.ascontiguousarray(table, dtype=np.float32)))
    meta = {"format_version": FORMAT_VERSION, **meta, "files": record_files(directory)}
    _replace_into(directory, "meta.json",
                  lambda fh: fh.write(json.dumps(meta, indent=2, sort_keys=True).encode()))
    return meta


def rebuild_hint(directory: Path) -> str:
    """The command that rebuilds the cache in ``directory`` (``<root>/<region>/<mode>``)."""
    return (f"rebuild it with `waitless graph build --region {directory.parent.name} "
            f"--mode {directory.name} --osm-file <extract.osm.pbf>`")


def read_meta(directory: Path) -> dict[str, Any]:
    """The cache's metadata, every key the loader reads checked for presence and type.

    Raises
    ------
    GraphCacheError
        When there is no cache, or its ``meta.json`` is unreadable, of another format version,
        or malformed (not a JSON object, a key missing or of the wrong type); the message
        names the file and the problem.
    """
    path = directory / META_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        # With any file of a build and no meta.json, that build was cut short.
        found = [name for name in CACHE_FILES if (directory / name).exists()]
        msg = f"no road-graph cache at {directory}"
        if found:
            msg = (f"road-graph cache {directory} is incomplete: {', '.join(found)} but no "
                   f"{META_FILE} (a build was interrupted, failed or is still running); "
                   f"{rebuild_hint(directory)}")
        raise GraphCacheError(msg) from exc
    except (OSError, ValueError, RecursionError) as exc:
        msg = f"unreadable road-graph metadata {path}: {exc}; {rebuild_hint(directory)}"
        raise GraphCacheError(msg) from exc
    if not isinstance(meta, dict):
        msg = (f"malformed road-graph metadata {path}: a JSON {type(meta).__name__}, not an "
               f"object; {rebuild_hint(directory)}")
        raise GraphCacheError(msg)
    if meta.get("format_version") != FORMAT_VERSION:
        msg = (f"road-graph cache {directory} has format {meta.get('format_version')!r}, "
               f"this version reads {FORMAT_VERSION}; {rebuild_hint(directory)}")
        raise GraphCacheError(msg)
    problem = meta_problem(meta)
    if problem is not None:
        msg = f"malformed road-graph metadata {path}: {problem}; {rebuild_hint(directory)}"
        raise GraphCacheError(msg)
    return meta


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_positive(value: Any) -> bool:
    return is_number(value) and value > 0


def _is_list_of(check: Callable[[Any], bool], value: Any) -> bool:
    return isinstance(value, list) and all(check(x) for x in value)


# Every key the loader (routing.travel) reads, with what it must be: a cache written by hand, by
# another tool, or cut short otherwise fails at start-up with a KeyError or TypeError, or
# later, on the first query (a text access speed).
_META_KEYS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "region": (_is_text, "a non-empty string"),
    "mode": (_is_text, "a non-empty string"),
    "site_ids": (lambda v: _is_list_of(_is_text, v), "a list of site ids"),
    "sites_hash": (_is_text, "a non-empty string"),
    "n_nodes": (_is_count, "a whole number >= 0"),
    "n_sites": (_is_count, "a whole number >= 0"),
    "access_speed_kph": (_is_positive, "a number > 0 (km per hour)"),
    "max_snap_m": (_is_positive, "a number > 0 (meters)"),
    "table_built_at": (_is_text, "a non-empty string"),
    "graph": (lambda v: isinstance(v, dict), "an object"),
    "site_entries": (lambda v: isinstance(v, dict), "an object"),
}


def meta_problem(meta: dict[str, Any]) -> str | None:
    """What is wrong with a ``meta.json`` object, in one phrase; ``None`` when nothing is.

    Checks the keys and types the loader reads, and that the site entries agree with each
    other and with ``n_sites``; not the arrays (see ``RoadGraphTravel.load``).
    """
    for key, (check, wanted) in _META_KEYS.items():
        if key not in meta:
            return f"no {key!r}"
        if not check(meta[key]):
            return f"{key!r} is {meta[key]!r:.60}, not {wanted}"
    if len(meta["site_ids"]) != meta["n_sites"]:
        return f"{len(meta['site_ids'])} 'site_ids' but 'n_sites' is {meta['n_sites']}"
    key = meta["graph"].get("key")
    if not isinstance(key, dict) or not isinstance(key.get("source", {}), dict | None):
        return "'graph' has no 'key' object with a 'source' object (or null)"
    if not isinstance(meta["graph"].get("osm_timestamp"), str | None):
        return "'graph'.'osm_timestamp' is not a string or null"
    if not isinstance(meta.get("edges_digest", ""), str):
        return "'edges_digest' is not a string"
    # Absent from caches built before border sites had columns: every column is an own site.
    n_own = meta.get("n_own_sites", meta["n_sites"])
    if not _is_count(n_own) or n_own > meta["n_sites"]:
        return f"'n_own_sites' is {n_own!r:.60}, not a whole number from 0 to 'n_sites'"
    if not _is_text(meta.get("own_sites_hash", meta["sites_hash"])):
        return "'own_sites_hash' is not a non-empty string"
    if not _is_list_of(_is_text, meta.get("neighbours", [])):
        return "'neighbours' is not a list of region names"
    # Absent from caches built before the files were recorded (routing.travel warns).
    if "files" in meta and (problem := records_problem(meta["files"])) is not None:
        return problem
    entries = meta["site_entries"]
    columns = {"site": (_is_count, "indices"), "edge": (_is_count, "indices"),
               "along_s": (is_number, "seconds"), "leg_s": (is_number, "seconds")}
    for name, (check, wanted) in columns.items():
        if not _is_list_of(check, entries.get(name)):
            return f"'site_entries'.{name!r} is not a list of {wanted}"
    if len({len(entries[name]) for name in columns}) != 1:
        return "the 'site_entries' lists are of different lengths"
    if any(site >= meta["n_sites"] for site in entries["site"]):
        return f"a 'site_entries' site index is not below 'n_sites' ({meta['n_sites']})"
    return None


def own_sites(meta: dict[str, Any]) -> tuple[int, str]:
    """How many of the table's first columns are the region's own sites, and their hash.

    The columns after them are neighbours' border sites (``waitless graph build
    --neighbour``). A cache built before border columns records neither: all its columns are
    own sites.
    """
    return (meta.get("n_own_sites", meta["n_sites"]),
            meta.get("own_sites_hash", meta["sites_hash"]))


def cache_size_bytes(directory: Path) -> int:
    """Total size of the cache files in bytes, the ``snap/`` index included."""
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
