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
    Source, OSM timestamp, speeds, site ids and hash, snapping, counts and build times.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_array

from routing.errors import GraphCacheError
from routing.table import GraphArrays

DEFAULT_CACHE_ROOT = Path("graph_cache")
# 2: sites and origins snap onto edges (edges.npz; the table includes the site's leg).
FORMAT_VERSION = 2


def mode_dir(cache_root: Path | str, region_name: str, mode: str) -> Path:
    """Directory holding one region's cache for one mode."""
    return Path(cache_root) / region_name / mode


def _replace_into(directory: Path, name: str, write) -> None:
    # Write beside the target and rename, so a server reading the cache never sees half a file.
    tmp = directory / f".{name}.tmp{os.getpid()}"
    with tmp.open("wb") as fh:
        write(fh)
    os.replace(tmp, directory / name)


def save_graph(directory: Path, arrays: GraphArrays) -> None:
    """Write ``graph.npz`` and ``nodes.npy``."""
    directory.mkdir(parents=True, exist_ok=True)
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


def save_table(directory: Path, table: np.ndarray, meta: dict[str, Any]) -> None:
    """Write ``table.npy`` then ``meta.json`` (last, so a complete meta means a complete cache)."""
    directory.mkdir(parents=True, exist_ok=True)
    _replace_into(directory, "table.npy",
                  lambda fh: np.save(fh, np.ascontiguousarray(table, dtype=np.float32)))
    meta = {"format_version": FORMAT_VERSION, **meta}
    _replace_into(directory, "meta.json",
                  lambda fh: fh.write(json.dumps(meta, indent=2, sort_keys=True).encode()))


def read_meta(directory: Path) -> dict[str, Any]:
    """The cache's metadata.

    Raises
    ------
    GraphCacheError
        When there is no cache, or it is unreadable or of another format version.
    """
    path = directory / "meta.json"
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        msg = f"no road-graph cache at {directory}"
        raise GraphCacheError(msg) from exc
    except (OSError, ValueError) as exc:
        msg = f"unreadable road-graph metadata {path}: {exc}"
        raise GraphCacheError(msg) from exc
    if meta.get("format_version") != FORMAT_VERSION:
        msg = (f"road-graph cache {directory} has format {meta.get('format_version')}, "
               f"this version reads {FORMAT_VERSION}; rebuild it")
        raise GraphCacheError(msg)
    return meta


def cache_size_bytes(directory: Path) -> int:
    """Total size of the cache files in bytes, the ``snap/`` index included."""
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
