"""The event log against the real PostgreSQL server, including an outage and replay."""

import asyncio
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import eventually
from tests.events.rows import event
from tests.tcpproxy import TcpProxy
from waitless.api import keys
from waitless.domain.event_fields import EVENT_FIELDS, EVENT_ID, event_fields
from waitless.events.db import Database
from waitless.events.log import EventLog
from waitless.events.spool import Spool, SpoolFull


async def _rows_equal(dsn: str, expected: int) -> bool:
    return await count_rows(dsn) == expected


async def count_rows(dsn: str, region: str = "kent-medway") -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT count(*) FROM ranking_events WHERE region = $1",
                                   region)
    finally:
        await conn.close()




async def test_events_are_batched_into_postgresql_with_coarse_origin(clean_db, tmp_path):
    log = EventLog(clean_db, Spool(tmp_path, max_bytes=10**6), batch_size=50,
                   flush_seconds=0.05)
    await log.start()
    events = [event(n) for n in range(120)]
    for e in events:
        log.record(e)
    # Written by the background flusher, in batches, before the log is stopped.
    await eventually(lambda: _rows_equal(clean_db, 120), what="120 rows in PostgreSQL")
    await log.stop()
    conn = await asyncpg.connect(clean_db)
    try:
        rows = await conn.fetch("SELECT * FROM ranking_events ORDER BY estimated_minutes")
        columns = {r["column_name"] for r in await conn.fetch(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'ranking_events'")}
    finally:
        await conn.close()
    assert len(rows) == 120
    assert ([r["estimated_minutes"] for r in rows]
            == [event_fields(e)["estimated_minutes"] for e in events])
    assert {(r["origin_lat_coarse"], r["origin_lon_coarse"]) for r in rows} == {(51.29, 1.07)}
    assert not {"lat", "lon", "origin_lat", "origin_lon", "ip"} & columns
    assert log.spool.segments() == []


async def test_outage_spools_events_and_replays_every_one_once(clean_db, tmp_path):
    host_port = clean_db.split("@", 1)[1].split("/", 1)[0]
    host, port = host_port.split(":")
    proxy = TcpProxy(host, int(port))
    await proxy.start()
    dsn_via_proxy = clean_db.replace(host_port, f"127.0.0.1:{proxy.port}")
    log = EventLog(dsn_via_proxy, Spool(tmp_path, max_bytes=10**7), batch_size=25,
                   flush_seconds=0.05)
    await log.start()
    for n in range(30):
        log.record(event(n))
    await eventually(lambda: _rows_equal(clean_db, 30), what="30 rows in PostgreSQL")

    await proxy.stop()  # PostgreSQL unreachable
    for n in range(30, 230):
        log.record(event(n))
        if n % 20 == 0:
            await asyncio.sleep(0.02)
    await eventually(lambda: log.spool.event_count() > 0 and not log.database_ok,
                     what="events spooled while PostgreSQL is unreachable")
    assert await count_rows(clean_db) < 230
    assert not log.database_ok

    await proxy.start()  # back on the same port
    for _ in range(100):
        await asyncio.sleep(0.1)
        if await count_rows(clean_db) == 230 and not log.spool.segments():
            break
    await log.stop()
    await proxy.stop()
    assert await count_rows(clean_db) == 230
    assert log.spool.segments() == []
    assert log.metrics.events_spooled._value.get() > 0


async def test_replaying_a_segment_twice_does_not_duplicate(clean_db, tmp_path):
    spool = Spool(tmp_path, max_bytes=10**6)
    batch = [event(n) for n in range(10)]
    spool.append(batch)
    first = EventLog(clean_db, spool)
    await first.start()
    await first.stop()
    spool.append(batch)  # as if a crash happened after commit but before the delete
    second = EventLog(clean_db, spool)
    await second.start()
    await second.replay_spool()
    await second.stop()
    assert await count_rows(clean_db) == 10


async def test_a_queued_event_already_in_postgresql_is_not_written_twice(clean_db, tmp_path):
    # Queued batches are copied in; an id already present makes the copy refuse the whole
    # batch, and the keyed insert must then write the others and skip that one.
    log = EventLog(clean_db, Spool(tmp_path, max_bytes=10**6), batch_size=1000)
    await log.start()
    first = [event(n) for n in range(3)]
    for e in first:
        log.record(e)
    await log.flush()
    second = [event(n) for n in range(3, 8)]
    for e in [*second[:2], first[1], *second[2:]]:
        log.record(e)
    await log.flush()
    await log.stop()
    conn = await asyncpg.connect(clean_db)
    try:
        ids = [r["event_id"] for r in await conn.fetch(
            "SELECT event_id::text FROM ranking_events ORDER BY estimated_minutes")]
    finally:
        await conn.close()
    assert ids == [e[EVENT_ID] for e in [*first, *second]]
    assert log.spool.segments() == []
    assert log.metrics.events_written._value.get() == 9  # 3 + the 6 the second batch held


async def test_while_spooling_the_writer_wakes_for_twenty_batches_not_one(clean_db, tmp_path):
    # A busy worker without PostgreSQL wrote a segment file (two fsyncs) per 500 events: ten a
    # second. While spooling, the queue wakes the writer at 20 batches (its timer still runs).
    spooling = EventLog(None, Spool(tmp_path / "none", max_bytes=10**7), batch_size=10)
    for n in range(199):
        spooling.record(event(n))
    assert not spooling._wakeup.is_set()
    spooling.record(event(199))
    assert spooling._wakeup.is_set()

    # PostgreSQL lost: the batch is spooled and the writer waits for 20 batches; back: one.
    lost = "postgresql://postgres@127.0.0.1:9/waitless"  # the discard port: nothing listens
    log = EventLog(lost, Spool(tmp_path / "lost", max_bytes=10**7), batch_size=10)
    assert log.flush_at == 10
    for n in range(10):
        log.record(event(n))
    await log.flush()
    assert (log.flush_at, log.spool.event_count()) == (200, 10)
    log.database = Database(clean_db)  # the server answers again
    log.record(event(10))
    await log.flush()
    assert (log.flush_at, log.spool.event_count(), await count_rows(clean_db)) == (10, 0, 11)
    await log.stop()


async def test_spooled_rows_and_objects_from_an_older_spool_are_both_replayed(clean_db, tmp_path):
    # Rows are spooled as JSON arrays in field order; a segment written before that holds one
    # object per event, by field name. Both must reach PostgreSQL with every field in place.
    spool = Spool(tmp_path, max_bytes=10**6)
    as_object, as_row = event(1, nearest_ed_total_minutes=71.0), event(2)
    spool.append([event_fields(as_object)])  # the earlier format
    spool.append([as_row])
    assert spool.segments()[1].read_bytes().startswith(b'["')
    log = EventLog(clean_db, spool)
    await log.start()
    await log.stop()
    conn = await asyncpg.connect(clean_db)
    try:
        rows = await conn.fetch(f"SELECT {', '.join(EVENT_FIELDS)} FROM ranking_events "
                                "ORDER BY estimated_minutes")
    finally:
        await conn.close()
    stored = [{**dict(r), "event_id": str(r["event_id"]),
               "occurred_at": r["occurred_at"].isoformat()} for r in rows]
    assert stored == [event_fields(as_object), event_fields(as_row)]
    assert spool.segments() == []


async def test_without_a_database_events_are_kept_in_the_spool(tmp_path):
    log = EventLog(None, Spool(tmp_path, max_bytes=10**6), flush_seconds=0.05)
    await log.start()
    for n in range(7):
        log.record(event(n))
    await log.stop()
    assert log.spool.event_count() == 7


def test_full_spool_refuses_new_segments(tmp_path: Path):
    spool = Spool(tmp_path, max_bytes=2000)
    spool.append([event(0)])
    with pytest.raises(SpoolFull):
        spool.append([event(n) for n in range(20)])
    assert spool.event_count() == 1
    # The refused batch left no partial segment or temporary file, and is not counted.
    assert [p.name for p in tmp_path.iterdir()] == [p.name for p in spool.segments()]
    assert spool.size_bytes() == spool.segments()[0].stat().st_size


async def test_migrations_are_idempotent(clean_db):
    from waitless.events.migrations import migrate
    conn = await asyncpg.connect(clean_db)
    try:
        assert await migrate(conn) == await migrate(conn)
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") >= 1
    finally:
        await conn.close()


async def test_burst_of_rankings_during_an_outage_loses_no_event(clean_db, tmp_path, aiohttp_client,
                                                                  kent):
    from waitless.api.app import create_app
    from waitless.live.store import MemoryLiveStore
    from waitless.settings import Settings

    host_port = clean_db.split("@", 1)[1].split("/", 1)[0]
    host, port = host_port.split(":")
    proxy = TcpProxy(host, int(port))
    await proxy.start()
    settings = Settings(database_url=clean_db.replace(host_port, f"127.0.0.1:{proxy.port}"),
                        spool_dir=str(tmp_path / "spool"), event_flush_seconds=0.05,
                        event_batch_size=20, rate_limit=None)  # one client, a burst
    app = create_app(settings, region=kent, live_store=MemoryLiveStore())
    client = await aiohttp_client(app)
    log = app[keys.EVENT_LOG]
    params = {"lat": "51.2802", "lon": "1.0789", "condition": "possible_fracture"}

    async def burst(n: int) -> None:
        for _ in range(n):
            assert (await client.get("/v1/rank", params=params)).status == 200

    await burst(40)
    await proxy.stop()
    await burst(300)  # PostgreSQL unreachable for the whole burst
    await eventually(lambda: log.spool.event_count() > 0, what="events in the spool")
    ready = await (await client.get("/readyz")).json()
    assert "database" in ready["degraded"] and ready["database"]["spooled_bytes"] > 0
    await proxy.start()
    for _ in range(100):
        await asyncio.sleep(0.1)
        if not log.spool.segments() and await _count(clean_db, "possible_fracture") == 340:
            break
    await client.close()
    await proxy.stop()
    assert await _count(clean_db, "possible_fracture") == 340


async def _count(dsn: str, condition: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM ranking_events WHERE condition = $1", condition)
    finally:
        await conn.close()
