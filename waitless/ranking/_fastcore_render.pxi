# Included by _fastcore.pyx: the JSON text of a result, written into one growing buffer.

cdef extern from "Python.h":
    char* PyOS_double_to_string(double val, char format_code, int precision, int flags,
                                int *type) except NULL
    double PyOS_string_to_double(const char *s, char **endptr,
                                 object overflow_exception) except? -1.0
    int Py_DTSF_ADD_DOT_0


cdef struct Buf:
    char* data
    Py_ssize_t size
    Py_ssize_t cap


cdef int buf_add(Buf* b, const char* s, Py_ssize_t n) except -1:
    cdef Py_ssize_t need = b.size + n
    cdef char* grown
    if need > b.cap:
        while b.cap < need:
            b.cap = b.cap * 2 if b.cap else 16384  # a 17-site answer is ~10 KB: no regrowth
        grown = <char*>PyMem_Realloc(b.data, b.cap)
        if grown == NULL:
            raise MemoryError()
        b.data = grown
    memcpy(b.data + b.size, s, n)
    b.size = need
    return 0


cdef inline int buf_bytes(Buf* b, bytes s) except -1:
    return buf_add(b, PyBytes_AS_STRING(s), PyBytes_GET_SIZE(s))


cdef bint tenths(double x, int64_t* n) noexcept:
    # n = the integer nearest to 10·|x|, ties to even, from the exact product: round(x, 1) is
    # then copysign(n / 10, x) (IEEE division rounds n / 10 correctly, as strtod reads the
    # digits CPython's round makes). Much cheaper than dtoa; False where it does not apply.
    cdef double a = fabs(x), hi, lo, whole, frac
    if not (a < 1e13):  # also NaN and infinities
        return False
    hi = a * 10.0
    lo = fma(a, 10.0, -hi)  # the exact 10·|x| is hi + lo, |lo| at most half an ulp of hi
    whole = floor(hi)
    frac = hi - whole       # exact
    # frac is a multiple of hi's ulp, so frac != 0.5 decides alone; at 0.5, lo does (and an
    # exact tie goes to the even neighbour).
    if frac > 0.5 or (frac == 0.5 and (lo > 0.0 or (lo == 0.0 and fmod(whole, 2.0) != 0.0))):
        whole += 1.0
    n[0] = <int64_t>whole
    return True


cdef inline int digits_before(char* out, int end, int64_t n) noexcept:
    # The decimal digits of n >= 0 written to end just before out[end]; returns where they
    # start.
    while True:
        end -= 1
        out[end] = <char>(48 + n % 10)
        n //= 10
        if n == 0:
            return end


cdef int buf_num1(Buf* b, double x) except -1:
    # orjson.dumps(round(x, 1)) for a finite float of this size.
    cdef int64_t n
    cdef char out[24]
    cdef int i = 24
    cdef char* text
    if tenths(x, &n):
        i -= 1
        out[i] = <char>(48 + n % 10)
        i -= 1
        out[i] = b'.'
        i = digits_before(out, i, n // 10)
        if signbit(x):
            i -= 1
            out[i] = b'-'
        return buf_add(b, out + i, 24 - i)
    text = PyOS_double_to_string(x, b'f', 1, 0, NULL)
    try:
        buf_add(b, text, strlen(text))
    finally:
        PyMem_Free(text)
    return 0


cdef double round1(double x) except? -1.0:
    # round(x, 1): the same correctly rounded digits, read back.
    cdef int64_t n
    cdef char* text
    cdef double value
    if tenths(x, &n):
        return copysign(<double>n / 10.0, x)
    text = PyOS_double_to_string(x, b'f', 1, 0, NULL)
    try:
        value = PyOS_string_to_double(text, NULL, None)
    finally:
        PyMem_Free(text)
    return value


def round1_for_tests(double x):
    """round1 (``round(x, 1)``), for the tests."""
    return round1(x)


def num1_for_tests(double x):
    """buf_num1's text (``orjson.dumps(round(x, 1))``), for the tests."""
    cdef Buf b
    b.data = NULL
    b.size = b.cap = 0
    try:
        buf_num1(&b, x)
        return PyBytes_FromStringAndSize(b.data, b.size)
    finally:
        PyMem_Free(b.data)


cdef int buf_iso(Buf* b, int64_t wall_us, int64_t offset_us) except -1:
    # datetime.isoformat() of a wall-clock time and its UTC offset (whole seconds).
    cdef char out[48]
    # Integer // and % here floor like Python's (the module keeps cdivision off).
    cdef int64_t days = wall_us // DAY_US
    cdef int64_t rest = wall_us - days * DAY_US
    cdef int64_t micro = rest % 1_000_000
    cdef int64_t secs = rest // 1_000_000
    cdef int64_t z, era, doe, yoe, y, doy, mp, d, m
    cdef int n
    cdef int64_t off_s, oh, om, osec
    cdef char sign
    # Civil date from days since 1970-01-01 (proleptic Gregorian).
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    if m <= 2:
        y += 1
    if y < 1 or y > 9999:
        raise OverflowError("date out of range")
    out[0] = <char>(48 + y // 1000)
    out[1] = <char>(48 + (y // 100) % 10)
    out[2] = <char>(48 + (y // 10) % 10)
    out[3] = <char>(48 + y % 10)
    out[4] = b'-'
    out[5] = <char>(48 + m // 10)
    out[6] = <char>(48 + m % 10)
    out[7] = b'-'
    out[8] = <char>(48 + d // 10)
    out[9] = <char>(48 + d % 10)
    out[10] = b'T'
    out[11] = <char>(48 + secs // 36000)
    out[12] = <char>(48 + (secs // 3600) % 10)
    out[13] = b':'
    out[14] = <char>(48 + ((secs // 60) % 60) // 10)
    out[15] = <char>(48 + (secs // 60) % 10)
    out[16] = b':'
    out[17] = <char>(48 + (secs % 60) // 10)
    out[18] = <char>(48 + secs % 10)
    n = 19
    if micro:
        out[19] = b'.'
        for i in range(6):
            out[25 - i] = <char>(48 + micro % 10)
            micro //= 10
        n = 26
    if offset_us % 1_000_000:
        raise ValueError("sub-second UTC offset")
    off_s = offset_us // 1_000_000
    sign = b'+'
    if off_s < 0:
        sign = b'-'
        off_s = -off_s
    oh, om, osec = off_s // 3600, (off_s // 60) % 60, off_s % 60
    out[n] = sign
    out[n + 1] = <char>(48 + oh // 10)
    out[n + 2] = <char>(48 + oh % 10)
    out[n + 3] = b':'
    out[n + 4] = <char>(48 + om // 10)
    out[n + 5] = <char>(48 + om % 10)
    n += 6
    if osec:
        out[n] = b':'
        out[n + 1] = <char>(48 + osec // 10)
        out[n + 2] = <char>(48 + osec % 10)
        n += 3
    return buf_add(b, out, n)


# The whole /v1/rank body (FastAnswer.body_json): orjson.dumps of its dictionary, written into
# one buffer. Served, building that dictionary and letting orjson copy the results into a
# growing buffer cost about as much as the ranking itself (docs/benchmarks.md, issue 12).
cdef bytes _B_ORIGIN = b'{"origin":{"lat":'
cdef bytes _B_LON = b',"lon":'
cdef bytes _B_MODE = b',"mode":'
cdef bytes _B_GENERATED = b'},"generated_at":"'
cdef bytes _B_DEPART = b'","depart_at":"'
cdef bytes _B_CONDITION = b'","condition":'
cdef bytes _B_AGE = b',"age":'
cdef bytes _B_RESULTS = b',"results":'
cdef bytes _B_EXCLUDED = b',"excluded":'
cdef bytes _B_ADVICE = b',"emergency":null,"advice":'
cdef bytes _B_OMITTED = b',"omitted_far_sites":'
cdef bytes _B_REGION = b',"region":'
cdef bytes _B_EVENT = b',"event_id":'


cdef int buf_value(Buf* b, object value, object dumps) except -1:
    # orjson.dumps(value). A float takes repr's shortest digits, which orjson prints too except
    # in exponent form (repr 1e-05, orjson 0.00001): those, and anything not a float, go to
    # ``dumps``.
    cdef char* text
    cdef bint plain = False
    if value is None:
        return buf_add(b, b"null", 4)
    if type(value) is float:
        text = PyOS_double_to_string(<double>value, b'r', 0, Py_DTSF_ADD_DOT_0, NULL)
        try:
            plain = strchr(text, b'e') == NULL
            if plain:
                buf_add(b, text, strlen(text))
        finally:
            PyMem_Free(text)
        if plain:
            return 0
    return buf_bytes(b, dumps(value))


cdef int buf_count(Buf* b, Py_ssize_t n) except -1:
    # A non-negative whole number in decimal.
    cdef char out[24]
    cdef int i = digits_before(out, 24, n)
    return buf_add(b, out + i, 24 - i)


def render_body(lat, lon, bytes mode_json, int64_t now_wall_us, int64_t now_offset_us,
                int64_t depart_wall_us, int64_t depart_offset_us, bytes condition_json, age,
                bytes results_json, bytes excluded_json, bytes advice_json,
                Py_ssize_t omitted_far_sites, bytes region_json, bytes event_id_json, dumps):
    """The ``/v1/rank`` body of a fast answer, byte for byte ``orjson.dumps`` of its
    dictionary (``FastAnswer.body_json``): ``*_json`` arguments are already JSON; times are
    wall-clock microseconds and UTC offsets in microseconds (whole seconds, else
    ``ValueError``); ``dumps`` is ``orjson.dumps``, for the rare number it must print."""
    cdef Buf out
    if omitted_far_sites < 0:
        raise ValueError("omitted_far_sites < 0")
    out.size = 0
    out.cap = PyBytes_GET_SIZE(results_json) + PyBytes_GET_SIZE(excluded_json) + 1024
    out.data = <char*>PyMem_Malloc(out.cap)
    if out.data == NULL:
        raise MemoryError()
    try:
        buf_bytes(&out, _B_ORIGIN)
        buf_value(&out, lat, dumps)
        buf_bytes(&out, _B_LON)
        buf_value(&out, lon, dumps)
        buf_bytes(&out, _B_MODE)
        buf_bytes(&out, mode_json)
        buf_bytes(&out, _B_GENERATED)
        buf_iso(&out, now_wall_us, now_offset_us)
        buf_bytes(&out, _B_DEPART)
        buf_iso(&out, depart_wall_us, depart_offset_us)
        buf_bytes(&out, _B_CONDITION)
        buf_bytes(&out, condition_json)
        buf_bytes(&out, _B_AGE)
        buf_value(&out, age, dumps)
        buf_bytes(&out, _B_RESULTS)
        buf_bytes(&out, results_json)
        buf_bytes(&out, _B_EXCLUDED)
        buf_bytes(&out, excluded_json)
        buf_bytes(&out, _B_ADVICE)
        buf_bytes(&out, advice_json)
        buf_bytes(&out, _B_OMITTED)
        buf_count(&out, omitted_far_sites)
        buf_bytes(&out, _B_REGION)
        buf_bytes(&out, region_json)
        buf_bytes(&out, _B_EVENT)
        buf_bytes(&out, event_id_json)
        buf_add(&out, b"}", 1)
        return PyBytes_FromStringAndSize(out.data, out.size)
    finally:
        PyMem_Free(out.data)
