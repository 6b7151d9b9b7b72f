"""One odd file in the quarantine does not stop its prune deleting the others.

The quarantine holds event rows, deleted once past retention (docs/privacy.md). A name
starting with a digit ``int()`` refuses (``²``) raised ``ValueError``, and a directory named
like a quarantine file ``IsADirectoryError``, out of the whole prune: every hourly prune then
failed the same way, and no file past retention was deleted again.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from waitless.events.quarantine import PrunedQuarantine, Quarantine, prune_quarantine
from waitless.events.quarantine_retention import prune_expired
from waitless.metrics import Metrics

CUTOFF = datetime(2025, 1, 1, tzinfo=UTC)
OLD_S = datetime(2024, 1, 1, tzinfo=UTC).timestamp()


def test_an_odd_file_is_left_and_the_rest_pruned(tmp_path: Path):
    expired = tmp_path / f"{int(OLD_S) * 10**9}-1.jsonl"
    expired.write_text('{"reason": "data"}\n{"reason": "data"}\n')
    odd_name = tmp_path / "\u00b2-renamed.jsonl"  # kept by its mtime, which is old
    odd_name.write_text('{"reason": "data"}\n')
    os.utime(odd_name, (OLD_S, OLD_S))
    directory = tmp_path / "made-by-hand.jsonl"
    directory.mkdir()
    os.utime(directory, (OLD_S, OLD_S))
    # Before: ValueError (invalid literal for int(): '²') or IsADirectoryError, and
    # whichever of the two files came after it in the listing was kept.
    assert prune_quarantine(tmp_path, older_than=CUTOFF) == PrunedQuarantine(2, 3, left=1)
    assert [p.name for p in tmp_path.iterdir()] == [directory.name]


async def test_a_file_left_is_counted_for_the_alert(tmp_path: Path):
    (tmp_path / "made-by-hand.jsonl").mkdir()
    os.utime(tmp_path / "made-by-hand.jsonl", (OLD_S, OLD_S))
    metrics = Metrics()
    pruned = await prune_expired(Quarantine(tmp_path, max_bytes=10**6),
                                 now=datetime(2026, 1, 1, tzinfo=UTC), retention_days=30,
                                 metrics=metrics)
    assert pruned == PrunedQuarantine(0, 0, left=1)
    # A file past retention left on disk is heard of (WaitLessQuarantinePruneFailing).
    assert metrics.registry.get_sample_value(
        "waitless_events_quarantine_prune_failures_total") == 1
