"""The ingestor's Redis live store: every write is fenced by the leader's lease.

:class:`FencedRedisLiveStore` reads like :class:`RedisLiveStore` and writes the same keys, but
each write is one Lua script that first compares the lease key with the writer's lease value
(see :mod:`waitless.live.leader`) and writes nothing unless they match. The check and the write are
one atomic step inside Redis, so an ingestor that lost its lease while paused cannot land a
write afterwards, however late it wakes up.

The scripts name every key they touch, so they would also run on a Redis Cluster if the lease
and data keys shared a hash slot; WaitLess uses a single primary (Sentinel or managed), where
that question does not arise (``docs/operations.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from waitless.domain.observation import Observation
from waitless.live.redis_store import RedisLiveStore
from waitless.live.store import HISTORY_MAX_ENTRIES, StoreError, changed_observations

# KEYS: lease, stream, live hash, change channel.
# ARGV: lease value, stream cap, observation count n, n observation JSONs, then
#       key/JSON pairs of the changed entries.
_WRITE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local n = tonumber(ARGV[3])
for i = 1, n do
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'o', ARGV[3 + i])
end
local first = 4 + n
local changed = (#ARGV - first + 1) / 2
if changed > 0 then
  -- HSET in slices: unpack() of thousands of arguments can overflow the Lua stack.
  for i = first, #ARGV, 200 do
    redis.call('HSET', KEYS[3], unpack(ARGV, i, math.min(i + 199, #ARGV)))
  end
  redis.call('PUBLISH', KEYS[4], tostring(changed))
end
return changed
"""
# KEYS: lease, feed-status hash. ARGV: lease value, feed name, status JSON.
_PUT_STATUS = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
"""


class NotLeaderError(StoreError):
    """A write was refused: this ingestor does not hold the region's lease."""


class FencedRedisLiveStore(RedisLiveStore):
    """A :class:`RedisLiveStore` whose writes land only while the writer holds the lease.

    Parameters
    ----------
    client
        Redis client.
    prefix
        Key prefix (as for :class:`RedisLiveStore`).
    lease_key
        The region's lease key (:func:`waitless.live.leader.lease_keys`).
    lease_value
        Returns the value the lease key must hold, or ``None`` when we believe we do not lead.
    on_refused
        Called with ``"local"`` or ``"redis"`` when a write is refused (metrics, stand-down).
    """

    def __init__(self, client: aioredis.Redis, *, prefix: str, lease_key: str,
                 lease_value: Callable[[], str | None],
                 on_refused: Callable[[str], None] | None = None) -> None:
        super().__init__(client, prefix=prefix)
        self._lease_key = lease_key
        self._lease_value = lease_value
        self._on_refused = on_refused
        self._write_script = client.register_script(_WRITE)
        self._status_script = client.register_script(_PUT_STATUS)

    def _value_or_refuse(self) -> str:
        value = self._lease_value()
        if value is None:
            self._refused("local")
        return value

    def _refused(self, where: str) -> NoReturn:
        if self._on_refused:
            self._on_refused(where)
        msg = ("write refused: this ingestor does not hold the lease" if where == "local"
               else "write refused by the fencing script: the lease has passed to another "
                    "ingestor or expired")
        raise NotLeaderError(msg)

    async def write(self, region: str, observations: Sequence[Observation]) -> int:
        value = self._value_or_refuse()
        try:
            # Reading outside the script is safe: only the lease holder writes this region.
            changed = changed_observations(await self.current(region), observations)
            args: list[Any] = [value, HISTORY_MAX_ENTRIES, len(observations)]
            args += [orjson.dumps(o.to_dict()) for o in observations]
            for obs in changed:
                args += [obs.key(), orjson.dumps(obs.to_dict())]
            result = await self._write_script(
                keys=[self._lease_key, self.key("obs", region), self.key("live", region),
                      self.key("changed", region)], args=args)
        except RedisError as exc:
            msg = f"redis write failed: {exc}"
            raise StoreError(msg) from exc
        if int(result) < 0:
            self._refused("redis")
        return int(result)

    async def put_feed_status(self, region: str, feed: str, status: dict[str, Any]) -> None:
        value = self._value_or_refuse()
        try:
            result = await self._status_script(
                keys=[self._lease_key, self.key("feeds", region)],
                args=[value, feed, orjson.dumps(status, default=str)])
        except RedisError as exc:
            msg = f"redis write failed: {exc}"
            raise StoreError(msg) from exc
        if int(result) < 0:
            self._refused("redis")
