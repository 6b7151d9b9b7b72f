"""Stopping the event log while a batch is being written: nothing lost, and no hang.

Another connection holds a lock on ``ranking_events``, so the writer's ``COPY`` waits inside
PostgreSQL exactly as it would on a slow or stuck server when the service is told to stop.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg

from tests.conftest import eventually
from tests.events.rows import event
from waitless.domain.event_fields import EVENT_ID
from waitless.events.log import EventLog
from waitless.events.spool import Spool


async def _stored_ids(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return [r["event_id"] for r in await conn.fetch(
            "SELECT event_id::text FROM ranking_events ORDER BY event_id")]
    finally:
        await conn.close()


def _spooled_ids(spool: Spool) -> list[str]:
    return sorted(row[EVENT_ID] for segment in spool.segments() for row in spool.read(segment))


async def _write_waits_on_lock(locker: asyncpg.Connection) -> bool:
    return await locker.fetchval(
        "SELECT count(*) > 0 FROM pg_locks "
        "WHERE relation = 'ranking_events'::regclass AND NOT granted")


async def _lock_events_table(dsn: str) -> tuple[asyncpg.Connection, asyncpg.Transaction]:
    locker = await asyncpg.connect(dsn)
    tx = locker.transaction()
    await tx.start()
    # SHARE mode lets readers through and makes every COPY or INSERT wait for the rollback.
    await locker.execute("LOCK TABLE ranking_events IN SHARE MODE")
    return locker, tx


async def test_stop_gives_up_on_a_stuck_write_and_spools_every_event(clean_db, tmp_path):
    spool = Spool(tmp_path, max_bytes=10**7)
    log = EventLog(clean_db, spool, batch_size=1000, flush_seconds=0.05,
                   stop_write_seconds=0.5)
    await log.start()  # opens the pool and creates the table
    locker, tx = await _lock_events_table(clean_db)
    try:
        in_flight = [event(n) for n in range(40)]
        for row in in_flight:
            log.record(row)
        await eventually(lambda: _write_waits_on_lock(locker),
                         what="the writer's COPY waiting on the lock")
        queued = [event(n) for n in range(40, 50)]  # behind the batch being written
        for row in queued:
            log.record(row)
        started = time.monotonic()
        await asyncio.wait_for(log.stop(), 10)
        stop_seconds = time.monotonic() - started
    finally:
        await tx.rollback()
        await locker.close()

    every_id = sorted(row[EVENT_ID] for row in [*in_flight, *queued])
    # Bounded: stop_write_seconds, then the spool's fsync (not PostgreSQL's 30-s timeout).
    assert stop_seconds < 3.0
    assert await _stored_ids(clean_db) == []  # the lock let no row in
    assert _spooled_ids(spool) == every_id
    assert log.metrics.events_spooled._value.get() == 50
    assert log.metrics.events_dropped._value.get() == 0

    # The next start replays them, each once.
    after = EventLog(clean_db, spool)
    await after.start()
    assert await after.replay_spool() == 50
    await after.stop()
    assert await _stored_ids(clean_db) == every_id
    assert spool.segments() == []


async def test_a_write_in_progress_at_stop_is_finished_not_dropped(clean_db, tmp_path):
    # The server is only slow: the batch being written and the events queued behind it all
    # reach PostgreSQL, and nothing is left in the spool.
    spool = Spool(tmp_path, max_bytes=10**7)
    log = EventLog(clean_db, spool, batch_size=1000, flush_seconds=0.05,
                   stop_write_seconds=30)
    await log.start()
    locker, tx = await _lock_events_table(clean_db)
    try:
        in_flight = [event(n) for n in range(40)]
        for row in in_flight:
            log.record(row)
        await eventually(lambda: _write_waits_on_lock(locker),
                         what="the writer's COPY waiting on the lock")
        queued = [event(n) for n in range(40, 50)]
        for row in queued:
            log.record(row)
        stopping = asyncio.create_task(log.stop())
        await asyncio.sleep(0)  # a yield, not a wait: stop() begins before the lock goes
    finally:
        await tx.rollback()  # PostgreSQL answers again
        await locker.close()
    await asyncio.wait_for(stopping, 10)

    assert await _stored_ids(clean_db) == sorted(row[EVENT_ID] for row in [*in_flight, *queued])
    assert spool.segments() == []
    assert log.metrics.events_written._value.get() == 50
