"""The region file's ``[validation]`` table: limits feed values must keep to be stored."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from waitless.domain.errors import WaitlessError
from waitless.domain.region_values import is_number

# The range each scalar key must keep: (lowest, highest, whether lowest itself is allowed).
# Below it a check misfires: a jump factor of 1 or less makes every change past the floor a
# jump, a window of 0 turns the jump check off, a zero threshold of 0 refuses every zero after
# a zero. Above it a check can never fire (no stored wait is over a day, so a floor or factor
# that large lets any jump through), a clock an hour out (a time-zone slip) passes as fresh,
# or a feed body that size is read into memory whole.
RANGES: dict[str, tuple[float, float, bool]] = {
    "jump_factor": (1.0, 100.0, False),
    "jump_floor_minutes": (0.0, 720.0, True),
    "jump_window_minutes": (0.0, 720.0, False),
    "zero_suspect_after_minutes": (0.0, 720.0, False),
    "clock_skew_minutes": (0.0, 30.0, True),
    "max_body_bytes": (1, 64 * 1024 * 1024, True),
}
# A per-kind max_wait_minutes above this (two days) no longer catches a feed's 72-hour glitch.
MAX_WAIT_CEILING_MINUTES = 2880.0


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
    the key, for unknown keys, values of the wrong type and values outside :data:`RANGES` (or,
    per service kind, a max wait not above 0, over two days, or not above the min).
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
    for kind, high in values["max_wait_minutes"].items():
        low = values["min_wait_minutes"][kind]
        # max 0, or a min at or above the max, would reject every figure of that kind.
        if not 0 < high <= MAX_WAIT_CEILING_MINUTES or low >= high:
            msg = (f"[validation]: max_wait_minutes.{kind} must be above 0, at most "
                   f"{MAX_WAIT_CEILING_MINUTES:g} and above min_wait_minutes.{kind} "
                   f"(got max {high:g}, min {low:g})")
            raise error(msg)
    for key, value in raw.items():
        # A string here would be compared with minutes on every feed value, so check types.
        low, high, low_allowed = RANGES[key]
        whole = key == "max_body_bytes"
        if (not is_number(value) or (whole and not isinstance(value, int))
                or not (low <= value <= high) or (value == low and not low_allowed)):
            kind = "a whole number of bytes" if whole else "a number"
            bound = "at least" if low_allowed else "above"
            # :g would print the byte limit as 6.71089e+07.
            shown = (f"{low}", f"{high}") if whole else (f"{low:g}", f"{high:g}")
            msg = f"[validation]: {key} must be {kind} {bound} {shown[0]} and at most " \
                  f"{shown[1]}, not {value!r}"
            raise error(msg)
        values[key] = value if whole else float(value)
    return ValidationSettings(**values, stale_after_minutes=stale_after_minutes)


def _minutes(value: Any) -> bool:
    return is_number(value) and value >= 0
