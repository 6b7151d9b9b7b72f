"""Issue #14 feed gaps, and `waitless feeds check` over every adversarial payload of these tests.

Each payload must end with a non-zero exit, one stderr line per rejected value (or one
``error (reason): ...`` line when the whole payload is refused) and never a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from feeds.adapters import get_adapter
from feeds.body import BodyRejected, check_body, check_listing
from feeds.errors import FeedParseError
from feeds.validate import validate_observations as validate
from waitless import cli as waitless_cli
from waitless.domain.observation import Observation
from waitless.domain.region import load_region

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NOW = datetime(2026, 2, 16, 12, 0, tzinfo=UTC)
NATIVE_FEED = '\n[[feeds]]\nname = "native"\nformat = "native"\n'


@pytest.fixture(scope="module")
def native_region_path(tmp_path_factory) -> Path:
    """The feeds test region plus a pushed native-format feed."""
    path = tmp_path_factory.mktemp("region") / "feeds-native.toml"
    path.write_text((FIXTURES / "region-feeds-test.toml").read_text() + NATIVE_FEED)
    return path


def native(*sites: dict, generated_at: str = "2026-02-16T11:58:00Z") -> bytes:
    return orjson.dumps({"generated_at": generated_at, "sites": list(sites)})


def vgh(**fields) -> dict:
    return {"site_id": "VGH", "service": "ed", "wait_minutes": 40,
            "observed_at": "2026-02-16T11:58:00Z", "status": "open", **fields}


def hk(update_time: str) -> bytes:
    return orjson.dumps({"waitTime": [{"hospName": "Kwong Wah Hospital", "t3p50": "35 minutes",
                                       "t3p95": "79 minutes", "t45p50": "2 hours",
                                       "t45p95": "5 hours"}], "updateTime": update_time})


def alberta(category: str, group: str, name: str = "Sheldon M. Chumir Health Centre") -> bytes:
    return orjson.dumps({"Calgary": {group: [{"Name": name, "Category": category,
                                              "WaitTime": "1 hr 5 min",
                                              "TimesUnavailable": "False"}]},
                         "Edmonton": {}})


def parse(feed_format: str, body: bytes, *, options: dict | None = None,
          fetched_at: datetime | None = NOW) -> list[Observation]:
    return get_adapter(feed_format)(body, feed_name="t", fetched_at=fetched_at,
                                    options=options or {})


# --- item 6: Alberta category by group ---------------------------------------------------------

@pytest.mark.parametrize(("category", "group", "service"), [
    ("Urgent Care", "Urgent", "utc"),          # Sheldon M. Chumir, as AHS publishes it
    ("Walk-in Urgent", "Urgent", "utc"),       # unknown category: the group decides
    ("Emergency", "Urgent", "ed"),             # a known category wins over the group
    ("Mental Health", "Mental Health", "Mental Health"),  # neither known: passed through
])
def test_alberta_service_from_category_then_group(category, group, service):
    (obs,) = parse("alberta", alberta(category, group))
    assert (obs.service, obs.wait_minutes) == (service, 65)


def test_sheldon_chumir_urgent_care_is_accepted():
    region = load_region(str(FIXTURES / "region-feeds-test.toml"))
    feed = next(f for f in region.feeds if f.name == "ahs")
    observations = parse("alberta", alberta("Urgent Care", "Urgent"), options=feed.options)
    result = validate(observations, region=region, now=NOW)
    assert [(o.site_id, o.service) for o in result.accepted] == [("SMC", "utc")]
    assert result.rejected == []


# --- item 7: timestamps outside what a datetime can hold -------------------------------------

@pytest.mark.parametrize("stamp", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+01:00"])
def test_native_extreme_observed_at_is_a_parse_error(stamp):
    with pytest.raises(FeedParseError, match=r"sites\[0\].observed_at: .* outside the years"):
        parse("native", native(vgh(observed_at=stamp)))
    with pytest.raises(FeedParseError, match=r"generated_at: .* outside the years"):
        parse("native", native(vgh(), generated_at=stamp))


def test_hong_kong_year_one_update_time_is_a_parse_error():
    # 01:00 in Hong Kong on 1 Jan 0001 is 17:00 UTC on 31 Dec of year 0.
    with pytest.raises(FeedParseError, match="updateTime: '1/1/0001 1:00AM' is outside the"):
        parse("hk_ha", hk("1/1/0001 1:00AM"), options={"sites": {"Kwong Wah Hospital": "KWH"}})


@pytest.mark.parametrize("stamp", ["16/2/2026 7:58PM +0000", "16/2/2026 7:58PM UTC",
                                   "about 16/2/2026 7:58PM", "16/2/2026 7:58PM, 17/2/2026"])
def test_hong_kong_update_time_with_anything_around_it_is_refused(stamp):
    # Read with a search, "+0000" was dropped and the time taken as Hong Kong's: 8 h out.
    with pytest.raises(FeedParseError, match="is not a Hong Kong 'd/m/yyyy h:mmAM' time"):
        parse("hk_ha", hk(stamp), options={"sites": {"Kwong Wah Hospital": "KWH"}})


@pytest.mark.parametrize("stamp", ["16/2/2026 7:58PM", " 16/2/2026 7:58 pm ",
                                   "Updated at 16/2/2026 7:58PM"])
def test_hong_kong_update_time_as_the_feeds_write_it_is_read(stamp):
    (urgent, *_) = parse("hk_ha", hk(stamp), options={"sites": {"Kwong Wah Hospital": "KWH"}})
    assert urgent.observed_at == datetime(2026, 2, 16, 11, 58, tzinfo=UTC)  # 19:58 at UTC+8


# --- item 8: values accepted without complaint before ----------------------------------------

def test_negative_patients_waiting_is_rejected():
    region = load_region(str(FIXTURES / "region-feeds-test.toml"))
    good = Observation("VGH", "ed", 40.0, NOW, patients_waiting=3)
    result = validate([good, Observation("SPH", "ed", 40.0, NOW, patients_waiting=-7)],
                      region=region, now=NOW)
    assert result.accepted == [good]
    assert [(r.site_id, r.reason) for r in result.rejected] == [("SPH", "invalid_field")]
    assert "patients_waiting -7" in result.rejected[0].detail


def test_generated_at_far_in_the_future_refuses_the_document():
    with pytest.raises(FeedParseError, match=r"generated_at 2099-.* the source's clock is wrong"):
        parse("native", native(vgh(), generated_at="2099-01-01T00:00:00Z"))
    # Within the allowance, or with no fetch time to compare with, it parses.
    ahead = (NOW + timedelta(minutes=50)).isoformat()
    assert len(parse("native", native(vgh(), generated_at=ahead))) == 1
    assert len(parse("native", native(vgh(), generated_at="2099-01-01T00:00:00Z"),
                     fetched_at=None)) == 1


def test_an_empty_listing_after_many_sites_is_a_feed_problem():
    with pytest.raises(BodyRejected) as info:
        check_listing(0, 17, feed_name="ahs")
    assert info.value.reason == "no_sites" and "usually gives figures for 17" in str(info.value)
    assert check_listing(0, 1, feed_name="ahs") is None  # one site may close
    assert check_listing(5, 17, feed_name="ahs") is None


@pytest.mark.parametrize("body", [
    b"<!DOCTYPE html><html><body>Service unavailable</body></html>",
    b"\n  <html><head><title>502</title></head><body>Bad gateway",
    b"<!-- proxy --><html><body>maintenance</body></html>",
])
def test_html_body_without_content_type_is_named_html(body):
    region = load_region(str(FIXTURES / "region-feeds-test.toml"))
    feed = next(f for f in region.feeds if f.name == "hk-ha")
    with pytest.raises(BodyRejected, match="the body is an HTML page, not JSON") as info:
        check_body(body, feed=feed, settings=region.validation)
    assert info.value.reason == "wrong_content_type"


@pytest.mark.parametrize(("codec", "named"), [
    ("utf-16", "UTF-16"), ("utf-16-le", "UTF-16"), ("utf-16-be", "UTF-16"),
    ("utf-32", "UTF-32"), ("utf-32-le", "UTF-32"), ("utf-32-be", "UTF-32")])
def test_json_in_utf16_or_utf32_is_named_not_called_truncated(native_region_path, codec, named):
    region = load_region(str(native_region_path))
    feed = next(f for f in region.feeds if f.name == "native")
    body = native(vgh()).decode("utf-8").encode(codec)
    with pytest.raises(BodyRejected, match=f"the body is {named} text; JSON feeds must be UTF-8"
                       ) as info:
        check_body(body, feed=feed, settings=region.validation)
    assert info.value.reason == "wrong_content_type"
    check_body(native(vgh()), feed=feed, settings=region.validation)  # the same in UTF-8 passes


# --- `waitless feeds check` over every adversarial payload -----------------------------------

def _fixture(name: str, old: bytes = b"", new: bytes = b"") -> bytes:
    return (FIXTURES / name).read_bytes().replace(old, new) if old else \
        (FIXTURES / name).read_bytes()


# (feed, payload, expected exit code, text every stderr line or the one error line holds)
ADVERSARIAL = [
    # issue #14
    ("native", native(vgh(observed_at="9999-12-31T23:59:59-12:00")), 1, "outside the years"),
    ("native", native(vgh(observed_at="0001-01-01T00:00:00+01:00")), 1, "outside the years"),
    ("native", native(vgh(), generated_at="9999-12-31T23:59:59-12:00"), 1, "outside the years"),
    ("hk-ha", hk("1/1/0001 1:00AM"), 1, "outside the years"),
    ("native", native(vgh(patients_waiting=-7)), 3, "(invalid_field)"),
    ("native", native(vgh(), generated_at="2099-06-01T00:00:00Z"), 1, "clock is wrong"),
    ("native", native(), 1, "(no_sites)"),
    ("ahs", b'{"Calgary": {"Emergency": []}, "Edmonton": {}}', 1, "(no_sites)"),
    ("hk-ha", _fixture("km_utc.html"), 1, "HTML page, not JSON"),
    ("native", native(vgh()).decode("utf-8").encode("utf-16"), 1, "UTF-16 text"),
    ("ahs", alberta("Mental Health", "Mental Health", "Foothills Medical Centre"), 3,
     "(unknown_service)"),
    # payloads of test_adapters.py / test_validate.py
    ("hk-ha", b'{"waitTime": [], "updateTime": "2026-02-16 13:00"}', 1, "not a Hong Kong"),
    ("hk-ha", b'{"updateTime": "16/2/2026 1:00PM"}', 1, "expected 'waitTime'"),
    ("hk-ha", b'{"waitTime": [{"t3p50": "5 minutes"}], "updateTime": "16/2/2026 1:00PM"}', 1,
     "missing 'hospName'"),
    ("hk-ha", b'{"waitTime": "busy", "updateTime": "16/2/2026 1:00PM"}', 1,
     "list of hospital objects"),
    ("hk-ha", b'{"waitTime": [', 1, "(truncated)"),
    ("hk-ha", b"", 1, "(empty_body)"),
    ("hk-ha", b"  \n", 1, "(empty_body)"),
    ("hk-ha", b"{" + b" " * 600000 + b"}", 1, "(oversized)"),
    ("km-utc", b"<html><body><table><tr><td>Buckland", 1, "(truncated)"),
    ("km-utc", _fixture("km_utc.html", b"Last updated:", b"Refreshed"), 1,
     "found no updated-at text"),
    ("ahs", b'{"Calgary": {"Emergency": [{"Name": "A[;]B[;]C", "WaitTime": "1 hr[;]2 hr",'
            b' "TimesUnavailable": "False"}]}}', 1, "packs 2 values for 3 departments"),
    ("ahs", b'{"Calgary": {"Emergency": [{"Name": "A", "TimesUnavailable": "yes"}]}}', 1,
     "must be 'True' or 'False'"),
    ("ni", _fixture("ni_arcgis_error.json"), 1, "ArcGIS error 400"),
    ("bc", _fixture("bc_push.json"), 3, "rejected "),
    # the fuzz tests' vocabulary, fixed: odd JSON documents and values
    ("example-trust", b"null", 1, "(truncated)"),
    ("example-trust", b'{"data": null}', 1, "(parse)"),
    ("ni", b"[]", 1, "(parse)"),
    ("example-trust", _fixture("trust_jsonmap.json", b'"5h 14m"', b"1e309"), 1,
     "not valid JSON"),
    ("example-trust", _fixture("trust_jsonmap.json", b'"5h 14m"', b'"lots"'), 3,
     "(not_numeric)"),
    ("km-utc", _fixture("km_utc.html", b"2 hrs 15 mins", b"72 hrs 4 mins"), 3,
     "(implausible_high)"),
]


def _run_check(region_path: Path, feed: str, body: bytes, tmp_path: Path, capsys):
    payload = tmp_path / "payload"
    payload.write_bytes(body)
    code = waitless_cli.main(["feeds", "check", "--region", str(region_path), "--feed", feed,
                              "--now", NOW.isoformat(), str(payload)])
    return code, capsys.readouterr()


@pytest.mark.parametrize(("feed", "body", "code", "text"), ADVERSARIAL,
                         ids=[f"{i}-{case[0]}" for i, case in enumerate(ADVERSARIAL)])
def test_feeds_check_rejects_every_adversarial_payload_in_one_line_each(
        native_region_path, tmp_path, capsys, feed, body, code, text):
    exit_code, captured = _run_check(native_region_path, feed, body, tmp_path, capsys)
    lines = captured.err.splitlines()
    assert exit_code == code
    assert "Traceback" not in captured.err
    if code == 1:
        assert captured.out == ""
        assert len(lines) == 1 and lines[0].startswith("error (") and text in lines[0]
        assert "(internal)" not in lines[0]
    else:
        rejected = orjson.loads(captured.out)["rejected"]
        assert len(lines) == len(rejected) >= 1
        assert all(line.startswith("rejected ") for line in lines)
        assert any(text in line for line in lines)
        for line, rejection in zip(lines, rejected, strict=True):
            assert f"({rejection['reason']})" in line


def test_the_installed_command_reports_without_a_traceback(native_region_path, tmp_path):
    payload = tmp_path / "year-one.json"
    payload.write_bytes(native(vgh(observed_at="0001-01-01T00:00:00+01:00")))
    waitless = Path(sys.executable).with_name("waitless")
    if not waitless.exists():
        pytest.skip("the waitless script is not installed next to this interpreter")
    done = subprocess.run([str(waitless), "feeds", "check", "--region", str(native_region_path),
                           "--feed", "native", "--now", NOW.isoformat(), str(payload)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "WAITLESS_LOG_LEVEL": "WARNING"})
    assert done.returncode == 1
    assert done.stderr.strip() == ("error (parse): sites[0].observed_at: "
                                   "'0001-01-01T00:00:00+01:00' is outside the years 1-9999 in UTC")
