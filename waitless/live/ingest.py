"""The ingestor: one poller per feed, writing validated observations to the live store.

Nothing reaches the live store without :func:`feeds.validate.validate_observations`: a
rejected value is left out, so the last good value stays with its true age (and turns stale
honestly), and the rejection is reported in the feed's status.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import replace
from datetime import datetime

import aiohttp

from feeds.poller import FeedPoller
from feeds.validate import Rejection, validate_observations
from waitless.domain.errors import ConfigError
from waitless.domain.observation import Observation
from waitless.domain.region import FeedConfig, Region
from waitless.live.store import LiveStore
from waitless.metrics import Metrics

logger = logging.getLogger(__name__)


def normalise(region: Region, observations: Sequence[Observation]
              ) -> tuple[list[Observation], list[Rejection]]:
    """Give every observation its concrete service and keep only known site services.

    The live path runs :func:`validate_for_region` (full validation) first; this alone is
    for data that needs no value checks (fixtures, replays).
    """
    accepted: list[Observation] = []
    rejected: list[Rejection] = []
    seen: set[str] = set()
    for obs in observations:
        site = region.site(obs.site_id)
        if site is None:
            rejected.append(Rejection(obs.site_id, obs.service, "unknown_site",
                                      f"{obs.site_id!r} is not a site of {region.name}"))
            continue
        service = site.service(obs.service)
        if service is None:
            rejected.append(Rejection(obs.site_id, obs.service, "unknown_service",
                                      f"{site.name} has no {obs.service} service"))
            continue
        obs = replace(obs, service=service.kind)
        if obs.key() in seen:
            rejected.append(Rejection(obs.site_id, obs.service, "duplicate_site",
                                      "the same site service appears twice in one payload"))
            continue
        seen.add(obs.key())
        accepted.append(obs)
    return accepted, rejected


def with_feed_urls(feeds: Sequence[FeedConfig], urls: Sequence[tuple[str, str]]
                   ) -> list[FeedConfig]:
    """Feeds with deployment-specific URLs put in place of the region file's."""
    overrides = dict(urls)
    unknown = set(overrides) - {f.name for f in feeds}
    if unknown:
        msg = f"WAITLESS_FEED_URLS names unknown feed(s): {', '.join(sorted(unknown))}"
        raise ConfigError(msg)
    return [replace(f, url=overrides.get(f.name, f.url)) for f in feeds]


def validate_for_region(region: Region, observations: Sequence[Observation], now: datetime,
                        last_good: Mapping[str, Observation]
                        ) -> tuple[list[Observation], list[Rejection]]:
    """Run :func:`feeds.validate.validate_observations` and resolve services of the accepted.

    ``last_good`` maps ``site_id/service`` to the latest accepted observation.
    """
    result = validate_observations(observations, region=region, now=now,
                                   last_good=last_good.values(),
                                   settings=region.validation)
    # Validation has refused unknown sites, services and duplicates: nothing is dropped here.
    accepted, _ = normalise(region, result.accepted)
    return accepted, result.rejected


def build_pollers(region: Region, store: LiveStore, session: aiohttp.ClientSession, *,
                  metrics: Metrics | None = None,
                  feeds: Sequence[FeedConfig] | None = None,
                  clock: Callable[[], datetime] | None = None) -> list[FeedPoller]:
    """One poller per polled feed of the region (``feeds`` overrides the region's list).

    Feeds without a ``url`` are pushed to ``POST /v1/feeds/{feed}/observations`` instead.
    """
    validation = region.validation

    async def sink(observations: list[Observation]) -> None:
        if observations:
            await store.write(region.name, observations)

    def status_sink_for(feed_name: str):
        async def status_sink(status: dict) -> None:
            await store.put_feed_status(region.name, feed_name, status)
        return status_sink

    def last_good_for(feed_name: str):
        async def load() -> dict[str, Observation]:
            current = await store.current(region.name)
            return {k: o for k, o in current.items() if o.feed == feed_name}
        return load

    return [
        FeedPoller(feed, session, sink,
                   validate=lambda obs, now, last_good: validate_for_region(
                       region, obs, now, last_good),
                   validation=validation, status_sink=status_sink_for(feed.name),
                   metrics=metrics, clock=clock, load_last_good=last_good_for(feed.name))
        for feed in (region.feeds if feeds is None else feeds)
        if feed.url
    ]


async def run_pollers(pollers: Sequence[FeedPoller]) -> None:
    """Run pollers side by side; one failing feed never stops the others."""
    tasks = [asyncio.create_task(p.run(), name=f"poll:{p.feed.name}") for p in pollers]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError):
                await task
