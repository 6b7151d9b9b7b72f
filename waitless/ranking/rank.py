"""Ranking: which sites can treat this patient, and in what order of total time to treatment.

Pure functions over data: the region, a snapshot of live waits and travel times in, a typed
:class:`~waitless.ranking.results.RankAnswer` out (the API turns it into JSON). Nothing here
does I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np

from waitless.domain.conditions import CONDITIONS, NHS_111_ADVICE, RED_FLAG_ADVICE
from waitless.domain.observation import Observation
from waitless.domain.region import Region
from waitless.domain.sites import Service, Site
from waitless.ranking.history import ServiceHistory
from waitless.ranking.load import LoadView, SiteLoads
from waitless.ranking.results import (
    EXCLUSION_REASONS,
    Emergency,
    Exclusion,
    RankAnswer,
    RankedSite,
)
from waitless.ranking.waits import arrival_wait, estimate_wait

# Services for minor conditions are preferred over the ED at the same site: a co-located
# UTC is where a minor condition is meant to go.
_KIND_PREFERENCE = {"utc": 0, "miu": 0, "ed": 1}


@dataclass(frozen=True, slots=True)
class RankRequest:
    """A patient's question.

    Attributes
    ----------
    lat, lon
        Where the patient is, in decimal degrees.
    depart_at
        When they would leave (aware datetime).
    condition
        A code from :data:`waitless.domain.conditions.CONDITIONS`, or ``None`` (unspecified).
    age_years
        Patient age in years, or ``None`` (adult assumed for age limits).
    limit
        Most results to return.
    """

    lat: float
    lon: float
    depart_at: datetime
    condition: str | None = None
    age_years: float | None = None
    limit: int = 50
    mode: str = "drive"


def _fresh(region: Region, obs: Observation, now: datetime) -> bool:
    return (now - obs.observed_at).total_seconds() / 60 <= region.ranking.stale_after_minutes


def _eligible(service: Service, request: RankRequest) -> str | None:
    """Why this service cannot see the patient, or ``None`` when it can."""
    if request.condition is not None and request.condition not in service.treats:
        return "cannot_treat"
    if request.age_years is not None and request.age_years < service.min_age_years:
        return "below_min_age"
    return None


def _hours_check(region: Region, service: Service, arrival: datetime
                 ) -> tuple[str | None, datetime | None]:
    """(reason it is unusable at ``arrival`` or None, when it closes)."""
    interval = service.hours.open_interval(arrival, region.timezone)
    if interval is None:
        return "closed_at_arrival", None
    closes_at = interval[1]
    margin = timedelta(minutes=region.ranking.closing_margin_minutes)
    if closes_at - arrival < margin:
        return "closes_soon_after_arrival", closes_at
    return None, closes_at


def _choose_service(region: Region, site: Site, request: RankRequest, arrival: datetime,
                    snapshot: Mapping[str, Observation], now: datetime
                    ) -> tuple[Service, datetime | None] | str:
    """The service this patient should use at ``site``, or why none can."""
    reasons: list[str] = []
    usable: list[tuple[Service, datetime | None]] = []
    for service in site.services:
        reason = _eligible(service, request)
        closes_at = None
        if reason is None:
            reason, closes_at = _hours_check(region, service, arrival)
        obs = snapshot.get(f"{site.id}/{service.kind}")
        reported_closed = obs is not None and obs.status == "closed" and _fresh(region, obs, now)
        if reason is None and reported_closed:
            reason = "reported_closed"
        if reason is None:
            usable.append((service, closes_at))
        else:
            reasons.append(reason)
    if not usable:
        # The reason nearest to being usable is the most useful one to tell the patient.
        order = list(EXCLUSION_REASONS)
        return min(reasons, key=order.index)
    return min(usable, key=lambda pair: _KIND_PREFERENCE[pair[0].kind])


def rank(region: Region, snapshot: Mapping[str, Observation], request: RankRequest, *,
         travel_seconds: np.ndarray, travel_source: str, now: datetime,
         history: Mapping[str, ServiceHistory] | None = None,
         load: LoadView | SiteLoads | None = None) -> RankAnswer:
    """Rank the region's sites for one patient.

    Parameters
    ----------
    region
        Sites, hours and ranking settings.
    snapshot
        Current observation per ``site_id/service``.
    request
        The patient's question.
    travel_seconds
        Travel time in seconds from the origin to each site, in ``region.sites`` order.
    travel_source
        ``"road_graph"`` or ``"estimate"``.
    now
        The current instant (wait ages are measured from it).
    history
        Recent readings and fitted model per ``site_id/service`` for predicting the wait at
        arrival; without it the live reading stands for the wait at arrival.
    load
        Patients already sent and not yet arrived (:mod:`waitless.ranking.load`, issue #17):
        their expected extra wait (minutes) is added to the predicted wait (p50 and p90), so
        to the total too: one region's view, or every served region's (each for its own
        sites). ``None``: no adjustment.

    Returns
    -------
    answer
        Results sorted by total minutes (to 0.1 min), then travel minutes; the sites left out
        with their reasons; or the 999 answer for a red-flag condition.
    """
    condition = CONDITIONS.get(request.condition) if request.condition else None
    if condition is not None and condition.red_flag:
        return RankAnswer(request, now, travel_source, (), (),
                          Emergency(condition.code, RED_FLAG_ADVICE), NHS_111_ADVICE, None)
    results: list[RankedSite] = []
    excluded: list[Exclusion] = []
    candidates = _candidate_indices(region, travel_seconds, request.mode)
    # Plain floats: numpy scalars cost more than they save in a per-site loop.
    for index, seconds in zip(candidates, travel_seconds[candidates].tolist(), strict=True):
        site = region.sites[index]
        if not math.isfinite(seconds):
            excluded.append(Exclusion(site, "unreachable"))
            continue
        arrival = request.depart_at + timedelta(seconds=seconds)
        choice = _choose_service(region, site, request, arrival, snapshot, now)
        if isinstance(choice, str):
            excluded.append(Exclusion(site, choice))
            continue
        service, closes_at = choice
        key = f"{site.id}/{service.kind}"
        wait = estimate_wait(region, service.kind, snapshot.get(key), now)
        expected = arrival_wait(region, wait, snapshot.get(key),
                                (history or {}).get(key), now, arrival)
        # Load-aware ranking (issue #17): patients sent here who arrive first.
        load_minutes = (0.0 if load is None else
                        load.adjustment_minutes(key, service.kind, snapshot.get(key),
                                                arrival.timestamp(), wait_status=wait.status))
        if load_minutes:
            expected = replace(expected, p50_minutes=expected.p50_minutes + load_minutes,
                               p90_minutes=None if expected.p90_minutes is None
                               else expected.p90_minutes + load_minutes)
        results.append(RankedSite(site, service, wait, expected, seconds / 60, arrival,
                                  closes_at, load_minutes))
    results.sort(key=lambda r: (round(r.total_minutes, 1), round(r.travel_minutes, 1)))
    return RankAnswer(request, now, travel_source, tuple(results[: request.limit]),
                      tuple(excluded), None, NHS_111_ADVICE,
                      len(region.sites) - len(candidates))


def _candidate_indices(region: Region, travel_seconds: np.ndarray,
                       mode: str = "drive") -> list[int]:
    """Indices of the sites worth ranking, in region order: within ``max_travel_minutes``
    (``max_walk_minutes`` when walking) and among the ``max_candidates`` nearest (unreachable
    ones are kept so they can be explained when the region is small enough to list them all)."""
    settings = region.ranking
    if len(region.sites) <= settings.max_candidates:
        near = np.arange(len(region.sites))
    else:
        near = np.argpartition(travel_seconds, settings.max_candidates - 1)[
            : settings.max_candidates]
    limit_s = (settings.max_walk_minutes if mode == "walk" else settings.max_travel_minutes) * 60
    keep = near[~(np.isfinite(travel_seconds[near]) & (travel_seconds[near] > limit_s))]
    return sorted(keep.tolist())


def nearest_sites(region: Region, travel_seconds: np.ndarray) -> tuple[Site | None, Site | None]:
    """(nearest site of any kind, nearest site with an ED) by travel time."""
    order = np.argsort(travel_seconds)
    nearest = region.sites[int(order[0])] if np.isfinite(travel_seconds[order[0]]) else None
    nearest_ed = next((region.sites[int(i)] for i in order
                       if np.isfinite(travel_seconds[i])
                       and region.sites[int(i)].service("ed") is not None), None)
    return nearest, nearest_ed
