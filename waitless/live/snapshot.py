"""The API's in-process copy of live state, refreshed on change notices.

Requests read only this copy, so a ranking never waits on Redis, and a Redis outage leaves
the last snapshot in use (with its age shown) instead of failing requests. The copy includes a
bounded recent history per site service (a week, at most one reading a minute) and the wait
model fitted on it (:mod:`waitless.ranking.predict`), so predictions need no store access either.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field

from waitless.domain.observation import Observation
from waitless.live.store import LiveStore, StoreError
from waitless.metrics import Metrics

logger = logging.getLogger(__name__)

HISTORY_LOAD_LIMIT = 50_000  # first load: everything the store keeps
HISTORY_INCREMENT_LIMIT = 5_000  # later loads: the newest entries, filtered by time
MIN_RELOAD_INTERVAL_SECONDS = 0.25

# Awaited after every successful reload with the stream entries new since the last one.
ReadingsListener = Callable[[list[Observation]], Awaitable[None]]


@dataclass
class LiveSnapshot:
    observations: dict[str, Observation] = field(default_factory=dict)
    feed_statuses: dict[str, dict] = field(default_factory=dict)
    history_cursor: str | None = None  # position in the store's observation stream
    on_readings: list[ReadingsListener] = field(default_factory=list)
    loaded_monotonic: float | None = None
    error: str | None = None
    reloads: int = 0

    def age_seconds(self) -> float | None:
        if self.loaded_monotonic is None:
            return None
        return time.monotonic() - self.loaded_monotonic


async def reload(snapshot: LiveSnapshot, store: LiveStore, region: str,
                 metrics: Metrics | None = None) -> bool:
    """Replace the snapshot from the store; keep the old one on failure."""
    try:
        observations = await store.current(region)
        statuses = await store.feed_statuses(region)
        recent, cursor = await store.history_after(
            region, snapshot.history_cursor,
            limit=HISTORY_LOAD_LIMIT if snapshot.history_cursor is None
            else HISTORY_INCREMENT_LIMIT)
    except (StoreError, OSError) as exc:
        if snapshot.error is None:
            logger.warning("live store unavailable, serving last snapshot: %s", exc)
        snapshot.error = str(exc)
        if metrics:
            metrics.snapshot_reload_errors.inc()
        return False
    if snapshot.error is not None:
        logger.info("live store reachable again")
    # A store that lost its data (Redis restarted without persistence) comes back empty until
    # the ingestors write again; keep the figures we had, which age into "stale" honestly.
    snapshot.observations = {**snapshot.observations, **observations}
    snapshot.feed_statuses = statuses
    snapshot.history_cursor = cursor
    for listener in snapshot.on_readings:
        await listener(recent)
    snapshot.loaded_monotonic = time.monotonic()
    snapshot.error = None
    snapshot.reloads += 1
    return True


async def follow(snapshot: LiveSnapshot, store: LiveStore, region: str, *,
                 refresh_seconds: float, metrics: Metrics | None = None) -> None:
    """Keep ``snapshot`` current: reload on every change notice and every ``refresh_seconds``."""
    changed = asyncio.Event()

    async def listen() -> None:
        while True:
            try:
                async for _ in store.changes(region):
                    changed.set()
            except (StoreError, OSError) as exc:
                logger.warning("change subscription dropped: %s", exc)
            await asyncio.sleep(1.0)
            changed.set()  # notices sent while unsubscribed are lost: reload once

    listener = asyncio.create_task(listen(), name="live-changes")
    try:
        while True:
            started = time.monotonic()
            await reload(snapshot, store, region, metrics)
            # Many feeds can send many notices a second: fold them into one reload per
            # interval so reloading never crowds out requests.
            await asyncio.sleep(max(0.0, MIN_RELOAD_INTERVAL_SECONDS
                                    - (time.monotonic() - started)))
            with suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), refresh_seconds)
            changed.clear()
    finally:
        listener.cancel()
        # Bounded: a subscription stuck in its close must not hold up shutdown.
        await asyncio.wait({listener}, timeout=5)
