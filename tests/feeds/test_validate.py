"""Validation before the live store: reasons, limits, history rules and body checks."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.body import BODY_REASONS, BodyRejected, check_body
from feeds.validate import REASONS, validate_observations
from waitless.domain.errors import RegionError
from waitless.domain.observation import Observation
from waitless.domain.region import load_region, parse_region
from waitless.domain.validation_settings import ValidationSettings, parse_validation

# Module level for the hypothesis test (function-scoped fixtures do not mix with @given).
REGION = load_region(str(Path(__file__).parent / "fixtures" / "region-feeds-test.toml"))


@pytest.fixture
def obs(fetched_at):
    """A fresh, plausible UTC observation at William Harvey, 5 minutes old."""
    return Observation("RVV01", "utc", 45.0, fetched_at - timedelta(minutes=5), feed="t")


def reasons(result):
    return [(r.site_id, r.service, r.reason) for r in result.rejected]


def check(observations, region, now, **kwargs):
    return validate_observations(observations, region=region, now=now, **kwargs)


def test_settings_come_from_the_region(region):
    settings = region.validation
    assert settings.max_wait_minutes == {"ed": 1440, "utc": 720, "miu": 720}
    assert settings.stale_after_minutes == region.ranking.stale_after_minutes == 90
    assert settings.max_body_bytes == 500000


def test_unknown_validation_keys_are_a_region_error(region):
    with pytest.raises(RegionError, match="unknown key"):
        parse_validation({"max_wait": 5}, stale_after_minutes=90, error=RegionError)


def test_plausible_observation_is_accepted(obs, region, fetched_at):
    result = check([obs], region, fetched_at)
    assert (result.accepted, result.rejected) == ([obs], [])


def test_the_72_hour_utc_wait_is_rejected(obs, region, fetched_at):
    # 30 Oct 2024: UTCs in Ashford and Margate showed more than 72 hours
    result = check([replace(obs, wait_minutes=4320.0)], region, fetched_at)
    assert reasons(result) == [("RVV01", "utc", "implausible_high")]
    assert "4320 min at a utc is above 720" in result.rejected[0].detail
    assert result.accepted == []


@pytest.mark.parametrize(("change", "reason"), [
    ({"site_id": "Whitstable"}, "unknown_site"),
    ({"service": "miu"}, "unknown_service"),
    ({"service": "Mental Health"}, "unknown_service"),
    ({"wait_minutes": "soon"}, "not_numeric"),
    ({"wait_minutes": float("nan")}, "not_numeric"),
    ({"wait_minutes": True}, "not_numeric"),
    ({"wait_minutes": -5}, "negative_wait"),
    ({"wait_p95_minutes": 4320.0}, "implausible_high"),
    ({"wait_p95_minutes": 30.0}, "invalid_field"),  # p95 below the median
    ({"status": "busy"}, "invalid_field"),
    ({"wait_kind": "average"}, "invalid_field"),
])
def test_value_problems(obs, region, fetched_at, change, reason):
    result = check([replace(obs, **change)], region, fetched_at)
    assert [r.reason for r in result.rejected] == [reason]
    assert result.accepted == []


def test_ed_limit_is_separate_from_utc(obs, region, fetched_at):
    ed = replace(obs, service="ed", wait_minutes=1000.0)
    assert check([ed], region, fetched_at).accepted == [ed]
    main = replace(obs, service=None, wait_minutes=1000.0)  # main service of RVV01 is the ED
    assert check([main], region, fetched_at).accepted == [main]


def test_min_wait_limit(obs, region, fetched_at):
    settings = replace(region.validation, min_wait_minutes={"ed": 5, "utc": 1, "miu": 0})
    result = check([replace(obs, wait_minutes=0.0)], region, fetched_at, settings=settings)
    assert [r.reason for r in result.rejected] == ["implausible_low"]


def test_no_figure_is_accepted(obs, region, fetched_at):
    empty = replace(obs, wait_minutes=None, status="closed")
    assert check([empty], region, fetched_at).accepted == [empty]


def test_timestamps(obs, region, fetched_at):
    future = replace(obs, observed_at=fetched_at + timedelta(minutes=6))
    skewed = replace(obs, observed_at=fetched_at + timedelta(minutes=4))
    stale = replace(obs, site_id="RVV09", observed_at=fetched_at - timedelta(minutes=91))
    result = check([future, stale], region, fetched_at)
    assert [r.reason for r in result.rejected] == ["future_timestamp", "stale"]
    assert check([skewed], region, fetched_at).accepted == [skewed]


def test_duplicates_are_all_rejected_but_others_kept(obs, region, fetched_at):
    twin = replace(obs, wait_minutes=50.0)
    main_ed = replace(obs, service=None)
    ed = replace(obs, service="ed")  # same as the main service: a duplicate of main_ed
    other = replace(obs, site_id="RVV09")
    result = check([obs, twin, main_ed, ed, other], region, fetched_at)
    assert [r.reason for r in result.rejected] == ["duplicate_site"] * 4
    assert result.accepted == [other]


def test_zero_after_busy_is_suspicious(obs, region, fetched_at):
    previous = replace(obs, wait_minutes=120.0, observed_at=obs.observed_at - timedelta(minutes=30))
    zero = replace(obs, wait_minutes=0.0)
    assert [r.reason for r in check([zero], region, fetched_at, last_good=[previous]).rejected] \
        == ["suspicious_zero"]
    quiet = replace(previous, wait_minutes=10.0)
    assert check([zero], region, fetched_at, last_good=[quiet]).accepted == [zero]
    assert check([zero], region, fetched_at).accepted == [zero]  # no history: nothing to doubt


@pytest.mark.parametrize(("before", "after", "rejected"), [
    (5, 20, False),      # small numbers: under the 90 min floor
    (30, 110, False),    # 80 min change: under the floor
    (30, 200, True),     # 170 min and x6.7
    (200, 30, True),     # drops count too
    (200, 600, False),   # x3 is under the factor of 4
])
def test_sudden_jumps(obs, region, fetched_at, before, after, rejected):
    previous = replace(obs, wait_minutes=float(before),
                       observed_at=obs.observed_at - timedelta(minutes=15))
    result = check([replace(obs, wait_minutes=float(after))], region, fetched_at,
                   last_good=[previous])
    assert [r.reason for r in result.rejected] == (["sudden_jump"] if rejected else [])


def test_a_real_jump_gets_through_after_the_window(obs, region, fetched_at):
    previous = replace(obs, wait_minutes=30.0, observed_at=obs.observed_at - timedelta(minutes=61))
    jump = replace(obs, wait_minutes=200.0)
    assert check([jump], region, fetched_at, last_good=[previous]).accepted == [jump]


def test_older_than_last_good(obs, region, fetched_at):
    newer = replace(obs, observed_at=obs.observed_at + timedelta(minutes=2))
    result = check([obs], region, fetched_at, last_good=[newer])
    assert [r.reason for r in result.rejected] == ["older_than_last_good"]


def test_reason_codes_are_documented(fixtures_dir):
    doc = (fixtures_dir.parents[2] / "docs" / "feeds.md").read_text()
    for code in [*REASONS, *BODY_REASONS]:
        assert f"`{code}`" in doc


@given(wait=st.one_of(st.none(), st.floats(allow_nan=True), st.integers(-10**6, 10**6),
                      st.text(max_size=5)),
       minutes_ago=st.integers(-30, 200))
def test_every_observation_lands_in_exactly_one_list(wait, minutes_ago):
    now = datetime(2026, 2, 16, 12, 0, tzinfo=UTC)
    obs = Observation("RVV01", "utc", wait, now - timedelta(minutes=minutes_ago))
    result = validate_observations([obs], region=REGION, now=now)
    assert len(result.accepted) + len(result.rejected) == 1
    for accepted in result.accepted:
        assert accepted.wait_minutes is None or 0 <= accepted.wait_minutes <= 720
    assert all(r.reason in REASONS for r in result.rejected)


# --- body checks -----------------------------------------------------------------------------

@pytest.mark.parametrize(("feed_name", "body", "kwargs", "reason"), [
    ("hk-ha", b"", {}, "empty_body"),
    ("hk-ha", b"  \n", {}, "empty_body"),
    ("hk-ha", b"{" + b" " * 600000 + b"}", {}, "oversized"),
    ("hk-ha", b'{"waitTime": [1, 2', {}, "truncated"),
    ("hk-ha", b'{"waitTime": []}', {"content_length": 100}, "truncated"),
    ("hk-ha", b'{"waitTime": []}', {"content_type": "text/html; charset=utf-8"},
     "wrong_content_type"),
    ("km-utc", b"<html><body><table><tr><td>Buckland", {}, "truncated"),
    ("km-utc", b"<html></html>", {"content_type": "application/json"}, "wrong_content_type"),
])
def test_body_checks(feeds, region, feed_name, body, kwargs, reason):
    with pytest.raises(BodyRejected) as info:
        check_body(body, feed=feeds[feed_name], settings=region.validation, **kwargs)
    assert info.value.reason == reason


@pytest.mark.parametrize(("feed_name", "content_type"), [
    ("hk-ha", "application/json; charset=utf-8"),
    ("hk-ha", "text/plain"),
    ("ni", "application/geo+json"),
    ("km-utc", "text/html"),
    ("km-utc", None),
])
def test_good_bodies_pass(feeds, region, payload, feed_name, content_type):
    fixture = {"hk-ha": "hk_aedwtdata2.json", "ni": "ni_arcgis.json", "km-utc": "km_utc.html"}
    body = payload(fixture[feed_name])
    assert check_body(body, feed=feeds[feed_name], settings=region.validation,
                      content_type=content_type, content_length=len(body)) is None


def test_defaults_without_a_validation_table():
    region = parse_region({"region": {"name": "x", "timezone": "UTC"}, "sites": [
        {"id": "A", "name": "A", "lat": 0, "lon": 0, "hours": "24h",
         "services": [{"kind": "utc"}]}]})
    assert region.validation == ValidationSettings()
