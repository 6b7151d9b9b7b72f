"""Edge snapping on real extracts against networkx on the UNSIMPLIFIED graph (issue 14, item 1).

Sites and origins lie on roads mid-way between junctions; ``routing.snapcheck`` computes the
reference by inserting them into the raw osmnx graph (no simplification, no scipy, no snapping
code), which is what a patient standing on that road would drive.
"""

import numpy as np
import pytest

from routing.snapcheck import compare_extract
from tests.conftest import shared_path

from .conftest import helsinki_pbf

pytestmark = pytest.mark.slow

# (extract, mode, nearest junction at least this far from each point in meters, max_snap_m,
# fewest origins that qualify): in Liechtenstein max_snap_m is set below the junction distance,
# so nearest-junction snapping would have refused every site and origin as "off the road".
# Central Helsinki's walk graph is dense (footways beside every street): few points qualify.
CASES = {
    "liechtenstein-drive": (lambda: shared_path("data", "osm", "liechtenstein.osm.pbf"),
                            "drive", 150.0, 100.0, 40),
    "helsinki-drive": (helsinki_pbf, "drive", 40.0, None, 40),
    "helsinki-walk": (helsinki_pbf, "walk", 30.0, None, 10),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def comparison(request, tmp_path_factory):
    path_of, mode, min_junction_m, max_snap_m, fewest = CASES[request.param]
    result = compare_extract(path_of(), tmp_path_factory.mktemp(request.param), n_origins=50,
                             n_sites=3, min_junction_m=min_junction_m, max_snap_m=max_snap_m,
                             mode=mode)
    assert len(result.got_s) >= fewest
    return result


def test_travel_matches_networkx_on_the_unsimplified_graph(comparison):
    got, expected = comparison.got_s, comparison.expected_s
    assert got.shape == expected.shape and got.shape[1] == 3
    assert np.isfinite(expected).all()
    outside = ~comparison.within(rel=0.02, abs_s=30.0)
    assert not outside.any(), (got[outside], expected[outside])
    # In fact exact to float32 rounding: the same raw pieces, summed in another order.
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=0.05)


def test_points_are_where_nearest_junction_snapping_went_wrong(comparison):
    # The sample exercises the bug: the old snapping misses several of these pairs by more
    # than the tolerance (in Liechtenstein most, in central Helsinki's short blocks a few),
    # the new one none.
    assert np.median(comparison.junction_m) >= 30
    old_wrong = comparison.error_s("old") > 0.02 * comparison.expected_s + 30
    assert old_wrong.sum() >= 3
