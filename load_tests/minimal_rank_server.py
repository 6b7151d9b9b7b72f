"""The issue's "minimal pipeline" as a server: what a ranking costs when it does nothing but
parse the origin, estimate travel to every site, sort and join pre-rendered JSON pieces.

    python -m load_tests.minimal_rank_server --body var/bench-serve/rank-body.json --port 18195

Issue 12 set its ratio target (0.4 of a static server) beside a measurement of this pipeline
(0.54 on the machine it was measured on). It runs here in the same benchmark run as the static
server and ``/v1/rank`` (``MINIMAL=1 scripts/bench-rank-serve.sh``), so the target can be read
against what the same machine gives for the least a ranking can do: no opening hours, no
arrival-wait prediction, no eligibility, no event log, no metrics, no middleware.

Each site's piece is its result object from a real ``/v1/rank`` body (``--body``) without the
two per-request numbers, so the answer is about as long as the static server's. The same
compiled straight-line estimate as the service (:class:`routing.estimate.EstimateTravel`).
Processes share the port with ``reuse_port``, as in :mod:`load_tests.static_server`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson
import uvloop
from aiohttp import web

from load_tests.static_server import run_processes
from routing.estimate import EstimateTravel
from waitless.domain.region import DEFAULT_REGION, load_region

_PER_REQUEST = ("travel_minutes", "total_minutes")


def site_pieces(body: bytes, site_ids: tuple[str, ...]) -> tuple[list[bytes], list[float]]:
    """Per site (``site_ids`` order): its result's JSON without the closing brace and the
    per-request numbers, and its predicted wait in minutes, from a ``/v1/rank`` body."""
    results = {r["site_id"]: r for r in orjson.loads(body)["results"]}
    pieces, waits = [], []
    for site_id in site_ids:
        result = dict(results.get(site_id) or {"site_id": site_id})
        waits.append(float(result.get("predicted_wait_minutes") or 0.0))
        for name in _PER_REQUEST:
            result.pop(name, None)
        pieces.append(orjson.dumps(result)[:-1])
    return pieces, waits


def minimal_answer(lat: float, lon: float, estimate: EstimateTravel, pieces: list[bytes],
                   waits: list[float]) -> bytes:
    """Travel to every site, sites by total minutes, each piece with its two numbers."""
    seconds = estimate.travel_seconds(lat, lon).tolist()
    totals = [s / 60 + w for s, w in zip(seconds, waits, strict=True)]
    order = sorted(range(len(totals)), key=totals.__getitem__)
    return b'{"results":[' + b",".join([
        b'%s,"travel_minutes":%.1f,"total_minutes":%.1f}' % (pieces[i], seconds[i] / 60, totals[i])
        for i in order]) + b"]}"


def _serve(body: bytes, region_name: str, host: str, port: int) -> None:
    region = load_region(region_name)
    estimate = EstimateTravel.for_sites(region.sites, mode="drive")
    pieces, waits = site_pieces(body, tuple(s.id for s in region.sites))

    async def handler(request: web.Request) -> web.Response:
        query = request.query
        try:
            lat, lon = float(query["lat"]), float(query["lon"])
        except (KeyError, ValueError):
            return web.Response(status=400, text="lat and lon, please")
        return web.Response(body=minimal_answer(lat, lon, estimate, pieces, waits),
                            content_type="application/json")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    web.run_app(app, host=host, port=port, reuse_port=True, access_log=None, print=None,
                loop=uvloop.new_event_loop())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--body", required=True, help="a /v1/rank answer to take pieces from")
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18195)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    run_processes(_serve, (Path(args.body).read_bytes(), args.region, args.host, args.port),
                  args.processes)


if __name__ == "__main__":
    main()
