"""Fixtures for the statistics tests: a throwaway PostgreSQL database and the shared NHS files."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import temporary_database
from waitless.events.migrations import migrate

REPO = Path(__file__).resolve().parents[2]
NHSE_DIR = REPO.parent / "shared" / "data" / "nhse-ae-monthly"
# The six raw monthly provider files (renamed as published), Apr-Sep 2025.
MONTHLY_FILES = {
    "2025-04": "Monthly-AE-April-2025.csv",
    "2025-05": "Monthly-AE-May-2025.csv",
    "2025-06": "Monthly-AE-June-2025-1-1.csv",
    "2025-07": "July-2025-CSV-9jfy4.csv",
    "2025-08": "August-2025-CSV-g5tyh-v2.0.csv",
    "2025-09": "September-2025-Csv-7hjr2.csv",
}


def _nhse_file(name: str) -> Path:
    path = NHSE_DIR / name
    if not path.is_file():
        pytest.skip(f"shared NHS England data not present: {path}")
    return path


@pytest.fixture
def nhse_file() -> Callable[[str], Path]:
    """Path of a shared NHS England file by name; skips the test when it is absent."""
    return _nhse_file


@pytest.fixture
def monthly_paths() -> dict[str, Path]:
    """Month ("YYYY-MM") -> raw monthly provider CSV, Apr-Sep 2025."""
    return {month: _nhse_file(name) for month, name in MONTHLY_FILES.items()}


def _read_csv_independently(path: Path) -> dict[str, dict[str, int]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        out = {}
        for row in reader:
            clean = {k.strip(): v.strip() for k, v in row.items() if k}
            if clean["Period"].upper() == "TOTAL":
                continue
            out[clean["Org Code"]] = {k: int(v) for k, v in clean.items() if v.isdigit()}
        return out


@pytest.fixture
def independent_counts() -> Callable[[Path], dict[str, dict[str, int]]]:
    """Org code -> {stripped header: int} per provider row, read with the csv module alone."""
    return _read_csv_independently


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh database for this test session, dropped afterwards."""
    yield from temporary_database("stats")


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to an empty statistics schema."""
    connection = await asyncpg.connect(database_url)
    await migrate(connection)
    await connection.execute(
        "TRUNCATE nhse_ae_monthly, nhse_ae_import, nhse_ae_import_log CASCADE")
    try:
        yield connection
    finally:
        await connection.close()
