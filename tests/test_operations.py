"""Operations files: the alert rules parse and name only metrics the service exports."""

import re

import yaml

from tests.conftest import REPO_ROOT
from waitless.metrics import Metrics
from waitless.ratelimit import rate_limited_counter


def test_alert_rules_parse_and_use_exported_metrics() -> None:
    rules = yaml.safe_load((REPO_ROOT / "deploy" / "alerts.yml").read_text())
    alerts = [r for g in rules["groups"] for r in g["rules"]]
    assert len(alerts) >= 6
    exported = set()
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"),
                "gauge": ("",)}
    metrics = Metrics()
    rate_limited_counter(metrics.registry)  # registered by the app next to Metrics
    for family in metrics.registry.collect():
        exported.update(family.name + s for s in suffixes[family.type])
    runbook = (REPO_ROOT / "docs" / "operations.md").read_text().lower()
    for alert in alerts:
        assert {"alert", "expr", "labels", "annotations"} <= set(alert), alert
        names = set(re.findall(r"\bwaitless_[a-z_]+", alert["expr"]))
        assert names, alert["alert"]
        assert names <= exported, (alert["alert"], names - exported)
        anchor = alert["annotations"]["runbook"].split("#", 1)[1]
        assert anchor.replace("-", " ") in runbook, anchor
