# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The straight-line estimate's per-request arithmetic, compiled (issue 12).

:meth:`routing.estimate.EstimateTravel.travel_seconds` in numpy made about a dozen array calls
per request (each ~1 µs for a region's 17 sites); this does the same operations in the same
order on C doubles in one pass. It uses the C library's ``sin`` and ``asin`` where numpy may
use its own vectorised versions, which can differ in the last bit (seen: ``np.arcsin`` on an
AVX-512 machine, 1 value in 10); ``tests/routing/test_estimate_compiled.py`` checks it against
a scalar ``math`` version bit for bit and against numpy to 1e-12.
"""

from libc.math cimport asin, cos, sin, sqrt

import numpy as np

cdef double _DEG_TO_RAD = 3.141592653589793 / 180.0  # as CPython's math.radians


def travel_seconds_into(double lat, double lon, const double[::1] phi, const double[::1] lmb,
                        const double[::1] cos_phi, double earth_diameter_m, bint walk,
                        double walk_seconds_per_m, const double[::1] knots_m,
                        const double[::1] knot_seconds):
    """Return (seconds to each site as a new float64 array, the nearest site's distance in
    meters). ``knots_m`` must be increasing, as :func:`routing.estimate.drive_knots` makes
    them."""
    cdef Py_ssize_t n = phi.shape[0], i, j, last = knots_m.shape[0] - 1
    cdef double phi1 = lat * _DEG_TO_RAD, lmb1 = lon * _DEG_TO_RAD
    cdef double cos_phi1, hd, hl, a, dist, nearest = float("inf"), slope, value
    cos_phi1 = cos(phi1)  # the libm call Python's math.cos makes in the numpy version
    out = np.empty(n)
    cdef double[::1] seconds = out
    for i in range(n):
        hd = sin((phi[i] - phi1) * 0.5)
        hl = sin((lmb[i] - lmb1) * 0.5)
        a = hd * hd + (cos_phi1 * cos_phi[i]) * (hl * hl)
        if a > 1.0:
            a = 1.0
        dist = earth_diameter_m * asin(sqrt(a))
        if dist < nearest:
            nearest = dist
        if walk:
            seconds[i] = dist * walk_seconds_per_m
            continue
        # np.interp: clamp at the ends, else the line through the knots around dist.
        if dist >= knots_m[last]:
            seconds[i] = knot_seconds[last]
        elif dist <= knots_m[0]:
            seconds[i] = knot_seconds[0]
        else:
            j = 0
            while knots_m[j + 1] <= dist:
                j += 1
            if dist == knots_m[j]:
                seconds[i] = knot_seconds[j]
            else:
                slope = (knot_seconds[j + 1] - knot_seconds[j]) / (knots_m[j + 1] - knots_m[j])
                value = slope * (dist - knots_m[j]) + knot_seconds[j]
                seconds[i] = value
    return out, nearest
