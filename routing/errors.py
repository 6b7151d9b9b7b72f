"""Routing errors.

    RoutingError
    ├── OutsideCoverage   the origin is outside the area the travel model covers (API: 422)
    ├── GraphBuildError   a road graph could not be built (bad file, empty graph, site off-road)
    └── GraphCacheError   a road-graph cache is missing, incomplete, malformed, mixed or for
                          other sites
"""

from waitless.domain.errors import WaitlessError


class RoutingError(WaitlessError):
    """Base of every routing failure."""


class OutsideCoverage(RoutingError):
    """The origin is too far from anything the model covers to give an honest time."""


class GraphBuildError(RoutingError):
    """A graph or table build failed; the message says why and what to do."""


class GraphCacheError(RoutingError):
    """A road-graph cache is missing, incomplete, unreadable, malformed, mixed from several
    builds, or built for another region, mode or other sites; the message says which file and
    how to rebuild it."""
