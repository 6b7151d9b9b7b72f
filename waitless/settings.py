"""Service settings, read once from the environment at start-up and frozen.

=========================  ==========================================================  =============
variable                   meaning                                                     default
=========================  ==========================================================  =============
WAITLESS_REGION            bundled region name or path to a region TOML file           kent-medway
WAITLESS_REGIONS           several regions for ``serve`` (comma list, names or paths;  the one
                           the first is the primary); takes the place of               region
                           WAITLESS_REGION
WAITLESS_REDIS_URL         live store in Redis (``redis://host:port/db``)              in-process
WAITLESS_REDIS_PREFIX      prefix for every Redis key this service writes              waitless
WAITLESS_DATABASE_URL      PostgreSQL for the event log (``postgresql://...``)         spool only
WAITLESS_SPOOL_DIR         durable spool for events PostgreSQL has not taken yet      ./var/spool
WAITLESS_SPOOL_MAX_BYTES   spool size limit; past it new events are dropped, counted   268435456
WAITLESS_GRAPH_CACHE       folder holding built road-graph tables                      ./graph_cache
WAITLESS_HOST              address ``serve``/``dev`` listen on                         127.0.0.1
WAITLESS_PORT              port ``serve``/``dev`` listen on                            8080
WAITLESS_LOG_LEVEL         logging level                                               INFO
WAITLESS_EVENT_RETENTION_DAYS  ranking events, patient choices and quarantined       400
                           events older than this are deleted (``waitless events
                           prune``; the API prunes its quarantine hourly)
WAITLESS_EVENT_FLUSH_SECONDS   events are written (PostgreSQL or spool) this often; a      0.25
                           killed worker loses at most what it answered in this time
WAITLESS_BENCH_ENDPOINTS   serve /v1/bench/static (a fixed ranking-sized body), and    off
                           name the answering worker (X-WaitLess-Worker) to a request
                           that sends that header
WAITLESS_FEED_URLS         per-deployment feed URLs: ``name=url,name=url``             region file
WAITLESS_LEADER_LEASE_SECONDS  ingest leader lease; a standby takes over within     15
                           about 4/3 of it (keep it under 1.5 x the feed interval)
WAITLESS_INGEST_METRICS_PORT  ``waitless ingest`` serves /metrics, /healthz here     none
WAITLESS_PUSH_TOKENS       push-feed tokens: ``feed=token,feed=token2`` (a feed may    none (401)
                           have several, for rotation); never put them in a region
WAITLESS_MAP_TILE_URL      tile layer under the patient page's map, an https URL with   none (SVG
                           ``{z}/{x}/{y}``; its origin is added to the page's img-src    only)
WAITLESS_MAP_ATTRIBUTION   the tile provider's required credit, shown under the map     none
WAITLESS_LOOP_LAG_WARN_MS  log a warning when a worker's event loop runs this many     100
                           ms late (``waitless_event_loop_lag_seconds`` has every lag)
=========================  ==========================================================  =============

Abuse limits (see :mod:`waitless.api.rate_limits`, :mod:`waitless.api.request_limits`,
:mod:`waitless.api.cors`):

=========================  ==========================================================  =============
variable                   meaning                                                     default
=========================  ==========================================================  =============
WAITLESS_RATE_LIMIT        per-client limit on ``/``, /v1/rank, places, sites,          120/minute
                           choices: ``N/second|minute|hour``, or ``off``
WAITLESS_LOGIN_RATE_LIMIT  per-client limit on POST /commissioners/login               10/minute
WAITLESS_AUTH_FAILURE_LIMIT failed authentications (401) per client on every            10/minute
                           authenticated path (/v1/stats/*, push, /commissioners/*);
                           past it every such request is a 429 until the window ends
WAITLESS_TRUSTED_PROXIES   peers (IPs or CIDRs, comma list) whose X-Forwarded-For      none
                           is believed when finding the client address
WAITLESS_CORS_ORIGINS      origins allowed to call GET /v1/* from a browser            none (closed)
                           (comma list, e.g. ``https://app.example.org``)
WAITLESS_KEEPALIVE_SECONDS idle keep-alive connections are closed after this           15
=========================  ==========================================================  =============

Commissioners' statistics (``/v1/stats/*``, ``/commissioners``):

===========================  ========================================================  ==========
variable                     meaning                                                   default
===========================  ========================================================  ==========
WAITLESS_COMMISSIONER_TOKEN  bearer token for /v1/stats/* and the dashboard sign-in    unset: 503
WAITLESS_COOKIE_SECURE       ``0``/``false`` drops Secure from the session cookie      true
                             and the load-aware ``waitless_sent`` cookie (plain http
                             on a developer machine only)
WAITLESS_SESSION_HOURS       how long a dashboard session lasts, hours                 8
===========================  ========================================================  ==========

Ports are whole numbers from 1 to 65535 (``0`` for the ingest metrics port means none), the
spool size and retention days whole numbers of at least 1, durations finite numbers above 0;
any other value is a :class:`ConfigError` naming the variable.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from waitless.domain.errors import ConfigError
from waitless.domain.region import DEFAULT_REGION, is_feed_url
from waitless.domain.region_values import is_number

# How long event rows are kept, in days (WAITLESS_EVENT_RETENTION_DAYS; docs/privacy.md).
EVENT_RETENTION_DAYS = 400


@dataclass(frozen=True, slots=True)
class Settings:
    region: str = DEFAULT_REGION
    # Regions ``serve`` answers besides ``region`` (the primary), each chosen by the origin.
    extra_regions: tuple[str, ...] = ()
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
    bench_endpoints: bool = False
    event_retention_days: int = EVENT_RETENTION_DAYS
    # (feed, token) pairs accepted by POST /v1/feeds/{feed}/observations.
    push_tokens: tuple[tuple[str, str], ...] = ()
    # How often the API reloads the whole live snapshot even without a change notice, seconds.
    snapshot_refresh_seconds: float = 5.0
    # Event batching: flush when this many events are queued or this much time has passed.
    event_batch_size: int = 500
    # Also the bound on loss when a worker is killed (kill -9): see docs/operations.md.
    event_flush_seconds: float = 0.25
    # Commissioners' statistics: no token means /v1/stats/* and /commissioners answer 503.
    commissioner_token: str | None = None
    cookie_secure: bool = True
    session_hours: float = 8.0
    # Abuse limits: ``None`` rate means no limit.
    rate_limit: str | None = "120/minute"
    login_rate_limit: str | None = "10/minute"
    auth_failure_limit: str | None = "10/minute"
    rate_limit_sync_seconds: float = 1.0
    trusted_proxies: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    keepalive_seconds: float = 15.0
    # Ingest leader election (waitless.live.leader): lease length in seconds; metrics port or None.
    leader_lease_seconds: float = 15.0
    ingest_metrics_port: int | None = None
    # Patient page map: no third-party tiles unless an operator turns them on.
    map_tile_url: str | None = None
    map_attribution: str | None = None
    # A worker's event loop this late (milliseconds) is logged as a warning (api.loop_lag).
    loop_lag_warn_ms: float = 100.0

    @property
    def regions(self) -> tuple[str, ...]:
        """Every region ``serve`` answers, the primary (``region``) first."""
        return (self.region, *self.extra_regions)

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``WAITLESS_*`` variables (empty values count as unset).

    Raises
    ------
    ConfigError
        Naming the variable, for a value that cannot work: a port, count or day number that is
        not a whole number in range, a duration that is not a finite number above 0.
    """
    env = os.environ if env is None else env

    def get(name: str) -> str | None:
        value = env.get(f"WAITLESS_{name}", "").strip()
        return value or None

    defaults = Settings()
    regions = _regions(get("REGION"), get("REGIONS"))
    return Settings(
        region=regions[0] if regions else defaults.region,
        extra_regions=regions[1:],
        redis_url=get("REDIS_URL"),
        redis_prefix=get("REDIS_PREFIX") or defaults.redis_prefix,
        database_url=get("DATABASE_URL"),
        spool_dir=get("SPOOL_DIR") or defaults.spool_dir,
        spool_max_bytes=_whole(get, "SPOOL_MAX_BYTES", defaults.spool_max_bytes, low=1),
        graph_cache=get("GRAPH_CACHE") or defaults.graph_cache,
        host=get("HOST") or defaults.host,
        port=_whole(get, "PORT", defaults.port, low=1, high=65535),
        log_level=get("LOG_LEVEL") or defaults.log_level,
        feed_urls=parse_feed_urls(get("FEED_URLS") or ""),
        bench_endpoints=(get("BENCH_ENDPOINTS") or "").lower() in ("1", "true", "yes"),
        # 0 would make ``waitless events prune`` delete every event.
        event_retention_days=_whole(get, "EVENT_RETENTION_DAYS", defaults.event_retention_days,
                                    low=1),
        commissioner_token=get("COMMISSIONER_TOKEN"),
        cookie_secure=(get("COOKIE_SECURE") or "true").lower() not in ("0", "false", "no", "off"),
        session_hours=_positive(get, "SESSION_HOURS", defaults.session_hours),
        rate_limit=_rate(get, "RATE_LIMIT", defaults.rate_limit),
        login_rate_limit=_rate(get, "LOGIN_RATE_LIMIT", defaults.login_rate_limit),
        auth_failure_limit=_rate(get, "AUTH_FAILURE_LIMIT",
                                 defaults.auth_failure_limit),
        trusted_proxies=_comma_list(get("TRUSTED_PROXIES")),
        cors_origins=tuple(o.rstrip("/") for o in _comma_list(get("CORS_ORIGINS"))),
        keepalive_seconds=_positive(get, "KEEPALIVE_SECONDS", defaults.keepalive_seconds),
        event_flush_seconds=_positive(get, "EVENT_FLUSH_SECONDS", defaults.event_flush_seconds),
        push_tokens=parse_pairs(get("PUSH_TOKENS") or "", "WAITLESS_PUSH_TOKENS",
                                "feed=token"),
        leader_lease_seconds=_positive(get, "LEADER_LEASE_SECONDS",
                                       defaults.leader_lease_seconds),
        # 0, like unset, serves no metrics.
        ingest_metrics_port=_whole(get, "INGEST_METRICS_PORT", 0, low=0, high=65535) or None,
        map_tile_url=_tile_url(get("MAP_TILE_URL")),
        map_attribution=get("MAP_ATTRIBUTION"),
        loop_lag_warn_ms=_positive(get, "LOOP_LAG_WARN_MS", defaults.loop_lag_warn_ms),
    )


def _positive(get: Callable[[str], str | None], name: str, default: float) -> float:
    """``WAITLESS_<name>`` as a finite number above 0 (``default`` when unset).

    Raises
    ------
    ConfigError
        Naming the variable: not a number, ``nan``/``inf`` (``float()`` reads both, and nan
        passes every ``<= 0`` check), or 0 and below.
    """
    text = get(name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (is_number(value) and value > 0):
        msg = f"WAITLESS_{name} must be a number above 0, not {text!r}"
        raise ConfigError(msg)
    return value


def _whole(get: Callable[[str], str | None], name: str, default: int, *, low: int,
           high: int | None = None) -> int:
    """``WAITLESS_<name>`` as a whole number from ``low`` to ``high`` (``default`` when unset).

    Raises
    ------
    ConfigError
        Naming the variable and the range, instead of ``int()``'s bare ValueError traceback.
    """
    text = get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        span = f"from {low} to {high}" if high is not None else f"at least {low}"
        msg = f"WAITLESS_{name} must be a whole number {span}, not {text!r}"
        raise ConfigError(msg)
    return value


def _regions(single: str | None, several: str | None) -> tuple[str, ...]:
    """Region names or paths from ``WAITLESS_REGION`` or ``WAITLESS_REGIONS`` (not both)."""
    if single and several:
        msg = "set WAITLESS_REGION or WAITLESS_REGIONS, not both (WAITLESS_REGIONS lists all)"
        raise ConfigError(msg)
    regions = _comma_list(several) if several else (single,) if single else ()
    if len(set(regions)) != len(regions):
        msg = f"WAITLESS_REGIONS names a region twice: {several!r}"
        raise ConfigError(msg)
    return regions


def _tile_url(value: str | None) -> str | None:
    if value is not None and not (value.startswith("https://")
                                  and all(p in value for p in ("{z}", "{x}", "{y}"))):
        msg = f"WAITLESS_MAP_TILE_URL must be an https URL with {{z}}, {{x}} and {{y}}: {value!r}"
        raise ConfigError(msg)
    return value


_UNITS_SECONDS = {"second": 1, "minute": 60, "hour": 3600}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour)s?\s*$")
_RATE_SHAPE = "N/second, N/minute or N/hour with N >= 1"


@dataclass(frozen=True, slots=True)
class Rate:
    """``limit`` requests per ``window_seconds``."""

    limit: int
    window_seconds: int


def parse_rate(text: str) -> Rate:
    """``"120/minute"`` -> ``Rate(120, 60)``; units: second, minute, hour.

    Raises
    ------
    ConfigError
        When ``text`` is not ``N/unit`` with a whole N of at least 1.
    """
    match = _RATE.match(text)
    if not match or int(match.group(1)) < 1:
        msg = f"rate limit {text!r} is not {_RATE_SHAPE}"
        raise ConfigError(msg)
    return Rate(int(match.group(1)), _UNITS_SECONDS[match.group(2)])


def _rate(get: Callable[[str], str | None], name: str, default: str | None) -> str | None:
    """``WAITLESS_<name>`` as a rate limit (``None``: no limit), checked when read.

    Three variables share the syntax, so the error names the one that is wrong.
    """
    text = get(name)
    if text is None:
        return default
    if text.lower() in ("off", "0", "none", "false"):
        return None
    try:
        parse_rate(text)
    except ConfigError:
        msg = f"WAITLESS_{name} must be {_RATE_SHAPE}, or off, not {text!r}"
        raise ConfigError(msg) from None
    return text


def _comma_list(value: str | None) -> tuple[str, ...]:
    return tuple(filter(None, (part.strip() for part in (value or "").split(","))))


def parse_feed_urls(text: str) -> tuple[tuple[str, str], ...]:
    """``"a=http://x,b=http://y"`` -> ``(("a", "http://x"), ("b", "http://y"))``.

    Raises
    ------
    ConfigError
        An entry not ``name=url``, or a url that is not an http(s) address with a host (it
        would fail every poll as if the feed were down). The url is never echoed: a feed's
        address may carry a key.
    """
    pairs = parse_pairs(text, "WAITLESS_FEED_URLS", "name=url")
    for number, (name, url) in enumerate(pairs, 1):
        if not is_feed_url(url):
            msg = (f"WAITLESS_FEED_URLS entry {number} ({name}): the url is not an http:// or "
                   "https:// address with a host")
            raise ConfigError(msg)
    return pairs


def parse_pairs(text: str, variable: str, shape: str) -> tuple[tuple[str, str], ...]:
    """``"a=x,b=y"`` -> ``(("a", "x"), ("b", "y"))``; ``ValueError`` naming ``variable``."""
    pairs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            # Never echo the entry: it may hold a secret.
            msg = f"{variable} entry {len(pairs) + 1} is not {shape}"
            raise ConfigError(msg)
        pairs.append((name.strip(), value.strip()))
    return tuple(pairs)
