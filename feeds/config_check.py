"""The checks of a region's ``[[feeds]]`` entries that need the feeds package itself.

The region file is read in :mod:`waitless.domain.region`, which checks every feed's name,
format, url and timings but may not import the adapters (the domain is the bottom layer). The
rest, that the format names a registered adapter, that every other key of the feed is an option
something reads (shared, the poller's or the format's own; a misspelt ``list_pth`` would
otherwise be ignored without a word) and that the poller options (``retries``, ``jitter``, ...)
are numbers of the right kind, is checked here, by every command that uses the feeds
(``serve``, ``dev``, ``ingest``, ``feeds check``) right after it loads the region: a bad option
must stop a replica at start-up, not when it is elected ingest leader.
"""

from __future__ import annotations

import difflib

from feeds.adapters import ADAPTER_OPTIONS, SHARED_OPTIONS, get_adapter
from feeds.schedule import POLLER_OPTIONS, PollerSettings
from waitless.domain.errors import ConfigError, RegionError
from waitless.domain.region import Region


def check_feeds(region: Region) -> None:
    """Refuse a region whose feeds name an unknown format or carry bad poller options.

    Raises
    ------
    RegionError
        Starting with the region file's path and naming the feed and the option, e.g.
        ``/etc/waitless/north.toml: feed trust: feed option 'retries' must be ...``.
    """
    for feed in region.feeds:
        try:
            get_adapter(feed.format)
            _refuse_unknown_options(feed.format, feed.options)
            PollerSettings.from_options(feed.options)
        except ConfigError as exc:
            msg = f"{region.source_path}: feed {feed.name}: {exc}"
            raise RegionError(msg) from exc


def _refuse_unknown_options(format_name: str, options: dict[str, object]) -> None:
    known = SHARED_OPTIONS | set(POLLER_OPTIONS) | ADAPTER_OPTIONS[format_name]
    for key in sorted(set(options) - known):
        close = difflib.get_close_matches(key, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        msg = (f"unknown option {key!r} for format {format_name}{hint}; "
               f"known: {', '.join(sorted(known))}")
        raise ConfigError(msg)
