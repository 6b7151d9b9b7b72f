"""Feed adapters: each turns a fetched payload into observations and does nothing else.

Every adapter is a function with this signature, registered here by format name::

    parse(body: bytes, *, feed_name: str, fetched_at: datetime,
          options: Mapping[str, Any]) -> list[Observation]

``options`` are the feed's extra keys from the region file. Adapters raise
:class:`feeds.errors.FeedParseError` with a message that names the problem when the payload's
*structure* is wrong. Values are judged later by :mod:`feeds.validate`: an unmapped site name
or an unreadable wait is passed through for validation to reject, one site at a time
(see :mod:`feeds.adapters._common`).
"""

from __future__ import annotations

from collections.abc import Callable

from feeds.adapters import alberta, bc_push, hk_ha, htmltable, jsonmap, native, ni_arcgis
from waitless.domain.errors import ConfigError
from waitless.domain.observation import Observation

Adapter = Callable[..., list[Observation]]

ADAPTERS: dict[str, Adapter] = {
    "native": native.parse,
    "jsonmap": jsonmap.parse,
    "htmltable": htmltable.parse,
    "hk_ha": hk_ha.parse,
    "alberta": alberta.parse,
    "ni_arcgis": ni_arcgis.parse,
    "bc_push": bc_push.parse,
}

# Feed options read whatever the format: the site-name mapping (``_common.site_id_for``) and the
# accepted content types (``feeds.body.check_body``). The poller's own options are
# ``feeds.schedule.POLLER_OPTIONS``.
SHARED_OPTIONS = frozenset({"sites", "ignore_sites", "content_types"})
# The options each format reads besides those, declared next to its parser.
ADAPTER_OPTIONS: dict[str, frozenset[str]] = {
    "native": native.OPTIONS,
    "jsonmap": jsonmap.OPTIONS,
    "htmltable": htmltable.OPTIONS,
    "hk_ha": hk_ha.OPTIONS,
    "alberta": alberta.OPTIONS,
    "ni_arcgis": ni_arcgis.OPTIONS,
    "bc_push": bc_push.OPTIONS,
}

# What each format's body is, for the content-type check in feeds.body.check_body.
BODY_TYPES: dict[str, str] = {
    "native": "json", "jsonmap": "json", "hk_ha": "json", "alberta": "json",
    "ni_arcgis": "json", "bc_push": "json", "htmltable": "html",
}


def get_adapter(format_name: str) -> Adapter:
    """The adapter for ``format_name``; ``ValueError`` naming the known formats otherwise."""
    try:
        return ADAPTERS[format_name]
    except KeyError:
        msg = f"unknown feed format {format_name!r}; known: {', '.join(sorted(ADAPTERS))}"
        raise ConfigError(msg) from None
