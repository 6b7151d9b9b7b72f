"""The commissioners' dashboard at ``/commissioners``: sign-in, shift and event pages, CSV."""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from redis.exceptions import RedisError

from waitless.api import formatting, keys, shift_view
from waitless.api import stats_handlers as stats_http
from waitless.api.auth import (
    AUTH_FAILED,
    REVOKED,
    SESSION_COOKIE,
    UNCONFIGURED,
    Handler,
    clear_session_cookie,
    configured_token,
    new_session,
    session_of,
    set_session_cookie,
    token_matches,
)
from waitless.api.errors import STORE_RETRY_AFTER_SECONDS, error_response
from waitless.api.place_search import regions_served
from waitless.api.render import render
from waitless.stats.events_stats import ROW_FIELDS

_SHIFT_TABLES = ("months", "summary", "breaks", "missing", *shift_view.EXTRA_TABLES)


def region_choice(request: web.Request) -> dict[str, Any]:
    """The region chooser and the chosen region's name and title for the page's headings,
    links and forms; all empty when one region is served, so its pages stay as they were.

    ``region=`` chooses (blank: the primary, as the statistics take it). A name that is not
    served chooses none: the page says so, and the chooser leads on.
    """
    regions = regions_served(request.app)
    if len(regions) == 1:
        return {"regions": [], "region_name": "", "region_heading": ""}
    name = request.query.get("region", "")
    name = name if name.strip() else regions[0].name
    chosen = next((region for region in regions if region.name == name), None)
    # The upload (a POST) has no page to show again: its chooser leads to the shift page.
    path = request.path if request.method == "GET" else "/commissioners/shift"
    return {"regions": [{"title": region.title, "current": region is chosen,
                         "href": f"{path}?{urlencode({'region': region.name})}"}
                        for region in regions],
            "region_name": chosen.name if chosen else "",
            "region_heading": chosen.title if chosen else ""}


def _page(request: web.Request, template: str, context: dict[str, Any], *,
          status: int = 200) -> web.Response:
    choice = region_choice(request)
    # The header names the region shown, as the headings do (the primary by default).
    title = choice["region_heading"] or request.app[keys.REGION].title
    return render(request, f"commissioners/{template}",
                  {"region_title": title, "signed_in": False, "chart": None,
                   "store_down": False, **choice, **context},
                  status=status)


def redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def session_required(*, csv_download: bool = False) -> Callable[[Handler], Handler]:
    """Run a dashboard handler only for a signed-in session; pages redirect to the sign-in."""
    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            if configured_token(request.app) is None:
                if csv_download:
                    return error_response(503, "not_configured", UNCONFIGURED)
                return _page(request, "login.html", {"error": UNCONFIGURED, "enabled": False},
                             status=503)
            if await session_of(request) is None:
                if request.cookies.get(SESSION_COOKIE):
                    # A cookie that is forged, expired or signed out: a failed sign-in for
                    # the per-client limit, like a 401 (pages answer with a redirect).
                    request[AUTH_FAILED] = True
                if csv_download:
                    return error_response(401, "unauthorized", "sign in at /commissioners")
                return redirect("/commissioners")
            return await handler(request)
        return wrapped
    return wrap


def live_store_down(app: web.Application) -> bool:
    """Whether the live store (with Redis, also where sign-outs are checked) failed the last
    time this worker read it.

    The snapshot's own state, which ``/readyz`` reports: its background reload sets it about
    a second after Redis refuses connections (the change subscription drops, and a reload
    follows a second later; one that hangs takes up to ``snapshot_refresh_seconds`` and the
    store's socket timeout) and clears it at the first reload after Redis answers. Asking it
    costs the sign-in page no round trip to Redis.
    """
    return app[keys.SNAPSHOT].error is not None


def _sign_in_unavailable(request: web.Request) -> web.Response:
    """The sign-in page while the live store is down: 503, ``Retry-After``, no form.

    Signing in would only lead to the outage page (no session can be checked), so the page
    says so instead of offering a form that cannot work; a disabled form would be announced
    but not reachable by keyboard, and no clearer.
    """
    response = _page(request, "login.html", {"error": None, "enabled": False,
                                             "store_down": True}, status=503)
    response.headers["Retry-After"] = str(STORE_RETRY_AFTER_SECONDS)
    return response


async def index_handler(request: web.Request) -> web.StreamResponse:
    if configured_token(request.app) is None:
        return _page(request, "login.html", {"error": UNCONFIGURED, "enabled": False},
                     status=503)
    # With a cookie in an outage this raises StoreError: the outage page, for a session.
    if await session_of(request) is not None:
        return redirect("/commissioners/shift")
    if live_store_down(request.app):
        return _sign_in_unavailable(request)
    return _page(request, "login.html", {"error": None, "enabled": True})


async def login_handler(request: web.Request) -> web.StreamResponse:
    token = configured_token(request.app)
    if token is None:
        return _page(request, "login.html", {"error": UNCONFIGURED, "enabled": False},
                     status=503)
    try:
        form = await request.post()
    except (ValueError, LookupError, HttpProcessingError):
        # Not UTF-8, an unknown charset, or a multipart body without its boundary.
        return _page(request, "login.html",
                     {"error": "The form could not be read.", "enabled": True}, status=400)
    given = form.get("token")
    if not isinstance(given, str) or not token_matches(given.strip(), token):
        return _page(request, "login.html",
                     {"error": "That token is not right.", "enabled": True}, status=401)
    response = redirect("/commissioners/shift")
    set_session_cookie(request, response,
                       new_session(token, hours=request.app[keys.SETTINGS].session_hours))
    return response


async def logout_handler(request: web.Request) -> web.StreamResponse:
    session = await session_of(request)
    if session is not None:
        try:
            await request.app[REVOKED].revoke(*session)
        except (RedisError, OSError):
            # Not signed out everywhere: say so rather than pretend (the cookie stays).
            response = _page(request, "login.html",
                             {"error": "Signing out failed; try again in a moment.",
                              "enabled": True}, status=503)
            response.headers["Retry-After"] = str(STORE_RETRY_AFTER_SECONDS)
            return response
    response = redirect("/commissioners")
    clear_session_cookie(request, response)
    return response


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
                 ) -> web.Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return web.Response(text=out.getvalue(), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"',
                                 "Cache-Control": "no-store"})


def shift_table(result: dict[str, Any], table: str) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of one table of a shift result (months, summary, breaks, missing)."""
    if table == "months":
        return (["month", "role", "type1", "other", "type2", "other_share", "orgs_reported",
                 "orgs_missing"],
                [[m["month"], m["role"], m["type1"], m["other"], m["type2"], m["other_share"],
                  " ".join(m["orgs_reported"]), " ".join(m["orgs_missing"])]
                 for m in result["months"]])
    if table in shift_view.EXTRA_TABLES:
        return shift_view.extra_table(result, table)
    if table == "summary":
        low, high = result["ci95_pp"]
        extra_header, extra = shift_view.summary_extra(result)
        return (["range", "months", "type1", "other", "type2", "other_share",
                 "months_with_data", "shift_pp", "ci95_low_pp", "ci95_high_pp", "rating",
                 *extra_header],
                [[role, result[f"{role}_range"], result[role]["type1"], result[role]["other"],
                  result[role]["type2"], result[role]["other_share"],
                  result[role]["months_with_data"], None, None, None, None,
                  *[None] * len(extra)]
                 for role in ("baseline", "period")]
                + [["shift", f"{result['baseline_range']} -> {result['period_range']}", None,
                    None, None, None, None, result["shift_pp"], low, high, result["rating"],
                    *extra]])
    if table == "breaks":
        return (["org", "month", "source", "position", "spans_comparison", "detected",
                 "description"],
                [[b["org"], b["month"], b["source"], b["position"], b["spans_comparison"],
                  b["detected"], b["description"]] for b in result["breaks"]])
    return (["org", "month", "reason"],
            [[m["org"], m["month"], m["reason"]] for m in result["missing"]])


def _failed_page(request: web.Request, template: str, context: dict[str, Any],
                 exc: Exception) -> web.Response:
    """A dashboard page for a failed statistics request, with the status and ``Retry-After``
    the statistics API answers it with (a database outage: 503, not the 400 of a bad form)."""
    answer = stats_http.stats_error_response(exc)
    page = _page(request, template, context, status=answer.status)
    if "Retry-After" in answer.headers:
        page.headers["Retry-After"] = answer.headers["Retry-After"]
    return page


@session_required()
async def shift_page(request: web.Request) -> web.Response:
    context, status, failure = await shift_view.shift_page_context(request)
    if failure is not None:
        return _failed_page(request, "shift.html", context, failure)
    return _page(request, "shift.html", context, status=status)


def query_string(params: dict[str, str]) -> str:
    return urlencode({k: v for k, v in params.items() if v})


@session_required(csv_download=True)
async def shift_csv(request: web.Request) -> web.Response:
    table = request.query.get("table", "months")
    if table not in _SHIFT_TABLES:
        return error_response(400, "bad_request", f"table must be one of {_SHIFT_TABLES}")
    try:
        result = await stats_http.compute_shift_for(request, request.query)
    except stats_http.FAILURES as exc:
        return stats_http.stats_error_response(exc)
    header, rows = shift_table(result, table)
    name = f"shift-{table}-{result['baseline_range']}-vs-{result['period_range']}.csv"
    return csv_response(name.replace("..", "_"), header, rows)


@session_required()
async def events_page(request: web.Request) -> web.Response:
    # A form left blank means "the default"; the API itself refuses empty values.
    query = {k: v for k, v in request.query.items() if v.strip()}
    context: dict[str, Any] = {"signed_in": True, "error": None, "result": None,
                               "chart": None, "fields": ROW_FIELDS, "fmt": formatting}
    try:
        result = await stats_http.compute_events_for(request, query)
    except stats_http.FAILURES as exc:
        context.update(error=stats_http.failure_message(exc), form={k: query.get(k, "")
                                                  for k in ("from", "to", "group")})
        return _failed_page(request, "events.html", context, exc)
    form = {"from": result["from"], "to": result["to"], "group": result["group"]}
    rows = result["rows"]
    csv_query = query_string({**form, "region": query.get("region", "")})
    context.update(result=result, form=form, csv_query=csv_query, chart={
        "kind": "events", "labels": [r["bucket"] for r in rows],
        "rankings": [r["rankings"] for r in rows],
        "minor_instead_of_ed": [r["minor_instead_of_ed"] for r in rows],
        "choices": [r["choices"] for r in rows],
        "minutes_saved": [r["minutes_saved"] for r in rows]})
    return _page(request, "events.html", context)


@session_required(csv_download=True)
async def events_csv(request: web.Request) -> web.Response:
    try:
        result = await stats_http.compute_events_for(request, request.query)
    except stats_http.FAILURES as exc:
        return stats_http.stats_error_response(exc)
    rows = [*result["rows"], result["total"]]
    return csv_response(f"events-{result['group']}-{result['from']}-{result['to']}.csv",
                        ROW_FIELDS, [[r[f] for f in ROW_FIELDS] for r in rows])


@session_required()
async def upload_page(request: web.Request) -> web.Response:
    context: dict[str, Any] = {"signed_in": True, "error": None, "imported": None}
    try:
        context["imported"] = await stats_http.import_uploads(request)
    except stats_http.FAILURES as exc:
        context["error"] = stats_http.failure_message(exc)
        return _failed_page(request, "upload.html", context, exc)
    return _page(request, "upload.html", context)
