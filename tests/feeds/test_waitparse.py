"""The wait-string parser: an exact table of published forms plus properties."""

import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from feeds.errors import FeedParseError
from feeds.waitparse import ParsedWait, WaitParseError, parse_wait
from waitless.domain.observation import WAIT_KINDS

EXACT = [
    # every form listed in shared/reference/feed-formats.md
    ("0 minute", 0, "estimate"),
    ("less than 15 minutes", 15, "upper_bound"),
    ("25 minutes", 25, "estimate"),
    ("3.5 hours", 210, "estimate"),
    ("Over 3 hours", 180, "lower_bound"),
    ("Over 12 hours", 720, "lower_bound"),
    ("Around 1 hour", 60, "estimate"),
    ("Up to 45 minutes", 45, "upper_bound"),
    ("3 hr 19 min", 199, "estimate"),
    ("4 hours 57 mins", 297, "estimate"),
    ("5h 14m", 314, "estimate"),
    ("00:00", 0, "estimate"),
    # similar forms seen on trust pages
    ("1:05", 65, "estimate"),
    ("01:30:30", 90.5, "estimate"),
    ("1h30", 90, "estimate"),
    ("5h14m", 314, "estimate"),
    ("1 hour and 30 minutes", 90, "estimate"),
    ("2 hours, 5 minutes", 125, "estimate"),
    ("1 day 2 hours", 1560, "estimate"),
    ("  MORE THAN   4 HOURS. ", 240, "lower_bound"),
    ("&gt; 4 hours", 240, "lower_bound"),
    ("4+ hours", 240, "lower_bound"),
    ("240+", 240, "lower_bound"),
    ("< 30 mins", 30, "upper_bound"),
    ("under 1 hr", 60, "upper_bound"),
    ("approx. 50 min", 50, "estimate"),
    ("~ 2 hrs", 120, "estimate"),
    ("42", 42, "estimate"),
]
NO_DATA = ["No data", "-", "N/A", "n/a", "", "   ", "—", "Not available",
           "Managing multiple resuscitation cases.", "Managing multiple resuscitation cases"]
GARBAGE = ["soon", "overnight", "-5 minutes", "3 parsecs", "1+2", "over", "15 minutes 2 hours",
           "3 hours 4 hours", "1..5 hours", "12:75", "abc 5 minutes", "5 minutes ago please"]


@pytest.mark.parametrize(("text", "minutes", "kind"), EXACT)
def test_exact_table(text, minutes, kind):
    assert parse_wait(text) == ParsedWait(minutes, kind)


@pytest.mark.parametrize("text", NO_DATA)
def test_no_data_forms_return_none(text):
    assert parse_wait(text) is None


@pytest.mark.parametrize("text", GARBAGE)
def test_garbage_raises_the_documented_error(text):
    with pytest.raises(WaitParseError, match="not a waiting time"):
        parse_wait(text)


def test_wait_parse_error_is_a_feed_parse_error():
    assert issubclass(WaitParseError, FeedParseError)


def test_default_kind_applies_to_unqualified_and_approximate_values_only():
    assert parse_wait("Around 1 hour", default_kind="longest") == ParsedWait(60, "longest")
    assert parse_wait("35 minutes", default_kind="median") == ParsedWait(35, "median")
    assert parse_wait("Over 3 hours", default_kind="longest") == ParsedWait(180, "lower_bound")


def test_default_unit_applies_to_bare_numbers_only():
    assert parse_wait("3.5", default_unit="hours") == ParsedWait(210, "estimate")
    assert parse_wait(2, default_unit="hours") == ParsedWait(120, "estimate")
    assert parse_wait("25 minutes", default_unit="hours") == ParsedWait(25, "estimate")


@pytest.mark.parametrize("value", [-1, -0.5, math.nan, math.inf, True, [3], "1" + "0" * 400])
def test_bad_numbers_raise(value):
    with pytest.raises(WaitParseError):
        parse_wait(value)


def test_bad_default_kind_or_unit_raises():
    with pytest.raises(WaitParseError, match="unknown wait kind"):
        parse_wait("5", default_kind="average")
    with pytest.raises(WaitParseError, match="unknown wait unit"):
        parse_wait("5", default_unit="fortnights")


def test_none_is_no_data():
    assert parse_wait(None) is None


# --- properties -----------------------------------------------------------------------------

_QUALIFIERS = [("", None), ("Over ", "lower_bound"), ("more than ", "lower_bound"),
               ("> ", "lower_bound"), ("Up to ", "upper_bound"), ("less than ", "upper_bound"),
               ("under ", "upper_bound"), ("Around ", None), ("about ", None), ("approx ", None)]


def _render(minutes: int, style: int) -> str:
    hours, rest = divmod(minutes, 60)
    return [
        f"{minutes} minutes",
        f"{minutes} mins",
        f"{minutes}",
        f"{hours} hr {rest} min",
        f"{hours}h {rest}m",
        f"{hours}h{rest}m",
        f"{hours} hours {rest} mins",
        f"{hours}:{rest:02d}",
        f"{hours:02d}:{rest:02d}",
    ][style]


@given(
    minutes=st.integers(min_value=0, max_value=100 * 60),
    style=st.integers(min_value=0, max_value=8),
    qualifier=st.sampled_from(_QUALIFIERS),
    default_kind=st.sampled_from(WAIT_KINDS),
    upper=st.booleans(),
    full_stop=st.booleans(),
)
def test_round_trip_of_generated_strings(minutes, style, qualifier, default_kind, upper,
                                         full_stop):
    prefix, kind = qualifier
    text = prefix + _render(minutes, style) + ("." if full_stop else "")
    text = text.upper() if upper else text
    assert parse_wait(text, default_kind=default_kind) == ParsedWait(minutes, kind or default_kind)


@given(half_hours=st.integers(min_value=0, max_value=48))
def test_round_trip_of_half_hour_values(half_hours):
    # Hong Kong's minor-stream figures: hours rounded up to 0.5 h
    text = f"{half_hours / 2:g} hours"
    assert parse_wait(text, default_kind="median").wait_minutes == half_hours * 30


@given(st.text(max_size=40))
@example("9" * 500 + " hours")
@example("999:59")
def test_any_text_gives_a_wait_none_or_the_documented_error(text):
    try:
        result = parse_wait(text)
    except WaitParseError:
        return
    if result is not None:
        assert result.wait_minutes >= 0
        assert math.isfinite(result.wait_minutes)
        assert result.wait_kind in WAIT_KINDS


@given(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(["minutes", "hours"]))
def test_any_number_gives_a_non_negative_wait_or_the_documented_error(number, unit):
    try:
        result = parse_wait(number, default_unit=unit)
    except WaitParseError:
        assert not (math.isfinite(number) and number >= 0) or math.isinf(number * 60)
        return
    assert result.wait_minutes == number * (60 if unit == "hours" else 1)
    assert result.wait_minutes >= 0
    assert math.copysign(1, result.wait_minutes) == 1  # never -0.0


@given(a=st.integers(0, 6000), b=st.integers(0, 6000), style=st.integers(0, 8))
def test_monotonic_in_the_written_value(a, b, style):
    low, high = sorted((a, b))
    assert parse_wait(_render(low, style)).wait_minutes <= parse_wait(
        _render(high, style)).wait_minutes


@given(minutes=st.integers(0, 6000), style=st.integers(0, 8),
       qualifier=st.sampled_from(_QUALIFIERS))
def test_qualifiers_change_the_kind_never_the_number(minutes, style, qualifier):
    plain = parse_wait(_render(minutes, style))
    qualified = parse_wait(qualifier[0] + _render(minutes, style))
    assert qualified.wait_minutes == plain.wait_minutes
