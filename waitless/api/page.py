"""The patient page at ``/``: the answer first, then the other options, then the search.

Works without JavaScript (a plain GET form); ``/static/patient.js`` adds the device location
button, focus on the answer, "I'm going here" and auto-refresh. Ranking goes through
:func:`waitless.api.answer.answer_rank_request`, the reference ranking that ``/v1/rank``
answers from too (directly, or through its compiled fast path, checked identical to it by
``tests/ranking/test_fast_equivalence.py``); the words
come from :mod:`waitless.api.page_view` and the map from :mod:`waitless.api.page_map`.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from routing.errors import OutsideCoverage
from waitless.api import keys
from waitless.api.answer import answer_rank_request
from waitless.api.page_map import answer_map, tile_origin
from waitless.api.page_view import answer_view, minutes_text
from waitless.api.place_search import GAZETTEERS, gazetteers_to_search, served_titles
from waitless.api.query import QueryError, parse_rank_query
from waitless.api.render import render
from waitless.api.sent_cookie import keep_sent, sent_of
from waitless.domain.conditions import CONDITIONS, NHS_111_ADVICE
from waitless.domain.places import AmbiguousPlace, PlaceError, PlaceMatch, search_places

REFRESH_SECONDS = 120
# Sent by patient.js when it re-asks the question the page shows: the answer is not logged or
# counted as another ranking (docs/statistics.md).
REFRESH_HEADER = "X-WaitLess-Refresh"
# "6 months", "18m", "2 years", "3y", "1.5": a number and an optional unit (years by default).
_AGE = re.compile(r"^(\d+(?:\.\d+)?)\s*(m|mo|mos|month|months|y|yr|yrs|year|years)?$")
_FULL_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?\s*[0-9][A-Z]{2}$")
# Patient-facing words for a bad field (the API's own messages name parameters, not people).
_FIELD_MESSAGES = {
    "lat": "We could not read your location. Type a town or postcode, or try "
           "\"Use my location\" again.",
    "lon": "We could not read your location. Type a town or postcode, or try "
           "\"Use my location\" again.",
    "age": "Enter the age in years, or in months for a baby or toddler, for example 6 months.",
    "condition": "Choose a problem from the list, or \"Not sure or not listed\".",
    "mode": "Choose how you will get there.",
}


def age_in_years(text: str) -> str | None:
    """The age a person typed, in years as text for the rank query (``None``: unreadable).

    Parameters
    ----------
    text
        "6 months", "18m", "2", "2 years"; months are divided by 12.
    """
    match = _AGE.match(text.strip().lower())
    if match is None:
        return None
    value = float(match.group(1))
    if (match.group(2) or "y").startswith("m"):
        value /= 12
    return repr(value)  # not rounded: 11.9999 months rounded to 4 figures read as 1 year


def _form_values(query: Any) -> dict[str, str]:
    return {name: (query.get(name) or "").strip()
            for name in ("place", "lat", "lon", "condition", "age", "mode")}


def place_choices(form: dict[str, str], matches: tuple[PlaceMatch, ...]) -> list[dict[str, str]]:
    """Links for a place name found in several regions, one per region, each naming it.

    Parameters
    ----------
    form
        The search as the patient sent it: each link asks it again with the place and its
        region (``region=``), so the rest of the search is kept without JavaScript.
    matches
        The places of that name (:class:`~waitless.domain.places.AmbiguousPlace`).
    """
    kept = {k: v for k, v in form.items() if v and k in ("condition", "age", "mode")}
    return [{"text": f"{m.place.name}, {m.region_title}",
             "href": "/?" + urlencode({"place": m.place.name, "region": m.region, **kept})}
            for m in matches]


def _page(request: web.Request, context: dict[str, Any], *, status: int = 200) -> web.Response:
    # Compressed: the answer page is ~50 KB of HTML, ~6 KB gzipped, on a phone's network.
    # Safe from BREACH-style guessing: the page holds no secret (no token, no cookie value).
    response = render(request, "patient/index.html", context, status=status)
    response.enable_compression()
    return response


def _error(context: dict[str, Any], field: str, message: str) -> None:
    context["error"] = {"field": field, "message": message}


async def patient_page_handler(request: web.Request) -> web.Response:
    app = request.app
    region, now = app[keys.REGION], app[keys.CLOCK]()
    form = _form_values(request.query)
    if form["place"]:
        # A typed place wins over a device location kept from an earlier answer: without
        # JavaScript nothing clears the form's hidden lat/lon when the person types one.
        form["lat"] = form["lon"] = ""
    context: dict[str, Any] = {
        "region_title": region.title, "form": form, "error": None, "answer": None,
        "view": None, "map": None, "place": None, "place_note": None, "advice": NHS_111_ADVICE,
        "conditions": sorted(CONDITIONS.values(), key=lambda c: (c.red_flag, c.label)),
        "refresh_seconds": REFRESH_SECONDS, "has_gazetteer": bool(app[GAZETTEERS]),
        "place_choices": None,
        "updated_at": now.astimezone(region.timezone).strftime("%H:%M"),
        "generated_at": now.isoformat(),
    }
    has_location = bool(form["place"] or (form["lat"] and form["lon"]))
    if not has_location:
        if "place" not in request.query and "lat" not in request.query:
            return _page(request, context)  # a first visit: the form
        _error(context, "place", "Enter a town or postcode, or use your location.")
        return _page(request, context, status=400)
    query = {k: v for k, v in form.items() if v and k not in ("place", "age")}
    if form["age"]:
        years = age_in_years(form["age"])
        if years is None:
            _error(context, "age", _FIELD_MESSAGES["age"])
            return _page(request, context, status=400)
        query["age"] = years
    if not (form["lat"] and form["lon"]):
        # A choice between places of one name in several regions names its region; a
        # region not served (an edited link) is ignored and the patient asked again.
        gazetteers = (gazetteers_to_search(app, request.query.get("region", "").strip())
                      or app[GAZETTEERS])
        try:
            if not gazetteers:
                raise PlaceError("Place search is not available here; use your location.")
            place = search_places(gazetteers, form["place"]).place
        except AmbiguousPlace as exc:
            _error(context, "place", exc.message)
            context["place_choices"] = place_choices(form, exc.matches)
            return _page(request, context, status=400)
        except PlaceError as exc:
            _error(context, "place", exc.message)
            return _page(request, context, status=400)
        context["place"] = place
        if _FULL_POSTCODE.match(form["place"].upper()) and place.kind == "district":
            context["place_note"] = (
                f"We do not look up full postcodes, so travel times are from the middle of "
                f"the {place.name} area.")
        query.update(lat=str(place.lat), lon=str(place.lon))
    try:
        rank_request = parse_rank_query(query, now=now, tz=region.timezone)
    except QueryError as exc:
        app[keys.METRICS].count_ranking("bad_request")
        field = exc.field if exc.field in ("condition", "age", "mode") else "place"
        _error(context, field, _FIELD_MESSAGES.get(exc.field, exc.message))
        return _page(request, context, status=400)
    sent = sent_of(request)  # what this browser's last answer counted (load-aware ranking)
    try:
        answer, counted = answer_rank_request(
            app, rank_request, now=now, refresh=request.headers.get(REFRESH_HEADER) == "1",
            sent=sent)
    except OutsideCoverage:
        _error(context, "place", (
            f"Your location is outside {served_titles(app)}, which this service covers. "
            "Call NHS 111 or use 111.nhs.uk to find care near you."))
        return _page(request, context, status=422)
    context["answer"] = answer
    # With several regions served the answer may come from another region, or list a
    # neighbour's border sites: describe it with the region that ranked it.
    region = app[keys.SERVED][answer["region"]].region
    walking = rank_request.mode == "walk"
    limit = region.ranking.max_walk_minutes if walking else region.ranking.max_travel_minutes
    context["far_limit_text"] = f"{minutes_text(limit)} {'on foot' if walking else 'by car'}"
    if not answer["emergency"]:
        view = answer_view(answer, region, now)
        context["view"] = view
        settings = app[keys.SETTINGS]
        context["map"] = answer_map(region, (rank_request.lat, rank_request.lon),
                                    [view["best"], *view["similar"]][:5] if view["best"] else [],
                                    tile_url=settings.map_tile_url)
        context["map"]["attribution"] = settings.map_attribution
    response = _page(request, context)
    keep_sent(request, response, sent, counted)
    if context["map"] and context["map"]["tiles"]:
        # The operator's tile server is the one third party the page may then load images from.
        csp = response.headers["Content-Security-Policy"]
        response.headers["Content-Security-Policy"] = csp.replace(
            "img-src 'self' data:", f"img-src 'self' data: {tile_origin(settings.map_tile_url)}")
    return response
