"""Running the application: one process, or N pre-forked workers under gunicorn.

Gunicorn's arbiter owns the workers (aiohttp's uvloop worker class): it replaces a worker
that dies, stops the whole server with a non-zero status when a worker fails while booting
instead of restarting it forever, and drains workers gracefully on SIGTERM. The application
is built once, in the parent, before any worker starts, so a bad region file, a missing
gazetteer or unreadable road-graph tables stop ``waitless serve`` at once with the reason.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import platform
from typing import Any

import uvloop
from aiohttp import web
from gunicorn.app.base import BaseApplication

logger = logging.getLogger(__name__)

# glibc's mallopt parameters (malloc.h) and the values set for a worker: with a smaller pad
# (1 MiB) the 8 MiB threshold still left 0.9 page faults per served ranking.
_M_TRIM_THRESHOLD, _M_TOP_PAD = -1, -2
HEAP_KEEP_BYTES = 8 * 1024 * 1024
HEAP_PAD_BYTES = 16 * 1024 * 1024
# Container allocations between collections of the youngest generation (CPython: 700).
GC_GEN0_ALLOCATIONS = 10_000
# Seconds a worker gets to finish its requests and flush its event log on SIGTERM.
GRACEFUL_SECONDS = 20


class _Arbiter(BaseApplication):
    """Gunicorn running one ready-made aiohttp application in every worker."""

    def __init__(self, app: web.Application, options: dict[str, Any]) -> None:
        self._app = app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> web.Application:
        return self._app


async def _freeze_heap(_app: web.Application) -> None:
    """Keep what start-up built out of the cyclic garbage collector's full passes.

    Regions, travel tables, the compiled state and the imported libraries live as long as the
    process; a full collection walked all of them (~37 ms for a Kent & Medway worker) and
    showed as 70 ms stalls at the open-loop p99 (issue 12). Frozen objects are never freed,
    which is what they would be anyway.

    The youngest generation is collected every ``GC_GEN0_ALLOCATIONS`` container allocations
    instead of CPython's 700: a ranking allocates a few hundred, so the default collected after
    every other request, each time walking the objects of the requests still in flight.
    And glibc keeps the memory a request frees (:func:`keep_freed_heap`).
    """
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_GEN0_ALLOCATIONS, older, oldest)
    keep_freed_heap()


def keep_freed_heap() -> bool:
    """Ask glibc's allocator to keep freed heap memory instead of returning it to the OS at
    once; ``False`` where the C library is not glibc.

    A ranking allocates and frees a few buffers of 10-16 KiB (results, body). With glibc's
    default 128 KiB trim threshold the top of the heap shrank and grew again all the time: a
    served ranking took one page fault per request (none for the static server), which the
    kernel's time per request showed (issue 12, docs/benchmarks.md). Set, it took 0.02. The
    free memory kept at the top of the heap is bounded by ``HEAP_KEEP_BYTES`` and
    ``HEAP_PAD_BYTES`` (the larger of the two; 16 MiB per worker).
    """
    if platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(None)
    return bool(libc.mallopt(_M_TRIM_THRESHOLD, HEAP_KEEP_BYTES)
                and libc.mallopt(_M_TOP_PAD, HEAP_PAD_BYTES))


def bind_address(host: str, port: int) -> str:
    """Gunicorn's ``bind`` for a host and port (IPv6 literals in brackets)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def serve(app: web.Application, *, host: str, port: int, workers: int,
          keepalive_seconds: float, log_level: str = "info") -> int:
    """Serve ``app`` on ``host:port`` until SIGTERM or SIGINT; return the exit status.

    Parameters
    ----------
    workers
        1 runs the application in this process; more pre-forks that many gunicorn workers
        sharing the port.
    keepalive_seconds
        Idle keep-alive connections are closed after this many seconds.
    """
    # After the resources' own start-up (cleanup contexts run first), in every worker.
    app.on_startup.append(_freeze_heap)
    if workers == 1:
        web.run_app(app, host=host, port=port, access_log=None, print=None,
                    loop=uvloop.new_event_loop())
        return 0
    options = {
        "bind": bind_address(host, port),
        "workers": workers,
        "worker_class": "aiohttp.GunicornUVLoopWebWorker",
        # Coordinates are in the query string: no access log (docs/privacy.md).
        "accesslog": None,
        "keepalive": max(1, round(keepalive_seconds)),  # gunicorn takes whole seconds
        "graceful_timeout": GRACEFUL_SECONDS,
        "loglevel": log_level.lower(),
        "proc_name": "waitless-serve",
        # No runtime control socket: one shared path in $HOME would collide between servers,
        # and signals already do what operators need (TERM drains, HUP reloads, TTIN/TTOU).
        "control_socket_disable": True,
    }
    _Arbiter(app, options).run()
    return 0
