"""Cross-origin reads of the public API, closed unless origins are configured.

With ``WAITLESS_CORS_ORIGINS`` set, a browser page from one of those origins may ``GET`` the
public ``/v1/*`` endpoints, and ``POST`` a patient's choice as JSON to ``/v1/choices`` (which
:mod:`waitless.api.origin_check` accepts from those origins): preflights (``OPTIONS``) are
answered 204 and responses carry ``Access-Control-Allow-Origin`` with ``Vary: Origin``. Never
for the commissioners' endpoints (``/v1/stats/*``, ``/commissioners``), never with credentials,
never for another origin.
"""

from __future__ import annotations

from aiohttp import web

from waitless.api.errors import error_response

_ALLOWED_REQUEST_HEADERS = frozenset({"accept", "accept-language", "content-language"})
# The one cross-origin write: a partner's page recording which site its patient chose. Its
# JSON body's Content-Type is what makes the browser ask first.
CHOICES_PATH = "/v1/choices"
_CHOICES_REQUEST_HEADERS = _ALLOWED_REQUEST_HEADERS | {"content-type"}
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
    if request.path == CHOICES_PATH:
        return _preflight(request, origin, ok, "POST", _CHOICES_REQUEST_HEADERS)
    return _preflight(request, origin, ok and _has_get(request), "GET", _ALLOWED_REQUEST_HEADERS)


def add_cors_headers(request: web.Request, origin: str,
                     allowed: frozenset[str] | tuple[str, ...],
                     response: web.StreamResponse) -> None:
    """Let a page from ``origin`` read ``response`` when it may (a GET of the public API, or
    its POST of a choice)."""
    readable = (request.method in ("GET", "HEAD")
                or (request.method == "POST" and request.path == CHOICES_PATH))
    if readable and origin in allowed and cors_eligible(request.path):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers.add("Vary", "Origin")


def _has_get(request: web.Request) -> bool:
    # An OPTIONS request on a GET route matches nothing: aiohttp records a 405 naming GET.
    exc = request.match_info.http_exception
    return isinstance(exc, web.HTTPMethodNotAllowed) and "GET" in exc.allowed_methods


def _preflight(request: web.Request, origin: str, ok: bool, allowed_method: str,
               allowed_headers: frozenset[str]) -> web.Response:
    method = request.headers["Access-Control-Request-Method"].upper()
    asked = {h.strip().lower() for h in
             request.headers.get("Access-Control-Request-Headers", "").split(",") if h.strip()}
    if not ok or method != allowed_method or not asked <= allowed_headers:
        return error_response(403, "cors_refused",
                              "this origin, method or header may not call this endpoint "
                              "from a browser")
    return web.Response(status=204, headers={
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": allowed_method,
        "Access-Control-Allow-Headers": ", ".join(sorted(asked)) or "Accept",
        "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_SECONDS),
        "Vary": "Origin"})
