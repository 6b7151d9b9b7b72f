"""CPU cost of ranking alone (no HTTP) and memory per worker.

    python -m load_tests.bench_ranking            # 17 real sites and 500 synthetic sites
    python -m load_tests.bench_ranking --rss-graph-nodes 2000000   # adds an England-scale graph

Ranking runs on a snapshot filled with 30 hours of simulator history (so the arrival-wait
predictor does its real work), over varied origins, conditions and ages.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson

from feeds.adapters.native import parse
from feeds.ingest import with_service_kinds
from feeds.simulator import native_document
from load_tests.scenario import rank_paths
from routing.estimate import EstimateTravel
from waitless.api.query import parse_rank_query
from waitless.domain.region import DEFAULT_REGION, Region, load_region, parse_region
from waitless.live.snapshot import LiveSnapshot, reload
from waitless.live.store import MemoryLiveStore
from waitless.ranking.history import PredictionState
from waitless.ranking.rank import rank

NOW = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)


def rss_mb(pid: int | None = None) -> float:
    """Resident set size in MB from /proc."""
    status = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    return kb / 1024


def synthetic_region(n_sites: int, *, seed: int = 0) -> Region:
    """``n_sites`` sites across England's bounding box with a realistic service mix."""
    rng = random.Random(seed)
    sites = []
    for i in range(n_sites):
        roll = rng.random()
        services = ([{"kind": "ed", "hours": "24h"}, {"kind": "utc", "hours": "08:00-20:00"}]
                    if roll < 0.3 else [{"kind": "utc" if roll < 0.8 else "miu",
                                         "hours": "24h" if roll < 0.4 else "08:00-20:00"}])
        sites.append({"id": f"S{i:04d}", "name": f"Site {i}", "lat": rng.uniform(50.5, 54.5),
                      "lon": rng.uniform(-2.5, 1.3), "services": services})
    return parse_region({"region": {"name": f"synthetic-{n_sites}", "timezone": "Europe/London"},
                         "ranking": {"max_origin_distance_km": 400}, "sites": sites})


async def _snapshot(region: Region) -> tuple[LiveSnapshot, PredictionState]:
    store = MemoryLiveStore()
    at = NOW - timedelta(hours=30)
    while at <= NOW:
        observations = with_service_kinds(region, parse(orjson.dumps(
            native_document(region, seed=1, now=at)), feed_name="sim"))
        await store.write(region.name, observations)
        at += timedelta(minutes=10)
    snapshot = LiveSnapshot()
    predictions = PredictionState(region.timezone)
    snapshot.on_readings.append(predictions.add_readings)
    for _ in range(200):  # let every service get its model fitted
        await reload(snapshot, store, region.name)
    return snapshot, predictions


def ranking_cost_us(region: Region, *, requests: int = 2000) -> dict[str, float]:
    """Median and p90 microseconds per request of ranking compute alone (travel times given),
    for the reference (``rank`` + ``answer_json`` + ``orjson.dumps``) and the compiled fast path
    (``FastRanker.answer`` + ``body_json``, with the compiled loop where it is built), all
    producing the same bytes; plus the fast path with the straight-line travel estimate
    included, and with its Python loop (the path without a C compiler). Wall-clock
    (``perf_counter``) and this thread's CPU time (``thread_time``: less sensitive to other
    load on the machine)."""
    from waitless.api.answer_json import answer_json
    from waitless.ranking.fast import FastRanker

    snapshot, predictions = asyncio.run(_snapshot(region))
    model = EstimateTravel.for_sites(region.sites, max_origin_distance_m=400_000)
    queries = [parse_rank_query(dict(_query(p)), now=NOW, tz=region.timezone)
               for p in rank_paths(region, requests, seed=2, now=NOW)]
    travel = [model.travel_seconds(q.lat, q.lon) for q in queries]
    ranker = FastRanker(region)
    python_loop = FastRanker(region, use_core=False)
    observations, history = snapshot.observations, predictions.history

    def reference(request: object, seconds: np.ndarray) -> bytes:
        answer = rank(region, observations, request, travel_seconds=seconds,
                      travel_source=model.source, now=NOW, history=history)
        return orjson.dumps({**answer_json(answer), "region": region.name, "event_id": "-"})

    def fast(request: object, seconds: np.ndarray) -> bytes:
        made = ranker.answer(request, observations, travel_seconds=seconds,
                             travel_source=model.source, now=NOW, history=history)
        return reference(request, seconds) if made is None else made.body_json(region.name, "-")

    def fast_with_travel(request: object, _: np.ndarray) -> bytes:
        return fast(request, model.travel_seconds(request.lat, request.lon))

    def fast_python_loop(request: object, seconds: np.ndarray) -> bytes:
        made = python_loop.answer(request, observations, travel_seconds=seconds,
                                  travel_source=model.source, now=NOW, history=history)
        return reference(request, seconds) if made is None else made.body_json(region.name, "-")

    result: dict[str, float] = {"sites": len(region.sites)}
    for name, run in (("reference", reference), ("fast", fast),
                      ("fast_with_travel", fast_with_travel),
                      ("fast_python_loop", fast_python_loop)):
        for clock_name, clock in (("wall", time.perf_counter_ns), ("cpu", time.thread_time_ns)):
            times = []
            for request, seconds in zip(queries, travel, strict=True):
                start = clock()
                run(request, seconds)
                times.append((clock() - start) / 1000)
            times.sort()
            result[f"{name}_{clock_name}_median_us"] = round(statistics.median(times), 1)
            result[f"{name}_{clock_name}_p90_us"] = round(times[int(0.9 * len(times))], 1)
    # "fast" is the compiled loop where it is built (waitless.ranking.core), else Python's.
    result["compiled_loop"] = ranker.use_core
    result["compiled_loop_answers"] = ranker.core_answers
    result["compiled_loop_fallbacks"] = ranker.core_fallbacks
    result["rss_mb"] = round(rss_mb(), 1)
    return result


def calibration_us() -> float:
    """Median µs of a fixed piece of pure Python (``sum(range(1000))``): how fast this machine
    runs Python right now, to read the other figures against (about 10 µs on an idle core of
    a recent server CPU)."""
    times = []
    for _ in range(2000):
        start = time.perf_counter_ns()
        sum(range(1000))
        times.append((time.perf_counter_ns() - start) / 1000)
    return round(statistics.median(times), 1)


def stage_costs_us(region: Region, *, requests: int = 2000) -> dict[str, float]:
    """Median microseconds of each step of answering /v1/rank, outside HTTP."""
    from waitless.api.answer_json import answer_json
    from waitless.ranking.event_row import CentreFigures, ranking_event

    snapshot, predictions = asyncio.run(_snapshot(region))
    model = EstimateTravel.for_sites(region.sites, max_origin_distance_m=400_000)
    stages: dict[str, list[float]] = {k: [] for k in
                                      ("parse", "travel", "rank", "event_row", "serialise")}
    for path in rank_paths(region, requests, seed=4, now=NOW):
        query = dict(_query(path))
        t0 = time.perf_counter_ns()
        request = parse_rank_query(query, now=NOW, tz=region.timezone)
        t1 = time.perf_counter_ns()
        seconds = model.travel_seconds(request.lat, request.lon)
        t2 = time.perf_counter_ns()
        answer = rank(region, snapshot.observations, request, travel_seconds=seconds,
                      travel_source=model.source, now=NOW, history=predictions.history)
        t3 = time.perf_counter_ns()
        ranking_event(region, answer, centre=CentreFigures.from_travel(region, seconds))
        t4 = time.perf_counter_ns()
        orjson.dumps(answer_json(answer))
        t5 = time.perf_counter_ns()
        for name, (a, b) in zip(stages, ((t0, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5)),
                                strict=True):
            stages[name].append((b - a) / 1000)
    return {name: round(statistics.median(values), 1) for name, values in stages.items()}


def road_graph_query_us() -> float | None:
    """Median µs of one road-graph travel query (KD-tree nearest node + table row), Helsinki."""
    from routing.bench import bench_helsinki

    with tempfile.TemporaryDirectory() as tmp:
        return bench_helsinki(Path(tmp)).get("query_us")


def _query(path: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl, urlsplit
    return parse_qsl(urlsplit(path).query)


def graph_rss(n_nodes: int, n_sites: int = 20) -> dict[str, float]:
    """RSS of a process holding a synthetic road-graph table, before and after 20k queries."""
    from routing.bench import bench_synthetic
    from routing.errors import OutsideCoverage
    from routing.travel import RoadGraphTravel

    with tempfile.TemporaryDirectory() as tmp:
        bench_synthetic(Path(tmp), n_nodes, n_sites)
        before = rss_mb()
        model = RoadGraphTravel.load(tmp, "synthetic")
        loaded = rss_mb()
        rng = np.random.default_rng(5)
        side = int(np.ceil(np.sqrt(n_nodes)))  # the synthetic grid's extent (routing.bench)
        lats = rng.uniform(51.0, 51.0 + side * 0.0015, 20_000)
        lons = rng.uniform(0.5, 0.5 + side * 0.0024, 20_000)
        for lat, lon in zip(lats, lons, strict=True):
            with suppress(OutsideCoverage):
                model.travel_seconds(float(lat), float(lon))
        return {"nodes": n_nodes, "sites": n_sites, "rss_before_load_mb": before,
                "rss_after_load_mb": loaded, "rss_after_queries_mb": rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rss-graph-nodes", type=int, default=0,
                        help="also measure a synthetic road graph of this many nodes")
    args = parser.parse_args()
    kent = load_region(DEFAULT_REGION)
    print("calibration: sum(range(1000)) median µs", calibration_us(), "; load average",
          os.getloadavg())
    print("stages (median µs)", stage_costs_us(kent), "road-graph query",
          road_graph_query_us())
    for region in (kent, synthetic_region(500)):
        print(region.name, ranking_cost_us(region))
    print("calibration after: sum(range(1000)) median µs", calibration_us(), "; load average",
          os.getloadavg())
    if args.rss_graph_nodes:
        print("graph", graph_rss(args.rss_graph_nodes))


if __name__ == "__main__":
    main()
