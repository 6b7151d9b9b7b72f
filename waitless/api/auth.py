"""Who may read the commissioners' statistics: a bearer token, or a signed session cookie.

The API takes ``Authorization: Bearer <WAITLESS_COMMISSIONER_TOKEN>``. The dashboard signs in
with the same token once and then carries a cookie ``<session id>.<expires unix>.<mac>``, the mac
an HMAC-SHA256 over the first two parts with a key derived from the token: any replica can check
it, it expires on the server's clock, and changing the token ends every session. Sign-out
revokes the session id: with Redis (``WAITLESS_REDIS_URL``) in ``<prefix>:session:revoked:<id>``,
expiring with the session, so every worker and replica refuses it and a restart forgets
nothing; if Redis cannot be asked, a session is refused (fail closed) with 503
``live_store_unavailable``, not as a bad cookie: an outage must not count as failed sign-ins
against the client's limit (it once locked every commissioner out with 429 until the window
ended, Redis long back). Without Redis (one
process, ``waitless dev``) the revocation is kept in that process only. Tokens and macs are
compared with :func:`hmac.compare_digest`. Without a configured token everything here
answers 503.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import redis.asyncio as aioredis
from aiohttp import web
from redis.exceptions import RedisError

from waitless.api import keys
from waitless.api.errors import error_response
from waitless.domain.errors import StoreError
from waitless.live.redis_url import redis_from_url

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SESSION_COOKIE = "waitless_commissioner"
# Set on a request whose credential was presented and refused without a 401 (a page redirects
# to the sign-in); the rate-limit middleware counts it as a failed authentication.
AUTH_FAILED = web.RequestKey("waitless_auth_failed", bool)
UNCONFIGURED = ("commissioners' statistics are switched off: no WAITLESS_COMMISSIONER_TOKEN "
                 "is configured on this server")


class RevokedSessions:
    """Session ids signed out before they expired: in Redis when given a client, else here.

    Parameters
    ----------
    client
        Redis client shared by every worker, or ``None`` for this process only.
    prefix
        Prefix of the Redis keys (``WAITLESS_REDIS_PREFIX``).
    """

    def __init__(self, client: aioredis.Redis | None = None, prefix: str = "waitless") -> None:
        self.client, self.prefix = client, prefix
        self._until: dict[str, float] = {}

    def _key(self, session_id: str) -> str:
        return f"{self.prefix}:session:revoked:{session_id}"

    async def revoke(self, session_id: str, expires_unix: float) -> None:
        """Refuse ``session_id`` until ``expires_unix`` (raises RedisError/OSError)."""
        now = time.time()
        if self.client is not None:
            ttl_seconds = max(1, int(expires_unix - now) + 1)
            await self.client.set(self._key(session_id), b"1", ex=ttl_seconds)
            return
        self._until = {k: v for k, v in self._until.items() if v > now}
        self._until[session_id] = expires_unix

    async def is_revoked(self, session_id: str) -> bool:
        """True when signed out.

        Raises
        ------
        StoreError
            Redis cannot say (fail closed): the request is answered 503, and, unlike a
            refused cookie, not counted as a failed authentication.
        """
        if self.client is None:
            return session_id in self._until
        try:
            return bool(await self.client.exists(self._key(session_id)))
        except (RedisError, OSError) as exc:
            logger.warning("session check refused: Redis unavailable (%s)", exc)
            msg = "sign-outs cannot be checked: Redis unavailable"
            raise StoreError(msg) from exc


REVOKED = web.AppKey("revoked_sessions", RevokedSessions)


def configured_token(app: web.Application) -> str | None:
    """The commissioners' token, or ``None`` when none is configured."""
    return app[keys.SETTINGS].commissioner_token or None


def token_matches(given: str, token: str) -> bool:
    # A header that was not UTF-8 arrives with surrogate escapes: compare its original bytes.
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode())


def bearer_error(request: web.Request) -> web.Response | None:
    """``None`` when the bearer token is right; else the 503 (unconfigured) or 401 answer."""
    token = configured_token(request.app)
    if token is None:
        return error_response(503, "not_configured", UNCONFIGURED)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token_matches(given.strip(), token):
        response = error_response(
            401, "unauthorized",
            "a valid 'Authorization: Bearer <commissioner token>' header is required")
        response.headers["WWW-Authenticate"] = 'Bearer realm="waitless-stats"'
        return response
    return None


def bearer_required(handler: Handler) -> Handler:
    """Wrap an API handler so it runs only for a request with the right bearer token."""
    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        return bearer_error(request) or await handler(request)
    return wrapped


def _key(token: str) -> bytes:
    return hmac.new(token.encode(), b"waitless commissioner session v1", hashlib.sha256).digest()


def _mac(token: str, payload: str) -> str:
    return hmac.new(_key(token), payload.encode(), hashlib.sha256).hexdigest()


def new_session(token: str, *, hours: float, now_unix: float | None = None) -> str:
    """A fresh signed cookie value valid for ``hours``."""
    expires = int((now_unix if now_unix is not None else time.time()) + hours * 3600)
    payload = f"{secrets.token_urlsafe(24)}.{expires}"
    return f"{payload}.{_mac(token, payload)}"


def check_session(value: str, token: str, *,
                  now_unix: float | None = None) -> tuple[str, int] | None:
    """(session id, expiry unix seconds) of a signed, unexpired cookie value, else ``None``
    (whether it was signed out is :meth:`RevokedSessions.is_revoked`)."""
    # Every cookie we issue is ASCII; one that was not UTF-8 holds surrogate escapes,
    # which cannot even be encoded for the mac.
    if not value.isascii():
        return None
    parts = value.split(".")
    if len(parts) != 3 or not (parts[1].isascii() and parts[1].isdigit()):
        return None
    session_id, expires, mac = parts
    # compare_digest refuses non-ASCII str (a TypeError, i.e. a 500): compare bytes.
    if not hmac.compare_digest(mac.encode(), _mac(token, f"{session_id}.{expires}").encode()):
        return None
    now = now_unix if now_unix is not None else time.time()
    if int(expires) <= now:
        return None
    return session_id, int(expires)


async def session_of(request: web.Request) -> tuple[str, int] | None:
    """The request's valid session, if any (never one when no token is configured).

    Raises :class:`StoreError` when Redis cannot say whether it was signed out (the front
    middleware answers 503 ``live_store_unavailable``)."""
    token = configured_token(request.app)
    value = request.cookies.get(SESSION_COOKIE)
    if token is None or not value:
        return None
    session = check_session(value, token)
    if session is None or await request.app[REVOKED].is_revoked(session[0]):
        return None
    return session


def set_session_cookie(request: web.Request, response: web.StreamResponse, value: str) -> None:
    settings = request.app[keys.SETTINGS]
    response.set_cookie(SESSION_COOKIE, value, max_age=int(settings.session_hours * 3600),
                        path="/commissioners", httponly=True, secure=settings.cookie_secure,
                        samesite="Strict")


def clear_session_cookie(request: web.Request, response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path="/commissioners",
                        secure=request.app[keys.SETTINGS].cookie_secure, httponly=True,
                        samesite="Strict")


def setup_auth(app: web.Application) -> None:
    """Sign-outs shared through Redis when the service has one, else kept in this process."""
    app[REVOKED] = RevokedSessions()
    app.cleanup_ctx.append(_revoked_ctx)


async def _revoked_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    if settings.redis_url is None:
        yield
        return
    client = redis_from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    app[REVOKED].client, app[REVOKED].prefix = client, settings.redis_prefix
    yield
    await client.aclose()
