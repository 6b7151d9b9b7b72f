"""The compiled straight-line estimate (routing._estimate) against its definitions.

Bit for bit against the same formula in scalar Python (``math`` calls the C library, as the
compiled module does); against the numpy version to 1e-12 relative, because numpy may use its
own vectorised ``arcsin``, which can differ in the last bit.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from routing.distance import EARTH_RADIUS_M
from routing.errors import OutsideCoverage
from routing.estimate import WALK_CIRCUITY, WALK_SPEED_KPH, EstimateTravel, drive_knots
from waitless.domain.region import DEFAULT_REGION, load_region

pytest.importorskip("routing._estimate", reason="built without a C compiler")


def _scalar_seconds(model: EstimateTravel, lat: float, lon: float) -> list[float]:
    """The estimate one site at a time in plain Python (np.interp's formula written out)."""
    knots_m, knot_seconds = (k.tolist() for k in drive_knots())
    phi1, lmb1 = math.radians(lat), math.radians(lon)
    out = []
    for phi, lmb, cos_phi in zip(model._phi.tolist(), model._lmb.tolist(),
                                 model._cos_phi.tolist(), strict=True):
        hd, hl = math.sin((phi - phi1) * 0.5), math.sin((lmb - lmb1) * 0.5)
        a = min(hd * hd + math.cos(phi1) * cos_phi * (hl * hl), 1.0)
        dist = (2 * EARTH_RADIUS_M) * math.asin(math.sqrt(a))
        if model.mode == "walk":
            out.append(dist * (WALK_CIRCUITY / (WALK_SPEED_KPH / 3.6)))
            continue
        j = max(i for i, k in enumerate(knots_m) if k <= dist)
        if j == len(knots_m) - 1 or dist == knots_m[j]:
            out.append(knot_seconds[j])
        else:
            slope = (knot_seconds[j + 1] - knot_seconds[j]) / (knots_m[j + 1] - knots_m[j])
            out.append(slope * (dist - knots_m[j]) + knot_seconds[j])
    return out


@pytest.fixture(scope="module")
def kent_sites() -> list:
    return load_region(DEFAULT_REGION).sites


@pytest.mark.parametrize("mode", ["drive", "walk"])
def test_compiled_estimate_matches_the_formula_bit_for_bit_and_numpy_closely(kent_sites,
                                                                             mode: str) -> None:
    model = EstimateTravel.for_sites(kent_sites, mode=mode, max_origin_distance_m=1e9)
    rng = np.random.default_rng(12)
    # Kent & Medway and far beyond it (long trips reach the last drive band), plus every
    # site's own position (distance 0: the fixed part alone) and points on the band edges.
    origins = [(float(a), float(b)) for a, b in zip(rng.uniform(50.0, 53.0, 3000),
                                                    rng.uniform(-3.0, 2.0, 3000), strict=True)]
    origins += [(s.lat, s.lon) for s in kent_sites]
    origins += [(kent_sites[0].lat + d / 111_195.0, kent_sites[0].lon)
                for d in (1_999.9, 2_000.0, 2_000.1, 9_999.9, 10_000.0, 10_000.1)]
    for lat, lon in origins:
        got = model.travel_seconds(lat, lon)
        assert got.dtype == np.float64 and got.shape == (len(kent_sites),)
        assert got.tolist() == _scalar_seconds(model, lat, lon), (lat, lon)
        np.testing.assert_allclose(got, model.travel_seconds_numpy(lat, lon), rtol=1e-12, atol=0)
    # Sanity of the comparison itself: the drive answers are not all the fixed part.
    assert len({round(x) for x in model.travel_seconds(51.5, -0.1).tolist()}) > 5


def test_compiled_estimate_raises_outside_coverage_like_numpy(kent_sites) -> None:
    model = EstimateTravel.for_sites(kent_sites, max_origin_distance_m=30_000.0)
    far = (53.48, -2.24)  # Manchester, far from every Kent & Medway site
    with pytest.raises(OutsideCoverage) as compiled:
        model.travel_seconds(*far)
    with pytest.raises(OutsideCoverage) as numpy:
        model.travel_seconds_numpy(*far)
    assert str(compiled.value) == str(numpy.value)
    assert "km from the nearest site; this region covers 30 km" in str(compiled.value)
    assert model.travel_seconds(51.28, 1.08).shape == (len(kent_sites),)  # Canterbury: inside


def test_compiled_kernel_refuses_arrays_that_do_not_match() -> None:
    from routing._estimate import EstimateKernel

    knots_m, knot_seconds = drive_knots()
    args = (2 * EARTH_RADIUS_M, False, 0.8, knots_m.tolist(), knot_seconds.tolist())
    with pytest.raises(ValueError, match="must match"):
        EstimateKernel([0.9, 0.91], [0.01], [0.6, 0.61], *args)
    with pytest.raises(ValueError, match="must match"):
        EstimateKernel([0.9], [0.01], [0.6], 2 * EARTH_RADIUS_M, False, 0.8, [0.0, 1.0], [1.0])
    with pytest.raises(ValueError, match="at least one knot"):
        EstimateKernel([0.9], [0.01], [0.6], 2 * EARTH_RADIUS_M, False, 0.8, [], [])
    # The kernel keeps its own copies: what the caller's lists become later changes nothing.
    phi = [math.radians(51.28)]
    kernel = EstimateKernel(phi, [math.radians(1.08)], [math.cos(phi[0])], *args)
    before = kernel.travel_seconds(51.3, 1.1)
    phi[0] = 0.0
    after = kernel.travel_seconds(51.3, 1.1)
    assert before[0].tolist() == after[0].tolist() and before[1] == after[1] > 0
