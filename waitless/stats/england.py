"""The region's shift compared with England's, and intervals from month-to-month variation.

:func:`compare_with_england` is pure: a :func:`waitless.stats.shift.compute_shift` result plus
provider-month counts in, the result with ``by_org``, ``england``, ``did_pp``,
``did_ci95_pp``, ``shift_ci95_pp_monthly``, ``year_on_year`` and a possibly withheld rating out.
:func:`comparison_statistics` reads the counts from PostgreSQL. "England" means every provider in
the imported national files that is not one of the region's ``[stats]`` providers.
Method and assumptions: ``docs/statistics.md``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
from scipy import stats as scipy_stats

from waitless.domain.stats_settings import StatsConfig
from waitless.stats import ratings
from waitless.stats.months import add_months, format_month, months_between
from waitless.stats.shift import MonthRange, shift_statistics, validate_request

# England per month: (type 1 attendances, other attendances, providers with attendances).
EnglandMonths = Mapping[dt.date, tuple[int, int, int]]
Range = tuple[dt.date, dt.date]

_COUNTED = ("type1 + coalesce(booked_type1, 0)", "other + coalesce(booked_other, 0)")
INTERVAL_METHOD = (
    "t interval from month-to-month variation: shift_ci95_pp_monthly pools the variance of the "
    "selection's monthly other shares within baseline and within period (df = months - 2); "
    "did_ci95_pp does the same with the monthly gap (selection share - England share), the "
    "period x group term of a regression on monthly shares with month effects; both are "
    "centred on the attendance-weighted shift_pp / did_pp"
)


def _share(type1: int, other: int) -> float | None:
    return other / (type1 + other) if type1 + other else None


def _pp(first: float | None, second: float | None) -> float | None:
    return None if first is None or second is None else (second - first) * 100


def _side(months: Sequence[dt.date], counts: Mapping[dt.date, tuple[int, int]]
          ) -> dict[str, Any]:
    with_data = [m for m in months if m in counts and sum(counts[m][:2]) > 0]
    type1 = sum(counts[m][0] for m in with_data)
    other = sum(counts[m][1] for m in with_data)
    return {"type1": type1, "other": other, "other_share": _share(type1, other),
            "months_with_data": len(with_data)}


def t_interval_pp(center_pp: float | None, first: Sequence[float], second: Sequence[float]
                  ) -> list[float] | None:
    """``center_pp`` ± t(0.975, n1+n2-2) × pooled SD × sqrt(1/n1 + 1/n2), in percentage points.

    Parameters
    ----------
    center_pp
        The estimate, percentage points.
    first, second
        Monthly values (fractions) of baseline and period; ``None`` unless each side has a month
        and there are at least three months in all (one degree of freedom).
    """
    n1, n2 = len(first), len(second)
    if center_pp is None or n1 < 1 or n2 < 1 or n1 + n2 < 3:
        return None
    mean1, mean2 = sum(first) / n1, sum(second) / n2
    squares = sum((x - mean1) ** 2 for x in first) + sum((x - mean2) ** 2 for x in second)
    dof = n1 + n2 - 2
    half_pp = (float(scipy_stats.t.ppf(0.975, dof)) * math.sqrt(squares / dof * (1 / n1 + 1 / n2))
               * 100)
    return [center_pp - half_pp, center_pp + half_pp]


def _group_counts(counts: ratings.Counts, orgs: Sequence[str]) -> dict[dt.date, tuple[int, int]]:
    out: dict[dt.date, tuple[int, int]] = {}
    for (org, month), (type1, other) in counts.items():
        if org in orgs:
            old = out.get(month, (0, 0))
            out[month] = (old[0] + type1, old[1] + other)
    return out


def _year_on_year(selection: Mapping[dt.date, tuple[int, int]], england: EnglandMonths,
                  per: Range, imported: set[dt.date]) -> dict[str, Any]:
    base = (add_months(per[0], -12), add_months(per[1], -12))
    out: dict[str, Any] = {"baseline_range": f"{format_month(base[0])}..{format_month(base[1])}",
                           "period_range": f"{format_month(per[0])}..{format_month(per[1])}"}
    absent = [format_month(m) for m in months_between(*base) if m not in imported]
    if absent:
        return {**out, "available": False, "reason": f"months not imported: {', '.join(absent)}"}
    sel = [_side(months_between(*r), selection)["other_share"] for r in (base, per)]
    eng = [_side(months_between(*r), england)["other_share"] for r in (base, per)]
    shift_pp, england_pp = _pp(*sel), _pp(*eng)
    return {**out, "available": True, "baseline_share": sel[0], "period_share": sel[1],
            "shift_pp": shift_pp, "england_shift_pp": england_pp,
            "did_pp": None if shift_pp is None or england_pp is None else shift_pp - england_pp}


def compare_with_england(result: dict[str, Any], *, config: StatsConfig, base: Range, per: Range,
                         region_counts: ratings.Counts, england: EnglandMonths,
                         england_providers: int, imported: set[dt.date]) -> dict[str, Any]:
    """Add the England comparison, per-organisation rows and month-to-month intervals.

    Parameters
    ----------
    result
        A ``compute_shift`` result for ``base`` and ``per``; changed in place and returned.
    region_counts
        (org, month) -> (type 1, other) attendances of every region provider, counting rule
        applied, from 12 months before the period (for ``year_on_year``) to the period's end.
    england
        Month -> (type 1, other, providers) summed over providers outside the region.
    england_providers
        Providers outside the region with attendances in baseline or period.
    imported
        Months present in the store.
    """
    selection = result["orgs"]
    base_months, per_months = months_between(*base), months_between(*per)
    by_org = []
    for org in selection:
        counts = _group_counts(region_counts, [org])
        sides = {"baseline": _side(base_months, counts), "period": _side(per_months, counts)}
        provider = config.provider(org)
        by_org.append({"org": org, "name": provider.name if provider else org,
                       "kind": provider.kind if provider else None, **sides,
                       "shift_pp": _pp(sides["baseline"]["other_share"],
                                       sides["period"]["other_share"])})
    result["by_org"] = by_org
    eng = {"baseline": _side(base_months, england), "period": _side(per_months, england)}
    england_pp = _pp(eng["baseline"]["other_share"], eng["period"]["other_share"])
    eng_share = {m: _share(*england[m][:2]) for m in england}
    result["england"] = {
        "scope": "every provider in the imported national files outside the region's "
                 "[stats] providers",
        **eng, "shift_pp": england_pp, "providers_counted": england_providers,
        "months": [{"month": format_month(m), "other_share": eng_share.get(m),
                    "providers": england[m][2] if m in england else 0}
                   for m in months_between(base[0], per[1])]}
    result["did_pp"] = None if england_pp is None else result["shift_pp"] - england_pp
    sel_share = {dt.date.fromisoformat(m["month"] + "-01"): m["other_share"]
                 for m in result["months"]}
    result["shift_ci95_pp_monthly"] = t_interval_pp(
        result["shift_pp"], *([sel_share[m] for m in months if sel_share.get(m) is not None]
                              for months in (base_months, per_months)))
    result["did_ci95_pp"] = t_interval_pp(result["did_pp"], *(
        [sel_share[m] - eng_share[m] for m in months
         if sel_share.get(m) is not None and eng_share.get(m) is not None]
        for months in (base_months, per_months)))
    result["interval_method"] = INTERVAL_METHOD
    result["year_on_year"] = _year_on_year(_group_counts(region_counts, selection), england,
                                           per, imported)
    return ratings.withhold(result, region_counts, config.provider_codes, base, per)


async def comparison_statistics(conn: asyncpg.Connection, config: StatsConfig,
                                orgs: Sequence[str] | None, baseline: MonthRange,
                                period: MonthRange) -> dict[str, Any]:
    """:func:`shift_statistics` with the England comparison (see :func:`compare_with_england`)."""
    codes, base, per = validate_request(config, orgs, baseline, period)
    result = await shift_statistics(conn, config, codes, base, per)
    first = min(base[0], add_months(per[0], -12))
    region = list(config.provider_codes)
    rows = await conn.fetch(
        f"SELECT month, org_code, {_COUNTED[0]} AS type1, {_COUNTED[1]} AS other"
        " FROM nhse_ae_monthly WHERE org_code = ANY($1::text[]) AND month BETWEEN $2 AND $3",
        region, first, per[1])
    england_rows = await conn.fetch(
        f"SELECT month, sum({_COUNTED[0]}) AS type1, sum({_COUNTED[1]}) AS other,"
        f" count(*) FILTER (WHERE {_COUNTED[0]} + {_COUNTED[1]} > 0) AS providers"
        " FROM nhse_ae_monthly WHERE NOT (org_code = ANY($1::text[]))"
        " AND month BETWEEN $2 AND $3 GROUP BY month", region, first, per[1])
    providers = await conn.fetchval(
        f"SELECT count(DISTINCT org_code) FROM nhse_ae_monthly"
        f" WHERE NOT (org_code = ANY($1::text[])) AND {_COUNTED[0]} + {_COUNTED[1]} > 0"
        " AND (month BETWEEN $2 AND $3 OR month BETWEEN $4 AND $5)",
        region, base[0], base[1], per[0], per[1])
    imported = {r["month"] for r in await conn.fetch(
        "SELECT month FROM nhse_ae_import WHERE month BETWEEN $1 AND $2", first, per[1])}
    return compare_with_england(
        result, config=config, base=base, per=per,
        region_counts={(r["org_code"], r["month"]): (r["type1"], r["other"]) for r in rows},
        england={r["month"]: (r["type1"], r["other"], r["providers"]) for r in england_rows},
        england_providers=providers, imported=imported)
