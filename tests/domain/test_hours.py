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


WEEK = {day: "closed" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def test_touching_spans_merge_into_one_so_the_site_does_not_close_between_them() -> None:
    hours = parse_hours("08:00-12:00,12:00-20:00")
    assert hours.describe()["tue"] == "08:00-20:00"
    # At 11:45 the site is open until 20:00, not "closing at 12:00" (which the closing margin
    # would have excluded from rankings from 11:30).
    opens, closes = hours.open_interval(local(2026, 11, 24, 11, 45), LONDON)
    assert (opens, closes) == (local(2026, 11, 24, 8, 0), local(2026, 11, 24, 20, 0))


def test_a_span_past_midnight_runs_on_into_the_next_days_touching_span() -> None:
    hours = parse_hours({**WEEK, "fri": "18:00-02:00", "sat": "02:00-10:00"})
    _, closes = hours.open_interval(local(2026, 11, 28, 1, 30), LONDON)  # early Saturday
    assert closes == local(2026, 11, 28, 10, 0)


@pytest.mark.parametrize(("spec", "message"), [
    ("08:00-13:00,12:00-20:00", "spans 08:00-13:00 and 12:00-20:00 overlap"),
    ("12:00-20:00,08:00-13:00", "spans 08:00-13:00 and 12:00-20:00 overlap"),
    ("00:00-24:00,08:00-09:00", "spans 24h and 08:00-09:00 overlap"),
    ("08:00-09:00,20:00-10:00", "mon 20:00-10:00 runs past midnight into tue 08:00-09:00"),
])
def test_overlapping_spans_are_refused_naming_both(spec: str, message: str) -> None:
    with pytest.raises(HoursError, match=message):
        parse_hours(spec)


def test_a_span_past_midnight_overlapping_the_next_day_is_refused() -> None:
    with pytest.raises(HoursError, match="fri 18:00-02:00 runs past midnight into sat 01:00-05:00"):
        parse_hours({**WEEK, "fri": "18:00-02:00", "sat": "01:00-05:00"})


@pytest.mark.parametrize(("spec", "message"), [
    ({**WEEK, 1: "24h"}, "unknown weekday(s) 1 in hours"),
    ({**WEEK, 1: "24h", "monday": "24h"}, "unknown weekday(s) 'monday', 1 in hours"),
    ({**WEEK, "mon": 8}, "hours for mon must be text like '08:00-20:00', '24h' or 'closed', not 8"),
    ({**WEEK, "sun": None}, "hours for sun must be text"),
    ({**WEEK, "tue": ["08:00-12:00"]}, "hours for tue must be text"),
])
def test_a_weekday_table_with_keys_or_values_that_are_not_text_is_refused(
        spec: dict, message: str) -> None:
    with pytest.raises(HoursError) as caught:
        parse_hours(spec)
    assert message in str(caught.value)
