"""How long a live-store change takes to reach every API worker's answers.

Writes a marker wait for one site service straight into Redis (as an ingestor would), then
asks ``/v1/sites`` over fresh connections (so SO_REUSEPORT spreads them over the workers)
until every worker (``X-WaitLess-Worker``, sent when WAITLESS_BENCH_ENDPOINTS=1 to a request
carrying that header) has shown it.

    python -m load_tests.propagation --url http://127.0.0.1:8080 --workers 2 --rounds 10

The service must run with ``WAITLESS_RATE_LIMIT=off``: the polling here is far above the
per-client limit.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime

import aiohttp

from waitless.domain.observation import Observation
from waitless.domain.region import load_region
from waitless.live.redis_store import RedisLiveStore
from waitless.settings import settings_from_env


async def _seen_by(session_url: str, site_id: str, marker: float) -> tuple[str, bool]:
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session, session.get(
            f"{session_url}/v1/sites", headers={"X-WaitLess-Worker": "?"}) as response:
        if response.status != 200:
            # A 429 here means the service runs with its per-client rate limit on; this
            # measurement polls far faster than any patient and needs WAITLESS_RATE_LIMIT=off.
            msg = f"/v1/sites answered {response.status}: {await response.text()}"
            raise RuntimeError(msg)
        body = await response.json()
        worker = response.headers.get("X-WaitLess-Worker", "?")
    site = next(s for s in body["sites"] if s["site_id"] == site_id)
    return worker, any(x["wait_minutes"] == marker for x in site["services"])


async def measure(url: str, workers: int, rounds: int, region_name: str | None
                  ) -> list[float]:
    """Seconds from the Redis write until all ``workers`` answer with it, per round."""
    settings = settings_from_env()
    if not settings.redis_url:
        msg = "set WAITLESS_REDIS_URL (and the same WAITLESS_REDIS_PREFIX as the service)"
        raise SystemExit(msg)
    region = load_region(region_name or settings.region)
    site = region.sites[0]
    store = RedisLiveStore.from_url(settings.redis_url, prefix=settings.redis_prefix)
    delays = []
    try:
        for round_number in range(rounds):
            marker = 900.0 + round_number + 0.5
            obs = Observation(site.id, site.main_service.kind, marker,
                              datetime.now(UTC).replace(microsecond=0), feed="propagation")
            started = time.perf_counter()
            await store.write(region.name, [obs])
            seen: set[str] = set()
            while len(seen) < workers and time.perf_counter() - started < 30:
                worker, has_it = await _seen_by(url, site.id, marker)
                if has_it:
                    seen.add(worker)
            delays.append(time.perf_counter() - started)
            await asyncio.sleep(0.5)
    finally:
        await store.close()
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--region", default=None)
    args = parser.parse_args()
    delays = asyncio.run(measure(args.url, args.workers, args.rounds, args.region))
    print(f"rounds {len(delays)}: median {statistics.median(delays) * 1000:.0f} ms, "
          f"max {max(delays) * 1000:.0f} ms, all {[round(d * 1000) for d in delays]}")


if __name__ == "__main__":
    main()
