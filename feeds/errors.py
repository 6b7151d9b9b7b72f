"""Feed errors.

    FeedError
    ├── FeedUnavailable   the source could not be fetched (network, timeout, HTTP status)
    └── FeedParseError    the payload was fetched but is not what the adapter expects
"""

from waitless.domain.errors import WaitlessError


class FeedError(WaitlessError):
    """Base of every feed failure; ``reason`` is a short metric label."""

    reason = "error"


class FeedUnavailable(FeedError):
    reason = "unavailable"
    # Seconds the server asked us to wait (Retry-After on 429/503), when it said.
    retry_after_seconds: float | None = None

    def __init__(self, msg: str, *, reason: str = "unavailable") -> None:
        super().__init__(msg)
        self.reason = reason


class FeedParseError(FeedError):
    reason = "parse"
