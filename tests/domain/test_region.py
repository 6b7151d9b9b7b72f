import csv
from pathlib import Path

import pytest

from tests.conftest import shared_path
from waitless.domain.errors import RegionError
from waitless.domain.region import Region, load_region, parse_region

MINIMAL = """
[region]
name = "test-town"
timezone = "Europe/London"

[[sites]]
id = "A1"
name = "Town Hospital"
lat = 51.0
lon = 1.0
hours = "24h"
[[sites.services]]
kind = "ed"
[[sites.services]]
kind = "utc"
hours = "08:00-20:00"
"""


def test_bundled_region_carries_every_site_in_the_reference_table(kent: Region) -> None:
    rows = list(csv.DictReader(shared_path("reference", "sites-kent-medway.csv").open()))
    assert {s.id for s in kent.sites} == {r["ods_code"] for r in rows}
    for row in rows:
        site = kent.site(row["ods_code"])
        assert site.name == row["name"]
        assert (site.lat, site.lon) == (float(row["lat"]), float(row["lon"]))
        kinds = {s.kind for s in site.services}
        kind = row["service_type"]
        expected = {"ed", "utc"} if kind == "ED+UTC" else {kind.lower()}
        assert kinds == expected, row["ods_code"]


def test_co_located_services_keep_their_own_hours(kent: Region) -> None:
    maidstone = kent.site("RWF03")
    assert maidstone.service("ed").hours.always_open
    assert maidstone.service("utc").hours.describe()["mon"] == "08:00-20:00"
    assert maidstone.main_service.kind == "ed"
    assert kent.site("RYYC7").service("miu").min_age_years == 1.0
    assert kent.timezone.key == "Europe/London"


def test_region_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "town.toml"
    path.write_text(MINIMAL)
    region = load_region(str(path))
    assert region.name == "test-town"
    assert [s.kind for s in region.site("A1").services] == ["ed", "utc"]
    assert not region.site("A1").service("utc").hours.always_open


@pytest.mark.parametrize(("change", "message"), [
    (('timezone = "Europe/London"', 'timezone = "Mars/Olympus"'), "unknown timezone"),
    (('hours = "24h"', 'hours = "8 till late"'), "opening hours"),
    (('kind = "ed"', 'kind = "hospice"'), "service kind"),
    (("lat = 51.0", "lat = 151.0"), "out of range"),
    (('name = "Town Hospital"\n', ""), "missing required key 'name'"),
])
def test_bad_region_files_are_refused_with_a_clear_message(change, message) -> None:
    import tomllib
    text = MINIMAL.replace(*change)
    with pytest.raises(RegionError, match=message):
        parse_region(tomllib.loads(text))


def test_duplicate_site_ids_are_refused() -> None:
    import tomllib
    body = MINIMAL.split("[[sites]]", 1)[1]
    with pytest.raises(RegionError, match="duplicate site id"):
        parse_region(tomllib.loads(MINIMAL + "\n[[sites]]" + body))


def test_unknown_region_name_lists_bundled_regions() -> None:
    with pytest.raises(RegionError, match="kent-medway"):
        load_region("atlantis")


@pytest.mark.parametrize(("zone", "message"), [
    ("Europe", "[region]: timezone 'Europe' is a folder of zones, not a zone; "
               "name one inside it, like 'Europe/London'"),
    ("America/", "[region]: unknown timezone 'America/'; use an IANA zone like 'Europe/London'"),
    ("Europe/Londn", "[region]: unknown timezone 'Europe/Londn'; "
                     "use an IANA zone like 'Europe/London'"),
    ("zone.tab", "[region]: unknown timezone 'zone.tab'; use an IANA zone like 'Europe/London'"),
    ("localtime", "[region]: timezone 'localtime' is the zone of whatever machine runs the "
                  "service, not the region's; use an IANA zone like 'Europe/London'"),
])
def test_a_timezone_that_is_not_a_zone_is_refused_naming_the_file(
        tmp_path: Path, zone: str, message: str) -> None:
    path = tmp_path / "town.toml"
    path.write_text(MINIMAL.replace("Europe/London", zone))
    with pytest.raises(RegionError) as caught:
        load_region(str(path))
    assert str(caught.value) == f"{path.resolve()}: {message}"
