"""Cross-origin reads of the public API, closed unless origins are configured.

With ``WAITLESS_CORS_ORIGINS`` set, a browser page from one of those origins may ``GET`` the
public ``/v1/*`` endpoints: preflights (``OPTIONS``) are answered 204 and responses carry
``Access-Control-Allow-Origin`` with ``Vary: Origin``. Never for the commissioners' endpoints
(``/v1/stats/*``, ``/commissioners``), never with credentials, never for another origin.
"""

from __future__ import annotations

from aiohttp import web

from waitless.api.errors import error_response

_ALLOWED_REQUEST_HEADERS = frozenset({"accept", "accept-language", "content-language"})
PREFLIGHT_MAX_AGE_SECONDS = 600


def cors_eligible(path: str) -> bool:
    """Public API paths only: ``/v1/*`` without the commissioners' statistics."""
    return path.startswith("/v1/") and not path.startswith("/v1/stats")


def preflight_answer(request: web.Request, origin: str,
                     allowed: frozenset[str] | tuple[str, ...]) -> web.Response | None:
    """The answer to a CORS preflight from ``origin`` (204, or 403 refusing it), or ``None``
    when ``request`` is not a preflight."""
    if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
        return None
    ok = origin in allowed and cors_eligible(request.path)
    return _preflight(request, origin, ok and _has_get(request))


def add_cors_headers(request: web.Request, origin: str,
                     allowed: frozenset[str] | tuple[str, ...],
                     response: web.StreamResponse) -> None:
    """Let a page from ``origin`` read ``response`` when it may (a GET of the public API)."""
    if request.method in ("GET", "HEAD") and origin in allowed and cors_eligible(request.path):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers.add("Vary", "Origin")


def _has_get(request: web.Request) -> bool:
    # An OPTIONS request on a GET route matches nothing: aiohttp records a 405 naming GET.
    exc = request.match_info.http_exception
    return isinstance(exc, web.HTTPMethodNotAllowed) and "GET" in exc.allowed_methods


def _preflight(request: web.Request, origin: str, ok: bool) -> web.Response:
    method = request.headers["Access-Control-Request-Method"].upper()
    asked = {h.strip().lower() for h in
             request.headers.get("Access-Control-Request-Headers", "").split(",") if h.strip()}
    if not ok or method != "GET" or not asked <= _ALLOWED_REQUEST_HEADERS:
        return error_response(403, "cors_refused",
                              "this origin, method or header may not call this endpoint "
                              "from a browser")
    return web.Response(status=204, headers={
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "GET",
        "Access-Control-Allow-Headers": ", ".join(sorted(asked)) or "Accept",
        "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_SECONDS),
        "Vary": "Origin"})
