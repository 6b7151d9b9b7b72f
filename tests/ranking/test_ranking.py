import tomllib
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from waitless.api.answer_json import answer_json
from waitless.domain.observation import Observation
from waitless.domain.region import Region, parse_region
from waitless.ranking.rank import RankRequest, rank

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # Tuesday, GMT

REGION_TOML = """
[region]
name = "testshire"
timezone = "Europe/London"
[ranking]
stale_after_minutes = 90
stale_penalty_minutes = 30
closing_margin_minutes = 30
assumed_wait_minutes = { ed = 240, utc = 120, miu = 90 }

[[sites]]
id = "BIG"
name = "Big Hospital"
lat = 51.0
lon = 1.0
[[sites.services]]
kind = "ed"
hours = "24h"
[[sites.services]]
kind = "utc"
hours = "08:00-20:00"

[[sites]]
id = "UTC1"
name = "Town UTC"
lat = 51.1
lon = 1.1
hours = "08:00-20:00"
[[sites.services]]
kind = "utc"

[[sites]]
id = "MIU1"
name = "Village MIU"
lat = 51.2
lon = 1.2
hours = "08:00-20:00"
[[sites.services]]
kind = "miu"
"""


@pytest.fixture
def region() -> Region:
    return parse_region(tomllib.loads(REGION_TOML))


def snap(*entries: tuple[str, str, float | None], age_minutes: float = 5,
         status: str = "open") -> dict[str, Observation]:
    return {f"{s}/{k}": Observation(s, k, w, NOW - timedelta(minutes=age_minutes), status=status)
            for s, k, w in entries}


LIVE = snap(("BIG", "ed", 200), ("BIG", "utc", 50), ("UTC1", "utc", 20), ("MIU1", "miu", 10))
TRAVEL = np.array([600.0, 1200.0, 3000.0])  # 10, 20, 50 minutes


def ask(region, snapshot=LIVE, travel=TRAVEL, **kw) -> dict:
    now = kw.pop("now", NOW)
    request = RankRequest(lat=51.0, lon=1.0, depart_at=kw.pop("depart_at", now), **kw)
    return answer_json(rank(region, snapshot, request, travel_seconds=travel,
                            travel_source="estimate", now=now))


def ids(answer: dict) -> list[str]:
    return [r["site_id"] for r in answer["results"]]


def test_sorted_by_travel_plus_wait(region) -> None:
    answer = ask(region)
    # UTC1 20+20=40, BIG (its UTC) 10+50=60, MIU1 50+10=60 -> tie broken by travel.
    assert ids(answer) == ["UTC1", "BIG", "MIU1"]
    totals = [r["total_minutes"] for r in answer["results"]]
    assert totals == [40.0, 60.0, 60.0]
    assert answer["results"][1]["kind"] == "utc"
    assert all(r["travel_source"] == "estimate" for r in answer["results"])


def test_minor_condition_ranks_the_utc_ed_only_condition_the_ed(region) -> None:
    minor = ask(region, condition="sprain_strain")
    assert {r["site_id"]: r["kind"] for r in minor["results"]}["BIG"] == "utc"
    serious = ask(region, condition="major_injury")
    assert ids(serious) == ["BIG"]
    assert serious["results"][0]["kind"] == "ed"
    assert serious["results"][0]["total_minutes"] == 210.0
    reasons = {e["site_id"]: e["reason"] for e in serious["excluded"]}
    assert reasons == {"UTC1": "cannot_treat", "MIU1": "cannot_treat"}


def test_red_flag_gives_999_and_no_ranking(region) -> None:
    answer = ask(region, condition="chest_pain")
    assert answer["results"] == []
    assert answer["emergency"]["call"] == "999"
    assert "999" in answer["emergency"]["message"]


def test_under_ones_never_get_an_miu(region) -> None:
    answer = ask(region, condition="cut_wound", age_years=0.5)
    assert "MIU1" not in ids(answer)
    assert {e["site_id"]: e["reason"] for e in answer["excluded"]}["MIU1"] == "below_min_age"
    assert "MIU1" in ids(ask(region, condition="cut_wound", age_years=1))


def test_at_21_00_the_08_to_20_units_are_excluded_and_the_ed_takes_minor_cases(region) -> None:
    evening = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)
    answer = ask(region, condition="sprain_strain", depart_at=evening, now=evening,
                 snapshot=snap(("BIG", "ed", 200), ("BIG", "utc", 50), ("UTC1", "utc", 20),
                               ("MIU1", "miu", 10), age_minutes=5))
    assert ids(answer) == ["BIG"]
    assert answer["results"][0]["kind"] == "ed"
    reasons = {e["site_id"]: e["reason"] for e in answer["excluded"]}
    assert reasons == {"UTC1": "closed_at_arrival", "MIU1": "closed_at_arrival"}


def test_site_closing_15_minutes_after_arrival_is_excluded(region) -> None:
    # Leave 19:25; UTC1 is 20 minutes away -> arrive 19:45, it closes 20:00.
    depart = datetime(2026, 11, 24, 19, 25, tzinfo=UTC)
    answer = ask(region, depart_at=depart, now=depart)
    reasons = {e["site_id"]: e["reason"] for e in answer["excluded"]}
    assert reasons["UTC1"] == "closes_soon_after_arrival"
    # Leaving 40 minutes earlier it is fine, with its closing time shown.
    early = depart - timedelta(minutes=40)
    result = {r["site_id"]: r for r in ask(region, depart_at=early, now=early)["results"]}["UTC1"]
    assert result["open_until"] == "2026-11-24T20:00:00+00:00"


def test_depart_at_plans_ahead_for_opening(region) -> None:
    early = datetime(2026, 11, 24, 7, 30, tzinfo=UTC)
    assert "UTC1" not in ids(ask(region, depart_at=early, now=early))
    assert "UTC1" in ids(ask(region, depart_at=early + timedelta(hours=1), now=early))


def test_stale_waits_are_labelled_and_penalised(region) -> None:
    stale = snap(("UTC1", "utc", 20), age_minutes=120)
    answer = ask(region, snapshot={**LIVE, **stale})
    result = {r["site_id"]: r for r in answer["results"]}["UTC1"]
    assert result["wait_status"] == "stale"
    assert result["wait_minutes"] == 20.0
    assert result["predicted_wait_minutes"] == 50.0
    assert result["wait_age_minutes"] == 120.0


def test_missing_waits_use_the_assumed_wait_labelled_unavailable(region) -> None:
    answer = ask(region, snapshot={})
    results = {r["site_id"]: r for r in answer["results"]}
    assert results["MIU1"]["wait_status"] == "unavailable"
    assert results["MIU1"]["wait_minutes"] is None
    assert results["MIU1"]["predicted_wait_minutes"] == 90.0
    assert results["BIG"]["predicted_wait_minutes"] == 120.0  # its UTC's assumed wait


def test_feed_reporting_closed_excludes_the_service(region) -> None:
    closed = snap(("UTC1", "utc", None), status="closed")
    answer = ask(region, snapshot={**LIVE, **closed})
    assert {e["site_id"]: e["reason"] for e in answer["excluded"]}["UTC1"] == "reported_closed"


def test_unreachable_sites_are_excluded_and_limit_applies(region) -> None:
    answer = ask(region, travel=np.array([600.0, np.inf, 3000.0]), limit=1)
    assert ids(answer) == ["BIG"]
    assert {e["site_id"]: e["reason"] for e in answer["excluded"]} == {"UTC1": "unreachable"}


def test_far_sites_are_left_out_and_large_regions_rank_only_the_nearest(region) -> None:
    import dataclasses

    far = dataclasses.replace(region, ranking=dataclasses.replace(
        region.ranking, max_travel_minutes=30))
    answer = ask(far)
    assert ids(answer) == ["UTC1", "BIG"]  # MIU1 is 50 minutes away
    assert answer["omitted_far_sites"] == 1
    assert "MIU1" not in {e["site_id"] for e in answer["excluded"]}
    few = dataclasses.replace(region, ranking=dataclasses.replace(
        region.ranking, max_candidates=2))
    answer = ask(few)
    assert sorted(ids(answer)) == ["BIG", "UTC1"] and answer["omitted_far_sites"] == 1
