"""The statistics' PostgreSQL pool, opened on first use so the service starts without one."""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from waitless.events.migrations import migrate
from waitless.stats.schema import ensure_schema

logger = logging.getLogger(__name__)


class DatabaseUnavailable(RuntimeError):
    """No database is configured, or it does not answer (HTTP 503)."""


class StatsDatabase:
    """A small pool for the statistics endpoints, separate from the event writer's.

    Parameters
    ----------
    dsn
        PostgreSQL URL, or ``None`` (every use raises :class:`DatabaseUnavailable`).
    """

    def __init__(self, dsn: str | None) -> None:
        self.dsn = dsn
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    async def pool(self) -> asyncpg.Pool:
        """The pool, opened (and the schema brought up to date) on first call."""
        if self._pool is not None:
            return self._pool
        if self.dsn is None:
            msg = "no database configured (set WAITLESS_DATABASE_URL)"
            raise DatabaseUnavailable(msg)
        async with self._lock:
            if self._pool is None:
                pool = None
                try:
                    pool = await asyncpg.create_pool(self.dsn, min_size=0, max_size=4, timeout=5,
                                                     command_timeout=30)
                    async with pool.acquire() as conn:
                        await migrate(conn)
                        await ensure_schema(conn)
                except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                    if pool is not None:
                        pool.terminate()
                    logger.warning("statistics database unavailable: %s", exc)
                    msg = f"the statistics database does not answer: {exc}"
                    raise DatabaseUnavailable(msg) from exc
                self._pool = pool
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
