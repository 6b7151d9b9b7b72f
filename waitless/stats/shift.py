"""Shift statistics: the share of attendances at "other" (minor) departments, baseline vs period.

:func:`compute_shift` is pure (rows in, a JSON-ready dict out); :func:`shift_statistics` reads the
rows from PostgreSQL and calls it. Method, caveats and policies: ``docs/statistics.md``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import asyncpg

from waitless.domain.stats_settings import StatsConfig
from waitless.stats.errors import NoDataError, StatsQueryError
from waitless.stats.months import format_month, months_between, parse_month_range

COUNTING_RULE = (
    "type1 = 'A&E attendances Type 1' + 'A&E attendances Booked Appointments Type 1'; "
    "other = 'A&E attendances Other A&E Department' + "
    "'A&E attendances Booked Appointments Other Department'; type 2 (single-specialty) is "
    "reported but kept out of the share; other_share = other / (type1 + other)"
)
_Z95 = 1.959963984540054  # two-sided 95% standard-normal quantile

MonthRange = str | tuple[dt.date, dt.date]


def _range(value: MonthRange, label: str) -> tuple[dt.date, dt.date]:
    if isinstance(value, str):
        try:
            return parse_month_range(value)
        except StatsQueryError as exc:
            raise StatsQueryError(f"{label}: {exc}") from exc
    start, end = value
    if end < start:
        msg = f"{label}: range ends before it starts"
        raise StatsQueryError(msg)
    return start.replace(day=1), end.replace(day=1)


def validate_request(config: StatsConfig, orgs: Sequence[str] | None, baseline: MonthRange,
                     period: MonthRange) -> tuple[list[str], tuple[dt.date, dt.date],
                                                  tuple[dt.date, dt.date]]:
    """Check orgs (default: every configured provider) and the two ranges; return them parsed."""
    codes = [o.strip().upper() for o in orgs if o.strip()] if orgs else list(config.provider_codes)
    if not codes:
        msg = "no organisation codes given"
        raise StatsQueryError(msg)
    unknown = [c for c in codes if config.provider(c) is None]
    if unknown:
        msg = (f"organisation(s) {', '.join(unknown)} are not providers of this region's "
               f"[stats] table; known: {', '.join(config.provider_codes)}")
        raise StatsQueryError(msg)
    if len(set(codes)) != len(codes):
        msg = f"organisation codes repeated in {codes}"
        raise StatsQueryError(msg)
    base, per = _range(baseline, "baseline"), _range(period, "period")
    if base[1] >= per[0]:
        msg = (f"baseline {format_month(base[0])}..{format_month(base[1])} must end before the "
               f"period {format_month(per[0])}..{format_month(per[1])} starts")
        raise StatsQueryError(msg)
    return codes, base, per


def _counts(row: Mapping[str, Any]) -> tuple[int, int, int]:
    # Booked columns are NULL in files before 2020-21 (not published then): counted as 0.
    type1 = row["type1"] + (row["booked_type1"] or 0)
    other = row["other"] + (row["booked_other"] or 0)
    return type1, other, row["type2"] + (row["booked_type2"] or 0)


def _share(type1: int, other: int) -> float | None:
    return other / (type1 + other) if type1 + other else None


def _position(month: dt.date, base: tuple[dt.date, dt.date],
              per: tuple[dt.date, dt.date]) -> str:
    # ``month`` is the first month counted the new way.
    if month <= base[0]:
        return "before baseline"
    if month <= base[1]:
        return "within baseline"
    if month <= per[0]:
        return "between baseline and period"
    if month <= per[1]:
        return "within period"
    return "after period"


def _detect_breaks(data: dict[tuple[str, dt.date], tuple[int, int, int]], orgs: list[str],
                   span: list[dt.date], config: StatsConfig) -> list[dict[str, Any]]:
    found = []
    for org in orgs:
        for before, after in itertools.pairwise(span):
            if (org, before) not in data or (org, after) not in data:
                continue
            for index, metric in enumerate(("type1", "other")):
                old, new = data[org, before][index], data[org, after][index]
                low, high = min(old, new), max(old, new)
                if high < config.break_min_attendances:
                    continue
                if low == 0 or high / low > config.break_factor:
                    found.append({"org": org, "month": format_month(after), "metric": metric,
                                  "before": old, "after": new,
                                  "factor": round(high / low, 3) if low else None})
    return found


def _breaks(data: dict[tuple[str, dt.date], tuple[int, int, int]], orgs: list[str],
            base: tuple[dt.date, dt.date], per: tuple[dt.date, dt.date],
            config: StatsConfig) -> list[dict[str, Any]]:
    detected = _detect_breaks(data, orgs, months_between(base[0], per[1]), config)
    out = []
    for item in config.breaks:
        if item.org not in orgs:
            continue
        month = format_month(item.month)
        matches = [d for d in detected if d["org"] == item.org and d["month"] == month]
        out.append({"org": item.org, "month": month, "source": "configured",
                    "description": item.description, "detected": bool(matches),
                    "changes": [{k: d[k] for k in ("metric", "before", "after", "factor")}
                                for d in matches]})
    configured = {(b["org"], b["month"]) for b in out}
    unexplained: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for d in detected:
        if (d["org"], d["month"]) not in configured:
            unexplained.setdefault((d["org"], d["month"]), []).append(d)
    for (org, month), changes in unexplained.items():
        what = "; ".join(f"{d['metric']} {d['before']} -> {d['after']}" for d in changes)
        description = (f"{org} changed by more than {config.break_factor}x from the previous "
                       f"month ({what}); not a configured break")
        out.append({"org": org, "month": month, "source": "detected",
                    "description": description, "detected": True,
                    "changes": [{k: d[k] for k in ("metric", "before", "after", "factor")}
                                for d in changes]})
    for item in out:
        item["position"] = _position(dt.date.fromisoformat(item["month"] + "-01"), base, per)
        item["spans_comparison"] = item["position"] not in ("before baseline", "after period")
    return sorted(out, key=lambda b: (b["month"], b["org"], b["source"]))


def _rating(shift_pp: float, config: StatsConfig) -> str:
    # Rounded so a shift of exactly the target is not lost to floating-point noise.
    shift = round(shift_pp, 9)
    if shift >= config.target_shift_pp:
        return "green"
    return "amber" if shift >= config.amber_shift_pp else "red"


def compute_shift(rows: Iterable[Mapping[str, Any]], *, config: StatsConfig,
                  orgs: Sequence[str] | None, baseline: MonthRange, period: MonthRange,
                  imported_months: Collection[dt.date] | None = None) -> dict[str, Any]:
    """Compare the "other" share of attendances between a baseline and a period.

    Parameters
    ----------
    rows
        Provider-month mappings with ``month`` (first day, ``datetime.date``), ``org_code``,
        ``type1``, ``type2``, ``other``, ``booked_type1``, ``booked_type2``, ``booked_other``
        (attendance counts). Rows of other orgs or months are ignored.
    config
        The region's statistics settings (providers, target, break rules).
    orgs
        Provider codes to add together; ``None`` means every configured provider.
    baseline, period
        Inclusive month ranges, ``"2025-04..2025-06"`` or ``(first, last)`` dates; the baseline
        must end before the period starts.
    imported_months
        Months present in the store at all, to tell "month not imported" from "provider absent
        from the month's file"; ``None`` means the months seen in ``rows``.

    Returns
    -------
    result
        JSON-ready dict; shares are fractions, ``shift_pp`` and ``ci95_pp`` percentage points.
    """
    codes, base, per = validate_request(config, orgs, baseline, period)
    data: dict[tuple[str, dt.date], tuple[int, int, int]] = {}
    for row in rows:
        if row["org_code"] in codes and base[0] <= row["month"] <= per[1]:
            data[row["org_code"], row["month"]] = _counts(row)
    imported = set(imported_months) if imported_months is not None else {m for _, m in data}
    months, missing = [], []
    totals = {"baseline": [0, 0, 0, 0], "period": [0, 0, 0, 0]}
    for role, (first, last) in (("baseline", base), ("period", per)):
        for month in months_between(first, last):
            present = [c for c in codes if (c, month) in data]
            absent = [c for c in codes if (c, month) not in data]
            reason = "provider not in the month's file" if month in imported else \
                "month not imported"
            missing += [{"org": c, "month": format_month(month), "reason": reason}
                        for c in absent]
            type1, other, type2 = (sum(data[c, month][i] for c in present) for i in range(3))
            months.append({"month": format_month(month), "role": role, "type1": type1,
                           "other": other, "type2": type2, "other_share": _share(type1, other),
                           "orgs_reported": present, "orgs_missing": absent})
            total = totals[role]
            total[0] += type1
            total[1] += other
            total[2] += type2
            total[3] += 1 if present else 0
    summary = {}
    for role, (type1, other, type2, months_with_data) in totals.items():
        if type1 + other == 0:
            first, last = base if role == "baseline" else per
            msg = (f"no attendances imported for {', '.join(codes)} in the {role} "
                   f"{format_month(first)}..{format_month(last)}")
            raise NoDataError(msg)
        summary[role] = {"type1": type1, "other": other, "type2": type2,
                         "other_share": _share(type1, other),
                         "months_with_data": months_with_data}
    p1, n1 = summary["baseline"]["other_share"], summary["baseline"]["type1"] + \
        summary["baseline"]["other"]
    p2, n2 = summary["period"]["other_share"], summary["period"]["type1"] + \
        summary["period"]["other"]
    shift_pp = (p2 - p1) * 100
    half_width_pp = _Z95 * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2) * 100
    breaks = _breaks(data, codes, base, per, config)
    result = {
        "orgs": codes,
        "baseline_range": f"{format_month(base[0])}..{format_month(base[1])}",
        "period_range": f"{format_month(per[0])}..{format_month(per[1])}",
        "counting_rule": COUNTING_RULE,
        "months": months,
        "baseline": summary["baseline"],
        "period": summary["period"],
        "shift_pp": shift_pp,
        "shift_relative": (p2 - p1) / p1 if p1 else None,
        "ci95_pp": [shift_pp - half_width_pp, shift_pp + half_width_pp],
        "breaks": breaks,
        "comparison_spans_break": any(b["spans_comparison"] for b in breaks),
        "missing": missing,
        "rating": _rating(shift_pp, config),
        "target_shift_pp": config.target_shift_pp,
        "amber_shift_pp": config.amber_shift_pp,
    }
    result["caveats"] = _caveats(result, config)
    return result


def _caveats(result: dict[str, Any], config: StatsConfig) -> list[str]:
    notes = []
    spanning = [b for b in result["breaks"] if b["spans_comparison"]]
    if spanning:
        where = ", ".join(f"{b['org']} {b['month']} ({b['position']})" for b in spanning)
        notes.append(f"the comparison spans a structural break ({where}); the shift and its "
                     "rating mix counting regimes; choose baseline and period on one side")
    if result["missing"]:
        notes.append(f"{len(result['missing'])} provider-month(s) are missing and left out of "
                     "the sums (not counted as zero); see 'missing'")
    kinds = [config.provider(c).kind for c in result["orgs"]]  # type: ignore[union-attr]
    if kinds.count("acute") > 1:
        notes.append("several acute trusts are added together; trusts count co-located UTC "
                     "attendances differently (type 1 or other), so compare a trust with itself")
    if "gp" in kinds:
        notes.append("GP-run units report under their own codes and drop in and out of months")
    notes.append("ci95_pp treats attendances as independent; month-to-month variation is "
                 "larger, so the interval is too narrow for a policy judgement")
    return notes


async def shift_statistics(conn: asyncpg.Connection, region_stats_config: StatsConfig,
                           orgs: Sequence[str] | None, baseline: MonthRange,
                           period: MonthRange) -> dict[str, Any]:
    """Read imported NHS England rows from PostgreSQL and compute :func:`compute_shift`."""
    codes, base, per = validate_request(region_stats_config, orgs, baseline, period)
    try:
        rows = await conn.fetch(
            "SELECT month, org_code, type1, type2, other, booked_type1, booked_type2,"
            " booked_other FROM nhse_ae_monthly"
            " WHERE org_code = ANY($1::text[]) AND month BETWEEN $2 AND $3",
            codes, base[0], per[1])
        imported = await conn.fetch(
            "SELECT month FROM nhse_ae_import WHERE month BETWEEN $1 AND $2", base[0], per[1])
    except asyncpg.UndefinedTableError as exc:
        msg = "no NHS England data imported yet; run `waitless stats import-nhse FILE...`"
        raise NoDataError(msg) from exc
    return compute_shift(rows, config=region_stats_config, orgs=codes, baseline=base,
                         period=per, imported_months={r["month"] for r in imported})
