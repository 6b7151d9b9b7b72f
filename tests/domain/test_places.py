"""The gazetteer named by the region file, and place search."""

import tomllib

import pytest

from waitless.domain.errors import RegionError
from waitless.domain.places import PlaceError, find_place, load_gazetteer
from waitless.domain.region import Region, parse_region


@pytest.fixture(scope="module")
def gazetteer(kent: Region):
    return load_gazetteer(kent)


@pytest.mark.parametrize("query", ["ct1", "CT1", " ct1 ", "CT1 3NG", "ct13ng", "Ct1  3ng"])
def test_postcodes_and_districts_find_the_district(gazetteer, query) -> None:
    place = find_place(gazetteer, query)
    assert (place.name, place.kind) == ("CT1", "district")
    assert place.lat == pytest.approx(51.27719) and place.lon == pytest.approx(1.08733)


@pytest.mark.parametrize(("query", "name"), [("canterbury", "Canterbury"),
                                             ("CANTERBURY", "Canterbury"),
                                             ("tunbridge wells", "Tunbridge Wells"),
                                             ("minster on sea", "Minster-on-Sea"),
                                             ("Herne  Bay", "Herne Bay")])
def test_towns_ignore_case_spaces_and_hyphens(gazetteer, query, name) -> None:
    assert find_place(gazetteer, query).name == name


def test_every_site_town_is_searchable(kent: Region, gazetteer) -> None:
    for site in kent.sites:
        assert find_place(gazetteer, site.town).kind == "town", site.town


@pytest.mark.parametrize(("query", "message"), [("atlantis", "could not find \"atlantis\""),
                                                ("SW1A 1AA", "SW1A is not in Kent & Medway"),
                                                ("   ", "Enter a town")])
def test_unknown_places_say_what_to_do(gazetteer, query, message) -> None:
    with pytest.raises(PlaceError, match=message):
        find_place(gazetteer, query)


def test_gazetteer_comes_only_from_the_region_file(tmp_path) -> None:
    base = ('[region]\nname = "x"\ntimezone = "Europe/London"\n'
            '[[sites]]\nid = "A"\nname = "A"\nlat = 51.0\nlon = 1.0\n'
            '[[sites.services]]\nkind = "ed"\nhours = "24h"\n')
    assert load_gazetteer(parse_region(tomllib.loads(base))) is None
    (tmp_path / "places.csv").write_text("# test\nname,kind,lat,lon,district\n"
                                         "Testtown,town,51.0,1.0,TT1\n")
    region = parse_region(tomllib.loads(base + '[gazetteer]\nfile = "places.csv"\n'),
                          source_path=str(tmp_path / "x.toml"))
    assert find_place(load_gazetteer(region), "testtown").district == "TT1"
    missing = parse_region(tomllib.loads(base + '[gazetteer]\nfile = "nope.csv"\n'),
                           source_path=str(tmp_path / "x.toml"))
    with pytest.raises(RegionError, match="cannot read gazetteer"):
        load_gazetteer(missing)
