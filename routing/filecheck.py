"""Sizes and SHA-256 digests of a graph cache's files, recorded at build and checked later.

:func:`record_files` runs when a build writes ``meta.json`` (:func:`routing.io.save_table`)
and its result is kept there under ``"files"``. Loading compares only the sizes
(:func:`size_problem`: a ``stat`` per file, a few microseconds each), so a file cut short or
extended by a copy is refused at once while start-up stays in milliseconds; bytes changed in
place are found by re-hashing every file (:func:`check_files`, ``waitless graph check``),
which reads the whole cache (about 0.08 seconds per 100 MB from the page cache, SHA-256 at
1.26 GB per second on the bench machine: docs/benchmarks.md).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Files a build writes beside meta.json; snap/ is a directory whose files are each recorded.
CACHE_FILES = ("graph.npz", "nodes.npy", "edges.npz", "table.npy", "snap")
SNAP_DIR = "snap"
# SHA-256, as for the edges digest: with the CPU's SHA extensions it hashed about twice as
# fast as BLAKE2b on the bench machine (1.3 against 0.67 GB per second).
DIGEST = "sha256"
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
# A snap/ file name as a build writes it ("seg.edge_tail.npy"): no separator of any system, no
# NUL or unencodable character and no longer than a file name may be, so that stat and open
# fail only for a file that is missing (a hand-edited name raised ValueError or OSError past
# the cache's checks, and the API did not start); not hidden, like the files recorded.
_SNAP_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}")


def _cache_paths(directory: Path) -> list[str]:
    """Names, relative to ``directory`` and in POSIX form, of the cache files present."""
    names = []
    for name in CACHE_FILES:
        path = directory / name
        if path.is_dir():
            names += sorted(f"{name}/{p.name}" for p in path.iterdir()
                            if p.is_file() and not p.name.startswith("."))
        elif path.is_file():
            names.append(name)
    return names


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks (the file is never held in memory)."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, DIGEST).hexdigest()


def record_files(directory: Path) -> dict[str, dict[str, Any]]:
    """Size in bytes and SHA-256 of every cache file in ``directory``, for ``meta.json``.

    Returns
    -------
    dict
        ``{"table.npy": {"size_bytes": 176000128, "sha256": "<64 hex>"}, "snap/a_m.npy":
        ...}``, one entry per file of :data:`CACHE_FILES` present (``meta.json`` excluded:
        it cannot record itself).
    """
    return {name: {"size_bytes": (directory / name).stat().st_size,
                   DIGEST: file_sha256(directory / name)} for name in _cache_paths(directory)}


def records_problem(files: Any) -> str | None:
    """What is wrong with a ``meta.json`` ``"files"`` value, in one phrase; ``None`` if nothing.

    Names must be cache files (no other path is ever read or hashed), each record a size in
    bytes and a hex SHA-256.
    """
    if not isinstance(files, dict):
        return f"'files' is {files!r:.60}, not an object"
    for name, record in files.items():
        # Split by hand: PurePosixPath costs some 3 microseconds a name, at every load.
        top, _, below = name.partition("/")
        in_snap = top == SNAP_DIR and _SNAP_NAME.fullmatch(below) is not None
        if not (in_snap or (top in CACHE_FILES and top != SNAP_DIR and not below)):
            return f"'files' names {name!r:.60}, not a file of the cache"
        size = record.get("size_bytes") if isinstance(record, dict) else None
        digest = record.get(DIGEST) if isinstance(record, dict) else None
        if (not isinstance(size, int) or isinstance(size, bool) or size < 0
                or not isinstance(digest, str) or not _HEX_DIGEST.fullmatch(digest)):
            return f"'files'.{name!r} is not a size in bytes and a hex {DIGEST}"
    return None


def size_problem(directory: Path, files: dict[str, dict[str, Any]]) -> str | None:
    """The first recorded file whose size differs, in one phrase; ``None`` when all agree.

    Only ``stat`` is called: what load can afford. Files of ``snap/`` are skipped when the
    whole directory is gone, since a cache without its index still loads (the index is
    built in memory, :func:`routing.snapcache.load_snapper`).
    """
    snap_gone = not (directory / SNAP_DIR).is_dir()
    # os.stat on joined text: a third of the cost of building a Path per file (about 1.5
    # against 5 microseconds; load runs this over some twenty files).
    base = os.fspath(directory)
    for name, record in files.items():
        if snap_gone and name.startswith(f"{SNAP_DIR}/"):
            continue
        try:
            found_bytes = os.stat(os.path.join(base, name)).st_size
        except FileNotFoundError:
            return f"{name} is missing"
        except OSError as exc:  # a symbolic link in a loop, an I/O error: a refused cache
            return f"{name} cannot be read ({exc.strerror})"
        if found_bytes != record["size_bytes"]:
            return (f"{name} is {found_bytes:,} bytes, meta.json recorded "
                    f"{record['size_bytes']:,}")
    return None


@dataclass(frozen=True)
class FileCheck:
    """One cache file against its record: what the build wrote and what is there now.

    ``found_bytes`` and ``found_sha256`` are ``None`` when the file is missing.
    """

    name: str
    expected_bytes: int
    expected_sha256: str
    found_bytes: int | None
    found_sha256: str | None

    @property
    def ok(self) -> bool:
        return (self.found_bytes, self.found_sha256) == (self.expected_bytes,
                                                         self.expected_sha256)

    def line(self) -> str:
        """``ok  table.npy  (N bytes)`` or ``MISMATCH  table.npy  expected ..., found ...``."""
        if self.ok:
            return f"ok        {self.name}  ({self.found_bytes:,} bytes)"
        found = ("missing" if self.found_bytes is None
                 else f"{self.found_bytes:,} bytes {DIGEST} {self.found_sha256}")
        return (f"MISMATCH  {self.name}  expected {self.expected_bytes:,} bytes {DIGEST} "
                f"{self.expected_sha256}, found {found}")


def check_files(directory: Path, files: dict[str, dict[str, Any]]) -> list[FileCheck]:
    """Re-hash every recorded file of the cache in ``directory`` (reads all of it)."""
    checks = []
    for name, record in files.items():
        path = directory / name
        found_bytes = path.stat().st_size if path.is_file() else None
        checks.append(FileCheck(name, record["size_bytes"], record[DIGEST], found_bytes,
                                None if found_bytes is None else file_sha256(path)))
    return checks
