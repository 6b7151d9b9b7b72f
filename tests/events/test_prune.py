"""Retention: ``prune_events`` against the real PostgreSQL server."""

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from tests.events.rows import event
from waitless.domain.event_fields import EVENT_ID
from waitless.events.log import EventLog, prune_events
from waitless.events.quarantine import PrunedQuarantine, Quarantine, Refusal, prune_quarantine
from waitless.events.spool import Spool

OLD = datetime(2024, 1, 1, 10, tzinfo=UTC)
OLD_NS = int(OLD.timestamp()) * 10**9


async def test_prune_deletes_events_and_choices_past_retention(clean_db, tmp_path):
    spool = Spool(tmp_path, max_bytes=10**6)
    old, new = event(1, occurred_at="2024-01-01T10:00:00+00:00"), event(2)
    log = EventLog(clean_db, spool)
    await log.start()
    log.record(old)
    log.record(new)
    await log.stop()
    cutoff = datetime(2025, 1, 1, tzinfo=UTC)
    # Choices go by their own time: the old ranking's choice made just after the cut-off
    # stays, as does the new ranking's; the old choice (with or without a ranking) goes.
    choices = [(datetime(2024, 1, 1, 10, 5, tzinfo=UTC), old[EVENT_ID]),
               (datetime(2024, 12, 31, 23, 59, tzinfo=UTC), None),
               (cutoff, old[EVENT_ID]),
               (datetime(2026, 11, 24, 10, 9, tzinfo=UTC), new[EVENT_ID])]
    conn = await asyncpg.connect(clean_db)
    try:
        for at, event_id in choices:
            await conn.execute(
                "INSERT INTO patient_choices (choice_id, occurred_at, region, site_id, kind,"
                " event_id) VALUES ($1, $2, 'kent-medway', 'RVVKC', 'utc', $3)",
                uuid.uuid4(), at, None if event_id is None else uuid.UUID(event_id))
        deleted = await prune_events(conn, older_than=cutoff)
        remaining = await conn.fetch("SELECT event_id::text FROM ranking_events")
        kept = await conn.fetch(
            "SELECT occurred_at, event_id::text FROM patient_choices ORDER BY occurred_at")
    finally:
        await conn.close()
    assert (deleted.events, deleted.choices) == (1, 2)
    assert [r["event_id"] for r in remaining] == [new[EVENT_ID]]
    assert [(r["occurred_at"], r["event_id"]) for r in kept] == [
        (cutoff, old[EVENT_ID]), (choices[3][0], new[EVENT_ID])]



def refusals(count: int) -> list[Refusal]:
    return [Refusal("data", "NUL", row=list(event(n))) for n in range(count)]


def test_prune_deletes_quarantine_files_kept_before_the_cutoff_by_their_recorded_time(tmp_path):
    quarantine = Quarantine(tmp_path, max_bytes=10**6)
    # Replayed from a segment spooled in 2024; written (and modified) now.
    quarantine.append(refusals(2), segment=Path(f"{OLD_NS:020d}-7-000000.jsonl"))
    # Quarantined now, though its modification time says 2024: its name's time counts.
    quarantine.append(refusals(1))
    _, new = quarantine.files()
    os.utime(new, ns=(OLD_NS, OLD_NS))
    # Renamed by hand: only the modification time is left.
    (tmp_path / "looked-at.jsonl").write_bytes(b"{}\n")
    os.utime(tmp_path / "looked-at.jsonl", ns=(OLD_NS, OLD_NS))
    (tmp_path / "looking-at.jsonl").write_bytes(b"{}\n")
    # Left by a crash mid-write in 2024.
    (tmp_path / f".{OLD_NS:020d}-7-000001-segment.jsonl.7.tmp").write_bytes(b"{}\n{}\n")

    pruned = prune_quarantine(tmp_path, older_than=datetime(2025, 1, 1, tzinfo=UTC))

    # Before: prune did not reach the quarantine; these 5 records in 3 files stayed for ever.
    assert pruned == PrunedQuarantine(files=3, records=5)
    assert sorted(p.name for p in tmp_path.iterdir()) == [new.name, "looking-at.jsonl"]
    assert len(quarantine.records()) == 2
    assert prune_quarantine(tmp_path / "absent", older_than=OLD) == PrunedQuarantine(0, 0)
