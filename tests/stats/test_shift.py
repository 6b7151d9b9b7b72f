"""Shift statistics on the real Apr-Sep 2025 files, checked against an independent computation."""

from __future__ import annotations

import csv
import datetime as dt
import math

import pytest
from scipy.stats import norm

from waitless.domain.errors import WaitlessError
from waitless.domain.region import load_region
from waitless.domain.stats_settings import parse_stats_config
from waitless.stats.config import stats_config
from waitless.stats.errors import NoDataError, StatsQueryError
from waitless.stats.nhse import import_files
from waitless.stats.shift import compute_shift, shift_statistics

REGION_GROUP = ["RVV", "RPA", "RWF", "RN7", "RYY", "ACH01", "AQM01", "DJV01"]
BASELINE, PERIOD = "2025-04..2025-06", "2025-07..2025-09"


@pytest.fixture
def kent():
    return stats_config(load_region("kent-medway"))


def _independent(monthly_paths, independent_counts, orgs, months):
    """type1 and other per month for ``orgs`` by summing the CSV columns by name."""
    out = {}
    for month in months:
        rows = independent_counts(monthly_paths[month])
        out[month] = (
            sum(rows[o]["A&E attendances Type 1"]
                + rows[o]["A&E attendances Booked Appointments Type 1"]
                for o in orgs if o in rows),
            sum(rows[o]["A&E attendances Other A&E Department"]
                + rows[o]["A&E attendances Booked Appointments Other Department"]
                for o in orgs if o in rows),
        )
    return out


@pytest.mark.parametrize("orgs", [["RVV"], ["RVV", "RYY"], REGION_GROUP])
async def test_shares_and_shift_match_independent_sums(conn, kent, monthly_paths,
                                                       independent_counts, orgs):
    await import_files(conn, list(monthly_paths.values()))
    result = await shift_statistics(conn, kent, orgs, BASELINE, PERIOD)

    per_month = _independent(monthly_paths, independent_counts, orgs, list(monthly_paths))
    assert [(m["month"], m["type1"], m["other"]) for m in result["months"]] == [
        (month, t1, other) for month, (t1, other) in per_month.items()]
    for entry in result["months"]:
        t1, other = per_month[entry["month"]]
        assert entry["other_share"] == pytest.approx(other / (t1 + other), abs=1e-12)
    base = [per_month[m] for m in ("2025-04", "2025-05", "2025-06")]
    per = [per_month[m] for m in ("2025-07", "2025-08", "2025-09")]
    b1, bo = sum(t for t, _ in base), sum(o for _, o in base)
    p1, po = sum(t for t, _ in per), sum(o for _, o in per)
    assert (result["baseline"]["type1"], result["baseline"]["other"]) == (b1, bo)
    assert (result["period"]["type1"], result["period"]["other"]) == (p1, po)
    share_b, share_p = bo / (b1 + bo), po / (p1 + po)
    assert result["shift_pp"] == pytest.approx(100 * (share_p - share_b), abs=1e-9)
    assert result["shift_relative"] == pytest.approx((share_p - share_b) / share_b, abs=1e-12)
    se = math.sqrt(share_b * (1 - share_b) / (b1 + bo) + share_p * (1 - share_p) / (p1 + po))
    z = norm.ppf(0.975)
    assert result["ci95_pp"] == pytest.approx(
        [100 * (share_p - share_b - z * se), 100 * (share_p - share_b + z * se)], abs=1e-9)
    assert result["rating"] == "red"  # no group moved 2.5 pp towards "other" in 2025


async def test_recorded_2025_values(conn, kent, monthly_paths):
    """The figures quoted in docs/statistics.md."""
    await import_files(conn, list(monthly_paths.values()))
    rvv = await shift_statistics(conn, kent, ["RVV"], BASELINE, PERIOD)
    assert (rvv["baseline"]["type1"], rvv["baseline"]["other"]) == (36971, 38865)
    assert round(rvv["shift_pp"], 2) == -0.03
    both = await shift_statistics(conn, kent, ["RVV", "RYY"], BASELINE, PERIOD)
    assert round(both["shift_pp"], 2) == -3.53
    region = await shift_statistics(conn, kent, None, BASELINE, PERIOD)
    assert region["orgs"] == REGION_GROUP
    assert round(region["shift_pp"], 2) == -0.65


async def test_missing_provider_months_are_listed_not_zero(conn, kent, monthly_paths):
    # July left out on purpose: a month not imported at all.
    await import_files(conn, [p for m, p in monthly_paths.items() if m != "2025-07"])
    result = await shift_statistics(conn, kent, ["RYY", "AQM01", "DJV01"], BASELINE, PERIOD)
    missing = {(m["org"], m["month"]): m["reason"] for m in result["missing"]}
    assert missing == {
        ("AQM01", "2025-04"): "provider not in the month's file",
        ("DJV01", "2025-04"): "provider not in the month's file",
        ("DJV01", "2025-05"): "provider not in the month's file",
        ("DJV01", "2025-06"): "provider not in the month's file",
        ("RYY", "2025-07"): "month not imported",
        ("AQM01", "2025-07"): "month not imported",
        ("DJV01", "2025-07"): "month not imported",
    }
    april = result["months"][0]
    assert april["orgs_reported"] == ["RYY"] and april["orgs_missing"] == ["AQM01", "DJV01"]
    assert april["other"] == 9195  # RYY alone; the absent units are not counted as zero rows
    july = next(m for m in result["months"] if m["month"] == "2025-07")
    assert (july["type1"], july["other"], july["other_share"]) == (0, 0, None)
    assert result["period"]["months_with_data"] == 2
    assert any("missing" in c for c in result["caveats"])


async def test_configured_break_straddled_is_flagged(conn, monthly_paths):
    await import_files(conn, list(monthly_paths.values()))
    config = parse_stats_config({
        "target_shift_pp": 5.0,
        "providers": [{"code": "RYY", "kind": "community"}, {"code": "RVV", "kind": "acute"}],
        "breaks": [{"org": "RYY", "month": "2025-07", "description": "units moved to DJV01"},
                   {"org": "RVV", "month": "2023-02", "description": "reclassification"}],
    })
    result = await shift_statistics(conn, config, ["RYY", "RVV"], BASELINE, PERIOD)
    assert result["comparison_spans_break"] is True
    by_org = {b["org"]: b for b in result["breaks"]}
    assert by_org["RYY"]["position"] == "between baseline and period"
    assert by_org["RYY"]["spans_comparison"] is True
    assert by_org["RVV"]["spans_comparison"] is False
    # The same break no longer matters when both ranges sit after it.
    after = await shift_statistics(conn, config, ["RYY"], "2025-07", "2025-08..2025-09")
    assert after["comparison_spans_break"] is False
    assert after["breaks"][0]["position"] == "before baseline"


def _tidy_rows(path):
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            yield {"month": dt.date.fromisoformat(row["month"] + "-01"),
                   "org_code": row["org_code"], "type1": int(row["type1"]),
                   "other": int(row["other"]), "type2": 0, "booked_type2": None,
                   "booked_type1": int(float(row["booked_type1"] or 0)),
                   "booked_other": int(float(row["booked_other"] or 0))}


def test_rvv_2023_reclassification_is_detected_in_the_tidy_extract(kent, nhse_file):
    rows = list(_tidy_rows(nhse_file("kent-trusts-2020-2026-monthly.csv")))
    result = compute_shift(rows, config=kent, orgs=["RVV"], baseline="2022-10..2023-01",
                           period="2023-03..2023-06")
    (brk,) = result["breaks"]
    assert (brk["org"], brk["month"], brk["source"], brk["detected"]) == (
        "RVV", "2023-02", "configured", True)
    changes = {c["metric"]: (c["before"], c["after"]) for c in brk["changes"]}
    assert changes == {"type1": (17036 + 90, 10977 + 90), "other": (5226, 10535)}
    assert result["comparison_spans_break"] is True
    assert round(result["shift_pp"], 1) == 26.7  # an artefact of the reclassification
    assert result["rating"] == "green"  # what a naive reading would report; the caveat warns
    assert any("structural break" in c for c in result["caveats"])

    unconfigured = parse_stats_config({"target_shift_pp": 5.0,
                                       "providers": [{"code": "RVV", "kind": "acute"}]})
    found = compute_shift(rows, config=unconfigured, orgs=["RVV"], baseline="2022-10..2023-01",
                          period="2023-03..2023-06")
    assert [(b["month"], b["source"]) for b in found["breaks"]] == [("2023-02", "detected")]
    assert found["comparison_spans_break"] is True


def _synthetic(baseline_share, period_share):
    rows = []
    for month, share in (("2025-01", baseline_share), ("2025-02", period_share)):
        other = round(10000 * share)
        rows.append({"month": dt.date.fromisoformat(month + "-01"), "org_code": "RVV",
                     "type1": 10000 - other, "other": other, "type2": 5, "booked_type1": 0,
                     "booked_type2": None, "booked_other": 0})
    return rows


@pytest.mark.parametrize(("period_share", "rating"), [(0.36, "green"), (0.35, "green"),
                                                      (0.33, "amber"), (0.31, "red"),
                                                      (0.25, "red")])
def test_rating_against_the_configured_target(kent, period_share, rating):
    result = compute_shift(_synthetic(0.30, period_share), config=kent, orgs=["RVV"],
                           baseline="2025-01", period="2025-02")
    assert result["rating"] == rating
    assert result["baseline"]["type2"] == 5  # reported, outside the share


@pytest.mark.parametrize(("orgs", "baseline", "period", "message"), [
    (["XYZ"], BASELINE, PERIOD, "XYZ are not providers"),
    (["RVV", "rvv"], BASELINE, PERIOD, "repeated"),
    (["RVV"], "2025-04..2025-07", PERIOD, "must end before the period"),
    (["RVV"], PERIOD, BASELINE, "must end before the period"),
    (["RVV"], "2025-13..2025-14", PERIOD, "baseline: bad month '2025-13'"),
    (["RVV"], BASELINE, "2025-09..2025-07", "period: bad month range"),
    (["RVV"], "April", PERIOD, "expected YYYY-MM"),
])
async def test_bad_requests_raise_query_errors(conn, kent, orgs, baseline, period, message):
    with pytest.raises(StatsQueryError, match=message) as info:
        await shift_statistics(conn, kent, orgs, baseline, period)
    # A WaitlessError the API maps to 400; a plain ValueError would be a bug (500).
    assert isinstance(info.value, WaitlessError) and not isinstance(info.value, ValueError)


async def test_no_data_is_a_clear_error(conn, kent):
    with pytest.raises(NoDataError, match="no attendances imported for RVV in the baseline"):
        await shift_statistics(conn, kent, ["RVV"], BASELINE, PERIOD)
    # Dropped inside a transaction that is rolled back: the session's database keeps its
    # tables (migrate() sees version 4 applied and would not recreate them for later tests).
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.execute("DROP TABLE nhse_ae_monthly, nhse_ae_import, nhse_ae_import_log")
        with pytest.raises(NoDataError, match="import-nhse"):
            await shift_statistics(conn, kent, ["RVV"], BASELINE, PERIOD)
    finally:
        await transaction.rollback()
    assert await conn.fetchval("SELECT to_regclass('nhse_ae_monthly') IS NOT NULL")
