"""Ranking: which sites can treat this patient, and in what order of total time to treatment.

Pure functions over data: the region, a snapshot of live waits and travel times in, a
JSON-ready answer out. Nothing here does I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from feeds.observation import Observation
from feeds.validate import ValidationSettings
from waitless.conditions import CONDITIONS, NHS_111_ADVICE, RED_FLAG_ADVICE
from waitless.predict import (
    EMPTY_MODEL,
    P90_FALLBACK_RATIO,
    Forecast,
    Prediction,
    confidence,
    forecast,
    predict_from,
)
from waitless.region import Region, Service, Site
from waitless.snapshot import ServiceHistory

# Services for minor conditions are preferred over the ED at the same site: a co-located
# UTC is where a minor condition is meant to go.
_KIND_PREFERENCE = {"utc": 0, "miu": 0, "ed": 1}
# Beyond these a reported wait is a data fault, not a queue (East Kent showed 72-hour UTC
# waits for a day in 2024): it is shown as implausible and the assumed wait is ranked instead.
# A second line of defence behind feed validation, so it shares validation's default bounds.
IMPLAUSIBLE_WAIT_MINUTES = dict(ValidationSettings().max_wait_minutes)
FUTURE_TOLERANCE = timedelta(minutes=10)


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
        A code from :data:`waitless.conditions.CONDITIONS`, or ``None`` (unspecified).
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


@dataclass(frozen=True, slots=True)
class WaitEstimate:
    reported_minutes: float | None
    predicted_minutes: float
    status: str  # live | stale | unavailable | implausible
    observed_at: datetime | None
    age_minutes: float | None
    kind: str | None  # what the reported number means
    patients_waiting: int | None


def estimate_wait(region: Region, kind: str, obs: Observation | None,
                  now: datetime) -> WaitEstimate:
    """The wait used for ranking one site service, honest about age and absence.

    A live figure is used as reported. A stale figure (older than the region's limit) is
    used with a penalty added. No figure at all means the region's assumed wait for the
    kind, labelled ``unavailable``.
    """
    settings = region.ranking
    assumed = float(settings.assumed_wait_minutes[kind])
    if obs is None or obs.wait_minutes is None:
        return WaitEstimate(None, assumed, "unavailable",
                            obs.observed_at if obs else None,
                            (now - obs.observed_at).total_seconds() / 60 if obs else None,
                            None, obs.patients_waiting if obs else None)
    if (obs.wait_minutes > IMPLAUSIBLE_WAIT_MINUTES[kind] or obs.wait_minutes < 0
            or obs.observed_at > now + FUTURE_TOLERANCE):
        return WaitEstimate(obs.wait_minutes, assumed, "implausible", obs.observed_at,
                            (now - obs.observed_at).total_seconds() / 60, obs.wait_kind,
                            obs.patients_waiting)
    age_minutes = max((now - obs.observed_at).total_seconds() / 60, 0.0)
    if age_minutes > settings.stale_after_minutes:
        return WaitEstimate(obs.wait_minutes, obs.wait_minutes + settings.stale_penalty_minutes,
                            "stale", obs.observed_at, age_minutes, obs.wait_kind,
                            obs.patients_waiting)
    return WaitEstimate(obs.wait_minutes, obs.wait_minutes, "live", obs.observed_at,
                        age_minutes, obs.wait_kind, obs.patients_waiting)


@dataclass(frozen=True, slots=True)
class ArrivalWait:
    """The wait a patient should expect on arrival, and how much to trust it."""

    p50_minutes: float
    p90_minutes: float | None
    method: str  # seasonal | trend | now | stale_penalty | assumed
    confidence: str  # high | medium | low


def arrival_wait(region: Region, wait: WaitEstimate, obs: Observation | None,
                 history: ServiceHistory | None, now: datetime, arrival: datetime
                 ) -> ArrivalWait:
    """Predicted wait at ``arrival`` from the service's history; stale or missing figures
    keep :func:`estimate_wait`'s honest fallback (penalty or assumed wait, no p90)."""
    if wait.status == "stale":
        return ArrivalWait(wait.predicted_minutes, None, "stale_penalty", "low")
    if wait.status != "live" or obs is None or obs.wait_minutes is None:
        return ArrivalWait(wait.predicted_minutes, None, "assumed", "low")
    model = history.model if history is not None else EMPTY_MODEL
    horizon_minutes = max((arrival - now).total_seconds() / 60, 0.0)
    base = _forecast(region, obs, history, now)
    if base is None:  # the live reading is the only one and lies ahead of ``now``
        made = Prediction(obs.wait_minutes, obs.wait_minutes * P90_FALLBACK_RATIO, "now")
    else:
        made = predict_from(model, base, horizon_minutes, region.timezone)
    return ArrivalWait(made.p50_minutes, made.p90_minutes, made.method,
                       confidence(wait.status, wait.age_minutes, made, model))


# Forecasts are shared by requests within this many seconds of each other.
FORECAST_BUCKET_SECONDS = 5


def _forecast(region: Region, obs: Observation, history: ServiceHistory | None,
              now: datetime) -> Forecast | None:
    """The service's forecast at ``now``, made once per time bucket and latest reading."""
    observed_s = obs.observed_at.timestamp()
    bucket = int(now.timestamp() // FORECAST_BUCKET_SECONDS)
    if history is not None and history.forecast_key == (bucket, observed_s):
        return history.forecast
    epoch_s = history.epoch_s if history is not None else np.empty(0)
    waits = history.wait_minutes if history is not None else np.empty(0)
    if not epoch_s.size or observed_s > epoch_s[-1]:
        epoch_s = np.append(epoch_s, observed_s)
        waits = np.append(waits, obs.wait_minutes)
    model = history.model if history is not None else EMPTY_MODEL
    made = forecast(epoch_s, waits, bucket * FORECAST_BUCKET_SECONDS, region.timezone,
                    model.profile)
    if history is not None:
        history.forecast_key, history.forecast = (bucket, observed_s), made
    return made


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


_REASON_TEXT = {
    "cannot_treat": "does not treat this condition",
    "below_min_age": "does not see patients of this age",
    "closed_at_arrival": "closed when you would arrive",
    "closes_soon_after_arrival": "closes too soon after you would arrive",
    "reported_closed": "reported closed by its feed",
    "unreachable": "no route from your location",
}


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
        order = list(_REASON_TEXT)
        return min(reasons, key=order.index)
    return min(usable, key=lambda pair: _KIND_PREFERENCE[pair[0].kind])


def rank(region: Region, snapshot: Mapping[str, Observation], request: RankRequest, *,
         travel_seconds: np.ndarray, travel_source: str, now: datetime,
         history: Mapping[str, ServiceHistory] | None = None) -> dict:
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

    Returns
    -------
    answer
        ``{"origin", "generated_at", "results", "excluded", ...}``, results sorted by
        ``total_minutes`` ascending.
    """
    answer: dict = {
        "origin": {"lat": request.lat, "lon": request.lon, "mode": request.mode},
        "generated_at": now.isoformat(),
        "depart_at": request.depart_at.isoformat(),
        "condition": request.condition,
        "age": request.age_years,
        "results": [],
        "excluded": [],
        "emergency": None,
        "advice": NHS_111_ADVICE,
    }
    condition = CONDITIONS.get(request.condition) if request.condition else None
    if condition is not None and condition.red_flag:
        answer["emergency"] = {"call": "999", "condition": condition.code,
                               "message": RED_FLAG_ADVICE}
        return answer

    results = []
    candidates = _candidate_indices(region, travel_seconds, request.mode)
    answer["omitted_far_sites"] = len(region.sites) - len(candidates)
    # Plain floats: numpy scalars cost more than they save in a per-site loop.
    for index, seconds in zip(candidates, travel_seconds[candidates].tolist(), strict=True):
        site = region.sites[index]
        if not math.isfinite(seconds):
            answer["excluded"].append(_excluded(site, "unreachable"))
            continue
        travel_minutes = seconds / 60
        arrival = request.depart_at + timedelta(seconds=seconds)
        choice = _choose_service(region, site, request, arrival, snapshot, now)
        if isinstance(choice, str):
            answer["excluded"].append(_excluded(site, choice))
            continue
        service, closes_at = choice
        key = f"{site.id}/{service.kind}"
        wait = estimate_wait(region, service.kind, snapshot.get(key), now)
        expected = arrival_wait(region, wait, snapshot.get(key),
                                (history or {}).get(key), now, arrival)
        results.append(_result(site, service, wait, expected, travel_minutes, travel_source,
                               arrival, closes_at))
    results.sort(key=lambda r: (r["total_minutes"], r["travel_minutes"]))
    answer["results"] = results[: request.limit]
    return answer


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


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _excluded(site: Site, reason: str) -> dict:
    return {"site_id": site.id, "name": site.name, "reason": reason,
            "detail": _REASON_TEXT[reason]}


def _result(site: Site, service: Service, wait: WaitEstimate, expected: ArrivalWait,
            travel_minutes: float, travel_source: str, arrival: datetime,
            closes_at: datetime | None) -> dict:
    # A close more than a day away means round-the-clock: say "24h" rather than a date.
    open_24h = closes_at is not None and closes_at - arrival > timedelta(days=1)
    return {
        "site_id": site.id,
        "name": site.name,
        "town": site.town,
        "lat": site.lat,
        "lon": site.lon,
        "kind": service.kind,
        "open": True,
        "open_until": None if open_24h or closes_at is None else closes_at.isoformat(),
        "open_24h": open_24h,
        "hours_verified": service.hours_verified,
        "wait_minutes": _round(wait.reported_minutes),
        "wait_kind": wait.kind,
        "wait_observed_at": wait.observed_at.isoformat() if wait.observed_at else None,
        "wait_age_minutes": _round(wait.age_minutes),
        "wait_status": wait.status,
        "patients_waiting": wait.patients_waiting,
        "predicted_wait_minutes": _round(expected.p50_minutes),
        "predicted_wait_p90_minutes": _round(expected.p90_minutes),
        "prediction_method": expected.method,
        "confidence": expected.confidence,
        "travel_minutes": _round(travel_minutes),
        "travel_source": travel_source,
        "arrival_at": arrival.isoformat(),
        "total_minutes": _round(travel_minutes + expected.p50_minutes),
    }


def nearest_sites(region: Region, travel_seconds: np.ndarray) -> tuple[Site | None, Site | None]:
    """(nearest site of any kind, nearest site with an ED) by travel time."""
    order = np.argsort(travel_seconds)
    nearest = region.sites[int(order[0])] if np.isfinite(travel_seconds[order[0]]) else None
    nearest_ed = next((region.sites[int(i)] for i in order
                       if np.isfinite(travel_seconds[i])
                       and region.sites[int(i)].service("ed") is not None), None)
    return nearest, nearest_ed
