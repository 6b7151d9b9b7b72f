"""One parser for every way feeds write a waiting time.

Grammar (case-insensitive, HTML entities decoded, surrounding spaces and a trailing full stop
ignored; ``docs/feeds.md`` has the full table)::

    wait       := no-data | [qualifier] duration ["+"]
    no-data    := "" | "-" | "n/a" | "no data" | "not available" | ... |
                  "managing ... resuscitation ..."     (Hong Kong triage 1/2: busy, no figure)
    qualifier  := lower ("over", "more than", ">", ...)      -> wait_kind "lower_bound"
                | upper ("less than", "up to", "under", "<", ...) -> wait_kind "upper_bound"
                | approx ("around", "about", "approx", "~", ...) -> the caller's default kind
    duration   := clock "H:MM[:SS]" | parts "3 hr 19 min", "5h 14m", "1 day 2 hours", "1h30"
                | bare number "42" (in the caller's default unit)

A trailing ``+`` ("4+ hours", "240+") also marks a lower bound. The result is never negative
and always finite; anything else raises :class:`WaitParseError`.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass

from feeds.errors import FeedParseError
from waitless.domain.observation import WAIT_KINDS

UNIT_MINUTES: dict[str, float] = {"minutes": 1.0, "hours": 60.0, "days": 1440.0}

_NO_DATA = frozenset({
    "", "-", "--", "–", "—", "n/a", "na", "n.a", "no data", "not available", "unavailable",
    "none", "null", "unknown", "tbc", "not known", "no figure",
})
_NO_DATA_PATTERN = re.compile(r"^managing\b.*\bresuscitation\b")

_LOWER = ("more than", "greater than", "longer than", "in excess of", "at least", "over",
          "above", ">=", "≥", ">")
_UPPER = ("less than", "fewer than", "shorter than", "up to", "upto", "under", "below",
          "within", "<=", "≤", "<")
_APPROX = ("approximately", "approx.", "approx", "around", "about", "roughly", "circa",
           "c.", "~")

_UNIT_WORDS: dict[str, str] = {
    **dict.fromkeys(("d", "day", "days"), "days"),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "hours"),
    **dict.fromkeys(("m", "mn", "min", "mins", "minute", "minutes"), "minutes"),
}
_NUMBER = r"\d+(?:\.\d+)?"
_PART = re.compile(rf"({_NUMBER})\s*([a-z]+)\s*(?:,|and)?\s*")
_CLOCK = re.compile(r"(\d{1,3}):([0-5]\d)(?::([0-5]\d))?")
_BARE = re.compile(_NUMBER)
_TRAILING_MINUTES = re.compile(r"([0-5]?\d)")
_PLUS_AFTER_NUMBER = re.compile(rf"({_NUMBER})\+\s*(.*)")


class WaitParseError(FeedParseError):
    """A wait string (or number) that is not a waiting time."""


@dataclass(frozen=True, slots=True)
class ParsedWait:
    """A wait in minutes and what the number means (one of ``WAIT_KINDS``)."""

    wait_minutes: float
    wait_kind: str


def parse_wait(value: str | float | None, *, default_kind: str = "estimate",
               default_unit: str = "minutes") -> ParsedWait | None:
    """Turn a published wait into minutes plus its meaning.

    Parameters
    ----------
    value
        The wait as published: text such as ``"3 hr 19 min"`` or ``"Over 3 hours"``, a
        number (in ``default_unit``), or ``None``.
    default_kind
        What an unqualified number means for this source, e.g. ``"median"`` for a column
        known to hold the median or ``"longest"`` for a longest-wait figure.
    default_unit
        ``"minutes"``, ``"hours"`` or ``"days"``: the unit of a bare number.

    Returns
    -------
    ``ParsedWait(wait_minutes, wait_kind)``, or ``None`` for a no-data form
    (``"No data"``, ``"-"``, ``"N/A"``, ``"Managing multiple resuscitation cases."``).

    Raises
    ------
    WaitParseError
        For anything that is not a wait (garbage, negative or non-finite numbers) and for
        an unknown ``default_kind`` or ``default_unit``.
    """
    if default_kind not in WAIT_KINDS:
        msg = f"unknown wait kind {default_kind!r}; expected one of {', '.join(WAIT_KINDS)}"
        raise WaitParseError(msg)
    if default_unit not in UNIT_MINUTES:
        msg = f"unknown wait unit {default_unit!r}; expected one of {', '.join(UNIT_MINUTES)}"
        raise WaitParseError(msg)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        msg = f"a wait must be text or a number, got {type(value).__name__}"
        raise WaitParseError(msg)
    if not isinstance(value, str):
        return ParsedWait(_checked(float(value) * UNIT_MINUTES[default_unit], value), default_kind)
    if is_no_data(value):
        return None
    text = _normalise(value)
    kind, body = _split_qualifier(text, default_kind)
    plus = _PLUS_AFTER_NUMBER.fullmatch(body)
    if plus:
        kind, body = "lower_bound", f"{plus.group(1)} {plus.group(2)}".strip()
    elif body.endswith("+"):
        kind, body = "lower_bound", body[:-1].strip()
    minutes = _duration_minutes(body, default_unit)
    if minutes is None:
        msg = f"not a waiting time: {value!r}"
        raise WaitParseError(msg)
    return ParsedWait(_checked(minutes, value), kind)


def is_no_data(text: str) -> bool:
    """Whether published text is a form that means "no figure" ("", "-", "N/A", "No data").

    Shared with other published numbers (patient counts), so one vocabulary says "none".
    """
    normalised = _normalise(text)
    return normalised in _NO_DATA or _NO_DATA_PATTERN.match(normalised) is not None


def _normalise(text: str) -> str:
    text = html.unescape(text).replace("\xa0", " ").strip().lower()
    text = re.sub(r"\s+", " ", text)
    return text.rstrip(". ").strip()


def _split_qualifier(text: str, default_kind: str) -> tuple[str, str]:
    for words, kind in ((_LOWER, "lower_bound"), (_UPPER, "upper_bound"),
                        (_APPROX, default_kind)):
        for word in words:
            if text.startswith(word):
                rest = text[len(word):]
                # A word qualifier must end a word: "overnight" is not "over night".
                if word[-1].isalpha() and rest[:1].isalpha():
                    continue
                return kind, rest.strip()
    return default_kind, text


def _duration_minutes(body: str, default_unit: str) -> float | None:
    clock = _CLOCK.fullmatch(body)
    if clock:
        hours, minutes, seconds = clock.groups()
        return int(hours) * 60 + int(minutes) + int(seconds or 0) / 60
    if _BARE.fullmatch(body):
        return float(body) * UNIT_MINUTES[default_unit]
    return _parts_minutes(body)


def _parts_minutes(body: str) -> float | None:
    """Sum "N unit" parts written largest unit first, each unit at most once."""
    total, position, last_rank = 0.0, 0, -1
    order = list(UNIT_MINUTES)[::-1]  # days, hours, minutes
    while position < len(body):
        part = _PART.match(body, position)
        if part is None:
            # "1h30": a bare minutes count may follow an hours part.
            tail = _TRAILING_MINUTES.fullmatch(body, position)
            if tail and last_rank == order.index("hours"):
                return total + int(tail.group(1))
            return None
        unit = _UNIT_WORDS.get(part.group(2))
        if unit is None or order.index(unit) <= last_rank:
            return None
        last_rank = order.index(unit)
        total += float(part.group(1)) * UNIT_MINUTES[unit]
        position = part.end()
    return total if last_rank >= 0 else None


def _checked(minutes: float, original: object) -> float:
    if not math.isfinite(minutes) or minutes < 0:
        msg = f"not a waiting time (negative or not finite): {original!r}"
        raise WaitParseError(msg)
    return minutes + 0.0  # -0.0 would print as "-0.0"
