"""Soak test: ``waitless dev`` under steady /v1/rank load while its feeds change.

    python -m load_tests.soak [--rate R] [--duration 600] [--out var/soak]

Starts ``waitless dev`` (simulator, ingestor polling every 2 s, API; rate limit off), finds
the saturation rate with a short closed loop unless ``--rate`` is given, then drives
``/v1/rank`` open-loop at half of it for ``--duration`` seconds, sampling the server's resident
memory (RSS, from /proc) every ``--sample-seconds``. Reports errors (should be none) and memory
growth: median RSS of the last minute against the first (after warm-up), both in MiB.
Writes ``soak.json`` and ``soak.md``. Linux only (reads /proc).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from load_tests.generator import LoadPlan, run_load
from load_tests.report import summarise
from load_tests.scenario import cycle, rank_paths
from waitless.domain.region import load_region


def rss_mib(pid: int) -> float:
    """Resident set size of a process, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    msg = f"no VmRSS for process {pid}"
    raise RuntimeError(msg)


def start_service(port: int, sim_port: int, spool: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAITLESS_")}
    env.update(WAITLESS_SPOOL_DIR=str(spool), WAITLESS_RATE_LIMIT="off")
    for name in ("REDIS_URL", "DATABASE_URL", "REDIS_PREFIX"):
        if os.environ.get(f"SOAK_{name}"):
            env[f"WAITLESS_{name}"] = os.environ[f"SOAK_{name}"]
    service = subprocess.Popen(
        [sys.executable, "-m", "waitless", "--log-level", "WARNING", "dev", "--port", str(port),
         "--simulator-port", str(sim_port), "--poll-seconds", "2"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2)
            return service
        except OSError:
            time.sleep(0.3)
    service.terminate()
    msg = "waitless dev did not become ready"
    raise RuntimeError(msg)


async def saturation_rate(base: str, paths: list[str], seconds: float = 5.0) -> float:
    """Closed-loop requests per second with 16 connections (what the server sustains)."""
    done = 0
    stop = time.monotonic() + seconds
    async with aiohttp.ClientSession(base) as session:
        async def worker(offset: int) -> None:
            nonlocal done
            i = offset
            while time.monotonic() < stop:
                async with session.get(paths[i % len(paths)]) as response:
                    await response.read()
                done += 1
                i += 16
        await asyncio.gather(*(worker(k) for k in range(16)))
    return done / seconds


async def soak(base: str, pid: int, paths: list[str], rate: float, duration_s: float,
               sample_s: float) -> dict[str, Any]:
    samples: list[tuple[float, float]] = []
    start = time.monotonic()

    async def sample() -> None:
        while True:
            samples.append((time.monotonic() - start, rss_mib(pid)))
            await asyncio.sleep(sample_s)

    sampler = asyncio.create_task(sample())
    plan = LoadPlan(base_url=base, rate_per_s=rate, duration_s=duration_s,
                    max_requests=int(rate * duration_s) + 10)
    result = await run_load(plan, cycle(paths))
    sampler.cancel()
    samples.append((time.monotonic() - start, rss_mib(pid)))
    return {"load": summarise(result), "rss_samples": samples}


def memory_growth(samples: list[tuple[float, float]], edge_s: float) -> dict[str, float]:
    """Median RSS in the first and last ``edge_s`` seconds, MiB, and the difference."""
    end = samples[-1][0]
    first = [m for t, m in samples if t <= edge_s] or [samples[0][1]]
    last = [m for t, m in samples if t >= end - edge_s] or [samples[-1][1]]
    a, b = statistics.median(first), statistics.median(last)
    return {"first_mib": round(a, 1), "last_mib": round(b, 1), "growth_mib": round(b - a, 1),
            "max_mib": round(max(m for _, m in samples), 1)}


def run(rate: float | None, duration_s: float, sample_s: float, out: Path | None,
        port: int = 18090, sim_port: int = 18091) -> dict[str, Any]:
    spool = (out or Path("var/soak")) / "spool"
    service = start_service(port, sim_port, spool)
    base = f"http://127.0.0.1:{port}"
    try:
        paths = rank_paths(load_region(None), 5000, seed=3)
        measured = None
        if rate is None:
            measured = asyncio.run(saturation_rate(base, paths))
            rate = max(1.0, round(measured / 2))
        body = asyncio.run(soak(base, service.pid, paths, rate, duration_s, sample_s))
    finally:
        service.terminate()
        service.wait(timeout=30)
    load = body["load"]
    errors = {k: v for k, v in load["statuses"].items() if k != "200"}
    edge = min(60.0, duration_s / 4)
    report = {"command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M %Z"),
              "cpus": os.cpu_count(), "saturation_rate_per_s": measured, "rate_per_s": rate,
              "duration_s": duration_s, "requests": load["requests_measured"],
              "errors": sum(errors.values()) + load["not_sent"], "error_statuses": errors,
              "latency_ms": load["latency_ms"], "memory": memory_growth(body["rss_samples"], edge),
              "memory_edge_s": edge, "rss_samples": body["rss_samples"]}
    if out:
        out.mkdir(parents=True, exist_ok=True)
        (out / "soak.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
        (out / "soak.md").write_text(markdown(report))
    return report


def markdown(report: dict[str, Any]) -> str:
    mem, lat = report["memory"], report["latency_ms"]
    return (
        f"## Soak: {report['duration_s']:g} s at {report['rate_per_s']:g}/s\n\n"
        f"- {report['date']}, {report['cpus']} CPUs; saturation measured "
        f"{report['saturation_rate_per_s']}/s\n"
        f"- requests {report['requests']}, errors {report['errors']} "
        f"{report['error_statuses'] or ''}\n"
        f"- latency p50 {lat['p50']} ms, p99 {lat['p99']} ms, max {lat['max']} ms\n"
        f"- RSS median first {report['memory_edge_s']:g} s {mem['first_mib']} MiB, last "
        f"{mem['last_mib']} MiB: growth {mem['growth_mib']} MiB (max {mem['max_mib']} MiB)\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=None,
                        help="requests per second (default: half the measured saturation)")
    parser.add_argument("--duration", type=float, default=600.0, help="seconds (default 600)")
    parser.add_argument("--sample-seconds", type=float, default=2.0, help="RSS sampling period")
    parser.add_argument("--out", default="var/soak", help="folder for soak.json and soak.md")
    args = parser.parse_args()
    report = run(args.rate, args.duration, args.sample_seconds, Path(args.out))
    print(markdown(report))
    return 0 if report["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
