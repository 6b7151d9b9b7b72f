"""Checks on a feed's response body before it is parsed: size, completeness, content type and
an empty listing where sites are expected. Each refusal is a :class:`BodyRejected` whose
``reason`` is one of :data:`BODY_REASONS` (documented in ``docs/feeds.md``).
"""

from __future__ import annotations

from feeds.adapters import BODY_TYPES
from feeds.errors import FeedParseError
from waitless.domain.region import FeedConfig
from waitless.domain.validation_settings import ValidationSettings

BODY_REASONS: dict[str, str] = {
    "empty_body": "the response body is empty",
    "oversized": "the body is larger than max_body_bytes",
    "truncated": "the body is shorter than announced or ends mid-document",
    "wrong_content_type": "the content type (or, without one, the body) does not fit the format",
    "no_sites": "the payload lists no sites although the feed's last payloads listed several",
}
# A feed whose last payloads gave at least this many site figures is not expected to list none.
NO_SITES_AFTER = 2
_CONTENT_TYPES: dict[str, tuple[str, ...]] = {
    # text/plain: static hosts and ArcGIS mirrors often serve JSON as plain text.
    "json": ("application/json", "text/json", "text/plain", "text/javascript"),
    "html": ("text/html", "application/xhtml+xml"),
}


class BodyRejected(FeedParseError):
    """A response body refused before parsing; ``reason`` is one of :data:`BODY_REASONS`."""

    def __init__(self, msg: str, *, reason: str) -> None:
        super().__init__(msg)
        self.reason = reason


def check_body(body: bytes, *, feed: FeedConfig, settings: ValidationSettings,
               content_type: str | None = None, content_length: int | None = None) -> None:
    """Refuse a body that cannot be a good payload for ``feed``, before parsing it.

    Parameters
    ----------
    body
        The bytes read (read at most ``settings.max_body_bytes + 1`` of them).
    feed
        The feed; its format decides JSON or HTML, and a ``content_types`` option (list)
        replaces the accepted media types.
    content_type, content_length
        The response headers, when there are any (``None`` offline).

    Raises
    ------
    BodyRejected
        With ``reason`` ``empty_body``, ``oversized``, ``truncated`` or ``wrong_content_type``.
    """
    body_type = BODY_TYPES.get(feed.format, "json")
    if not body.strip():
        msg = f"feed {feed.name}: empty body"
        raise BodyRejected(msg, reason="empty_body")
    if len(body) > settings.max_body_bytes:
        msg = f"feed {feed.name}: body over {settings.max_body_bytes} bytes"
        raise BodyRejected(msg, reason="oversized")
    if content_length is not None and len(body) < content_length:
        msg = f"feed {feed.name}: got {len(body)} of {content_length} announced bytes"
        raise BodyRejected(msg, reason="truncated")
    if content_type is not None:
        media_type = content_type.split(";")[0].strip().lower()
        allowed = tuple(feed.options.get("content_types", _CONTENT_TYPES[body_type]))
        if media_type not in allowed and not (body_type == "json" and media_type.endswith("+json")):
            msg = f"feed {feed.name}: content type {media_type!r}, expected one of {allowed}"
            raise BodyRejected(msg, reason="wrong_content_type")
    if body_type == "json" and _looks_like_html(body):
        # An HTML error page served without a content type would otherwise end up as
        # "truncated" (it does not end in } or ]): say what it is.
        msg = f"feed {feed.name}: the body is an HTML page, not JSON"
        raise BodyRejected(msg, reason="wrong_content_type")
    encoding = _wide_encoding(body) if body_type == "json" else None
    if encoding is not None:
        # JSON between systems is UTF-8 (RFC 8259 section 8.1); a UTF-16 body would otherwise
        # be reported as "truncated" (its last byte is a NUL, not } or ]).
        msg = f"feed {feed.name}: the body is {encoding} text; JSON feeds must be UTF-8"
        raise BodyRejected(msg, reason="wrong_content_type")
    if _ends_early(body, body_type):
        msg = f"feed {feed.name}: the {body_type} document ends early"
        raise BodyRejected(msg, reason="truncated")


def _looks_like_html(body: bytes) -> bool:
    head = body.lstrip()[:512].lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or (
        head.startswith(b"<") and b"<html" in body[:4096].lower())


def _wide_encoding(body: bytes) -> str | None:
    """``"UTF-16"`` or ``"UTF-32"`` when the body is JSON text in one of them, else ``None``.

    Told by a byte-order mark, or without one by where the NUL bytes fall among the first
    four: JSON text starts with an ASCII character, so UTF-8 has no NUL there.
    """
    if body.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32"
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16"
    head = body[:4]
    if len(head) < 4 or b"\x00" not in head:
        return None
    if head[:3] == b"\x00\x00\x00" or head[1:] == b"\x00\x00\x00":
        return "UTF-32"
    return "UTF-16"


def check_listing(count: int, usual_count: int, *, feed_name: str) -> None:
    """Refuse a payload that lists no sites from a feed that usually lists several.

    Parameters
    ----------
    count
        Observations the adapter read from this payload.
    usual_count
        Site services the feed gave good figures for before (the poller's last good
        figures; ``feeds check``: the region's site count).

    Raises
    ------
    BodyRejected
        With ``reason`` ``no_sites``, so the feed's status records the problem instead of
        a quiet, successful poll that updates nothing.
    """
    if count == 0 and usual_count >= NO_SITES_AFTER:
        msg = (f"feed {feed_name}: the payload lists no sites; it usually gives figures for "
               f"{usual_count}")
        raise BodyRejected(msg, reason="no_sites")


def _ends_early(body: bytes, body_type: str) -> bool:
    text = body.strip()
    if body_type == "json":
        return not text.endswith((b"}", b"]"))
    lowered = text.lower()
    return b"<html" in lowered and not lowered.endswith(b"</html>")
