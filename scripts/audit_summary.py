"""Summarise a ``pip-audit -f json`` report so that "could not audit" is never "no findings".

Usage: ``python scripts/audit_summary.py <pip-audit exit status> <report.json>``. Prints one
verdict line and exits 1 when a vulnerability is known, 2 when some or all packages were not
audited (service unreachable, versions unknown to it, no report) and
``WAITLESS_AUDIT_REQUIRED=1``, else 0. The verdict always says how many packages were audited
out of how many: "no known vulnerabilities" is printed only when every package was checked.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def summarise(exit_status: int, report_text: str | None) -> tuple[int, list[str]]:
    """(exit code, lines to print) for one pip-audit run; see the module docstring."""
    required = os.environ.get("WAITLESS_AUDIT_REQUIRED", "") in ("1", "true", "yes")
    try:
        deps: list[dict[str, Any]] = json.loads(report_text or "")["dependencies"]
    except (ValueError, KeyError, TypeError):
        deps = []
    # This project itself is installed editable and skipped on purpose (--skip-editable).
    deps = [d for d in deps if "editable" not in d.get("skip_reason", "")]
    vulnerable = [d for d in deps if d.get("vulns")]
    audited = [d for d in deps if "skip_reason" not in d]
    lines = [f"VULNERABLE: {d['name']} {d['version']}: "
             f"{', '.join(v['id'] for v in d['vulns'])}" for d in vulnerable]
    if vulnerable:
        return 1, lines
    # pip-audit's own exit status is non-zero when the service failed: then nothing it says
    # about the packages it listed was checked.
    if exit_status != 0 or not audited or len(audited) < len(deps):
        checked = 0 if exit_status != 0 else len(audited)
        lines.append(f"NOT AUDITED: pip-audit checked {checked} of {len(deps)} packages "
                     f"(exit status {exit_status}); the advisory service was unreachable or "
                     f"does not know the versions. This is not a clean bill of health.")
        skipped = [d for d in deps if "skip_reason" in d]
        lines += [f"  skipped {d['name']}: {d['skip_reason']}" for d in skipped[:20]]
        return (2 if required else 0), lines
    lines.append(f"no known vulnerabilities: all {len(audited)} packages audited")
    return 0, lines


def main(argv: list[str]) -> int:
    exit_status, path = int(argv[1]), argv[2]
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        text = None
    code, lines = summarise(exit_status, text)
    print("\n".join(lines))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
