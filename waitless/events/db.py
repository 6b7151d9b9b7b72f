"""The service's one PostgreSQL pool, opened on first use so the service starts without one.

The event log writes through it and the statistics read through it; the schema (every table,
event log and statistics alike) is brought up to date by :func:`~waitless.events.migrations.migrate`
when the pool opens.
"""

from __future__ import annotations

import asyncio
import logging
import time

import asyncpg

from waitless.domain.errors import WaitlessError
from waitless.events.migrations import migrate

logger = logging.getLogger(__name__)

# After a failed connection, callers get DatabaseUnavailable at once for this long (seconds)
# instead of each waiting on a connect timeout.
RETRY_SECONDS = 2.0


class DatabaseUnavailable(WaitlessError):
    """No database is configured, or it does not answer (HTTP 503)."""


class DatabaseDown(DatabaseUnavailable):
    """A database is configured and does not answer: an outage, which passes (Retry-After)."""


class Database:
    """One lazily opened, migrated asyncpg pool.

    Parameters
    ----------
    dsn
        PostgreSQL URL, or ``None`` (every use raises :class:`DatabaseUnavailable`).
    max_size
        Most connections the pool opens.
    """

    def __init__(self, dsn: str | None, *, max_size: int = 4) -> None:
        self.dsn = dsn
        self.max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()
        self._retry_at = 0.0

    @property
    def is_open(self) -> bool:
        return self._pool is not None

    async def pool(self) -> asyncpg.Pool:
        """The pool, opened (and the schema brought up to date) on first call."""
        if self._pool is not None:
            return self._pool
        if self.dsn is None:
            msg = "no database configured (set WAITLESS_DATABASE_URL)"
            raise DatabaseUnavailable(msg)
        async with self._lock:
            if self._pool is None:
                if time.monotonic() < self._retry_at:
                    msg = "the database did not answer a moment ago"
                    raise DatabaseDown(msg)
                self._pool = await self._open()
        return self._pool

    async def _open(self) -> asyncpg.Pool:
        pool = None
        try:
            pool = await asyncpg.create_pool(self.dsn, min_size=0, max_size=self.max_size,
                                             timeout=5, command_timeout=30)
            async with pool.acquire() as conn:
                await migrate(conn)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            if pool is not None:
                pool.terminate()
            self._retry_at = time.monotonic() + RETRY_SECONDS
            logger.warning("database unavailable: %s", exc)
            msg = f"the database does not answer: {exc}"
            raise DatabaseDown(msg) from exc
        logger.info("connected to PostgreSQL")
        return pool

    def forget_pool(self) -> None:
        """Drop a pool whose connections failed so the next use reconnects (after a pause)."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None
            self._retry_at = time.monotonic() + RETRY_SECONDS

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
