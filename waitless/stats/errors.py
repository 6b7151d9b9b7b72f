"""Errors of the commissioners' statistics.

    StatsError (ValueError)
    ├── NhseFormatError     a file is not a usable NHS England monthly A&E provider CSV
    ├── StatsConfigError    the region's [stats] table is missing or inconsistent
    └── StatsQueryError     a bad request: month ranges, organisation codes
        └── NoDataError     the request is valid but nothing is imported for it

Every one is a ``ValueError`` so a caller can map all of them to "bad request" (HTTP 400).
"""


class StatsError(ValueError):
    """Base of every statistics failure."""


class NhseFormatError(StatsError):
    """A file is not an NHS England "A&E Attendances and Emergency Admissions" provider CSV."""


class StatsConfigError(StatsError):
    """The region's ``[stats]`` table is missing or inconsistent."""


class StatsQueryError(StatsError):
    """Bad month ranges or organisation codes in a statistics request."""


class NoDataError(StatsQueryError):
    """A valid request for which no attendance rows are imported."""
