"""``waitless events prune`` and ``waitless events migrate`` through the command line."""

from __future__ import annotations

from tests.conftest import temporary_database
from waitless.cli import main


def test_events_commands_need_a_database(monkeypatch, capsys) -> None:
    monkeypatch.delenv("WAITLESS_DATABASE_URL", raising=False)
    for command in (["events", "prune"], ["events", "migrate"]):
        assert main(command) == 2
        assert "WAITLESS_DATABASE_URL" in capsys.readouterr().err


def test_prune_runs_against_a_migrated_database(monkeypatch, capsys) -> None:
    for dsn in temporary_database("eventscli"):
        monkeypatch.setenv("WAITLESS_DATABASE_URL", dsn)
        assert main(["events", "migrate"]) == 0
        assert main(["events", "prune", "--older-than-days", "30"]) == 0
        out = capsys.readouterr().out
        assert "event log schema at version" in out
        assert "deleted 0 ranking events and 0 patient choices older than 30 days" in out
