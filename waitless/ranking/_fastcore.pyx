# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The per-candidate loop of :mod:`waitless.ranking.fast` and its JSON, compiled (issue 12).

The Python ``_rank_sites`` and ``FastResult.json`` stay the definition: this module does the
same arithmetic, in the same order, on C doubles and 64-bit integers, so the answer is the same
byte for byte (``tests/ranking/test_fast_equivalence.py`` runs every scene through both). It
handles the common request only; :func:`rank_core` returns ``None`` (the caller then runs the
Python loop) for anything rarer: an arrival outside the hours tables, a wall-clock arrival in a
daylight-saving gap or overlap, a figure that is not a Python float.

Numbers are rendered with CPython's own ``PyOS_double_to_string`` at one decimal: the same
correctly rounded digits as ``round(x, 1)``, and ``orjson.dumps`` of that float prints exactly
those digits for values of this size (minutes, well under 1e16).
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from libc.math cimport copysign, fabs, floor, fma, fmod, isfinite, isnan, rint, signbit, trunc
from libc.stdint cimport int64_t
from libc.string cimport memcpy, strchr, strlen

from datetime import timedelta

import numpy as np

cdef enum:
    BINS = 48    # half-hour profile bins (waitless.ranking.predict._BINS)
    MAX_H = 16   # p90 horizons held inline; a model with more takes the Python loop

cdef int64_t DAY_US = 86_400_000_000

# Reasons, in the order of waitless.ranking.results.EXCLUSION_REASONS (set by configure()).
cdef int R_NONE = -1
cdef int R_CANNOT_TREAT = 0
cdef int R_BELOW_MIN_AGE = 1
cdef int R_CLOSED_AT_ARRIVAL = 2
cdef int R_CLOSES_SOON = 3
cdef int R_REPORTED_CLOSED = 4
cdef list _REASONS = []
cdef str _UNREACHABLE = "unreachable"

cdef bytes _P90 = b',"predicted_wait_p90_minutes":'
cdef bytes _TRAVEL = b'","travel_minutes":'
cdef bytes _SOURCE = b',"travel_source":'
cdef bytes _ARRIVAL = b',"arrival_at":"'
cdef bytes _TOTAL = b'","total_minutes":'
cdef bytes _TAIL = b',"load_adjustment_minutes":0.0}'


def configure(reasons):
    """The exclusion reasons in their order of precedence, as Python strings."""
    global _REASONS
    _REASONS = list(reasons)
    expected = ["cannot_treat", "below_min_age", "closed_at_arrival",
                "closes_soon_after_arrival", "reported_closed"]
    if _REASONS[:5] != expected or _UNREACHABLE not in _REASONS:
        raise ValueError(f"exclusion reasons changed: {_REASONS}")


cdef struct Priced:
    int site
    int svc_slot            # index into the per-request list of chosen CoreService
    int step                # hours step, -1: no table
    bint open_24h
    int64_t step_us
    int64_t arrival_wall    # for the timestamp (in the depart's zone or offset)
    int64_t arrival_offset  # microseconds
    double travel_minutes
    double total_minutes
    double total_r, travel_r
    double p50, p90
    bint p90_none
    int method              # 0 seasonal, 1 trend, 2 now, 3 fixed
    bint high


include "_fastcore_render.pxi"
include "_fastcore_service.pxi"


cdef class CoreResult:
    """One shown result of the compiled loop, with what the event row and the load tracker
    read (as ``FastResult``)."""

    cdef readonly object compiled
    cdef readonly object site
    cdef readonly double travel_minutes
    cdef readonly double total_minutes
    cdef readonly double load_minutes
    cdef object _depart
    cdef int64_t _step_us

    @property
    def service(self):
        return self.compiled.service

    @property
    def arrival(self):
        return self._depart + timedelta(microseconds=self._step_us)


cdef inline int64_t travel_us(double seconds) noexcept:
    # timedelta(seconds=s) in whole microseconds (as compiled_hours.travel_microseconds).
    cdef double whole = trunc(seconds)
    return <int64_t>whole * 1_000_000 + <int64_t>rint((seconds - whole) * 1e6)


cdef list _METHODS = ["seasonal", "trend", "now"]


def rank_core(refresh, list site_lists, list site_from, list site_until,
              list seconds_list, list candidates, depart,
              int64_t depart_abs, int64_t depart_wall, bint same_zone,
              int64_t depart_offset, int64_t margin_us, condition, age, int64_t now_us,
              Offsets offsets, int limit, bytes source_json, dict excluded_json, sites):
    """The candidates priced, sorted and rendered; ``None`` where the Python loop must run.

    Returns ``(results, results_json, excluded_json)``: the shown results (``CoreResult``),
    the JSON array of them and of the excluded sites, as ``FastAnswer`` holds them.
    """
    cdef Py_ssize_t n = len(candidates), j, count = 0, t, shown
    cdef Priced* priced = <Priced*>PyMem_Malloc((n + 1) * sizeof(Priced))
    cdef list chosen = []
    cdef list excluded = []
    cdef Priced p
    cdef CoreService cs, best_cs
    cdef CoreTable table
    cdef int i, reason, reason_best, step, best_step
    cdef bint open_24h, best_open, have_best
    cdef double seconds, age_value = 0.0, horizon
    cdef bint has_age = age is not None
    cdef bint has_condition = condition is not None
    cdef int64_t step_us, arrival_abs, arrival_wall, left
    cdef int64_t offset = 0, arr_offset = 0  # out-parameters
    cdef list services
    cdef Buf out
    out.data = NULL
    out.size = 0
    out.cap = 0
    if priced == NULL:
        raise MemoryError()
    if has_age:
        age_value = age
    try:
        for j in range(n):
            i = candidates[j]
            seconds = seconds_list[i]
            if not isfinite(seconds):
                excluded.append((i, _UNREACHABLE))
                continue
            step_us = travel_us(seconds)
            arrival_abs = depart_abs + step_us
            if same_zone:
                arrival_wall = depart_wall + step_us
            else:
                if not offsets.at(arrival_abs, &offset):
                    return None
                arrival_wall = arrival_abs + offset
            services = site_lists[i]
            if services is None or not (site_from[i] <= now_us < site_until[i]):
                services = refresh(i)
            have_best = False
            reason_best = R_NONE
            best_step = -1
            best_open = False
            best_cs = None
            for obj in services:
                cs = <CoreService>obj
                if not cs.usable:
                    return None
                reason = R_NONE
                step = -1
                open_24h = False
                if has_condition and condition not in cs.treats:
                    reason = R_CANNOT_TREAT
                elif has_age and age_value < cs.min_age:
                    reason = R_BELOW_MIN_AGE
                elif cs.table is None:
                    open_24h = True
                else:
                    table = cs.table
                    step = table.lookup(arrival_wall)
                    if step < 0:
                        return None  # outside the tables: the reference hours check
                    if not table.is_open[step]:
                        reason = R_CLOSED_AT_ARRIVAL
                    else:
                        if same_zone:
                            left = table.closing_wall[step] - arrival_wall
                        else:
                            left = table.closing_abs[step] - arrival_abs
                        if left < margin_us:
                            reason = R_CLOSES_SOON
                        open_24h = left > DAY_US
                if reason == R_NONE and cs.reported_closed:
                    reason = R_REPORTED_CLOSED
                if reason == R_NONE:
                    if not have_best or cs.preference < best_cs.preference:
                        have_best = True
                        best_cs, best_step, best_open = cs, step, open_24h
                elif reason_best == R_NONE or reason < reason_best:
                    reason_best = reason
            if not have_best:
                excluded.append((i, _REASONS[reason_best]))
                continue
            # The arrival as a datetime would hold it: wall clock and offset in its zone.
            if same_zone:
                if offsets.for_wall(arrival_wall, &arr_offset) != 1:
                    return None  # a gap or an overlap: Python's fold rules decide
                arrival_abs = arrival_wall - arr_offset
                p.arrival_wall = arrival_wall
                p.arrival_offset = arr_offset
            else:
                p.arrival_wall = arrival_abs + depart_offset
                p.arrival_offset = depart_offset
            horizon = (<double>(arrival_abs - now_us) / 1e6) / 60
            if 0.0 > horizon:  # max(horizon, 0.0)
                horizon = 0.0
            if not expected(best_cs, horizon, offsets, &p):
                return None
            p.site = i
            p.svc_slot = len(chosen)
            chosen.append(best_cs)
            p.step = best_step
            p.open_24h = best_open
            p.step_us = step_us
            p.travel_minutes = seconds / 60
            p.total_minutes = p.travel_minutes + p.p50
            p.total_r = round1(p.total_minutes)
            p.travel_r = round1(p.travel_minutes)
            # Stable insertion by (total, travel) rounded, as list.sort on the same key.
            t = count
            while t > 0 and (p.total_r < priced[t - 1].total_r or (
                    p.total_r == priced[t - 1].total_r and p.travel_r < priced[t - 1].travel_r)):
                priced[t] = priced[t - 1]
                t -= 1
            priced[t] = p
            count += 1
        shown = count if count < limit else limit
        results = []
        buf_add(&out, b"[", 1)
        for t in range(shown):
            p = priced[t]
            cs = <CoreService>chosen[p.svc_slot]
            if t:
                buf_add(&out, b",", 1)
            if p.open_24h:
                buf_bytes(&out, cs.prefix_24h)
            else:
                buf_bytes(&out, cs.prefix(p.step))
            buf_num1(&out, p.p50)
            buf_bytes(&out, _P90)
            if p.p90_none:
                buf_add(&out, b"null", 4)
            else:
                buf_num1(&out, p.p90)
            if p.method == 3:
                buf_bytes(&out, cs.f_method_conf)
            else:
                buf_bytes(&out, _method_conf(_METHODS[p.method], "high" if p.high else "medium"))
            buf_bytes(&out, _TRAVEL)
            buf_num1(&out, p.travel_r)
            buf_bytes(&out, _SOURCE)
            buf_bytes(&out, source_json)
            buf_bytes(&out, _ARRIVAL)
            buf_iso(&out, p.arrival_wall, p.arrival_offset)
            buf_bytes(&out, _TOTAL)
            buf_num1(&out, p.total_r)
            buf_bytes(&out, _TAIL)
            made = CoreResult.__new__(CoreResult)
            (<CoreResult>made).compiled = cs.compiled
            (<CoreResult>made).site = sites[p.site]
            (<CoreResult>made).travel_minutes = p.travel_minutes
            (<CoreResult>made).total_minutes = p.total_minutes
            (<CoreResult>made).load_minutes = 0.0
            (<CoreResult>made)._depart = depart
            (<CoreResult>made)._step_us = p.step_us
            results.append(made)
        buf_add(&out, b"]", 1)
        results_json = PyBytes_FromStringAndSize(out.data, out.size)
        out.size = 0
        buf_add(&out, b"[", 1)
        for j in range(len(excluded)):
            if j:
                buf_add(&out, b",", 1)
            buf_bytes(&out, excluded_json[excluded[j]])
        buf_add(&out, b"]", 1)
        return results, results_json, PyBytes_FromStringAndSize(out.data, out.size)
    finally:
        PyMem_Free(priced)
        PyMem_Free(out.data)
