"""The ``[coverage] polygon`` of a region file: a real area or a one-line refusal naming the file
and the corners at fault (docs/regions.md, "[coverage]")."""

from pathlib import Path

import pytest

from tests.domain.test_region import MINIMAL
from waitless.domain.errors import RegionError
from waitless.domain.region import load_region

SQUARE = "[[51.0, 0.0], [51.5, 0.0], [51.5, 1.0], [51.0, 1.0]]"


def load_polygon(tmp_path: Path, polygon: str):
    path = tmp_path / "town.toml"
    path.write_text(MINIMAL + f"\n[coverage]\npolygon = {polygon}\n")
    return path, lambda: load_region(str(path))


@pytest.mark.parametrize(("polygon", "message"), [
    # A bow tie: corners listed across the square instead of round it.
    ("[[51.0, 0.0], [51.5, 1.0], [51.5, 0.0], [51.0, 1.0]]",
     "[coverage] polygon: edges 0-1 and 2-3 cross; list the corners in order round the area"),
    ("[[51.0, 0.0], [51.5, 0.0], [51.5, 1.0], [51.0, 1.0], [51.25, 0.5], [51.6, 0.5]]",
     "[coverage] polygon: edges 1-2 and 4-5 cross; list the corners in order round the area"),
    # A spike doubling back along its own edge.
    ("[[51.0, 0.0], [51.5, 0.0], [51.5, 1.0], [51.5, 0.5]]",
     "[coverage] polygon: edges 1-2 and 2-3 cross; list the corners in order round the area"),
    ("[[51.0, 0.0], [51.5, 0.5], [52.0, 1.0]]",
     "[coverage] polygon encloses no area (0 km²; at least 1 km²): "
     "are its corners on one line?"),
    ("[[51.0, 0.0], [51.0, 0.0], [51.5, 0.5], [51.0, 1.0]]",
     "[coverage] polygon: corner 1 repeats corner 0"),
    ('[["51.0", "0.0"], ["51.5", "0.0"], ["51.5", "1.0"]]',
     "[coverage] polygon: corner 0 must be [lat, lon] in degrees, two numbers, "
     "not ['51.0', '0.0']"),
    ("[[51.0, 0.0], [true, 0.0], [51.5, 1.0]]",
     "[coverage] polygon: corner 1 must be [lat, lon] in degrees, two numbers, not [True, 0.0]"),
    ("[[51.0, 0.0], [51.5, nan], [51.5, 1.0]]",
     "[coverage] polygon: corner 1 must be [lat, lon] in degrees, two numbers, not [51.5, nan]"),
    ("[[51.0, 0.0, 3.0], [51.5, 0.0], [51.5, 1.0]]",
     "[coverage] polygon: corner 0 must be [lat, lon] in degrees, two numbers, "
     "not [51.0, 0.0, 3.0]"),
    ("[[51.0, 0.0], [95.0, 0.0], [51.5, 1.0]]",
     "[coverage] polygon: corner 1 (95.0, 0.0) is out of range"),
])
def test_a_polygon_that_is_not_an_area_is_refused(tmp_path: Path, polygon: str,
                                                   message: str) -> None:
    path, load = load_polygon(tmp_path, polygon)
    with pytest.raises(RegionError) as caught:
        load()
    assert str(caught.value) == f"{path.resolve()}: {message}"


def test_a_square_either_way_round_and_a_closed_ring_are_one_area(tmp_path: Path) -> None:
    corners = ((51.0, 0.0), (51.5, 0.0), (51.5, 1.0), (51.0, 1.0))
    assert load_polygon(tmp_path, SQUARE)[1]().coverage.polygon == corners
    clockwise = "[[51.0, 1.0], [51.5, 1.0], [51.5, 0.0], [51.0, 0.0]]"
    assert load_polygon(tmp_path, clockwise)[1]().coverage.polygon == corners[::-1]
    # GeoJSON habit: the first corner repeated at the end closes nothing new.
    closed = SQUARE.replace("]]", "], [51.0, 0.0]]")
    assert load_polygon(tmp_path, closed)[1]().coverage.polygon == corners
