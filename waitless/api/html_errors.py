"""Friendly HTML error pages for browsers; API clients keep their JSON errors.

The observe middleware (:mod:`waitless.api.app`) builds every error answer as JSON; when the
request comes from a browser navigating to a page (it asks for ``text/html`` first and the path
is not part of the API), :func:`negotiate_error` swaps in an HTML page with the same status and
headers, so a mistyped address shows words a person can act on, not a JSON body. On the
commissioners' dashboard some error codes have a page of their own (:data:`_DASHBOARD_PAGES`):
a Redis outage there says what does and does not work meanwhile, not just "a problem".
"""

from __future__ import annotations

import orjson
from aiohttp import web

from waitless.api import keys
from waitless.api.render import render

# Paths whose callers are programs, whatever their Accept header says.
_API_PREFIXES = ("/v1/", "/openapi.json", "/metrics", "/healthz", "/readyz")
_PAGES = {
    404: ("Page not found", "If you typed the web address, check it is correct. "
                            "If you pasted it, check you copied the entire address."),
    405: ("This page cannot be used that way", "Go back to the search and try again."),
    429: ("Too many requests", "You have asked for answers too often in a short time. "
                               "Wait a minute, then try again."),
    500: ("Sorry, there is a problem with the service", "Try again later."),
}
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")
# Dashboard pages by the JSON answer's error code, in place of the status's general page.
_DASHBOARD = "/commissioners"
_DASHBOARD_PAGES = {"live_store_unavailable": "commissioners/live_store_unavailable.html"}


def wants_html(request: web.Request) -> bool:
    """A browser navigation: HTML is asked for before JSON, and the path is not the API."""
    if request.path.startswith(_API_PREFIXES):
        return False
    accept = request.headers.get("Accept", "")
    html_at, json_at = accept.find("text/html"), accept.find("application/json")
    return html_at >= 0 and (json_at < 0 or html_at < json_at)


def negotiate_error(request: web.Request,
                    response: web.StreamResponse) -> web.StreamResponse:
    """``response`` unchanged, or an HTML page with its status for a browser."""
    if response.status < 400 or response.content_type != "application/json":
        return response
    if not wants_html(request):
        return response
    region_title = request.app[keys.REGION].title
    dashboard_page = (_DASHBOARD_PAGES.get(error_code(response))
                      if request.path.startswith(_DASHBOARD) else None)
    if dashboard_page is not None:
        page = render(request, dashboard_page,
                      {"region_title": region_title, "signed_in": False, "chart": None,
                       "sent": request.method == "POST"}, status=response.status)
    else:
        title, explanation = _PAGES.get(response.status) or (
            _PAGES[500] if response.status >= 500 else
            ("There is a problem with this request", "Go back to the search and try again."))
        page = render(request, "error.html",
                      {"region_title": region_title, "title": title,
                       "explanation": explanation}, status=response.status)
    for name in _KEPT_HEADERS:
        if name in response.headers:
            page.headers[name] = response.headers[name]
    return page


def error_code(response: web.StreamResponse) -> str | None:
    """The ``error`` of a JSON error answer (:func:`~waitless.api.errors.error_response`),
    or ``None`` when its body is not such an object."""
    body = getattr(response, "body", None)
    try:
        answer = orjson.loads(body) if isinstance(body, bytes) else None
    except orjson.JSONDecodeError:
        return None
    return answer.get("error") if isinstance(answer, dict) else None
