"""The prediction state: which models a reload refits, and that fits leave the event loop free."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from waitless.domain.observation import Observation
from waitless.ranking.history import MAX_REFITS_PER_RELOAD, REFIT_SECONDS, PredictionState
from waitless.ranking.predict import WaitModel, fit_model

LONDON = ZoneInfo("Europe/London")
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _readings(sites: list[str], start: datetime, minutes: int) -> list[Observation]:
    """One reading every 5 minutes for ``minutes`` per site, a daily swing around 60 minutes."""
    return [Observation(site, "utc", 60 + 20 * float(np.sin(m / 240)), start + timedelta(minutes=m))
            for site in sites for m in range(0, minutes, 5)]


class CountingFit:
    """fit_model, remembering which service (by first reading time) and thread each fit ran on."""

    def __init__(self) -> None:
        self.threads: list[int] = []
        self.calls = 0

    def __call__(self, epoch_s: np.ndarray, waits: np.ndarray, now_s: float,
                 tz: ZoneInfo) -> WaitModel:
        self.threads.append(threading.get_ident())
        self.calls += 1
        return fit_model(epoch_s, waits, now_s, tz)


async def test_first_load_fits_every_model_then_at_most_a_few_per_reload() -> None:
    sites = [f"S{i}" for i in range(MAX_REFITS_PER_RELOAD + 2)]
    fit = CountingFit()
    state = PredictionState(LONDON, fit=fit)
    await state.add_readings(_readings(sites, START, 24 * 60))
    assert fit.calls == len(sites)
    assert all(state.history[f"{s}/utc"].model.profile is not None for s in sites)
    fitted_first = {s: state.history[f"{s}/utc"].fitted_at_s for s in sites}

    # Under REFIT_SECONDS of new readings: nothing is due.
    await state.add_readings(_readings(sites, START + timedelta(hours=24), 5))
    assert fit.calls == len(sites)

    # Every service is due now; a reload refits only MAX_REFITS_PER_RELOAD of them.
    later = START + timedelta(hours=24, seconds=REFIT_SECONDS)
    await state.add_readings(_readings(sites, later, 5))
    assert fit.calls == len(sites) + MAX_REFITS_PER_RELOAD
    refitted = [s for s in sites if state.history[f"{s}/utc"].fitted_at_s != fitted_first[s]]
    assert len(refitted) == MAX_REFITS_PER_RELOAD
    assert all(state.history[f"{s}/utc"].fitted_at_s == later.timestamp() for s in refitted)
    # The next reload takes the ones left waiting.
    await state.add_readings([])
    assert all(state.history[f"{s}/utc"].fitted_at_s == later.timestamp() for s in sites)


async def test_fits_run_in_a_worker_thread_while_the_loop_serves() -> None:
    started, release = threading.Event(), threading.Event()
    loop_thread = threading.get_ident()

    def held_fit(epoch_s: np.ndarray, waits: np.ndarray, now_s: float, tz: ZoneInfo
                 ) -> WaitModel:
        started.set()
        # On the loop's thread this would wait out the timeout and the test would fail below.
        assert release.wait(timeout=10), "the fit was never released"
        assert threading.get_ident() != loop_thread
        return fit_model(epoch_s, waits, now_s, tz)

    state = PredictionState(LONDON, fit=held_fit)
    served_meanwhile = state.history
    update = asyncio.create_task(state.add_readings(_readings(["S0"], START, 24 * 60)))
    assert await asyncio.to_thread(started.wait, 10)
    # The loop runs while the fit is held, and requests keep the histories they had.
    assert not update.done()
    assert state.history is served_meanwhile
    release.set()
    await update
    assert state.history["S0/utc"].epoch_s.size == 24 * 60 // 5
    assert state.history["S0/utc"].model.profile is not None
    last_reading = START + timedelta(minutes=24 * 60 - 5)
    assert state.history["S0/utc"].fitted_at_s == last_reading.timestamp()
