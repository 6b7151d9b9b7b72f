"""CPU per ranking event written to PostgreSQL: the keyed insert against ``COPY``.

    python -m load_tests.bench_event_writes [--dsn postgresql://postgres@127.0.0.1:5432/postgres]

Creates a scratch database, writes batches of 500 events (the event log's batch size) with
:func:`~waitless.events.writes.insert_events` (what a replay from the spool uses) and
:func:`~waitless.events.writes.copy_new_events` (what a batch from the queue uses), in
alternating rounds, and prints per event: this process's CPU, the PostgreSQL backend's CPU
(read from ``/proc``, so only for a server on this machine) and wall time. Drops the database.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from waitless.events.migrations import migrate
from waitless.events.writes import copy_new_events, insert_events
from waitless.ranking.privacy import coarse_cell

BATCH = 500
BATCHES = 60
SCRATCH_DB = "waitless_bench_event_writes"


def _events(count: int) -> list[dict[str, Any]]:
    cell, lat, lon = coarse_cell(51.2802, 1.0789)
    now = datetime.now(UTC)
    return [{"event_id": str(uuid.uuid4()), "occurred_at": now, "region": "kent-medway",
             "origin_cell": cell, "origin_lat_coarse": lat, "origin_lon_coarse": lon,
             "condition": "sprain_strain", "age_band": "16-64", "mode": "drive",
             "emergency": False, "recommended_site": "RVVKC", "recommended_kind": "utc",
             "nearest_site": "RVVKC", "nearest_kind": "utc", "nearest_ed": "RVV01",
             "estimated_minutes": 42.0, "nearest_ed_minutes": 11.0, "results_count": 17,
             "travel_source": "estimate", "nearest_ed_total_minutes": 55.0}
            for _ in range(count)]


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks


async def measure(dsn: str, rounds: int = 2) -> list[dict[str, Any]]:
    admin = await asyncpg.connect(dsn)
    await admin.execute(f"DROP DATABASE IF EXISTS {SCRATCH_DB}")
    await admin.execute(f"CREATE DATABASE {SCRATCH_DB}")
    results = []
    try:
        conn = await asyncpg.connect(dsn.rsplit("/", 1)[0] + f"/{SCRATCH_DB}")
        try:
            await migrate(conn)
            backend = await conn.fetchval("SELECT pg_backend_pid()")
            for _ in range(rounds):
                for name, write in (("keyed insert", insert_events), ("copy", copy_new_events)):
                    batches = [_events(BATCH) for _ in range(BATCHES)]
                    server0, wall0, client0 = (_cpu_seconds(backend), time.perf_counter(),
                                               time.process_time())
                    for batch in batches:
                        await write(conn, batch)
                    server1 = _cpu_seconds(backend)
                    events = BATCH * BATCHES
                    results.append({
                        "write": name,
                        "client_cpu_us": round((time.process_time() - client0) / events * 1e6, 1),
                        "server_cpu_us": (None if server0 is None or server1 is None else
                                          round((server1 - server0) / events * 1e6, 1)),
                        "wall_us": round((time.perf_counter() - wall0) / events * 1e6, 1)})
        finally:
            await conn.close()
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {SCRATCH_DB}")
        await admin.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a database to connect to for creating the scratch one")
    args = parser.parse_args()
    for row in asyncio.run(measure(args.dsn)):
        print(row)


if __name__ == "__main__":
    main()
