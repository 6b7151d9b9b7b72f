"""Service settings, read once from the environment at start-up and frozen.

=========================  ==========================================================  =============
variable                   meaning                                                     default
=========================  ==========================================================  =============
WAITLESS_REGION            bundled region name or path to a region TOML file           kent-medway
WAITLESS_REDIS_URL         live store in Redis (``redis://host:port/db``)              in-process
WAITLESS_REDIS_PREFIX      prefix for every Redis key this service writes              waitless
WAITLESS_DATABASE_URL      PostgreSQL for the event log (``postgresql://...``)         spool only
WAITLESS_SPOOL_DIR         durable spool for events PostgreSQL has not taken yet      ./var/spool
WAITLESS_SPOOL_MAX_BYTES   spool size limit; past it new events are dropped, counted   268435456
WAITLESS_GRAPH_CACHE       folder holding built road-graph tables                      ./graph_cache
WAITLESS_HOST              address ``serve``/``dev`` listen on                         127.0.0.1
WAITLESS_PORT              port ``serve``/``dev`` listen on                            8080
WAITLESS_LOG_LEVEL         logging level                                               INFO
WAITLESS_FEED_URLS         per-deployment feed URLs: ``name=url,name=url``             region file
WAITLESS_PUSH_TOKENS       push-feed tokens: ``feed=token,feed=token2`` (a feed may    none (401)
                           have several, for rotation); never put them in a region
=========================  ==========================================================  =============
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class Settings:
    region: str = "kent-medway"
    redis_url: str | None = None
    redis_prefix: str = "waitless"
    database_url: str | None = None
    spool_dir: str = "var/spool"
    spool_max_bytes: int = 256 * 1024 * 1024
    graph_cache: str = "graph_cache"
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "INFO"
    feed_urls: tuple[tuple[str, str], ...] = ()
    # (feed, token) pairs accepted by POST /v1/feeds/{feed}/observations.
    push_tokens: tuple[tuple[str, str], ...] = ()
    # How often the API reloads the whole live snapshot even without a change notice, seconds.
    snapshot_refresh_seconds: float = 5.0
    # Event batching: flush when this many events are queued or this much time has passed.
    event_batch_size: int = 500
    event_flush_seconds: float = 1.0

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``WAITLESS_*`` variables (empty values count as unset)."""
    env = os.environ if env is None else env

    def get(name: str) -> str | None:
        value = env.get(f"WAITLESS_{name}", "").strip()
        return value or None

    defaults = Settings()
    return Settings(
        region=get("REGION") or defaults.region,
        redis_url=get("REDIS_URL"),
        redis_prefix=get("REDIS_PREFIX") or defaults.redis_prefix,
        database_url=get("DATABASE_URL"),
        spool_dir=get("SPOOL_DIR") or defaults.spool_dir,
        spool_max_bytes=int(get("SPOOL_MAX_BYTES") or defaults.spool_max_bytes),
        graph_cache=get("GRAPH_CACHE") or defaults.graph_cache,
        host=get("HOST") or defaults.host,
        port=int(get("PORT") or defaults.port),
        log_level=get("LOG_LEVEL") or defaults.log_level,
        feed_urls=parse_feed_urls(get("FEED_URLS") or ""),
        push_tokens=parse_pairs(get("PUSH_TOKENS") or "", "WAITLESS_PUSH_TOKENS",
                                "feed=token"),
    )


def parse_feed_urls(text: str) -> tuple[tuple[str, str], ...]:
    """``"a=http://x,b=http://y"`` -> ``(("a", "http://x"), ("b", "http://y"))``."""
    return parse_pairs(text, "WAITLESS_FEED_URLS", "name=url")


def parse_pairs(text: str, variable: str, shape: str) -> tuple[tuple[str, str], ...]:
    """``"a=x,b=y"`` -> ``(("a", "x"), ("b", "y"))``; ``ValueError`` naming ``variable``."""
    pairs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            # Never echo the entry: it may hold a secret.
            msg = f"{variable} entry {len(pairs) + 1} is not {shape}"
            raise ValueError(msg)
        pairs.append((name.strip(), value.strip()))
    return tuple(pairs)
