"""Every route in one place."""

from __future__ import annotations

from aiohttp import web

from waitless.api import dashboard, handlers, keys, push
from waitless.api import stats_handlers as stats
from waitless.api.info_pages import (
    INFO_PAGES,
    SERVICE_WORKER,
    info_handler,
    service_worker_handler,
    service_worker_script,
)
from waitless.api.page import patient_page_handler
from waitless.api.place_search import GAZETTEERS, load_gazetteers, regions_served
from waitless.api.render import NHSUK_ASSETS_DIR, STATIC_DIR


def setup_routes(app: web.Application) -> None:
    app[GAZETTEERS] = load_gazetteers(regions_served(app))
    app[push.PUSH_INGEST] = {}
    add_get, add_post = app.router.add_get, app.router.add_post
    # Patients and apps.
    add_get("/", patient_page_handler, name="patient_page")
    for page in INFO_PAGES:
        add_get(f"/{page}", info_handler(page), name=f"info_{page.replace('-', '_')}")
    app[SERVICE_WORKER] = service_worker_script()  # hashed once, at start-up
    add_get("/sw.js", service_worker_handler, name="service_worker")
    add_get("/v1/rank", handlers.rank_handler, name="rank")
    add_get("/v1/places", handlers.places_handler, name="places")
    add_get("/v1/sites", handlers.sites_handler, name="sites")
    add_get("/v1/conditions", handlers.conditions_handler, name="conditions")
    add_post("/v1/choices", stats.choices_handler, name="choices")
    app.router.add_static("/static/", STATIC_DIR, name="static")
    app.router.add_static("/assets/", NHSUK_ASSETS_DIR, name="nhsuk_assets")
    # Operators.
    add_get("/healthz", handlers.healthz_handler, name="healthz")
    add_get("/readyz", handlers.readyz_handler, name="readyz")
    add_get("/metrics", handlers.metrics_handler, name="metrics")
    add_get("/openapi.json", handlers.openapi_handler, name="openapi")
    if app[keys.SETTINGS].bench_endpoints:
        add_get("/v1/bench/static", handlers.bench_static_handler, name="bench_static")
    # Feeds that push their waits to us.
    add_post("/v1/feeds/{feed}/observations", push.push_handler, name="feed_push")
    # Commissioners: statistics API (bearer token) and dashboard (signed-in session).
    add_get("/v1/stats/shift", stats.shift_handler, name="stats_shift")
    add_get("/v1/stats/events", stats.events_handler, name="stats_events")
    add_post("/v1/stats/nhse", stats.nhse_upload_handler, name="stats_nhse")
    add_get("/commissioners", dashboard.index_handler, name="commissioners")
    add_post("/commissioners/login", dashboard.login_handler, name="commissioners_login")
    add_post("/commissioners/logout", dashboard.logout_handler, name="commissioners_logout")
    add_get("/commissioners/shift", dashboard.shift_page, name="commissioners_shift")
    add_get("/commissioners/shift.csv", dashboard.shift_csv, name="commissioners_shift_csv")
    add_get("/commissioners/events", dashboard.events_page, name="commissioners_events")
    add_get("/commissioners/events.csv", dashboard.events_csv,
            name="commissioners_events_csv")
    add_post("/commissioners/upload", dashboard.upload_page, name="commissioners_upload")
