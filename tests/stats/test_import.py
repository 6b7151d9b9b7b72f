"""Importing monthly provider CSVs into PostgreSQL: idempotence, replacement, all-or-nothing."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from waitless.stats.errors import NhseFormatError
from waitless.stats.nhse import import_files

SUMS_SQL = """
SELECT count(*) AS rows, sum(type1) AS type1, sum(other) AS other, sum(booked_type1) AS bt1,
       sum(booked_other) AS bo, sum(type2) AS type2
FROM nhse_ae_monthly
"""


async def _state(conn: asyncpg.Connection) -> tuple:
    sums = await conn.fetchrow(SUMS_SQL)
    months = await conn.fetch(
        "SELECT month, source_file, sha256, provider_rows, imported_at FROM nhse_ae_import"
        " ORDER BY month")
    return tuple(sums), [tuple(m) for m in months]


async def test_import_real_files_matches_the_csvs(conn, monthly_paths, independent_counts):
    results = await import_files(conn, list(monthly_paths.values()))
    assert [r.month for r in results] == list(monthly_paths)
    assert {r.action for r in results} == {"imported"}
    for month, path in monthly_paths.items():
        expected = independent_counts(path)
        stored = {r["org_code"]: r for r in await conn.fetch(
            "SELECT * FROM nhse_ae_monthly WHERE month = $1",
            dt.date.fromisoformat(month + "-01"))}
        assert set(stored) == set(expected)
        for org in ("RVV", "RWF", "RYY"):
            assert stored[org]["type1"] == expected[org]["A&E attendances Type 1"]
            assert stored[org]["booked_other"] == expected[org][
                "A&E attendances Booked Appointments Other Department"]
            assert stored[org]["emergency_admissions_type1"] == expected[org][
                "Emergency admissions via A&E - Type 1"]
        assert stored["RVV"]["parent_org"] == "NHS ENGLAND SOUTH EAST"


async def test_importing_twice_changes_nothing(conn, monthly_paths):
    await import_files(conn, list(monthly_paths.values()))
    before = await _state(conn)
    again = await import_files(conn, list(monthly_paths.values()))
    assert {r.action for r in again} == {"unchanged"}
    assert await _state(conn) == before
    assert before[0][0] == 198 + 200 + 201 * 4
    log = await conn.fetch("SELECT action, count(*) FROM nhse_ae_import_log GROUP BY action")
    assert {r["action"]: r["count"] for r in log} == {"imported": 6, "unchanged": 6}


async def test_a_pool_works_as_well_as_a_connection(database_url, conn, monthly_paths):
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        results = await import_files(pool, [monthly_paths["2025-05"]])
    finally:
        await pool.close()
    assert results[0].month == "2025-05"
    assert await conn.fetchval("SELECT count(*) FROM nhse_ae_monthly") == 200


async def test_non_nhs_csv_fails_cleanly_and_writes_nothing(conn, tmp_path, monthly_paths,
                                                            nhse_file):
    await import_files(conn, [monthly_paths["2025-04"]])
    before = await _state(conn)
    junk = tmp_path / "Monthly-AE-May-2025.csv"
    junk.write_text("site,wait_minutes\nWilliam Harvey,35\n")
    with pytest.raises(NhseFormatError, match="missing column"):
        await import_files(conn, [junk])
    # One bad file in a batch stops the whole batch: good files before it are not written.
    with pytest.raises(NhseFormatError, match=r"kent-trusts-2020-2026-monthly\.csv"):
        await import_files(conn, [monthly_paths["2025-06"],
                                  nhse_file("kent-trusts-2020-2026-monthly.csv")])
    assert await _state(conn) == before


async def test_two_files_for_one_month_are_refused(conn, tmp_path, monthly_paths):
    copy = tmp_path / "renamed-september.csv"
    copy.write_bytes(monthly_paths["2025-07"].read_bytes())
    with pytest.raises(NhseFormatError, match="both for 2025-07"):
        await import_files(conn, [monthly_paths["2025-07"], copy])
    assert await conn.fetchval("SELECT count(*) FROM nhse_ae_import") == 0


async def test_revised_file_replaces_its_month_only(conn, tmp_path, monthly_paths):
    await import_files(conn, [monthly_paths["2025-06"], monthly_paths["2025-07"]])
    june_before = await conn.fetchval(
        "SELECT sum(type1) FROM nhse_ae_monthly WHERE month = '2025-06-01'")
    # A revision of July: RVV type 1 restated, one provider withdrawn, TOTAL row adjusted.
    lines = monthly_paths["2025-07"].read_text(encoding="utf-8-sig").splitlines()
    revised_lines = []
    for line in lines:
        cells = line.split(",")
        if cells[1] == "RVV":
            cells[4] = str(int(cells[4]) + 1000)
        elif cells[1] == "DJV01":
            cells[6] = str(0)
            continue
        elif cells[0] == "TOTAL":
            cells[4] = str(int(cells[4]) + 1000)
            cells[6] = str(int(cells[6]) - 2265)
        revised_lines.append(",".join(cells))
    revised = tmp_path / "july-revised.csv"
    revised.write_text("\n".join(revised_lines) + "\n")

    (result,) = await import_files(conn, [revised])
    assert (result.action, result.month, result.provider_rows) == ("replaced", "2025-07", 200)
    rows = {r["org_code"]: r for r in await conn.fetch(
        "SELECT * FROM nhse_ae_monthly WHERE month = '2025-07-01'")}
    assert rows["RVV"]["type1"] == 12834 + 1000
    assert "DJV01" not in rows
    source = await conn.fetchrow("SELECT source_file, sha256 FROM nhse_ae_import"
                                 " WHERE month = '2025-07-01'")
    assert source["source_file"] == "july-revised.csv" and source["sha256"] == result.sha256
    assert await conn.fetchval(
        "SELECT sum(type1) FROM nhse_ae_monthly WHERE month = '2025-06-01'") == june_before
