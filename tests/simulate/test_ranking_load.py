"""Load-aware ranking: the sent-not-arrived counts, the formula, the settings, the hook."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from waitless.api.answer_json import answer_json
from waitless.domain.errors import RegionError
from waitless.domain.load_aware_settings import LoadAwareSettings, parse_load_aware
from waitless.domain.observation import Observation
from waitless.domain.region import parse_region
from waitless.ranking.load import (
    LoadView,
    SentTracker,
    SiteLoads,
    extra_wait_minutes,
    minutes_per_patient,
)
from waitless.ranking.rank import RankRequest, rank

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
T0 = NOW.timestamp()

TWO_UTCS = """
[region]
name = "twotowns"
timezone = "Europe/London"
[[sites]]
id = "A"
name = "A UTC"
lat = 51.0
lon = 1.0
[[sites.services]]
kind = "utc"
hours = "24h"
[[sites]]
id = "B"
name = "B UTC"
lat = 51.1
lon = 1.1
[[sites.services]]
kind = "utc"
hours = "24h"
"""


class Clock:
    def __init__(self, epoch_s: float) -> None:
        self.epoch_s = epoch_s

    def __call__(self) -> float:
        return self.epoch_s


def test_pending_counts_only_arrivals_after_the_reading_and_before_the_patient():
    tracker = SentTracker(Clock(T0))
    for minutes in (-20, 5, 10, 30):
        tracker.record("A/utc", T0 + minutes * 60)
    tracker.record("B/utc", T0 + 10 * 60)
    # Reading observed 15 minutes ago; the patient arrives in 20 minutes.
    assert tracker.pending("A/utc", T0 - 15 * 60, T0 + 20 * 60) == 2
    assert tracker.pending("A/utc", T0 - 30 * 60, T0 + 40 * 60) == 4
    assert tracker.pending("B/utc", T0 - 15 * 60, T0 + 20 * 60) == 1
    assert tracker.pending("A/utc", T0 + 20 * 60, T0 + 20 * 60) == 0


def test_peers_counts_are_added_without_counting_own_flushed_answers_twice():
    tracker = SentTracker(Clock(T0))
    tracker.record("A/utc", T0 + 600)
    tracker.record("A/utc", T0 + 600)
    flushed = tracker.take_unflushed()
    assert flushed == {("A/utc", int((T0 + 600) // 60)): 2}
    tracker.record("A/utc", T0 + 600)  # recorded after the flush, not yet shared
    # The shared total holds our 2 flushed plus 5 from other workers.
    tracker.set_peer_totals({("A/utc", int((T0 + 600) // 60)): 7})
    assert tracker.pending("A/utc", T0, T0 + 900) == 3 + 5
    assert tracker.take_unflushed() == {("A/utc", int((T0 + 600) // 60)): 1}


def test_prune_forgets_arrivals_older_than_the_horizon():
    clock = Clock(T0)
    tracker = SentTracker(clock, horizon_minutes=60)
    tracker.record("A/utc", T0 + 60)
    clock.epoch_s = T0 + 30 * 60
    tracker.prune()
    assert tracker.pending("A/utc", T0, T0 + 3600) == 1
    clock.epoch_s = T0 + 2 * 3600
    tracker.prune()
    assert tracker.pending("A/utc", T0, T0 + 3600) == 0
    assert tracker.local == {}


def test_formula_and_minutes_per_patient():
    settings = LoadAwareSettings(minutes_per_patient={"ed": 9.0, "utc": 6.0, "miu": 7.0})
    assert extra_wait_minutes(10, 0.5, 6.0, 240) == 30.0
    assert extra_wait_minutes(1000, 1.0, 6.0, 240) == 240
    obs = Observation("A", "utc", 40.0, NOW, patients_waiting=8)
    assert minutes_per_patient("utc", obs, settings) == 5.0  # 40 min / 8 waiting
    # Without a queue length the region's default stands; odd ratios are bounded.
    assert minutes_per_patient("utc", Observation("A", "utc", 40.0, NOW), settings) == 6.0
    assert minutes_per_patient("utc", Observation("A", "utc", 300.0, NOW,
                                                  patients_waiting=1), settings) == 24.0


def parse_load_settings(raw):
    return parse_load_aware(raw, error=RegionError)


def test_settings_are_validated():
    assert parse_load_settings(None) == LoadAwareSettings()
    assert parse_region(tomllib.loads(TWO_UTCS)).load_aware == LoadAwareSettings()
    parsed = parse_load_settings({"enabled": True, "follow_rate": 0.3,
                                  "minutes_per_patient": {"ed": 12}})
    assert parsed.enabled and parsed.follow_rate == 0.3
    assert parsed.minutes_per_patient == {"ed": 12.0, "utc": 6.0, "miu": 7.0}
    for bad in ({"follow_rate": 1.5}, {"enabled": "yes"}, {"horizon_minutes": 0},
                {"minutes_per_patient": {"gp": 5}}, {"minutes_per_patient": {"ed": -1}},
                {"folow_rate": 0.5}, {"sync_seconds": float("nan")}):
        with pytest.raises(RegionError):
            parse_load_settings(bad)
    with pytest.raises(RegionError, match="follow_rate"):
        parse_region(tomllib.loads(TWO_UTCS + "[load_aware]\nfollow_rate = 2\n"))


def _rank(a_reading: Observation, b_reading: Observation, load: LoadView | None
          ) -> list[dict]:
    """The two UTCs ranked for a sprain, 10 minutes' travel to each."""
    region = parse_region(tomllib.loads(TWO_UTCS))
    snapshot = {"A/utc": a_reading, "B/utc": b_reading}
    request = RankRequest(51.05, 1.05, depart_at=NOW, condition="sprain_strain")
    answer = rank(region, snapshot, request, travel_seconds=np.array([600.0, 600.0]),
                  travel_source="estimate", now=NOW, load=load)
    return answer_json(answer)["results"]


def _answer(load: LoadView | None) -> list[dict]:
    return _rank(Observation("A", "utc", 20.0, NOW - timedelta(minutes=10), patients_waiting=4),
                 Observation("B", "utc", 30.0, NOW - timedelta(minutes=10), patients_waiting=6),
                 load)


def test_site_loads_count_and_adjust_each_site_in_its_home_region_s_view():
    # A is home in "north" (follow rate 1), B in "south" (0.5); C's region does not count.
    views = {name: LoadView(SentTracker(Clock(T0)), LoadAwareSettings(enabled=True,
                                                                      follow_rate=rate))
             for name, rate in (("north", 1.0), ("south", 0.5))}
    loads = SiteLoads(views, {"A": "north", "B": "south"})
    for key in ("A/utc", "B/utc", "B/utc"):
        loads.record(key, T0 + 300)
    assert loads.record("C/utc", T0 + 300) is None
    assert set(views["north"].tracker.local) == {"A/utc"}
    assert set(views["south"].tracker.local) == {"B/utc"}
    # Both sites wait 20 minutes for 4: 5 minutes a patient, by each home's follow rate.
    reading = Observation("A", "utc", 20.0, NOW - timedelta(minutes=10), patients_waiting=4)
    minutes = {key: loads.adjustment_minutes(key, "utc", reading, T0 + 600, wait_status="live")
               for key in ("A/utc", "B/utc", "C/utc")}
    assert minutes == {"A/utc": 5.0, "B/utc": 5.0, "C/utc": 0.0}  # 1 x 1 x 5, 0.5 x 2 x 5
    # A patient asking again: taken back where it was counted, and only there.
    sent = views["south"].tracker.record("B/utc", T0 + 300)
    assert loads.counted(sent) == sent and loads.counted(sent._replace(key="C/utc")) is None
    with loads.without(sent):
        assert views["south"].tracker.pending("B/utc", T0, T0 + 600) == 2
    loads.forget(sent)
    assert views["south"].tracker.pending("B/utc", T0, T0 + 600) == 2
    assert views["north"].tracker.pending("A/utc", T0, T0 + 600) == 1


def test_rank_without_load_reports_zero_adjustment():
    results = _answer(None)
    assert [r["site_id"] for r in results] == ["A", "B"]
    assert [r["load_adjustment_minutes"] for r in results] == [0.0, 0.0]


def test_patients_sent_to_the_shortest_wait_push_it_below_the_next():
    tracker = SentTracker(Clock(T0))
    for _ in range(6):  # six answers sent patients to A, arriving in 5 minutes
        tracker.record("A/utc", T0 + 300)
    view = LoadView(tracker, LoadAwareSettings(enabled=True, follow_rate=0.5))
    results = _answer(view)
    # A: 20 + 0.5 x 6 x (20 / 4) = 35 minutes, now behind B's 30.
    assert [r["site_id"] for r in results] == ["B", "A"]
    a = results[1]
    assert a["load_adjustment_minutes"] == 15.0
    assert a["predicted_wait_minutes"] == 35.0
    assert a["total_minutes"] == 45.0
    assert results[0]["load_adjustment_minutes"] == 0.0


def _rank_with(a_reading: Observation, view: LoadView) -> list[dict]:
    return _rank(a_reading, Observation("B", "utc", 45.0, NOW - timedelta(minutes=10),
                                        patients_waiting=9), view)


@pytest.mark.parametrize(("reading", "status", "total_minutes"), [
    # Last good figure 2 hours old (the feed's later values rejected): stale, 10 + 30 penalty.
    (Observation("A", "utc", 10.0, NOW - timedelta(minutes=120), patients_waiting=1), "stale",
     50.0),
    # A figure the ranking does not believe (over validation's bound): the assumed 120 min.
    (Observation("A", "utc", 5000.0, NOW - timedelta(minutes=10), patients_waiting=10),
     "implausible", 130.0),
])
def test_a_reading_the_ranking_does_not_trust_adds_no_load(reading: Observation, status: str,
                                                           total_minutes: float):
    tracker = SentTracker(Clock(T0))
    for minutes in (-100, -60, -30, 5):  # sent to A over the last two hours and one arriving
        tracker.record("A/utc", T0 + minutes * 60)
    results = _rank_with(reading, LoadView(tracker, LoadAwareSettings(enabled=True,
                                                                      follow_rate=0.5)))
    a = next(r for r in results if r["site_id"] == "A")
    assert a["wait_status"] == status
    # Before: stale A counted all four since its old reading, 0.5 x 4 x 10 min = +20 min
    # (70 min in total, B first at 55); implausible A took 4x the default per patient from the
    # figure the ranking threw away, 0.5 x 1 x 24 = +12 min (142). The penalty or the assumed
    # wait is what the ranking allows for what it does not know; the load adds nothing to it.
    assert a["load_adjustment_minutes"] == 0.0
    assert a["total_minutes"] == total_minutes  # 10 min travel + the wait
    assert results[0]["site_id"] == ("A" if status == "stale" else "B")


def test_an_answer_s_own_count_is_left_out_while_it_ranks_and_replaced_after():
    tracker = SentTracker(Clock(T0))
    own = tracker.record("A/utc", T0 + 300)
    tracker.record("A/utc", T0 + 360)  # another patient
    shared = dict(tracker.unflushed)
    with tracker.without(own):  # the same patient asking again is ranked without it
        assert tracker.pending("A/utc", T0, T0 + 900) == 1
    assert tracker.pending("A/utc", T0, T0 + 900) == 2
    assert tracker.unflushed == shared  # nothing to share for a ranking (a page refresh)
    tracker.forget(own)  # a new answer replaces it
    assert tracker.pending("A/utc", T0, T0 + 900) == 1
    # Made and taken back before any sync: nothing to send for it.
    assert tracker.take_unflushed() == {("A/utc", int((T0 + 360) // 60)): 1}
