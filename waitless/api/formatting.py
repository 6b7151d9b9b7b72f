"""Numbers for people on the commissioners' pages: separators, one decimal, "1 h 12 min".

Templates get these as ``fmt.count(...)`` etc.; ``None`` always renders as an en dash.
"""

from __future__ import annotations

import datetime as dt

from waitless.stats.months import parse_month_range

DASH = "–"


def count(value: float | None) -> str:
    """Whole number with thousands separators: ``12345`` -> ``"12,345"``."""
    return DASH if value is None else f"{round(value):,}"


def number(value: float | None) -> str:
    """One decimal with separators: ``1719.66`` -> ``"1,719.7"``."""
    return DASH if value is None else f"{value:,.1f}"


def percent(share: float | None) -> str:
    """A fraction as a percentage with one decimal: ``0.5125`` -> ``"51.2%"``."""
    return DASH if share is None else f"{share * 100:.1f}%"


def points(value_pp: float | None) -> str:
    """Signed percentage points, one decimal: ``-3.529`` -> ``"−3.5 pp"`` (true minus sign)."""
    if value_pp is None:
        return DASH
    if round(value_pp, 1) == 0:
        return "0.0 pp"  # no "+0.0"/"−0.0": a sign would suggest a direction
    return f"{value_pp:+.1f}".replace("-", "−") + " pp"


def interval(bounds: list[float] | None) -> str:
    """A 95% interval in percentage points: ``"−5.0 to −2.1 pp"``."""
    if not bounds:
        return "not available"
    low, high = (f"{b:+.1f}".replace("-", "−") for b in bounds)
    return f"{low} to {high} pp"


def minutes(value_minutes: float | None) -> str:
    """Minutes for people: ``72`` -> ``"1 h 12 min"``, ``1719.7`` -> ``"28 h 40 min"``."""
    if value_minutes is None:
        return DASH
    total = round(value_minutes)
    hours, mins = divmod(total, 60)
    return f"{hours:,} h {mins} min" if hours else f"{mins} min"


def month(text: str) -> str:
    """``"2025-07"`` -> ``"Jul 2025"``."""
    return dt.date.fromisoformat(text + "-01").strftime("%b %Y")


def month_range(text: str) -> str:
    """``"2025-04..2025-06"`` -> ``"Apr–Jun 2025"``; across years ``"Nov 2024–Jan 2025"``."""
    first, last = parse_month_range(text)
    if first == last:
        return first.strftime("%b %Y")
    if first.year == last.year:
        return f"{first.strftime('%b')}–{last.strftime('%b %Y')}"
    return f"{first.strftime('%b %Y')}–{last.strftime('%b %Y')}"


def date_range(first: str, last: str) -> str:
    """``"2026-10-28"``, ``"2026-11-24"`` -> ``"28 Oct – 24 Nov 2026"`` (year once if shared)."""
    start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    tail = f"{end.day} {end.strftime('%b %Y')}"
    if start == end:
        return tail
    head = f"{start.day} {start.strftime('%b')}"
    return f"{head}{'' if start.year == end.year else start.strftime(' %Y')} – {tail}"
