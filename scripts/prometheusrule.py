"""Write deploy/kubernetes/prometheusrule.yaml from deploy/alerts.yml (one source of rules).

Run ``python scripts/prometheusrule.py`` after editing the alerts; tests/deploy/test_kubernetes.py
fails while the two differ.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
HEADER = ("# Generated from deploy/alerts.yml by scripts/prometheusrule.py: edit the alerts "
          "there.\n# For the Prometheus Operator (kube-prometheus-stack selects rules by the "
          "release label).\n")


def render() -> str:
    rules = yaml.safe_load((ROOT / "deploy" / "alerts.yml").read_text())
    document = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "waitless",
                     "labels": {"app.kubernetes.io/name": "waitless",
                                "release": "kube-prometheus-stack"}},
        "spec": {"groups": rules["groups"]},
    }
    return HEADER + yaml.safe_dump(document, sort_keys=False, width=100)


if __name__ == "__main__":
    (ROOT / "deploy" / "kubernetes" / "prometheusrule.yaml").write_text(render())
    sys.exit(0)
