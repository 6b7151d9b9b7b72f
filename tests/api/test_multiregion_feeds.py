"""Feeds of several regions served together, as /metrics, the alerts and /readyz see them.

Two regions may well name a feed alike (each trust's "trust" feed): every feed series carries
its ``region``, the feed alerts group on (region, feed), every region's site-wait ages are
exported, and /readyz lists every configured feed of every region, reported or not.

Real Redis (live store); the regions are tests/api/regions/border-*.toml with feeds added.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from feeds.health import FeedHealth
from feeds.ingest import FeedIngest
from tests.conftest import REPO_ROOT
from waitless.api import keys
from waitless.api.app import create_app
from waitless.domain.observation import Observation
from waitless.domain.region import load_region
from waitless.live.redis_store import RedisLiveStore
from waitless.metrics import IngestMetrics
from waitless.settings import settings_from_env

REGIONS_DIR = Path(__file__).parent / "regions"
# Feeds of each region: both regions poll one named "trust" (polled feed names may repeat
# across regions; push feed names may not: tests/api/test_multiregion_push.py), and North has
# a push feed, "north-only", that has never pushed.
FEEDS = {"border-north": ("trust", "north-only"), "border-south": ("trust",)}
URLS = {"trust": "https://trust.example/waits.json"}
# Site service -> minutes since its wait was observed, per region.
AGES = {"border-north": {("TNB01", "utc"): 5, ("TNB02", "ed"): 10},
        "border-south": {("TSB01", "utc"): 20, ("TSB02", "utc"): 30}}
Samples = list[tuple[str, dict[str, str], float]]


def region_file(tmp_path: Path, name: str) -> str:
    text = (REGIONS_DIR / f"{name}.toml").read_text()
    for feed in FEEDS[name]:
        text += f'\n[[feeds]]\nname = "{feed}"\nformat = "native"\n'
        if feed in URLS:
            text += f'url = "{URLS[feed]}"\n'
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return str(path)


def alert(name: str) -> dict[str, Any]:
    rules = yaml.safe_load((REPO_ROOT / "deploy" / "alerts.yml").read_text())
    return next(r for g in rules["groups"] for r in g["rules"] if r.get("alert") == name)


def samples(registries: list[Any], metric: str) -> Samples:
    return [(s.name, s.labels, s.value) for registry in registries
            for family in registry.collect() for s in family.samples if s.name == metric]


@pytest.fixture
async def store(redis_store_factory: Callable[[], RedisLiveStore], fixed_now: datetime
                ) -> AsyncIterator[RedisLiveStore]:
    """North's "trust" has failed since start-up; South's "trust" succeeded 2 minutes ago;
    North's "north-only" never reported. Each region's sites have a wait of known age."""
    live = redis_store_factory()
    for region, ages in AGES.items():
        await live.write(region, [
            Observation(site, kind, 30.0, fixed_now - timedelta(minutes=minutes), feed="trust")
            for (site, kind), minutes in ages.items()])
    failing = FeedHealth("trust")
    failing.record_failure("HTTP 503", "http_5xx", fixed_now, circuit="open")
    await live.put_feed_status("border-north", "trust", failing.as_dict())
    working = FeedHealth("trust")
    working.record_success(fixed_now - timedelta(minutes=2), not_modified=False,
                           circuit="closed")
    await live.put_feed_status("border-south", "trust", working.as_dict())
    yield live
    await live.close()


@pytest.fixture
async def two_regions(aiohttp_client, store: RedisLiveStore, fixed_now: datetime,
                      tmp_path: Path):
    paths = ",".join(region_file(tmp_path, name) for name in FEEDS)
    settings = settings_from_env({"WAITLESS_REGIONS": paths}).with_overrides(
        spool_dir=str(tmp_path / "spool"), graph_cache=str(tmp_path / "no-graphs"))
    app = create_app(settings, live_store=store, clock=lambda: fixed_now)
    client = await aiohttp_client(app)
    assert (await client.get("/metrics")).status == 200
    return app, client


async def test_feed_gauges_name_their_region(two_regions, fixed_now: datetime) -> None:
    app, _ = two_regions
    registry = [app[keys.METRICS].registry]
    configured = {(labels.get("region"), labels["feed"]) for _, labels, _ in
                  samples(registry, "waitless_feed_configured")}
    # Before: {(None, "trust"), (None, "north-only")}, the primary's only, without region.
    assert configured == {("border-north", "trust"), ("border-north", "north-only"),
                          ("border-south", "trust")}
    last_ok = {(labels.get("region"), labels["feed"]): value for _, labels, value in
               samples(registry, "waitless_feed_last_success_timestamp_seconds")}
    assert last_ok == {("border-south", "trust"): (fixed_now - timedelta(minutes=2)).timestamp()}
    open_circuits = {(labels.get("region"), labels["feed"]) for _, labels, value in
                     samples(registry, "waitless_feed_circuit_state")
                     if labels["state"] == "open" and value == 1}
    assert open_circuits == {("border-north", "trust")}


def unless_on(expr: str, registries: list[Any]) -> set[tuple[str, ...]]:
    """Evaluate ``A unless on (labels) B`` (bare metric names): the ``labels`` values of A's
    series that no series of B has."""
    shape = re.fullmatch(r"\s*(\w+)\s+unless\s+on\s*\(([\w\s,]+)\)\s*(\w+)\s*", expr)
    assert shape, f"not the 'A unless on (...) B' this test evaluates: {expr!r}"
    left, on, right = shape.groups()
    names = [label.strip() for label in on.split(",")]
    have = {tuple(labels.get(n, "") for n in names) for _, labels, _ in
            samples(registries, right)}
    return {tuple(labels.get(n, "") for n in names) for _, labels, _ in
            samples(registries, left)} - have


async def test_feed_never_up_is_told_apart_by_region(two_regions) -> None:
    """South's "trust" succeeding must not hide that North's "trust" never did."""
    app, _ = two_regions
    expr = alert("WaitLessFeedNeverUp")["expr"]
    assert re.search(r"on\s*\(\s*region\s*,\s*feed\s*\)", expr), expr
    assert unless_on(expr, [app[keys.METRICS].registry]) == {
        ("border-north", "trust"), ("border-north", "north-only")}


async def test_site_wait_ages_of_every_region(two_regions) -> None:
    app, _ = two_regions
    ages = {(labels.get("region"), labels["site"], labels["service"]): value
            for _, labels, value in samples([app[keys.METRICS].registry],
                                            "waitless_site_wait_age_seconds")}
    # Before: the primary's two sites only, without region.
    assert ages == {(region, site, kind): minutes * 60.0 for region, by_site in AGES.items()
                    for (site, kind), minutes in by_site.items()}


async def test_readyz_lists_every_configured_feed_of_every_region(two_regions) -> None:
    _, client = two_regions
    response = await client.get("/readyz")
    assert response.status == 200  # degraded is still ready
    body = await response.json()
    assert body["status"] == "degraded" and "feeds" in body["degraded"]
    reported = {region: {feed: (status["reported"], status["ok"])
                         for feed, status in body["regions"][region]["feeds"].items()}
                for region in FEEDS}
    assert reported == {
        "border-north": {"trust": (True, False), "north-only": (False, False)},
        "border-south": {"trust": (True, True)}}
    assert {r: body["regions"][r]["feeds_ok"] for r in FEEDS} == {
        "border-north": False, "border-south": True}
    # The top-level table is the primary's, now with its never-reported feed too.
    assert {feed: status["reported"] for feed, status in body["feeds"].items()} == {
        "trust": True, "north-only": False}


async def test_a_never_reported_feed_alone_degrades_readiness(
        aiohttp_client, redis_store_factory: Callable[[], RedisLiveStore],
        fixed_now: datetime, tmp_path: Path) -> None:
    """Every status in the store is healthy; a configured feed without one is not."""
    live = redis_store_factory()
    try:
        working = FeedHealth("trust")
        working.record_success(fixed_now, not_modified=False, circuit="closed")
        for region in FEEDS:
            await live.put_feed_status(region, "trust", working.as_dict())
        paths = ",".join(region_file(tmp_path, name) for name in FEEDS)
        settings = settings_from_env({"WAITLESS_REGIONS": paths}).with_overrides(
            spool_dir=str(tmp_path / "spool"), graph_cache=str(tmp_path / "no-graphs"))
        client = await aiohttp_client(create_app(settings, live_store=live,
                                                 clock=lambda: fixed_now))
        response = await client.get("/readyz")
        body = await response.json()
        assert response.status == 200
        assert body["degraded"] == ["feeds", "travel_estimate"]  # before: travel only
        assert body["feeds"]["north-only"] == {
            "ok": False, "reported": False, "circuit": None, "last_ok_at": None,
            "last_error_reason": None, "consecutive_failures": 0}
    finally:
        await live.close()


def _document(now: datetime, waits: dict[str, float]) -> bytes:
    return orjson.dumps({"generated_at": now.isoformat(), "sites": [
        {"site_id": site, "service": "utc", "wait_minutes": minutes, "status": "open",
         "observed_at": now.isoformat()} for site, minutes in waits.items()]})


async def test_feed_counters_name_their_region(
        redis_store_factory: Callable[[], RedisLiveStore], fixed_now: datetime,
        tmp_path: Path) -> None:
    """One ingestor per region, each with its own registry (as two pods): North's "trust"
    sends an impossible wait, South's a good one. The alert's groups must say which."""
    live = redis_store_factory()
    registries = []
    try:
        for name, waits in (("border-north", {"TNB01": 100_000.0}),
                            ("border-south", {"TSB01": 15.0})):
            region = load_region(region_file(tmp_path, name))
            metrics = IngestMetrics()
            registries.append(metrics.registry)
            feed = next(f for f in region.feeds if f.name == "trust")
            ingest = FeedIngest(feed, region, live, metrics=metrics, clock=lambda: fixed_now)
            await ingest.accept(_document(fixed_now, waits))
    finally:
        await live.close()
    accepted = {(labels.get("region"), labels["feed"]): value for _, labels, value in
                samples(registries, "waitless_observations_accepted_total")}
    assert accepted == {("border-north", "trust"): 0.0, ("border-south", "trust"): 1.0}
    expr = alert("WaitLessObservationsRejected")["expr"]
    by = re.search(r"sum by \(([^)]*)\)", expr)
    assert by, expr
    group_labels = [label.strip() for label in by.group(1).split(",")]
    assert group_labels == ["region", "feed", "reason"]  # before: feed, reason
    groups = {tuple(labels.get(n) for n in group_labels) for _, labels, value in
              samples(registries, "waitless_observations_rejected_total") if value > 0}
    assert groups == {("border-north", "trust", "implausible_high")}
