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
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np

from waitless.domain.observation import Observation
from waitless.live.store import LiveStore, StoreError
from waitless.metrics import Metrics
from waitless.ranking.predict import EMPTY_MODEL, HISTORY_DAYS, Forecast, WaitModel, fit_model

logger = logging.getLogger(__name__)

HISTORY_LOAD_LIMIT = 50_000  # first load: everything the store keeps
HISTORY_INCREMENT_LIMIT = 5_000  # later loads: the newest entries, filtered by time
HISTORY_MIN_STEP_SECONDS = 50  # feeds repeat readings every poll; keep about one a minute
REFIT_SECONDS = 600
MIN_RELOAD_INTERVAL_SECONDS = 0.25
MAX_REFITS_PER_RELOAD = 3  # a fit takes tens of milliseconds: spread them over reloads


@dataclass(slots=True)
class ServiceHistory:
    """One site service's recent readings (epoch seconds, minutes) and its fitted model."""

    epoch_s: np.ndarray
    wait_minutes: np.ndarray
    model: WaitModel = EMPTY_MODEL
    fitted_at_s: float | None = None
    # The last forecast made, keyed by (time bucket, latest reading time): every request in
    # the same few seconds shares it, so a ranking only looks up factors at arrival.
    forecast_key: tuple[int, float] | None = field(default=None, compare=False)
    forecast: Forecast | None = field(default=None, compare=False)


@dataclass
class LiveSnapshot:
    observations: dict[str, Observation] = field(default_factory=dict)
    feed_statuses: dict[str, dict] = field(default_factory=dict)
    history: dict[str, ServiceHistory] = field(default_factory=dict)
    history_cursor: str | None = None  # position in the store's observation stream
    timezone: ZoneInfo | None = None  # the region's; without it no seasonal model is fitted
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
    snapshot.history = extend_history(snapshot.history, recent)
    snapshot.history_cursor = cursor
    if snapshot.timezone is not None:
        snapshot.history = refit_models(
            snapshot.history, snapshot.timezone,
            max_refits=None if snapshot.reloads == 0 else MAX_REFITS_PER_RELOAD)
    snapshot.loaded_monotonic = time.monotonic()
    snapshot.error = None
    snapshot.reloads += 1
    return True


def extend_history(history: dict[str, ServiceHistory], observations: Iterable[Observation]
                   ) -> dict[str, ServiceHistory]:
    """Append new readings per ``site_id/service``, thinned and cut to ``HISTORY_DAYS``."""
    new: dict[str, list[tuple[float, float]]] = {}
    for obs in observations:
        if obs.wait_minutes is not None and obs.status != "closed":
            new.setdefault(obs.key(), []).append((obs.observed_at.timestamp(), obs.wait_minutes))
    result = dict(history)
    for key, points in new.items():
        old = history.get(key)
        last = float(old.epoch_s[-1]) if old is not None and old.epoch_s.size else None
        times, waits = [], []
        for t, w in sorted(points):
            if last is None or t - last >= HISTORY_MIN_STEP_SECONDS:
                times.append(t)
                waits.append(w)
                last = t
        if not times:
            continue
        epoch_s = np.concatenate([old.epoch_s, times]) if old is not None else np.array(times)
        wait_minutes = (np.concatenate([old.wait_minutes, waits]) if old is not None
                        else np.array(waits))
        keep = epoch_s >= epoch_s[-1] - HISTORY_DAYS * 86400
        result[key] = ServiceHistory(epoch_s[keep], wait_minutes[keep],
                                     old.model if old else EMPTY_MODEL,
                                     old.fitted_at_s if old else None)
    return result


def refit_models(history: dict[str, ServiceHistory], tz: ZoneInfo, *,
                 max_refits: int | None) -> dict[str, ServiceHistory]:
    """Refit the models last fitted longest ago (over ``REFIT_SECONDS`` of new readings)."""
    due = [key for key, h in history.items() if h.epoch_s.size
           and (h.fitted_at_s is None or h.epoch_s[-1] - h.fitted_at_s >= REFIT_SECONDS)]
    due.sort(key=lambda key: history[key].fitted_at_s or 0.0)
    result = dict(history)
    for key in due[:max_refits]:
        h = history[key]
        now_s = float(h.epoch_s[-1])
        result[key] = ServiceHistory(h.epoch_s, h.wait_minutes,
                                     fit_model(h.epoch_s, h.wait_minutes, now_s, tz), now_s)
    return result


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
                logger.debug("change subscription dropped: %s", exc)
            await asyncio.sleep(1.0)

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
