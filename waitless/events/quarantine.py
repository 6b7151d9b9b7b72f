"""Events PostgreSQL refused for their data, and spool lines that could not be read.

Such an event is not an outage: retried, it is refused again, and in the spool it held back
every event behind it. The event log writes the others and puts each refused one here, one
JSON object a line (``reason``, ``error``, and the ``row`` in field order or the unreadable
``line``), for an operator to look at (docs/operations.md, "Events are quarantined"). The
quarantine lives under the spool directory and is bounded to a share of the spool's limit;
past it, refused events are dropped and counted as such. Its files hold event rows: the event
log deletes those kept before the retention cut-off (:func:`prune_quarantine`, hourly:
:mod:`~waitless.events.quarantine_retention`), and so does ``waitless events prune``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from waitless.events.spool import Spool, file_sizes_bytes, json_line

logger = logging.getLogger(__name__)

# The quarantine may hold this share of the spool's size limit: refused events are few (a
# flood of them is a bug to fix, not data to keep), and the spool needs the disk more.
SPOOL_SHARE = 16
DIRECTORY = "quarantine"
_SUFFIX = ".jsonl"
# A file of the refusals replayed from one spool segment: the segment's name, then this.
SEGMENT_SUFFIX = f"-segment{_SUFFIX}"

# Why an event is quarantined (the ``reason`` label of waitless_events_quarantined_total).
DATA = "data"  # PostgreSQL refused a value (SQLSTATE class 22: a NUL byte, a bad encoding)
CONSTRAINT = "constraint"  # a check or not-null constraint refused the row (class 23)
ENCODING = "encoding"  # the driver could not encode a value for PostgreSQL (a lone surrogate)
UNREADABLE = "unreadable"  # a spool line that is not JSON, or not an event row
REASONS = (DATA, CONSTRAINT, ENCODING, UNREADABLE)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Refusal(NamedTuple):
    """One event kept out of the event log: the row, or the spool line that held it."""

    reason: str
    error: str
    row: Sequence[Any] | None = None
    line: str | None = None

    def record(self) -> dict[str, Any]:
        """What the quarantine file holds for it (the row or the line, not both)."""
        record: dict[str, Any] = {"reason": self.reason, "error": self.error}
        if self.row is not None:
            record["row"] = self.row
        if self.line is not None:
            record["line"] = self.line
        return record


class Quarantine:
    """Files of :class:`Refusal` records under ``directory``, at most ``max_bytes`` in all.

    Every worker sharing the spool shares it too. Its size is read from the directory at each
    write (a write is rare: only when PostgreSQL refuses events), so the limit holds across
    workers.
    """

    def __init__(self, directory: str | Path, *, max_bytes: int) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self._seq = count()

    @classmethod
    def beside(cls, spool: Spool) -> Quarantine:
        """The quarantine of ``spool``: ``<spool directory>/quarantine``, limited to
        1/:data:`SPOOL_SHARE` of the spool's limit (in bytes)."""
        return cls(spool.directory / DIRECTORY, max_bytes=spool.max_bytes // SPOOL_SHARE)

    def files(self) -> list[Path]:
        """Quarantine files, oldest first."""
        return sorted(self.directory.glob(f"*{_SUFFIX}"))

    def size_bytes(self) -> int:
        """Bytes in the quarantine files now (a directory scan)."""
        return sum(file_sizes_bytes(self.files()).values())

    def records(self) -> list[dict[str, Any]]:
        """Every record in the quarantine, oldest file first."""
        return [orjson.loads(line) for path in self.files()
                for line in path.read_bytes().splitlines() if line]

    def append(self, refusals: Sequence[Refusal], *,
               segment: Path | None = None) -> list[Refusal]:
        """Write the refusals that fit under the limit as one file, in order; return those
        written (the caller counts the rest as dropped).

        A refusal whose row orjson cannot write (an int past 64 bits: PostgreSQL refuses it
        too) is left out; before, it raised and lost every refusal of the call, uncounted.
        Written to a temporary name, fsynced and renamed, as the spool's segments are: a crash
        leaves a whole file or none.

        Parameters
        ----------
        refusals
            The events kept out of the event log.
        segment
            The spool segment they were replayed from. The file is then named after it, so
            that the replay of a segment quarantined but not removed (a crash in between)
            replaces that file rather than adding the same refusals again; its time is the
            segment's (when the events were spooled). Without it, a new file named for now.
        """
        name = (f"{segment.stem}{SEGMENT_SUFFIX}" if segment else
                f"{time.time_ns():020d}-{os.getpid()}-{next(self._seq):06d}{_SUFFIX}")
        final = self.directory / name
        sizes = file_sizes_bytes(self.files())
        # A file rewritten for the same segment frees its own bytes: it is replaced.
        room_bytes = self.max_bytes - sum(sizes.values()) + sizes.get(final, 0)
        lines, kept = [], []
        for refusal in refusals:
            try:
                line = json_line(refusal.record())
            except orjson.JSONEncodeError:
                continue
            if len(line) > room_bytes:
                break  # in order: what follows a record that does not fit is dropped too
            room_bytes -= len(line)
            lines.append(line)
            kept.append(refusal)
        if not lines:
            return []
        self.directory.mkdir(parents=True, exist_ok=True)
        # Workers sharing the spool may replay one segment at once: each its own temporary.
        tmp = self.directory / f".{name}.{os.getpid()}.tmp"
        try:
            with open(tmp, "wb") as handle:
                handle.writelines(lines)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, final)
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return kept


class PrunedQuarantine(NamedTuple):
    """What :func:`prune_quarantine` deleted."""

    files: int
    records: int  # refused events and unreadable lines in those files
    left: int = 0  # files past the cut-off that could not be read or deleted (logged)


def recorded_at_ns(path: Path) -> int:
    """When a quarantine file's records were kept, in nanoseconds since the epoch.

    The time its name starts with (the quarantine's own files, and their temporaries, are
    named for when they were written; a replayed segment's, for when its events were
    spooled), else the file's modification time (a file an operator renamed).
    """
    head = path.name.lstrip(".").split("-", 1)[0]
    # isdigit alone takes "²", which int() refuses.
    return int(head) if head.isascii() and head.isdigit() else path.stat().st_mtime_ns


def prune_quarantine(directory: Path, *, older_than: datetime) -> PrunedQuarantine:
    """Delete the quarantine files under ``directory`` kept before ``older_than``.

    They hold event rows, under the event log's retention (docs/privacy.md). Temporaries a
    crash left behind (``.*.tmp``, never read again) are deleted by the same rule. A file that
    cannot be read or deleted (a directory, another owner's file) is logged, left and counted
    (``left``): one such file ended every prune, and no other file past retention was ever
    deleted again.
    """
    cutoff_ns = (older_than - _EPOCH) // timedelta(microseconds=1) * 1000  # exact, no float
    files = records = left = 0
    for path in [*directory.glob(f"*{_SUFFIX}"), *directory.glob(".*.tmp")]:
        try:
            if recorded_at_ns(path) >= cutoff_ns:
                continue
            lines = sum(1 for line in path.read_bytes().splitlines() if line)
            path.unlink()
        except FileNotFoundError:  # deleted by an operator, or another prune, meanwhile
            continue
        except OSError as exc:
            logger.warning("quarantine file %r in %s not pruned: %s", path.name, directory,
                           exc.strerror)
            left += 1
            continue
        files += 1
        records += lines
    return PrunedQuarantine(files, records, left)
