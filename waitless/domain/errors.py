"""The root of every error WaitLess raises on purpose.

::

    WaitlessError
    ├── ConfigError (also a ValueError)   settings, options, region files
    │   └── RegionError                    a region file; its message names the file and key
    │       └── StatsConfigError           the region's [stats] table
    ├── HoursError, PlaceError             opening-hours text, a place a patient typed
    ├── feeds.errors.FeedError             a feed cannot be fetched or parsed
    ├── routing.errors.RoutingError        graph builds, caches, coverage
    ├── StoreError                         the live store does not answer (waitless.live.store)
    ├── waitless.events: DatabaseUnavailable (DatabaseDown), SpoolFull
    ├── waitless.stats.errors.StatsError   bad statistics requests or files
    └── waitless.api.query.QueryError      a bad query parameter

Each package derives its errors from these; the API maps them to HTTP answers in one place
(:mod:`waitless.api.errors`) and the command line to exit status 2, so anything that is not a
``WaitlessError`` is a bug and is answered (and logged) as one.
"""

from __future__ import annotations


class WaitlessError(Exception):
    """Something WaitLess expected could go wrong: bad input, bad data, a missing service."""


class ConfigError(WaitlessError, ValueError):
    """A setting, command-line option or configuration file with a value that cannot work."""


class RegionError(ConfigError):
    """A region file that is missing, unreadable or inconsistent; the message names the key."""


class StoreError(WaitlessError):
    """The live store could not be reached or answered badly.

    Defined here (re-exported by :mod:`waitless.live.store`) so the feed pollers, which may
    import only ``waitless.domain``, can tell a store outage from a feed failure.
    """
