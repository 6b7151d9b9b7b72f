"""The alerts in deploy/alerts.yml select what the service really exports.

tests/api/test_operations.py checks that every metric an alert names exists; these tests drive
the service into the state an alert is for and evaluate the alert's selector against the
samples it then exports, so a renamed label value or a missing series fails here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO_ROOT
from waitless.api import keys
from waitless.api.app import create_app
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
