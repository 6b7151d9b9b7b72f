"""Feed adapters: each turns a fetched payload into observations and does nothing else.

Every adapter is a function with this signature, registered here by format name::

    parse(body: bytes, *, feed_name: str, fetched_at: datetime,
          options: Mapping[str, Any]) -> list[Observation]

``options`` are the feed's extra keys from the region file. Adapters raise
:class:`feeds.errors.FeedParseError` with a message that names the problem.
"""

from __future__ import annotations

from collections.abc import Callable

from feeds.adapters import native
from feeds.observation import Observation

Adapter = Callable[..., list[Observation]]

ADAPTERS: dict[str, Adapter] = {
    "native": native.parse,
}


def get_adapter(format_name: str) -> Adapter:
    """The adapter for ``format_name``; ``ValueError`` naming the known formats otherwise."""
    try:
        return ADAPTERS[format_name]
    except KeyError:
        msg = f"unknown feed format {format_name!r}; known: {', '.join(sorted(ADAPTERS))}"
        raise ValueError(msg) from None
