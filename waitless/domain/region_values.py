"""Typed reads of region-file values: each refuses a wrong type with a :class:`RegionError`.

TOML gives strings, numbers, booleans, lists and tables, but nothing stops a file from
writing ``lat = "51.2"`` or ``min_age_year = 16``. Every key the region modules read goes
through one of these functions, so a wrong type or a typo is refused when the file is loaded,
with a message naming where (``site RVV02 service 0``) and the key, instead of a bare
``ValueError`` at start-up or a string compared with a number in the middle of a ranking.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any

from waitless.domain.errors import RegionError

_MISSING = object()


def check_keys(raw: Mapping[str, Any], known: Collection[str], where: str) -> None:
    """Refuse keys outside ``known`` (a typo such as ``min_age_year`` must not be ignored).

    Raises
    ------
    RegionError
        Listing the unknown keys and the allowed ones.
    """
    unknown = sorted(set(raw) - set(known))
    if unknown:
        msg = (f"{where}: unknown key(s) {', '.join(unknown)}; "
               f"allowed: {', '.join(sorted(known))}")
        raise RegionError(msg)


def table(value: Any, where: str) -> dict[str, Any]:
    """``value`` if it is a table (``[section]`` or ``{...}``), else a :class:`RegionError`."""
    if not isinstance(value, dict):
        msg = f"{where} must be a table, not {_kind(value)}"
        raise RegionError(msg)
    return value


def tables(value: Any, where: str) -> list[dict[str, Any]]:
    """``value`` if it is an array of tables (``[[section]]``), else a :class:`RegionError`."""
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        msg = f"{where} must be an array of tables ([[...]]), not {_kind(value)}"
        raise RegionError(msg)
    return value


def text(raw: Mapping[str, Any], key: str, where: str, default: Any = _MISSING,
         *, empty: bool = False) -> str:
    """A string value; required when no ``default`` is given, non-empty unless ``empty``."""
    value = _get(raw, key, where, default)
    if not isinstance(value, str) or not (empty or value.strip()):
        msg = f"{where}: {key} must be {'text' if empty else 'non-empty text'}, not {value!r}"
        raise RegionError(msg)
    return value


def is_number(value: Any) -> bool:
    """Whether ``value`` is a finite ``int`` or ``float`` (not a boolean): a usable setting.

    Every numeric setting goes through this. ``nan`` passes every range check written as a
    refusal (``nan < 0`` and ``nan <= 0`` are both false), and TOML writes ``nan`` and ``inf``
    as plainly as ``5``; ``true`` is an ``int`` to Python but never a number meant.
    """
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def name_text(raw: Mapping[str, Any], key: str, where: str, matched_by: str) -> str:
    """Non-empty text that other things look up as written (a site id, a feed name).

    ``" RVV02"`` would load as an id no feed entry names (feeds match ids exactly), and a
    second ``"RVV02 "`` would pass the duplicate check; so spaces at either end are refused
    rather than stripped, and the message says what matches the value (``matched_by``).
    """
    value = text(raw, key, where)
    if value != value.strip():
        msg = (f"{where}: {key} {value!r} has spaces at its start or end; "
               f"{matched_by} match it exactly")
        raise RegionError(msg)
    return value


def number(raw: Mapping[str, Any], key: str, where: str, default: Any = _MISSING,
           *, minimum: float | None = 0.0, positive: bool = False) -> float:
    """A finite number, at least ``minimum`` (above it when ``positive``; ``None``: any), as a
    float.

    Booleans are refused although Python counts them as integers: ``lat = true`` is a mistake.
    """
    value = _get(raw, key, where, default)
    low = -math.inf if minimum is None else minimum
    if not is_number(value) or value < low or (positive and value == low):
        bound = ("" if minimum is None
                 else f" above {minimum:g}" if positive else f" at least {minimum:g}")
        msg = f"{where}: {key} must be a number{bound}, not {value!r}"
        raise RegionError(msg)
    return float(value)


def whole(raw: Mapping[str, Any], key: str, where: str, default: Any = _MISSING,
          *, minimum: int = 0) -> int:
    """A whole number (an integer, not ``2.5`` or ``"2"``), at least ``minimum``."""
    value = _get(raw, key, where, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        msg = f"{where}: {key} must be a whole number, at least {minimum}, not {value!r}"
        raise RegionError(msg)
    return value


def flag(raw: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    """``true`` or ``false``; the strings ``"no"`` or ``"false"`` are refused, not truthy."""
    value = raw.get(key, default)
    if not isinstance(value, bool):
        msg = f"{where}: {key} must be true or false, not {value!r}"
        raise RegionError(msg)
    return value


def text_list(raw: Mapping[str, Any], key: str, where: str) -> tuple[str, ...] | None:
    """A list of strings (``None`` when the key is absent).

    A lone string is refused rather than read as a list of its characters or ignored.
    """
    if key not in raw:
        return None
    value = raw[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        msg = f"{where}: {key} must be a list of strings, like [\"a\", \"b\"], not {value!r}"
        raise RegionError(msg)
    return tuple(value)


def _get(raw: Mapping[str, Any], key: str, where: str, default: Any) -> Any:
    if key in raw:
        return raw[key]
    if default is _MISSING:
        msg = f"{where}: missing required key {key!r}"
        raise RegionError(msg)
    return default


def _kind(value: Any) -> str:
    return {str: "a string", bool: "a boolean", int: "a number", float: "a number",
            list: "an array", dict: "a table"}.get(type(value), type(value).__name__)
