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
from typing import Any, NamedTuple

import asyncpg
import orjson

from waitless.domain.event_fields import EVENT_FIELDS, OCCURRED_AT, EventRow, event_row
from waitless.events.db import Database, DatabaseUnavailable
from waitless.events.quarantine import (
    CONSTRAINT,
    DATA,
    ENCODING,
    REASONS,
    UNREADABLE,
    Quarantine,
    Refusal,
)
from waitless.events.spool import Spool, SpoolFull
from waitless.metrics import Metrics

logger = logging.getLogger(__name__)
# The spool keeps its size without touching the filesystem; it recounts the directory (which
# other workers write to as well) this often.
SPOOL_RESCAN_SECONDS = 60.0
# While events go to the spool, the writer wakes early only when this many batches are queued.
SPOOL_BATCHES = 20

# The table's column for each field of a row (waitless.domain.event_fields), in its order.
_SQL_TYPES = {
    "event_id": "uuid", "occurred_at": "timestamptz", "region": "text", "origin_cell": "text",
    "origin_lat_coarse": "float8", "origin_lon_coarse": "float8", "condition": "text",
    "age_band": "text", "mode": "text", "emergency": "bool", "recommended_site": "text",
    "recommended_kind": "text", "nearest_site": "text", "nearest_kind": "text",
    "nearest_ed": "text", "estimated_minutes": "float8", "nearest_ed_minutes": "float8",
    "results_count": "int4", "travel_source": "text", "nearest_ed_total_minutes": "float8",
}
EVENT_COLUMNS: tuple[tuple[str, str], ...] = tuple(
    (name, _SQL_TYPES[name]) for name in EVENT_FIELDS)

# Errors that refuse rows, not the server: PostgreSQL's data exceptions (SQLSTATE class 22:
# CharacterNotInRepertoireError for a NUL byte, UntranslatableCharacterError, numeric out of
# range...; asyncpg raises the same class for a value it cannot encode for an insert), its
# check and not-null constraints (class 23; a duplicate id never gets here: see
# copy_new_events), and what the driver's COPY encoder and our own conversion raise for a
# value of the wrong kind (UnicodeEncodeError for a lone surrogate is a ValueError,
# OverflowError for an int out of range an ArithmeticError, TypeError for a str as a float).
# Retried, they fail again; anything else (a lost connection, a timeout, a missing table) is
# an outage and the batch is spooled.
_ROW_ERRORS = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError, ValueError,
               TypeError, ArithmeticError)
# Errors that mean PostgreSQL did not take the batch, whatever its rows hold.
_OUTAGE_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)

_INSERT_SQL = (
    f"INSERT INTO ranking_events ({', '.join(c for c, _ in EVENT_COLUMNS)}) "
    f"SELECT * FROM unnest({', '.join(f'${i}::{t}[]' for i, (_, t) in enumerate(EVENT_COLUMNS, 1))}) "  # noqa: E501
    "ON CONFLICT (event_id) DO NOTHING"
)


def _records(rows: Sequence[EventRow]) -> list[EventRow]:
    """``rows`` with ``occurred_at`` a datetime (a spooled row holds it as ISO 8601 text)."""
    return [row if not isinstance(at := row[OCCURRED_AT], str) else
            (*row[:OCCURRED_AT], datetime.fromisoformat(at), *row[OCCURRED_AT + 1:])
            for row in rows]


def _column_values(rows: Sequence[EventRow]) -> list[list[Any]]:
    return [list(column) for column in zip(*_records(rows), strict=True)]


async def insert_events(conn: asyncpg.Connection, rows: Sequence[EventRow]) -> int:
    """Insert event rows (skipping ids already present); return how many rows were new."""
    if not rows:
        return 0
    status = await conn.execute(_INSERT_SQL, *_column_values(rows))
    return int(status.rsplit(" ", 1)[-1])


async def copy_new_events(conn: asyncpg.Connection, rows: Sequence[EventRow]) -> int:
    """Write event rows whose ids are not in the table yet; return how many rows were new.

    ``COPY`` costs PostgreSQL about 40 % less CPU per event than the keyed insert, and this
    process about half (docs/benchmarks.md). It refuses the whole batch if an id is already
    there; the keyed insert then writes the others, so nothing is lost or counted twice.
    """
    try:
        await conn.copy_records_to_table("ranking_events", records=_records(rows),
                                         columns=EVENT_FIELDS)
    except asyncpg.UniqueViolationError:
        return await insert_events(conn, rows)
    return len(rows)


def spooled_row(item: Any) -> EventRow:
    """A row read back from the spool: a JSON array in field order, or from a segment written
    before rows were tuples, an object by field name.

    Raises
    ------
    ValueError
        ``item`` is neither an object nor an array of one value per field.
    """
    if isinstance(item, dict):
        return event_row(item)
    if isinstance(item, list) and len(item) == len(EVENT_FIELDS):
        return tuple(item)
    msg = f"not an event row: a {type(item).__name__}, not an array of {len(EVENT_FIELDS)} values"
    raise ValueError(msg)


def refusal_reason(exc: BaseException) -> str:
    """The quarantine reason for one of ``_ROW_ERRORS``."""
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return CONSTRAINT
    if isinstance(exc, asyncpg.PostgresError) and exc.__cause__ is None:
        return DATA
    # COPY's encoder, or asyncpg's own DataError "invalid input for query argument", which it
    # raises from the encoder's error (PostgreSQL never saw the value).
    return ENCODING


async def write_or_refuse(conn: asyncpg.Connection, rows: Sequence[EventRow], *,
                          new: bool) -> tuple[int, list[Refusal]]:
    """Write ``rows`` (``new``: by ``COPY``, see :func:`copy_new_events`; else keyed); return
    how many were new and the rows refused for their data, each with its reason.

    A refused batch is halved and each half written again, down to single rows: with one bad
    row in a batch of ``n``, about ``2 log2 n`` statements (18 for 500 rows), each all or
    nothing, so every good row is written once. An outage error is raised (then no refusal is
    reported: the caller spools the whole batch, and its replay finds them again).
    """
    if not rows:
        return 0, []
    try:
        return await (copy_new_events if new else insert_events)(conn, rows), []
    except _ROW_ERRORS as exc:
        if len(rows) == 1:
            return 0, [Refusal(refusal_reason(exc), f"{type(exc).__name__}: {exc}", rows[0])]
    half = len(rows) // 2
    first, first_refused = await write_or_refuse(conn, rows[:half], new=new)
    second, second_refused = await write_or_refuse(conn, rows[half:], new=new)
    return first + second, first_refused + second_refused


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
    """

    def __init__(self, database: Database | str | None, spool: Spool, *,
                 metrics: Metrics | None = None, batch_size: int = 500,
                 flush_seconds: float = 1.0, stop_write_seconds: float = 5.0,
                 quarantine: Quarantine | None = None) -> None:
        self._owns_database = not isinstance(database, Database)
        self.database = database if isinstance(database, Database) else Database(database)
        self.spool = spool
        self.quarantine = quarantine or Quarantine.beside(spool)
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
        except _OUTAGE_ERRORS as exc:
            self._fail(f"PostgreSQL write failed: {exc}")
            self.database.forget_pool()
            return None
        if self.last_error is not None:
            logger.info("event log: PostgreSQL is back")
        self.last_error = None
        self.metrics.events_written.inc(len(events) - len(refused))
        return refused

    async def _quarantine(self, refusals: Sequence[Refusal]) -> None:
        """Keep ``refusals`` in the quarantine (those past its limit are dropped, counted)."""
        if not refusals:
            return
        try:
            kept = await asyncio.to_thread(self.quarantine.append, refusals)
        except OSError as exc:
            logger.error("event log: quarantine %s: %s", self.quarantine.directory, exc)
            kept = 0
        for refusal in refusals[:kept]:
            self.metrics.events_quarantined.labels(refusal.reason).inc()
        logger.error("event log: %d events refused (%s), %d kept in %s; first: %s",
                     len(refusals), ", ".join(sorted({r.reason for r in refusals})), kept,
                     self.quarantine.directory, refusals[0].error)
        if kept < len(refusals):
            logger.error("event log: quarantine %s is full (%d bytes); %d refused events "
                         "dropped", self.quarantine.directory, self.quarantine.max_bytes,
                         len(refusals) - kept)
            self.metrics.events_dropped.inc(len(refusals) - kept)

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
            await asyncio.to_thread(self.spool.append, batch)
            self.metrics.events_spooled.inc(len(batch))
        except (SpoolFull, OSError) as exc:
            logger.error("event log: %s; %d events dropped", exc, len(batch))
            self.metrics.events_dropped.inc(len(batch))

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
            # replay (PostgreSQL gone) would otherwise quarantine its refusals twice.
            await self._quarantine([*unreadable, *refused])
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
