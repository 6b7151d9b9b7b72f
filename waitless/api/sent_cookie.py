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

One HMAC key signs the cookies of a whole deployment, so a reload that the load balancer sends
to another pod, or that comes after a restart or a rollout, takes back the count all the same.
With Redis it is ``<prefix>:load:cookie_key`` (32 random bytes): each worker sets it at start-up
if absent (``SET NX``) and reads it back, so the first one to start makes it and every other
worker, pod and restart uses it; every sync re-reads it and renews its expiry (the load hashes'
``horizon_minutes`` + 2 h, so it outlives the last pod by no longer than the counts do). Deleted
(by an operator, or lost with Redis's data) it is made afresh at the next sync: a rotation. A
worker signs with the newest key it has read and still accepts the one before, so a rotation
refuses no cookie, except for up to one sync on a worker that has not read the new key yet
(delete it twice, more than a sync apart, to refuse a leaked key).
Without Redis (the in-process store), or until Redis first answers, the key is the one made when
the application was built, before gunicorn forks its workers: every worker of one server accepts
the others' cookies, and another server's fail the check and count as a new patient, as every
answer did before. The key is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

import redis.asyncio as aioredis
from aiohttp import web

from waitless.api import keys
from waitless.ranking.load import Sent

SENT_COOKIE = "waitless_sent"
KEY_BYTES = 32


def new_key() -> bytes:
    """A fresh random HMAC key (``KEY_BYTES`` bytes)."""
    return secrets.token_bytes(KEY_BYTES)


@dataclass
class CookieKeys:
    """The keys one worker signs and checks the page's cookies with.

    Attributes
    ----------
    current
        Signs every new cookie: the deployment's key from Redis once read, else this
        server's own (made before the fork).
    previous
        The key before ``current``, still accepted: cookies signed before a rotation, or
        before this worker first read the shared key, are taken back all the same.
    shared
        Whether ``current`` came from Redis.
    """

    current: bytes
    previous: bytes | None = None
    shared: bool = False

    def adopt(self, key: bytes) -> None:
        """Sign with the deployment's ``key`` from now on (the one before stays accepted)."""
        self.shared = True
        if key != self.current:
            self.previous, self.current = self.current, key

    def accepted(self) -> tuple[bytes, ...]:
        """The keys a cookie may be signed with, newest first."""
        return (self.current,) if self.previous is None else (self.current, self.previous)


SENT_COOKIE_KEY = web.AppKey("sent_cookie_keys", CookieKeys)


def cookie_key_name(prefix: str) -> str:
    """The Redis key holding the deployment's cookie key."""
    return f"{prefix}:load:cookie_key"


async def shared_key(client: aioredis.Redis, prefix: str, ttl_s: int) -> bytes | None:
    """The deployment's cookie key in Redis, made first if it is missing.

    Parameters
    ----------
    client, prefix
        The Redis connection and key prefix (``WAITLESS_REDIS_PREFIX``).
    ttl_s
        Seconds the key lives after this call (renewed at every call, so it lasts as long
        as some worker still syncs).

    Returns
    -------
    bytes or None
        The key, or ``None`` when the value there is not one (shorter than 32 bytes, or not
        a string): the caller keeps the key it has.

    Raises
    ------
    RedisError, OSError
        Redis unreachable or failing.
    """
    name = cookie_key_name(prefix)
    pipe = client.pipeline(transaction=False)
    # NX: whoever comes first makes it; everyone (this caller too) then reads the winner.
    pipe.set(name, new_key(), nx=True, ex=ttl_s)
    pipe.expire(name, ttl_s)
    pipe.get(name)
    *_, value = await pipe.execute(raise_on_error=False)
    # Shorter, it is not a key any worker made (and too weak to sign with): not used.
    if isinstance(value, bytes) and len(value) >= KEY_BYTES:
        return value
    return None


def _mac(key: bytes, payload: str) -> str:
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def sent_value(sent: Sent, key: bytes) -> str:
    """The cookie value for ``sent``: ``<site_id/service>|<minute>.<hmac>``."""
    payload = f"{sent.key}|{sent.minute}"
    return f"{payload}.{_mac(key, payload)}"


def read_sent(value: str | None, accepted: Iterable[bytes]) -> Sent | None:
    """What a cookie value says was counted, or ``None`` when absent, malformed or signed with
    none of the ``accepted`` keys (a forged one would take back other patients' counts)."""
    if not value or not value.isascii():
        return None
    payload, dot, mac = value.rpartition(".")
    service, bar, minute = payload.rpartition("|")
    if not (dot and bar and service and minute.isdigit()):
        return None
    if not any(hmac.compare_digest(mac.encode(), _mac(key, payload).encode())
               for key in accepted):
        return None
    return Sent(service, int(minute))


def sent_of(request: web.Request) -> Sent | None:
    """The count this browser's last page answer made, if load-aware ranking is on."""
    cookie_keys = request.app.get(SENT_COOKIE_KEY)
    return (None if cookie_keys is None
            else read_sent(request.cookies.get(SENT_COOKIE), cookie_keys.accepted()))


def keep_sent(request: web.Request, response: web.StreamResponse, before: Sent | None,
              after: Sent | None) -> None:
    """Make the cookie say ``after``, the count this answer leaves for the browser."""
    if after == before:
        return
    # An answer that sets a patient's cookie is theirs alone: a shared cache keeping it would
    # hand the same cookie to others, whose reloads would then take back this patient's count.
    response.headers["Cache-Control"] = "private"
    secure = request.app[keys.SETTINGS].cookie_secure
    if after is None:
        response.del_cookie(SENT_COOKIE, path="/", secure=secure, httponly=True, samesite="Lax")
        return
    response.set_cookie(SENT_COOKIE, sent_value(after, request.app[SENT_COOKIE_KEY].current),
                        path="/", secure=secure, httponly=True, samesite="Lax")
