# Included by _fastcore.pyx: the zone's offsets, a compiled site service, and the wait
# expected at arrival (CompiledService.expected, operation for operation).

cdef inline double py_floordiv(double vx, double wx):
    # CPython's float floor division (floatobject.c, float_divmod), for one sign of wx.
    cdef double mod = fmod(vx, wx)
    cdef double div = (vx - mod) / wx
    cdef double floordiv
    if mod:
        if (wx < 0) != (mod < 0):
            div -= 1.0
    if div:
        floordiv = floor(div)
        if div - floordiv > 0.5:
            floordiv += 1.0
    else:
        floordiv = copysign(0.0, vx / wx)
    return floordiv


cdef inline double py_mod(double vx, double wx):
    # CPython's float remainder.
    cdef double mod = fmod(vx, wx)
    if mod:
        if (wx < 0) != (mod < 0):
            mod += wx
    else:
        mod = copysign(0.0, wx)
    return mod


cdef class Offsets:
    """The zone's UTC offsets by absolute microseconds (an ``OffsetTable``)."""

    cdef object _keep
    cdef const int64_t[:] starts
    cdef const int64_t[:] offsets
    cdef int64_t distinct[4]
    cdef int ndistinct

    def __init__(self, starts, offsets):
        s = np.asarray(starts, dtype=np.int64)
        o = np.asarray(offsets, dtype=np.int64)
        self._keep = (s, o)
        self.starts = s
        self.offsets = o
        self.ndistinct = 0
        for value in sorted({int(x) for x in o}):
            if self.ndistinct == 4:
                self.ndistinct = -1  # never seen in practice: every request takes the Python loop
                break
            self.distinct[self.ndistinct] = value
            self.ndistinct += 1

    cdef inline bint at(self, int64_t at_abs, int64_t* out) noexcept:
        # bisect_right(starts, at) - 1, covered only inside [starts[0], starts[-1]).
        cdef Py_ssize_t lo = 0, hi = self.starts.shape[0], mid
        while lo < hi:
            mid = (lo + hi) >> 1
            if at_abs < self.starts[mid]:
                hi = mid
            else:
                lo = mid + 1
        lo -= 1
        if lo < 0 or lo >= self.starts.shape[0] - 1:
            return False
        out[0] = self.offsets[lo]
        return True

    cdef inline int for_wall(self, int64_t wall, int64_t* out) noexcept:
        # The one offset o with offset(wall - o) == o; 0 when none (a gap), 2 when two
        # (an overlap) or not covered: the caller then leaves the request to Python.
        cdef int i, found = 0
        cdef int64_t o, got = 0
        if self.ndistinct < 0:
            return 2
        for i in range(self.ndistinct):
            o = self.distinct[i]
            if not self.at(wall - o, &got):
                return 2
            if got == o:
                found += 1
                out[0] = o
        return found


cdef class CoreTable:
    """An ``HoursTable`` as the loop reads it: made once per table and region day, shared by
    every compile of the service (``waitless.ranking.core``)."""

    cdef object _keep
    cdef const int64_t[:] breaks
    cdef const int64_t[:] closing_wall  # per step; the step is closed where is_open is 0
    cdef const int64_t[:] closing_abs
    cdef const signed char[:] is_open
    cdef tuple values                   # the table's Closing objects, per step

    def __init__(self, table):
        values = tuple(table.values)
        b = np.asarray(table.breaks, dtype=np.int64)
        cw = np.array([0 if v is None else v.wall_us for v in values], dtype=np.int64)
        ca = np.array([0 if v is None else v.abs_us for v in values], dtype=np.int64)
        op = np.array([0 if v is None else 1 for v in values], dtype=np.int8)
        self._keep = (b, cw, ca, op)
        self.breaks, self.closing_wall, self.closing_abs, self.is_open = b, cw, ca, op
        self.values = values

    cdef inline int lookup(self, int64_t wall) noexcept:
        # The step holding ``wall``; -1 outside the table.
        cdef Py_ssize_t lo = 0, hi = self.breaks.shape[0], mid
        while lo < hi:
            mid = (lo + hi) >> 1
            if wall < self.breaks[mid]:
                hi = mid
            else:
                lo = mid + 1
        lo -= 1
        if lo < 0 or lo >= self.breaks.shape[0] - 1:
            return -1
        return <int>lo


cdef class CoreService:
    """A compiled site service as the loop reads it (made by ``waitless.ranking.core.pack``)."""

    cdef readonly object compiled       # the CompiledService
    cdef object treats                  # frozenset of condition codes
    cdef double min_age
    cdef int preference
    cdef bint reported_closed
    cdef CoreTable table                # None: open round the clock
    cdef list prefixes                  # per table step, made on first use
    cdef bytes prefix_24h
    cdef bytes head_json, wait_json
    # The wait at arrival: a constant ...
    cdef bint fixed
    cdef double f_p50, f_p90
    cdef bint f_p90_none
    cdef bytes f_method_conf
    # ... or the shared forecast.
    cdef bint has_level, has_trend
    cdef double level, intercept, slope, last_minutes, now_s, wait_age
    cdef double profile[BINS]
    cdef int nh
    cdef double horizons[MAX_H]
    cdef double factors[MAX_H]
    cdef readonly bint usable           # False: requests reaching it take the Python loop

    def __init__(self, compiled, treats, double min_age, int preference, bint reported_closed,
                 CoreTable table, bytes head_json, bytes wait_json, fixed, forecast, profile,
                 horizons, factors, wait_age):
        cdef int i
        self.compiled = compiled
        self.treats = treats
        self.min_age = min_age
        self.preference = preference
        self.reported_closed = reported_closed
        self.head_json = head_json
        self.wait_json = wait_json
        self.usable = True
        self.table = table
        if table is not None:
            self.prefixes = [None] * len(table.values)
        self.prefix_24h = head_json + b'null,"open_24h":true' + wait_json
        self.fixed = fixed is not None
        if fixed is not None:
            p50, p90 = fixed.p50_minutes, fixed.p90_minutes
            if type(p50) is not float or (p90 is not None and type(p90) is not float):
                self.usable = False
                return
            self.f_p50 = p50
            self.f_p90_none = p90 is None
            self.f_p90 = 0.0 if p90 is None else p90
            self.f_method_conf = _method_conf(fixed.method, fixed.confidence)
            return
        self.now_s = forecast.now_s
        self.has_level = forecast.level is not None and profile is not None
        if self.has_level:
            self.level = forecast.level
            if len(profile) != BINS:
                self.usable = False
                return
            for i in range(BINS):
                self.profile[i] = float(profile[i])
        self.has_trend = forecast.trend is not None
        if self.has_trend:
            self.intercept, self.slope = forecast.trend
        last = forecast.last_minutes
        if type(last) is not float or len(horizons) > MAX_H or wait_age is None:
            self.usable = False
            return
        self.last_minutes = last
        self.wait_age = wait_age
        self.nh = len(horizons)
        for i in range(self.nh):
            self.horizons[i] = horizons[i]
            self.factors[i] = factors[i]

    cdef bytes prefix(self, int step):
        # As FastResult.json: head, open_until, open_24h false, the wait part.
        cdef object made = self.prefixes[step]
        if made is None:
            made = self.head_json + self.table.values[step].iso_json + b',"open_24h":false' \
                + self.wait_json
            self.prefixes[step] = made
        return made


cdef dict _METHOD_CONF = {}


cdef bytes _method_conf(str method, str confidence):
    key = (method, confidence)
    made = _METHOD_CONF.get(key)
    if made is None:
        made = b',"prediction_method":"' + method.encode() + b'","confidence":"' \
            + confidence.encode()
        _METHOD_CONF[key] = made
    return made


cdef bint expected(CoreService cs, double horizon, Offsets offsets, Priced* out):
    # CompiledService.expected; False where the offset table does not cover the forecast.
    cdef double p50, p90, epoch_s, minute, pos, a, b, arrival, ahead, width, limit
    cdef double hour
    cdef int64_t off_us = 0
    cdef int lo, k, i
    cdef int method
    if cs.fixed:
        out.p50 = cs.f_p50
        out.p90 = cs.f_p90
        out.p90_none = cs.f_p90_none
        out.method = 3
        return True
    method = 2
    p50 = cs.last_minutes
    if cs.has_level:
        epoch_s = cs.now_s + horizon * 60
        hour = py_floordiv(epoch_s, 3600)
        if not offsets.at(<int64_t>hour * 3_600_000_000, &off_us):
            return False
        minute = py_mod(epoch_s + <double>(off_us // 1_000_000), 86400) / 60
        pos = minute / 30 - 0.5
        lo = <int>floor(pos)
        a = cs.profile[lo % BINS if lo % BINS >= 0 else lo % BINS + BINS]
        b = cs.profile[(lo + 1) % BINS if (lo + 1) % BINS >= 0 else (lo + 1) % BINS + BINS]
        if isnan(a):
            a = b
        if isnan(b):
            b = a
        arrival = a + (b - a) * (pos - lo)
        if isfinite(arrival):
            p50 = cs.level * arrival
            if 0.0 > p50:
                p50 = 0.0
            method = 0
    if method == 2 and cs.has_trend:
        ahead = horizon
        if 60.0 < ahead:
            ahead = 60.0
        p50 = cs.intercept + 0.5 * cs.slope * ahead
        if 0.0 > p50:
            p50 = 0.0
        method = 1
    if cs.nh:
        k = cs.nh - 1
        for i in range(cs.nh):
            if cs.horizons[i] >= horizon:
                k = i
                break
        p90 = (p50 + 1) * cs.factors[k] - 1
    else:
        p90 = p50 * 1.5
    if p50 > p90:
        p90 = p50
    width = p90 - p50
    limit = 15.0
    if 0.35 * p50 > limit:
        limit = 0.35 * p50
    out.high = (cs.wait_age <= 15 and method == 0 and cs.nh > 0 and width <= limit)
    out.p50 = p50
    out.p90 = p90
    out.p90_none = False
    out.method = method
    return True
