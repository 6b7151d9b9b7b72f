"""Server-rendered pages: Jinja2 templates, static files and the headers every page carries."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

TEMPLATES = web.AppKey("templates", jinja2.Environment)

STATIC_DIR = Path(str(resources.files("waitless") / "static"))
NHSUK_ASSETS_DIR = STATIC_DIR / "vendor" / "nhsuk-frontend" / "assets"

# No inline script or style anywhere: every script and stylesheet is a file under /static.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'; object-src 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "geolocation=(self), camera=(), microphone=()",
}


def make_templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("waitless", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(request: web.Request, template: str, context: dict[str, Any], *,
           status: int = 200) -> web.Response:
    """Render a template to an HTML response with the page security headers."""
    html = request.app[TEMPLATES].get_template(template).render(**context)
    return web.Response(text=html, status=status, content_type="text/html",
                        headers=PAGE_HEADERS)


# Names no software or version: the version of Python and aiohttp helps only an attacker.
SERVER_HEADER = "WaitLess"
# Signed-in pages and the statistics API: private answers no cache (browser or proxy) keeps.
NO_STORE_PREFIXES = ("/commissioners", "/v1/stats/")


def apply_security_headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """The headers every answer carries, whatever produced it (handler, error, static file)."""
    response.headers["Server"] = SERVER_HEADER
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.content_type == "text/html":
        for name, value in PAGE_HEADERS.items():
            response.headers.setdefault(name, value)
    if request.path == "/commissioners" or request.path.startswith(NO_STORE_PREFIXES):
        response.headers["Cache-Control"] = "no-store"


async def _on_prepare(request: web.BaseRequest, response: web.StreamResponse) -> None:
    # Just before the headers go out, so every answer gets them: a handler's, an error made by
    # a middleware (404, 405, 413, 429, 500 turned into JSON), a static file. (A middleware
    # doing the same as well only cost time: issue 12.)
    apply_security_headers(request, response)


def setup_pages(app: web.Application) -> None:
    """The page templates (static routes are in :mod:`waitless.api.routes`) and headers."""
    app[TEMPLATES] = make_templates()
    app.on_response_prepare.append(_on_prepare)
