"""Calendar months as ``"YYYY-MM"`` text and inclusive ranges ``"2025-04..2025-06"``."""

from __future__ import annotations

import datetime as dt
import re

from waitless.stats.errors import StatsQueryError

_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: str) -> dt.date:
    """Parse ``"YYYY-MM"`` into the first day of that month."""
    match = _MONTH_RE.match(text.strip())
    if not match or not 1 <= int(match[2]) <= 12:
        msg = f"bad month {text!r}: expected YYYY-MM, e.g. 2025-04"
        raise StatsQueryError(msg)
    return dt.date(int(match[1]), int(match[2]), 1)


def format_month(month: dt.date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def parse_month_range(text: str) -> tuple[dt.date, dt.date]:
    """Parse an inclusive range ``"2025-04..2025-06"`` (or one month ``"2025-04"``)."""
    first, sep, last = text.strip().partition("..")
    start = parse_month(first)
    end = parse_month(last) if sep else start
    if end < start:
        msg = f"bad month range {text!r}: it ends before it starts"
        raise StatsQueryError(msg)
    return start, end


def months_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every month from ``start`` to ``end`` inclusive."""
    out = []
    month = start
    while month <= end:
        out.append(month)
        month = add_months(month, 1)
    return out
