"""The patient page at ``/``: a form, and server-rendered results when the query has a location.

Works without JavaScript (a plain GET form); ``/static/patient.js`` adds the device location
button and auto-refresh. Ranking goes through :func:`waitless.api.answer.answer_rank_request`, the
same function as ``/v1/rank``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from routing.errors import OutsideCoverage
from waitless.api import keys
from waitless.api.answer import answer_rank_request
from waitless.api.query import QueryError, parse_rank_query
from waitless.api.render import render
from waitless.domain.conditions import CONDITIONS, NHS_111_ADVICE
from waitless.domain.places import Gazetteer, PlaceError, find_place

PAGE_GAZETTEER = web.AppKey("page_gazetteer", Gazetteer | None)  # type: ignore[arg-type]

KIND_LABELS = {"ed": "A&E (emergency department)", "utc": "Urgent treatment centre",
               "miu": "Minor injury unit"}
WAIT_KIND_LABELS = {"estimate": "estimated wait", "median": "median wait",
                    "p95": "95 in 100 patients are seen within", "longest": "longest wait",
                    "lower_bound": "at least", "upper_bound": "at most"}
CONFIDENCE_TEXT = {"high": "High confidence: a recent figure and a steady pattern.",
                   "medium": "Medium confidence: the wait can change before you arrive.",
                   "low": "Low confidence: the figure is old or missing."}
REFRESH_SECONDS = 120


def _minutes_text(minutes: float | None) -> str:
    if minutes is None:
        return "unknown"
    whole = round(minutes)
    if whole < 60:
        return f"{whole} min"
    return f"{whole // 60} hr {whole % 60} min" if whole % 60 else f"{whole // 60} hr"


def _clock(iso: str | None, tz: ZoneInfo) -> str | None:
    return datetime.fromisoformat(iso).astimezone(tz).strftime("%H:%M") if iso else None


def _directions(result: dict[str, Any]) -> dict[str, str]:
    lat, lon = result["lat"], result["lon"]
    return {
        "maps": "https://www.google.com/maps/dir/?" + urlencode(
            {"api": "1", "destination": f"{lat},{lon}"}),
        "geo": f"geo:{lat},{lon}?q={lat},{lon}({result['name']})",
    }


def result_view(result: dict[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    """What the template shows for one ranked result (text, not numbers to interpret)."""
    status = result["wait_status"]
    age = result["wait_age_minutes"]
    if status == "unavailable":
        reported = "No current figure from this site"
    else:
        kind = WAIT_KIND_LABELS.get(result["wait_kind"] or "estimate", "wait")
        reported = (f"Reported {kind}: {_minutes_text(result['wait_minutes'])}, "
                    f"{_minutes_text(age)} ago")
    return {
        **result,
        "kind_label": KIND_LABELS[result["kind"]],
        "open_text": ("Open 24 hours" if result["open_24h"] else
                      f"Open until {_clock(result['open_until'], tz)}" if result["open_until"]
                      else "Open"),
        "reported_text": reported,
        "stale": status != "live",
        "expected_text": _minutes_text(result["predicted_wait_minutes"]),
        "p90_text": (_minutes_text(result["predicted_wait_p90_minutes"])
                     if result["predicted_wait_p90_minutes"] is not None else None),
        "confidence_text": CONFIDENCE_TEXT[result["confidence"]],
        "travel_text": _minutes_text(result["travel_minutes"]),
        "total_text": _minutes_text(result["total_minutes"]),
        "arrival_text": _clock(result["arrival_at"], tz),
        "directions": _directions(result),
    }


def _form_values(query: Any) -> dict[str, str]:
    return {name: (query.get(name) or "").strip()
            for name in ("place", "lat", "lon", "condition", "age", "mode")}


async def patient_page_handler(request: web.Request) -> web.Response:
    app = request.app
    region, now = app[keys.REGION], app[keys.CLOCK]()
    form = _form_values(request.query)
    context: dict[str, Any] = {
        "region_title": region.title, "form": form, "error": None, "answer": None,
        "results": [], "place": None, "advice": NHS_111_ADVICE,
        "conditions": sorted(CONDITIONS.values(), key=lambda c: (c.red_flag, c.label)),
        "refresh_seconds": REFRESH_SECONDS, "has_gazetteer": app[PAGE_GAZETTEER] is not None,
        "updated_at": now.astimezone(region.timezone).strftime("%H:%M"),
    }
    if not (form["place"] or form["lat"] or form["lon"]):
        return render(request, "patient/index.html", context)
    query = {k: v for k, v in form.items() if v and k != "place"}
    if not (form["lat"] and form["lon"]):
        gazetteer = app[PAGE_GAZETTEER]
        try:
            if gazetteer is None:
                raise PlaceError("Place search is not available here; use your location.")
            place = find_place(gazetteer, form["place"])
        except PlaceError as exc:
            context["error"] = {"field": "place", "message": exc.message}
            return render(request, "patient/index.html", context, status=400)
        context["place"] = place
        query.update(lat=str(place.lat), lon=str(place.lon))
    try:
        rank_request = parse_rank_query(query, now=now, tz=region.timezone)
    except QueryError as exc:
        app[keys.METRICS].rankings.labels("bad_request").inc()
        field = exc.field if exc.field in ("condition", "age", "mode") else "place"
        context["error"] = {"field": field, "message": exc.message}
        return render(request, "patient/index.html", context, status=400)
    try:
        answer = answer_rank_request(app, rank_request, now=now)
    except OutsideCoverage:
        context["error"] = {"field": "place", "message": (
            f"Your location is outside {region.title}, which this service covers. "
            "Call NHS 111 or use 111.nhs.uk to find care near you.")}
        return render(request, "patient/index.html", context, status=422)
    context["answer"] = answer
    context["results"] = [result_view(r, region.timezone) for r in answer["results"]]
    return render(request, "patient/index.html", context)
