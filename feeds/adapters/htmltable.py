"""A configurable HTML table (trust "waiting times" pages such as Kent & Medway's UTC page).

Options::

    table = 0                        # index among the page's tables, "#some-id" or ".some-class"
    site_column = "Centre"           # header text (case-insensitive) or 0-based index
    wait_column = "Current wait"
    status_column = "Status"         # optional; "Closed" there closes the site
    patients_column = "Waiting"      # optional; "-" or empty is no count, "-3" invalid_field
    updated_column = "Updated"       # optional per-row time, read with updated_format
    updated_regex = 'Last updated:?\\s*(.+)'   # optional, searched in the page's text
    updated_format = "%H:%M %d/%m/%Y"          # strptime pattern (or iso / epoch_s / epoch_ms)
    timezone = "Europe/London"       # required when the page's times carry no offset
    wait_kind = "estimate"           # or "longest" for "longest wait" columns, ...
    wait_unit = "minutes"            # unit of a bare number
    service = "utc"                  # which service the table's waits are for
    sites = { "Buckland" = "RVV02" }

"No data", "-" and empty cells give ``wait_minutes = None``; a wait cell reading "Closed"
gives ``status = "closed"``. Without an updated-at source the fetch time is used
(``timestamp_from_source = false``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from feeds.adapters._common import (
    option,
    parse_time,
    read_count,
    read_wait,
    service_option,
    site_id_for,
)
from feeds.adapters._html import Table, read_page
from feeds.errors import FeedParseError
from waitless.domain.observation import Observation

_CLOSED = re.compile(r"^(temporarily )?closed\b", re.IGNORECASE)


# The feed options this format reads (besides feeds.adapters.SHARED_OPTIONS), so that a
# region file's misspelt option is refused at start-up instead of silently ignored.
OPTIONS = frozenset({
    "encoding", "table", "site_column", "wait_column", "status_column", "patients_column",
    "updated_column", "updated_format", "updated_regex", "timezone", "service", "wait_kind",
    "wait_unit",
})


def parse(body: bytes, *, feed_name: str, fetched_at: datetime,
          options: Mapping[str, Any]) -> list[Observation]:
    """Read one table of a page into observations as the feed's options describe."""
    page = body.decode(option(options, "encoding", str, "utf-8"), errors="replace")
    tables, text = read_page(page)
    table = _pick_table(tables, option(options, "table", (int, str), 0))
    header = next((row for row, data in zip(table.rows, table.has_td, strict=True)
                   if not data), [])
    site_col = _column(header, options, "site_column", required=True)
    wait_col = _column(header, options, "wait_column", required=True)
    status_col = _column(header, options, "status_column")
    patients_col = _column(header, options, "patients_column")
    updated_col = _column(header, options, "updated_column")
    time_format = option(options, "updated_format", str, "iso")
    timezone = option(options, "timezone", str, None)
    page_time = _page_time(text, options, time_format, timezone)
    service = service_option(options, "service", None)
    observations = []
    for index, row in enumerate(r for r, data in zip(table.rows, table.has_td, strict=True)
                                if data):
        where = f"table row {index + 1}"
        if len(row) == 1:
            continue  # a full-width note row ("Waiting times are estimates"), not a site
        site_id = site_id_for(_cell(row, site_col, where), options)
        if site_id is None:
            continue
        wait_text = _cell(row, wait_col, where)
        status = "open"
        if _CLOSED.match(wait_text) or (
                status_col is not None and _CLOSED.match(_cell(row, status_col, where))):
            status, wait_text = "closed", ""
        wait, kind = read_wait(wait_text,
                               default_kind=option(options, "wait_kind", str, "estimate"),
                               default_unit=option(options, "wait_unit", str, "minutes"))
        observed_at, from_source = page_time or fetched_at, page_time is not None
        if updated_col is not None:
            observed_at = parse_time(_cell(row, updated_col, where), time_format, timezone,
                                     f"{where} updated")
            from_source = True
        patients = _cell(row, patients_col, where) if patients_col is not None else None
        observations.append(Observation(
            site_id=site_id, service=service, wait_minutes=wait, observed_at=observed_at,
            status=status, wait_kind=kind,
            patients_waiting=read_count(patients),
            feed=feed_name, timestamp_from_source=from_source,
        ))
    return observations


def _pick_table(tables: list[Table], which: int | str) -> Table:
    if isinstance(which, int):
        if 0 <= which < len(tables):
            return tables[which]
        msg = f"table {which} not found: the page has {len(tables)} table(s)"
        raise FeedParseError(msg)
    for table in tables:
        if (which.startswith("#") and table.id == which[1:]) or (
                which.startswith(".") and which[1:] in table.classes):
            return table
    msg = f"no table matching {which!r} on the page ({len(tables)} table(s))"
    raise FeedParseError(msg)


def _column(header: list[str], options: Mapping[str, Any], key: str, *,
            required: bool = False) -> int | None:
    which = option(options, key, (int, str), None, required=required)
    if which is None or isinstance(which, int):
        return which
    folded = [cell.casefold() for cell in header]
    if which.casefold() in folded:
        return folded.index(which.casefold())
    msg = f"{key}: no column headed {which!r} (headers: {header})"
    raise FeedParseError(msg)


def _cell(row: list[str], column: int, where: str) -> str:
    if column >= len(row):
        msg = f"{where}: has {len(row)} cell(s), no column {column}"
        raise FeedParseError(msg)
    return row[column]


def _page_time(text: str, options: Mapping[str, Any], time_format: str,
               timezone: str | None) -> datetime | None:
    pattern = option(options, "updated_regex", str, None)
    if pattern is None:
        return None
    try:
        match = re.search(pattern, text, re.IGNORECASE)
    except re.error as exc:
        msg = f"feed option 'updated_regex' is not a regular expression: {exc}"
        raise FeedParseError(msg) from None
    if match is None:
        msg = f"updated_regex {pattern!r} found no updated-at text on the page"
        raise FeedParseError(msg)
    found = match.group(1) if match.groups() else match.group(0)
    return parse_time(found.strip(), time_format, timezone, "updated-at text")
