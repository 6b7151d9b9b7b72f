"""Numeric region settings refuse what no comparison catches: ``nan`` passes ``x < 0`` and
``x <= 0`` alike, and TOML writes ``nan``, ``inf`` and ``-inf`` as plainly as ``5``. Each bad
value is a RegionError whose one line names the section and the key, never a setting kept."""

import tomllib

import pytest

from tests.domain.test_region import MINIMAL
from waitless.domain.errors import RegionError
from waitless.domain.region import Region, parse_region

PROVIDER = '[[stats.providers]]\ncode = "RVV"\nname = "East Kent"\nkind = "acute"\n'


def stats(lines: str) -> str:
    """A ``[stats]`` table with one provider and ``lines``; {value} stays for the bad number."""
    return f"[stats]\n{lines}\n{PROVIDER}"


def with_section(section: str, lines: str) -> Region:
    """The minimal region with a ``[section]`` table of ``lines`` (TOML)."""
    return parse_region(tomllib.loads(MINIMAL + f"\n[{section}]\n{lines}\n"))


def refusal(section: str, lines: str) -> str:
    """The message of the RegionError that :func:`with_section` raises (fails if it loads)."""
    with pytest.raises(RegionError) as caught:
        with_section(section, lines)
    return str(caught.value)


# (section, key as the message names it, TOML with {value} for the bad number)
NUMERIC_SETTINGS = [
    ("graph", "walk_speed_kph", "[graph]\nwalk_speed_kph = {value}"),
    ("graph", "access_speed_kph", "[graph]\naccess_speed_kph = {value}"),
    ("graph", "max_snap_m", "[graph]\nmax_snap_m = {value}"),
    ("graph", "motorway", "[graph]\ndefault_speeds_kph = {{ motorway = {value} }}"),
    ("coverage", "border_km", "[coverage]\nborder_km = {value}"),
    ("stats", "target_shift_pp", stats("target_shift_pp = {value}")),
    ("stats", "amber_shift_pp", stats("target_shift_pp = 5.0\namber_shift_pp = {value}")),
    ("stats", "break_factor", stats("target_shift_pp = 5.0\nbreak_factor = {value}")),
    ("stats", "break_min_attendances",
     stats("target_shift_pp = 5.0\nbreak_min_attendances = {value}")),
    ("ranking", "stale_after_minutes", "[ranking]\nstale_after_minutes = {value}"),
    ("ranking", "ed", "[ranking]\nassumed_wait_minutes = {{ ed = {value} }}"),
    ("validation", "jump_factor", "[validation]\njump_factor = {value}"),
    ("validation", "max_wait_minutes", "[validation]\nmax_wait_minutes = {{ ed = {value} }}"),
    ("load_aware", "horizon_minutes", "[load_aware]\nhorizon_minutes = {value}"),
    ("load_aware", "follow_rate", "[load_aware]\nfollow_rate = {value}"),
]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
@pytest.mark.parametrize(("section", "key", "toml"), NUMERIC_SETTINGS,
                         ids=[f"{s}.{k}" for s, k, _ in NUMERIC_SETTINGS])
def test_a_non_finite_number_is_refused_naming_the_key(
        section: str, key: str, toml: str, value: str) -> None:
    text = MINIMAL + "\n" + toml.format(value=value) + "\n"
    with pytest.raises(RegionError) as caught:
        parse_region(tomllib.loads(text))
    message = str(caught.value)
    assert f"[{section}" in message and key in message
    assert "\n" not in message


def test_finite_values_of_the_same_keys_still_load() -> None:
    region = parse_region(tomllib.loads(
        MINIMAL + "\n[graph]\nwalk_speed_kph = 5\nmax_snap_m = 1500.5\n"
        "default_speeds_kph = { motorway = 110 }\n[coverage]\nborder_km = 0\n"
        + stats("target_shift_pp = 5.0\nbreak_factor = 2\nbreak_min_attendances = 100")))
    assert (region.graph.walk_speed_kph, region.graph.max_snap_m) == (5.0, 1500.5)
    assert region.graph.default_speeds_kph == {"motorway": 110.0}
    assert region.coverage.border_km == 0.0
    assert region.stats is not None
    assert (region.stats.break_factor, region.stats.break_min_attendances) == (2.0, 100)


@pytest.mark.parametrize(("polygon", "message"), [
    ('[["51.0", "0.0"], [51.5, 0.0], [51.5, 1.0]]',
     "[coverage] polygon: corner 0 must be [lat, lon] in degrees, two numbers, not "
     "['51.0', '0.0']"),
    ("[[true, 0.0], [51.5, 0.0], [51.5, 1.0]]",
     "[coverage] polygon: corner 0 must be [lat, lon] in degrees, two numbers, not "
     "[True, 0.0]"),
    ("[[nan, 0.0], [51.5, 0.0], [51.5, 1.0]]",
     "[coverage] polygon: corner 0 must be [lat, lon] in degrees, two numbers, not "
     "[nan, 0.0]"),
    ("[[51.0, 0.0], [51.0, 0.0], [51.0, 0.0]]", "[coverage] polygon: corner 1 repeats corner 0"),
    ("[[51.0, 0.0], [51.2, 0.5], [51.4, 1.0]]",
     "[coverage] polygon encloses no area (0 km²; at least 1 km²): are its corners on one line?"),
])
def test_a_coverage_polygon_of_text_booleans_or_no_area_is_refused(
        polygon: str, message: str) -> None:
    # float() took "51.0" and true (as 1.0, a corner off Africa) as coordinates, and a
    # polygon of one repeated point loaded and covered nothing.
    assert refusal("coverage", f"polygon = {polygon}") == message


@pytest.mark.parametrize(("line", "message"), [
    ("walk_speed_kph = 50", "walk_speed_kph must be a finite number above 0, at most 10, not 50.0"),
    ("walk_speed_kph = 0", "walk_speed_kph must be a finite number above 0, at most 10, not 0.0"),
    ("access_speed_kph = 1000",
     "access_speed_kph must be a finite number above 0, at most 200, not 1000.0"),
    ("max_snap_m = 1e7", "max_snap_m must be a finite number above 0, at most 20000, not "
                         "10000000.0"),
    ("max_snap_m = -1", "max_snap_m must be a finite number above 0, at most 20000, not -1.0"),
])
def test_a_graph_value_out_of_range_is_refused_naming_the_key(line: str, message: str) -> None:
    assert refusal("graph", line) == f"[graph]: {message}"


def test_the_graph_range_edges_load() -> None:
    graph = with_section("graph",
                         "walk_speed_kph = 10\naccess_speed_kph = 200\nmax_snap_m = 20000").graph
    assert (graph.walk_speed_kph, graph.access_speed_kph, graph.max_snap_m) == (10.0, 200.0,
                                                                               20000.0)


@pytest.mark.parametrize(("line", "message"), [
    # Before: accepted; 1e6 days then ended start-up with OverflowError (no such date).
    ("follow_window_days = 1e6",
     "follow_window_days must be a finite number above 0, at most 366, not 1000000.0"),
    ("horizon_minutes = 1441",
     "horizon_minutes must be a finite number above 0, at most 1440, not 1441"),
    ("max_adjustment_minutes = 1e9",
     "max_adjustment_minutes must be a finite number above 0, at most 1440, not 1000000000.0"),
    ("sync_seconds = 0.05", "sync_seconds must be a finite number at least 0.1, at most 600, "
                            "not 0.05"),
    ("sync_seconds = 601", "sync_seconds must be a finite number at least 0.1, at most 600, "
                           "not 601"),
    ("follow_refresh_seconds = 0.5",
     "follow_refresh_seconds must be a finite number at least 1, at most 86400, not 0.5"),
    ("follow_refresh_seconds = 86401",
     "follow_refresh_seconds must be a finite number at least 1, at most 86400, not 86401"),
    ("follow_window_days = 0",
     "follow_window_days must be a finite number above 0, at most 366, not 0"),
])
def test_a_load_aware_value_out_of_range_is_refused_naming_the_key(line: str,
                                                                  message: str) -> None:
    assert refusal("load_aware", line) == f"[load_aware]: {message}"


def test_the_load_aware_range_edges_load() -> None:
    settings = with_section(
        "load_aware", "follow_window_days = 366\nhorizon_minutes = 1440\n"
        "max_adjustment_minutes = 1440\nsync_seconds = 0.1\nfollow_refresh_seconds = 86400"
    ).load_aware
    assert (settings.follow_window_days, settings.horizon_minutes,
            settings.max_adjustment_minutes, settings.sync_seconds,
            settings.follow_refresh_seconds) == (366, 1440, 1440, 0.1, 86400)
