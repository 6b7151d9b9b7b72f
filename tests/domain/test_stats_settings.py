"""The ``[stats]`` table's break months and attendance threshold: a month that is not one, or a
count that is not whole, is a StatsConfigError naming the entry and key, never a bare
ValueError from ``datetime`` or a count silently rounded down."""

import datetime as dt
from typing import Any

import pytest

from waitless.domain.stats_settings import StatsConfigError, parse_stats_config

PROVIDERS = [{"code": "RVV", "name": "East Kent", "kind": "acute"}]


def stats(**extra: Any) -> dict[str, Any]:
    return {"target_shift_pp": 5.0, "providers": PROVIDERS, **extra}


def with_break(month: str) -> dict[str, Any]:
    return stats(breaks=[{"org": "RVV", "month": month, "description": "new counting"}])


@pytest.mark.parametrize("month", ["0000-00", "0000-01", "2023-00", "2023-13", "1999-12",
                                   "2100-01", "2023-1", "23-01", "2023-02-01", "٢٠٢٣-٠٢", ""])
def test_a_break_month_that_is_not_a_month_is_refused(month: str) -> None:
    with pytest.raises(StatsConfigError) as caught:
        parse_stats_config(with_break(month))
    assert str(caught.value) == (
        f"[[stats.breaks]] #1: bad month {month!r}: expected YYYY-MM from "
        "2000-01 to 2099-12, e.g. 2025-04")


@pytest.mark.parametrize(("month", "first_day"), [("2023-02", dt.date(2023, 2, 1)),
                                                  (" 2000-01 ", dt.date(2000, 1, 1)),
                                                  ("2099-12", dt.date(2099, 12, 1))])
def test_a_break_month_is_its_first_day(month: str, first_day: dt.date) -> None:
    assert parse_stats_config(with_break(month)).breaks[0].month == first_day


@pytest.mark.parametrize("value", [2.5, 499.9, 500.0, -1, True, "500", float("nan")])
def test_break_min_attendances_must_be_a_whole_number(value: Any) -> None:
    with pytest.raises(StatsConfigError) as caught:
        parse_stats_config(stats(break_min_attendances=value))
    assert str(caught.value) == ("[stats]: break_min_attendances must be a whole number of "
                                 f"attendances, 0 or more (got {value!r})")


@pytest.mark.parametrize("value", [0, 1, 500, 10_000])
def test_break_min_attendances_keeps_a_whole_number(value: int) -> None:
    assert parse_stats_config(stats(break_min_attendances=value)).break_min_attendances == value
    assert parse_stats_config(stats()).break_min_attendances == 500


@pytest.mark.parametrize(("extra", "message"), [
    ({"target_shift_pp": 150.0}, "target_shift_pp must be at most 100 percentage points (got 150)"),
    ({"break_factor": 1}, "break_factor must be greater than 1 and at most 10 (got 1)"),
    ({"break_factor": 0.5}, "break_factor must be greater than 1 and at most 10 (got 0.5)"),
    ({"break_factor": 1e6}, "break_factor must be greater than 1 and at most 10 (got 1e+06)"),
])
def test_a_target_or_break_factor_that_can_never_fire_is_refused(
        extra: dict[str, Any], message: str) -> None:
    # A target of 150 pp could never rate green; a factor of a million never finds a break.
    with pytest.raises(StatsConfigError) as caught:
        parse_stats_config(stats(**extra))
    assert str(caught.value) == f"[stats]: {message}"


def test_the_stats_range_edges_load() -> None:
    config = parse_stats_config(stats(target_shift_pp=100, break_factor=10))
    assert (config.target_shift_pp, config.amber_shift_pp, config.break_factor) == (
        100.0, 50.0, 10.0)
