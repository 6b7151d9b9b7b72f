from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from waitless.domain.hours import HoursError, parse_hours

LONDON = ZoneInfo("Europe/London")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def test_day_span_open_and_closed_edges() -> None:
    hours = parse_hours("08:00-20:00")
    assert hours.is_open(local(2026, 11, 24, 8, 0), LONDON)
    assert hours.is_open(local(2026, 11, 24, 19, 59), LONDON)
    assert not hours.is_open(local(2026, 11, 24, 20, 0), LONDON)
    assert not hours.is_open(local(2026, 11, 24, 21, 0), LONDON)
    assert not hours.is_open(local(2026, 11, 24, 7, 59), LONDON)
    opens, closes = hours.open_interval(local(2026, 11, 24, 12, 0), LONDON)
    assert (opens.hour, closes.hour) == (8, 20)


def test_24h_never_closes_at_midnight() -> None:
    hours = parse_hours("24h")
    assert hours.always_open
    _, closes = hours.open_interval(local(2026, 11, 24, 23, 50), LONDON)
    assert closes - local(2026, 11, 24, 23, 50) > timedelta(days=1)


def test_overnight_span_covers_early_morning_of_next_day() -> None:
    hours = parse_hours({"mon": "closed", "tue": "closed", "wed": "closed", "thu": "closed",
                         "fri": "18:00-02:00", "sat": "closed", "sun": "closed"})
    assert hours.is_open(local(2026, 11, 27, 23, 0), LONDON)  # Friday night
    assert hours.is_open(local(2026, 11, 28, 1, 30), LONDON)  # early Saturday
    assert not hours.is_open(local(2026, 11, 28, 2, 30), LONDON)
    assert not hours.is_open(local(2026, 11, 26, 23, 0), LONDON)  # Thursday


def test_wall_clock_hours_hold_across_daylight_saving() -> None:
    hours = parse_hours("08:00-20:00")
    # 29 March 2026: clocks go forward at 01:00 UTC. 07:30 UTC is 08:30 BST: open.
    assert hours.is_open(datetime(2026, 3, 29, 7, 30, tzinfo=UTC), LONDON)
    # The day before, 07:30 UTC is 07:30 GMT: still closed.
    assert not hours.is_open(datetime(2026, 3, 28, 7, 30, tzinfo=UTC), LONDON)
    # In summer 19:30 UTC is 20:30 BST: closed.
    assert not hours.is_open(datetime(2026, 7, 1, 19, 30, tzinfo=UTC), LONDON)


@pytest.mark.parametrize("spec", ["8-20", "08:00", "25:00-26:00", "08:61-09:00", "sometimes"])
def test_bad_hours_are_refused_with_the_text_quoted(spec: str) -> None:
    with pytest.raises(HoursError, match=r"opening hours|time"):
        parse_hours(spec)


def test_weekday_table_must_name_every_day() -> None:
    with pytest.raises(HoursError, match="missing"):
        parse_hours({"mon": "24h"})
    with pytest.raises(HoursError, match="unknown weekday"):
        parse_hours({"monday": "24h"})
