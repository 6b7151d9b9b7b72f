"""The checks of a region's ``[[feeds]]`` entries that need the feeds package itself.

The region file is read in :mod:`waitless.domain.region`, which checks every feed's name,
format, url and timings but may not import the adapters (the domain is the bottom layer). The
rest, that the format names a registered adapter and that the poller options (``retries``,
``jitter``, ...) are numbers of the right kind, is checked here, by every command that uses
the feeds (``serve``, ``dev``, ``ingest``, ``feeds check``) right after it loads the region:
a bad option must stop a replica at start-up, not when it is elected ingest leader.

Adapter option keys stay open: the adapters do not declare the keys they read.
"""

from __future__ import annotations

from feeds.adapters import get_adapter
from feeds.schedule import PollerSettings
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
            PollerSettings.from_options(feed.options)
        except ConfigError as exc:
            msg = f"{region.source_path}: feed {feed.name}: {exc}"
            raise RegionError(msg) from exc
