"""``waitless feeds check``: parse and validate a saved payload offline.

The lead's ``waitless/cli.py`` owns the ``feeds`` group (it also holds ``feeds simulate``)
and calls :func:`register_check` with that group's subparsers. :func:`register` builds the
group itself, for use on its own.

Exit codes: 0 every observation accepted, 3 parsed but some rejected (one line per rejected
value on stderr), 1 the region, feed, file or body could not be used (one line on stderr:
``error: ...`` for the region or feed, ``error (reason): ...`` for the rest; neither a
payload nor a region file ends in a traceback).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson

from feeds.adapters import get_adapter
from feeds.body import check_body, check_listing
from feeds.config_check import check_feeds
from feeds.errors import FeedParseError
from feeds.validate import validate_observations
from waitless.domain.errors import RegionError, WaitlessError
from waitless.domain.region import REGION_HELP, load_region


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``feeds`` group with its ``check`` command."""
    feeds_parser = subparsers.add_parser("feeds", help="waiting-time feed tools")
    register_check(feeds_parser.add_subparsers(dest="feeds_command", required=True))


def register_check(feeds_subparsers: argparse._SubParsersAction) -> None:
    """Add ``check`` to an existing ``feeds`` group's subparsers."""
    parser = feeds_subparsers.add_parser(
        "check", help="parse and validate a saved feed payload offline",
        description="Parse FILE with the feed's adapter and options from the region file, "
                    "validate it (no last-good history) and print the observations and "
                    "rejections as JSON.")
    parser.add_argument("--region", default=None, help=REGION_HELP)
    parser.add_argument("--feed", required=True, help="feed name from the region file")
    parser.add_argument("--now", type=_aware_time, default=None,
                        help="ISO-8601 time to validate against (default: now); also the "
                             "fetch time for sources without timestamps")
    parser.add_argument("file", type=Path, help="saved payload (JSON or HTML)")
    parser.set_defaults(func=check_command)


def _aware_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        msg = f"not an ISO-8601 time: {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if value.tzinfo is None:
        msg = f"{text!r} needs a UTC offset"
        raise argparse.ArgumentTypeError(msg)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        msg = f"{text!r} is outside the years 1-9999 in UTC"
        raise argparse.ArgumentTypeError(msg) from None


def check_command(args: argparse.Namespace) -> int:
    """Handler for ``feeds check``; prints JSON to stdout and returns the exit code."""
    try:
        region = load_region(args.region)
        check_feeds(region)
        settings = region.validation
    except RegionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    feed = next((f for f in region.feeds if f.name == args.feed), None)
    if feed is None:
        names = ", ".join(f.name for f in region.feeds) or "none"
        print(f"error: region {region.name} has no feed {args.feed!r} (feeds: {names})",
              file=sys.stderr)
        return 1
    now = args.now or datetime.now(UTC)
    try:
        body = args.file.read_bytes()
        check_body(body, feed=feed, settings=settings)
        observations = get_adapter(feed.format)(body, feed_name=feed.name, fetched_at=now,
                                                options=feed.options)
        # Offline there is no history: a payload should list the region's sites.
        check_listing(len(observations), len(region.sites), feed_name=feed.name)
        result = validate_observations(observations, region=region, now=now,
                                       settings=settings)
    except (OSError, WaitlessError) as exc:  # unreadable, unparseable, unknown format
        kind = getattr(exc, "reason", "error") if isinstance(exc, FeedParseError) else "error"
        print(f"error ({kind}): {_one_line(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # an adapter bug: still one line, and the exit code says so
        print(f"error (internal): {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return 1
    report = {
        "region": region.name,
        "feed": feed.name,
        "format": feed.format,
        "checked_at": now.isoformat(),
        "accepted": [obs.to_dict() for obs in result.accepted],
        "rejected": [rejection.to_dict() for rejection in result.rejected],
    }
    sys.stdout.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
    for rejection in result.rejected:
        where = f"{rejection.site_id}/{rejection.service or ''}"
        print(f"rejected {_one_line(where)} ({rejection.reason}): {_one_line(rejection.detail)}",
              file=sys.stderr)
    return 3 if result.rejected else 0


def _one_line(value: object) -> str:
    """Text for one stderr line: payload values may carry newlines."""
    return " ".join(str(value).split())
