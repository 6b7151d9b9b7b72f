"""The event log: one row per ranking answered, written to PostgreSQL in batches.

The request path only appends to an in-memory queue. A writer task flushes batches; when
PostgreSQL cannot take a batch it goes to the durable :class:`~waitless.events.spool.Spool`
and is replayed once PostgreSQL answers again. A batch straight from the queue is copied in
(``COPY``: its ids are new); a replayed batch is inserted keyed on ``event_id``, so it is never
counted twice, even when it had reached PostgreSQL before the spool took it.

An event PostgreSQL refuses for its data (a NUL byte in a text field, say) is not an outage:
the batch is halved until the refused events are found, the others are written, and the
refused ones go to the :class:`~waitless.events.quarantine.Quarantine`. Replaying the spool
does the same, and quarantines the lines it cannot read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import asyncpg
import orjson

from waitless.domain.event_fields import EventRow
from waitless.events.db import Database, DatabaseUnavailable
from waitless.events.quarantine import REASONS, UNREADABLE, Quarantine, Refusal
from waitless.events.quarantine_retention import QuarantineRetention
from waitless.events.spool import Spool, SpoolFull
from waitless.events.writes import (
    OUTAGE_ERRORS,
    spooled_row,
    write_or_refuse,
)
from waitless.metrics import Metrics

logger = logging.getLogger(__name__)
# The spool keeps its size without touching the filesystem; it recounts the directory (which
# other workers write to as well) this often.
SPOOL_RESCAN_SECONDS = 60.0
# While events go to the spool, the writer wakes early only when this many batches are queued.
SPOOL_BATCHES = 20

class Pruned(NamedTuple):
    """Rows :func:`prune_events` deleted, per table."""

    events: int
    choices: int


async def prune_events(conn: asyncpg.Connection, *, older_than: datetime) -> Pruned:
    """Delete ranking events and patient choices that occurred before ``older_than``.

    Both tables hold one row per patient's question or answer and fall under the same
    retention (docs/privacy.md); a choice goes by its own time, so a choice newer than the
    cut-off outlives the ranking it names (its ``event_id`` then links to nothing).
    """
    async with conn.transaction():
        events = await conn.execute("DELETE FROM ranking_events WHERE occurred_at < $1",
                                    older_than)
        choices = await conn.execute("DELETE FROM patient_choices WHERE occurred_at < $1",
                                     older_than)
    return Pruned(_row_count(events), _row_count(choices))


def _row_count(status: str) -> int:
    """Rows a command touched, from its status (``"DELETE 3"``)."""
    return int(status.rsplit(" ", 1)[-1])


class EventLog:
    """Batched, spooled writer of ranking events.

    Parameters
    ----------
    database
        The service's :class:`~waitless.events.db.Database` (shared with the statistics),
        a PostgreSQL URL (the log opens and closes its own), or ``None`` to keep every event
        in the spool.
    spool
        Where events go while PostgreSQL is unavailable.
    batch_size
        Flush when this many events are queued (while PostgreSQL takes them; while they go
        to the spool, when ``SPOOL_BATCHES`` times this many are).
    flush_seconds
        Flush at least this often, in seconds.
    stop_write_seconds
        At :meth:`stop`, how long PostgreSQL gets to take what is queued and being written, in
        seconds; what it has not taken by then goes to the spool.
    quarantine
        Where events PostgreSQL refuses for their data go; by default the spool's
        (:meth:`Quarantine.beside <waitless.events.quarantine.Quarantine.beside>`).
    retention
        When the quarantine's files past retention are deleted: at :meth:`start`, then by the
        writer at most once a period (by default 400 days, hourly, by the wall clock).
    """

    def __init__(self, database: Database | str | None, spool: Spool, *,
                 metrics: Metrics | None = None, batch_size: int = 500,
                 flush_seconds: float = 1.0, stop_write_seconds: float = 5.0,
                 quarantine: Quarantine | None = None,
                 retention: QuarantineRetention | None = None) -> None:
        self._owns_database = not isinstance(database, Database)
        self.database = database if isinstance(database, Database) else Database(database)
        self.spool = spool
        self.quarantine = quarantine or Quarantine.beside(spool)
        self.retention = retention or QuarantineRetention()
        self.metrics = metrics or Metrics()
        for reason in REASONS:  # every reason's series from 0, for increase() in the alert
            self.metrics.events_quarantined.labels(reason)
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.stop_write_seconds = stop_write_seconds
        # Queued events that wake the writer before its timer: a batch for PostgreSQL; more
        # while spooling, so that a busy worker without PostgreSQL writes one segment file
        # (and two fsyncs) per flush interval rather than one per batch, and retries a lost
        # server as seldom.
        self.flush_at = self._flush_threshold(writing=self.dsn is not None)
        self.last_error: str | None = None
        self._queue: list[EventRow] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._flush_lock = asyncio.Lock()
        self._stopping = False
        self._rescanned = time.monotonic()
        # Read when scraped: setting it on every record cost the ranking path a lock (issue 12).
        self.metrics.event_queue.set_function(lambda: len(self._queue))

    @property
    def dsn(self) -> str | None:
        return self.database.dsn

    @property
    def database_ok(self) -> bool:
        return self.database.is_open and self.last_error is None

    def _flush_threshold(self, *, writing: bool) -> int:
        """Queued events that wake the writer: a batch while PostgreSQL takes them, else
        ``SPOOL_BATCHES`` of them."""
        return self.batch_size * (1 if writing else SPOOL_BATCHES)

    def record(self, event: EventRow) -> None:
        """Queue one event row; never blocks and never touches the network."""
        self._queue.append(event)
        if len(self._queue) >= self.flush_at:
            self._wakeup.set()

    async def start(self) -> None:
        await self._ensure_pool()
        await self.retention.prune_if_due(self.quarantine, self.metrics)
        self._task = asyncio.create_task(self._run(), name="event-writer")

    async def stop(self) -> None:
        """Stop the writer; write what is queued or being written to PostgreSQL, else spool it.

        The writer finishes the write it is in and one more flush. PostgreSQL gets
        ``stop_write_seconds`` for them: a stuck or lost server must not hold up a shutdown
        (a PostgreSQL command may wait 30 s). After that the write is interrupted, its batch
        put back in the queue and the queue spooled; the spool replays it, keyed on
        ``event_id``, so a batch PostgreSQL had committed after all is not counted twice.
        """
        self._stopping = True
        self._wakeup.set()
        writer, self._task = self._task, None
        if writer is None:  # never started: one flush of its own
            writer = asyncio.create_task(self.flush(), name="event-writer-stop")
        try:
            await asyncio.wait_for(writer, self.stop_write_seconds)
        except TimeoutError:
            logger.warning("event log: PostgreSQL took no events for %.1f s at stop; "
                           "spooling %d events", self.stop_write_seconds, len(self._queue))
        except Exception:
            logger.exception("event log: the last flush failed; spooling what is left")
        if self._queue:
            batch, self._queue = self._queue, []
            await self._spool(batch)
            self.metrics.spool_bytes.set(self.spool.size_bytes())
        if self._owns_database:
            await self.database.close()

    async def _ensure_pool(self) -> asyncpg.Pool | None:
        if self.dsn is None:
            return None
        try:
            pool = await self.database.pool()
        except DatabaseUnavailable as exc:
            self._fail(str(exc))
            return None
        if self.last_error is not None:
            logger.info("event log connected to PostgreSQL")
        return pool

    def _fail(self, message: str) -> None:
        if self.last_error is None:
            logger.warning("event log: %s; spooling events", message)
        self.last_error = message

    async def _write(self, events: Sequence[EventRow], *, new: bool) -> list[Refusal] | None:
        """Write ``events`` to PostgreSQL (``new``: straight from the queue, never written
        before; else replayed from the spool); return the events it refused for their data
        (the others are written), or ``None`` when PostgreSQL could not take them."""
        pool = await self._ensure_pool()
        if pool is None:
            return None
        try:
            async with pool.acquire(timeout=5) as conn:
                _, refused = await write_or_refuse(conn, events, new=new)
        except OUTAGE_ERRORS as exc:
            self._fail(f"PostgreSQL write failed: {exc}")
            self.database.forget_pool()
            return None
        if self.last_error is not None:
            logger.info("event log: PostgreSQL is back")
        self.last_error = None
        self.metrics.events_written.inc(len(events) - len(refused))
        return refused

    async def _quarantine(self, refusals: Sequence[Refusal], *,
                          segment: Path | None = None) -> None:
        """Keep ``refusals`` (replayed from ``segment``) in the quarantine (those past its
        limit, or not JSON, are dropped, counted)."""
        if not refusals:
            return
        try:
            kept = await asyncio.to_thread(self.quarantine.append, refusals, segment=segment)
        except OSError as exc:
            logger.error("event log: quarantine %s: %s", self.quarantine.directory, exc)
            kept = []
        for refusal in kept:
            self.metrics.events_quarantined.labels(refusal.reason).inc()
        logger.error("event log: %d events refused (%s), %d kept in %s; first: %s",
                     len(refusals), ", ".join(sorted({r.reason for r in refusals})), len(kept),
                     self.quarantine.directory, refusals[0].error)
        if len(kept) < len(refusals):
            logger.error("event log: quarantine %s is full (%d bytes) or cannot write a row as "
                         "JSON; %d refused events dropped", self.quarantine.directory,
                         self.quarantine.max_bytes, len(refusals) - len(kept))
            self.metrics.events_dropped.inc(len(refusals) - len(kept))

    async def flush(self) -> None:
        """Write queued events now: to PostgreSQL if it answers, else to the spool.

        Flushes run one at a time: a caller's flush returns only after a flush the writer task
        had already started (holding events taken from the queue) has finished too.
        """
        async with self._flush_lock:
            await self._flush()

    async def _flush(self) -> None:
        await self.replay_spool()
        if not self._queue:
            return
        batch, self._queue = self._queue, []
        try:
            refused = await self._write(batch, new=True)
        except asyncio.CancelledError:
            # Interrupted (stop ran out of time): first in the queue again, to be spooled.
            # PostgreSQL may have committed it meanwhile; its ids keep the replay from
            # counting it twice.
            self._queue[:0] = batch
            raise
        self.flush_at = self._flush_threshold(writing=refused is not None)
        if refused is None:
            await self._spool(batch)
        else:
            await self._quarantine(refused)
        if time.monotonic() - self._rescanned >= SPOOL_RESCAN_SECONDS:
            # Workers share the spool directory: now and then recount what the others wrote.
            await asyncio.to_thread(self.spool.rescan)
            self._rescanned = time.monotonic()
        self.metrics.spool_bytes.set(self.spool.size_bytes())

    async def _spool(self, batch: list[EventRow]) -> None:
        """Append ``batch`` to the spool (dropped, and counted, when the spool is full)."""
        try:
            # fsync can take long on a busy disk: never on the event loop. Interrupted, the
            # thread still finishes the segment, so the batch is not put back in the queue.
            lost = (await asyncio.to_thread(self.spool.append, batch)).unencodable
        except (SpoolFull, OSError) as exc:
            logger.error("event log: %s; %d events dropped", exc, len(batch))
            self.metrics.events_dropped.inc(len(batch))
            return
        self.metrics.events_spooled.inc(len(batch) - len(lost))
        if lost:
            logger.error("event log: %d events dropped, not JSON; first: %s", len(lost), lost[0][1])
            self.metrics.events_dropped.inc(len(lost))

    async def replay_spool(self) -> int:
        """Move spooled segments into PostgreSQL, oldest first; return events replayed.

        A segment's events PostgreSQL refuses for their data, and its lines that are not
        event rows, go to the quarantine; the segment is removed once the rest is written.
        """
        replayed = 0
        if self.dsn is None:
            return 0  # nowhere to replay to: leave the spool alone (and unread)
        for segment in await asyncio.to_thread(self.spool.segments):
            events, unreadable = await self._read_segment(segment)
            refused = await self._write(events, new=False) if events else []
            if refused is None:
                break
            # Quarantined only now, with the segment about to go: a segment left for the next
            # replay (PostgreSQL gone) would otherwise quarantine its refusals twice. After a
            # crash before the removal, the file named for the segment is replaced.
            await self._quarantine([*unreadable, *refused], segment=segment)
            await asyncio.to_thread(self.spool.remove, segment)
            replayed += len(events) - len(refused)
        if replayed:
            logger.info("event log: replayed %d spooled events", replayed)
            self.metrics.spool_bytes.set(self.spool.size_bytes())
        return replayed

    async def _read_segment(self, segment: Path) -> tuple[list[EventRow], list[Refusal]]:
        """A spool segment's event rows, and a refusal for each line that is not one."""
        items, lines = await asyncio.to_thread(self.spool.read_lines, segment)
        unreadable = [Refusal(UNREADABLE, f"{segment.name}: {error}",
                              line=line.decode("utf-8", "backslashreplace"))
                      for line, error in lines]
        events = []
        for item in items:
            try:
                events.append(spooled_row(item))
            except ValueError as exc:
                unreadable.append(Refusal(UNREADABLE, f"{segment.name}: {exc}",
                                          line=orjson.dumps(item).decode()))
        return events, unreadable

    async def _run(self) -> None:
        while True:
            # Read before the flush: a flush begun after stop() was called is the last one.
            stopping = self._stopping
            if not stopping:
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self.flush_seconds)
            self._wakeup.clear()
            try:
                await self.flush()
            except Exception:  # the writer must outlive any single bad batch
                logger.exception("event log: flush failed")
            if stopping:
                return
            await self.retention.prune_if_due(self.quarantine, self.metrics)
