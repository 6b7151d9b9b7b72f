"""Answering one rank request: shared by the JSON API (``/v1/rank``) and the patient page (``/``).

Both callers parse their own input into a :class:`~waitless.ranking.rank.RankRequest`; this does the
rest (travel times, ranking on the snapshot, the event-log row and the outcome metric), so the
page can never rank differently from the API.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import orjson
from aiohttp import web

from routing.errors import OutsideCoverage
from routing.model import TravelModel
from waitless.api import keys
from waitless.api.answer_json import answer_json
from waitless.api.load_sync import LOAD_VIEW, record_answer
from waitless.domain.region import Region
from waitless.ranking.event_row import ranking_event
from waitless.ranking.privacy import coarse_cell
from waitless.ranking.rank import RankRequest, rank

_SITE_IDS: dict[int, tuple[Region, tuple[str, ...]]] = {}


def region_site_ids(region: Region) -> tuple[str, ...]:
    """The region's site ids in order, made once per region rather than per request."""
    cached = _SITE_IDS.get(id(region))
    if cached is None or cached[0] is not region:
        cached = (region, tuple(s.id for s in region.sites))
        _SITE_IDS[id(region)] = cached
    return cached[1]


def travel_for_region(model: TravelModel, region: Region, lat: float, lon: float) -> np.ndarray:
    """Travel seconds in ``region.sites`` order, whatever order the model keeps."""
    seconds = model.travel_seconds(lat, lon)
    if model.site_ids == region_site_ids(region):
        return seconds
    index = {site_id: i for i, site_id in enumerate(model.site_ids)}
    return np.array([seconds[index[s.id]] if s.id in index else np.inf for s in region.sites])


def _centre_travel(model: TravelModel, region: Region, rank_request: RankRequest
                   ) -> np.ndarray | None:
    """Travel seconds from the centre of the request's grid cell (what the event log keeps)."""
    _, lat, lon = coarse_cell(rank_request.lat, rank_request.lon)
    try:
        return travel_for_region(model, region, lat, lon)
    except OutsideCoverage:
        return None


def _travel(app: web.Application, rank_request: RankRequest
            ) -> tuple[TravelModel, np.ndarray]:
    """The request's travel model and its travel seconds to every site (counting a miss)."""
    model = app[keys.TRAVEL][rank_request.mode]
    try:
        return model, travel_for_region(model, app[keys.REGION], rank_request.lat,
                                        rank_request.lon)
    except OutsideCoverage:
        app[keys.METRICS].rankings.labels("outside_coverage").inc()
        raise


def answer_rank_body(app: web.Application, rank_request: RankRequest, *,
                     now: datetime) -> bytes:
    """:func:`answer_rank_request` as JSON bytes, from the compiled ranking state
    (:mod:`waitless.ranking.fast`, the same bytes as the reference) where it applies.

    Raises
    ------
    OutsideCoverage
        When the origin is outside the travel model's coverage (counted as such).
    """
    region = app[keys.REGION]
    model, travel = _travel(app, rank_request)
    # Load-aware ranking (issue 17) is applied by the reference path only.
    if app.get(LOAD_VIEW) is None:
        fast = app[keys.FAST_RANKER].answer(
            rank_request, app[keys.SNAPSHOT].observations, travel_seconds=travel,
            travel_source=model.source, now=now, history=app[keys.PREDICTIONS].history)
        if fast is not None:  # None: a 999 answer, or a departure the state does not cover
            event = ranking_event(region, fast, centre_travel_seconds=_centre_travel(
                model, region, rank_request))
            app[keys.EVENT_LOG].record(event)
            app[keys.METRICS].rankings.labels("ranked").inc()
            return fast.body_json(region.name, event["event_id"])
    return orjson.dumps(_answer(app, rank_request, model, travel, now))


def answer_rank_request(app: web.Application, rank_request: RankRequest, *,
                        now: datetime) -> dict:
    """Rank for one patient from the app's snapshot, log the decision and count it.

    Raises
    ------
    OutsideCoverage
        When the origin is outside the travel model's coverage (counted as such).
    """
    model, travel = _travel(app, rank_request)
    return _answer(app, rank_request, model, travel, now)


def _answer(app: web.Application, rank_request: RankRequest, model: TravelModel,
            travel: np.ndarray, now: datetime) -> dict:
    """The reference path: rank, log the event, count, and the body as a dict."""
    region = app[keys.REGION]
    snapshot = app[keys.SNAPSHOT]
    answer = rank(region, snapshot.observations, rank_request, travel_seconds=travel,
                  travel_source=model.source, now=now,
                  history=app[keys.PREDICTIONS].history, load=app.get(LOAD_VIEW))
    record_answer(app, answer)  # issue #17: this patient is now on their way (when enabled)
    event = ranking_event(region, answer,
                          centre_travel_seconds=_centre_travel(model, region, rank_request))
    app[keys.EVENT_LOG].record(event)
    app[keys.METRICS].rankings.labels("emergency" if answer.emergency else "ranked").inc()
    body = answer_json(answer)
    body["region"] = region.name
    # The app sends this id back with POST /v1/choices, linking a choice to its ranking.
    body["event_id"] = event["event_id"]
    return body
