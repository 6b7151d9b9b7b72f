"""The patient page's memory of what it counted: one signed session cookie, no identifier.

Load-aware ranking counts every page answer's first result as a patient on their way
(:class:`~waitless.ranking.load.SentTracker`). When the same browser asks again (a reload, a
changed search), that earlier count is this patient, not another: the next answer takes it
back before ranking (so it is not load on the patient's own ranking) and counts its own in
its place. The cookie says which count that is: ``<site_id/service>|<arrival minute>`` and an
HMAC of it, nothing else (no identifier, no place, no time of asking; the site and arrival
are on the page it came with). It is a session cookie (no expiry), ``HttpOnly``,
``SameSite=Lax``, ``Path=/``, set only while load-aware ranking is on (``docs/herding.md``,
``docs/privacy.md``).

The HMAC key is made when the application is built, before gunicorn forks its workers, so
every worker of one server accepts the cookies of the others; another server's (or a
restarted one's) cookie fails the check and is ignored: that answer counts as a new patient,
as every answer did before.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from aiohttp import web

from waitless.api import keys
from waitless.ranking.load import Sent

SENT_COOKIE = "waitless_sent"
SENT_COOKIE_KEY = web.AppKey("sent_cookie_key", bytes)


def new_key() -> bytes:
    """A fresh HMAC key for one server's cookies."""
    return secrets.token_bytes(32)


def _mac(key: bytes, payload: str) -> str:
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def sent_value(sent: Sent, key: bytes) -> str:
    """The cookie value for ``sent``: ``<site_id/service>|<minute>.<hmac>``."""
    payload = f"{sent.key}|{sent.minute}"
    return f"{payload}.{_mac(key, payload)}"


def read_sent(value: str | None, key: bytes) -> Sent | None:
    """What a cookie value says was counted, or ``None`` when absent, malformed or not signed
    with ``key`` (a forged one would take back other patients' counts)."""
    if not value or not value.isascii():
        return None
    payload, dot, mac = value.rpartition(".")
    service, bar, minute = payload.rpartition("|")
    if not (dot and bar and service and minute.isdigit()):
        return None
    if not hmac.compare_digest(mac.encode(), _mac(key, payload).encode()):
        return None
    return Sent(service, int(minute))


def sent_of(request: web.Request) -> Sent | None:
    """The count this browser's last page answer made, if load-aware ranking is on."""
    key = request.app.get(SENT_COOKIE_KEY)
    return None if key is None else read_sent(request.cookies.get(SENT_COOKIE), key)


def keep_sent(request: web.Request, response: web.StreamResponse, before: Sent | None,
              after: Sent | None) -> None:
    """Make the cookie say ``after``, the count this answer leaves for the browser."""
    if after == before:
        return
    secure = request.app[keys.SETTINGS].cookie_secure
    if after is None:
        response.del_cookie(SENT_COOKIE, path="/", secure=secure, httponly=True, samesite="Lax")
        return
    response.set_cookie(SENT_COOKIE, sent_value(after, request.app[SENT_COOKIE_KEY]), path="/",
                        secure=secure, httponly=True, samesite="Lax")
