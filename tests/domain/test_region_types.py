"""Every value of a region file has a type, checked when the file is loaded: a wrong type or an
unknown key is a RegionError naming the file and the key, never a bare ValueError or a string
that reaches the ranking (docs/regions.md, "Errors")."""

import copy
import tomllib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from tests.domain.test_region import MINIMAL
from waitless.domain.errors import RegionError
from waitless.domain.region import load_region, parse_region

BUNDLED = Path(str(resources.files("waitless") / "regions" / "kent-medway.toml"))
FEEDS_FIXTURE = Path(__file__).parents[1] / "feeds" / "fixtures" / "region-feeds-test.toml"
# The keys every [[feeds]] entry has; the others are adapter options, open by design.
FEED_KEYS = {"name", "format", "url", "interval_seconds", "timeout_seconds"}


def load_text(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("before", "after", "message"), [
    ("lat = 51.0", 'lat = "51.0"', "site A1: lat must be a number, not '51.0'"),
    ("lon = 1.0", "lon = true", "site A1: lon must be a number, not True"),
    ('kind = "ed"', 'kind = "ed"\nmin_age_years = "two"',
     "site A1 service 0: min_age_years must be a number at least 0, not 'two'"),
    ('kind = "ed"', 'kind = "ed"\nhours_verified = "no"',
     "site A1 service 0: hours_verified must be true or false, not 'no'"),
    ('name = "Town Hospital"', "name = 7", "site A1: name must be non-empty text, not 7"),
    ('id = "A1"', "id = 1", "sites[0]: id must be non-empty text, not 1"),
    ('id = "A1"', 'id = " A1"', "sites[0]: id ' A1' has spaces at its start or end; "
                                "feeds and the live store match it exactly"),
    ('id = "A1"', 'id = "A1\t"', "sites[0]: id 'A1\\t' has spaces at its start or end; "
                                  "feeds and the live store match it exactly"),
    ('hours = "24h"', 'hours = { mon = 8, tue = "24h", wed = "24h", thu = "24h", fri = "24h", '
                      'sat = "24h", sun = "24h" }',
     "site A1 service 0: hours for mon must be text like '08:00-20:00', '24h' or 'closed', "
     "not 8"),
    ('hours = "08:00-20:00"', 'hours = "08:00-13:00,12:00-20:00"',
     "site A1 service 1: spans 08:00-13:00 and 12:00-20:00 overlap in opening hours "
     "'08:00-13:00,12:00-20:00'; write them as one span"),
    ('name = "test-town"', 'name = "test-town"\ntitle = ["T"]',
     "[region]: title must be non-empty text, not ['T']"),
])
def test_a_value_of_the_wrong_type_is_refused_naming_file_and_key(
        tmp_path: Path, before: str, after: str, message: str) -> None:
    path = load_text(tmp_path, MINIMAL.replace(before, after, 1))
    with pytest.raises(RegionError) as caught:
        load_region(str(path))
    assert str(caught.value) == f"{path.resolve()}: {message}"


FEED = '\n[[feeds]]\nname = "f1"\nformat = "native"\n'


@pytest.mark.parametrize(("lines", "message"), [
    ('url = "http://x.test/f"\ninterval_seconds = "often"',
     "feed f1: interval_seconds must be a number above 0, not 'often'"),
    ('url = "http://x.test/f"\ntimeout_seconds = 0',
     "feed f1: timeout_seconds must be a number above 0, not 0"),
    ("url = 5", "feed f1: url must be non-empty text, not 5"),
    ('url = "not a url"', "feed f1: url must be an http:// or https:// address with a host, "
                          "not 'not a url'"),
    ('url = "www.trust.example/waits.json"', "feed f1: url must be an http:// or https:// "
                                             "address with a host, not "
                                             "'www.trust.example/waits.json'"),
    ('url = "ftp://trust.example/waits.json"', "feed f1: url must be an http:// or https:// "
                                               "address with a host, not "
                                               "'ftp://trust.example/waits.json'"),
    ('url = "https:///waits.json"', "feed f1: url must be an http:// or https:// address "
                                    "with a host, not 'https:///waits.json'"),
    ('url = "https://trust.example:99999/w"', "feed f1: url must be an http:// or https:// "
                                              "address with a host, not "
                                              "'https://trust.example:99999/w'"),
    ('url = "https://trust.example/wait times.json"',
     "feed f1: url must be an http:// or https:// address with a host, not "
     "'https://trust.example/wait times.json'"),
])
def test_feed_keys_are_type_checked(tmp_path: Path, lines: str, message: str) -> None:
    path = load_text(tmp_path, MINIMAL + FEED + lines + "\n")
    with pytest.raises(RegionError) as caught:
        load_region(str(path))
    assert str(caught.value) == f"{path.resolve()}: {message}"


def test_a_feed_name_with_spaces_around_it_is_refused(tmp_path: Path) -> None:
    path = load_text(tmp_path, MINIMAL + FEED.replace('"f1"', '"f1 "') + 'url = "http://x.test/f"\n')
    with pytest.raises(RegionError) as caught:
        load_region(str(path))
    assert str(caught.value) == (
        f"{path.resolve()}: feeds[0]: name 'f1 ' has spaces at its start or end; "
        "WAITLESS_FEED_URLS and the push address match it exactly")



@pytest.mark.parametrize("name", ["../outside", "a/b", "Kent Medway", "Kent-Medway", "kent_medway",
                                  "-kent", "kent-", "k" * 64, "kent:medway", "kènt"])
def test_a_region_name_that_is_not_a_machine_name_is_refused(tmp_path: Path, name: str) -> None:
    # The name is a folder under the graph cache ("../outside" wrote beside it), part of every
    # Redis key and a metric label.
    path = load_text(tmp_path, MINIMAL.replace('name = "test-town"', f"name = {name!r}"
                                               .replace("'", '"'), 1))
    with pytest.raises(RegionError) as caught:
        load_region(str(path))
    assert str(caught.value) == (
        f"{path.resolve()}: [region] name must be lower-case letters, digits and hyphens "
        f"(at most 63, not starting or ending with a hyphen), like kent-medway, not {name!r}")


@pytest.mark.parametrize("name", ["x", "kent-medway", "ni", "k" * 63, "2-towns"])
def test_machine_region_names_load(tmp_path: Path, name: str) -> None:
    path = load_text(tmp_path, MINIMAL.replace('name = "test-town"', f'name = "{name}"', 1))
    assert load_region(str(path)).name == name

@pytest.mark.parametrize(("ranking", "message"), [
    ('stale_after_minutes = "ninety"', "stale_after_minutes must be a number above 0"),
    ("stale_after_minutes = 0", "stale_after_minutes must be a number above 0"),
    ("stale_penalty_minutes = -5", "stale_penalty_minutes must be a number at least 0"),
    ("max_candidates = 2.5", "max_candidates must be a whole number, at least 1"),
    ("max_travel_minutes = inf", "max_travel_minutes must be a number above 0"),
    ('assumed_wait_minutes = { utc = "2h" }', "assumed_wait_minutes: utc must be a number"),
    ("assumed_wait_minutes = { gp = 30 }", r"unknown key\(s\) gp; allowed: ed, miu, utc"),
    ("stale_after = 60", r"\[ranking\]: unknown key\(s\) stale_after; allowed: "
                         "assumed_wait_minutes, closing_margin_minutes"),
])
def test_ranking_values_are_type_checked(ranking: str, message: str) -> None:
    with pytest.raises(RegionError, match=message):
        parse_region(tomllib.loads(MINIMAL + "\n[ranking]\n" + ranking + "\n"))


def test_ranking_values_are_floats_and_keep_defaults() -> None:
    region = parse_region(tomllib.loads(
        MINIMAL + "\n[ranking]\nstale_after_minutes = 60\nassumed_wait_minutes = { utc = 100 }\n"))
    assert region.ranking.stale_after_minutes == 60.0
    assert isinstance(region.ranking.stale_after_minutes, float)
    assert region.ranking.assumed_wait_minutes == {"ed": 240.0, "utc": 100.0, "miu": 90.0}
    assert region.validation.stale_after_minutes == 60.0


@pytest.mark.parametrize(("table", "line", "allowed"), [
    ("region", 'titel = "Town"', "name, timezone, title"),
    ("sites", "lattitude = 51.0", "contact, hours, id, lat, lon, name, notes, operator, "
                                  "postcode, services, town"),
])
def test_unknown_keys_are_refused_listing_the_allowed_ones(
        table: str, line: str, allowed: str) -> None:
    anchor = {"region": 'timezone = "Europe/London"', "sites": 'id = "A1"'}[table]
    with pytest.raises(RegionError, match=rf"unknown key\(s\) \w+; allowed: {allowed}$"):
        parse_region(tomllib.loads(MINIMAL.replace(anchor, anchor + "\n" + line, 1)))


@pytest.mark.parametrize(("validation", "message"), [
    ('jump_factor = "4"', "jump_factor must be a number above 1 and at most 100"),
    ("max_body_bytes = 1.5", "max_body_bytes must be a whole number"),
    ("max_wait_minutes = { utc = true }", "max_wait_minutes must be a table"),
    ("max_wait_minutes = { gp = 60 }", "max_wait_minutes must be a table"),
])
def test_validation_values_are_type_checked(validation: str, message: str) -> None:
    with pytest.raises(RegionError, match=message):
        parse_region(tomllib.loads(MINIMAL + "\n[validation]\n" + validation + "\n"))


@pytest.mark.parametrize(("section", "message"), [
    ('[gazetteer]\nfile = 5', "file must be text"),
    ("[graph]\nwalk_speed_kph = true", "must be numbers, not text or true/false"),
    ('[graph]\ndefault_speeds_kph = { motorway = "70" }', "must be numbers"),
    ('[graph]\ndefault_speeds_kph = "fast"', "default_speeds_kph must be a table"),
])
def test_other_sections_refuse_wrong_types(section: str, message: str) -> None:
    with pytest.raises(RegionError, match=message):
        parse_region(tomllib.loads(MINIMAL + "\n" + section + "\n"))


def _leaves(data: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(data, list) and data and all(isinstance(v, dict) for v in data):
        for index, value in enumerate(data):
            yield from _leaves(value, (*path, index))
    else:
        yield path, data


def _wrong_type(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, int | float):
        return "12"
    return 12.5  # for text, and a number where a list is expected


@pytest.mark.parametrize("path", [BUNDLED, FEEDS_FIXTURE], ids=["kent-medway", "feeds-test"])
def test_every_value_of_a_real_region_file_refuses_a_wrong_type(path: Path) -> None:
    data = tomllib.loads(path.read_text())
    parse_region(data, source_path=str(path))  # as shipped, the file loads
    tried = 0
    for keys, value in _leaves(data):
        if keys[0] == "feeds" and keys[2] not in FEED_KEYS:
            continue  # adapter options: the feeds package checks what it reads
        broken = copy.deepcopy(data)
        holder = broken
        for key in keys[:-1]:
            holder = holder[key]
        holder[keys[-1]] = _wrong_type(value)
        with pytest.raises(RegionError):
            parse_region(broken, source_path=str(path))
        tried += 1
    assert tried > 50
