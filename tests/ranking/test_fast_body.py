"""The compiled ``/v1/rank`` body (``_fastcore.render_body``) against its definition,
``orjson.dumps`` of the answer's dictionary, on the values where the two could part: numbers
repr prints with an exponent, integers, offsets of hours, minutes and seconds, midnight,
non-ASCII names. (The property test in test_fast_equivalence.py checks random answers.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from waitless.ranking import core
from waitless.ranking.compiled_hours import abs_us
from waitless.ranking.fast_answer import FastAnswer
from waitless.ranking.rank import RankRequest

pytestmark = pytest.mark.skipif(not core.AVAILABLE, reason="compiled module not built")

NOW = datetime(2026, 3, 29, 0, 59, 59, 999_999, tzinfo=UTC)


def _answer(now: datetime, *, lat: float = 51.2802, lon: float = 1.0789, age: object = None,
            depart: datetime | None = None, condition: str | None = None,
            omitted: int = 0) -> FastAnswer:
    request = RankRequest(lat=lat, lon=lon, depart_at=now if depart is None else depart,
                          condition=condition, age_years=age, limit=10, mode="walk")
    return FastAnswer(request, now, "estimate", [], b'[{"site_id":"A"}]',
                      b'[{"site_id":"B","reason":"unreachable"}]', omitted, abs_us(now))


@pytest.mark.parametrize("lat, lon", [(51.2802, 1.0789), (1e-05, -2.5e-07), (0.0, -0.0),
                                      (-89.99999999999999, 179.0), (5e-324, 1e-4)])
def test_coordinates_print_as_orjson_does(lat: float, lon: float) -> None:
    answer = _answer(NOW, lat=lat, lon=lon)
    assert answer._body_compiled("kent-medway", "e") == answer._body_orjson("kent-medway", "e")


@pytest.mark.parametrize("age", [None, 0.0, 34.0, 1e-05, 99.99999999999999, 30])
def test_ages_print_as_orjson_does(age: object) -> None:
    answer = _answer(NOW, age=age)
    assert answer._body_compiled("r", "e") == answer._body_orjson("r", "e")


@pytest.mark.parametrize("depart", [
    NOW + timedelta(hours=1),  # UTC, a different instant
    (NOW + timedelta(days=1)).astimezone(ZoneInfo("Europe/London")),  # after the change: +01:00
    datetime(2026, 3, 30, 0, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),  # midnight
    datetime(2026, 3, 30, 12, 0, 7, tzinfo=timezone(-timedelta(hours=3, seconds=15))),
])
def test_departures_print_as_isoformat_does(depart: datetime) -> None:
    answer = _answer(NOW, depart=depart, condition="sprain", omitted=123)
    assert answer._body_compiled("Île-de-France", "e") == answer._body_orjson("Île-de-France",
                                                                             "e")


def test_a_sub_second_offset_falls_back_to_orjson() -> None:
    odd = timezone(timedelta(microseconds=500))
    answer = _answer(NOW.astimezone(odd))
    with pytest.raises(ValueError):
        answer._body_compiled("r", "e")
    assert answer.body_json("r", "e") == answer._body_orjson("r", "e")
