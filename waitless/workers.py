"""Pre-forked API workers sharing one port (SO_REUSEPORT), replaced when one dies."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

# A worker that dies this soon after starting is failing at start-up; back off instead of
# restarting it in a tight loop.
_FAST_FAILURE_SECONDS = 2.0


def run_workers(count: int, serve_one: Callable[[], None]) -> int:
    """Fork ``count`` workers running ``serve_one`` and keep that many alive until SIGTERM.

    Returns the exit status for the command (0 after a clean shutdown).
    """
    children: dict[int, float] = {}
    stopping = False

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            try:
                serve_one()
            finally:
                os._exit(0)
        children[pid] = time.monotonic()

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                children.pop(pid, None)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _ in range(count):
        spawn()
    logger.info("started %d workers: %s", count, sorted(children))
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        started = children.pop(pid, None)
        if stopping or started is None:
            continue
        logger.warning("worker %d exited (status %d); starting a replacement", pid, status)
        if time.monotonic() - started < _FAST_FAILURE_SECONDS:
            time.sleep(_FAST_FAILURE_SECONDS)
        spawn()
    return 0
