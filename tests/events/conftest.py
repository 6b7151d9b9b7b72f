"""A clean event-log schema in the test's own PostgreSQL database."""

import asyncpg
import pytest


@pytest.fixture
async def clean_db(pg_dsn: str) -> str:
    conn = await asyncpg.connect(pg_dsn)
    try:
        await conn.execute(
            "DROP TABLE IF EXISTS ranking_events, patient_choices, schema_migrations")
    finally:
        await conn.close()
    return pg_dsn
