"""Answering one rank request: shared by the JSON API (``/v1/rank``) and the patient page (``/``).

Both callers parse their own input into a :class:`~waitless.ranking.rank.RankRequest`; this does the
rest (travel times, ranking on the snapshot, the event-log row and the outcome metric). The page
uses :func:`answer_rank_request` (the reference ``rank()``); ``/v1/rank`` uses
:func:`answer_rank_body`, the compiled fast path where it applies and the reference otherwise (999
answers, departures the compiled state does not cover). The fast path is checked to give the same
bytes and event row as the reference (``tests/ranking/test_fast_equivalence.py``), so the page
cannot rank differently from the API.
"""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime

import numpy as np
import orjson
from aiohttp import web

from routing.border import WithBorderEstimate
from routing.errors import OutsideCoverage
from routing.model import TravelModel
from waitless.api import keys
from waitless.api.answer_json import answer_json
from waitless.api.load_sync import loads_for, record_answer
from waitless.api.regions import ServedRegion
from waitless.domain.event_fields import EVENT_ID
from waitless.domain.region import Region
from waitless.ranking.event_row import UNKNOWN, CentreFigures, ranking_event
from waitless.ranking.fast_answer import FastAnswer
from waitless.ranking.load import Sent, SiteLoads
from waitless.ranking.privacy import coarse_cell
from waitless.ranking.rank import RankRequest, rank
from waitless.ranking.results import RankAnswer


def travel_for_region(model: TravelModel, region: Region, lat: float, lon: float) -> np.ndarray:
    """Travel seconds in ``region.sites`` order, whatever order the model keeps."""
    seconds = model.travel_seconds(lat, lon)
    if model.site_ids == region.site_ids:
        return seconds
    index = {site_id: i for i, site_id in enumerate(model.site_ids)}
    return np.array([seconds[index[s.id]] if s.id in index else np.inf for s in region.sites])


def _centre(served: ServedRegion, model: TravelModel, rank_request: RankRequest,
            cell: tuple[str, float, float]) -> CentreFigures | None:
    """Travel and nearest sites from the centre of the request's grid ``cell`` (what the
    event log keeps), made once per cell and mode."""
    cell_id, lat, lon = cell
    figures = served.centre_cache.known(rank_request.mode, cell_id)
    if figures is not UNKNOWN:
        return figures  # type: ignore[return-value]

    def travel() -> np.ndarray | None:
        try:
            return travel_for_region(model, served.region, lat, lon)
        except OutsideCoverage:
            return None

    return served.centre_cache.get(rank_request.mode, cell_id, travel)


def served_for(app: web.Application, lat: float, lon: float) -> ServedRegion:
    """The region answering an origin: the one region, or with several the one whose
    coverage holds it (:meth:`~waitless.ranking.multiregion.RegionSet.choose`).

    Raises
    ------
    OutsideCoverage
        When several regions are served and the origin is outside every coverage.
    """
    region_set = app[keys.REGION_SET]
    if region_set is None:
        return app[keys.SERVED][app[keys.REGION].name]
    choice = region_set.choose(lat, lon)
    if choice is None:
        msg = (f"origin ({lat:.4f}, {lon:.4f}) is outside every region this service covers "
               f"({', '.join(region_set.regions)})")
        raise OutsideCoverage(msg)
    return app[keys.SERVED][choice.home]


def _travel(app: web.Application, rank_request: RankRequest
            ) -> tuple[ServedRegion, TravelModel, np.ndarray, str]:
    """The region answering, its travel model, the seconds to every site and the answer's
    ``travel_source`` label (counting a miss)."""
    try:
        served = served_for(app, rank_request.lat, rank_request.lon)
        model = served.travel[rank_request.mode]
        travel = travel_for_region(model, served.region, rank_request.lat, rank_request.lon)
    except OutsideCoverage:
        app[keys.METRICS].count_ranking("outside_coverage")
        raise
    source = model.source
    if isinstance(model, WithBorderEstimate):  # road graph, with estimates for border sites
        settings = served.region.ranking
        limit_minutes = (settings.max_walk_minutes if rank_request.mode == "walk"
                         else settings.max_travel_minutes)
        source = model.source_for(served.region.site_ids, travel, limit_minutes * 60)
    return served, model, travel, source


def answer_rank_body(app: web.Application, rank_request: RankRequest, *,
                     now: datetime) -> bytes:
    """:func:`answer_rank_request` as JSON bytes, from the compiled ranking state
    (:mod:`waitless.ranking.fast`, the same bytes as the reference) where it applies.

    Raises
    ------
    OutsideCoverage
        When the origin is outside the coverage of every region served (counted as such).
    """
    served, model, travel, source = _travel(app, rank_request)
    region = served.region
    load = loads_for(app, region)
    fast = served.fast_ranker.answer(
        rank_request, served.observations(), travel_seconds=travel,
        travel_source=source, now=now, history=served.history(), load=load)
    if fast is not None:  # None: a 999 answer, or a departure the state does not cover
        event_id, _ = _log_answer(app, served, model, rank_request, fast, load=load)
        return fast.body_json(region.name, event_id)
    body, _ = _answer(app, rank_request, served, model, travel, source, now)
    return orjson.dumps(body)


def answer_rank_request(app: web.Application, rank_request: RankRequest, *,
                        now: datetime, refresh: bool = False, sent: Sent | None = None
                        ) -> tuple[dict, Sent | None]:
    """Rank for one patient from the live snapshot of the region answering, log the decision
    and count it; ``region`` in the answer names that region.

    Parameters
    ----------
    refresh
        The patient page re-asking the question it already shows (its periodic update):
        answered alike, but neither logged nor counted as a patient on their way, and
        ``event_id`` is ``None`` (the page keeps the id of the ranking it first showed).
    sent
        What this patient's previous answer counted as on their way (the page's cookie,
        :mod:`waitless.api.sent_cookie`), or ``None``. It is taken back before ranking, so
        the patient's own earlier answer is not load on this one; this answer's count
        replaces it (a refresh keeps it).

    Returns
    -------
    body, sent
        The answer as the JSON dict, and what this patient now has counted (``sent`` for a
        refresh; ``None`` when nothing is, e.g. a 999 answer or load-aware ranking off).

    Raises
    ------
    OutsideCoverage
        When the origin is outside the coverage of every region served (counted as such).
    """
    served, model, travel, source = _travel(app, rank_request)
    return _answer(app, rank_request, served, model, travel, source, now, refresh=refresh,
                   sent=sent)


def _answer(app: web.Application, rank_request: RankRequest, served: ServedRegion,
            model: TravelModel, travel: np.ndarray, source: str, now: datetime, *,
            refresh: bool = False, sent: Sent | None = None) -> tuple[dict, Sent | None]:
    """The reference path: rank, log the event, count; the body as a dict, and the count."""
    region = served.region
    load = loads_for(app, region)
    # The cookie names the site: its count is taken back in that site's home region's view.
    own = None if load is None else load.counted(sent)
    # This patient's earlier answer is not load on their own ranking...
    with nullcontext() if load is None else load.without(own):
        answer = rank(region, served.observations(), rank_request, travel_seconds=travel,
                      travel_source=source, now=now, history=served.history(), load=load)
    if own is not None and not refresh:
        load.forget(own)  # ...and this answer's count replaces it (a refresh keeps it)
    event_id, counted = _log_answer(app, served, model, rank_request, answer, load=load,
                                    refresh=refresh)
    body = answer_json(answer)
    body["region"] = region.name
    # The app sends this id back with POST /v1/choices, linking a choice to its ranking.
    body["event_id"] = event_id
    return body, own if refresh else counted


def _log_answer(app: web.Application, served: ServedRegion, model: TravelModel,
                rank_request: RankRequest, answer: RankAnswer | FastAnswer, *,
                load: SiteLoads | None, refresh: bool = False
                ) -> tuple[str | None, Sent | None]:
    """What every answer does besides its body: count the patient on their way (load-aware
    ranking), log the coarsened event row and count the outcome; return the event id and
    what was counted.

    A ``refresh`` (the patient page updating the answer it shows) is counted as an outcome
    only: one patient watching the page for ten minutes is one ranking and one patient on
    their way, not six (docs/statistics.md). It has no event id.
    """
    app[keys.METRICS].count_ranking("emergency" if answer.emergency else "ranked")
    if refresh:
        return None, None
    # issue #17: this patient is now on their way
    counted = record_answer(load, answer) if load is not None else None
    cell = coarse_cell(rank_request.lat, rank_request.lon)
    event = ranking_event(served.region, answer,
                          centre=_centre(served, model, rank_request, cell), cell=cell)
    app[keys.EVENT_LOG].record(event)
    return event[EVENT_ID], counted
