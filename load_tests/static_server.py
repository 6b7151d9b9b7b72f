"""A plain aiohttp + uvloop server answering every GET with one fixed body: the ceiling
``/v1/rank`` is measured against (scripts/bench-rank-serve.sh).

    python -m load_tests.static_server --body var/bench/rank-body.json --port 18090 --processes 2

The processes share the port with ``reuse_port`` (as gunicorn's workers share theirs), and
nothing else runs in them: no middlewares, no parsing, no logging.
"""

from __future__ import annotations

import argparse
import multiprocessing
import signal
from collections.abc import Callable
from pathlib import Path

import uvloop
from aiohttp import web


def _serve(body: bytes, host: str, port: int) -> None:
    async def handler(_: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    web.run_app(app, host=host, port=port, reuse_port=True, access_log=None, print=None,
                loop=uvloop.new_event_loop())


def run_processes(target: Callable[..., None], args: tuple, processes: int) -> None:
    """Run ``target(*args)`` in ``processes`` processes until SIGTERM or SIGINT stops them
    (each server process binds its port with ``reuse_port``)."""
    workers = [multiprocessing.Process(target=target, args=args) for _ in range(processes)]
    for worker in workers:
        worker.start()

    def stop(*_: object) -> None:
        for worker in workers:
            worker.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for worker in workers:
        worker.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--body", required=True, help="file whose bytes every answer carries")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18090)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    run_processes(_serve, (Path(args.body).read_bytes(), args.host, args.port), args.processes)


if __name__ == "__main__":
    main()
