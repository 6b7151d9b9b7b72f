"""Redis clients from ``WAITLESS_REDIS_URL``, including Sentinel-managed primaries.

Besides every URL :func:`redis.asyncio.from_url` takes (``redis://``, ``rediss://``,
``unix://``), this accepts::

    redis+sentinel://[:PASSWORD@]HOST:PORT[,HOST:PORT...]/SERVICE[/DB][?sentinel_password=X]
    rediss+sentinel://...   (TLS to the primary)

The client then asks the Sentinels for the current primary of ``SERVICE`` and asks again after
a connection error, so a Sentinel fail-over needs no restart of WaitLess. ``PASSWORD`` is the
primary's; Sentinels themselves are often unauthenticated (otherwise ``sentinel_password``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote

import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel

from waitless.domain.errors import ConfigError

SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
DEFAULT_SENTINEL_PORT = 26379


class RedisURLError(ConfigError):
    """A Sentinel URL that cannot be understood (the message never repeats a password)."""


def parse_sentinel_url(url: str) -> dict[str, Any]:
    """Split a ``redis+sentinel://`` URL into hosts, service, db, passwords and TLS.

    Returns
    -------
    dict
        ``hosts`` (list of (host, port)), ``service``, ``db``, ``password``,
        ``sentinel_password`` and ``ssl``.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in SENTINEL_SCHEMES:
        msg = "a Sentinel URL starts with redis+sentinel:// or rediss+sentinel://"
        raise RedisURLError(msg)
    rest, _, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    userinfo, at, hostlist = netloc.rpartition("@")
    password = unquote(userinfo.partition(":")[2]) if at and ":" in userinfo else None
    hosts = []
    for item in filter(None, hostlist.split(",")):
        host, colon, port = item.rpartition(":")
        if not colon:
            host, port = item, str(DEFAULT_SENTINEL_PORT)
        if not host or not port.isdigit():
            msg = f"Sentinel address {len(hosts) + 1} is not HOST:PORT"
            raise RedisURLError(msg)
        hosts.append((host.strip("[]"), int(port)))
    parts = [p for p in path.split("/") if p]
    if not hosts or not parts:
        msg = "a Sentinel URL needs at least one HOST:PORT and the service name (/mymaster)"
        raise RedisURLError(msg)
    if len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()):
        msg = "a Sentinel URL's path is /SERVICE or /SERVICE/DB"
        raise RedisURLError(msg)
    options = parse_qs(query)
    return {"hosts": hosts, "service": unquote(parts[0]),
            "db": int(parts[1]) if len(parts) == 2 else 0, "password": password or None,
            "sentinel_password": options.get("sentinel_password", [None])[0],
            "ssl": scheme == "rediss+sentinel"}


def redis_from_url(url: str, **kwargs: Any) -> aioredis.Redis:
    """An asyncio Redis client for ``url`` (plain or Sentinel); ``kwargs`` as for redis-py.

    ``socket_timeout`` and ``socket_connect_timeout`` (seconds) also apply to the Sentinels.
    """
    if not url.startswith(tuple(f"{s}://" for s in SENTINEL_SCHEMES)):
        return aioredis.from_url(url, **kwargs)
    parts = parse_sentinel_url(url)
    sentinel_kwargs = {k: kwargs[k] for k in ("socket_timeout", "socket_connect_timeout")
                       if k in kwargs}
    if parts["sentinel_password"]:
        sentinel_kwargs["password"] = parts["sentinel_password"]
    sentinel = Sentinel(parts["hosts"], sentinel_kwargs=sentinel_kwargs)
    if parts["ssl"]:
        kwargs = {**kwargs, "ssl": True}
    return sentinel.master_for(parts["service"], db=parts["db"], password=parts["password"],
                               **kwargs)
