"""Region configuration: a name, a timezone, its sites (with services) and its feeds.

A region is a TOML file (see ``docs/regions.md``). ``kent-medway`` ships inside the package;
any other region is a path given with ``--region`` or ``WAITLESS_REGION``.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from waitless.domain.coverage import CoverageSettings, parse_coverage
from waitless.domain.errors import RegionError
from waitless.domain.graph_settings import GraphSettings, parse_graph
from waitless.domain.load_aware_settings import LoadAwareSettings, parse_load_aware
from waitless.domain.ranking_settings import RankingSettings, parse_ranking
from waitless.domain.region_values import check_keys, name_text, number, table, tables, text
from waitless.domain.sites import Site, parse_site
from waitless.domain.stats_settings import StatsConfig, parse_stats_config
from waitless.domain.validation_settings import ValidationSettings, parse_validation

DEFAULT_REGION = "kent-medway"
# The ``--region`` help of every one-region command: how waitless.settings picks the default.
REGION_HELP = (f"bundled region name or region TOML path (default: $WAITLESS_REGION, the first "
               f"of $WAITLESS_REGIONS, or {DEFAULT_REGION})")


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """A waiting-time source. ``options`` holds the entry's other keys: the adapter's
    settings and the poller's (``retries``, ...), checked by :mod:`feeds.config_check`."""

    name: str
    format: str
    url: str | None
    interval_seconds: float = 60.0
    timeout_seconds: float = 10.0
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Region:
    """A region file, every section validated once when it is loaded.

    Attributes
    ----------
    validation
        ``[validation]``: limits a feed value must keep to be stored.
    graph
        ``[graph]``: how road graphs are built and queried.
    stats
        ``[stats]``: the commissioners' providers, targets and breaks (``None``: no statistics).
    gazetteer_file
        ``[gazetteer] file``, resolved against the region file's folder (``None``: no place
        search).
    coverage
        ``[coverage]``: the area the region answers for among several regions.
    load_aware
        ``[load_aware]``: load-aware ranking (issue #17; off by default).
    """

    name: str
    title: str
    timezone: ZoneInfo
    sites: tuple[Site, ...]
    feeds: tuple[FeedConfig, ...]
    ranking: RankingSettings
    source_path: str
    validation: ValidationSettings = field(default_factory=ValidationSettings)
    graph: GraphSettings = field(default_factory=GraphSettings)
    stats: StatsConfig | None = None
    gazetteer_file: str | None = None
    coverage: CoverageSettings = field(default_factory=CoverageSettings)
    load_aware: LoadAwareSettings = field(default_factory=LoadAwareSettings)
    # Derived from ``sites`` once, because every ranking reads them: the ids in order, each
    # id's index (the first site of an id, as a search in order finds it) and which sites
    # have an ED.
    site_ids: tuple[str, ...] = field(init=False, repr=False, compare=False)
    site_index: Mapping[str, int] = field(init=False, repr=False, compare=False)
    site_has_ed: tuple[bool, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "site_ids", tuple(s.id for s in self.sites))
        object.__setattr__(self, "site_index",
                           {s.id: i for i, s in reversed(list(enumerate(self.sites)))})
        object.__setattr__(self, "site_has_ed",
                           tuple(s.service("ed") is not None for s in self.sites))

    def site(self, site_id: str) -> Site | None:
        index = self.site_index.get(site_id)
        return None if index is None else self.sites[index]

    def sites_hash(self) -> str:
        """Stable hash of site ids and coordinates (routing tables depend on exactly these)."""
        text = "\n".join(f"{s.id},{s.lat:.6f},{s.lon:.6f}" for s in self.sites)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def resolve_region_path(name_or_path: str | None) -> Path:
    """Turn ``--region`` (a bundled region name or a file path) into a file path."""
    value = name_or_path or DEFAULT_REGION
    path = Path(value)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            msg = f"region file {value!r} not found"
            raise RegionError(msg)
        return path
    bundled = resources.files("waitless") / "regions" / f"{value}.toml"
    if not bundled.is_file():
        known = sorted(p.name.removesuffix(".toml")
                       for p in (resources.files("waitless") / "regions").iterdir()
                       if p.name.endswith(".toml"))
        msg = f"unknown region {value!r}; bundled regions: {', '.join(known)}; or pass a .toml path"
        raise RegionError(msg)
    return Path(str(bundled))


def load_region(name_or_path: str | None = None) -> Region:
    """Load and validate a region from a bundled name or a TOML path.

    Raises
    ------
    RegionError
        Naming the file and the key at fault.
    """
    path = resolve_region_path(name_or_path).resolve()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        msg = f"cannot read region file {path}: {exc}"
        raise RegionError(msg) from exc
    try:
        return parse_region(data, source_path=str(path))
    except RegionError as exc:
        raise type(exc)(f"{path}: {exc}") from exc


# Keys every feed has; the rest of a [[feeds]] entry is adapter and poller options, which
# the feeds package checks (feeds.config_check): this layer cannot import the adapters.
_FEED_KEYS = frozenset({"name", "format", "url", "interval_seconds", "timeout_seconds"})


def _parse_feed(raw: dict[str, Any], index: int) -> FeedConfig:
    name = name_text(raw, "name", f"feeds[{index}]", "WAITLESS_FEED_URLS and the push address")
    where = f"feed {name}"
    url = raw.get("url")
    return FeedConfig(
        name=name,
        format=text(raw, "format", where),
        url=None if url is None else _feed_url(text(raw, "url", where), where),
        interval_seconds=number(raw, "interval_seconds", where, 60.0, positive=True),
        timeout_seconds=number(raw, "timeout_seconds", where, 10.0, positive=True),
        options={k: v for k, v in raw.items() if k not in _FEED_KEYS},
    )


def is_feed_url(url: str) -> bool:
    """Whether ``url`` is an ``http(s)://`` address with a host that a poller can fetch.

    Anything else would load and then fail on every poll as a connection error
    (``cannot fetch not a url``), looking like an outage of the feed, not a typo.
    """
    try:
        parts = urlsplit(url)
        return (parts.scheme in ("http", "https") and bool(parts.hostname)
                and (parts.port is None or parts.port > 0)
                and not any(c.isspace() for c in url))
    except ValueError:  # a port out of range, a bad IPv6 address
        return False


def _feed_url(url: str, where: str) -> str:
    """``url`` if :func:`is_feed_url`, else a :class:`RegionError` naming the feed."""
    if not is_feed_url(url):
        msg = f"{where}: url must be an http:// or https:// address with a host, not {url!r}"
        raise RegionError(msg)
    return url


def parse_region(data: dict[str, Any], *, source_path: str = "<memory>") -> Region:
    """Validate a parsed TOML document and build a :class:`Region`."""
    unknown = sorted(set(data) - KNOWN_SECTIONS)
    if unknown:
        msg = (f"unknown section(s) {', '.join(unknown)}; "
               f"known: {', '.join(sorted(KNOWN_SECTIONS))}")
        raise RegionError(msg)
    if "region" not in data:
        msg = "region file: missing required key 'region'"
        raise RegionError(msg)
    region_table = table(data["region"], "[region]")
    check_keys(region_table, _REGION_KEYS, "[region]")
    name = _machine_name(text(region_table, "name", "[region]"))
    timezone = _timezone(text(region_table, "timezone", "[region]"))
    sites = tuple(parse_site(raw, i)
                  for i, raw in enumerate(tables(data.get("sites", []), "[[sites]]")))
    if not sites:
        msg = "region file defines no [[sites]]"
        raise RegionError(msg)
    ids = [s.id for s in sites]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        msg = f"duplicate site id(s): {', '.join(duplicates)}"
        raise RegionError(msg)
    feeds = tuple(_parse_feed(raw, i)
                  for i, raw in enumerate(tables(data.get("feeds", []), "[[feeds]]")))
    names = [f.name for f in feeds]
    if len(set(names)) != len(names):
        msg = f"duplicate feed names in {names}"
        raise RegionError(msg)
    ranking = parse_ranking(_table(data, "ranking"))
    stats_raw = data.get("stats")
    return Region(
        name=name,
        title=text(region_table, "title", "[region]", name),
        timezone=timezone,
        sites=sites,
        feeds=feeds,
        ranking=ranking,
        source_path=source_path,
        validation=parse_validation(_table(data, "validation"),
                                    stale_after_minutes=ranking.stale_after_minutes,
                                    error=RegionError),
        graph=parse_graph(_table(data, "graph"), error=RegionError),
        stats=None if stats_raw is None else parse_stats_config(_table(data, "stats")),
        gazetteer_file=_gazetteer_file(_table(data, "gazetteer"), source_path),
        coverage=parse_coverage(_table(data, "coverage"), error=RegionError),
        load_aware=parse_load_aware(_table(data, "load_aware"), error=RegionError),
    )


_REGION_KEYS = frozenset({"name", "title", "timezone"})
# Lower-case letters, digits and hyphens, as a DNS label or Kubernetes name: the name becomes a
# folder under the graph cache (so "../x" or "a/b" would write outside it), part of every Redis
# key and a metric label.
_MACHINE_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def _machine_name(name: str) -> str:
    if not _MACHINE_NAME.fullmatch(name):
        msg = (f"[region] name must be lower-case letters, digits and hyphens (at most 63, "
               f"not starting or ending with a hyphen), like kent-medway, not {name!r}")
        raise RegionError(msg)
    return name
KNOWN_SECTIONS = frozenset({"region", "sites", "feeds", "ranking", "validation", "graph",
                            "stats", "gazetteer", "coverage", "load_aware"})


# Names ZoneInfo loads that are no region's zone: the host's own zone and tzdata's "-00".
_NOT_A_PLACE = {"localtime": "the zone of whatever machine runs the service, not the region's",
                "Factory": "tzdata's placeholder with no offset of its own"}


def _timezone(name: str) -> ZoneInfo:
    """The ``[region] timezone`` as a zone, or a :class:`RegionError` saying what is wrong."""
    hint = "like 'Europe/London'"
    if name in _NOT_A_PLACE:
        msg = f"[region]: timezone {name!r} is {_NOT_A_PLACE[name]}; use an IANA zone {hint}"
        raise RegionError(msg)
    try:
        return ZoneInfo(name)
    except IsADirectoryError as exc:
        # ZoneInfo("Europe") opens the folder of European zones as a file.
        msg = (f"[region]: timezone {name!r} is a folder of zones, not a zone; "
               f"name one inside it, {hint}")
        raise RegionError(msg) from exc
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        msg = f"[region]: unknown timezone {name!r}; use an IANA zone {hint}"
        raise RegionError(msg) from exc


def _table(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        msg = f"[{name}] must be a table"
        raise RegionError(msg)
    return value


def _gazetteer_file(raw: dict[str, Any], source_path: str) -> str | None:
    if not raw:
        return None
    if "file" not in raw or set(raw) != {"file"}:
        msg = "[gazetteer] needs exactly file = \"<name>.csv\" (relative to the region file)"
        raise RegionError(msg)
    if not isinstance(raw["file"], str) or not raw["file"].strip():
        msg = "[gazetteer] file must be text: the CSV's name, relative to the region file"
        raise RegionError(msg)
    return str(Path(source_path).parent / raw["file"])
