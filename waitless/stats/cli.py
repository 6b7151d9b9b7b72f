"""``waitless stats import-nhse FILE...`` and ``waitless stats shift ...``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import asdict
from typing import Any

import asyncpg
import orjson

from waitless.domain.errors import RegionError
from waitless.domain.region import REGION_HELP, load_region
from waitless.stats.config import stats_config
from waitless.stats.england import comparison_statistics
from waitless.stats.errors import StatsError
from waitless.stats.nhse import import_files

DATABASE_URL_ENV = "WAITLESS_DATABASE_URL"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``stats`` command and its subcommands to a ``waitless`` argument parser."""
    stats = subparsers.add_parser("stats", help="commissioners' attendance statistics")
    commands = stats.add_subparsers(dest="stats_command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--region", default=None, help=REGION_HELP)
    common.add_argument("--database-url", default=None,
                        help=f"PostgreSQL URL (default: env {DATABASE_URL_ENV})")
    importer = commands.add_parser(
        "import-nhse", parents=[common],
        help="import NHS England monthly A&E provider CSVs (all files or none)")
    importer.add_argument("files", nargs="+", metavar="FILE")
    importer.set_defaults(func=_import_command)
    shift = commands.add_parser(
        "shift", parents=[common],
        help="share of 'other' attendances, baseline vs period, as JSON")
    shift.add_argument("--orgs", default=None,
                       help="comma-separated org codes (default: every [stats] provider)")
    shift.add_argument("--baseline", required=True, help="month range, e.g. 2025-04..2025-06")
    shift.add_argument("--period", required=True, help="month range, e.g. 2025-07..2025-09")
    shift.set_defaults(func=_shift_command)


def _database_url(args: argparse.Namespace) -> str | None:
    url = args.database_url
    if not url:
        print(f"error: no database; pass --database-url or set {DATABASE_URL_ENV}",
              file=sys.stderr)
    return url


async def _with_connection(url: str, work: Any) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await work(conn)
    finally:
        await conn.close()


def _run(args: argparse.Namespace, work: Any) -> Any:
    url = _database_url(args)
    if url is None:
        return None
    return asyncio.run(_with_connection(url, work))


def _import_command(args: argparse.Namespace) -> int:
    try:
        load_region(args.region)
        results = _run(args, lambda conn: import_files(conn, args.files))
    except (StatsError, RegionError, OSError, asyncpg.PostgresError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if results is None:
        return 2
    print(orjson.dumps([asdict(r) for r in results], option=orjson.OPT_INDENT_2).decode())
    return 0


def _shift_command(args: argparse.Namespace) -> int:
    try:
        config = stats_config(load_region(args.region))
        orgs = args.orgs.split(",") if args.orgs else None
        result = _run(args, lambda conn: comparison_statistics(
            conn, config, orgs, args.baseline, args.period))
    except (StatsError, RegionError, OSError, asyncpg.PostgresError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if result is None:
        return 2
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    return 0
