"""Request size limits, refused with a clear 4xx before any handler runs.

==========================  ======================  =========================================
limit                       value                   answer
==========================  ======================  =========================================
body                        64 KiB                  413 (``client_max_size``); uploads stream
                                                    with their own caps: NHS England files
                                                    4 MiB, a choice 1 KiB
query string                2 KiB                   414 ``uri_too_long``
query parameters            24                      400 ``too_many_parameters``
request line                8190 bytes              400 (aiohttp's parser)
one header line             8190 bytes              400 (aiohttp's parser)
headers                     64                      400 (aiohttp's parser)
idle keep-alive             ``WAITLESS_KEEPALIVE_SECONDS`` (15 s), then the connection closes
==========================  ======================  =========================================

aiohttp has no timeout for reading a request's headers or body: a client that sends one byte a
minute holds a connection open. The reverse proxy in front must bound that (nginx:
``client_header_timeout``/``client_body_timeout`` 10 s, ``limit_conn``); see
``docs/operations.md``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from waitless.api.errors import error_response

MAX_BODY_BYTES = 64 * 1024
MAX_QUERY_BYTES = 2048
MAX_QUERY_PARAMS = 24
MAX_LINE_BYTES = 8190
MAX_FIELD_BYTES = 8190
MAX_HEADERS = 64


def handler_args(keepalive_seconds: float) -> dict[str, Any]:
    """Arguments for aiohttp's connection handler (``web.Application(handler_args=...)``).

    They win over whatever runs the app, so the access log is off however it is served: it
    would record client addresses and query strings, which hold patients' coordinates.
    """
    return {"max_line_size": MAX_LINE_BYTES, "max_field_size": MAX_FIELD_BYTES,
            "max_headers": MAX_HEADERS, "keepalive_timeout": keepalive_seconds,
            "access_log": None}


def query_refusal(request: web.Request) -> web.Response | None:
    """The 414 or 400 answer for a query string over the limits, else ``None``."""
    raw_query = request.rel_url.raw_query_string
    if len(raw_query) > MAX_QUERY_BYTES:
        return error_response(414, "uri_too_long",
                              f"the query string is over {MAX_QUERY_BYTES} bytes")
    # Fewer '&' than the limit cannot make more parameters: most requests skip the parse.
    if raw_query.count("&") >= MAX_QUERY_PARAMS and len(request.query) > MAX_QUERY_PARAMS:
        return error_response(400, "too_many_parameters",
                              f"at most {MAX_QUERY_PARAMS} query parameters")
    return None
