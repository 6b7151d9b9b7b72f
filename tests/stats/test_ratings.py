"""When a rating is withheld: units that start or stop reporting, and breaks (pure functions)."""

from __future__ import annotations

import datetime as dt

from waitless.stats.ratings import MOVE_FRACTION, reporting_changes, withhold

BASE = (dt.date(2025, 1, 1), dt.date(2025, 3, 1))
PER = (dt.date(2025, 4, 1), dt.date(2025, 6, 1))
MONTHS = [dt.date(2025, m, 1) for m in range(1, 7)]
REGION = ["AAA", "BBB", "CCC"]


def _result(orgs: list[str], rating: str = "red") -> dict:
    return {"orgs": orgs, "rating": rating, "breaks": [], "caveats": []}


def _counts(unit_other: dict[dt.date, int], aaa_other: dict[dt.date, int]) -> dict:
    counts = {}
    for month in MONTHS:
        counts["AAA", month] = (1000, aaa_other.get(month, 5000))
        counts["BBB", month] = (2000, 3000)
        if month in unit_other:
            counts["CCC", month] = (0, unit_other[month])
    return counts


def test_a_unit_that_stops_while_a_selected_provider_rises_withholds():
    # CCC reports Jan-Feb only; AAA's other count rises by 1,500 in March, when CCC is gone.
    counts = _counts({MONTHS[0]: 1500, MONTHS[1]: 1500}, {MONTHS[2]: 6500, MONTHS[3]: 6500,
                                                          MONTHS[4]: 6500, MONTHS[5]: 6500})
    changes = reporting_changes(counts, REGION, ["AAA"], BASE, PER)
    assert [(c.org, c.kind, c.month, c.attendances) for c in changes] == [
        ("CCC", "stopped", MONTHS[1], 1500)]
    result = withhold(_result(["AAA"]), counts, REGION, BASE, PER)
    assert result["rating"] is None
    assert result["rating_withheld_reason"].startswith(
        "CCC stopped reporting after February 2025 (1,500 attendances that month) while AAA's "
        "other attendances rose by 1,500")
    assert result["suggested_orgs"] == ["AAA", "CCC"]


def test_a_small_opposite_move_is_a_caveat_not_a_withheld_rating():
    rise = int(1500 * MOVE_FRACTION) - 1  # just under the threshold
    counts = _counts({MONTHS[0]: 1500, MONTHS[1]: 1500},
                     {m: 5000 + rise for m in MONTHS[2:]})
    result = withhold(_result(["AAA"]), counts, REGION, BASE, PER)
    assert result["rating"] == "red" and result["rating_withheld_reason"] is None
    assert result["suggested_orgs"] is None
    assert any(c.startswith("CCC stopped reporting") for c in result["caveats"])


def test_a_selected_unit_without_a_period_withholds_and_a_steady_region_keeps_the_rating():
    counts = _counts({MONTHS[0]: 1500, MONTHS[1]: 1500, MONTHS[2]: 1500}, {})
    selected = withhold(_result(["AAA", "CCC"]), counts, REGION, BASE, PER)
    assert selected["rating"] is None
    assert "the period has no attendances under that code" in selected["rating_withheld_reason"]
    steady = _counts({m: 1500 for m in MONTHS}, {})
    kept = withhold(_result(["AAA"], "amber"), steady, REGION, BASE, PER)
    assert (kept["rating"], kept["rating_withheld_reason"], kept["caveats"]) == ("amber", None, [])
