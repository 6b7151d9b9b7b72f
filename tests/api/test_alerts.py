"""The alerts in deploy/alerts.yml select what the service really exports.

tests/api/test_operations.py checks that every metric an alert names exists; these tests drive
the service into the state an alert is for and evaluate the alert's selector against the
samples it then exports, so a renamed label value or a missing series fails here.
"""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from feeds.health import FeedHealth
from tests.conftest import REPO_ROOT, eventually
from waitless.api import keys
from waitless.api.app import create_app
from waitless.domain.region import load_region, resolve_region_path
from waitless.live.store import MemoryLiveStore
from waitless.settings import Settings

TOKEN = "commissioner-token-for-alerts"
Sample = tuple[str, dict[str, str], float]


def alert(name: str) -> dict[str, Any]:
    rules = yaml.safe_load((REPO_ROOT / "deploy" / "alerts.yml").read_text())
    found = [r for g in rules["groups"] for r in g["rules"] if r.get("alert") == name]
    assert len(found) == 1, f"deploy/alerts.yml has {len(found)} alerts named {name}"
    return found[0]


def samples(registry: Any) -> list[Sample]:
    return [(s.name, s.labels, s.value) for family in registry.collect()
            for s in family.samples]


def selector(expr: str, metric: str) -> list[tuple[str, str, str]]:
    """The label matchers (label, operator, value) of ``metric{...}`` in a PromQL ``expr``."""
    found = re.findall(rf"\b{metric}\{{([^}}]*)\}}", expr)
    assert len(found) == 1, f"expected one {metric}{{...}} selector in {expr!r}"
    matchers = re.findall(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"', found[0])
    assert matchers, f"no label matchers in {found[0]!r}"
    return matchers


def matches(labels: dict[str, str], matchers: list[tuple[str, str, str]]) -> bool:
    """PromQL matching: regular expressions are anchored at both ends."""
    for label, op, value in matchers:
        have = labels.get(label, "")
        ok = {"=": have == value, "!=": have != value,
              "=~": re.fullmatch(value, have) is not None,
              "!~": re.fullmatch(value, have) is None}[op]
        if not ok:
            return False
    return True


async def test_login_flood_selects_the_refusals_a_credential_flood_makes(
        aiohttp_client, kent, tmp_path: Path) -> None:
    """Guessing the dashboard's sign-in or the statistics token past the limits (the default
    ones) is what WaitLessLoginFlood pages for; a busy public endpoint is not."""
    settings = Settings(spool_dir=str(tmp_path / "spool"), commissioner_token=TOKEN,
                        cookie_secure=False)
    app = create_app(settings, region=kent, live_store=MemoryLiveStore())
    client = await aiohttp_client(app)
    refused = 0
    for _ in range(25):
        response = await client.post("/commissioners/login", data={"token": "guess"},
                                     allow_redirects=False)
        assert response.status in (401, 429)
        refused += response.status == 429
    for _ in range(15):
        response = await client.get("/v1/stats/shift",
                                    headers={"Authorization": "Bearer guess"})
        assert response.status in (401, 429)
        refused += response.status == 429
    assert refused >= 15
    rule = alert("WaitLessLoginFlood")
    matchers = selector(rule["expr"], "waitless_rate_limited_total")
    limited = [(labels, value) for name, labels, value in samples(app[keys.METRICS].registry)
               if name == "waitless_rate_limited_total"]
    selected = sum(value for labels, value in limited if matches(labels, matchers))
    assert selected == refused, (matchers, limited)
    # Patients hitting the public limit are WaitLessRateLimited's business, not a page.
    public = [(await client.get("/v1/sites")).status for _ in range(130)]
    assert public.count(429) >= 10
    limited = [(labels, value) for name, labels, value in samples(app[keys.METRICS].registry)
               if name == "waitless_rate_limited_total"]
    assert sum(value for labels, value in limited if matches(labels, matchers)) == refused


def unless_on(expr: str, registry: Any) -> set[tuple[str, ...]]:
    """Evaluate ``A unless on (labels) B`` (bare metric names) on the registry: the values of
    ``labels`` of A's series that no series of B has."""
    shape = re.fullmatch(r"\s*(\w+)\s+unless\s+on\s*\(([\w\s,]+)\)\s*(\w+)\s*", expr)
    assert shape, f"not the 'A unless on (...) B' this test evaluates: {expr!r}"
    left, on, right = shape.groups()
    names = [label.strip() for label in on.split(",")]
    exported = samples(registry)
    have = {tuple(labels.get(n, "") for n in names) for name, labels, _ in exported
            if name == right}
    return {tuple(labels.get(n, "") for n in names) for name, labels, _ in exported
            if name == left} - have


PUSH_FEEDS = """
[[feeds]]
name = "kent-push"
format = "bc_push"
service = "utc"
sites = { "kch" = "RVVKC" }

[[feeds]]
name = "trust-native"
format = "native"
"""


async def test_feed_never_up_fires_for_feeds_without_a_success(
        aiohttp_client, tmp_path: Path, fixed_now) -> None:
    """WaitLessFeedDown needs a last-success time; a feed that never had one (a polled feed
    failing since start-up, a push feed never pushed) is WaitLessFeedNeverUp's."""
    bundled = resolve_region_path("kent-medway")
    path = tmp_path / "kent-push.toml"
    path.write_text(bundled.read_text() + PUSH_FEEDS)
    shutil.copy(bundled.with_name("kent-medway-places.csv"), tmp_path)
    region = load_region(str(path))
    assert [f.name for f in region.feeds] == ["simulator", "kent-push", "trust-native"]
    store = MemoryLiveStore()
    # The statuses the poller and the push endpoint write: the simulator feed has failed
    # from the start; kent-push succeeded once, then failed; trust-native never reported.
    never = FeedHealth("simulator")
    for _ in range(3):
        never.record_failure("connection refused", "connection", fixed_now, circuit="open")
    once = FeedHealth("kent-push")
    once.record_success(fixed_now - timedelta(hours=1), not_modified=False, circuit="closed")
    once.record_failure("HTTP 503", "http_5xx", fixed_now, circuit="closed")
    for health in (never, once):
        await store.put_feed_status(region.name, health.feed, health.as_dict())
    app = create_app(Settings(spool_dir=str(tmp_path / "spool")), region=region,
                     live_store=store, clock=lambda: fixed_now)
    client = await aiohttp_client(app)
    await eventually(lambda: len(app[keys.SNAPSHOT].feed_statuses) == 2,
                     what="the feed statuses in the API's snapshot")
    assert (await client.get("/metrics")).status == 200
    registry = app[keys.METRICS].registry
    rule = alert("WaitLessFeedNeverUp")
    assert unless_on(rule["expr"], registry) == {("kent-medway", "simulator"),
                                                  ("kent-medway", "trust-native")}
    assert rule["annotations"]["runbook"].endswith("#a-feed-never-came-up")
    # The feed that once succeeded is WaitLessFeedDown's: its last success is exported.
    down = alert("WaitLessFeedDown")
    assert "waitless_feed_last_success_timestamp_seconds" in down["expr"]
    assert {(labels["region"], labels["feed"]): value
            for name, labels, value in samples(registry)
            if name == "waitless_feed_last_success_timestamp_seconds"} == {
        ("kent-medway", "kent-push"): (fixed_now - timedelta(hours=1)).timestamp()}
