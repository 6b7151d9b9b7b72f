"""Events PostgreSQL refuses for their data, against the real server."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import orjson

from tests.events.rows import event
from waitless.domain.event_fields import EVENT_ID
from waitless.events.log import EventLog
from waitless.events.spool import Spool
from waitless.metrics import Metrics


async def stored(dsn: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch("SELECT event_id::text, condition FROM ranking_events")
    finally:
        await conn.close()


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def quarantined(metrics: Metrics, reason: str) -> float:
    return sample(metrics, "waitless_events_quarantined_total", reason=reason)


def event_log(dsn: str | None, spool_dir: Path, *, max_bytes: int = 10**6) -> EventLog:
    """A log flushed by hand (no writer task, so nothing runs on a timer)."""
    return EventLog(dsn, Spool(spool_dir, max_bytes=max_bytes), metrics=Metrics(),
                    batch_size=10_000)


async def test_a_lone_surrogate_is_spooled_as_the_replacement_character(clean_db, tmp_path):
    offline = event_log(None, tmp_path)  # no PostgreSQL: every event goes to the spool
    rows = [event(n, **({"condition": "sprain\ud800"} if n == 1 else {})) for n in range(3)]
    for row in rows:
        offline.record(row)
    await offline.flush()
    # Before: orjson refused the string, the flush failed and all 3 events were lost,
    # uncounted (waitless_events_dropped_total stayed 0).
    assert offline.spool.event_count() == 3
    (segment,) = offline.spool.segments()
    assert [orjson.loads(line)[6] for line in segment.read_bytes().splitlines()] == [
        "sprain_strain", "sprain\ufffd", "sprain_strain"]
    await offline.stop()

    online = EventLog(clean_db, Spool(tmp_path, max_bytes=10**6), metrics=Metrics())
    assert await online.replay_spool() == 3
    by_id = {r["event_id"]: r["condition"] for r in await stored(clean_db)}
    assert by_id[rows[1][EVENT_ID]] == "sprain\ufffd"
    await online.stop()
