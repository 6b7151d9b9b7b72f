"""Opening hours per weekday, in a region's local time.

Hours are written as ``"24h"``, ``"closed"`` or ``"HH:MM-HH:MM"`` (comma-separated for
several spans; an end before the start runs past midnight). A single string applies to
every day; a table ``{mon = "...", ...}`` sets days one by one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from waitless.domain.errors import WaitlessError

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_MINUTES = 24 * 60
_ALWAYS_OPEN_REACH = timedelta(days=8)


class HoursError(WaitlessError):
    """An opening-hours string that cannot be understood."""


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """Open spans per weekday, in minutes after local midnight (end may exceed 1440)."""

    spans_by_day: tuple[tuple[tuple[int, int], ...], ...]
    always_open: bool = field(init=False)

    def __post_init__(self) -> None:
        # Ranking asks every service about its hours on every request: answer 24h services
        # without any date arithmetic.
        object.__setattr__(self, "always_open", all(
            spans == ((0, _DAY_MINUTES),) for spans in self.spans_by_day))

    def open_interval(self, at: datetime, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
        """The open interval containing ``at``, or ``None`` when closed.

        Parameters
        ----------
        at
            A timezone-aware instant.
        tz
            The region's timezone; spans are wall-clock times there, so a span
            across a daylight-saving change keeps its wall-clock ends.

        Returns
        -------
        (opens_at, closes_at) as aware datetimes in ``tz``; ``closes_at`` is the end of the
        longest run of back-to-back spans, so a 24-hour service never "closes" at midnight.
        """
        local = at.astimezone(tz)
        if self.always_open:
            return local - _ALWAYS_OPEN_REACH, local + _ALWAYS_OPEN_REACH
        # A span that started yesterday and runs past midnight can still cover `at`.
        for day_offset in (0, -1):
            day = (local + timedelta(days=day_offset)).date()
            spans = self.spans_by_day[day.weekday()]
            midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
            for start_min, end_min in spans:
                opens = _wall(midnight, start_min, tz)
                closes = _wall(midnight, end_min, tz)
                if opens <= local < closes:
                    # Spans of one day are merged when parsed, so only a span ending at or
                    # past midnight can run on into the next day's span.
                    runs_on = end_min >= _DAY_MINUTES
                    return opens, self._extend(closes, tz) if runs_on else closes
        return None

    def _extend(self, closes: datetime, tz: ZoneInfo) -> datetime:
        """Follow spans that start exactly when the previous one ends (up to a week)."""
        for _ in range(8):
            nxt = self.open_interval_starting(closes, tz)
            if nxt is None:
                return closes
            closes = nxt
        return closes

    def open_interval_starting(self, at: datetime, tz: ZoneInfo) -> datetime | None:
        local = at.astimezone(tz)
        day = local.date()
        midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
        for start_min, end_min in self.spans_by_day[day.weekday()]:
            if _wall(midnight, start_min, tz) == local:
                return _wall(midnight, end_min, tz)
        return None

    def is_open(self, at: datetime, tz: ZoneInfo) -> bool:
        return self.open_interval(at, tz) is not None

    def describe(self) -> dict[str, str]:
        return {
            day: ",".join(_fmt_span(s) for s in spans) or "closed"
            for day, spans in zip(WEEKDAYS, self.spans_by_day, strict=True)
        }


def _wall(midnight: datetime, minutes: int, tz: ZoneInfo) -> datetime:
    # Build wall-clock times by fields, not by adding minutes, so DST days keep their hours.
    days, minute_of_day = divmod(minutes, _DAY_MINUTES)
    date = (midnight + timedelta(days=days)).date()
    return datetime(date.year, date.month, date.day, minute_of_day // 60, minute_of_day % 60,
                    tzinfo=tz)


def _fmt_span(span: tuple[int, int]) -> str:
    start, end = span
    if (start, end) == (0, _DAY_MINUTES):
        return "24h"
    end_mod = end % _DAY_MINUTES if end != _DAY_MINUTES else _DAY_MINUTES
    return f"{start // 60:02d}:{start % 60:02d}-{end_mod // 60:02d}:{end_mod % 60:02d}"


def _parse_clock(text: str, spec: str) -> int:
    try:
        hours_text, minutes_text = text.strip().split(":")
        hours, minutes = int(hours_text), int(minutes_text)
    except ValueError:
        msg = f"bad time {text!r} in opening hours {spec!r} (expected HH:MM)"
        raise HoursError(msg) from None
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or (hours == 24 and minutes):
        msg = f"time {text!r} out of range in opening hours {spec!r}"
        raise HoursError(msg)
    return hours * 60 + minutes


def parse_day(spec: str) -> tuple[tuple[int, int], ...]:
    """Parse one day's hours (``"24h"``, ``"closed"``, ``"08:00-20:00[,…]"``).

    Returns
    -------
    The day's spans in minutes after local midnight, sorted, spans that touch
    (``08:00-12:00,12:00-20:00``) merged into one.

    Raises
    ------
    HoursError
        For text that is not hours, or spans that overlap (which hours were meant is unknown).
    """
    text = spec.strip().lower()
    if text in ("24h", "24/7", "00:00-24:00"):
        return ((0, _DAY_MINUTES),)
    if text == "closed":
        return ()
    spans = []
    for part in text.split(","):
        if "-" not in part:
            msg = f"bad opening hours {spec!r}: expected '24h', 'closed' or 'HH:MM-HH:MM'"
            raise HoursError(msg)
        start_text, end_text = part.split("-", 1)
        start, end = _parse_clock(start_text, spec), _parse_clock(end_text, spec)
        if end <= start:
            end += _DAY_MINUTES  # runs past midnight
        spans.append((start, end))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            msg = (f"spans {_fmt_span(merged[-1])} and {_fmt_span((start, end))} overlap in "
                   f"opening hours {spec!r}; write them as one span")
            raise HoursError(msg)
        if merged and start == merged[-1][1]:
            # Touching spans are one opening: kept apart, the service would seem to close at
            # the join and be dropped by the closing margin before it.
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return tuple(merged)


def _check_past_midnight(days: tuple[tuple[tuple[int, int], ...], ...]) -> None:
    """Refuse a span running past midnight into the next day's first span."""
    for index, spans in enumerate(days):
        if not spans or spans[-1][1] <= _DAY_MINUTES:
            continue
        following = days[(index + 1) % len(WEEKDAYS)]
        if following and following[0][0] < spans[-1][1] - _DAY_MINUTES:
            msg = (f"{WEEKDAYS[index]} {_fmt_span(spans[-1])} runs past midnight into "
                   f"{WEEKDAYS[(index + 1) % len(WEEKDAYS)]} {_fmt_span(following[0])}; "
                   "the spans overlap")
            raise HoursError(msg)


def parse_hours(spec: str | dict[str, str]) -> OpeningHours:
    """Parse a region file's ``hours`` value into :class:`OpeningHours`.

    Raises
    ------
    HoursError
        For bad text, overlapping spans, a table that does not name every weekday exactly,
        or a table whose keys or values are not text (``{1 = ...}`` or ``mon = 8`` from a
        file written by a program).
    """
    if isinstance(spec, str):
        day = parse_day(spec)
        days = tuple(day for _ in WEEKDAYS)
    elif isinstance(spec, dict):
        # repr sorts numbers and text together and shows which is which.
        unknown = sorted(repr(key) for key in set(spec) - set(WEEKDAYS))
        if unknown:
            msg = f"unknown weekday(s) {', '.join(unknown)} in hours; use {', '.join(WEEKDAYS)}"
            raise HoursError(msg)
        missing = [d for d in WEEKDAYS if d not in spec]
        if missing:
            msg = f"hours table is missing {', '.join(missing)} (write 'closed' for closed days)"
            raise HoursError(msg)
        for day_name in WEEKDAYS:
            if not isinstance(spec[day_name], str):
                msg = (f"hours for {day_name} must be text like '08:00-20:00', '24h' or "
                       f"'closed', not {spec[day_name]!r}")
                raise HoursError(msg)
        days = tuple(parse_day(spec[d]) for d in WEEKDAYS)
    else:
        msg = f"hours must be a string or a weekday table, not {type(spec).__name__}"
        raise HoursError(msg)
    _check_past_midnight(days)
    return OpeningHours(days)
