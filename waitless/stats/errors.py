"""Errors of the commissioners' statistics.

    StatsError (a WaitlessError)
    ├── NhseFormatError     a file is not a usable NHS England monthly A&E provider CSV
    └── StatsQueryError     a bad request: month ranges, organisation codes
        └── NoDataError     the request is valid but nothing is imported for it
    └── PayloadTooLarge     an upload over its limit

StatsConfigError (the region's [stats] table) is a RegionError, in waitless.domain.
The API maps them to HTTP answers (waitless.api.errors); a plain ValueError is a bug, not a 400.
"""

from waitless.domain.errors import WaitlessError


class StatsError(WaitlessError):
    """Base of every statistics failure."""


class NhseFormatError(StatsError):
    """A file is not an NHS England "A&E Attendances and Emergency Admissions" provider CSV."""


class StatsQueryError(StatsError):
    """Bad month ranges or organisation codes in a statistics request."""


class NoDataError(StatsQueryError):
    """A valid request for which no attendance rows are imported."""


class PayloadTooLarge(StatsError):
    """An uploaded body is over its limit."""
