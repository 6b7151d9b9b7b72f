"""A durable, bounded local spool for events PostgreSQL has not accepted yet.

Each batch becomes one segment file, written to a temporary name, fsynced and renamed, so a
crash leaves either a whole segment or none. Segments are replayed oldest first and deleted
only after PostgreSQL has committed them; event ids make a replay after a crash idempotent.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Sequence
from itertools import count
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from waitless.domain.errors import WaitlessError

_SUFFIX = ".jsonl"
# A UTF-16 surrogate code point on its own: Python strings may hold one (from a client's
# "\ud800" escape), UTF-8 cannot, so neither a spool file nor PostgreSQL's text can.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def _without_surrogates(value: Any) -> Any:
    """``value`` with every surrogate code point in its strings (in lists, tuples and dict
    keys and values too) replaced by U+FFFD."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub(REPLACEMENT, value)
    if isinstance(value, list | tuple):
        return [_without_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    return value


def json_line(value: Any) -> bytes:
    """``value`` as one line of JSON (newline included).

    A string holding a lone surrogate (``"\\ud800"``) is written with U+FFFD in its place,
    not escaped: an escaped surrogate would read back as the same string, which PostgreSQL
    refuses (it has no UTF-8 form), so the event would only be stored with the replacement
    character or not at all; replaced here, the event is kept and replayed. orjson refuses
    such a string (before, the whole batch was lost, uncounted); the rewrite runs only then.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:
        return orjson.dumps(_without_surrogates(value), option=orjson.OPT_APPEND_NEWLINE)


def file_sizes_bytes(paths: Iterable[Path]) -> dict[Path, int]:
    """The size of each of ``paths`` that still exists.

    Parameters
    ----------
    paths
        Files in a directory other processes write to and delete from as well.

    Returns
    -------
    dict[Path, int]
        Each path's size, in bytes; a path removed since it was listed is left out.
    """
    sizes = {}
    for path in paths:
        try:
            sizes[path] = path.stat().st_size
        except FileNotFoundError:  # replayed, or moved away, by another process meanwhile
            continue
    return sizes


class SpoolFull(WaitlessError):
    """The spool has reached its size limit."""


class Appended(NamedTuple):
    """What :meth:`Spool.append` did with a batch."""

    segment: Path | None  # None when no event of the batch could be written
    unencodable: list[tuple[Any, str]]  # events left out, each with orjson's error


class Spool:
    """Segment files under ``directory``, at most ``max_bytes`` in all."""

    def __init__(self, directory: str | Path, *, max_bytes: int) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._seq = count()
        self._sizes: dict[Path, int] = {}
        self.rescan()

    def segments(self) -> list[Path]:
        """Segment files, oldest first."""
        return sorted(self.directory.glob(f"*{_SUFFIX}"))

    def size_bytes(self) -> int:
        """Bytes in the segments this spool knows of, without touching the filesystem (the
        total is kept up to date by :meth:`append` and :meth:`remove`)."""
        return sum(self._sizes.values())

    def rescan(self) -> int:
        """Recount from the directory (other processes may share it); return the total, in
        bytes."""
        self._sizes = file_sizes_bytes(self.segments())
        return self.size_bytes()

    def append(self, events: Sequence[Any]) -> Appended:
        """Write one batch as a new segment, an event per JSON line (the event log's rows:
        arrays); raise :class:`SpoolFull` past the limit (nothing is left behind then).

        An event orjson cannot write even without its lone surrogates (an int past 64 bits, a
        dict key that is not a string, a type it does not know) is left out and returned, for
        the caller to count: before, it cost its whole batch, which was lost uncounted.
        """
        room = self.max_bytes - self.size_bytes()
        if room <= 0:  # full already: no file made and removed on every flush
            raise self._full()
        name = f"{time.time_ns():020d}-{os.getpid()}-{next(self._seq):06d}{_SUFFIX}"
        final = self.directory / name
        tmp = self.directory / f".{name}.tmp"
        written = 0
        unencodable = []
        # Row by row into the file's buffer, not a list of rows joined: with every row of a
        # batch alive at once, the writer thread's heap grew and shrank by the batch's size
        # on every flush and faulted its pages back in, about one page fault per event
        # (issue 12, docs/benchmarks.md). One row at a time reuses the same memory.
        try:
            with open(tmp, "wb") as handle:
                for event in events:
                    try:
                        line = json_line(event)
                    except orjson.JSONEncodeError as exc:
                        unencodable.append((event, str(exc)))
                        continue
                    written += len(line)
                    if written > room:
                        raise self._full()
                    handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        if not written:  # no line: an empty segment would only cost a replay
            tmp.unlink()
            return Appended(None, unencodable)
        os.replace(tmp, final)
        self._sizes[final] = written
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return Appended(final, unencodable)

    def _full(self) -> SpoolFull:
        return SpoolFull(f"spool {self.directory} would exceed {self.max_bytes} bytes")

    @staticmethod
    def read(segment: Path) -> list[Any]:
        return [orjson.loads(line) for line in segment.read_bytes().splitlines() if line]

    @staticmethod
    def read_lines(segment: Path) -> tuple[list[Any], list[tuple[bytes, str]]]:
        """A segment's events, and each line that is not JSON with the parser's error.

        A torn or corrupted line must not keep the lines around it from being replayed (before,
        one such line stopped every replay, and every flush behind it, for good).
        """
        events, unreadable = [], []
        for line in segment.read_bytes().splitlines():
            if not line:
                continue
            try:
                events.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                unreadable.append((line, str(exc)))
        return events, unreadable

    def remove(self, segment: Path) -> None:
        segment.unlink(missing_ok=True)
        self._sizes.pop(segment, None)

    def event_count(self) -> int:
        return sum(len(self.read_lines(p)[0]) for p in self.segments())
