"""HTTP handlers of the statistics API: read input, call one function in ``waitless.stats``."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

import asyncpg
import orjson
from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from waitless.api import keys
from waitless.api.auth import bearer_required
from waitless.api.errors import (
    DATABASE_RETRY_AFTER_SECONDS,
    error_response,
    json_response,
    public_message,
    response_for_error,
)
from waitless.api.place_search import regions_served
from waitless.api.query import QueryError
from waitless.domain.errors import WaitlessError
from waitless.domain.region import Region
from waitless.stats.config import stats_config
from waitless.stats.england import comparison_statistics
from waitless.stats.errors import PayloadTooLarge, StatsQueryError
from waitless.stats.events_stats import (
    event_statistics,
    record_choice,
    validate_choice,
    validate_events_query,
)
from waitless.stats.nhse import import_parsed, parse_provider_csv

logger = logging.getLogger(__name__)

# A monthly provider file is about 30 kB; a year of them fits with room to spare.
UPLOAD_MAX_BYTES = 4 * 1024 * 1024
CHOICE_MAX_BYTES = 1024
_CHUNK_BYTES = 64 * 1024


async def with_connection(request: web.Request,
                          work: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
    """Run ``work`` on a pooled connection of the statistics database."""
    pool = await request.app[keys.DATABASE].pool()
    async with pool.acquire(timeout=10) as conn:
        return await work(conn)


def failure_message(exc: Exception) -> str:
    """What a failed statistics request is said to be, in the API and on the dashboard."""
    if isinstance(exc, WaitlessError):
        return public_message(exc)
    # The database failed part-way through a request that had a pool. Its text names hosts
    # and ports: logged, never answered.
    logger.warning("statistics request failed on the database: %s", exc)
    return "the database is unavailable; try again shortly"


def stats_error_response(exc: Exception) -> web.Response:
    """The HTTP answer for a failure of a statistics request."""
    if isinstance(exc, WaitlessError):
        return response_for_error(exc)
    response = error_response(503, "database_unavailable", failure_message(exc))
    response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


FAILURES = (WaitlessError, OSError, asyncpg.PostgresError, TimeoutError)


def shift_args(query: Any) -> tuple[list[str] | None, str, str]:
    """(orgs or ``None`` for the region's group, baseline, period) from a query string."""
    orgs = [o for o in query.get("orgs", "").split(",") if o.strip()] or None
    for name in ("baseline", "period"):
        if not query.get(name):
            msg = f"{name} is required, a month range like 2025-04..2025-06"
            raise StatsQueryError(msg)
    return orgs, query["baseline"], query["period"]


def stats_region(app: web.Application, query: Mapping[str, str]) -> Region:
    """The region whose statistics a request asks for: ``region=<name>``, else the primary.

    Raises
    ------
    QueryError
        For a name that is not a region served here (the answer lists those that are).
    """
    regions = regions_served(app)
    name = query.get("region")
    if name is None:
        return regions[0]
    return region_named(regions, name)


def region_named(regions: Sequence[Region], name: object) -> Region:
    """The region of ``regions`` called ``name`` (a request's ``region``).

    Raises
    ------
    QueryError
        ``field: region``, listing the regions served, when none is called that.
    """
    found = next((region for region in regions if region.name == name), None)
    if found is None:
        served = ", ".join(region.name for region in regions)
        msg = f"region {str(name)[:60]!r} is not a region served here ({served})"
        raise QueryError("region", msg)
    return found


async def compute_shift_for(request: web.Request, query: Any) -> dict[str, Any]:
    config = stats_config(stats_region(request.app, query))
    orgs, baseline, period = shift_args(query)
    return await with_connection(
        request, lambda conn: comparison_statistics(conn, config, orgs, baseline, period))


async def compute_events_for(request: web.Request, query: Any) -> dict[str, Any]:
    region = stats_region(request.app, query)
    today = request.app[keys.CLOCK]().astimezone(region.timezone).date()
    first, last, group = validate_events_query(query, today=today)
    return await with_connection(
        request, lambda conn: event_statistics(conn, region, first, last, group))


@bearer_required
async def shift_handler(request: web.Request) -> web.Response:
    try:
        return json_response(await compute_shift_for(request, request.query))
    except FAILURES as exc:
        return stats_error_response(exc)


@bearer_required
async def events_handler(request: web.Request) -> web.Response:
    try:
        return json_response(await compute_events_for(request, request.query))
    except FAILURES as exc:
        return stats_error_response(exc)


async def _read_limited(read_chunk: Callable[[int], Awaitable[bytes]], limit: int,
                        used: int = 0) -> bytes:
    chunks, size = [], used
    while chunk := await read_chunk(_CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            msg = f"upload larger than {limit} bytes"
            raise PayloadTooLarge(msg)
        chunks.append(chunk)
    return b"".join(chunks)


async def _multipart_files(request: web.Request) -> list[tuple[str, bytes]]:
    files, used = [], 0
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or not part.filename:
            continue
        data = await _read_limited(part.read_chunk, UPLOAD_MAX_BYTES, used)
        used += len(data)
        if data:
            # A name that was not UTF-8 holds surrogate escapes, which no answer can carry.
            name = part.filename.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            files.append((name, data))
    return files


async def uploaded_files(request: web.Request) -> list[tuple[str, bytes]]:
    """(name, bytes) of each uploaded file: multipart ``file`` parts, or one raw CSV body."""
    if request.content_length is not None and request.content_length > UPLOAD_MAX_BYTES:
        msg = f"upload larger than {UPLOAD_MAX_BYTES} bytes"
        raise PayloadTooLarge(msg)
    if request.content_type == "multipart/form-data":
        try:
            return await _multipart_files(request)
        except HttpProcessingError as exc:
            msg = f"malformed multipart body: {exc.message.strip()}"
            raise StatsQueryError(msg) from exc
        except ValueError as exc:  # aiohttp's word for a Content-Type without a boundary
            msg = f"malformed multipart body: {exc}"
            raise StatsQueryError(msg) from exc
    if request.content_type in ("text/csv", "application/octet-stream", "text/plain"):
        data = await _read_limited(request.content.read, UPLOAD_MAX_BYTES)
        return [(request.query.get("name") or "upload.csv", data)] if data else []
    msg = (f"send text/csv (one file) or multipart/form-data (files), "
           f"not {request.content_type}")
    raise StatsQueryError(msg)


async def import_uploads(request: web.Request) -> list[dict[str, Any]]:
    """Parse every uploaded file, then import them all or none (as the CLI does)."""
    files = await uploaded_files(request)
    if not files:
        msg = "no file uploaded"
        raise StatsQueryError(msg)
    parsed = [parse_provider_csv(data, source_name=name) for name, data in files]
    results = await with_connection(request, lambda conn: import_parsed(conn, parsed))
    return [asdict(r) for r in results]


@bearer_required
async def nhse_upload_handler(request: web.Request) -> web.Response:
    try:
        return json_response({"imported": await import_uploads(request)})
    except FAILURES as exc:
        return stats_error_response(exc)


def choice_region(regions: Sequence[Region], body: Any) -> Region:
    """The served region a reported choice is recorded under.

    A choice belongs with the ranking it answers, which the statistics and the observed follow
    rate join on region: its ``region`` when given (``/v1/rank``'s answer names it; the patient
    page sends it), else the first region, in the order served, that ranks its site (the
    primary first, so a single region and the primary's border sites are as before).

    Parameters
    ----------
    regions
        The regions served, each extended with its neighbours' border sites; primary first.
    body
        The parsed request body (checked further by ``validate_choice``).

    Raises
    ------
    QueryError
        ``region`` not the name of a region served (``field: region``).
    """
    if not isinstance(body, dict):
        return regions[0]  # validate_choice refuses it, saying why
    if "region" in body:
        return region_named(regions, body["region"])
    site_id = body.get("site_id")
    ranked_by = (r for r in regions if isinstance(site_id, str) and r.site(site_id) is not None)
    return next(ranked_by, regions[0])


async def choices_handler(request: web.Request) -> web.Response:
    """``POST /v1/choices``: public; a patient's app says which site they went to."""
    app = request.app
    try:
        raw = await _read_limited(request.content.read, CHOICE_MAX_BYTES)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            msg = f"body is not JSON: {exc}"
            raise StatsQueryError(msg) from exc
        region = choice_region([served.region for served in app[keys.SERVED].values()], body)
        choice = validate_choice(region, body)
        now: dt.datetime = app[keys.CLOCK]()
        choice_id = await with_connection(
            request, lambda conn: record_choice(conn, region, choice, now=now))
    except FAILURES as exc:
        return stats_error_response(exc)
    return json_response({"choice_id": str(choice_id), "site_id": choice["site_id"]},
                         status=201)
