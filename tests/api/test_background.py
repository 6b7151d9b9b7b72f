"""What the background loops share: their rounds' timing and one log line per outage."""

from __future__ import annotations

import logging

import pytest

from waitless.api.background import OutageLog, seconds_to_next_period

LOGGER = "waitless.test.background"


def test_an_outage_logs_one_warning_and_one_recovery(caplog: pytest.LogCaptureFixture) -> None:
    outage = OutageLog(logging.getLogger(LOGGER))
    with caplog.at_level(logging.INFO, logger=LOGGER):
        outage.recovered("never failed: %s", "silent")  # working from the start: no line
        for round_number in range(3):  # three failed rounds, one outage
            outage.failed("down (%s)", round_number)
        outage.recovered("up again")
        outage.recovered("still up")
        outage.failed("down (%s)", "second outage")
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "down (0)"), ("INFO", "up again"), ("WARNING", "down (second outage)")]
    assert outage.failing


@pytest.mark.parametrize(("period_s", "now_s", "expected_s"), [
    (2.0, 100.0, 2.02),   # on a boundary: the next one
    (2.0, 101.5, 0.52),
    (5.0, 1_764_250_003.0, 2.02),
    (0.5, 10.25, 0.27),
])
def test_rounds_meet_just_after_the_period_boundaries(period_s: float, now_s: float,
                                                      expected_s: float) -> None:
    wait_s = seconds_to_next_period(period_s, now_s)
    assert wait_s == pytest.approx(expected_s)
    # A worker that starts its wait later in the same period wakes at the same instant.
    other_now_s = now_s + (wait_s - 0.02) / 2
    assert other_now_s + seconds_to_next_period(period_s, other_now_s) == pytest.approx(
        now_s + wait_s)
