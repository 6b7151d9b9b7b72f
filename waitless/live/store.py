"""The live store: current waits per site service, their history, and change notices.

Two implementations share this interface: :class:`MemoryLiveStore` (the embedded default
for a single process) and :class:`waitless.live.redis_store.RedisLiveStore`.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from waitless.domain.errors import StoreError
from waitless.domain.observation import Observation

HISTORY_MAX_ENTRIES = 50_000


__all__ = ["HISTORY_MAX_ENTRIES", "LiveStore", "MemoryLiveStore", "StoreError"]


class LiveStore(ABC):
    """Current state per region, an observation stream, and change notification."""

    @abstractmethod
    async def write(self, region: str, observations: Sequence[Observation]) -> int:
        """Record observations; return how many changed the current state.

        Only changed entries are rewritten and only a change sends a notice, so subscribers
        are not woken for an unchanged snapshot.
        """

    @abstractmethod
    async def current(self, region: str) -> dict[str, Observation]:
        """Current observation per ``site_id/service`` key."""

    @abstractmethod
    async def history(self, region: str, *, since: datetime | None = None,
                      limit: int = 10_000) -> list[Observation]:
        """Observations recorded for the region, oldest first."""

    @abstractmethod
    async def history_after(self, region: str, cursor: str | None, *, limit: int = 10_000
                            ) -> tuple[list[Observation], str | None]:
        """Observations recorded after ``cursor`` (oldest first) and the cursor to pass next.

        ``cursor=None`` starts from the newest ``limit`` entries. The cursor is a position in
        the store, not a time, so readers never re-read what they already have however feeds
        timestamp their figures.
        """

    @abstractmethod
    async def put_feed_status(self, region: str, feed: str, status: dict[str, Any]) -> None:
        """Record a feed's health (last success, last error, rejections)."""

    @abstractmethod
    async def feed_statuses(self, region: str) -> dict[str, dict[str, Any]]:
        """Health of every feed that reported for the region."""

    @abstractmethod
    def changes(self, region: str) -> AsyncIterator[None]:
        """Yield once per change notice for the region (runs until cancelled)."""

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


def changed_observations(current: dict[str, Observation],
                         observations: Sequence[Observation]) -> list[Observation]:
    """The observations that differ from what ``current`` holds under the same key."""
    return [o for o in observations if current.get(o.key()) != o]


class MemoryLiveStore(LiveStore):
    """In-process live store: one process serves, ingests and reads."""

    def __init__(self) -> None:
        self._current: dict[str, dict[str, Observation]] = {}
        self._history: dict[str, deque[Observation]] = {}
        self._appended: dict[str, int] = {}  # observations ever recorded, per region
        self._feeds: dict[str, dict[str, dict[str, Any]]] = {}
        self._subscribers: dict[str, set[asyncio.Queue[None]]] = {}

    async def write(self, region: str, observations: Sequence[Observation]) -> int:
        current = self._current.setdefault(region, {})
        history = self._history.setdefault(region, deque(maxlen=HISTORY_MAX_ENTRIES))
        history.extend(observations)
        self._appended[region] = self._appended.get(region, 0) + len(observations)
        changed = changed_observations(current, observations)
        for obs in changed:
            current[obs.key()] = obs
        if changed:
            for queue in self._subscribers.get(region, ()):
                if queue.empty():
                    queue.put_nowait(None)
        return len(changed)

    async def current(self, region: str) -> dict[str, Observation]:
        return dict(self._current.get(region, {}))

    async def history(self, region: str, *, since: datetime | None = None,
                      limit: int = 10_000) -> list[Observation]:
        items = [o for o in self._history.get(region, ())
                 if since is None or o.observed_at >= since]
        return items[-limit:]

    async def history_after(self, region: str, cursor: str | None, *, limit: int = 10_000
                            ) -> tuple[list[Observation], str | None]:
        history = self._history.get(region, deque())
        total = self._appended.get(region, 0)
        first_held = total - len(history)  # position of history[0]
        start = first_held if cursor is None else max(int(cursor), first_held)
        items = list(history)[start - first_held:]
        if cursor is None:
            items = items[-limit:]
        else:
            items = items[:limit]
            total = start + len(items)
        return items, str(total)

    async def put_feed_status(self, region: str, feed: str, status: dict[str, Any]) -> None:
        self._feeds.setdefault(region, {})[feed] = dict(status)

    async def feed_statuses(self, region: str) -> dict[str, dict[str, Any]]:
        return {k: dict(v) for k, v in self._feeds.get(region, {}).items()}

    async def changes(self, region: str) -> AsyncIterator[None]:
        queue: asyncio.Queue[None] = asyncio.Queue(maxsize=1)
        self._subscribers.setdefault(region, set()).add(queue)
        try:
            while True:
                await queue.get()
                yield None
        finally:
            self._subscribers[region].discard(queue)
