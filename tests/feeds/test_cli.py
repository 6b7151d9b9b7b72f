"""`feeds check` end to end on the fixtures and the test region."""

import argparse

import orjson
import pytest

from feeds import cli
from waitless import cli as waitless_cli

NOW = "2026-02-16T12:00:00Z"


def run(argv, capsys):
    parser = argparse.ArgumentParser(prog="waitless")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, (orjson.loads(out) if out else None), err


def check(region_path, feed, path, capsys, now=NOW):
    return run(["feeds", "check", "--region", str(region_path), "--feed", feed, "--now", now,
                str(path)], capsys)


@pytest.mark.parametrize(("feed", "fixture", "code", "accepted", "rejected"), [
    ("km-utc", "km_utc.html", 0, 11, []),
    ("example-trust", "trust_jsonmap.json", 0, 4, []),
    # 13:00 HK is 05:00 UTC, seven hours before --now; site checks come first
    ("hk-ha", "hk_aedwtdata2.json", 3, 0, ["stale"] * 10 + ["unknown_site"] * 2),
    ("ahs", "alberta.json", 0, 9, []),
    ("ni", "ni_arcgis.json", 0, 5, []),
    ("bc", "bc_push.json", 3, 2, ["negative_wait", "unknown_site"]),
])
def test_check_each_format(region_path, fixtures_dir, capsys, feed, fixture, code, accepted,
                           rejected):
    exit_code, report, _ = check(region_path, feed, fixtures_dir / fixture, capsys)
    assert exit_code == code
    assert (report["region"], report["feed"]) == ("feeds-test", feed)
    assert len(report["accepted"]) == accepted
    assert [r["reason"] for r in report["rejected"]] == rejected


def test_check_hong_kong_at_its_own_time(region_path, fixtures_dir, capsys):
    code, report, _ = check(region_path, "hk-ha", fixtures_dir / "hk_aedwtdata2.json", capsys,
                            now="2026-02-16T05:10:00Z")
    assert code == 3
    rejected = {(r["site_id"], r["service"]): r["reason"] for r in report["rejected"]}
    assert rejected == {("TMH", "utc"): "implausible_high",  # p95 "72 hours"
                        ("St John Hospital", "ed"): "unknown_site",
                        ("St John Hospital", "utc"): "unknown_site"}
    kwh = next(o for o in report["accepted"] if (o["site_id"], o["service"]) == ("KWH", "ed"))
    assert (kwh["wait_minutes"], kwh["wait_p95_minutes"], kwh["wait_kind"]) == (35, 79, "median")
    assert kwh["observed_at"] == "2026-02-16T05:00:00+00:00"


def test_check_the_72_hour_incident_page(region_path, fixtures_dir, tmp_path, capsys):
    page = (fixtures_dir / "km_utc.html").read_bytes()
    page = page.replace(b"2 hrs 15 mins", b"72 hrs 4 mins").replace(b"3 hrs<br>10 mins",
                                                                      b"Over 72 hours")
    incident = tmp_path / "incident.html"
    incident.write_bytes(page)
    code, report, _ = check(region_path, "km-utc", incident, capsys)
    assert code == 3
    assert [(r["site_id"], r["reason"]) for r in report["rejected"]] == [
        ("RVV09", "implausible_high"), ("RVV01", "implausible_high")]
    assert len(report["accepted"]) == 9


@pytest.mark.parametrize(("argv_feed", "fixture", "message"), [
    ("nope", "km_utc.html", "has no feed 'nope'"),
    ("ni", "ni_arcgis_error.json", "ArcGIS error 400"),
    ("hk-ha", "km_utc.html", "(wrong_content_type): feed hk-ha: the body is an HTML page"),
    ("km-utc", "missing.html", "No such file"),
])
def test_check_failures_exit_1_with_a_message(region_path, fixtures_dir, capsys, argv_feed,
                                              fixture, message):
    code, report, err = check(region_path, argv_feed, fixtures_dir / fixture, capsys)
    assert (code, report) == (1, None)
    assert message in err


def test_check_unknown_region(fixtures_dir, capsys):
    code, _, err = run(["feeds", "check", "--region", "/no/such/region.toml", "--feed", "x",
                        str(fixtures_dir / "km_utc.html")], capsys)
    assert code == 1
    assert "not found" in err


def test_register_check_attaches_to_an_existing_feeds_group(region_path, fixtures_dir, capsys):
    parser = argparse.ArgumentParser(prog="waitless")
    feeds_parser = parser.add_subparsers(dest="command").add_parser("feeds")
    feeds_sub = feeds_parser.add_subparsers(dest="feeds_command")
    feeds_sub.add_parser("simulate")  # the lead's sibling command
    cli.register_check(feeds_sub)
    args = parser.parse_args(["feeds", "check", "--region", str(region_path), "--feed", "ni",
                              "--now", NOW, str(fixtures_dir / "ni_arcgis.json")])
    assert args.func(args) == 0
    assert len(orjson.loads(capsys.readouterr().out)["accepted"]) == 5


def test_now_must_carry_an_offset(region_path, fixtures_dir, capsys):
    with pytest.raises(SystemExit):
        check(region_path, "ni", fixtures_dir / "ni_arcgis.json", capsys,
              now="2026-02-16T12:00:00")



def test_region_defaults_to_waitless_region_and_its_errors_carry_no_reason(
        region_path, fixtures_dir, capsys, monkeypatch):
    # Through `waitless` itself, which fills --region from the environment; the line formats
    # are the ones docs/feeds.md shows: region and feed problems are "error: ...".
    monkeypatch.delenv("WAITLESS_REGIONS", raising=False)
    monkeypatch.setenv("WAITLESS_REGION", str(region_path))
    payload = str(fixtures_dir / "ni_arcgis.json")
    assert waitless_cli.main(["feeds", "check", "--feed", "ni", "--now", NOW, payload]) == 0
    assert orjson.loads(capsys.readouterr().out)["region"] == "feeds-test"
    assert waitless_cli.main(["feeds", "check", "--feed", "nope", "--now", NOW, payload]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == ["error: region feeds-test has no feed 'nope' "
                                "(feeds: km-utc, example-trust, hk-ha, ahs, ni, bc)"]
