"""Writing event rows to PostgreSQL, and finding the rows it refuses for their data.

Plain functions over a connection, used by :class:`~waitless.events.log.EventLog` and the
benchmarks: a keyed insert for replayed rows, ``COPY`` for new ones, and the halving search
that writes every good row of a refused batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from waitless.domain.event_fields import EVENT_FIELDS, OCCURRED_AT, EventRow, event_row
from waitless.events.quarantine import CONSTRAINT, DATA, ENCODING, Refusal

# The table's column for each field of a row (waitless.domain.event_fields), in its order.
_SQL_TYPES = {
    "event_id": "uuid", "occurred_at": "timestamptz", "region": "text", "origin_cell": "text",
    "origin_lat_coarse": "float8", "origin_lon_coarse": "float8", "condition": "text",
    "age_band": "text", "mode": "text", "emergency": "bool", "recommended_site": "text",
    "recommended_kind": "text", "nearest_site": "text", "nearest_kind": "text",
    "nearest_ed": "text", "estimated_minutes": "float8", "nearest_ed_minutes": "float8",
    "results_count": "int4", "travel_source": "text", "nearest_ed_total_minutes": "float8",
}
EVENT_COLUMNS: tuple[tuple[str, str], ...] = tuple(
    (name, _SQL_TYPES[name]) for name in EVENT_FIELDS)

# Errors that refuse rows, not the server: PostgreSQL's data exceptions (SQLSTATE class 22:
# CharacterNotInRepertoireError for a NUL byte, UntranslatableCharacterError, numeric out of
# range...; asyncpg raises the same class for a value it cannot encode for an insert), its
# check and not-null constraints (class 23; a duplicate id never gets here: see
# copy_new_events), and what the driver's COPY encoder and our own conversion raise for a
# value of the wrong kind (UnicodeEncodeError for a lone surrogate is a ValueError,
# OverflowError for an int out of range an ArithmeticError, TypeError for a str as a float).
# Retried, they fail again; anything else (a lost connection, a timeout, a missing table) is
# an outage and the batch is spooled.
_ROW_ERRORS = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError, ValueError,
               TypeError, ArithmeticError)
# Errors that mean PostgreSQL did not take the batch, whatever its rows hold.
OUTAGE_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)

_INSERT_SQL = (
    f"INSERT INTO ranking_events ({', '.join(c for c, _ in EVENT_COLUMNS)}) "
    f"SELECT * FROM unnest({', '.join(f'${i}::{t}[]' for i, (_, t) in enumerate(EVENT_COLUMNS, 1))}) "  # noqa: E501
    "ON CONFLICT (event_id) DO NOTHING"
)


def _records(rows: Sequence[EventRow]) -> list[EventRow]:
    """``rows`` with ``occurred_at`` a datetime (a spooled row holds it as ISO 8601 text)."""
    return [row if not isinstance(at := row[OCCURRED_AT], str) else
            (*row[:OCCURRED_AT], datetime.fromisoformat(at), *row[OCCURRED_AT + 1:])
            for row in rows]


def _column_values(rows: Sequence[EventRow]) -> list[list[Any]]:
    return [list(column) for column in zip(*_records(rows), strict=True)]


async def insert_events(conn: asyncpg.Connection, rows: Sequence[EventRow]) -> int:
    """Insert event rows (skipping ids already present); return how many rows were new."""
    if not rows:
        return 0
    status = await conn.execute(_INSERT_SQL, *_column_values(rows))
    return int(status.rsplit(" ", 1)[-1])


async def copy_new_events(conn: asyncpg.Connection, rows: Sequence[EventRow]) -> int:
    """Write event rows whose ids are not in the table yet; return how many rows were new.

    ``COPY`` costs PostgreSQL about 40 % less CPU per event than the keyed insert, and this
    process about half (docs/benchmarks.md). It refuses the whole batch if an id is already
    there; the keyed insert then writes the others, so nothing is lost or counted twice.
    """
    try:
        await conn.copy_records_to_table("ranking_events", records=_records(rows),
                                         columns=EVENT_FIELDS)
    except asyncpg.UniqueViolationError:
        return await insert_events(conn, rows)
    return len(rows)


def spooled_row(item: Any) -> EventRow:
    """A row read back from the spool: a JSON array in field order, or from a segment written
    before rows were tuples, an object by field name.

    Raises
    ------
    ValueError
        ``item`` is neither an object nor an array of one value per field.
    """
    if isinstance(item, dict):
        return event_row(item)
    if isinstance(item, list) and len(item) == len(EVENT_FIELDS):
        return tuple(item)
    msg = f"not an event row: a {type(item).__name__}, not an array of {len(EVENT_FIELDS)} values"
    raise ValueError(msg)


def refusal_reason(exc: BaseException) -> str:
    """The quarantine reason for one of ``_ROW_ERRORS``."""
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return CONSTRAINT
    if isinstance(exc, asyncpg.PostgresError) and exc.__cause__ is None:
        return DATA
    # COPY's encoder, or asyncpg's own DataError "invalid input for query argument", which it
    # raises from the encoder's error (PostgreSQL never saw the value).
    return ENCODING


async def write_or_refuse(conn: asyncpg.Connection, rows: Sequence[EventRow], *,
                          new: bool) -> tuple[int, list[Refusal]]:
    """Write ``rows`` (``new``: by ``COPY``, see :func:`copy_new_events`; else keyed); return
    how many were new and the rows refused for their data, each with its reason.

    A refused batch is halved and each half written again, down to single rows: with one bad
    row in a batch of ``n``, about ``2 log2 n`` statements (18 for 500 rows), each all or
    nothing, so every good row is written once. An outage error is raised (then no refusal is
    reported: the caller spools the whole batch, and its replay finds them again).
    """
    if not rows:
        return 0, []
    try:
        return await (copy_new_events if new else insert_events)(conn, rows), []
    except _ROW_ERRORS as exc:
        if len(rows) == 1:
            return 0, [Refusal(refusal_reason(exc), f"{type(exc).__name__}: {exc}", rows[0])]
    half = len(rows) // 2
    first, first_refused = await write_or_refuse(conn, rows[:half], new=new)
    second, second_refused = await write_or_refuse(conn, rows[half:], new=new)
    return first + second, first_refused + second_refused
