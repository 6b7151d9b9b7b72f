"""England projection: memory per API worker and start-up time on a large synthetic region.

``python -m load_tests.england [--nodes 2000000] [--sites 50] [--workers 2] [--requests 300]``

Builds the synthetic street grid of :mod:`routing.bench` (the graph the routing benchmarks use)
with ``--sites`` random sites, writes a region file for exactly those sites and their drive and
walk tables (the same graph for both modes: a real walk graph is larger), then starts
``--workers`` separate ``waitless serve --workers 1`` processes on that region one after the
other, as Kubernetes starts pods. For each it reports the start-up time (process start to
``/healthz`` answering, and to ``/readyz`` with the road graph in use), then, after
``--requests`` rankings from random origins, its memory from ``/proc/PID/smaps_rollup``:
resident (RSS), proportional (PSS: shared pages divided among the processes sharing them) and
private. The same is measured with no graph cache (straight-line estimate), which is the
service's own memory without tables. Linux only (``smaps_rollup``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from routing import io
from routing.bench import synthetic_graph, synthetic_site_table
from routing.snapcache import save_snapper
from waitless.domain.region import load_region

READY_TIMEOUT_SECONDS = 300.0


def free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def region_toml(name: str, sites: list[tuple[str, float, float]]) -> str:
    """A region file for synthetic sites (every one a 24-hour UTC)."""
    lines = [f'[region]\nname = "{name}"\ntitle = "Synthetic {name}"\n'
             'timezone = "Europe/London"\n\n[ranking]\nmax_origin_distance_km = 400\n']
    for site_id, lat, lon in sites:
        lines.append(f'[[sites]]\nid = "{site_id}"\nname = "Site {site_id}"\nlat = {lat:.6f}\n'
                     f'lon = {lon:.6f}\n[[sites.services]]\nkind = "utc"\nhours = "24h"\n')
    return "\n".join(lines)


def build_region(root: Path, n_nodes: int, n_sites: int, *, seed: int = 1) -> dict[str, Any]:
    """Write ``root/region.toml`` and ``root/cache`` (drive and walk); figures in s and MB."""
    started = time.perf_counter()
    arrays = synthetic_graph(n_nodes)
    generate_s = time.perf_counter() - started
    rng = np.random.default_rng(seed)
    picks = rng.choice(arrays.n_nodes, n_sites, replace=False)
    site_ids = [f"S{i:03d}" for i in range(n_sites)]
    sites = [(s, float(arrays.node_lat[p]), float(arrays.node_lon[p]))
             for s, p in zip(site_ids, picks, strict=True)]
    region_file = root / "region.toml"
    region_file.write_text(region_toml("synthetic-england", sites))
    region = load_region(str(region_file))
    # As `routing.bench` and `waitless graph build` do: sites enter the graph at their nearest
    # edges, and the edge segments and their snapping index are saved for origins.
    started = time.perf_counter()
    snapper, table, entries, snap_m = synthetic_site_table(arrays, picks, site_ids)
    table_s = time.perf_counter() - started
    cache = root / "cache"
    for mode in ("drive", "walk"):
        directory = io.mode_dir(cache, region.name, mode)
        io.save_graph(directory, arrays)
        save_snapper(directory, snapper)
        io.save_table(directory, table, {
            "region": region.name, "mode": mode,
            "graph": {"key": {"source": {"synthetic": True}}, "osm_timestamp": None},
            "site_ids": site_ids, "sites_hash": region.sites_hash(),
            "site_entries": entries.to_json(), "site_snap_m": snap_m.tolist(),
            "access_speed_kph": 20.0, "max_snap_m": 2000.0, "n_nodes": arrays.n_nodes,
            "n_sites": n_sites, "table_built_at": "england-bench"})
    return {"nodes": arrays.n_nodes, "edges": int(arrays.csr.nnz), "sites": n_sites,
            "generate_s": generate_s, "table_s": table_s,
            "cache_mb": sum(f.stat().st_size for f in cache.rglob("*") if f.is_file()) / 1e6,
            "region_file": region_file, "cache": cache,
            # Patients anywhere on the road network (a small step off it).
            "origins": [(float(arrays.node_lat[n]) + 0.0003, float(arrays.node_lon[n]))
                        for n in rng.choice(arrays.n_nodes, 5000)]}


def smaps_mb(pid: int) -> dict[str, float]:
    """RSS, PSS, private and shared memory of a process, MB (from smaps_rollup)."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, rest = line.partition(":")
        fields[key] = float(rest.split()[0]) / 1024  # kB -> MiB
    return {"rss": fields["Rss"], "pss": fields["Pss"],
            "private": fields["Private_Clean"] + fields["Private_Dirty"],
            "shared": fields["Shared_Clean"] + fields["Shared_Dirty"]}


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, b""


def start_worker(region_file: Path, cache: Path | None, workdir: Path) -> dict[str, Any]:
    """Start one ``waitless serve`` and wait for it; start-up seconds measured from exec."""
    port = free_port()
    env = {**os.environ, "WAITLESS_REGION": str(region_file), "WAITLESS_RATE_LIMIT": "off",
           "WAITLESS_GRAPH_CACHE": str(cache or workdir / "no-cache"),
           "WAITLESS_SPOOL_DIR": str(workdir / f"spool-{port}"), "WAITLESS_REDIS_URL": "",
           "WAITLESS_DATABASE_URL": ""}
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "waitless", "serve", "--workers", "1",
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    listening_s = ready_s = None
    while time.monotonic() - started < READY_TIMEOUT_SECONDS:
        if proc.poll() is not None:
            msg = f"waitless serve exited with {proc.returncode}"
            raise RuntimeError(msg)
        if listening_s is None and _get(base + "/healthz")[0] == 200:
            listening_s = time.monotonic() - started
        if listening_s is not None:
            status, body = _get(base + "/readyz")
            if status == 200:
                ready_s = time.monotonic() - started
                break
        time.sleep(0.05)
    if ready_s is None:
        proc.kill()
        msg = "waitless serve did not become ready"
        raise RuntimeError(msg)
    road = b'"drive":"road_graph"' in body.replace(b" ", b"")
    return {"proc": proc, "base": base, "listening_s": listening_s, "ready_s": ready_s,
            "road_graph": road}


def rank_requests(base: str, origins: list[tuple[float, float]], n: int, seed: int) -> float:
    """Send ``n`` rankings from random origins; median ms."""
    rng = np.random.default_rng(seed)
    times = []
    for _ in range(n):
        lat, lon = origins[int(rng.integers(len(origins)))]
        started = time.perf_counter()
        status, body = _get(f"{base}/v1/rank?lat={lat:.5f}&lon={lon:.5f}")
        times.append(time.perf_counter() - started)
        if status != 200:
            msg = f"/v1/rank answered {status}: {body[:300]!r}"
            raise RuntimeError(msg)
    return 1000 * float(np.median(times))


def measure(region: dict[str, Any], workdir: Path, *, use_cache: bool, workers: int,
            requests: int) -> list[dict[str, Any]]:
    """Start ``workers`` servers one after another; then query each and read its memory."""
    running = []
    try:
        for _ in range(workers):
            running.append(start_worker(region["region_file"],
                                        region["cache"] if use_cache else None, workdir))
        for i, worker in enumerate(running):
            worker["rank_ms"] = rank_requests(worker["base"], region["origins"], requests, i)
        for worker in running:
            worker.update(smaps_mb(worker["proc"].pid))
    finally:
        for worker in running:
            worker["proc"].terminate()
            worker["proc"].wait(30)
    return running


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=2_000_000)
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="waitless-england-"))
    try:
        region = build_region(workdir, args.nodes, args.sites)
        print(f"graph: {region['nodes']:,} nodes, {region['edges']:,} edges, "
              f"{region['sites']} sites; generated in {region['generate_s']:.1f} s, table "
              f"{region['table_s']:.1f} s; cache {region['cache_mb']:.1f} MB (drive + walk)")
        print("| travel | worker | to /healthz s | to /readyz s | road graph | rank median ms "
              "| RSS MiB | PSS MiB | private MiB | shared MiB |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for use_cache in (False, True):
            for i, w in enumerate(measure(region, workdir, use_cache=use_cache,
                                          workers=args.workers, requests=args.requests)):
                print(f"| {'road graph' if use_cache else 'estimate'} | {i + 1} | "
                      f"{w['listening_s']:.2f} | {w['ready_s']:.2f} | {w['road_graph']} | "
                      f"{w['rank_ms']:.1f} | {w['rss']:.0f} | {w['pss']:.0f} | "
                      f"{w['private']:.0f} | {w['shared']:.0f} |", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
