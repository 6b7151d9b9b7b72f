import pytest

from routing.speeds import KPH_PER_MPH, default_speed_kph, edge_speed_kph, parse_maxspeed_kph

MPH = KPH_PER_MPH


@pytest.mark.parametrize(("value", "highway", "oneway", "expected_kph"), [
    ("30 mph", "", False, 30 * MPH),
    ("30mph", "", False, 30 * MPH),
    ("50", "", False, 50.0),
    ("50 km/h", "", False, 50.0),
    ("GB:nsl_single", "primary", False, 60 * MPH),
    ("GB:nsl_dual", "trunk", True, 70 * MPH),
    ("GB:motorway", "motorway", True, 70 * MPH),
    ("UK:nsl_single", "primary", False, 60 * MPH),
    ("GB:nsl_restricted", "residential", False, 30 * MPH),
    ("national", "primary", False, 60 * MPH),
    ("nsl", "motorway", True, 70 * MPH),
    ("national", "trunk", True, 70 * MPH),
    ("national", "trunk", False, 60 * MPH),
    ("GB:nsl", "secondary", False, 60 * MPH),
    ("50;30", "", False, 30.0),
    ("40 mph;30 mph", "", False, 30 * MPH),
    (["30 mph", "50 mph"], "", False, 30 * MPH),
    ("DE:urban", "", False, 50.0),
    ("FI:rural", "", False, 80.0),
    ("DE:zone:30", "", False, 30.0),
    ("CH:motorway", "motorway", True, 120.0),
    ("10 knots", "", False, 18.52),
])
def test_maxspeed_values_are_read_in_kph(value, highway, oneway, expected_kph):
    assert parse_maxspeed_kph(value, highway=highway, oneway=oneway) == pytest.approx(expected_kph)


@pytest.mark.parametrize("value", [None, "none", "signals", "variable", "fast", "", "999", "0",
                                   "XX:unknown"])
def test_unreadable_or_implausible_maxspeed_is_none(value):
    assert parse_maxspeed_kph(value) is None


def test_list_keeps_readable_values_only():
    assert parse_maxspeed_kph("signals;40") == pytest.approx(40.0)


def test_default_speed_by_class_link_and_other():
    defaults = {"motorway": 112, "primary": 72, "primary_link": 48, "other": 33}
    assert default_speed_kph("motorway", defaults) == 112
    assert default_speed_kph("motorway_link", defaults) == 112  # no own entry: its road's
    assert default_speed_kph("primary_link", defaults) == 48
    assert default_speed_kph(["primary", "secondary"], defaults) == 72
    assert default_speed_kph("track", defaults) == 33
    assert default_speed_kph("track", {}) == 40.0


def test_edge_speed_prefers_tagged_maxspeed_then_default():
    defaults = {"residential": 32}
    assert edge_speed_kph({"highway": "residential", "maxspeed": "20 mph"}, defaults) == (
        pytest.approx(20 * MPH), "maxspeed")
    assert edge_speed_kph({"highway": "residential", "maxspeed": "none"}, defaults) == (
        32.0, "default")
    assert edge_speed_kph({"highway": "residential"}, defaults) == (32.0, "default")


@pytest.mark.parametrize(("value", "expected_mph"), [
    ("GB:zone20", 20), ("GB:zone:20", 20), ("UK:zone30", 30), ("GB:zone20 mph", 20),
    ("GB:urban", 30), ("gb:zone10", 10),
])
def test_uk_zone_codes_are_miles_per_hour(value, expected_mph):
    assert parse_maxspeed_kph(value, highway="residential") == pytest.approx(expected_mph * MPH)


@pytest.mark.parametrize(("highway", "oneway", "dual", "expected_mph"), [
    ("primary", True, None, 60),     # one-way alone does not make a road dual
    ("primary", True, True, 70),
    ("primary", False, True, 70),
    ("trunk", True, False, 60),      # an explicit "no" overrides the one-way trunk guess
    ("trunk", True, None, 70),
    ("motorway", True, False, 70),   # motorways are 70 mph whatever the tag says
])
def test_national_limit_follows_dual_carriageway_tag(highway, oneway, dual, expected_mph):
    for value in ("national", "GB:nsl"):
        assert parse_maxspeed_kph(value, highway=highway, oneway=oneway,
                                  dual_carriageway=dual) == pytest.approx(expected_mph * MPH)


def test_edge_speed_reads_uk_type_tags_where_maxspeed_is_absent():
    defaults = {"residential": 32, "primary": 72}
    street = {"highway": "residential"}
    assert edge_speed_kph({**street, "maxspeed:type": "GB:zone20"}, defaults) == (
        pytest.approx(20 * MPH), "maxspeed")
    assert edge_speed_kph({**street, "source:maxspeed": "GB:zone20"}, defaults) == (
        pytest.approx(20 * MPH), "maxspeed")
    # maxspeed wins over both; maxspeed:type over source:maxspeed.
    assert edge_speed_kph({**street, "maxspeed": "30 mph", "maxspeed:type": "GB:zone20"},
                          defaults)[0] == pytest.approx(30 * MPH)
    assert edge_speed_kph({**street, "maxspeed:type": "GB:nsl_single",
                           "source:maxspeed": "GB:zone20"}, defaults)[0] == pytest.approx(
        60 * MPH)
    # Non-codes in the source tag are not speeds: the class default applies.
    assert edge_speed_kph({**street, "source:maxspeed": "sign"}, defaults) == (32.0, "default")
    one_way_primary = {"highway": "primary", "oneway": True, "maxspeed": "national"}
    assert edge_speed_kph(one_way_primary, defaults)[0] == pytest.approx(60 * MPH)
    assert edge_speed_kph({**one_way_primary, "dual_carriageway": "yes"}, defaults)[0] == (
        pytest.approx(70 * MPH))
    assert edge_speed_kph({"highway": "primary", "source:maxspeed": "GB:nsl",
                           "dual_carriageway": "yes"}, defaults)[0] == pytest.approx(70 * MPH)
