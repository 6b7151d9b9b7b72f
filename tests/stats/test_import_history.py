"""Importing every monthly provider file, April 2018 to September 2025 (90 files).

Column names change over the years (2018-19 files say "Number of A&E attendances Type 1" and have
no booked-appointment columns; 2019-20 files put the national total under "Org name" only).
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from tests.stats.conftest import MONTHLY_FILES, NHSE_DIR
from waitless.stats.months import add_months
from waitless.stats.nhse import import_files

NATIONAL_DIR = NHSE_DIR / "national-2018-2025"


def all_monthly_paths() -> list[Path]:
    """The 84 national files and the six of Apr-Sep 2025; skips when any is absent."""
    if not NATIONAL_DIR.is_dir():
        pytest.skip(f"shared NHS England history not present: {NATIONAL_DIR}")
    paths = sorted(NATIONAL_DIR.glob("*.csv")) + [NHSE_DIR / n for n in MONTHLY_FILES.values()]
    if len(paths) != 90 or not all(p.is_file() for p in paths):
        pytest.skip(f"expected 90 monthly files under {NHSE_DIR}, found {len(paths)}")
    return paths


def _type1_by_header(path: Path) -> tuple[str, int]:
    """(period label, national type 1 attendances) read with the csv module alone."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        column = next(h for h in reader.fieldnames or [] if h.strip().endswith(
            "A&E attendances Type 1") and "Booked" not in h)
        label, total = "", 0
        for row in reader:
            if "TOTAL" in (row["Period"].strip().upper(), row["Org name"].strip().upper()):
                continue
            label = row["Period"].strip()
            total += int(row[column])
        return label, total


async def test_all_ninety_files_import_and_match_the_csvs(conn):
    paths = all_monthly_paths()
    results = await import_files(conn, paths)
    months = sorted(dt.date.fromisoformat(r.month + "-01") for r in results)
    first = dt.date(2018, 4, 1)
    assert months == [add_months(first, i) for i in range(90)]  # no gap, no repeat
    assert {r.action for r in results} == {"imported"}
    stored = {r["month"]: r for r in await conn.fetch(
        "SELECT month, sum(type1) AS type1, count(*) AS providers,"
        " count(booked_type1) AS with_booked FROM nhse_ae_monthly GROUP BY month")}
    for path, result in zip(paths, results, strict=True):
        label, type1 = _type1_by_header(path)
        month = dt.date.fromisoformat(result.month + "-01")
        assert label.upper().endswith(str(month.year))
        assert stored[month]["type1"] == type1, path.name
        assert stored[month]["providers"] == result.provider_rows
    # 2018-19 files have no booked columns: stored NULL, not zero.
    assert stored[dt.date(2018, 4, 1)]["with_booked"] == 0
    assert stored[dt.date(2025, 3, 1)]["with_booked"] == stored[dt.date(2025, 3, 1)]["providers"]
