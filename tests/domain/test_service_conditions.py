"""Which conditions a service treats, as its region file says (hazard H1 in
docs/clinical-safety.md): every code in treats, also_treats and does_not_treat is checked
against the vocabulary when the file is loaded, and only lists of strings are accepted."""

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from waitless.domain.conditions import default_treats
from waitless.domain.errors import RegionError
from waitless.domain.region import Region, load_region
from waitless.ranking.rank import RankRequest, rank

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday, every unit open

TEMPLATE = """
[region]
name = "test-town"
timezone = "Europe/London"

[[sites]]
id = "ED1"
name = "Town Hospital"
lat = 51.0
lon = 1.0
hours = "24h"
[[sites.services]]
kind = "ed"

[[sites]]
id = "UTC1"
name = "Town UTC"
lat = 51.01
lon = 1.01
hours = "08:00-20:00"
[[sites.services]]
kind = "utc"
{service_keys}
"""


def load(tmp_path: Path, service_keys: str) -> Region:
    path = tmp_path / "town.toml"
    path.write_text(TEMPLATE.format(service_keys=service_keys))
    return load_region(str(path))


def ranked_ids(region: Region, condition: str) -> list[str]:
    request = RankRequest(lat=51.0, lon=1.0, depart_at=NOW, condition=condition)
    answer = rank(region, {}, request, travel_seconds=np.array([600.0, 300.0]),
                  travel_source="estimate", now=NOW)
    return [r.site.id for r in answer.results]


def test_does_not_treat_takes_a_condition_off_the_unit_and_out_of_its_rankings(
        tmp_path: Path) -> None:
    plain = load(tmp_path, "")
    assert "possible_fracture" in plain.site("UTC1").service("utc").treats
    assert ranked_ids(plain, "possible_fracture") == ["UTC1", "ED1"]
    region = load(tmp_path, 'does_not_treat = ["possible_fracture"]')
    treats = region.site("UTC1").service("utc").treats
    assert treats == default_treats("utc") - {"possible_fracture"}
    assert ranked_ids(region, "possible_fracture") == ["ED1"]
    assert ranked_ids(region, "sprain_strain") == ["UTC1", "ED1"]


def test_also_treats_adds_a_condition(tmp_path: Path) -> None:
    region = load(tmp_path, 'also_treats = ["major_injury"]')
    assert region.site("UTC1").service("utc").treats == default_treats("utc") | {"major_injury"}
    assert ranked_ids(region, "major_injury") == ["UTC1", "ED1"]


@pytest.mark.parametrize("key", ["treats", "also_treats", "does_not_treat"])
def test_a_misspelt_condition_code_is_refused_naming_file_site_and_key(
        tmp_path: Path, key: str) -> None:
    with pytest.raises(RegionError) as caught:
        load(tmp_path, f'{key} = ["sprain_strain", "possible_fractur"]')
    message = str(caught.value)
    assert message.startswith(str((tmp_path / "town.toml").resolve()) + ": site UTC1 service 0")
    assert f"unknown condition(s) in {key}: 'possible_fractur'" in message
    assert "did you mean 'possible_fracture'?" in message


@pytest.mark.parametrize("key", ["treats", "also_treats", "does_not_treat"])
@pytest.mark.parametrize("value", ['"possible_fracture"', "[1, 2]", "true",
                                   '{ code = "possible_fracture" }'])
def test_conditions_must_be_a_list_of_strings(tmp_path: Path, key: str, value: str) -> None:
    # A lone string once removed nothing: frozenset("abc") is a set of letters.
    with pytest.raises(RegionError, match=rf"site UTC1 service 0: {key} must be a list of "
                                          r"strings"):
        load(tmp_path, f"{key} = {value}")


def test_a_code_both_added_and_removed_is_refused(tmp_path: Path) -> None:
    keys = 'also_treats = ["major_injury"]\ndoes_not_treat = ["major_injury"]'
    with pytest.raises(RegionError, match="major_injury in both also_treats and does_not_treat"):
        load(tmp_path, keys)


def test_a_misspelt_service_key_is_refused_listing_the_allowed_keys(tmp_path: Path) -> None:
    with pytest.raises(RegionError, match=r"site UTC1 service 0: unknown key\(s\) "
                                          r"min_age_year; allowed: also_treats, "
                                          r"does_not_treat, hours, hours_verified, kind, "
                                          r"min_age_years, treats"):
        load(tmp_path, "min_age_year = 16")
