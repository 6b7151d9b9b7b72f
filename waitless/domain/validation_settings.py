"""The region file's ``[validation]`` table: limits feed values must keep to be stored."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from waitless.domain.errors import WaitlessError
from waitless.domain.region_values import is_number


@dataclass(frozen=True, slots=True)
class ValidationSettings:
    """Limits for :func:`validate_observations` and :func:`check_body` (minutes, bytes).

    Attributes
    ----------
    max_wait_minutes, min_wait_minutes
        Plausible range per service kind; outside it is ``implausible_high`` / ``_low``.
    jump_factor, jump_floor_minutes, jump_window_minutes
        A wait is a ``sudden_jump`` when it differs from the last good figure by more than
        ``jump_floor_minutes`` *and* by more than ``jump_factor`` times (either way), and
        that figure is under ``jump_window_minutes`` old. A real change is therefore held
        back for at most the window; a one-off glitch never gets through.
    zero_suspect_after_minutes
        A zero wait is ``suspicious_zero`` when the last good figure (still fresh) was at
        least this many minutes: queues drain, they do not vanish.
    clock_skew_minutes
        How far in the future ``observed_at`` may be.
    stale_after_minutes
        Older figures are ``stale`` (the region's ``[ranking] stale_after_minutes``).
    max_body_bytes
        Larger bodies are ``oversized``.
    """

    max_wait_minutes: Mapping[str, float] = field(
        default_factory=lambda: {"ed": 1440.0, "utc": 720.0, "miu": 720.0})
    min_wait_minutes: Mapping[str, float] = field(
        default_factory=lambda: {"ed": 0.0, "utc": 0.0, "miu": 0.0})
    jump_factor: float = 4.0
    jump_floor_minutes: float = 90.0
    jump_window_minutes: float = 60.0
    zero_suspect_after_minutes: float = 30.0
    clock_skew_minutes: float = 5.0
    stale_after_minutes: float = 90.0
    max_body_bytes: int = 2_000_000


def parse_validation(raw: Mapping[str, Any], *, stale_after_minutes: float,
                     error: type[WaitlessError]) -> ValidationSettings:
    """Validation settings from a ``[validation]`` table, defaults for what it leaves out.

    ``stale_after_minutes`` is the region's ``[ranking]`` figure; ``error`` is raised, naming
    the key, for unknown keys or values of the wrong type.
    """
    raw = dict(raw)
    defaults = ValidationSettings()
    known = {f.name for f in fields(ValidationSettings)} - {"stale_after_minutes"}
    unknown = sorted(set(raw) - known)
    if unknown:
        msg = f"[validation]: unknown key(s) {', '.join(unknown)}; known: {sorted(known)}"
        raise error(msg)
    values: dict[str, Any] = {}
    for key in ("max_wait_minutes", "min_wait_minutes"):
        given = raw.pop(key, {})
        kinds = getattr(defaults, key)
        if not (isinstance(given, Mapping) and set(given) <= set(kinds)
                and all(_minutes(v) for v in given.values())):
            msg = (f"[validation]: {key} must be a table of non-negative minutes for "
                   f"{', '.join(kinds)} (got {given!r})")
            raise error(msg)
        values[key] = {**kinds, **{k: float(v) for k, v in given.items()}}
    for key, value in raw.items():
        # A string here would be compared with minutes on every feed value, so check types.
        if key == "max_body_bytes":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                msg = f"[validation]: max_body_bytes must be a whole number of bytes, not {value!r}"
                raise error(msg)
            values[key] = value
        elif not _minutes(value):
            msg = f"[validation]: {key} must be a non-negative number, not {value!r}"
            raise error(msg)
        else:
            values[key] = float(value)
    return ValidationSettings(**values, stale_after_minutes=stale_after_minutes)


def _minutes(value: Any) -> bool:
    return is_number(value) and value >= 0
