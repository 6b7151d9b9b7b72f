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
from libc.stdlib cimport free, malloc

import numpy as np

cdef double _DEG_TO_RAD = 3.141592653589793 / 180.0  # as CPython's math.radians


cdef double *_copy(values) except NULL:
    """A malloc'd C copy of a sequence of floats (freed by the kernel's ``__dealloc__``)."""
    cdef Py_ssize_t i, n = len(values)
    cdef double *out = <double *> malloc(max(n, 1) * sizeof(double))
    if out == NULL:
        raise MemoryError()
    for i in range(n):
        out[i] = values[i]
    return out


cdef class EstimateKernel:
    """The per-site terms of one region's estimate as C arrays, made once.

    Per request, typed memoryviews over the six numpy arrays cost more than the arithmetic
    (a buffer acquisition each: ~3 of the ~4 µs per call for 17 sites); C copies cost none.
    ``knots_m`` must be increasing, as :func:`routing.estimate.drive_knots` makes them.
    """

    cdef double *phi
    cdef double *lmb
    cdef double *cos_phi
    cdef double *knots_m
    cdef double *knot_seconds
    cdef Py_ssize_t n, last
    cdef double earth_diameter_m, walk_seconds_per_m
    cdef bint walk

    def __cinit__(self, phi, lmb, cos_phi, double earth_diameter_m, bint walk,
                  double walk_seconds_per_m, knots_m, knot_seconds):
        if not (len(phi) == len(lmb) == len(cos_phi)) or len(knots_m) != len(knot_seconds):
            raise ValueError("per-site arrays and knot arrays must match in length")
        if len(knots_m) == 0:
            raise ValueError("at least one knot is needed")
        self.n, self.last = len(phi), len(knots_m) - 1
        self.phi, self.lmb, self.cos_phi = _copy(phi), _copy(lmb), _copy(cos_phi)
        self.knots_m, self.knot_seconds = _copy(knots_m), _copy(knot_seconds)
        self.earth_diameter_m, self.walk = earth_diameter_m, walk
        self.walk_seconds_per_m = walk_seconds_per_m

    def __dealloc__(self):
        free(self.phi)
        free(self.lmb)
        free(self.cos_phi)
        free(self.knots_m)
        free(self.knot_seconds)

    def travel_seconds(self, double lat, double lon):
        """Return (seconds to each site as a new float64 array, the nearest site's distance
        in meters)."""
        cdef Py_ssize_t n = self.n, i, j, last = self.last
        cdef double phi1 = lat * _DEG_TO_RAD, lmb1 = lon * _DEG_TO_RAD
        cdef double cos_phi1, hd, hl, a, dist, nearest = float("inf"), slope, value
        cdef double *phi = self.phi
        cdef double *lmb = self.lmb
        cdef double *cos_phi = self.cos_phi
        cdef double *knots_m = self.knots_m
        cdef double *knot_seconds = self.knot_seconds
        cos_phi1 = cos(phi1)  # the libm call Python's math.cos makes in the numpy version
        out = np.empty(n)
        cdef double[::1] seconds = out
        for i in range(n):
            hd = sin((phi[i] - phi1) * 0.5)
            hl = sin((lmb[i] - lmb1) * 0.5)
            a = hd * hd + (cos_phi1 * cos_phi[i]) * (hl * hl)
            if a > 1.0:
                a = 1.0
            dist = self.earth_diameter_m * asin(sqrt(a))
            if dist < nearest:
                nearest = dist
            if self.walk:
                seconds[i] = dist * self.walk_seconds_per_m
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
                    slope = ((knot_seconds[j + 1] - knot_seconds[j])
                             / (knots_m[j + 1] - knots_m[j]))
                    value = slope * (dist - knots_m[j]) + knot_seconds[j]
                    seconds[i] = value
        return out, nearest
