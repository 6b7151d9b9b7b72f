"""Operations files: the alert rules parse and name only metrics the service exports."""

import re

import yaml

from tests.conftest import REPO_ROOT
from waitless.api import keys
from waitless.api.app import create_app
from waitless.live.leader import LeaderMetrics
from waitless.live.store import MemoryLiveStore
from waitless.metrics import IngestMetrics
from waitless.settings import Settings


def test_alert_rules_parse_and_use_exported_metrics(kent, tmp_path) -> None:
    rules = yaml.safe_load((REPO_ROOT / "deploy" / "alerts.yml").read_text())
    alerts = [r for g in rules["groups"] for r in g["rules"]]
    assert len(alerts) >= 6
    exported = set()
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"),
                "gauge": ("",)}
    # The registry exactly as the app builds it (collectors and counters registered there).
    app = create_app(Settings(spool_dir=str(tmp_path)), region=kent,
                     live_store=MemoryLiveStore())
    for family in app[keys.METRICS].registry.collect():
        exported.update(family.name + s for s in suffixes[family.type])
    # And the ingestor's registry, as waitless.live.elected_ingest builds it (leadership).
    ingest_metrics = IngestMetrics()
    LeaderMetrics(ingest_metrics.registry)
    for family in ingest_metrics.registry.collect():
        exported.update(family.name + s for s in suffixes[family.type])
    runbook = (REPO_ROOT / "docs" / "operations.md").read_text().lower()
    for alert in alerts:
        assert {"alert", "expr", "labels", "annotations"} <= set(alert), alert
        names = set(re.findall(r"\bwaitless_[a-z_]+", alert["expr"]))
        assert names, alert["alert"]
        assert names <= exported, (alert["alert"], names - exported)
        anchor = alert["annotations"]["runbook"].split("#", 1)[1]
        assert anchor.replace("-", " ") in runbook, anchor
