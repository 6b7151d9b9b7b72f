"""The gazetteer named by the region file, and place search."""

import tomllib

import pytest

from waitless.domain.errors import RegionError
from waitless.domain.places import (
    AmbiguousPlace,
    Gazetteer,
    Place,
    PlaceError,
    and_list,
    find_place,
    load_gazetteer,
    normalise,
    search_places,
)
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


BASE_REGION = ('[region]\nname = "x"\ntimezone = "Europe/London"\n'
               '[[sites]]\nid = "A"\nname = "A"\nlat = 51.0\nlon = 1.0\n'
               '[[sites.services]]\nkind = "ed"\nhours = "24h"\n'
               '[gazetteer]\nfile = "places.csv"\n')
HEADER = "# a comment line, counted\nname,kind,lat,lon,district\n"


def gazetteer_file(tmp_path, text: str, encoding: str = "utf-8"):
    (tmp_path / "places.csv").write_bytes(text.encode(encoding))
    return parse_region(tomllib.loads(BASE_REGION), source_path=str(tmp_path / "x.toml"))


def test_a_byte_order_mark_is_not_part_of_the_header(tmp_path) -> None:
    # Spreadsheets save "CSV UTF-8" with a BOM; the header read '\ufeffname' and every row
    # was refused.
    region = gazetteer_file(tmp_path, "\ufeff" + HEADER + "Gravesend,town,51.44,0.37,DA11\n")
    place = find_place(load_gazetteer(region), "gravesend")
    assert (place.name, place.kind, place.lat, place.lon, place.district) == (
        "Gravesend", "town", 51.44, 0.37, "DA11")


@pytest.mark.parametrize(("rows", "message"), [
    ("Gravesend,town,51.44\n", "line 3: expected 5 fields (name,kind,lat,lon,district), got 3"),
    ("Gravesend,town,51.44,0.37,DA11,x\n",
     "line 3: expected 5 fields (name,kind,lat,lon,district), got 6"),
    ("Gravesend,town,nan,0.37,DA11\n",
     "line 3: lat must be a number of degrees from -90 to 90, not 'nan'"),
    ("Gravesend,town,51.44,inf,DA11\n",
     "line 3: lon must be a number of degrees from -180 to 180, not 'inf'"),
    ("Gravesend,town,514.4,0.37,DA11\n",
     "line 3: lat must be a number of degrees from -90 to 90, not '514.4'"),
    ("Gravesend,town,51.44,,DA11\n", "line 3: lon must be a number of degrees from -180 to 180, "
                                     "not ''"),
    ("Gravesend,village,51.44,0.37,DA11\n", "line 3: kind must be town or district, not 'village'"),
    (",town,51.44,0.37,DA11\n", "line 3: name must have a letter or digit, not ''"),
    ("'-',town,51.44,0.37,DA11\n", "line 3: name must have a letter or digit, not \"'-'\""),
    ("Gravesend,town,51.44,0.37,\n", "line 3: district must not be empty"),
    ("Newington,town,51.35,0.67,ME9\n\nNEWINGTON,town,51.10,1.13,CT18\n",
     "line 5: 'NEWINGTON' repeats 'Newington' of line 3; names must differ ignoring case, "
     "spaces and punctuation"),
    ("DA11,district,51.44,0.37,DA11\nDA 11,district,51.44,0.37,DA11\n",
     "line 4: 'DA 11' repeats 'DA11' of line 3; names must differ ignoring case, spaces and "
     "punctuation"),
])
def test_a_bad_gazetteer_row_is_refused_naming_its_line(tmp_path, rows: str, message: str) -> None:
    region = gazetteer_file(tmp_path, HEADER + rows)
    with pytest.raises(RegionError) as caught:
        load_gazetteer(region)
    assert str(caught.value) == f"gazetteer {(tmp_path / 'places.csv').resolve()} {message}"


@pytest.mark.parametrize(("text", "message"), [
    ("nom,kind,lat,lon,district\nGravesend,town,51.44,0.37,DA11\n",
     " line 1: the header must be name,kind,lat,lon,district, not 'nom,kind,lat,lon,district'"),
    (HEADER, ": no places (expected a name,kind,lat,lon,district header and rows)"),
    ("", ": no places (expected a name,kind,lat,lon,district header and rows)"),
])
def test_a_gazetteer_without_a_header_or_places_is_refused(
        tmp_path, text: str, message: str) -> None:
    region = gazetteer_file(tmp_path, text)
    with pytest.raises(RegionError) as caught:
        load_gazetteer(region)
    assert str(caught.value) == f"gazetteer {(tmp_path / 'places.csv').resolve()}{message}"


def test_a_gazetteer_that_is_not_utf8_is_refused(tmp_path) -> None:
    region = gazetteer_file(tmp_path, HEADER + "Tønsberg,town,51.44,0.37,DA11\n", "latin-1")
    with pytest.raises(RegionError, match=r"^cannot read gazetteer .*places\.csv: 'utf-8' codec"):
        load_gazetteer(region)


def _gazetteer(name: str, title: str, rows: str) -> Gazetteer:
    """A gazetteer as load_gazetteer builds it, without a file."""
    places = {}
    for row in rows.split(";"):
        place_name, kind, lat, lon, district = row.split(",")
        place = Place(place_name, kind, float(lat), float(lon), district)
        places[normalise(place_name).replace(" ", "") if kind == "district"
               else normalise(place_name)] = place
    return Gazetteer(region_name=name, region_title=title, places=places)


NORTH = _gazetteer("north", "North", "Hilltop,town,51.4,0.5,NB1;NB1,district,51.4,0.5,NB1;"
                   "Newport,town,51.2,0.3,NB2")
SOUTH = _gazetteer("south", "South", "Seaside,town,50.6,0.5,SB1;SB1,district,50.6,0.5,SB1;"
                   "Newport,town,50.8,0.4,SB2")


@pytest.mark.parametrize(("query", "region", "name"), [
    ("seaside", "south", "Seaside"), ("SB1 2AB", "south", "SB1"), ("hilltop", "north", "Hilltop")])
def test_a_place_is_found_in_whichever_region_holds_it(query, region, name) -> None:
    match = search_places((NORTH, SOUTH), query)
    assert (match.place.name, match.region, match.region_title) == (
        name, region, region.title())


def test_a_name_in_two_regions_is_not_picked_but_offered_from_both() -> None:
    with pytest.raises(AmbiguousPlace) as caught:
        search_places((NORTH, SOUTH), "newport")
    assert [(m.region, m.place.lat) for m in caught.value.matches] == [
        ("north", 51.2), ("south", 50.8)]
    assert caught.value.message == (
        "Newport could be in North or South: choose the one you mean.")
    # Searching one region's gazetteer (the patient's choice) finds its own.
    assert search_places((SOUTH,), "newport").place.district == "SB2"


@pytest.mark.parametrize(("query", "message"), [
    ("Atlantis", "We could not find \"Atlantis\" in North or South. Try a town or the first "
                 "part of a postcode, for example Hilltop or NB1."),
    ("ZZ9 9ZZ", "The postcode area ZZ9 is not in North or South, which this service covers. "
                "Check the postcode, or call NHS 111."),
])
def test_a_place_in_no_region_names_every_region_searched(query, message) -> None:
    with pytest.raises(PlaceError) as caught:
        search_places((NORTH, SOUTH), query)
    assert caught.value.message == message


@pytest.mark.parametrize(("names", "text"), [
    ([], ""), (["A"], "A"), (["A", "B"], "A and B"), (["A", "B", "C"], "A, B and C")])
def test_and_list(names, text) -> None:
    assert and_list(names) == text
