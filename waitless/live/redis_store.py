"""Redis live store.

Keys (``P`` is the configured prefix, ``R`` the region name):

- ``P:live:R``     hash, field ``site_id/service`` -> observation JSON (current state)
- ``P:obs:R``      stream of every observation recorded (capped, approximate)
- ``P:feeds:R``    hash, feed name -> health JSON
- ``P:changed:R``  pub/sub channel; a message after every write that changed state
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import suppress
from datetime import datetime
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from waitless.domain.observation import Observation
from waitless.live.redis_url import redis_from_url
from waitless.live.store import (
    HISTORY_MAX_ENTRIES,
    LiveStore,
    StoreError,
    changed_observations,
)

CLOSE_TIMEOUT_SECONDS = 2.0


def _dumps(obs: Observation) -> bytes:
    return orjson.dumps(obs.to_dict())


def _loads(raw: bytes) -> Observation:
    return Observation.from_dict(orjson.loads(raw))


# How long one wait for a change notice lasts before the next (under the socket timeout).
SUBSCRIPTION_WAIT_SECONDS = 1.0


class RedisLiveStore(LiveStore):
    """Live store in Redis, shared by ingestors and every API worker."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = "waitless") -> None:
        self._redis = client
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "waitless") -> RedisLiveStore:
        client = redis_from_url(url, socket_timeout=5, socket_connect_timeout=2,
                                health_check_interval=15)
        return cls(client, prefix=prefix)

    def key(self, kind: str, region: str) -> str:
        return f"{self._prefix}:{kind}:{region}"

    async def write(self, region: str, observations: Sequence[Observation]) -> int:
        try:
            current = await self.current(region)
            changed = changed_observations(current, observations)
            async with self._redis.pipeline(transaction=True) as pipe:
                for obs in observations:
                    pipe.xadd(self.key("obs", region), {"o": _dumps(obs)},
                              maxlen=HISTORY_MAX_ENTRIES, approximate=True)
                if changed:
                    pipe.hset(self.key("live", region),
                              mapping={o.key(): _dumps(o) for o in changed})
                    pipe.publish(self.key("changed", region), str(len(changed)))
                await pipe.execute()
        except RedisError as exc:
            msg = f"redis write failed: {exc}"
            raise StoreError(msg) from exc
        return len(changed)

    async def current(self, region: str) -> dict[str, Observation]:
        try:
            raw = await self._redis.hgetall(self.key("live", region))
        except RedisError as exc:
            msg = f"redis read failed: {exc}"
            raise StoreError(msg) from exc
        return {k.decode(): _loads(v) for k, v in raw.items()}

    async def history(self, region: str, *, since: datetime | None = None,
                      limit: int = 10_000) -> list[Observation]:
        try:
            entries = await self._redis.xrevrange(self.key("obs", region), count=limit)
        except RedisError as exc:
            msg = f"redis read failed: {exc}"
            raise StoreError(msg) from exc
        observations = [_loads(fields[b"o"]) for _, fields in reversed(entries)]
        if since is not None:
            observations = [o for o in observations if o.observed_at >= since]
        return observations

    async def history_after(self, region: str, cursor: str | None, *, limit: int = 10_000
                            ) -> tuple[list[Observation], str | None]:
        key = self.key("obs", region)
        try:
            if cursor is None:
                entries = list(reversed(await self._redis.xrevrange(key, count=limit)))
            else:
                entries = await self._redis.xrange(key, min=f"({cursor}", count=limit)
        except RedisError as exc:
            msg = f"redis read failed: {exc}"
            raise StoreError(msg) from exc
        if not entries:
            return [], cursor
        last_id = entries[-1][0]
        return ([_loads(fields[b"o"]) for _, fields in entries],
                last_id.decode() if isinstance(last_id, bytes) else last_id)

    async def put_feed_status(self, region: str, feed: str, status: dict[str, Any]) -> None:
        try:
            await self._redis.hset(self.key("feeds", region), feed,
                                   orjson.dumps(status, default=str))
        except RedisError as exc:
            msg = f"redis write failed: {exc}"
            raise StoreError(msg) from exc

    async def feed_statuses(self, region: str) -> dict[str, dict[str, Any]]:
        try:
            raw = await self._redis.hgetall(self.key("feeds", region))
        except RedisError as exc:
            msg = f"redis read failed: {exc}"
            raise StoreError(msg) from exc
        return {k.decode(): orjson.loads(v) for k, v in raw.items()}

    async def changes(self, region: str) -> AsyncIterator[None]:
        pubsub = self._redis.pubsub()
        try:
            await pubsub.subscribe(self.key("changed", region))
            while True:
                # A quiet channel is not an error. pubsub.listen() read with the client's
                # socket timeout (5 s), so five quiet seconds ended the subscription, and
                # notices sent before it was made again were missed: a change then waited
                # for the periodic reload (2.6 s measured, issue 12). get_message returns
                # None when its own timeout passes; a lost connection still raises.
                message = await pubsub.get_message(timeout=SUBSCRIPTION_WAIT_SECONDS)
                if message is not None and message.get("type") == "message":
                    yield None
        except RedisError as exc:
            msg = f"redis subscription failed: {exc}"
            raise StoreError(msg) from exc
        finally:
            # Closing a subscription whose connection is mid-read can block; never let
            # shutdown wait on it for long.
            with suppress(TimeoutError, RedisError, OSError):
                async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
                    await pubsub.aclose()

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except RedisError:
            return False

    async def close(self) -> None:
        await self._redis.aclose()
