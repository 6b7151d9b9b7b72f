"""Each worker measures how late its event loop runs and exports it."""

from __future__ import annotations

import asyncio
import logging

import pytest

from waitless.api.app import create_app
from waitless.api.loop_lag import watch_loop_lag
from waitless.live.store import MemoryLiveStore
from waitless.metrics import Metrics
from waitless.settings import Settings, settings_from_env


class _Stop(Exception):
    pass


class _ScriptedLoop:
    """A clock and a sleep: each sleep advances the clock by the interval plus the next
    scripted lateness, and the sleep after the last one ends the watcher."""

    def __init__(self, late_seconds: list[float]) -> None:
        self.now = 1_000.0
        self.late = list(late_seconds)
        self.asked: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.asked.append(seconds)
        if not self.late:
            raise _Stop
        self.now += seconds + self.late.pop(0)


async def test_the_lateness_of_each_timer_is_observed_and_a_long_one_logged(caplog):
    scripted = _ScriptedLoop([0.0, 0.004, 0.25, 0.0])
    observed: list[float] = []
    with caplog.at_level(logging.WARNING, logger="waitless.api.loop_lag"), \
            pytest.raises(_Stop):
        await watch_loop_lag(observed.append, interval_seconds=0.1, warn_seconds=0.1,
                             clock=scripted.clock, sleep=scripted.sleep)
    assert observed == pytest.approx([0.0, 0.004, 0.25, 0.0])
    assert scripted.asked == [0.1] * 5
    # Only the 250 ms pause is worth a log line.
    assert [r.getMessage() for r in caplog.records] == [
        "event loop ran 250 ms late: every request in this worker waited as long"]


async def test_a_clock_that_reads_early_never_gives_a_negative_lag():
    scripted = _ScriptedLoop([-0.01])
    observed: list[float] = []
    with pytest.raises(_Stop):
        await watch_loop_lag(observed.append, warn_seconds=0.1, clock=scripted.clock,
                             sleep=scripted.sleep)
    assert observed == [0.0]


def test_lags_land_in_the_exported_histogram():
    metrics = Metrics()
    for seconds in (0.0004, 0.003, 0.12):
        metrics.loop_lag.observe(seconds)
    lines = metrics.render().decode().splitlines()
    assert 'waitless_event_loop_lag_seconds_bucket{le="0.001"} 1.0' in lines
    assert 'waitless_event_loop_lag_seconds_bucket{le="0.005"} 2.0' in lines
    assert 'waitless_event_loop_lag_seconds_bucket{le="0.1"} 2.0' in lines
    assert 'waitless_event_loop_lag_seconds_bucket{le="0.25"} 3.0' in lines
    assert 'waitless_event_loop_lag_seconds_count 3.0' in lines


async def test_the_app_runs_the_watcher_while_it_serves_and_stops_it_after(
        aiohttp_client, kent, tmp_path):
    app = create_app(Settings(spool_dir=str(tmp_path)), region=kent,
                     live_store=MemoryLiveStore())
    client = await aiohttp_client(app)
    watchers = [t for t in asyncio.all_tasks() if t.get_name() == "loop-lag"]
    assert len(watchers) == 1 and not watchers[0].done()
    assert "waitless_event_loop_lag_seconds_count" in await (
        await client.get("/metrics")).text()
    await client.close()
    assert watchers[0].done()


def test_the_warning_threshold_is_a_setting_in_milliseconds():
    assert settings_from_env({}).loop_lag_warn_ms == 100.0
    assert settings_from_env({"WAITLESS_LOOP_LAG_WARN_MS": "40"}).loop_lag_warn_ms == 40.0
