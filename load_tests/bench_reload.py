"""How long a snapshot reload holds up a worker's event loop while wait models are refitted.

    python -m load_tests.bench_reload          # Kent & Medway's services, a week of readings

Every service gets a week of readings (one a minute), the first load fits every model, then
readings ``REFIT_SECONDS`` later make every model due and reloads refit them a few at a time
(``MAX_REFITS_PER_RELOAD``), as a worker does in production once a week of history is stored.
A ticker task wakes every millisecond and records the longest gap between its wake-ups while
the reloads run: the time a request arriving then would have waited before being read. Both
ways in one run: the fits on the event loop (as before the refit moved to a worker thread) and
:meth:`PredictionState.add_readings` as served.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import numpy as np

from waitless.domain.observation import Observation
from waitless.domain.region import Region, load_region
from waitless.ranking.history import (
    MAX_REFITS_PER_RELOAD,
    REFIT_SECONDS,
    PredictionState,
    extend_history,
    refit_models,
)

START = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
TICK_SECONDS = 0.001


def week_of_readings(region: Region, start: datetime, minutes: int) -> list[Observation]:
    """One reading a minute per site service, a daily swing with some noise."""
    rng = np.random.default_rng(0)
    readings = []
    for site in region.sites:
        for service in site.services:
            level = rng.uniform(20, 200)
            for m in range(minutes):
                wait = level * (1 + 0.4 * np.sin(2 * np.pi * m / 1440)) + rng.normal(0, 8)
                readings.append(Observation(site.id, service.kind, max(float(wait), 0.0),
                                            start + timedelta(minutes=m)))
    return readings


async def longest_pause_ms(work: Callable[[], Awaitable[None]]) -> tuple[float, float]:
    """(longest gap between the ticker's wake-ups, wall time of ``work``), both in ms."""
    longest = 0.0
    done = False

    async def ticker() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(TICK_SECONDS)
            now = time.perf_counter()
            longest = max(longest, now - last - TICK_SECONDS)
            last = now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    started = time.perf_counter()
    await work()
    elapsed = time.perf_counter() - started
    done = True
    await task
    return longest * 1000, elapsed * 1000


async def compare(region: Region, *, days: int) -> dict[str, dict[str, float]]:
    """The longest loop pause of the first load and of the refitting reloads, both ways."""
    minutes = days * 1440
    first = week_of_readings(region, START, minutes)
    later_start = START + timedelta(minutes=minutes - 1, seconds=REFIT_SECONDS)
    services = sum(len(s.services) for s in region.sites)
    reloads = -(-services // MAX_REFITS_PER_RELOAD)
    batches = [week_of_readings(region, later_start + timedelta(minutes=i), 1)
               for i in range(reloads)]
    results: dict[str, dict[str, float]] = {}

    # As before: extend and refit on the event loop (the same functions, called inline).
    history: dict = {}

    async def inline_first() -> None:
        nonlocal history
        history = refit_models(extend_history(history, first), region.timezone, max_refits=None)

    async def inline_reloads() -> None:
        nonlocal history
        for batch in batches:
            history = refit_models(extend_history(history, batch), region.timezone,
                                   max_refits=MAX_REFITS_PER_RELOAD)
            await asyncio.sleep(0)  # reloads are separate turns of the loop

    results["on the event loop"] = _row(await longest_pause_ms(inline_first),
                                        await longest_pause_ms(inline_reloads))

    state = PredictionState(region.timezone)

    async def served_reloads() -> None:
        for batch in batches:
            await state.add_readings(batch)

    results["in a worker thread"] = _row(
        await longest_pause_ms(lambda: state.add_readings(first)),
        await longest_pause_ms(served_reloads))
    fitted = {key: h.fitted_at_s for key, h in state.history.items()}
    assert fitted == {key: h.fitted_at_s for key, h in history.items()}, "both must fit the same"
    results["services"] = {"count": services, "reloads": reloads, "days": days}
    return results


def _row(first: tuple[float, float], reloads: tuple[float, float]) -> dict[str, float]:
    return {"first_load_pause_ms": round(first[0], 1), "first_load_ms": round(first[1], 1),
            "reload_pause_ms": round(reloads[0], 1), "reloads_ms": round(reloads[1], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", default=None, help="region name or file (default: Kent)")
    parser.add_argument("--days", type=int, default=7, help="days of readings per service")
    args = parser.parse_args()
    for name, row in asyncio.run(compare(load_region(args.region), days=args.days)).items():
        print(name, row)


if __name__ == "__main__":
    main()
