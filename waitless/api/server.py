"""Running the application: one process, or N pre-forked workers under gunicorn.

Gunicorn's arbiter owns the workers (aiohttp's uvloop worker class): it replaces a worker
that dies, stops the whole server with a non-zero status when a worker fails while booting
instead of restarting it forever, and drains workers gracefully on SIGTERM. The application
is built once, in the parent, before any worker starts, so a bad region file, a missing
gazetteer or unreadable road-graph tables stop ``waitless serve`` at once with the reason.
"""

from __future__ import annotations

import gc
import logging
from typing import Any

import uvloop
from aiohttp import web
from gunicorn.app.base import BaseApplication

logger = logging.getLogger(__name__)

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
    """
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_GEN0_ALLOCATIONS, older, oldest)


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
