"""The compiled fast path answers exactly as the reference ranking (``rank`` + ``answer_json``).

Property test over random requests: origins, conditions, ages, ``depart_at`` in the region's
zone, UTC or a fixed offset, across both 2026 UK daylight-saving changes and at closing-margin
boundaries; live, stale, implausible, missing, future and reported-closed waits; unreachable
sites; 17 real sites and a 500-site region with unusual opening hours; with and without the
load-aware adjustment (issue 17). The JSON bytes (with ``region`` and ``event_id``) and the
event-log row must be identical.
"""

from __future__ import annotations

import asyncio
import os
import random
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing.estimate import EstimateTravel
from waitless.api.answer_json import answer_json
from waitless.domain.conditions import CONDITIONS
from waitless.domain.event_fields import event_fields
from waitless.domain.load_aware_settings import LoadAwareSettings
from waitless.domain.observation import Observation
from waitless.domain.region import Region, load_region, parse_region
from waitless.ranking import core
from waitless.ranking.compiled_hours import travel_microseconds
from waitless.ranking.event_row import CentreFigures, _nearest_sites, ranking_event
from waitless.ranking.fast import FastRanker
from waitless.ranking.history import PredictionState
from waitless.ranking.load import LoadView, SentTracker
from waitless.ranking.rank import RankRequest, nearest_sites, rank

# Instants the histories end at: an ordinary weekday, and half an hour before each 2026 UK
# daylight-saving change (29 March and 25 October, 01:00 UTC).
ANCHORS = (datetime(2026, 11, 24, 10, 30, tzinfo=UTC),
           datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
           datetime(2026, 10, 25, 0, 30, tzinfo=UTC))
ODD_HOURS = ("24h", "08:00-20:00", "20:00-02:00", "07:00-12:00,13:00-22:00", "00:00-24:00",
             {"mon": "24h", "tue": "24h", "wed": "08:00-18:00", "thu": "closed",
              "fri": "18:00-00:00", "sat": "00:00-08:00", "sun": "01:30-02:30"})


def synthetic_region(n_sites: int, seed: int) -> Region:
    rng = random.Random(seed)
    sites = []
    for i in range(n_sites):
        roll = rng.random()
        kinds = ["ed", "utc"] if roll < 0.3 else ["utc" if roll < 0.7 else "miu"]
        sites.append({"id": f"S{i:04d}", "name": f"Site {i}", "town": f"Town {i % 7}",
                      "lat": rng.uniform(50.8, 51.6), "lon": rng.uniform(0.0, 1.5),
                      "services": [{"kind": k, "hours": rng.choice(ODD_HOURS),
                                    **({"min_age_years": 5} if rng.random() < 0.2 else {})}
                                   for k in kinds]})
    return parse_region({"region": {"name": f"synthetic-{n_sites}", "timezone": "Europe/London"},
                         "ranking": {"max_origin_distance_km": 200, "max_candidates": 60,
                                     "max_travel_minutes": 120}, "sites": sites})


def _history(region: Region, anchor: datetime, services: int) -> PredictionState:
    """30 hours of readings every 10 minutes for the first ``services`` site services."""
    rng = random.Random(anchor.timestamp())
    readings = []
    keys = [(s.id, v.kind) for s in region.sites for v in s.services][:services]
    for site_id, kind in keys:
        level = rng.uniform(20, 200)
        at = anchor - timedelta(hours=30)
        while at <= anchor:
            hour = at.hour + at.minute / 60
            readings.append(Observation(site_id, kind, level * (1 + 0.5 * np.sin(hour / 3.8))
                                        + rng.uniform(-10, 10), at))
            at += timedelta(minutes=10)
    state = PredictionState(region.timezone)
    asyncio.run(state.add_readings(readings))
    return state


@pytest.fixture(scope="module")
def cases() -> dict[str, tuple[Region, list[PredictionState], EstimateTravel]]:
    kent = load_region("kent-medway")
    big = synthetic_region(500, seed=3)
    made = {}
    for region, services in ((kent, 100), (synthetic_region(17, seed=4), 100), (big, 30)):
        travel = EstimateTravel.for_sites(region.sites, max_origin_distance_m=400_000)
        made[region.name] = (region, [_history(region, a, services) for a in ANCHORS], travel)
    return made


STATES = ("live", "live", "stale", "implausible", "no_figure", "absent", "closed",
          "closed_stale", "future")


def _observation(site_id: str, kind: str, state: str, age_s: float, wait: float,
                 now: datetime) -> Observation | None:
    at = now - timedelta(seconds=age_s)
    match state:
        case "absent":
            return None
        case "stale":
            return Observation(site_id, kind, wait, now - timedelta(minutes=91) - (now - at))
        case "implausible":
            return Observation(site_id, kind, 5000.0, at, patients_waiting=3)
        case "no_figure":
            return Observation(site_id, kind, None, at)
        case "closed":
            return Observation(site_id, kind, None, at, status="closed")
        case "closed_stale":
            return Observation(site_id, kind, None, now - timedelta(hours=3), status="closed")
        case "future":
            return Observation(site_id, kind, wait, now + timedelta(seconds=age_s % 1200))
    return Observation(site_id, kind, wait, at, wait_kind="median", patients_waiting=int(wait))


@st.composite
def scenario(draw: st.DrawFn, region_name: str) -> dict:
    return {
        "anchor": draw(st.integers(0, len(ANCHORS) - 1)),
        "now_s": draw(st.floats(-1800, 4 * 3600)),
        "seed": draw(st.integers(0, 2**32 - 1)),
        "load_aware": draw(st.booleans()),
        "requests": draw(st.lists(st.tuples(
            st.floats(50.7, 51.7), st.floats(-0.2, 1.6),
            st.sampled_from([None, None, *sorted(CONDITIONS)]),
            st.one_of(st.none(), st.floats(0, 100)),
            st.sampled_from(["now", "local", "utc", "plus2", "margin"]),
            st.integers(-3600, 7 * 86400 - 4 * 3600),
            st.sampled_from([0.0, 0.000001, -0.000001, 0.4, 1.0]),
            st.floats(0, 0.05),  # later "now" within the same compiled state, seconds
            st.integers(1, 100)), min_size=1, max_size=6)),
    }


def _rankers(region: Region) -> list[FastRanker]:
    """The fast path with its Python loop, and with the compiled loop where it is built."""
    made = [FastRanker(region, use_core=False)]
    if core.AVAILABLE:
        made.append(FastRanker(region, use_core=True))
    return made


def _check(case: tuple[Region, list[PredictionState], EstimateTravel], scene: dict,
           rankers: list[FastRanker]) -> int:
    """Compare the fast paths with the reference on every request of ``scene``; return how
    many shown results carried a load adjustment (so a test can tell the load-aware branch
    was exercised)."""
    region, histories, model = case
    rng = random.Random(scene["seed"])
    anchor = ANCHORS[scene["anchor"]]
    history = histories[scene["anchor"]].history
    now = anchor + timedelta(seconds=scene["now_s"])
    observations = {}
    for site in region.sites:
        for service in site.services:
            obs = _observation(site.id, service.kind, rng.choice(STATES),
                               rng.uniform(0, 200 * 60), rng.uniform(0, 300), now)
            if obs is not None:
                observations[f"{site.id}/{service.kind}"] = obs
    load = _load_view(region, observations, now, rng) if scene["load_aware"] else None
    adjusted = 0
    tz = region.timezone
    for lat, lon, condition, age, zone, ahead_s, nudge_s, later_s, limit in scene["requests"]:
        at = now + timedelta(seconds=later_s)
        travel = model.travel_seconds(lat, lon)
        if rng.random() < 0.2:
            travel[rng.randrange(len(travel))] = np.inf
        depart = (at + timedelta(seconds=ahead_s)).astimezone(tz)
        if zone == "now":
            depart = at
        elif zone == "utc":
            depart = depart.astimezone(UTC)
        elif zone == "plus2":
            depart = depart.astimezone(timezone(timedelta(hours=2)))
        elif zone == "margin":  # one site arrives exactly at a closing-margin boundary
            depart = depart.replace(tzinfo=None).replace(tzinfo=tz)
            i = rng.randrange(len(region.sites))
            local = depart.replace(tzinfo=None)
            close = local.replace(hour=rng.choice([2, 8, 12, 18, 20, 22]), minute=0,
                                  second=0, microsecond=0) + timedelta(days=1)
            target = close - timedelta(minutes=region.ranking.closing_margin_minutes)
            travel[i] = (target - local).total_seconds() + nudge_s
        # Walking answers have their own distance limit (issue 14): both paths must apply it.
        request = RankRequest(lat=lat, lon=lon, depart_at=depart, condition=condition,
                              age_years=age, limit=limit, mode=rng.choice(("drive", "walk")))
        expected = rank(region, observations, request, travel_seconds=travel,
                        travel_source=model.source, now=at, history=history, load=load)
        reference_body = orjson.dumps({**answer_json(expected), "region": region.name,
                                       "event_id": "e"})
        for ranker in rankers:
            fast = ranker.answer(request, observations, travel_seconds=travel,
                                 travel_source=model.source, now=at, history=history, load=load)
            if fast is None:
                assert condition is not None and CONDITIONS[condition].red_flag
                continue
            assert fast.body_json(region.name, "e") == reference_body
            # The body written by the compiled module and by orjson (without it) alike.
            assert fast._body_orjson(region.name, "e") == reference_body
            adjusted += sum(1 for r in fast.results if r.load_minutes)
            centre = CentreFigures.from_travel(region, travel)
            fast_row = event_fields(ranking_event(region, fast, centre=centre))
            reference_row = event_fields(ranking_event(region, expected, centre=centre))
            fast_row.pop("event_id"), reference_row.pop("event_id")
            assert fast_row == reference_row
        assert _nearest_sites(region, travel)[:2] == nearest_sites(region, travel)
    return adjusted


def _load_view(region: Region, observations: dict[str, Observation], now: datetime,
               rng: random.Random) -> LoadView:
    """Load-aware ranking (issue 17): patients already sent to random services, arriving from
    half an hour before ``now`` to a day after it, with a random follow rate."""
    view = LoadView(SentTracker(lambda: now.timestamp()),
                    LoadAwareSettings(enabled=True, follow_rate=rng.uniform(0.05, 1.0),
                                      max_adjustment_minutes=rng.choice([15.0, 240.0])))
    keys = sorted(observations) or [f"{region.sites[0].id}/{region.sites[0].main_service.kind}"]
    for _ in range(rng.randrange(0, 400)):
        view.tracker.record(rng.choice(keys), now.timestamp() + rng.uniform(-1800, 86400))
    return view


def _settings(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


@_settings(600)
@given(scene=scenario("kent-medway"))
def test_fast_path_matches_reference_kent(cases, scene):
    _check(cases["kent-medway"], scene, _rankers(cases["kent-medway"][0]))


@_settings(300)
@given(scene=scenario("synthetic-17"))
def test_fast_path_matches_reference_odd_hours(cases, scene):
    _check(cases["synthetic-17"], scene, _rankers(cases["synthetic-17"][0]))


@_settings(60)
@given(scene=scenario("synthetic-500"))
def test_fast_path_matches_reference_500_sites(cases, scene):
    _check(cases["synthetic-500"], scene, _rankers(cases["synthetic-500"][0]))


def test_load_aware_answers_take_the_fast_path_and_carry_the_adjustment(cases):
    """Issue 17 on the compiled path: adjusted answers are identical to the reference and the
    adjustment really shows (a fixed scene, so this cannot pass vacuously)."""
    scene = {"anchor": 0, "now_s": 600.0, "seed": 7, "load_aware": True,
             "requests": [(51.28, 1.08, None, None, "now", 0, 0.0, 0.0, 100),
                          (51.38, 0.52, "sprain_strain", 30.0, "local", 1800, 0.0, 0.01, 100),
                          (51.12, 0.87, None, 4.0, "utc", 3600, 0.0, 0.02, 100)]}
    assert _check(cases["kent-medway"], scene, _rankers(cases["kent-medway"][0])) > 0


def test_fast_path_reuses_its_compiled_state(cases):
    """Requests within the same forecast bucket and snapshot share one compiled state."""
    region, histories, model = cases["kent-medway"]
    ranker = FastRanker(region)
    now = ANCHORS[0] + timedelta(seconds=0.5)
    travel = model.travel_seconds(51.28, 1.08)
    observations: dict[str, Observation] = {}
    for step_ms in range(0, 1000, 50):
        at = now + timedelta(milliseconds=step_ms)
        request = RankRequest(lat=51.28, lon=1.08, depart_at=at)
        assert ranker.answer(request, observations, travel_seconds=travel, travel_source="estimate",
                             now=at, history=histories[0].history) is not None
    assert ranker.compiles == 1
    assert ranker.fallbacks == 0
    assert ranker.core_fallbacks == 0


@pytest.mark.skipif(not core.AVAILABLE, reason="built without a C compiler")
def test_the_compiled_loop_answers_most_requests(cases):
    """The equivalence tests above compare the compiled loop only where it answers: make sure
    that is nearly everywhere (it leaves DST gaps and arrivals past its tables to Python)."""
    region = cases["kent-medway"][0]
    ranker = FastRanker(region, use_core=True)
    scene = {"anchor": 0, "now_s": 900.0, "seed": 11, "load_aware": False,
             "requests": [(51.0 + i / 50, 0.4 + i / 40, None if i % 3 else "sprain_strain",
                           None if i % 2 else float(i), ("local", "utc", "plus2", "now")[i % 4],
                           60 * i, 0.0, 0.0, 1 + i % 12) for i in range(40)]}
    _check(cases["kent-medway"], scene, [ranker])
    assert ranker.core_answers >= 38 and ranker.core_fallbacks <= 2


def test_ci_builds_the_compiled_loop():
    """CI installs with a compiler: the compiled loop must be there, not silently absent."""
    if not os.environ.get("CI"):
        pytest.skip("only CI promises a C compiler")
    assert core.AVAILABLE


@given(st.lists(st.one_of(st.floats(0, 200_000), st.integers(0, 10**11).map(lambda n: n / 1e6),
                          st.integers(0, 10**9).map(lambda n: n + 0.5e-6)), max_size=50))
def test_travel_microseconds_round_like_timedelta(seconds):
    assert travel_microseconds(seconds) == [timedelta(seconds=s) // timedelta(microseconds=1)
                                            for s in seconds]
