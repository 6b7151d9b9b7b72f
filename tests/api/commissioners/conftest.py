"""Fixtures for the commissioners' statistics: an own PostgreSQL database and a wired app."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web

from tests.conftest import REPO_ROOT, temporary_database
from tests.events.rows import event
from waitless.api.app import create_app
from waitless.domain.observation import Observation
from waitless.domain.region import Region, load_region
from waitless.events.migrations import migrate
from waitless.events.writes import insert_events
from waitless.live.store import MemoryLiveStore
from waitless.settings import Settings

REPO = REPO_ROOT
NHSE_DIR = REPO.parent / "shared" / "data" / "nhse-ae-monthly"
MONTHLY_FILES = ("Monthly-AE-April-2025.csv", "Monthly-AE-May-2025.csv",
                 "Monthly-AE-June-2025-1-1.csv", "July-2025-CSV-9jfy4.csv",
                 "August-2025-CSV-g5tyh-v2.0.csv", "September-2025-Csv-7hjr2.csv")
TOKEN = "commissioner-" + secrets.token_hex(16)
# Every scripted clock reading is at or before this, so every wait below is live (age 0).
OBSERVED_AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
WAITS = {"ed": 200.0, "utc": 30.0, "miu": 20.0}
SLOW_UTC = {"RVV01": 150.0}  # William Harvey's UTC is slow: Ashford patients go elsewhere


def nhse_path(name: str) -> Path:
    path = NHSE_DIR / name
    if not path.is_file():
        pytest.skip(f"shared NHS England data not present: {path}")
    return path


@pytest.fixture(scope="session")
def dashboard_dsn() -> Iterator[str]:
    """An own database for this test session, dropped afterwards."""
    yield from temporary_database("dashboard")


@pytest.fixture
async def db(dashboard_dsn: str) -> str:
    """The database with every statistics table emptied."""
    conn = await asyncpg.connect(dashboard_dsn)
    try:
        for table in ("ranking_events", "patient_choices", "nhse_ae_monthly", "nhse_ae_import",
                      "nhse_ae_import_log"):
            if await conn.fetchval("SELECT to_regclass($1)", table):
                await conn.execute(f"TRUNCATE {table} CASCADE")
    finally:
        await conn.close()
    return dashboard_dsn


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 24, 10, 30, tzinfo=UTC))


def scripted_observations(region: Region) -> list[Observation]:
    return [Observation(site.id, service.kind,
                        SLOW_UTC.get(site.id, WAITS[service.kind]) if service.kind == "utc"
                        else WAITS[service.kind], OBSERVED_AT, feed="test")
            for site in region.sites for service in site.services]


@pytest.fixture
def make_app(kent: Region, tmp_path: Path, clock: Clock) -> Callable[..., web.Application]:
    """An app on the test database with scripted live waits; keyword overrides for Settings."""
    async def make(database_url: str | None, **overrides: object) -> web.Application:
        store = MemoryLiveStore()
        await store.write(kent.name, scripted_observations(kent))
        settings = Settings(spool_dir=str(tmp_path / "spool"), database_url=database_url,
                            commissioner_token=TOKEN, cookie_secure=False,
                            event_flush_seconds=0.05)
        settings = replace(settings, **overrides)
        return create_app(settings, region=kent, live_store=store, clock=clock)
    return make


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# Two regions served together (tests/api/regions/border-*.toml), each given a [stats] table
# here with one provider of the real NHS England files: East Kent, and Medway.
REGIONS_DIR = REPO / "tests" / "api" / "regions"
STATS = {"border-north": ("RVV", "East Kent Hospitals University NHS FT"),
         "border-south": ("RPA", "Medway NHS FT")}


def region_with_stats(name: str, folder: Path) -> Region:
    """The test region ``name`` with a ``[stats]`` table naming its one provider."""
    code, title = STATS[name]
    text = (REGIONS_DIR / f"{name}.toml").read_text(encoding="utf-8")
    path = folder / f"{name}.toml"
    path.write_text(f'{text}\n[stats]\ntarget_shift_pp = 5.0\n\n[[stats.providers]]\n'
                    f'code = "{code}"\nname = "{title}"\nkind = "acute"\n', encoding="utf-8")
    return load_region(str(path))


@pytest.fixture
def regions(tmp_path: Path) -> list[Region]:
    """border-north (the primary) and border-south, each with its [stats] table."""
    return [region_with_stats(name, tmp_path) for name in STATS]


@pytest.fixture
def make_regions_app(tmp_path: Path, clock: Clock) -> Callable[..., web.Application]:
    """An app serving ``regions`` (the first is the primary) on the test database."""
    def make(database_url: str, regions: list[Region]) -> web.Application:
        settings = Settings(spool_dir=str(tmp_path / "spool"), database_url=database_url,
                            commissioner_token=TOKEN, cookie_secure=False,
                            graph_cache=str(tmp_path / "no-graphs"))
        return create_app(settings, regions=regions, live_store=MemoryLiveStore(), clock=clock)
    return make


async def log_events_in_both(dsn: str) -> None:
    """On 24 November 2026: three rankings in border-north, each nearest an ED and sent to a
    UTC (minor instead of ED), and five in border-south, nearest a UTC and sent to a UTC."""
    north = [event(n, region="border-north", recommended_site="TNB01", recommended_kind="utc",
                   nearest_site="TNB02", nearest_kind="ed", nearest_ed="TNB02")
             for n in range(3)]
    south = [event(10 + n, region="border-south", recommended_site="TSB01",
                   recommended_kind="utc", nearest_site="TSB02", nearest_kind="utc",
                   nearest_ed=None) for n in range(5)]
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
        await insert_events(conn, north + south)
    finally:
        await conn.close()
