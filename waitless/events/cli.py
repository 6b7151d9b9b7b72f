"""``waitless events prune`` and ``waitless events migrate``: event-log maintenance."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import asyncpg

from waitless.events.log import prune_events
from waitless.events.migrations import migrate
from waitless.events.quarantine import DIRECTORY, prune_quarantine

T = TypeVar("T")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``events`` command and its subcommands to a ``waitless`` argument parser."""
    events = subparsers.add_parser("events", help="event log maintenance",
                                   description="Event log maintenance.")
    commands = events.add_subparsers(dest="events_command", metavar="COMMAND", required=True)
    prune = commands.add_parser(
        "prune", help="delete ranking events, patient choices and quarantined events past the "
                      "retention period",
        description="Delete ranking events and patient choices older than the retention period "
                    "(WAITLESS_EVENT_RETENTION_DAYS, default 400 days), and the quarantine files "
                    "under WAITLESS_SPOOL_DIR kept before it. Run it daily.")
    # The event log is one for every region: a --region given here changes nothing. Still
    # accepted, so that a daily job written with one keeps pruning instead of failing.
    prune.add_argument("--region", default=None,
                       help="ignored: prune deletes every region's events and choices past "
                            "the retention period")
    prune.add_argument("--older-than-days", type=int, default=None,
                       help="override the retention period, in days")
    prune.set_defaults(func=cmd_prune_events)
    migrate_cmd = commands.add_parser(
        "migrate", help="apply pending event-log schema migrations and exit",
        description="Apply pending PostgreSQL migrations (a Kubernetes Job runs this before a "
                    "rollout; the API also applies them at start-up under an advisory lock).")
    migrate_cmd.set_defaults(func=cmd_migrate_events)


def _with_connection(dsn: str, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    async def main() -> T:
        conn = await asyncpg.connect(dsn)
        try:
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(main())


def cmd_prune_events(args: argparse.Namespace) -> int:
    """Delete ranking events, patient choices and quarantined events older than
    ``--older-than-days`` (default: the settings), days."""
    settings = args.settings
    if not settings.database_url:
        print("waitless events prune needs WAITLESS_DATABASE_URL", file=sys.stderr)
        return 2
    days = args.older_than_days or settings.event_retention_days
    cutoff = datetime.now(UTC) - timedelta(days=days)
    deleted = _with_connection(settings.database_url,
                               lambda conn: prune_events(conn, older_than=cutoff))
    print(f"deleted {deleted.events} ranking events and {deleted.choices} patient choices "
          f"older than {days} days ({cutoff:%Y-%m-%d %H:%M} UTC)")
    quarantine = Path(settings.spool_dir) / DIRECTORY
    pruned = prune_quarantine(quarantine, older_than=cutoff)
    print(f"deleted {pruned.records} quarantined events and unreadable lines "
          f"({pruned.files} files) older than {days} days from {quarantine}")
    return 0


def cmd_migrate_events(args: argparse.Namespace) -> int:
    """Apply pending migrations under their advisory lock and print the schema version."""
    settings = args.settings
    if not settings.database_url:
        print("waitless events migrate needs WAITLESS_DATABASE_URL", file=sys.stderr)
        return 2
    version = _with_connection(settings.database_url, migrate)
    print(f"event log schema at version {version}")
    return 0
