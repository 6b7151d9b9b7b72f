"""The OpenAPI 3.1 description of every endpoint (served at ``/openapi.json``)."""

from __future__ import annotations

from typing import Any

from waitless import __version__
from waitless.api.shift_schema import SHIFT_RESULT_SCHEMA
from waitless.domain.conditions import CONDITIONS
from waitless.domain.region import Region

_ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                   "field": {"type": "string"}},
}
_NUM_OR_NULL = {"type": ["number", "null"]}
_STR_OR_NULL = {"type": ["string", "null"]}

_RESULT = {
    "type": "object",
    "required": ["site_id", "name", "kind", "open", "wait_minutes", "wait_observed_at",
                 "wait_status", "predicted_wait_minutes", "predicted_wait_p90_minutes",
                 "confidence", "travel_minutes", "travel_source", "total_minutes"],
    "properties": {
        "site_id": {"type": "string"}, "name": {"type": "string"}, "town": {"type": "string"},
        "lat": {"type": "number"}, "lon": {"type": "number"},
        "kind": {"enum": ["ed", "utc", "miu"]},
        "open": {"type": "boolean"}, "open_until": _STR_OR_NULL, "open_24h": {"type": "boolean"},
        "hours_verified": {"type": "boolean"},
        "wait_minutes": _NUM_OR_NULL, "wait_kind": _STR_OR_NULL,
        "wait_observed_at": _STR_OR_NULL, "wait_age_minutes": _NUM_OR_NULL,
        "wait_status": {"enum": ["live", "stale", "unavailable", "implausible"]},
        "patients_waiting": {"type": ["integer", "null"]},
        "predicted_wait_minutes": {"type": "number",
                                   "description": "median (p50) wait expected at arrival"},
        "predicted_wait_p90_minutes": {**_NUM_OR_NULL, "description":
                                       "9 in 10 patients wait less than this at arrival; "
                                       "null when the figure is stale or missing"},
        "prediction_method": {"enum": ["seasonal", "trend", "now", "stale_penalty",
                                       "assumed"]},
        "confidence": {"enum": ["high", "medium", "low"]},
        "travel_minutes": {"type": "number"},
        "travel_source": {"enum": ["road_graph", "estimate"]},
        "arrival_at": {"type": "string"},
        "total_minutes": {"type": "number"},
        "load_adjustment_minutes": {"type": "number", "description":
                                    "minutes added for patients WaitLess has sent here who "
                                    "arrive first (0 when load-aware ranking is off)"},
    },
}

_RANK = {
    "type": "object",
    "required": ["origin", "generated_at", "results", "excluded", "emergency"],
    "properties": {
        "region": {"type": "string"},
        "event_id": {"type": "string", "format": "uuid",
                     "description": "send back with POST /v1/choices"},
        "origin": {"type": "object"},
        "generated_at": {"type": "string"},
        "depart_at": {"type": "string"},
        "condition": _STR_OR_NULL,
        "age": _NUM_OR_NULL,
        "advice": {"type": "string"},
        "omitted_far_sites": {"type": "integer", "minimum": 0,
                              "description": "sites beyond the region's travel limit "
                                             "(max_travel_minutes, or max_walk_minutes when "
                                             "walking), not listed"},
        "emergency": {
            "oneOf": [{"type": "null"}, {
                "type": "object", "required": ["call", "message"],
                "properties": {"call": {"const": "999"}, "condition": {"type": "string"},
                               "message": {"type": "string"}}}],
        },
        "results": {"type": "array", "items": _RESULT},
        "excluded": {"type": "array", "items": {
            "type": "object", "required": ["site_id", "reason"],
            "properties": {"site_id": {"type": "string"}, "name": {"type": "string"},
                           "reason": {"type": "string"}, "detail": {"type": "string"}}}},
    },
}


_PLACE = {
    "type": "object",
    "required": ["name", "kind", "lat", "lon", "district"],
    "properties": {
        "name": {"type": "string"},
        "kind": {"enum": ["town", "district"],
                 "description": "a town, or a postcode district (outward code)"},
        "lat": {"type": "number"}, "lon": {"type": "number"},
        "district": {"type": "string", "description": "the postcode district it lies in"},
        "region": {"type": "string",
                   "description": "with several regions served: the region whose gazetteer "
                                  "holds the place (its machine name)"},
        "region_title": {"type": "string",
                         "description": "with several regions served: that region's name "
                                        "shown to people"},
    },
}
# A name in the gazetteers of several served regions: every match, each with its region.
_PLACE_ERROR = {**_ERROR, "properties": {
    **_ERROR["properties"],
    "matches": {"type": "array", "items": _PLACE,
                "description": "error ambiguous_place: one place per region, to choose from "
                               "(ask again with region=)"}}}

_SITE_SERVICE = {
    "type": "object",
    "required": ["kind", "reported", "open_now", "hours", "wait_minutes", "wait_status",
                 "wait_observed_at", "feed"],
    "properties": {
        "kind": {"enum": ["ed", "utc", "miu"]},
        "reported": {"type": "boolean",
                     "description": "false: no reading yet in the live store (no feed has "
                                    "reported this service); its reading fields are null"},
        "open_now": {"type": "boolean"}, "hours": {"type": "object"},
        "reported_status": _STR_OR_NULL, "wait_minutes": _NUM_OR_NULL,
        "wait_kind": _STR_OR_NULL,
        "wait_status": {"enum": ["live", "stale", "unavailable", "implausible"]},
        "wait_observed_at": _STR_OR_NULL, "wait_age_minutes": _NUM_OR_NULL,
        "patients_waiting": {"type": ["integer", "null"]}, "feed": _STR_OR_NULL,
    },
}

_SITES = {
    "type": "object",
    "required": ["region", "generated_at", "live_store_error", "feeds", "sites"],
    "properties": {
        "region": {"type": "string"}, "generated_at": {"type": "string"},
        "snapshot_age_seconds": _NUM_OR_NULL, "live_store_error": _STR_OR_NULL,
        "feeds": {"type": "object"},
        "sites": {"type": "array", "description": "every site of every region file served, "
                                                  "whether or not a feed has reported it",
                  "items": {
                      "type": "object",
                      "required": ["site_id", "region", "name", "reported", "services",
                                   "rejections", "rejections_total"],
                      "properties": {
                          "site_id": {"type": "string"}, "region": {"type": "string"},
                          "name": {"type": "string"},
                          "reported": {"type": "boolean",
                                       "description": "false: none of its services has a "
                                                      "reading yet"},
                          "services": {"type": "array", "items": _SITE_SERVICE},
                          "rejections": {"type": "array"},
                          "rejections_total": {"type": "integer", "minimum": 0}}}},
        "regions": {"type": "object",
                    "description": "with several regions served: each one's snapshot age, "
                                   "live-store error and feeds"},
    },
}

_PUSH_ANSWER = {
    "type": "object",
    "required": ["feed", "accepted", "rejected"],
    "properties": {
        "feed": {"type": "string"},
        "accepted": {"type": "integer", "minimum": 0},
        "rejected": {"type": "array", "items": {
            "type": "object", "required": ["site_id", "reason", "detail"],
            "properties": {"site_id": {"type": "string"}, "service": _STR_OR_NULL,
                           "reason": {"type": "string"}, "detail": {"type": "string"}}}},
    },
}

def _param(name: str, description: str, schema: dict[str, Any], *,
           required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": schema}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_RATE_LIMITED = {**_json("Too many requests from this client (WAITLESS_RATE_LIMIT); "
                         "Retry-After says when to ask again", _ERROR),
                 "headers": {"Retry-After": {"schema": {"type": "integer"}}}}


_AUTH_LIMITED = {**_json("Too many failed authentications from this client "
                         "(WAITLESS_AUTH_FAILURE_LIMIT); Retry-After says when to ask again",
                         _ERROR),
                 "headers": {"Retry-After": {"schema": {"type": "integer"}}}}


def _push_path() -> dict[str, Any]:
    return {"post": {
        "summary": "Push waits for a push feed (British Columbia style)",
        "description": "The feed is declared in the region file with a format and no url. "
                       "Authenticate with `Authorization: Bearer <token>` or, for `bc_push`, the "
                       "payload's `token`; tokens come from WAITLESS_PUSH_TOKENS. Observations are "
                       "validated like polled ones, with the sites and limits of the region "
                       "declaring the feed (any region served); rejected values never reach "
                       "rankings.",
        "parameters": [{"name": "feed", "in": "path", "required": True,
                        "schema": {"type": "string"}}],
        "security": [{"pushToken": []}, {}],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"type": "object"}}}},
        "responses": {
            "200": _json("Accepted count and rejections with their reasons", _PUSH_ANSWER),
            "400": _json("Bad body; `error` names the problem (empty_body, truncated, "
                         "wrong_content_type, no_sites, bad_payload)", _ERROR),
            "401": _json("Missing or wrong token, or no push feed of that name (one answer "
                         "for both, so feed names are not revealed)", _ERROR),
            "413": _json("Body larger than the feed's region's max_body_bytes (with a bearer "
                         "token; without one, 401)", _ERROR),
            "429": _AUTH_LIMITED,
            "503": {**_json("Live store unavailable; Retry-After says when to send again",
                            _ERROR),
                    "headers": {"Retry-After": {"schema": {"type": "integer"}}}},
        }}}


def openapi_document(region: Region) -> dict[str, Any]:
    """The OpenAPI document for this service and region."""
    rank_params = [
        _param("lat", "Patient latitude, decimal degrees", {"type": "number", "minimum": -90,
                                                              "maximum": 90}, required=True),
        _param("lon", "Patient longitude, decimal degrees", {"type": "number", "minimum": -180,
                                                               "maximum": 180}, required=True),
        _param("condition", "What is wrong (see /v1/conditions)",
               {"type": "string", "enum": sorted(CONDITIONS)}),
        _param("age", "Patient age in years", {"type": "number", "minimum": 0, "maximum": 130}),
        _param("depart_at", "When the patient would leave (ISO-8601; no offset means the "
               f"region's local time, {region.timezone.key}); default now",
               {"type": "string", "format": "date-time"}),
        _param("limit", "Most results to return", {"type": "integer", "minimum": 1,
                                                    "maximum": 100}),
        _param("mode", "Travel mode", {"type": "string", "enum": ["drive", "walk"]}),
    ]
    plain = {"type": "object"}
    return {
        "openapi": "3.1.0",
        "info": {"title": "WaitLess API", "version": __version__,
                 "description": f"Urgent-care routing for {region.title}."},
        "paths": {
            "/v1/rank": {"get": {
                "summary": "Rank sites by total time to treatment",
                "parameters": rank_params,
                "responses": {
                    "200": _json("Ranking, or a call-999 answer for red-flag conditions", _RANK),
                    "400": _json("Bad input; the message says what is wrong", _ERROR),
                    "422": _json("Origin outside the coverage of every region served "
                                 "(error: outside_coverage)", _ERROR),
                    "429": _RATE_LIMITED,
                }}},
            "/v1/places": {"get": {
                "summary": "Find a place the patient typed (the patient page's search)",
                "description": "Looks the text up in the gazetteer of every region served: a "
                               "town, a postcode district (`CT1`) or a full postcode (`CT1 "
                               "3NG`, read as its district). No geocoding service is asked.",
                "parameters": [
                    _param("q", "A town, postcode district or full postcode",
                           {"type": "string"}),
                    _param("region", "With several regions served: search this region's "
                                     "gazetteer only (ignored with one)", {"type": "string"})],
                "responses": {
                    "200": _json("The place and its coordinates (with several regions "
                                 "served, its region too)", _PLACE),
                    "400": _json("Not found in the regions searched, or empty (error: "
                                 "unknown_place, field: q); the message says what to type "
                                 "instead. With several regions served: a name in more than "
                                 "one region's gazetteer (error: ambiguous_place, field: q, "
                                 "matches), or a region= naming none with a gazetteer "
                                 "(error: bad_request, field: region)", _PLACE_ERROR),
                    "404": _json("No region served has a gazetteer (error: no_gazetteer)",
                                 _ERROR),
                    "429": _RATE_LIMITED,
                }}},
            "/v1/sites": {"get": {"summary": "Sites, services, hours and live waits",
                                  "responses": {"200": _json("Sites", _SITES),
                                                "429": _RATE_LIMITED}}},
            "/v1/conditions": {"get": {"summary": "The condition vocabulary",
                                       "responses": {"200": _json("Conditions", plain)}}},
            "/healthz": {"get": {"summary": "Liveness",
                                 "responses": {"200": _json("Alive", plain)}}},
            "/readyz": {"get": {"summary": "Readiness and degraded parts",
                                "responses": {"200": _json("Ready", plain),
                                              "503": _json("Not ready", plain)}}},
            "/metrics": {"get": {"summary": "Prometheus metrics",
                                 "responses": {"200": {"description": "Metrics",
                                                       "content": {"text/plain": {}}}}}},
            "/openapi.json": {"get": {"summary": "This document",
                                      "responses": {"200": _json("OpenAPI", plain)}}},
            **_stats_paths(plain),
            "/v1/feeds/{feed}/observations": _push_path(),
        },
        "components": {"securitySchemes": {
            "commissionerToken": {
                "type": "http", "scheme": "bearer",
                "description": "WAITLESS_COMMISSIONER_TOKEN; without one configured: 503"},
            "pushToken": {"type": "http", "scheme": "bearer",
                          "description": "Per-feed push token (WAITLESS_PUSH_TOKENS)"}}},
    }


def _stats_paths(plain: dict[str, Any]) -> dict[str, Any]:
    """The commissioners' statistics endpoints (docs/statistics.md) and the public choice."""
    secured = {"security": [{"commissionerToken": []}]}
    denied = {"401": _json("Missing or wrong bearer token (WWW-Authenticate: Bearer)", _ERROR),
              "503": {**_json("No commissioner token configured, or no database; "
                              "Retry-After when the database does not answer", _ERROR),
                      "headers": {"Retry-After": {"schema": {"type": "integer"}}}},
              "429": _AUTH_LIMITED}
    month_range = {"type": "string", "pattern": r"^\d{4}-\d{2}(\.\.\d{4}-\d{2})?$"}
    date = {"type": "string", "format": "date"}
    stats_region = _param("region", "Name of a region served here (its [region] name); "
                          "default the primary, the first of WAITLESS_REGIONS. Another "
                          "name: 400 naming the field and the regions served",
                          {"type": "string"})
    return {
        "/v1/stats/shift": {"get": {
            **secured, "summary": "Share of 'other' A&E attendances, baseline vs period",
            "parameters": [
                _param("orgs", "Comma-separated org codes; default the region's [stats] group",
                       {"type": "string"}),
                _param("baseline", "Month range, e.g. 2025-04..2025-06", month_range,
                       required=True),
                _param("period", "Month range after the baseline, e.g. 2025-07..2025-09",
                       month_range, required=True),
                stats_region],
            "responses": {"200": _json("waitless.stats.england.comparison_statistics result",
                                        SHIFT_RESULT_SCHEMA),
                          "400": _json("Bad input, or no data (error: no_data)", _ERROR),
                          **denied,
                          "503": {**_json("No commissioner token configured, no database "
                                          "(Retry-After when it does not answer), or the "
                                          "region has no [stats] table (error: "
                                          "not_configured)", _ERROR),
                                  "headers": {"Retry-After": {"schema": {"type": "integer"}}}}}}},
        "/v1/stats/events": {"get": {
            **secured, "summary": "Rankings, minor-instead-of-ED, minutes saved and choices",
            "parameters": [
                _param("from", "First local day (default: 27 days before 'to')", date),
                _param("to", "Last local day, inclusive (default: today)", date),
                _param("group", "Bucket rows by", {"enum": ["day", "week", "site"]}),
                stats_region],
            "responses": {"200": _json("{rows: [...], total: {...}}", plain),
                          "400": _json("Bad input", _ERROR), **denied}}},
        "/v1/stats/nhse": {"post": {
            **secured, "summary": "Import NHS England monthly A&E provider CSVs (all or none)",
            "requestBody": {"required": True, "content": {
                "text/csv": {"schema": {"type": "string"}},
                "multipart/form-data": {"schema": {"type": "object", "properties": {
                    "file": {"type": "array", "items": {"type": "string",
                                                        "format": "binary"}}}}}}},
            "responses": {"200": _json("{imported: [{source_name, month, action, ...}]}", plain),
                          "400": _json("Not an NHS England file; nothing imported", _ERROR),
                          "413": _json("Upload over 4 MiB", _ERROR), **denied}}},
        "/v1/choices": {"post": {
            "summary": "Report which site a patient chose (no coordinates are stored)",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["site_id"], "additionalProperties": False,
                "properties": {"site_id": {"type": "string"},
                               "kind": {"enum": ["ed", "utc", "miu"]},
                               "event_id": {"type": "string", "format": "uuid"},
                               "region": {"type": "string", "description":
                                          "the region that ranked the answer (its `region`); "
                                          "default: the first region served that ranks the "
                                          "site"}}}}}},
            "responses": {"201": _json("Stored: {choice_id, site_id}", plain),
                          "400": _json("Unknown site, service or region, bad JSON", _ERROR),
                          "403": _json("Cross-site request: Origin is another site "
                                       "(not in WAITLESS_CORS_ORIGINS)", _ERROR),
                          "413": _json("Body over 1 KiB", _ERROR),
                          "415": _json("Content-Type is not application/json", _ERROR),
                          "429": _RATE_LIMITED,
                          "503": {**_json("No database; Retry-After when it does not "
                                          "answer", _ERROR),
                                  "headers": {"Retry-After": {"schema": {"type": "integer"}}}}}}},
    }
