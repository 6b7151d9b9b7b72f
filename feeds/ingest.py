"""The one path from a feed payload's bytes to the live store, for polled and pushed feeds alike.

``body -> check_body -> adapter -> validate_observations -> store.write``, with the feed's
health, its last good figure per site service and its metrics kept on the way. The poller
(:mod:`feeds.poller`) calls :meth:`FeedIngest.accept` with what it fetched; the push endpoint
with what a site posted. Nothing reaches the store by any other route.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from feeds.adapters import get_adapter
from feeds.body import check_body, check_listing
from feeds.health import FeedHealth
from feeds.metrics import FeedMetrics
from feeds.schedule import POLLER_OPTIONS
from feeds.validate import Rejection, validate_observations
from waitless.domain.observation import Observation
from waitless.domain.region import FeedConfig, Region

Clock = Callable[[], datetime]


class ObservationStore(Protocol):
    """What the pipeline needs of a live store (:mod:`waitless.live.store` provides it)."""

    async def write(self, region: str, observations: list[Observation]) -> None: ...

    async def current(self, region: str) -> dict[str, Observation]: ...

    async def put_feed_status(self, region: str, feed: str, status: dict[str, Any]) -> None: ...


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What one payload brought: observations stored (concrete services) and values refused."""

    accepted: list[Observation]
    rejected: list[Rejection]


def with_service_kinds(region: Region, observations: Iterable[Observation]
                       ) -> list[Observation]:
    """Observations of known site services with the service named (``None`` means the site's
    main service); unknown sites or services are left out (validation reports them)."""
    named = []
    for obs in observations:
        site = region.site(obs.site_id)
        service = site.service(obs.service) if site is not None else None
        if service is not None:
            named.append(replace(obs, service=service.kind))
    return named


class FeedIngest:
    """One feed's pipeline into the live store.

    Parameters
    ----------
    feed
        The feed's configuration (format, options).
    region
        Sites, services and validation limits.
    store
        Where accepted observations and the feed's health go.
    metrics
        Counters for accepted and rejected values (optional).
    clock
        Wall-clock "now" for validation, ages and health times.
    """

    def __init__(self, feed: FeedConfig, region: Region, store: ObservationStore, *,
                 metrics: FeedMetrics | None = None, clock: Clock | None = None) -> None:
        self.feed = feed
        self.region = region
        self.store = store
        self.metrics = metrics
        self.clock = clock or (lambda: datetime.now(UTC))
        self.health = FeedHealth(feed.name)
        self.last_good: dict[str, Observation] = {}
        self._adapter = get_adapter(feed.format)
        # Poller timing options sit on the same [[feeds]] entry; adapters never see them.
        self._options = {k: v for k, v in feed.options.items() if k not in POLLER_OPTIONS}
        self._loaded = False

    async def load_last_good(self) -> None:
        """Take this feed's current entries from the store as its last good figures."""
        current = await self.store.current(self.region.name)
        self.last_good.update((k, o) for k, o in current.items() if o.feed == self.feed.name)
        self._loaded = True

    async def accept(self, body: bytes, *, content_type: str | None = None,
                     content_length: int | None = None, reload_last_good: bool = False
                     ) -> IngestResult:
        """Check, parse, validate and store one payload.

        ``reload_last_good`` reads the feed's figures from the store first (a pushed feed may
        reach any worker, so no worker's memory is the whole story); a poller loads them once.

        Raises
        ------
        FeedParseError
            The body or its content is unusable (``BodyRejected`` says why); nothing stored.
        StoreError
            The live store did not take the observations.
        """
        if reload_last_good or not self._loaded:
            await self.load_last_good()
        check_body(body, feed=self.feed, settings=self.region.validation,
                   content_type=content_type, content_length=content_length)
        now = self.clock()
        observations = self._adapter(body, feed_name=self.feed.name, fetched_at=now,
                                     options=self._options)
        # A feed that usually lists sites and suddenly lists none has a problem, not empty units.
        check_listing(len(observations), len(self.last_good), feed_name=self.feed.name)
        result = validate_observations(observations, region=self.region, now=now,
                                       last_good=self.last_good.values(),
                                       settings=self.region.validation)
        accepted = with_service_kinds(self.region, result.accepted)
        if accepted:
            await self.store.write(self.region.name, accepted)
        self.last_good.update((obs.key(), obs) for obs in accepted)
        if self.metrics is not None:
            labels = (self.region.name, self.feed.name)  # feed names repeat across regions
            self.metrics.observations_accepted.labels(*labels).inc(len(accepted))
            for rejection in result.rejected:
                self.metrics.observations_rejected.labels(*labels, rejection.reason).inc()
        self.health.record_payload(accepted, result.rejected, now)
        return IngestResult(accepted, result.rejected)

    async def report_status(self) -> None:
        """Write the feed's health to the store (``/v1/sites``, ``/readyz``)."""
        await self.store.put_feed_status(self.region.name, self.feed.name,
                                         self.health.as_dict())
