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
