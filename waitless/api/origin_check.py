"""Refusing cross-site POSTs: browsers' choices and dashboard forms come from our own pages.

A page on another site can make its visitors' browsers POST to us (a form, or ``fetch`` with
``text/plain``, which needs no CORS preflight). So on the POST routes a browser uses:

- ``Origin``, when sent (browsers send it on every POST), must be this server's own origin
  (its host and port as in the ``Host`` header the proxy passes on) — or, for
  ``POST /v1/choices`` only, one of ``WAITLESS_CORS_ORIGINS``.
- ``Origin: null`` is what a browser sends for a form on our own pages too (they carry
  ``Referrer-Policy: no-referrer``), and also from sandboxed frames: then ``Sec-Fetch-Site``
  decides and must be present and ``same-origin``.
- Without ``Origin``, ``Sec-Fetch-Site`` (sent by current browsers) must be ``same-origin`` or
  ``none``; a client that sends neither (an app, curl) is not a browser and is not at risk.
- ``POST /v1/choices`` takes ``application/json`` only (415 otherwise): a cross-site
  ``text/plain`` post could otherwise skip the preflight that CORS relies on.

Refusals are 403 ``{"error": "cross_site_request"}`` (415 ``unsupported_media_type``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from waitless.api import keys
from waitless.api.errors import error_response

CHECKED_ROUTES = frozenset({"choices", "commissioners_login", "commissioners_logout",
                            "commissioners_upload"})
_SAME_SITE_FETCH = ("same-origin", "none")


def _allowed_origin(request: web.Request, origin: str, route: str) -> bool:
    if route == "choices" and origin.rstrip("/") in request.app[keys.SETTINGS].cors_origins:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == request.host.lower()


def cross_site_refusal(request: web.Request, route: str) -> web.Response | None:
    """The 403/415 answer for a cross-site or wrongly typed POST, else ``None``."""
    origin = (request.headers.get("Origin") or "").strip()
    fetch_site = request.headers.get("Sec-Fetch-Site", "").lower()
    if origin and origin != "null":
        allowed = _allowed_origin(request, origin, route)
    elif origin == "null":
        allowed = fetch_site == "same-origin"
    else:
        allowed = (fetch_site or "none") in _SAME_SITE_FETCH
    if not allowed:
        return error_response(403, "cross_site_request",
                              "this request must come from this site's own pages")
    if route == "choices" and request.content_type != "application/json":
        return error_response(415, "unsupported_media_type",
                              "POST /v1/choices takes Content-Type: application/json")
    return None
