"""Which months are imported, which region providers report in each, and the default comparison.

The dashboard opens on :func:`default_comparison` of the imported months: the latest three
imported months against the same months a year earlier when those are imported, else against the
three months before them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

import asyncpg

from waitless.domain.stats_settings import StatsConfig
from waitless.stats.months import add_months, format_month, months_between

COMPARISON_MONTHS = 3


def default_comparison(imported: Collection[dt.date]) -> tuple[str, str] | None:
    """(baseline, period) month ranges like ``"2024-07..2024-09"``, or ``None``.

    Parameters
    ----------
    imported
        First days of the imported months.

    Returns
    -------
    ranges
        The latest three imported months as the period and the same months a year earlier as
        the baseline when all three are imported, else the three months before the period;
        ``None`` when fewer than six months would be covered.
    """
    months = set(imported)
    if not months:
        return None
    last = max(months)
    period = (add_months(last, 1 - COMPARISON_MONTHS), last)
    year_earlier = (add_months(period[0], -12), add_months(last, -12))
    before = (add_months(period[0], -COMPARISON_MONTHS), add_months(period[0], -1))
    for base in (year_earlier, before):
        if all(m in months for m in months_between(*base)):
            return (f"{format_month(base[0])}..{format_month(base[1])}",
                    f"{format_month(period[0])}..{format_month(period[1])}")
    return None


def coverage_grid(imported: Sequence[dt.date], reported: Collection[tuple[str, dt.date]],
                  england: dict[dt.date, int], codes: Sequence[str]) -> list[dict[str, Any]]:
    """One row per month from the first imported to the last, newest first.

    Each row: ``month``, ``imported`` (bool), ``providers`` ({code: True when the provider has a
    row with attendances that month}) and ``england_providers`` (providers outside the region).
    A month inside the span that is not imported is a row with ``imported: False`` (a gap).
    """
    if not imported:
        return []
    have = set(imported)
    rows = []
    for month in reversed(months_between(min(have), max(have))):
        rows.append({"month": format_month(month), "imported": month in have,
                     "providers": {c: (c, month) in reported for c in codes},
                     "england_providers": england.get(month, 0)})
    return rows


async def imported_coverage(conn: asyncpg.Connection, config: StatsConfig) -> dict[str, Any]:
    """Imported months, the coverage grid and the default comparison, read from PostgreSQL."""
    codes = list(config.provider_codes)
    try:
        imported = [r["month"] for r in await conn.fetch(
            "SELECT month FROM nhse_ae_import ORDER BY month")]
        rows = await conn.fetch(
            "SELECT month, org_code, NOT (org_code = ANY($1::text[])) AS outside"
            " FROM nhse_ae_monthly WHERE type1 + other + coalesce(booked_type1, 0)"
            " + coalesce(booked_other, 0) > 0", codes)
    except asyncpg.UndefinedTableError:
        imported, rows = [], []
    england: dict[dt.date, int] = {}
    for r in rows:
        if r["outside"]:
            england[r["month"]] = england.get(r["month"], 0) + 1
    reported = {(r["org_code"], r["month"]) for r in rows if not r["outside"]}
    return {"months": [format_month(m) for m in imported],
            "grid": coverage_grid(imported, reported, england, codes),
            "default": default_comparison(imported)}
