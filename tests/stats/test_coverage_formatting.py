"""The dashboard's default comparison, imported-data grid and number formatting (pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from waitless.api import formatting
from waitless.stats.coverage import coverage_grid, default_comparison
from waitless.stats.months import add_months


def _months(first: str, count: int) -> list[dt.date]:
    start = dt.date.fromisoformat(first + "-01")
    return [add_months(start, i) for i in range(count)]


def test_default_is_the_latest_three_months_against_a_year_earlier():
    assert default_comparison(_months("2018-04", 90)) == ("2024-07..2024-09", "2025-07..2025-09")


def test_default_falls_back_to_the_three_months_before():
    assert default_comparison(_months("2025-04", 6)) == ("2025-04..2025-06", "2025-07..2025-09")
    # One month of the year-earlier range missing: the three before, when they are there.
    history = [m for m in _months("2024-01", 21) if m != dt.date(2024, 8, 1)]
    assert default_comparison(history) == ("2025-04..2025-06", "2025-07..2025-09")


def test_no_default_without_six_months():
    assert default_comparison(_months("2025-05", 5)) is None
    assert default_comparison([]) is None


def test_grid_marks_gaps_and_absent_providers_newest_first():
    imported = [dt.date(2025, 4, 1), dt.date(2025, 6, 1)]
    grid = coverage_grid(imported, {("RVV", dt.date(2025, 4, 1)), ("RVV", dt.date(2025, 6, 1)),
                                    ("DJV01", dt.date(2025, 6, 1))},
                         {dt.date(2025, 6, 1): 180}, ["RVV", "DJV01"])
    assert [(r["month"], r["imported"]) for r in grid] == [
        ("2025-06", True), ("2025-05", False), ("2025-04", True)]
    assert grid[0]["providers"] == {"RVV": True, "DJV01": True}
    assert grid[2]["providers"] == {"RVV": True, "DJV01": False}
    assert (grid[0]["england_providers"], grid[2]["england_providers"]) == (180, 0)


@pytest.mark.parametrize(("minutes", "text"), [(1719.7, "28 h 40 min"), (72, "1 h 12 min"),
                                                (24.57, "25 min"), (0, "0 min"),
                                                (None, "–")])
def test_minutes_for_people(minutes, text):
    assert formatting.minutes(minutes) == text


def test_counts_shares_points_and_ranges():
    assert formatting.count(157537) == "157,537"
    assert formatting.number(1719.66) == "1,719.7"
    assert formatting.percent(0.51249) == "51.2%"
    assert formatting.points(-3.529) == "−3.5 pp"
    assert formatting.points(0.52) == "+0.5 pp"
    assert formatting.points(-0.03) == "0.0 pp"  # no sign on a rounded zero
    assert formatting.interval([-4.98, -2.08]) == "−5.0 to −2.1 pp"
    assert formatting.interval(None) == "not available"
    assert formatting.month_range("2025-04..2025-06") == "Apr–Jun 2025"
    assert formatting.month_range("2024-11..2025-01") == "Nov 2024–Jan 2025"
    assert formatting.month_range("2025-07") == "Jul 2025"


def test_date_ranges():
    assert formatting.date_range("2026-10-28", "2026-11-24") == "28 Oct – 24 Nov 2026"
    assert formatting.date_range("2025-12-28", "2026-01-03") == "28 Dec 2025 – 3 Jan 2026"
    assert formatting.date_range("2026-11-24", "2026-11-24") == "24 Nov 2026"
