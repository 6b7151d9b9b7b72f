"""``waitless events prune`` and ``waitless events migrate`` through the command line."""

from __future__ import annotations

import time

from tests.conftest import temporary_database
from waitless.cli import main


def test_events_commands_need_a_database(monkeypatch, capsys) -> None:
    monkeypatch.delenv("WAITLESS_DATABASE_URL", raising=False)
    for command in (["events", "prune"], ["events", "migrate"]):
        assert main(command) == 2
        assert "WAITLESS_DATABASE_URL" in capsys.readouterr().err


def test_prune_runs_against_a_migrated_database(monkeypatch, capsys, tmp_path) -> None:
    quarantine = tmp_path / "quarantine"
    quarantine.mkdir()
    now_ns = time.time_ns()
    old = quarantine / f"{now_ns - 31 * 86_400 * 10**9:020d}-1-000000.jsonl"
    old.write_bytes(b'{"reason":"data"}\n{"reason":"unreadable"}\n')
    new = quarantine / f"{now_ns - 29 * 86_400 * 10**9:020d}-1-000001.jsonl"
    new.write_bytes(b'{"reason":"data"}\n')
    monkeypatch.setenv("WAITLESS_SPOOL_DIR", str(tmp_path))
    for dsn in temporary_database("eventscli"):
        monkeypatch.setenv("WAITLESS_DATABASE_URL", dsn)
        assert main(["events", "migrate"]) == 0
        assert main(["events", "prune", "--older-than-days", "30"]) == 0
        out = capsys.readouterr().out
        assert "event log schema at version" in out
        assert "deleted 0 ranking events and 0 patient choices older than 30 days" in out
        # Before: the quarantine was not reached, and prune did not say so.
        assert (f"deleted 2 quarantined events and unreadable lines (1 files) older than 30 "
                f"days from {quarantine}") in out
        assert list(quarantine.iterdir()) == [new]
