"""A worker's rate-limit sharing stops on shutdown even when redis-py loses a cancellation."""

from __future__ import annotations

import asyncio

from aiohttp import web

from tests.conftest import REDIS_URL
from waitless.api import keys
from waitless.api.rate_limiter import RateLimiter
from waitless.api.rate_limits import LIMITER, _sync_ctx
from waitless.settings import Rate, Settings


class LosesOneCancellation(RateLimiter):
    """A limiter whose sync, once under way, loses the first cancellation as redis-py can
    when one lands mid-command (redis/redis-py#2028), and otherwise holds the command open."""

    def __init__(self) -> None:
        super().__init__({"public": Rate(10, 60)}, sync_seconds=0.05)
        self.syncs = 0
        self.in_command = asyncio.Event()
        self.lost = 0

    async def sync(self, *args: object, **kwargs: object) -> None:
        self.syncs += 1
        if self.syncs == 1:  # the start-up sync answers at once
            return
        self.in_command.set()
        try:
            await asyncio.Event().wait()  # a command that has not answered yet
        except asyncio.CancelledError:
            if self.lost:
                raise
            self.lost += 1  # swallowed: the sharing loop carries on to its next sync


async def test_shutdown_ends_although_a_cancellation_is_lost(redis_prefix: str) -> None:
    app = web.Application()
    app[keys.SETTINGS] = Settings(redis_url=REDIS_URL, redis_prefix=f"{redis_prefix}:rl-stop")
    limiter = app[LIMITER] = LosesOneCancellation()
    context = _sync_ctx(app)
    await anext(context)  # started, as before the first request
    await asyncio.wait_for(limiter.in_command.wait(), timeout=10)
    # Shut down as the worker does; with a single cancel-and-await this never returned and the
    # worker outlived its arbiter.
    async def shut_down() -> None:
        async for _ in context:
            pass
    stopping = asyncio.create_task(shut_down())
    # Not wait_for: on its timeout it cancels, and the old code's suppressed CancelledError
    # then let the shutdown "finish", hiding the hang.
    done, _ = await asyncio.wait({stopping}, timeout=10)
    if not done:
        stopping.cancel()
    assert done == {stopping}, "the rate-limit sharing did not stop"
    assert limiter.lost == 1
