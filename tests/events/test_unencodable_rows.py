"""A row orjson cannot write to the spool costs only itself: it is dropped and counted, and the
rest of its batch is spooled (and replayed into the real PostgreSQL server)."""

from __future__ import annotations

import asyncpg
import pytest

from tests.events.rows import event
from waitless.domain.event_fields import EVENT_ID
from waitless.events.log import EventLog
from waitless.events.spool import Spool
from waitless.metrics import Metrics


def sample(metrics: Metrics, name: str) -> float:
    return metrics.registry.get_sample_value(name, {}) or 0.0


@pytest.mark.parametrize("changes", [
    {"results_count": 2**64},  # "Integer exceeds 64-bit range"
    {"travel_source": {1: "road_graph"}},  # "Dict key must be str"
    {"origin_cell": {"0.02:2564:53"}},  # "Type is not JSON serializable: set"
], ids=["int-over-64-bits", "non-str-dict-key", "set"])
async def test_an_unencodable_row_is_dropped_and_counted_and_its_batch_spooled(
        clean_db, tmp_path, changes):
    offline = EventLog(None, Spool(tmp_path, max_bytes=10**6), metrics=Metrics(),
                       batch_size=10_000)
    batch = [event(n, **(changes if n == 4 else {})) for n in range(10)]
    for row in batch:
        offline.record(row)

    # Before: the flush raised TypeError; 0 of the 10 events spooled, 0 counted as dropped.
    await offline.flush()

    assert offline.spool.event_count() == 9
    (segment,) = offline.spool.segments()
    assert [line[EVENT_ID] for line in offline.spool.read(segment)] == [
        row[EVENT_ID] for n, row in enumerate(batch) if n != 4]
    assert sample(offline.metrics, "waitless_events_spooled_total") == 9
    assert sample(offline.metrics, "waitless_events_dropped_total") == 1
    await offline.stop()

    online = EventLog(clean_db, Spool(tmp_path, max_bytes=10**6), metrics=Metrics())
    assert await online.replay_spool() == 9
    conn = await asyncpg.connect(clean_db)
    try:
        assert await conn.fetchval("SELECT count(*) FROM ranking_events") == 9
    finally:
        await conn.close()
    assert online.quarantine.records() == []
    await online.stop()


async def test_a_batch_of_only_unencodable_rows_leaves_no_segment(tmp_path):
    log = EventLog(None, Spool(tmp_path, max_bytes=10**6), metrics=Metrics())
    log.record(event(0, results_count=2**64))
    log.record(event(1, results_count=-(2**63) - 1))

    await log.stop()  # before: stop() raised TypeError and the events went uncounted

    assert log.spool.segments() == []
    assert list(tmp_path.iterdir()) == []  # no temporary file left either
    assert sample(log.metrics, "waitless_events_spooled_total") == 0
    assert sample(log.metrics, "waitless_events_dropped_total") == 2


async def test_a_refused_row_the_quarantine_cannot_write_is_dropped_and_counted(
        clean_db, tmp_path):
    log = EventLog(clean_db, Spool(tmp_path, max_bytes=10**6), metrics=Metrics(),
                   batch_size=10_000)
    bad = {2: {"condition": "sprain\x00strain"}, 7: {"results_count": 2**64}}
    batch = [event(n, **bad.get(n, {})) for n in range(10)]
    for row in batch:
        log.record(row)

    # Before: PostgreSQL wrote the 8 others, then the quarantine raised TypeError on the
    # 2**64 row: the flush failed, 0 quarantined (the NUL row lost too), 0 counted as dropped.
    await log.flush()

    conn = await asyncpg.connect(clean_db)
    try:
        assert await conn.fetchval("SELECT count(*) FROM ranking_events") == 8
    finally:
        await conn.close()
    assert [r["row"][EVENT_ID] for r in log.quarantine.records()] == [batch[2][EVENT_ID]]
    assert log.metrics.registry.get_sample_value(
        "waitless_events_quarantined_total", {"reason": "data"}) == 1
    assert sample(log.metrics, "waitless_events_dropped_total") == 1
    assert log.spool.segments() == []
    await log.stop()
