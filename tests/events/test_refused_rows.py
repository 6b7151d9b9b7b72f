"""Events PostgreSQL refuses for their data, against the real server: the others are written,
the refused ones quarantined (bounded), and a spool holding them replays the rest, once."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import orjson
import pytest

from tests.events.rows import event
from waitless.domain.event_fields import EVENT_ID
from waitless.events.log import EventLog
from waitless.events.quarantine import Quarantine, Refusal
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


@pytest.mark.parametrize(("changes", "reason"), [
    ({"condition": "sprain\x00strain"}, "data"),  # CharacterNotInRepertoireError
    ({"condition": "sprain\ud800"}, "encoding"),  # a lone surrogate: no UTF-8 form
    ({"results_count": 2**40}, "encoding"),  # out of int4's range
], ids=["nul-byte", "lone-surrogate", "int-out-of-range"])
async def test_a_refused_row_is_quarantined_and_the_rest_of_its_batch_written(
        clean_db, tmp_path, changes, reason):
    log = event_log(clean_db, tmp_path)
    batch = [event(n, **(changes if n == 4 else {})) for n in range(10)]
    for row in batch:
        log.record(row)
    await log.flush()

    # Before: 0 of 10 written, all 10 spooled and PostgreSQL taken for down.
    rows = await stored(clean_db)
    assert sorted(r["event_id"] for r in rows) == sorted(
        row[EVENT_ID] for n, row in enumerate(batch) if n != 4)
    assert log.spool.segments() == []
    assert log.database_ok
    (record,) = log.quarantine.records()
    assert record["reason"] == reason
    assert record["row"][EVENT_ID] == batch[4][EVENT_ID]
    assert quarantined(log.metrics, reason) == 1
    assert sample(log.metrics, "waitless_events_written_total") == 9
    assert sample(log.metrics, "waitless_events_spooled_total") == 0

    # The next batch goes straight in; the refused row is not tried again.
    log.record(event(10))
    await log.flush()
    assert len(await stored(clean_db)) == 10
    assert len(log.quarantine.records()) == 1
    await log.stop()


async def test_a_poisoned_spool_replays_its_good_rows_and_quarantines_the_bad_one_once(
        clean_db, tmp_path):
    spool = Spool(tmp_path, max_bytes=10**6)
    rows = [event(n, **({"condition": "bad\x00"} if n == 5 else {})) for n in range(11)]
    spool.append(rows)
    log = EventLog(clean_db, spool, metrics=Metrics(), batch_size=10_000)

    # Before: every replay wrote 0 of 11 and kept the segment, and every new event was spooled
    # behind it (the refusal was taken for an outage).
    assert await log.replay_spool() == 10
    assert len(await stored(clean_db)) == 10
    assert spool.segments() == []
    (record,) = log.quarantine.records()
    assert record["reason"] == "data"
    assert record["row"][EVENT_ID] == rows[5][EVENT_ID]
    assert "CharacterNotInRepertoireError" in record["error"]

    assert await log.replay_spool() == 0  # nothing left to replay, nothing quarantined again
    log.record(event(20))
    await log.flush()
    assert len(await stored(clean_db)) == 11
    assert spool.segments() == []
    assert len(log.quarantine.records()) == 1
    assert quarantined(log.metrics, "data") == 1
    await log.stop()


async def test_unreadable_spool_lines_are_quarantined_and_the_rest_replayed(clean_db, tmp_path):
    spool = Spool(tmp_path, max_bytes=10**6)
    rows = [event(n) for n in range(5)]
    segment = spool.append(rows).segment
    good = segment.read_bytes().splitlines(keepends=True)
    torn = good[2][:40] + b"\n"  # a line cut short, as a crash mid-write on another filesystem
    segment.write_bytes(b"".join([*good[:2], torn, b"\xff\xfe not utf-8\n", b"17\n",
                                  b'["too", "short"]\n', *good[2:]]))
    log = EventLog(clean_db, spool, metrics=Metrics(), batch_size=10_000)
    for n in range(5, 12):  # queued meanwhile: before, never written while the line was there
        log.record(event(n))

    await log.flush()

    assert len(await stored(clean_db)) == 12
    assert spool.segments() == []
    records = log.quarantine.records()
    assert [r["reason"] for r in records] == ["unreadable"] * 4
    assert {r["line"] for r in records} == {
        torn.decode().rstrip("\n"), "\\xff\\xfe not utf-8", "17", '["too","short"]'}
    assert all(r["error"].startswith(segment.name) for r in records)
    assert quarantined(log.metrics, "unreadable") == 4
    await log.stop()


async def test_the_quarantine_holds_at_most_a_sixteenth_of_the_spool_limit(clean_db, tmp_path):
    log = event_log(clean_db, tmp_path, max_bytes=16 * 4000)
    assert log.quarantine.max_bytes == 4000 == log.spool.max_bytes // 16
    good = event(0)
    bad = [event(n, condition=f"bad\x00{n}") for n in range(1, 40)]
    for row in [good, *bad]:
        log.record(row)
    await log.flush()

    kept = len(log.quarantine.records())
    assert 0 < kept < 39
    assert log.quarantine.size_bytes() <= 4000
    # The first refused rows, in batch order, as many as fit.
    assert [r["row"][EVENT_ID] for r in log.quarantine.records()] == [
        row[EVENT_ID] for row in bad[:kept]]
    assert quarantined(log.metrics, "data") == kept
    assert sample(log.metrics, "waitless_events_dropped_total") == 39 - kept
    assert [r["event_id"] for r in await stored(clean_db)] == [good[EVENT_ID]]

    # Full: the next refused rows are dropped and counted, the quarantine does not grow.
    size = log.quarantine.size_bytes()
    for n in range(40, 50):
        log.record(event(n, condition="bad\x00"))
    await log.flush()
    assert log.quarantine.size_bytes() == size
    assert sample(log.metrics, "waitless_events_dropped_total") == 49 - kept
    # Another worker's view of the same directory sees the same total (it is read from disk).
    assert Quarantine.beside(Spool(tmp_path, max_bytes=16 * 4000)).size_bytes() == size
    await log.stop()


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
    assert online.quarantine.records() == []
    await online.stop()


class Crash(Exception):
    """The process dying between quarantining a segment's refusals and removing it."""


class CrashBeforeRemove(Spool):
    def remove(self, segment: Path) -> None:
        raise Crash(segment.name)


async def test_a_crash_before_the_segment_is_removed_quarantines_its_rows_once(
        clean_db, tmp_path):
    rows = [event(n, **({"condition": "bad\x00"} if n in (3, 6) else {})) for n in range(10)]
    segment = Spool(tmp_path, max_bytes=10**6).append(rows).segment
    crashing = EventLog(clean_db, CrashBeforeRemove(tmp_path, max_bytes=10**6),
                        metrics=Metrics())
    with pytest.raises(Crash):
        await crashing.replay_spool()
    assert len(crashing.quarantine.records()) == 2  # written, and the segment still there
    assert crashing.spool.segments() == [segment]

    restarted = EventLog(clean_db, Spool(tmp_path, max_bytes=10**6), metrics=Metrics())
    assert await restarted.replay_spool() == 8
    # Before: 4 records in 2 files, each refused row twice.
    records = restarted.quarantine.records()
    assert sorted(r["row"][EVENT_ID] for r in records) == sorted(
        rows[n][EVENT_ID] for n in (3, 6))
    assert [f.name for f in restarted.quarantine.files()] == [
        segment.name.replace(".jsonl", "-segment.jsonl")]
    assert len(await stored(clean_db)) == 8
    assert restarted.spool.segments() == []
    await crashing.database.close()
    await restarted.stop()


def test_rewriting_a_segments_file_counts_the_room_it_frees(tmp_path):
    refusals = [Refusal("data", "NUL", row=[str(n)]) for n in range(2)]
    quarantine = Quarantine(tmp_path, max_bytes=2 * 44)  # room for these 2 records only
    segment = tmp_path / "00000000000000000001-1-000000.jsonl"
    assert quarantine.append(refusals, segment=segment) == refusals
    # Full, but the file it replaces holds the same 88 bytes: both are kept again.
    assert quarantine.append(refusals, segment=segment) == refusals
    assert quarantine.size_bytes() == 88
    assert [r["row"] for r in quarantine.records()] == [["0"], ["1"]]
