"""Opening hours compiled into lookup tables: a bisect per service instead of date arithmetic.

:meth:`OpeningHours.open_interval` compares wall-clock times (every datetime it builds carries
the region's zone, and Python compares and subtracts datetimes that share a ``tzinfo`` by wall
clock). Its answer is therefore a step function of the local wall-clock time whose steps can
only fall on span starts and ends or local midnights. A table of those instants over a window of
days, each evaluated once with the reference method, answers any arrival in the window exactly.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import orjson

from waitless.domain.hours import OpeningHours

US = timedelta(microseconds=1)
NAIVE_EPOCH = datetime(1970, 1, 1)
UTC_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Days before and after the compile day covered by the tables: depart_at may be a week ahead
# (waitless.api.query.MAX_PLAN_AHEAD) plus up to a day of travel.
WINDOW_DAYS_BEFORE = 2
WINDOW_DAYS_AFTER = 10


def wall_us(local: datetime) -> int:
    """Wall-clock time of an aware or naive datetime as integer microseconds (no offset)."""
    return (local.replace(tzinfo=None) - NAIVE_EPOCH) // US


def abs_us(moment: datetime) -> int:
    """An aware datetime as integer microseconds since the Unix epoch."""
    return (moment - UTC_EPOCH) // US


@dataclass(frozen=True, slots=True)
class Closing:
    """When an open interval ends, in every form the request path needs."""

    at: datetime          # as the reference returns it (region zone, fold 0)
    wall_us: int          # wall clock, microseconds
    abs_us: int           # absolute, microseconds since the epoch
    iso_json: bytes       # ``orjson.dumps(at.isoformat())``


@dataclass(frozen=True, slots=True)
class HoursTable:
    """``open_interval`` as a step function of local wall-clock microseconds.

    ``values[i]`` holds for wall times in ``[breaks[i], breaks[i + 1])``: ``None`` when closed,
    else the :class:`Closing` of the interval. Times outside ``[breaks[0], breaks[-1])`` are not
    covered (callers fall back to the reference).
    """

    breaks: tuple[int, ...]
    values: tuple[Closing | None, ...]

    def lookup(self, wall: int) -> tuple[bool, Closing | None]:
        """(covered, closing or None when closed) for one wall-clock time in microseconds."""
        i = bisect_right(self.breaks, wall) - 1
        if i < 0 or i >= len(self.breaks) - 1:
            return False, None
        return True, self.values[i]


def _wall_naive(day: date, minutes: int) -> datetime:
    # As waitless.domain.hours._wall: by fields, so DST days keep their wall-clock hours.
    days, minute_of_day = divmod(minutes, 24 * 60)
    d = day + timedelta(days=days)
    return datetime(d.year, d.month, d.day, minute_of_day // 60, minute_of_day % 60)


def compile_hours(hours: OpeningHours, tz: ZoneInfo, around: date) -> HoursTable | None:
    """The table for ``hours`` over the window around local date ``around``; ``None`` for a
    round-the-clock service (always open, handled without a table)."""
    if hours.always_open:
        return None
    first = around - timedelta(days=WINDOW_DAYS_BEFORE)
    last = around + timedelta(days=WINDOW_DAYS_AFTER)
    points: set[datetime] = set()
    day = first - timedelta(days=1)  # yesterday's overnight spans reach into the window
    while day <= last + timedelta(days=1):
        points.add(datetime(day.year, day.month, day.day))
        for start_min, end_min in hours.spans_by_day[day.weekday()]:
            points.add(_wall_naive(day, start_min))
            points.add(_wall_naive(day, end_min))
        day += timedelta(days=1)
    lo = datetime(first.year, first.month, first.day)
    hi = datetime(last.year, last.month, last.day)
    ordered = sorted(p for p in points if lo <= p <= hi)
    values: list[Closing | None] = []
    for point in ordered:
        interval = hours.open_interval(point.replace(tzinfo=tz), tz)
        if interval is None:
            values.append(None)
        else:
            closes = interval[1]
            values.append(Closing(closes, wall_us(closes), abs_us(closes),
                                  orjson.dumps(closes.isoformat())))
    return HoursTable(tuple(wall_us(p) for p in ordered), tuple(values))


@dataclass(frozen=True, slots=True)
class OffsetTable:
    """The zone's UTC offset by absolute time, for turning arrivals into wall-clock times.

    Offsets are sampled on whole UTC hours (as :func:`waitless.ranking.predict._utc_offset_s`
    assumes: UK-style changes happen on whole hours); outside the window nothing is covered.
    """

    starts: tuple[int, ...]   # absolute microseconds where each offset begins
    offsets: tuple[int, ...]  # offset in microseconds

    def offset_us(self, at_abs_us: int) -> int | None:
        i = bisect_right(self.starts, at_abs_us) - 1
        if i < 0 or i >= len(self.starts) - 1:
            return None
        return self.offsets[i]


def compile_offsets(tz: ZoneInfo, around: date) -> OffsetTable:
    start = datetime(around.year, around.month, around.day, tzinfo=UTC) - timedelta(
        days=WINDOW_DAYS_BEFORE)
    hours = (WINDOW_DAYS_BEFORE + WINDOW_DAYS_AFTER) * 24
    starts: list[int] = []
    offsets: list[int] = []
    for h in range(hours + 1):
        at = start + timedelta(hours=h)
        offset = at.astimezone(tz).utcoffset() // US
        if not offsets or offsets[-1] != offset or h == hours:
            starts.append(abs_us(at))
            offsets.append(offset)
    return OffsetTable(tuple(starts), tuple(offsets))


def travel_microseconds(seconds: list[float]) -> list[int]:
    """``timedelta(seconds=s)`` in whole microseconds for every finite ``s``, at once.

    As CPython's ``timedelta`` does: whole seconds exactly, then the fraction times 10**6 in
    floating point, rounded half to even (the whole seconds contribute an even number, so
    the parity CPython's tie rule looks at is the fraction's). Infinite entries give 0.
    """
    values = np.array(seconds, dtype=float)
    values[~np.isfinite(values)] = 0.0
    whole = np.trunc(values)
    return (whole.astype(np.int64) * 1_000_000
            + np.rint((values - whole) * 1e6).astype(np.int64)).tolist()
