"""The ``/v1/rank`` JSON contract: a typed ranking answer in, the documented body out.

Minutes are rounded to 0.1, times are ISO 8601 with offsets; see ``docs/`` and the OpenAPI
description for every field.
"""

from __future__ import annotations

from typing import Any

from waitless.ranking.results import Exclusion, RankAnswer, RankedSite


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def result_json(result: RankedSite, travel_source: str) -> dict[str, Any]:
    """One ranked site as JSON."""
    site, wait, expected = result.site, result.wait, result.expected
    open_24h = result.open_24h
    return {
        "site_id": site.id,
        "name": site.name,
        "town": site.town,
        "lat": site.lat,
        "lon": site.lon,
        "kind": result.service.kind,
        "open": True,
        "open_until": (None if open_24h or result.closes_at is None
                       else result.closes_at.isoformat()),
        "open_24h": open_24h,
        "hours_verified": result.service.hours_verified,
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
        "travel_minutes": _round(result.travel_minutes),
        "travel_source": travel_source,
        "arrival_at": result.arrival.isoformat(),
        "total_minutes": _round(result.total_minutes),
        "load_adjustment_minutes": _round(result.load_adjustment_minutes),
    }


def exclusion_json(exclusion: Exclusion) -> dict[str, Any]:
    return {"site_id": exclusion.site.id, "name": exclusion.site.name,
            "reason": exclusion.reason, "detail": exclusion.detail}


def answer_json(answer: RankAnswer) -> dict[str, Any]:
    """The whole answer as JSON (``region`` and ``event_id`` are added by the caller)."""
    request = answer.request
    body: dict[str, Any] = {
        "origin": {"lat": request.lat, "lon": request.lon, "mode": request.mode},
        "generated_at": answer.generated_at.isoformat(),
        "depart_at": request.depart_at.isoformat(),
        "condition": request.condition,
        "age": request.age_years,
        "results": [result_json(r, answer.travel_source) for r in answer.results],
        "excluded": [exclusion_json(e) for e in answer.excluded],
        "emergency": (None if answer.emergency is None else
                      {"call": answer.emergency.call, "condition": answer.emergency.condition,
                       "message": answer.emergency.message}),
        "advice": answer.advice,
    }
    if answer.omitted_far_sites is not None:
        body["omitted_far_sites"] = answer.omitted_far_sites
    return body
