"""NHS England "A&E Attendances and Emergency Admissions" monthly provider CSVs.

:func:`parse_provider_csv` is pure (bytes or a path in, one :class:`NhseMonth` out) and tolerates
the quirks of the published files: a national ``TOTAL``/``Total`` row (checked against the
provider rows, then dropped), trailing spaces in headers and values (``"NHS ENGLAND SOUTH EAST "``),
quoted names with commas, columns with an empty header, and any file name: the month always comes
from the ``Period`` column (``MSitAE-APRIL-2025``), never from the name.

:func:`import_files` writes parsed months to PostgreSQL. A call is all-or-nothing: every file is
parsed before anything is written, and all months are written in one transaction, so one bad file
means nothing from that call is stored.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from waitless.events.migrations import migrate
from waitless.events.stats_tables import COUNT_COLUMNS
from waitless.stats.errors import NhseFormatError
from waitless.stats.months import format_month
from waitless.stats.nhse_columns import BOOKED_COUNTS, HEADERS, ID_HEADERS, REQUIRED_COUNTS

_PERIOD_RE = re.compile(r"^MSitAE-([A-Za-z]+)-(\d{4})$", re.IGNORECASE)
_MONTH_NAMES = {name: i for i, name in enumerate(
    ("JANUARY", "FEBRUARY", "MARCH", "APRIL", "MAY", "JUNE", "JULY", "AUGUST", "SEPTEMBER",
     "OCTOBER", "NOVEMBER", "DECEMBER"), start=1)}


@dataclass(frozen=True, slots=True)
class ProviderRow:
    """One provider's published counts for one month (``None`` = column absent from the file)."""

    org_code: str
    parent_org: str
    org_name: str
    counts: dict[str, int | None]


@dataclass(frozen=True, slots=True)
class NhseMonth:
    """One parsed monthly file: its month, its provider rows and the file's identity."""

    month: dt.date
    period_label: str
    rows: tuple[ProviderRow, ...]
    source_name: str
    sha256: str


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What one file did. ``action`` is ``"imported"``, ``"replaced"`` or ``"unchanged"``."""

    source_name: str
    month: str
    provider_rows: int
    sha256: str
    action: str
    previous_sha256: str | None = None


def _norm(header: str) -> str:
    return " ".join(header.split()).casefold()


_LOOKUP = {_norm(text): key for key, texts in HEADERS.items() for text in texts}
_LOOKUP.update({_norm(text): key for key, text in ID_HEADERS.items()})


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:4096]:
        msg = f"{name}: binary data, not a CSV text file"
        raise NhseFormatError(msg)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Older NHS downloads are Windows-1252 (accented names); any byte string decodes.
        return data.decode("cp1252", errors="replace")


def _parse_period(label: str, name: str, line: int) -> dt.date:
    match = _PERIOD_RE.match(label)
    month_name = match[1].upper() if match else ""
    month = _MONTH_NAMES.get(month_name) or next(
        (i for full, i in _MONTH_NAMES.items() if month_name and full[:3] == month_name), None)
    if not match or month is None:
        msg = f"{name} line {line}: Period {label!r} is not like 'MSitAE-APRIL-2025'"
        raise NhseFormatError(msg)
    return dt.date(int(match[2]), month, 1)


def _parse_count(text: str, *, name: str, line: int, org: str, header: str) -> int | None:
    value = text.strip().replace(",", "")
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not (number >= 0 and number == int(number)):
        msg = (f"{name} line {line} ({org}): {header!r} value {text!r} "
               "is not a non-negative whole number")
        raise NhseFormatError(msg)
    return int(number)


def _map_header(header: list[str], name: str) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, raw in enumerate(header):
        key = _LOOKUP.get(_norm(raw))
        if key is None:
            continue  # empty junk columns and columns this importer does not use
        if key in columns:
            msg = f"{name}: column {raw.strip()!r} appears twice"
            raise NhseFormatError(msg)
        columns[key] = index
    # Booked columns come as a set: a file with one but not the other is cut or edited.
    booked = BOOKED_COUNTS if any(k in columns for k in BOOKED_COUNTS) else ()
    missing = [ID_HEADERS.get(k) or HEADERS[k][0]
               for k in (*ID_HEADERS, *REQUIRED_COUNTS, *booked) if k not in columns]
    if missing:
        msg = (f"{name}: not an NHS England monthly A&E provider CSV; missing column(s) "
               f"{', '.join(repr(m) for m in missing)}")
        raise NhseFormatError(msg)
    return columns


def _is_total(cells: list[str], columns: dict[str, int]) -> bool:
    # The national row says TOTAL/Total/TOTAl in some identity cell; 2019-20 files leave
    # period and codes empty and put it under "Org name" only.
    return any(cells[columns[key]].strip().upper() == "TOTAL" for key in ID_HEADERS)


def _check_total(rows: list[ProviderRow], total: dict[str, int | None], name: str) -> None:
    for key in (*REQUIRED_COUNTS, *BOOKED_COUNTS):
        expected = total.get(key)
        found = sum(row.counts[key] or 0 for row in rows)
        if expected is not None and found != expected:
            msg = (f"{name}: provider rows add up to {found} for {HEADERS[key][0]!r} but the "
                   f"file's TOTAL row says {expected}; the file looks truncated or edited")
            raise NhseFormatError(msg)


def parse_provider_csv(source: bytes | str | os.PathLike[str], *,
                       source_name: str | None = None) -> NhseMonth:
    """Parse one NHS England monthly A&E provider CSV.

    Parameters
    ----------
    source
        The file's bytes, or a path to it.
    source_name
        Name used in messages and stored with the import; defaults to the file name.

    Returns
    -------
    month
        The file's month (from its ``Period`` column) and one row per provider.
    """
    if isinstance(source, bytes):
        data, name = source, source_name or "<bytes>"
    else:
        path = Path(source)
        name = source_name or path.name
        try:
            data = path.read_bytes()
        except OSError as exc:
            msg = f"cannot read {path}: {exc.strerror or exc}"
            raise NhseFormatError(msg) from exc
    reader = csv.reader(io.StringIO(_decode(data, name), newline=""))
    try:
        header = next(reader, [])
        columns = _map_header(header, name)
        rows: list[ProviderRow] = []
        total: dict[str, int | None] | None = None
        months: dict[dt.date, str] = {}
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            cells = cells + [""] * (len(header) - len(cells))
            label = cells[columns["period"]].strip()
            org = cells[columns["org_code"]].strip().upper()
            counts = {key: _parse_count(cells[columns[key]], name=name, line=line, org=org,
                                        header=header[columns[key]].strip())
                      if key in columns else None for key in COUNT_COLUMNS}
            if _is_total(cells, columns):
                total = counts
                continue
            missing = [HEADERS[k][0] for k in (*REQUIRED_COUNTS, *BOOKED_COUNTS)
                       if counts[k] is None and (k in REQUIRED_COUNTS or k in columns)]
            if not org or missing:
                msg = f"{name} line {line} ({org or 'no org code'}): empty {missing or 'Org Code'}"
                raise NhseFormatError(msg)
            months.setdefault(_parse_period(label, name, line), label)
            rows.append(ProviderRow(org, cells[columns["parent_org"]].strip(),
                                    cells[columns["org_name"]].strip(), counts))
    except csv.Error as exc:
        msg = f"{name} line {reader.line_num}: malformed CSV ({exc})"
        raise NhseFormatError(msg) from exc
    if not rows:
        msg = f"{name}: no provider rows"
        raise NhseFormatError(msg)
    if len(months) > 1:
        msg = f"{name}: mixes months {', '.join(sorted(months.values()))}; expected one month"
        raise NhseFormatError(msg)
    codes = [row.org_code for row in rows]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        msg = f"{name}: org code(s) {', '.join(duplicates)} appear more than once"
        raise NhseFormatError(msg)
    if total is not None:
        _check_total(rows, total, name)
    (month, label), = months.items()
    return NhseMonth(month, label, tuple(rows), name, hashlib.sha256(data).hexdigest())


async def _write_month(conn: asyncpg.Connection, parsed: NhseMonth) -> ImportResult:
    previous = await conn.fetchval(
        "SELECT sha256 FROM nhse_ae_import WHERE month = $1 FOR UPDATE", parsed.month)
    result = ImportResult(parsed.source_name, format_month(parsed.month), len(parsed.rows),
                          parsed.sha256,
                          "unchanged" if previous == parsed.sha256
                          else "replaced" if previous else "imported", previous)
    if result.action != "unchanged":
        # Deleting the month row cascades to its provider rows: a revision replaces, never merges.
        await conn.execute("DELETE FROM nhse_ae_import WHERE month = $1", parsed.month)
        await conn.execute(
            "INSERT INTO nhse_ae_import (month, period_label, source_file, sha256, provider_rows)"
            " VALUES ($1, $2, $3, $4, $5)",
            parsed.month, parsed.period_label, parsed.source_name, parsed.sha256,
            len(parsed.rows))
        await conn.copy_records_to_table(
            "nhse_ae_monthly",
            columns=["month", "org_code", "parent_org", "org_name", *COUNT_COLUMNS],
            records=[(parsed.month, r.org_code, r.parent_org, r.org_name,
                      *(r.counts[c] for c in COUNT_COLUMNS)) for r in parsed.rows])
    await conn.execute(
        "INSERT INTO nhse_ae_import_log"
        " (month, source_file, sha256, provider_rows, action, previous_sha256)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        parsed.month, parsed.source_name, parsed.sha256, len(parsed.rows), result.action,
        previous)
    return result


async def import_files(pool_or_conn: asyncpg.Pool | asyncpg.Connection,
                       paths: Sequence[str | os.PathLike[str]]) -> list[ImportResult]:
    """Import monthly provider CSVs, replacing any month they supply; all or nothing.

    Every file is parsed first (an :class:`NhseFormatError` then writes nothing), and all months
    are written in one transaction. Re-importing a byte-identical file is reported as
    ``"unchanged"`` and rewrites nothing; a different file for a month replaces that month.
    Two files for the same month in one call are refused.
    """
    return await import_parsed(pool_or_conn, [parse_provider_csv(path) for path in paths])


async def import_parsed(pool_or_conn: asyncpg.Pool | asyncpg.Connection,
                        parsed: Sequence[NhseMonth]) -> list[ImportResult]:
    """Write months already parsed (e.g. uploaded bytes); all or nothing like ``import_files``."""
    parsed = list(parsed)
    seen: dict[dt.date, str] = {}
    for item in parsed:
        if item.month in seen:
            msg = (f"{seen[item.month]} and {item.source_name} are both for "
                   f"{format_month(item.month)}; import one of them")
            raise NhseFormatError(msg)
        seen[item.month] = item.source_name
    if isinstance(pool_or_conn, asyncpg.Pool):
        async with pool_or_conn.acquire() as conn:
            return await _import_parsed(conn, parsed)
    return await _import_parsed(pool_or_conn, parsed)


async def _import_parsed(conn: asyncpg.Connection, parsed: list[NhseMonth]) -> list[ImportResult]:
    await migrate(conn)
    async with conn.transaction():
        # Serialise importers so two first imports of one month cannot collide.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('waitless.stats.import'))")
        return [await _write_month(conn, item) for item in parsed]
