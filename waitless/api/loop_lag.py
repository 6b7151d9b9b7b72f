"""How late each worker's event loop runs: the time a request waits for the loop to be free.

A worker answers every request on one thread. Anything that holds that thread (a long
computation, a blocking call, the garbage collector, the machine taking the CPU away) makes
every request waiting in that worker late by as long, and none of the request-time metrics
show it: they time a handler from when it starts. So each worker sets a short timer over and
over and records how much later than asked it fired (``waitless_event_loop_lag_seconds``),
and logs a warning when one fires very late.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from waitless.api import keys
from waitless.live.leader import cancel_and_wait

logger = logging.getLogger(__name__)

# Short enough to catch a pause that a p99 would notice, long enough to cost nothing
# (ten timers a second).
INTERVAL_SECONDS = 0.1


async def watch_loop_lag(observe: Callable[[float], None], *, warn_seconds: float,
                         interval_seconds: float = INTERVAL_SECONDS,
                         clock: Callable[[], float] = time.perf_counter,
                         sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
    """Forever: sleep ``interval_seconds``, then pass how much later it woke to ``observe``.

    Parameters
    ----------
    observe
        Receives each lag, in seconds (zero or more).
    interval_seconds
        The timer asked for each round, in seconds.
    warn_seconds
        A lag at least this long is also logged as a warning (the service passes its
        setting ``loop_lag_warn_ms``).
    clock, sleep
        A monotonic clock in seconds and the sleep to time; injected by tests.
    """
    while True:
        started = clock()
        await sleep(interval_seconds)
        lag_seconds = max(0.0, clock() - started - interval_seconds)
        observe(lag_seconds)
        if lag_seconds >= warn_seconds:
            logger.warning("event loop ran %.0f ms late: every request in this worker waited "
                           "as long", lag_seconds * 1000)


async def loop_lag_ctx(app: web.Application) -> AsyncIterator[None]:
    """The watcher as an application resource: runs while the app serves."""
    warn_seconds = app[keys.SETTINGS].loop_lag_warn_ms / 1000
    task = asyncio.create_task(watch_loop_lag(app[keys.METRICS].loop_lag.observe,
                                              warn_seconds=warn_seconds), name="loop-lag")
    yield
    await cancel_and_wait(task)
