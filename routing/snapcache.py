"""The snapping index in the graph cache: ``<cache>/<region>/<mode>/snap/``.

Written at build time beside ``edges.npz`` (:func:`save_snapper`) and memory-mapped at load
(:func:`load_snapper`), so every process serving a graph shares one copy of the index through
the page cache and starts without building it. Files: each array of
:class:`routing.segments.EdgeSegments` (``seg.<field>.npy``) and of
:class:`routing.snapgrid.SnapIndex` (``<field>.npy``), uncompressed, and ``index.json`` (format
version, the digest of the edges indexed, the grid's scalars, each array's dtype and shape).

A cache without ``snap/`` (written before it existed), or whose index is of another version
or for other edges, still loads: the index is built in memory, as before, with a warning.
A damaged index (a file missing, truncated or of the wrong shape) is refused with
:class:`routing.errors.GraphCacheError`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import zipfile
from dataclasses import fields
from pathlib import Path

import numpy as np

from routing.errors import GraphCacheError
from routing.segments import EDGES_FILE, EdgeSegments
from routing.snap import EdgeSnapper
from routing.snapgrid import SnapIndex

SNAP_INDEX_DIR = "snap"
# Version of the files in snap/: an index of another version is ignored (built at load).
SNAP_INDEX_VERSION = 1

logger = logging.getLogger(__name__)


def save_snapper(directory: Path, snapper: EdgeSnapper) -> None:
    """Write ``edges.npz`` and the ``snap/`` index beside the graph (see :mod:`routing.io`)."""
    digest = snapper.segments.save(directory)
    write_snap_index(directory, snapper.segments, snapper.index, digest)


# Arrays of SnapIndex saved as snap/<name>.npy; its other fields go in snap/index.json.
_INDEX_ARRAYS = ("a_m", "ab_m", "ab2_m2", "twin", "piece_seg", "piece_mid_m", "cell_key",
                 "cell_start")


def write_snap_index(directory: Path, segments: EdgeSegments, index: SnapIndex,
                     digest: str) -> None:
    """Write ``snap/``: the segments and the index as uncompressed ``.npy`` files.

    The files go to a temporary directory renamed into place, ``index.json`` written last,
    so a crash mid-write leaves the old index or none, never half of one. ``digest`` is
    the one saved in ``edges.npz`` (:meth:`EdgeSegments.save`): an index whose digest no
    longer matches the edges is ignored at load.
    """
    arrays = {**{f"seg.{name}": getattr(segments, name) for name in segments.__dataclass_fields__},
              **{name: getattr(index, name) for name in _INDEX_ARRAYS}}
    tmp = directory / f".{SNAP_INDEX_DIR}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, array in arrays.items():
        np.save(tmp / f"{name}.npy", np.ascontiguousarray(array))
    manifest = {
        "version": SNAP_INDEX_VERSION, "edges_digest": digest,
        "grid_origin_m": [float(x) for x in index.grid_origin_m], "cell_m": index.cell_m,
        "grid_bits": index.grid_bits, "half_piece_m": index.half_piece_m,
        "arrays": {name: {"dtype": np.asarray(array).dtype.str, "shape": list(np.shape(array))}
                   for name, array in arrays.items()}}
    (tmp / "index.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    target = directory / SNAP_INDEX_DIR
    # A directory cannot replace a non-empty one: move the old index aside first. Processes
    # that mapped its files keep reading them until they exit.
    old = directory / f".{SNAP_INDEX_DIR}.old{os.getpid()}"
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


def read_snap_index(directory: Path) -> tuple[EdgeSegments, SnapIndex] | None:
    """Memory-map the ``snap/`` index of the cache in ``directory``.

    Returns
    -------
    (EdgeSegments, SnapIndex) or None
        Arrays mapped read-only; ``None`` when there is no index, or it is of another
        version or for other edges than ``edges.npz`` holds (written before them, or by an
        older WaitLess).

    Raises
    ------
    GraphCacheError
        When the index is there but damaged: a file missing, truncated or of the wrong
        shape or type.
    """
    path = directory / SNAP_INDEX_DIR
    if not path.is_dir():
        return None
    digest = edges_digest(directory)
    try:
        manifest = json.loads((path / "index.json").read_text(encoding="utf-8"))
        if manifest.get("version") != SNAP_INDEX_VERSION:
            return None
        if manifest["edges_digest"] != digest:
            return None
        arrays = {}
        for name, spec in manifest["arrays"].items():
            array = np.load(path / f"{name}.npy", mmap_mode="r", allow_pickle=False)
            if array.dtype.str != spec["dtype"] or list(array.shape) != spec["shape"]:
                msg = (f"{name}.npy is {array.dtype.str} {list(array.shape)}, index.json says "
                       f"{spec['dtype']} {spec['shape']}")
                raise ValueError(msg)
            # A plain view of the mapping: indexing np.memmap itself runs Python code per call
            # (tens of µs per query).
            arrays[name] = np.asarray(array)
        segments = EdgeSegments(**{name: arrays[f"seg.{name}"]
                                   for name in EdgeSegments.__dataclass_fields__})
        index = SnapIndex(**{name: arrays[name] for name in _INDEX_ARRAYS},
                          grid_origin_m=np.array(manifest["grid_origin_m"], dtype=np.float64),
                          cell_m=float(manifest["cell_m"]), grid_bits=int(manifest["grid_bits"]),
                          half_piece_m=float(manifest["half_piece_m"]))
    except (OSError, KeyError, TypeError, ValueError) as exc:
        msg = (f"damaged snapping index {path}: {exc}; delete it, or rebuild it with "
               "`waitless graph build --region <name> --reuse-graph`")
        raise GraphCacheError(msg) from exc
    _check_lengths(path, segments, index)
    return segments, index


def edges_digest(directory: Path) -> str | None:
    """The digest saved in the cache's ``edges.npz`` (:meth:`EdgeSegments.save`).

    Only that small member is read (well under a millisecond). ``None`` for files from
    before ``snap/``, which have none.

    Raises
    ------
    GraphCacheError
        When ``edges.npz`` is missing or unreadable.
    """
    try:
        with np.load(directory / EDGES_FILE) as data:
            return str(data["digest"]) if "digest" in data.files else None
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        msg = (f"cannot read the road edges in {directory}: {exc}; rebuild the graph from "
               "its OSM source")
        raise GraphCacheError(msg) from exc


def _check_lengths(path: Path, segments: EdgeSegments, index: SnapIndex) -> None:
    n_segments, n_pieces = len(segments.seg_edge), len(index.piece_seg)
    per_segment = [getattr(segments, f.name) for f in fields(segments)
                   if f.name.startswith("seg_")] + [index.a_m, index.ab_m, index.ab2_m2,
                                                    index.twin]
    per_edge = (segments.edge_tail, segments.edge_head, segments.edge_seconds)
    if (any(len(x) != n_segments for x in per_segment)
            or any(len(x) != len(segments.edge_tail) for x in per_edge)
            or len(index.piece_mid_m) != n_pieces
            or len(index.cell_start) != len(index.cell_key) + 1
            or not 1 <= index.grid_bits <= 20):
        msg = (f"damaged snapping index {path}: arrays of inconsistent lengths; delete it, or "
               "rebuild it with `waitless graph build --region <name> --reuse-graph`")
        raise GraphCacheError(msg)


def load_snapper(directory: Path) -> EdgeSnapper:
    """The snapper of a graph cache: its ``snap/`` index memory-mapped, else built here.

    Building reads ``edges.npz`` into private memory and takes seconds to minutes on large
    graphs (a warning says so); ``waitless graph build --reuse-graph`` writes the index.

    Raises
    ------
    GraphCacheError
        When the edges are unreadable, or the index is damaged (:func:`read_snap_index`).
    """
    found = read_snap_index(directory)
    if found is not None:
        segments, index = found
        return EdgeSnapper(segments, index=index)
    logger.warning("no snapping index for the edges in %s: building it in memory (slower "
                   "start-up, private memory); `waitless graph build --reuse-graph` writes it",
                   directory)
    return EdgeSnapper(EdgeSegments.load(directory))
