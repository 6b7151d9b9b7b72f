"""HTTP handlers: read input, call one plain function, answer JSON."""

from __future__ import annotations

from aiohttp import web

from routing.border import estimated_site_ids
from routing.errors import OutsideCoverage
from waitless.api import keys
from waitless.api.answer import answer_rank_body
from waitless.api.errors import error_response, json_response
from waitless.api.openapi import openapi_document
from waitless.api.place_search import GAZETTEERS, gazetteers_to_search, place_json
from waitless.api.query import QueryError, parse_rank_query, plain_query
from waitless.api.status import readiness, regions_sites_status, sites_status
from waitless.domain.conditions import CONDITIONS
from waitless.domain.places import AmbiguousPlace, PlaceError, search_places
from waitless.domain.region import Region
from waitless.live.snapshot import LiveSnapshot
from waitless.metrics import CONTENT_TYPE_LATEST
from waitless.ranking.waits import estimate_wait


async def rank_handler(request: web.Request) -> web.Response:
    app = request.app
    region, now = app[keys.REGION], app[keys.CLOCK]()
    query = plain_query(request.rel_url.raw_query_string)
    try:
        rank_request = parse_rank_query(request.query if query is None else query,
                                        now=now, tz=region.timezone)
    except QueryError as exc:
        app[keys.METRICS].count_ranking("bad_request")
        return error_response(400, "bad_request", exc.message, field=exc.field)
    try:
        body = answer_rank_body(app, rank_request, now=now)
    except OutsideCoverage as exc:
        return error_response(422, "outside_coverage", str(exc))
    return web.Response(body=body, content_type="application/json")


async def places_handler(request: web.Request) -> web.Response:
    """``/v1/places?q=``: the place a patient typed, or 400 saying what to type instead.

    With several regions served the answer names the place's region, a name in several
    regions' gazetteers is a 400 listing every match (``ambiguous_place``: a client must not
    be handed one of them as if it were the only one), and ``region=`` searches one region.
    """
    app = request.app
    several = app[keys.REGION_SET] is not None
    region = request.query.get("region", "")
    gazetteers = gazetteers_to_search(app, region)
    if not gazetteers:
        if region and several:
            names = ", ".join(g.region_name for g in app[GAZETTEERS]) or "none"
            return error_response(400, "bad_request", f"region {region[:60]!r} is not a region "
                                  f"served here with place search ({names})", field="region")
        return error_response(404, "no_gazetteer", "this region has no place search")
    try:
        match = search_places(gazetteers, request.query.get("q", ""))
    except AmbiguousPlace as exc:
        return error_response(400, "ambiguous_place", exc.message, field="q",
                              matches=[place_json(m, region=True) for m in exc.matches])
    except PlaceError as exc:
        return error_response(400, "unknown_place", exc.message, field="q")
    return json_response(place_json(match, region=several))


def served_regions(app: web.Application) -> list[tuple[Region, LiveSnapshot]]:
    """Every region served, the primary first, each with its own snapshot (the region as its
    file has it: its own sites, not the neighbours' border sites it also ranks)."""
    region_set = app[keys.REGION_SET]
    if region_set is None:
        return [(app[keys.REGION], app[keys.SNAPSHOT])]
    snapshots = app[keys.SERVED][app[keys.REGION].name].snapshots  # one per region
    return [(region, snapshots[name]) for name, region in region_set.regions.items()]


async def sites_handler(request: web.Request) -> web.Response:
    app, now = request.app, request.app[keys.CLOCK]()
    if app[keys.REGION_SET] is None:
        return json_response(sites_status(app[keys.REGION], app[keys.SNAPSHOT], now=now))
    return json_response(regions_sites_status(served_regions(app), now=now))


async def conditions_handler(_: web.Request) -> web.Response:
    return json_response({"conditions": [
        {"code": c.code, "label": c.label, "treated_by": sorted(c.treated_by),
         "red_flag": c.red_flag} for c in CONDITIONS.values()
    ]})


async def healthz_handler(_: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz_handler(request: web.Request) -> web.Response:
    app = request.app
    several = app[keys.REGION_SET] is not None
    served = app[keys.SERVED]
    ready, body = await readiness(
        snapshot=app[keys.SNAPSHOT], store=app[keys.LIVE_STORE], event_log=app[keys.EVENT_LOG],
        travel_sources={m: t.source for m, t in app[keys.TRAVEL].items()},
        feeds=app[keys.FEEDS][app[keys.REGION].name],
        region_snapshots=served[app[keys.REGION].name].snapshots if several else None,
        region_travel_sources={name: {m: t.source for m, t in one.travel.items()}
                               for name, one in served.items()} if several else None,
        region_feeds=app[keys.FEEDS] if several else None,
        region_estimated_sites={
            name: {m: list(estimated_site_ids(t)) for m, t in one.travel.items()}
            for name, one in served.items()} if several else None)
    return json_response(body, status=200 if ready else 503)


async def metrics_handler(request: web.Request) -> web.Response:
    app = request.app
    metrics, now = app[keys.METRICS], app[keys.CLOCK]()
    age = app[keys.SNAPSHOT].age_seconds()
    metrics.snapshot_age.set(age if age is not None else float("nan"))
    # Every served region's sites, each read from its own region's snapshot (the primary's
    # alone left the other regions' sites without a wait age).
    for region, snapshot in served_regions(app):
        for site in region.sites:
            for service in site.services:
                wait = estimate_wait(region, service.kind,
                                     snapshot.observations.get(f"{site.id}/{service.kind}"),
                                     now)
                age_s = (wait.age_minutes * 60 if wait.age_minutes is not None
                         else float("nan"))
                metrics.site_wait_age.labels(region.name, site.id, service.kind).set(age_s)
    return web.Response(body=metrics.render(),
                        headers={"Content-Type": CONTENT_TYPE_LATEST})


async def bench_static_handler(request: web.Request) -> web.Response:
    """A fixed body the size of a ranking: the ceiling /v1/rank is measured against."""
    return web.Response(body=request.app[keys.BENCH_BODY], content_type="application/json")


async def openapi_handler(request: web.Request) -> web.Response:
    return json_response(openapi_document(request.app[keys.REGION]))
