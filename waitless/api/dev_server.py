"""What ``waitless dev`` polls, and starting its servers with a clear word when a port is taken."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import replace

from aiohttp import web

from waitless.domain.errors import ConfigError
from waitless.domain.region import FeedConfig, Region

logger = logging.getLogger(__name__)

SIMULATOR_FEED = "simulator"


class PortUnavailable(ConfigError):
    """A server could not listen; the message names the port and how to choose another.

    A ``ConfigError`` (a ``WaitlessError``) so ``waitless``'s ``main`` prints it on one line
    and exits with 2.
    """


def dev_feed(region: Region, feed_urls: Sequence[tuple[str, str]], *, simulator_port: int,
             poll_seconds: float) -> tuple[FeedConfig, bool]:
    """The feed ``waitless dev`` polls, and whether it needs the built-in simulator.

    ``WAITLESS_FEED_URLS`` applies as in ``waitless ingest``: ``simulator=URL`` points the
    ingestor at another native-format feed (a simulator elsewhere, a recorded feed), and then
    the built-in simulator is not started. Names of the region's own feeds are ignored with a
    warning (``dev`` polls only its simulator); any other name is an error, as in ``ingest``.

    Parameters
    ----------
    region
        The region being served.
    feed_urls
        ``(feed name, url)`` pairs from ``WAITLESS_FEED_URLS``.
    simulator_port
        Port of the built-in simulator.
    poll_seconds
        Polling interval in seconds.
    """
    own_url = f"http://127.0.0.1:{simulator_port}/v1/feed"
    feed = FeedConfig(name=SIMULATOR_FEED, format="native", url=own_url,
                      interval_seconds=poll_seconds, timeout_seconds=10)
    region_feeds = {f.name for f in region.feeds}
    unknown = sorted({name for name, _ in feed_urls} - region_feeds - {SIMULATOR_FEED})
    if unknown:
        msg = f"WAITLESS_FEED_URLS names unknown feed(s): {', '.join(unknown)}"
        raise ConfigError(msg)
    ignored = sorted({name for name, _ in feed_urls} & region_feeds - {SIMULATOR_FEED})
    if ignored:
        logger.warning("waitless dev polls only its simulator feed: WAITLESS_FEED_URLS for "
                       "%s ignored (use `waitless ingest` for the region's feeds)",
                       ", ".join(ignored))
    url = dict(feed_urls).get(SIMULATOR_FEED, own_url)
    return replace(feed, url=url), url == own_url


def example_rank_url(region: Region, base_url: str) -> str:
    """A ranking URL ``waitless dev`` prints to try first: from the region's first site.

    Any region's own site is inside its coverage and near its other sites, so the link answers
    for every region (a fixed point would be 422 "too far" outside the one it was chosen for).
    """
    site = region.sites[0]
    return f"{base_url}/v1/rank?lat={site.lat:.4f}&lon={site.lon:.4f}"


async def start_site(app: web.Application, host: str, port: int, *, what: str,
                     how_to_change: str) -> web.AppRunner:
    """Set up and start ``app`` on ``host:port``.

    Raises
    ------
    PortUnavailable
        When the port cannot be bound (taken, or not allowed), after cleaning up what the
        app had started; ``how_to_change`` tells the user which option picks another port.
    """
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        # asyncio wraps the bind error with the address in its text; the errno is enough.
        reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
        msg = f"cannot listen on {host}:{port} for the {what} ({reason}). {how_to_change}"
        raise PortUnavailable(msg) from None
    return runner
