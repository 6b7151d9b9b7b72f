"""The ingestor: one poller per feed of the region, each feeding the live store through its
:class:`feeds.ingest.FeedIngest` (the pipeline the push endpoint uses too).

Nothing reaches the live store without :func:`feeds.validate.validate_observations`: a
rejected value is left out, so the last good value stays with its true age (and turns stale
honestly), and the rejection is reported in the feed's status.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

import aiohttp

from feeds.ingest import FeedIngest
from feeds.poller import FeedPoller
from waitless.domain.errors import ConfigError
from waitless.domain.region import FeedConfig, Region
from waitless.live.leader import cancel_and_wait
from waitless.live.store import LiveStore
from waitless.metrics import IngestMetrics

logger = logging.getLogger(__name__)


def with_feed_urls(feeds: Sequence[FeedConfig], urls: Sequence[tuple[str, str]]
                   ) -> list[FeedConfig]:
    """Feeds with deployment-specific URLs put in place of the region file's."""
    overrides = dict(urls)
    unknown = set(overrides) - {f.name for f in feeds}
    if unknown:
        msg = f"WAITLESS_FEED_URLS names unknown feed(s): {', '.join(sorted(unknown))}"
        raise ConfigError(msg)
    return [replace(f, url=overrides.get(f.name, f.url)) for f in feeds]


def build_pollers(region: Region, store: LiveStore, session: aiohttp.ClientSession, *,
                  metrics: IngestMetrics | None = None,
                  feeds: Sequence[FeedConfig] | None = None,
                  clock: Callable[[], datetime] | None = None) -> list[FeedPoller]:
    """One poller per polled feed of the region (``feeds`` overrides the region's list).

    Feeds without a ``url`` are pushed to ``POST /v1/feeds/{feed}/observations`` instead.
    """
    return [
        FeedPoller(FeedIngest(feed, region, store, metrics=metrics, clock=clock), session,
                   metrics=metrics)
        for feed in (region.feeds if feeds is None else feeds)
        if feed.url
    ]


async def run_pollers(pollers: Sequence[FeedPoller]) -> None:
    """Run pollers side by side; one failing feed never stops the others."""
    tasks = [asyncio.create_task(p.run(), name=f"poll:{p.feed.name}") for p in pollers]
    try:
        await asyncio.gather(*tasks)
    finally:
        # A cancellation a library swallows must not leave a poller running, nor hang shutdown.
        for task in tasks:
            await cancel_and_wait(task)
