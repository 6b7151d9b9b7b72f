"""Every route in one place."""

from __future__ import annotations

from aiohttp import web

from waitless.api import dashboard, handlers, keys
from waitless.api import stats_handlers as stats_http
from waitless.api.page import PAGE_GAZETTEER, patient_page_handler
from waitless.api.push import setup_push
from waitless.domain.places import load_gazetteer


def setup_routes(app: web.Application) -> None:
    app[PAGE_GAZETTEER] = load_gazetteer(app[keys.REGION])
    app.router.add_get("/", patient_page_handler, name="patient_page")
    app.router.add_get("/v1/rank", handlers.rank_handler, name="rank")
    app.router.add_get("/v1/places", handlers.places_handler, name="places")
    app.router.add_get("/v1/sites", handlers.sites_handler, name="sites")
    app.router.add_get("/v1/conditions", handlers.conditions_handler, name="conditions")
    app.router.add_get("/healthz", handlers.healthz_handler, name="healthz")
    app.router.add_get("/readyz", handlers.readyz_handler, name="readyz")
    app.router.add_get("/metrics", handlers.metrics_handler, name="metrics")
    app.router.add_get("/openapi.json", handlers.openapi_handler, name="openapi")
    if app[keys.SETTINGS].bench_endpoints:
        app.router.add_get("/v1/bench/static", handlers.bench_static_handler,
                           name="bench_static")
    app.router.add_post("/v1/choices", stats_http.choices_handler, name="choices")
    app.router.add_get("/v1/stats/shift", stats_http.shift_handler, name="stats_shift")
    app.router.add_get("/v1/stats/events", stats_http.events_handler, name="stats_events")
    app.router.add_post("/v1/stats/nhse", stats_http.nhse_upload_handler, name="stats_nhse")
    dashboard.setup_dashboard_routes(app)
    setup_push(app)
