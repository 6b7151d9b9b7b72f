"""Every route in one place."""

from __future__ import annotations

from aiohttp import web

from waitless import handlers
from waitless.push import setup_push


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/v1/rank", handlers.rank_handler, name="rank")
    app.router.add_get("/v1/sites", handlers.sites_handler, name="sites")
    app.router.add_get("/v1/conditions", handlers.conditions_handler, name="conditions")
    app.router.add_get("/healthz", handlers.healthz_handler, name="healthz")
    app.router.add_get("/readyz", handlers.readyz_handler, name="readyz")
    app.router.add_get("/metrics", handlers.metrics_handler, name="metrics")
    app.router.add_get("/openapi.json", handlers.openapi_handler, name="openapi")
    setup_push(app)
