"""One simulated run: a seed's patients, one policy, one uptake, through the region's queues.

Sites publish their wait every ``PUBLISH_INTERVAL_MINUTES`` with a ``PUBLISH_LAG_MINUTES`` lag,
as feeds do, into a live snapshot of :class:`~waitless.domain.observation.Observation`; patients
who ask WaitLess are ranked by the real :func:`waitless.ranking.rank.rank` on that snapshot.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np

from waitless.domain.load_aware_settings import LoadAwareSettings
from waitless.domain.observation import Observation
from waitless.ranking.load import FollowRate, LoadView, SentTracker
from waitless.ranking.rank import RankRequest, rank
from waitless.simulate import calibration as cal
from waitless.simulate.queue import Calendar, ServiceQueue, schedule_staffing
from waitless.simulate.scenario import (
    MINOR_ED,
    MINOR_OTHER,
    RUN_START,
    RUN_START_MINUTE_OF_WEEK,
    WARMUP_DAYS,
    Patients,
    Scenario,
)

POLICIES = ("nearest", "live", "load-aware", "historical")
SAMPLE_MINUTES = 5.0  # how often queue waits are sampled for oscillation and plots


@dataclass
class RunResult:
    """What one run measured (patients departing after the warm-up day only).

    Attributes
    ----------
    total_minutes
        Per counted patient: travel plus arrival-to-treatment, in minutes.
    minor, at_ed
        Per counted patient: a minor condition; treated at an ED.
    users, followed
        Per counted patient: asked WaitLess; went to its first answer.
    wait_series
        Services x samples: the queue wait (line x mean treatment / servers) in minutes,
        every ``SAMPLE_MINUTES`` over the counted days.
    arrivals
        Per service, patients who arrived in the whole run.
    """

    total_minutes: np.ndarray
    minor: np.ndarray
    at_ed: np.ndarray
    users: np.ndarray
    followed: np.ndarray
    wait_series: np.ndarray
    arrivals: np.ndarray
    keys: tuple[str, ...] = field(default=())


def run(scenario: Scenario, patients: Patients, *, policy: str, uptake: float,
        compliance: float, days: int, load_settings: LoadAwareSettings | None = None
        ) -> RunResult:
    """Simulate ``days`` counted days (after the warm-up day) under one policy.

    Parameters
    ----------
    scenario, patients
        The region and one seed's patients (drawn for ``days + WARMUP_DAYS`` days).
    policy
        ``nearest`` (nobody asks), ``live`` (ranking on the queue-based wait now),
        ``load-aware`` (the same plus the sent-not-arrived adjustment) or ``historical``
        (ranking on a moving average of recent patients' waits).
    uptake
        Share (0-1) of patients who ask WaitLess.
    compliance
        Share (0-1) of those who go to its first answer.
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; choose from {', '.join(POLICIES)}")
    calendar = Calendar()
    n = patients.depart_minutes.size
    wait = np.full(n, np.nan)
    chosen = np.full(n, -1)
    asked = np.zeros(n, dtype=bool)
    followed = np.zeros(n, dtype=bool)
    started: list[deque] = [deque() for _ in scenario.keys]  # (start minute, wait) per service

    def on_start(service: int):
        def record(patient: int, wait_minutes: float) -> None:
            wait[patient] = wait_minutes
            started[service].append((calendar.now_minutes, wait_minutes))
        return record

    queues = [ServiceQueue(key, cal.SERVICE_MINUTES[kind], scenario.servers_by_hour[j].tolist(),
                           on_start=on_start(j), treatment_draws=patients.treatment_draw)
              for j, (key, kind) in enumerate(zip(scenario.keys, scenario.kinds, strict=True))]
    total_hours = (days + WARMUP_DAYS) * 24
    schedule_staffing(calendar, queues, RUN_START_MINUTE_OF_WEEK // 60, total_hours)
    end_minutes = total_hours * 60.0

    snapshot: dict[str, Observation] = {}
    tracker = SentTracker(lambda: _epoch(calendar.now_minutes),
                          (load_settings or LoadAwareSettings()).horizon_minutes)
    view = LoadView(tracker, load_settings or LoadAwareSettings()) if policy == "load-aware" \
        else None
    counts = {"asked": 0, "followed": 0}
    site_of = {key: j for j, key in enumerate(scenario.keys)}

    def publish() -> None:
        now = calendar.now_minutes
        observed_at = RUN_START + timedelta(minutes=now)
        readings = []
        for j, q in enumerate(queues):
            if policy == "historical":
                line = started[j]
                while line and line[0][0] < now - cal.HISTORICAL_WINDOW_MINUTES:
                    line.popleft()
                value = sum(w for _, w in line) / len(line) if line else 0.0
            else:
                value = q.queue_wait_minutes()
            site_id, kind = scenario.keys[j].split("/")
            readings.append(Observation(site_id, kind, round(value, 1), observed_at,
                                        patients_waiting=len(q.line), feed="simulation"))
        calendar.at(now + cal.PUBLISH_LAG_MINUTES, snapshot.update,
                    {o.key(): o for o in readings})
        if view is not None:
            tracker.prune()
            if counts["asked"] >= 20:  # the follow rate observed from recorded choices
                view.follow = FollowRate(counts["followed"] / counts["asked"], "observed",
                                         counts["asked"], counts["asked"], counts["followed"])
        if now + cal.PUBLISH_INTERVAL_MINUTES < end_minutes:
            calendar.at(now + cal.PUBLISH_INTERVAL_MINUTES, publish)

    if policy != "nearest":
        calendar.at(0.0, publish)

    def depart(i: int) -> None:
        now = calendar.now_minutes
        origin = int(patients.origin[i])
        klass = int(patients.klass[i])
        condition = patients.condition[i]
        how = RUN_START_MINUTE_OF_WEEK + now
        service = scenario.habitual(origin, klass, condition, how)
        if policy != "nearest" and patients.uptake_draw[i] < uptake:
            asked[i] = True
            first = _first_answer(scenario, snapshot, origin, condition, now, view)
            if first is not None:
                j = site_of[first]
                travel_s = float(scenario.travel_seconds[origin, scenario.site_index[j]])
                tracker.record(first, _epoch(now) + travel_s)
                counts["asked"] += 1
                if patients.comply_draw[i] < compliance:
                    counts["followed"] += 1
                    followed[i] = True
                    service = j
        chosen[i] = service
        travel_minutes = scenario.travel_seconds[origin, scenario.site_index[service]] / 60
        calendar.at(now + travel_minutes, queues[service].arrive, calendar, i)

    for i, t in enumerate(patients.depart_minutes.tolist()):
        calendar.at(t, depart, i)

    samples: list[list[float]] = []

    def sample() -> None:
        samples.append([q.queue_wait_minutes() for q in queues])
        if calendar.now_minutes + SAMPLE_MINUTES < end_minutes:
            calendar.at(calendar.now_minutes + SAMPLE_MINUTES, sample)

    calendar.at(WARMUP_DAYS * 1440.0, sample)
    calendar.run()

    counted = patients.depart_minutes >= WARMUP_DAYS * 1440.0
    travel = scenario.travel_seconds[patients.origin, np.array(scenario.site_index)[chosen]] / 60
    kinds = np.array(scenario.kinds)
    return RunResult(
        total_minutes=(travel + wait)[counted],
        minor=np.isin(patients.klass, (MINOR_ED, MINOR_OTHER))[counted],
        at_ed=(kinds[chosen] == "ed")[counted],
        users=asked[counted], followed=followed[counted],
        wait_series=np.array(samples).T,
        arrivals=np.array([q.arrivals for q in queues]),
        keys=scenario.keys,
    )


def _epoch(minutes: float) -> float:
    return RUN_START.timestamp() + minutes * 60


def _first_answer(scenario: Scenario, snapshot: dict[str, Observation], origin: int,
                  condition: str, now_minutes: float, view: LoadView | None) -> str | None:
    """``site_id/service`` of the real ranking's first result, or ``None`` (nothing ranked)."""
    now = RUN_START + timedelta(minutes=now_minutes)
    request = RankRequest(float(scenario.origin_lats[origin]), float(scenario.origin_lons[origin]),
                          depart_at=now, condition=condition, limit=1)
    answer = rank(scenario.region, snapshot, request,
                  travel_seconds=scenario.travel_seconds[origin], travel_source="estimate",
                  now=now, load=view)
    if not answer.results:
        return None
    first = answer.results[0]
    return f"{first.site.id}/{first.service.kind}"
