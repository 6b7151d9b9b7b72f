"""The event log prunes its own quarantine past retention: at start, then once a period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import eventually
from tests.events.rows import event
from waitless.api import keys
from waitless.api.app import create_app
from waitless.events import quarantine_retention
from waitless.events.log import EventLog
from waitless.events.quarantine import Quarantine, Refusal
from waitless.events.quarantine_retention import QuarantineRetention
from waitless.events.spool import Spool
from waitless.live.store import MemoryLiveStore
from waitless.metrics import Metrics
from waitless.settings import Settings

RETENTION_DAYS = 400
PERIOD_SECONDS = 3600.0
OLD = datetime(2025, 1, 1, tzinfo=UTC)  # when the old file's events were spooled
NEW = OLD + timedelta(days=30)


class Clock:
    """A clock the test moves; counts its reads (the writer reads it once a round)."""

    def __init__(self, now: datetime) -> None:
        self.now, self.reads = now, 0

    def __call__(self) -> datetime:
        self.reads += 1
        return self.now


def keep(quarantine: Quarantine, at: datetime, count: int) -> Path:
    """Quarantine ``count`` refused rows as replayed from a segment spooled ``at``."""
    at_ns = (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) * 1000
    quarantine.append([Refusal("data", "NUL", row=list(event(n))) for n in range(count)],
                      segment=Path(f"{at_ns:020d}-7-000000.jsonl"))
    return quarantine.files()[-1]


def pruned_total(metrics: Metrics) -> float:
    value = metrics.registry.get_sample_value("waitless_events_quarantine_pruned_total")
    return 0.0 if value is None else value


@pytest.fixture
def prune_runs(monkeypatch) -> list[datetime]:
    """The cut-off of every prune of the quarantine directory, in order."""
    runs: list[datetime] = []
    real = quarantine_retention.prune_quarantine

    def counted(directory: Path, *, older_than: datetime):
        runs.append(older_than)
        return real(directory, older_than=older_than)

    monkeypatch.setattr(quarantine_retention, "prune_quarantine", counted)
    return runs


async def rounds(clock: Clock, count: int) -> None:
    """Wait for the writer to go round ``count`` more times (each reads the clock once)."""
    target = clock.reads + count
    await eventually(lambda: clock.reads >= target, what=f"{count} writer rounds")


async def test_the_writer_prunes_its_quarantine_past_retention_once_a_period(
        tmp_path, prune_runs):
    spool = Spool(tmp_path, max_bytes=10**6)
    quarantine = Quarantine.beside(spool)
    old, new = keep(quarantine, OLD, 3), keep(quarantine, NEW, 2)
    cutoff_passed = OLD + timedelta(days=RETENTION_DAYS)  # the old file is due from here
    clock = Clock(cutoff_passed - timedelta(minutes=30))
    log = EventLog(None, spool, metrics=Metrics(), flush_seconds=0.01,
                   retention=QuarantineRetention(RETENTION_DAYS,
                                                 prune_period_seconds=PERIOD_SECONDS,
                                                 clock=clock))
    await log.start()
    try:
        # At start: pruned once, and the old file is 30 minutes short of the cut-off.
        assert len(prune_runs) == 1
        assert quarantine.files() == [old, new]
        await rounds(clock, 20)
        assert len(prune_runs) == 1  # many rounds of the writer, no new period

        clock.now = cutoff_passed  # past the cut-off, but 30 minutes into the period
        await rounds(clock, 20)
        assert len(prune_runs) == 1
        assert quarantine.files() == [old, new]
        assert pruned_total(log.metrics) == 0

        clock.now += timedelta(minutes=30)  # a period since the last prune
        await eventually(lambda: len(prune_runs) == 2, what="the second prune")
        # Before: nothing in the service pruned its quarantine (only `waitless events prune`,
        # where it shared the spool directory); the old file stayed for ever.
        assert quarantine.files() == [new]
        assert pruned_total(log.metrics) == 3
        assert len(quarantine.records()) == 2

        clock.now += timedelta(seconds=PERIOD_SECONDS * 10)  # ten periods at once: one prune
        await eventually(lambda: len(prune_runs) == 3, what="the third prune")
        await rounds(clock, 20)
        assert len(prune_runs) == 3
        assert prune_runs[-1] == clock.now - timedelta(days=RETENTION_DAYS)
    finally:
        await log.stop()
    assert quarantine.files() == [new]
    assert pruned_total(log.metrics) == 3


def test_a_clock_set_back_does_not_hold_pruning_off():
    clock = Clock(NEW)
    retention = QuarantineRetention(RETENTION_DAYS, prune_period_seconds=PERIOD_SECONDS,
                                    clock=clock)
    assert retention.due(NEW)
    retention.pruned_at = NEW
    assert not retention.due(NEW + timedelta(seconds=PERIOD_SECONDS - 1))
    assert retention.due(NEW + timedelta(seconds=PERIOD_SECONDS))
    assert retention.due(NEW - timedelta(days=3))


async def test_a_failed_prune_is_logged_and_the_writer_carries_on(
        tmp_path, monkeypatch, caplog):
    def broken(directory: Path, *, older_than: datetime):
        raise PermissionError(directory)

    monkeypatch.setattr(quarantine_retention, "prune_quarantine", broken)
    log = EventLog(None, Spool(tmp_path, max_bytes=10**6), flush_seconds=0.01)
    await log.start()
    log.record(event(1))
    await eventually(lambda: log.spool.event_count() == 1, what="the event spooled")
    await log.stop()
    assert "pruning quarantine" in caplog.text
    assert log.spool.event_count() == 1
    # Counted for the alert (WaitLessQuarantinePruneFailing), not only logged.
    assert log.metrics.registry.get_sample_value(
        "waitless_events_quarantine_prune_failures_total") == 1


async def test_the_app_prunes_its_quarantine_at_start_by_its_clock_and_retention_setting(
        aiohttp_client, kent, fixed_now, tmp_path):
    spool_dir = tmp_path / "spool"
    quarantine = Quarantine.beside(Spool(spool_dir, max_bytes=10**6))
    # By the app's clock and a 30-day retention: one past it, one 2 days short of it (which
    # the wall clock, days after fixed_now, would take for past it too).
    old = keep(quarantine, fixed_now - timedelta(days=31), 2)
    new = keep(quarantine, fixed_now - timedelta(days=28), 1)
    app = create_app(Settings(spool_dir=str(spool_dir), event_retention_days=30), region=kent,
                     live_store=MemoryLiveStore(), clock=lambda: fixed_now)
    await aiohttp_client(app)
    # Before: the app's event log kept both (400 days by the wall clock).
    assert old not in quarantine.files()
    assert quarantine.files() == [new]
    assert pruned_total(app[keys.METRICS]) == 2
