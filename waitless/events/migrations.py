"""Schema migrations for PostgreSQL, applied in order at start-up under an advisory lock."""

from __future__ import annotations

import asyncpg

from waitless.events.stats_tables import STATS_TABLES_SQL

# Append new migrations; never edit one that has shipped.
MIGRATIONS: tuple[tuple[int, str], ...] = (
    (1, """
    CREATE TABLE ranking_events (
        id bigserial PRIMARY KEY,
        event_id uuid NOT NULL UNIQUE,
        occurred_at timestamptz NOT NULL,
        region text NOT NULL,
        origin_cell text NOT NULL,
        origin_lat_coarse double precision NOT NULL,
        origin_lon_coarse double precision NOT NULL,
        condition text,
        age_band text,
        mode text NOT NULL DEFAULT 'drive',
        emergency boolean NOT NULL DEFAULT false,
        recommended_site text,
        recommended_kind text,
        nearest_site text,
        nearest_kind text,
        nearest_ed text,
        estimated_minutes double precision,
        nearest_ed_minutes double precision,
        results_count integer NOT NULL,
        travel_source text NOT NULL
    );
    CREATE INDEX ranking_events_region_time ON ranking_events (region, occurred_at);
    """),
    # Total minutes (travel + predicted wait) the ranking gave the nearest ED's site; with
    # estimated_minutes it gives the minutes saved (docs/statistics.md).
    (2, """
    ALTER TABLE ranking_events ADD COLUMN IF NOT EXISTS nearest_ed_total_minutes double precision;
    """),
    # Where patients say they went. No coordinates, no IP: a site, a kind, a time. IF NOT
    # EXISTS because tests reset ranking_events by dropping schema_migrations, not this table.
    (3, """
    CREATE TABLE IF NOT EXISTS patient_choices (
        id bigserial PRIMARY KEY,
        choice_id uuid NOT NULL UNIQUE,
        occurred_at timestamptz NOT NULL,
        region text NOT NULL,
        site_id text NOT NULL,
        kind text,
        event_id uuid
    );
    CREATE INDEX IF NOT EXISTS patient_choices_region_time ON patient_choices (region, occurred_at);
    CREATE INDEX IF NOT EXISTS patient_choices_event ON patient_choices (event_id);
    """),
    # The statistics' NHS England tables, created IF NOT EXISTS: databases made before this
    # migration have them already (they used to be created outside the migration list).
    (4, STATS_TABLES_SQL),
)

_LOCK_ID = 0x5741_4954  # "WAIT"


async def migrate(conn: asyncpg.Connection) -> int:
    """Apply pending migrations; return the schema version now in force."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_ID)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
        applied = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for version, sql in MIGRATIONS:
            if version not in applied:
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
        return max(v for v, _ in MIGRATIONS)
