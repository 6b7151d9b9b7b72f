"""JSON answers, and the one place where WaitLess errors become HTTP statuses.

Handlers raise :class:`~waitless.domain.errors.WaitlessError` subclasses (or return early with
:func:`error_response`); :func:`response_for_error` turns an error into its answer and the
outermost middleware applies it, so a status for an error is decided here and nowhere else.
Anything that is not a ``WaitlessError`` is a bug: 500, logged with its traceback.
"""

from __future__ import annotations

import orjson
from aiohttp import web

from routing.errors import OutsideCoverage
from waitless.api.query import QueryError
from waitless.domain.errors import WaitlessError
from waitless.domain.places import PlaceError
from waitless.domain.stats_settings import StatsConfigError
from waitless.events.db import DatabaseDown, DatabaseUnavailable
from waitless.live.store import StoreError
from waitless.stats.errors import NoDataError, PayloadTooLarge

# (error class, status, error code), most specific first; the first match wins.
_STATUSES: tuple[tuple[type[WaitlessError], int, str], ...] = (
    (QueryError, 400, "bad_request"),
    (PlaceError, 400, "unknown_place"),
    (OutsideCoverage, 422, "outside_coverage"),
    (DatabaseUnavailable, 503, "database_unavailable"),
    (StoreError, 503, "live_store_unavailable"),
    (StatsConfigError, 503, "not_configured"),
    (PayloadTooLarge, 413, "payload_too_large"),
    (NoDataError, 400, "no_data"),
    (WaitlessError, 400, "bad_request"),
)


# Errors whose text names internals (hosts, ports, paths): the answer says this instead; the
# text itself is logged where the error is raised.
_FIXED_MESSAGES: dict[type[WaitlessError], str] = {
    DatabaseUnavailable: "the database is unavailable; try again shortly",
    StoreError: "the live store is unavailable; try again shortly",
}

# Errors that pass by themselves: Retry-After (seconds) says when to ask again; soon enough to
# see the service come back, not so soon that waiting clients hammer it meanwhile.
STORE_RETRY_AFTER_SECONDS = 30
DATABASE_RETRY_AFTER_SECONDS = 30
# Not DatabaseUnavailable itself: without a database configured, asking again changes nothing.
_RETRY_AFTER_SECONDS: dict[type[WaitlessError], int] = {
    StoreError: STORE_RETRY_AFTER_SECONDS, DatabaseDown: DATABASE_RETRY_AFTER_SECONDS}


def json_response(data: object, *, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def error_response(status: int, error: str, message: str, **extra: object) -> web.Response:
    """``{"error": code, "message": text, ...}`` with ``status``."""
    return json_response({"error": error, "message": message, **extra}, status=status)


def public_message(exc: WaitlessError) -> str:
    """The text an answer or a page says for ``exc``: a fixed one where its own names
    internals (:data:`_FIXED_MESSAGES`)."""
    message = exc.message if isinstance(exc, QueryError | PlaceError) else str(exc)
    return next((m for cls, m in _FIXED_MESSAGES.items() if isinstance(exc, cls)), message)


def response_for_error(exc: WaitlessError) -> web.Response:
    """The answer for an expected error (a bad parameter names its ``field``)."""
    status, code = next((s, c) for cls, s, c in _STATUSES if isinstance(exc, cls))
    extra = {"field": exc.field} if isinstance(exc, QueryError) else {}
    response = error_response(status, code, public_message(exc), **extra)
    retry = next((s for cls, s in _RETRY_AFTER_SECONDS.items() if isinstance(exc, cls)), None)
    if retry is not None:
        response.headers["Retry-After"] = str(retry)
    return response
