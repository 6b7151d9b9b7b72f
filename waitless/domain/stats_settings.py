"""The region file's ``[stats]`` table: providers, target shift and known structural breaks.

Example (see ``waitless/regions/kent-medway.toml`` and ``docs/statistics.md``)::

    [stats]
    target_shift_pp = 5.0          # green at or above this shift, percentage points
    amber_shift_pp = 2.5           # amber at or above this; red below (default: half the target)
    break_factor = 1.5             # detect a break when a count changes by more than this factor
    break_min_attendances = 500    # ... and the larger of the two months is at least this

    [[stats.providers]]
    code = "RVV"                   # NHS England "Org Code" in the monthly A&E CSVs
    name = "East Kent Hospitals University NHS FT"
    kind = "acute"                 # acute | community | gp

    [[stats.breaks]]
    org = "RVV"
    month = "2023-02"              # first month of the new counting
    description = "..."
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from waitless.domain.errors import RegionError
from waitless.domain.region_values import is_number

PROVIDER_KINDS = ("acute", "community", "gp")
_ORG_CODE_RE = re.compile(r"^[A-Z0-9]{3,6}$")
_MONTH_RE = re.compile(r"^([0-9]{4})-([0-9]{2})$")
# Months a break may name: NHS England's monthly A&E series start in 2010, so a year outside
# these is a typo (and year 0 is not a date at all).
_FIRST_YEAR, _LAST_YEAR = 2000, 2099


class StatsConfigError(RegionError):
    """The region's ``[stats]`` table is missing or inconsistent."""


def _first_of_month(text: str, where: str) -> dt.date:
    match = _MONTH_RE.match(text.strip())
    if not match or not (1 <= int(match[2]) <= 12 and _FIRST_YEAR <= int(match[1]) <= _LAST_YEAR):
        msg = (f"{where}: bad month {text!r}: expected YYYY-MM from "
               f"{_FIRST_YEAR}-01 to {_LAST_YEAR}-12, e.g. 2025-04")
        raise StatsConfigError(msg)
    return dt.date(int(match[1]), int(match[2]), 1)


@dataclass(frozen=True, slots=True)
class StatsProvider:
    """A provider whose attendances belong to the region's urgent-care system."""

    code: str
    name: str
    kind: str
    notes: str = ""


@dataclass(frozen=True, slots=True)
class ConfiguredBreak:
    """A known change in how a provider counts, effective from ``month`` (first day)."""

    org: str
    month: dt.date
    description: str


@dataclass(frozen=True, slots=True)
class StatsConfig:
    providers: tuple[StatsProvider, ...]
    target_shift_pp: float
    amber_shift_pp: float
    break_factor: float = 1.5
    break_min_attendances: int = 500
    breaks: tuple[ConfiguredBreak, ...] = ()

    @property
    def provider_codes(self) -> tuple[str, ...]:
        return tuple(p.code for p in self.providers)

    def provider(self, code: str) -> StatsProvider | None:
        return next((p for p in self.providers if p.code == code), None)


def _org_code(value: Any, where: str) -> str:
    code = str(value).strip().upper()
    if not _ORG_CODE_RE.match(code):
        msg = f"{where}: {value!r} is not an NHS organisation code (3-6 letters/digits)"
        raise StatsConfigError(msg)
    return code


def _number(raw: dict[str, Any], key: str, default: float | None) -> float:
    value = raw.get(key, default)
    if not is_number(value) or value < 0:
        msg = f"[stats]: {key} must be a finite number, 0 or more (got {value!r})"
        raise StatsConfigError(msg)
    return float(value)


def _entries(raw: dict[str, Any], key: str, known: set[str]) -> list[dict[str, Any]]:
    """``[[stats.<key>]]``: an array of tables with only ``known`` keys."""
    entries = raw.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        msg = f"[stats]: {key} must be an array of tables ([[stats.{key}]])"
        raise StatsConfigError(msg)
    for i, entry in enumerate(entries):
        unknown = sorted(set(entry) - known)
        if unknown:
            msg = (f"[[stats.{key}]] #{i + 1}: unknown key(s) {', '.join(unknown)}; "
                   f"allowed: {', '.join(sorted(known))}")
            raise StatsConfigError(msg)
    return entries


def _text(item: dict[str, Any], key: str, where: str) -> str:
    value = item.get(key, "")
    if not isinstance(value, str):
        msg = f"{where}: {key} must be text, not {value!r}"
        raise StatsConfigError(msg)
    return value


def parse_stats_config(raw: dict[str, Any]) -> StatsConfig:
    """Validate a ``[stats]`` table (as parsed from TOML) into a :class:`StatsConfig`."""
    known = {"target_shift_pp", "amber_shift_pp", "break_factor", "break_min_attendances",
             "providers", "breaks"}
    unknown = sorted(set(raw) - known)
    if unknown:
        msg = f"[stats]: unknown key(s) {', '.join(unknown)}"
        raise StatsConfigError(msg)
    providers = []
    for i, item in enumerate(_entries(raw, "providers", {"code", "name", "kind", "notes"})):
        where = f"[[stats.providers]] #{i + 1}"
        kind = item.get("kind", "")
        if kind not in PROVIDER_KINDS:
            msg = f"{where}: kind must be one of {', '.join(PROVIDER_KINDS)} (got {kind!r})"
            raise StatsConfigError(msg)
        code = _org_code(item.get("code", ""), where)
        name = item.get("name", code)
        # The dashboard and by_org[] show the name; an empty or non-text one would show nothing.
        if not isinstance(name, str) or not name.strip():
            msg = f"{where} ({code}): name must be a non-empty string (the ODS name)"
            raise StatsConfigError(msg)
        providers.append(StatsProvider(code, name.strip(), kind, _text(item, "notes", where)))
    codes = [p.code for p in providers]
    if not providers or len(set(codes)) != len(codes):
        msg = f"[stats]: needs at least one provider and each code once (got {codes})"
        raise StatsConfigError(msg)
    breaks = []
    for i, item in enumerate(_entries(raw, "breaks", {"org", "month", "description"})):
        where = f"[[stats.breaks]] #{i + 1}"
        org = _org_code(item.get("org", ""), where)
        month = _first_of_month(_text(item, "month", where), where)
        breaks.append(ConfiguredBreak(org, month, _text(item, "description", where)))
    target = _number(raw, "target_shift_pp", None)
    # A share moves at most 100 percentage points: a larger target could never be green.
    if target > 100:
        msg = f"[stats]: target_shift_pp must be at most 100 percentage points (got {target:g})"
        raise StatsConfigError(msg)
    amber = _number(raw, "amber_shift_pp", target / 2)
    if amber > target:
        msg = f"[stats]: amber_shift_pp ({amber}) must not exceed target_shift_pp ({target})"
        raise StatsConfigError(msg)
    factor = _number(raw, "break_factor", 1.5)
    # Past 10 a month's count must change more than tenfold: detection is in effect off.
    if not 1 < factor <= 10:
        msg = f"[stats]: break_factor must be greater than 1 and at most 10 (got {factor:g})"
        raise StatsConfigError(msg)
    # int() would quietly make 499.5 into 499; an attendance count is written whole.
    minimum = raw.get("break_min_attendances", 500)
    if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 0:
        msg = (f"[stats]: break_min_attendances must be a whole number of attendances, 0 or "
               f"more (got {minimum!r})")
        raise StatsConfigError(msg)
    return StatsConfig(tuple(providers), target, amber, factor, minimum, tuple(breaks))
