"""What the dashboard's shift page shows: form values, the default comparison, chart and tables.

The page accepts the API's query (``orgs``, ``baseline``, ``period``) and the form's
(``org`` checkboxes, ``baseline_from``/``baseline_to``/``period_from``/``period_to`` month
pickers); with neither it opens on the default comparison of the imported months.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from waitless.api import formatting
from waitless.api import stats_handlers as stats_http
from waitless.api.query import QueryError
from waitless.domain.stats_settings import StatsConfig, StatsConfigError
from waitless.stats.config import stats_config
from waitless.stats.coverage import imported_coverage

EXTRA_TABLES = ("by_org", "england")


def normalised_query(query: Mapping[str, str], org_values: list[str],
                     default: tuple[str, str] | None) -> tuple[dict[str, str], bool]:
    """({orgs, baseline, period[, region]} in the API's form, whether the default comparison
    was used)."""
    orgs = ",".join(o.strip() for o in org_values if o.strip()) or query.get("orgs", "")
    ranges = {}
    for name in ("baseline", "period"):
        first, last = query.get(f"{name}_from", ""), query.get(f"{name}_to", "")
        ranges[name] = query.get(name, "") or (f"{first}..{last or first}" if first else "")
    # The chosen region travels with the comparison (links, CSV); blank means the primary.
    region = {"region": query["region"]} if query.get("region", "").strip() else {}
    if not ranges["baseline"] and not ranges["period"] and default is not None:
        return {"orgs": orgs, "baseline": default[0], "period": default[1], **region}, True
    return {"orgs": orgs, **ranges, **region}, False


def shift_chart(result: dict[str, Any]) -> dict[str, Any]:
    """Monthly other share (%) of the selection and of England, and the target line."""
    own = {m["month"]: m["other_share"] for m in result["months"]}
    roles = {m["month"]: m["role"] for m in result["months"]}
    labels = [m["month"] for m in result["england"]["months"]]
    target_pct = (result["baseline"]["other_share"] * 100 + result["target_shift_pp"])

    def pct(share: float | None) -> float | None:
        return None if share is None else round(share * 100, 2)

    return {"kind": "shift", "labels": [formatting.month(m) for m in labels],
            "roles": [roles.get(m, "between") for m in labels],
            "selection_pct": [pct(own.get(m)) for m in labels],
            "england_pct": [pct(e["other_share"]) for e in result["england"]["months"]],
            # The target is a shift of target_shift_pp from the baseline share, in the period.
            "target_pct": [round(target_pct, 2) if roles.get(m) == "period" else None
                           for m in labels],
            "target_label": f"Target: baseline share + {result['target_shift_pp']:g} pp"}


def extra_table(result: dict[str, Any], table: str) -> tuple[list[str], list[list[Any]]]:
    """CSV tables ``by_org`` (one row per organisation and the group) and ``england``."""
    if table == "by_org":
        header = ["org", "name", "baseline_type1", "baseline_other", "baseline_share",
                  "period_type1", "period_other", "period_share", "shift_pp"]
        rows = [[r["org"], r["name"], r["baseline"]["type1"], r["baseline"]["other"],
                 r["baseline"]["other_share"], r["period"]["type1"], r["period"]["other"],
                 r["period"]["other_share"], r["shift_pp"]] for r in result["by_org"]]
        rows.append(["group", " + ".join(result["orgs"]), result["baseline"]["type1"],
                     result["baseline"]["other"], result["baseline"]["other_share"],
                     result["period"]["type1"], result["period"]["other"],
                     result["period"]["other_share"], result["shift_pp"]])
        return header, rows
    own = {m["month"]: m["other_share"] for m in result["months"]}
    return (["month", "selection_share", "england_share", "england_providers"],
            [[m["month"], own.get(m["month"]), m["other_share"], m["providers"]]
             for m in result["england"]["months"]])


def summary_extra(result: dict[str, Any]) -> tuple[list[str], list[Any]]:
    """Columns added to the CSV summary's "shift" row: England, did and intervals."""
    def bounds(pair: list[float] | None) -> list[float | None]:
        return list(pair) if pair else [None, None]
    yoy = result["year_on_year"]
    return (["shift_ci95_monthly_low_pp", "shift_ci95_monthly_high_pp", "england_shift_pp",
             "england_providers", "did_pp", "did_ci95_low_pp", "did_ci95_high_pp",
             "rating_withheld_reason", "yoy_baseline", "yoy_shift_pp", "yoy_england_shift_pp",
             "yoy_did_pp"],
            [*bounds(result["shift_ci95_pp_monthly"]), result["england"]["shift_pp"],
             result["england"]["providers_counted"], result["did_pp"],
             *bounds(result["did_ci95_pp"]), result["rating_withheld_reason"],
             yoy["baseline_range"] if yoy["available"] else None, yoy.get("shift_pp"),
             yoy.get("england_shift_pp"), yoy.get("did_pp")])


def _names(config: StatsConfig) -> list[dict[str, str]]:
    return [{"code": p.code, "name": p.name} for p in config.providers]


async def shift_page_context(request: web.Request
                             ) -> tuple[dict[str, Any], int, Exception | None]:
    """(template context, HTTP status, the statistics failure if any) of
    ``/commissioners/shift``; a failure's status and ``Retry-After`` are the API's."""
    context: dict[str, Any] = {"signed_in": True, "result": None, "error": None, "chart": None,
                               "fmt": formatting, "providers": [],
                               "coverage": {"months": [], "grid": [], "default": None}}
    region = request.query.get("region", "")
    try:
        config = stats_config(stats_http.stats_region(
            request.app, {"region": region} if region.strip() else {}))
    except QueryError as exc:
        context["error"] = exc.message
        return context, 400, None
    except StatsConfigError as exc:
        # Said on the dashboard, whose chooser leads to the regions that have statistics.
        context["error"] = str(exc)
        return context, 503, None
    context["providers"] = _names(config)
    try:
        context["coverage"] = await stats_http.with_connection(
            request, lambda conn: imported_coverage(conn, config))
    except stats_http.FAILURES as exc:
        context["error"] = stats_http.failure_message(exc)
        return context, 503, exc
    query, is_default = normalised_query(request.query, request.query.getall("org", []),
                                         context["coverage"]["default"])
    selected = [o.strip().upper() for o in query["orgs"].split(",") if o.strip()]
    context.update(form={**query, "selected": selected or [p.code for p in config.providers],
                         "range": {name: query[name].partition("..")[::2]
                                   for name in ("baseline", "period")}},
                   is_default=is_default, csv_query=urlencode({k: v for k, v in query.items()
                                                               if v}))
    if not (query["baseline"] or query["period"]):
        return context, 200, None
    try:
        result = await stats_http.compute_shift_for(request, query)
    except stats_http.FAILURES as exc:
        context["error"] = stats_http.failure_message(exc)
        return context, 400, exc
    suggested = result.get("suggested_orgs")
    context.update(result=result, chart=shift_chart(result), suggested_query=urlencode(
        {"orgs": ",".join(suggested), "baseline": query["baseline"],
         "period": query["period"], **({"region": query["region"]} if "region" in query
                                       else {})}) if suggested else None)
    return context, 200, None
