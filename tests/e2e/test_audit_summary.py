"""Issue #13 item 12: the pip-audit summary never calls an unaudited run clean."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

from tests.conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "audit_summary.py"
_spec = importlib.util.spec_from_file_location("audit_summary", SCRIPT)
audit_summary = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(audit_summary)

EDITABLE = {"name": "waitless", "skip_reason": "distribution marked as editable"}


def report(*deps: dict) -> str:
    return json.dumps({"dependencies": list(deps), "fixes": []})


def test_nothing_audited_is_said_plainly(monkeypatch) -> None:
    monkeypatch.delenv("WAITLESS_AUDIT_REQUIRED", raising=False)
    # The review's case: 98 packages listed, none of them checked (service unreachable).
    deps = [{"name": f"p{i}", "version": "1.0", "skip_reason": "Dependency not found on PyPI"}
            for i in range(98)]
    code, lines = audit_summary.summarise(0, report(EDITABLE, *deps))
    assert code == 0
    assert lines[0].startswith("NOT AUDITED: pip-audit checked 0 of 98 packages")
    assert not any("no known vulnerabilities" in line for line in lines)
    monkeypatch.setenv("WAITLESS_AUDIT_REQUIRED", "1")
    assert audit_summary.summarise(0, report(*deps))[0] == 2


def test_a_failed_service_is_not_audited_even_with_a_package_list() -> None:
    deps = [{"name": "aiohttp", "version": "3.9.0", "vulns": []}]
    code, lines = audit_summary.summarise(1, report(*deps))
    assert code == 0
    assert lines[0].startswith("NOT AUDITED: pip-audit checked 0 of 1 packages (exit status 1)")
    _, lines = audit_summary.summarise(1, None)
    assert lines[0].startswith("NOT AUDITED: pip-audit checked 0 of 0 packages")


def test_clean_and_vulnerable_runs() -> None:
    clean = [{"name": "orjson", "version": "3.10.0", "vulns": []},
             {"name": "redis", "version": "5.0.0", "vulns": []}]
    assert audit_summary.summarise(0, report(EDITABLE, *clean)) == (
        0, ["no known vulnerabilities: all 2 packages audited"])
    bad = {"name": "jinja2", "version": "3.1.2", "vulns": [{"id": "GHSA-h5c8-rqwp-cp95"}]}
    code, lines = audit_summary.summarise(1, report(*clean, bad))
    assert (code, lines) == (1, ["VULNERABLE: jinja2 3.1.2: GHSA-h5c8-rqwp-cp95"])


def test_the_script_runs_from_test_sh(tmp_path) -> None:
    path = tmp_path / "pip-audit.json"
    path.write_text(report({"name": "x", "version": "1", "skip_reason": "not found"}))
    done = subprocess.run([sys.executable, str(SCRIPT), "0", str(path)], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0 and done.stdout.startswith("NOT AUDITED")
    assert "scripts/audit_summary.py" in (REPO_ROOT / "scripts" / "test.sh").read_text()
