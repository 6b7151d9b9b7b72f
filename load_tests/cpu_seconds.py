"""CPU seconds (user + system) used so far by a process and its direct children, from /proc.

    python -m load_tests.cpu_seconds PID

The benchmark scripts read it before and after a wrk run to report CPU per request, a figure
far less sensitive than requests per second to other work sharing the machine's cores.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its direct children (0 for vanished ones)."""
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    total = 0
    for p in pids:
        try:
            # Fields after the command name (which may hold spaces): utime is the 12th, stime 13th.
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


if __name__ == "__main__":
    print(f"{cpu_seconds(int(sys.argv[1])):.2f}")
